package fix

import (
	"encoding/json"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
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
	if p, err := Patch(edits, nil); err != nil || strings.Contains(string(p), "$setElementOrder") || !strings.Contains(string(p), "- name: GOMEMLIMIT") {
		t.Errorf("a patch file:\n%s%v", p, err)
	}

	// A list with no merge key takes no item.
	if _, err := Patch(ObjectEdits{Object: obj, Edits: []manifest.Edit{{Op: manifest.OpAppend, Path: c + ".args", Item: []manifest.KV{{Key: "name", Value: "x"}}}}}, nil); err == nil || !strings.Contains(err.Error(), "an item can be added as a patch only to a list merged by a key it has") {
		t.Errorf("append to args: %v", err)
	}
}

// A patch file, as kustomize applies it, keeps the containers and the
// variables in the object's order: it names those before the last it
// changes (kustomize puts a patch's items first), and an added variable
// comes last.
func TestPatchFileKeepsTheOrderUnderKustomize(t *testing.T) {
	const doc = `apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  template:
    spec:
      containers:
      - name: app
        image: example/app:1
        env:
        - {name: A, value: "1"}
        - {name: GOMEMLIMIT, value: 400MiB}
        - {name: B, value: $(A)}
      - name: proxy
        image: example/proxy:1
        resources: {limits: {memory: 64Mi}}
      - name: logs
        image: example/logs:1
`
	var obj *manifest.Object
	if err := manifest.ReadStream("app.yaml", strings.NewReader(doc), nil, func(o *manifest.Object) error { obj = o; return nil }); err != nil {
		t.Fatal(err)
	}
	p, err := Patch(ObjectEdits{Object: obj, Edits: []manifest.Edit{
		{Op: manifest.OpSet, Path: "spec.template.spec.containers[1].resources.limits.memory", Value: "96Mi"},
		{Op: manifest.OpSet, Path: "spec.template.spec.containers[0].env[1].value", Value: "300MiB"},
		{Op: manifest.OpAppend, Path: "spec.template.spec.containers[0].env", Item: []manifest.KV{{Key: "name", Value: "GOGC"}, {Key: "value", Value: "50"}}},
	}}, []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	fs := filesys.MakeFsInMemory()
	for name, text := range map[string]string{"app.yaml": doc, "patch.yaml": string(p), "kustomization.yaml": "resources: [app.yaml]\npatches:\n- path: patch.yaml\n"} {
		if err := fs.WriteFile("/k/"+name, []byte(text)); err != nil {
			t.Fatal(err)
		}
	}
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fs, "/k")
	if err != nil {
		t.Fatalf("kustomize build: %v\npatch:\n%s", err, p)
	}
	out, err := m.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	var d appsv1.Deployment
	if err := yaml.Unmarshal(out, &d); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range d.Spec.Template.Spec.Containers {
		got = append(got, c.Name+":"+c.Resources.Limits.Memory().String())
		for _, e := range c.Env {
			got = append(got, e.Name+"="+e.Value)
		}
	}
	want := "app:0 A=1 GOMEMLIMIT=300MiB B=$(A) GOGC=50 proxy:96Mi logs:0"
	if strings.Join(got, " ") != want {
		t.Errorf("kustomize builds %q, want %q; patch:\n%s", strings.Join(got, " "), want, p)
	}
	if strings.Contains(string(p), "logs") || !strings.Contains(string(p), "name: B") {
		t.Errorf("the patch names the items after the last it changes, or not those before:\n%s", p)
	}
}
