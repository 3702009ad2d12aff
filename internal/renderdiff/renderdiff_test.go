package renderdiff

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func docs(t *testing.T, named map[string]string) Docs {
	t.Helper()
	d := Docs{}
	for name, text := range named {
		if err := d.Add(name, text); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  replicas: 2
  template:
    spec:
      containers:
      - name: sidecar
        image: envoy:1
      - name: api
        image: api:1
        resources:
          limits: {memory: 1Gi}
`

func TestDiff(t *testing.T) {
	cases := []struct {
		name      string
		got, want string
		fields    []string // Describe of each difference, in order
	}{
		{"the same", deployment, deployment, nil},
		{"a quantity under resources, written otherwise", deployment, replace(deployment, "memory: 1Gi", "memory: 1024Mi"), nil},
		{"a number and its text", deployment, replace(deployment, "replicas: 2", `replicas: "2"`), nil},
		{"a quantity elsewhere is text", replace(deployment, "image: api:1", "image: 1Gi"), replace(deployment, "image: api:1", "image: 1024Mi"),
			[]string{"Deployment api container api: image"}},
		{"a changed limit", deployment, replace(deployment, "memory: 1Gi", "memory: 2Gi"),
			[]string{"Deployment api container api: resources.limits.memory"}},
		{"a field added and one gone", deployment, replace(deployment, "limits: {memory: 1Gi}", "requests: {memory: 1Gi}"),
			[]string{"Deployment api container api: resources.limits", "Deployment api container api: resources.requests"}},
		{"a list of another length is one difference", deployment, replace(deployment, "      - name: sidecar\n        image: envoy:1\n", ""),
			[]string{"Deployment api: spec.template.spec.containers"}},
		{"a document more", deployment, deployment + "---\n" + deployment, []string{"t.yaml: "}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, want := docs(t, map[string]string{"t.yaml": c.got}), docs(t, map[string]string{"t.yaml": c.want})
			var fields []string
			for _, d := range Diff(got, want) {
				fields = append(fields, Describe(got, d.Field))
			}
			if !reflect.DeepEqual(fields, c.fields) {
				t.Errorf("differences %q, want %q", fields, c.fields)
			}
		})
	}
}

func TestDifferenceValues(t *testing.T) {
	got := docs(t, map[string]string{"t.yaml": deployment})
	want := docs(t, map[string]string{"t.yaml": replace(deployment, "limits: {memory: 1Gi}", "limits: {memory: 1Gi, cpu: 1}")})
	ds := Diff(got, want)
	if len(ds) != 1 {
		t.Fatalf("differences %+v, want one", ds)
	}
	d := ds[0]
	if d.HasOld || !d.HasNew || ScalarText(d.New) != "1" {
		t.Errorf("%+v: want no old value and the new 1", d)
	}
	if path := PathString(d.Path); path != "spec.template.spec.containers[1].resources.limits.cpu" {
		t.Errorf("path %s", path)
	}
	if v, ok := Lookup(want["t.yaml"][0], d.Path); !ok || ScalarText(v) != "1" {
		t.Errorf("Lookup of the new field: %v, %v", v, ok)
	}
	if _, ok := Lookup(got["t.yaml"][0], d.Path); ok {
		t.Error("Lookup found the field where it is not")
	}
	if !HasField(ds, d.Field) || HasField(ds, Field{Source: "t.yaml", Path: d.Path[:3]}) {
		t.Error("HasField")
	}
}

// NewFields are the trial's differences the plan did not have.
func TestNewFields(t *testing.T) {
	base := docs(t, map[string]string{"t.yaml": deployment})
	planned := docs(t, map[string]string{"t.yaml": replace(deployment, "memory: 1Gi", "memory: 2Gi")})
	trial := docs(t, map[string]string{"t.yaml": replace(replace(deployment, "memory: 1Gi", "memory: 2Gi"), "replicas: 2", "replicas: 3")})
	before, after := Diff(base, planned), Diff(trial, planned)
	if n := NewFields(after, before); len(n) != 1 || PathString(n[0].Path) != "spec.replicas" {
		t.Errorf("new fields %+v, want spec.replicas alone", n)
	}
	if n := NewFields(before, after); len(n) != 1 || PathString(n[0].Path) != "spec.template.spec.containers[1].resources.limits.memory" {
		t.Errorf("fields the trial made %+v, want the limit alone", n)
	}
}

func TestCopyIsDeep(t *testing.T) {
	d := docs(t, map[string]string{"t.yaml": deployment})["t.yaml"][0]
	c := Copy(d)
	if !reflect.DeepEqual(c, d) {
		t.Fatal("the copy differs")
	}
	limits, _ := Lookup(c, []any{"spec", "template", "spec", "containers", 1, "resources", "limits"})
	limits.(map[string]any)["memory"] = "2Gi"
	if v, _ := Lookup(d, []any{"spec", "template", "spec", "containers", 1, "resources", "limits", "memory"}); v != "1Gi" {
		t.Errorf("changing the copy changed the original: %v", v)
	}
}

func TestAddNamesTheSourceThatDoesNotParse(t *testing.T) {
	err := Docs{}.Add("templates/api.yaml", "a: [1\n")
	if err == nil || !strings.HasPrefix(err.Error(), "templates/api.yaml: ") {
		t.Errorf("error %v, want one that names templates/api.yaml", err)
	}
}

// replace is s with old replaced once; old must be there.
func replace(s, old, new string) string {
	if !strings.Contains(s, old) {
		panic("the test's text has no " + old)
	}
	return strings.Replace(s, old, new, 1)
}

func TestNumberFor(t *testing.T) {
	for _, tc := range []struct{ old, new, oldNum, newNum string }{
		{"512Mi", "768Mi", "512", "768"},
		{"512Mi", "1Gi", "512", "1024"},
		{"-Xmx384m", "-Xmx272m", "384", "272"},
		{"-Xmx512m", "-Xmx1g", "512", "1024"},
		{"450MiB", "1GiB", "450", "1024"},
		{"--max-old-space-size=300", "--max-old-space-size=200", "300", "200"},
		{"512Mi", "1.5Gi", "512", "1536"},
		{"512m", "1G", "", ""},       // a quantity's m is a thousandth, its G decimal
		{"1000Mi", "1.1Gi", "", ""},  // not a whole number of Mi
		{"-Xmx1g", "-Xms2g", "", ""}, // another flag
	} {
		on, nn, ok := NumberFor(tc.old, tc.new)
		if !ok && tc.oldNum != "" || ok && (on != tc.oldNum || nn != tc.newNum) {
			t.Errorf("%s → %s: %q %q %v, want %q %q", tc.old, tc.new, on, nn, ok, tc.oldNum, tc.newNum)
		}
	}
}

func TestSame(t *testing.T) {
	limit := Field{Source: "api.yaml", Path: []any{"spec", "limits", "memory"}}
	request := Field{Source: "api.yaml", Path: []any{"spec", "requests", "memory"}}
	left := []Difference{{Field: limit, Old: "512Mi", New: "1Gi", HasOld: true, HasNew: true}}
	for _, tc := range []struct {
		name  string
		got   []Difference
		same  bool
		first Field
	}{
		{"as left", []Difference{{Field: limit, Old: "512Mi", New: "1Gi", HasOld: true, HasNew: true}}, true, limit},
		{"at another value", []Difference{{Field: limit, Old: "600Mi", New: "1Gi", HasOld: true, HasNew: true}}, false, limit},
		{"made after all", nil, false, limit},
		{"and another", append(slices.Clone(left), Difference{Field: request, Old: "1", New: "2", HasOld: true, HasNew: true}), false, request},
	} {
		if got := Same(tc.got, left); got != tc.same {
			t.Errorf("%s: Same %v, want %v", tc.name, got, tc.same)
		}
		if !tc.same {
			if f := FirstOf(tc.got, left); f.Key() != tc.first.Key() {
				t.Errorf("%s: FirstOf %s, want %s", tc.name, f.Key(), tc.first.Key())
			}
		}
	}
	if !Same(nil, nil) {
		t.Error("no differences are the same as none")
	}
}
