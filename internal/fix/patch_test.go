package fix

import (
	"encoding/json"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"sigs.k8s.io/yaml"

	"github.com/oomdoctor/oomdoctor/internal/manifest"
)

// A patch for the server that adds an env variable keeps the object's
// variables first and in order (one may refer to those before it), and
// writes a value that reads as a number as a string.
func TestPatchAppendsInOrder(t *testing.T) {
	const doc = `apiVersion: apps/v1
kind: Deployment
metadata: {name: ingest, namespace: shop}
spec:
  template:
    spec:
      containers:
      - name: sidecar
        image: proxy
      - name: ingest
        image: ghcr.io/example/ingest:7
        env:
        - {name: GOGC, value: "200"}
        - {name: URL, value: "http://$(HOST)"}
`
	var obj *manifest.Object
	if err := manifest.ReadStream("ingest.yaml", strings.NewReader(doc), nil, func(o *manifest.Object) error { obj = o; return nil }); err != nil {
		t.Fatal(err)
	}
	c := "spec.template.spec.containers[1]"
	edits := ObjectEdits{Object: obj, Edits: []manifest.Edit{
		{Op: manifest.OpSet, Path: c + ".env[0].value", Value: "100"},
		{Op: manifest.OpAppend, Path: c + ".env", Item: []manifest.KV{{Key: "name", Value: "GOMEMLIMIT"}, {Key: "value", Value: "1843MiB"}}},
	}}
	p, err := serverPatch(edits)
	if err != nil {
		t.Fatal(err)
	}
	want := `apiVersion: apps/v1
kind: Deployment
metadata:
    name: ingest
    namespace: shop
spec:
    template:
        spec:
            containers:
                - name: ingest
                  env:
                    - name: GOGC
                      value: "100"
                    - name: GOMEMLIMIT
                      value: 1843MiB
                  $setElementOrder/env:
                    - name: GOGC
                    - name: URL
                    - name: GOMEMLIMIT
`
	if string(p) != want {
		t.Errorf("patch:\n%s\nwant:\n%s", p, want)
	}
	// As the API server merges it.
	orig, _ := yaml.YAMLToJSON([]byte(doc))
	patch, _ := yaml.YAMLToJSON(p)
	merged, err := strategicpatch.StrategicMergePatch(orig, patch, appsv1.Deployment{})
	if err != nil {
		t.Fatal(err)
	}
	var d appsv1.Deployment
	if err := json.Unmarshal(merged, &d); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range d.Spec.Template.Spec.Containers[1].Env {
		got = append(got, e.Name+"="+e.Value)
	}
	if strings.Join(got, " ") != "GOGC=100 URL=http://$(HOST) GOMEMLIMIT=1843MiB" || len(d.Spec.Template.Spec.Containers[0].Env) != 0 {
		t.Errorf("merged env: %q", got)
	}

	// Kustomize keeps the directive as a field: a patch file goes without.
	if p, err := Patch(edits); err != nil || strings.Contains(string(p), "$setElementOrder") || !strings.Contains(string(p), "- name: GOMEMLIMIT") {
		t.Errorf("a patch file:\n%s%v", p, err)
	}

	// A list with no merge key takes no item.
	if _, err := Patch(ObjectEdits{Object: obj, Edits: []manifest.Edit{{Op: manifest.OpAppend, Path: c + ".args", Item: []manifest.KV{{Key: "name", Value: "x"}}}}}); err == nil || !strings.Contains(err.Error(), "an item can be added as a patch only to a list merged by a key it has") {
		t.Errorf("append to args: %v", err)
	}
}
