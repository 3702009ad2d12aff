package helmvalues

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oomdoctor/oomdoctor/internal/renderdiff"
	"github.com/oomdoctor/oomdoctor/test/cluster"
)

// helmTemplate renders the chart with the real helm binary, as a user's
// `helm template prod testdata/shop -n shop -f ...` does, by template.
func helmTemplate(t *testing.T, sets []string, values ...string) renderdiff.Docs {
	t.Helper()
	bin, err := cluster.Helm()
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"template", "prod", shop, "--namespace", "shop"}
	for _, v := range values {
		args = append(args, "-f", v)
	}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	out, err := exec.Command(bin, args...).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	bySource := map[string]string{}
	var order []string
	for _, doc := range strings.Split(string(out), "---\n") {
		first, _, _ := strings.Cut(doc, "\n")
		src, ok := strings.CutPrefix(first, "# Source: ")
		if !ok || strings.Contains(src, "/tests/") {
			continue
		}
		if _, seen := bySource[src]; !seen {
			order = append(order, src)
		}
		bySource[src] += "---\n" + doc
	}
	var ts []Template
	for _, src := range order {
		ts = append(ts, Template{Name: src, Text: bySource[src]})
	}
	d, err := parseRender(ts)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestRenderIsHelmTemplates(t *testing.T) {
	prod := writeFile(t, "prod.yaml", "api:\n  resources:\n    limits:\n      memory: 1Gi\ncache:\n  resourcesPreset: large\n")
	for _, tc := range []struct {
		values, sets []string
	}{
		{nil, nil},
		{[]string{prod}, nil},
		{[]string{prod}, []string{"cache.resourcesPreset=nano,replicaCount=3", "api.javaOpts=-Xmx200m"}},
	} {
		c, err := Load(shop, tc.values, tc.sets, "prod", "shop")
		if err != nil {
			t.Fatal(err)
		}
		ours, err := parseRender(render(t, c))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.volatileFields(ours); err != nil {
			t.Fatal(err)
		}
		if ds := c.diff(ours, helmTemplate(t, tc.sets, tc.values...)); len(ds) > 0 {
			t.Errorf("values %v, --set %v: the render differs from helm template's at %s: %v against %v", tc.values, tc.sets, renderdiff.Describe(ours, ds[0].Field), ds[0].Old, ds[0].New)
		}
	}
}

// The values as written give, under the real helm, the manifests fix
// planned: the api's limit and heap, the worker's new resources, the
// cache's preset replaced, the search's numbers before their units.
func TestWrittenValuesRenderThePlanUnderHelm(t *testing.T) {
	prod := writeFile(t, "prod.yaml", "# prod\napi:\n  image: example/api:1.5\n")
	c := load(t, prod)
	plan := planned(t, render(t, c), "shop/templates/api.yaml",
		`value: "-Xmx384m -XX:+UseG1GC"`, `value: "-Xmx272m -XX:+UseG1GC"`,
		"memory: 512Mi", "memory: 400Mi")
	plan = planned(t, plan, "shop/templates/worker.yaml", "          image: example/worker:2.0\n",
		"          image: example/worker:2.0\n          resources:\n            limits:\n              memory: 1Gi\n")
	plan = planned(t, plan, "shop/templates/cache.yaml", "memory: 384Mi", "memory: 1Gi")
	plan = planned(t, plan, "shop/templates/search.yaml", `value: "-Xmx384m -XX:+UseG1GC"`, `value: "-Xmx768m -XX:+UseG1GC"`, "memory: 512Mi", "memory: 1Gi")
	got := written(t, c, plan)
	if len(got) != 1 {
		t.Fatalf("want prod.yaml alone written, got %v", got)
	}
	if err := os.WriteFile(prod, []byte(got[prod]), 0o644); err != nil {
		t.Fatal(err)
	}
	want, err := parseRender(plan)
	if err != nil {
		t.Fatal(err)
	}
	if ds := c.diff(helmTemplate(t, nil, prod), want); len(ds) > 0 {
		t.Errorf("helm template with %s differs from the plan at %s: %v, want %v\n%s", filepath.Base(prod), renderdiff.Describe(want, ds[0].Field), ds[0].Old, ds[0].New, got[prod])
	}
}
