package fix

import (
	"strings"
	"testing"
)

// A ConfigMap edit that cannot be made (a folded block), or whose file is
// left untouched, is a note on the workload's file, with the change to
// make; the ConfigMap's text stays as it was.
func TestConfigMapEditsByHand(t *testing.T) {
	const cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: env}\ndata:\n  JAVA_OPTS: >\n    -Xmx1g\n    -XX:+UseG1GC\n"
	const app = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api}\nspec:\n  template:\n    spec:\n      containers:\n      - name: api\n        image: eclipse-temurin:21\n        envFrom:\n        - configMapRef: {name: env}\n        resources:\n          limits: {memory: 1Gi}\n"
	limit := int64(512 << 20)
	for _, refuse := range []bool{false, true} {
		cms := ConfigMaps{}
		cms.Read("cm.yaml", []byte(cm))
		cms.Read("app.yaml", []byte(app))
		opts := Options{Values: Explicit{Target: Target{Limit: &limit}}, ConfigMaps: cms}
		cr, err := File("cm.yaml", []byte(cm), opts)
		if err != nil {
			t.Fatal(err)
		}
		ar, err := File("app.yaml", []byte(app), opts)
		if err != nil {
			t.Fatal(err)
		}
		if len(ar.ConfigMapEdits) != 1 {
			t.Fatalf("ConfigMap edits %+v", ar.ConfigMapEdits)
		}
		want := "the value is a block scalar"
		if refuse {
			cr.Refuse()
			want = "the file of ConfigMap env is left untouched"
		}
		ApplyConfigMapEdits([]*Result{cr, ar}, cms)
		if string(cr.Fixed) != cm || len(ar.Notes) != 1 || !strings.Contains(ar.Notes[0].Message, "-Xmx1g → -Xmx384m in JAVA_OPTS") || !strings.Contains(ar.Notes[0].Message, want) {
			t.Errorf("refused %v: %s\nnotes %+v", refuse, cr.Fixed, ar.Notes)
		}
		if !strings.Contains(string(ar.Fixed), "limits: {memory: 512Mi}") {
			t.Errorf("the limit was not set: %s", ar.Fixed)
		}
	}
}
