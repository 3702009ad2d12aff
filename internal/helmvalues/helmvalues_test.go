package helmvalues

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
)

const shop = "testdata/shop"

func load(t *testing.T, values ...string) *Chart {
	t.Helper()
	c, err := Load(shop, values, nil, "prod", "shop")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func render(t *testing.T, c *Chart) []Template {
	t.Helper()
	ts, err := c.Render(c.User())
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// planned is the render with the replacements made in the template named:
// what fix would plan, written by hand.
func planned(t *testing.T, ts []Template, template string, oldNew ...string) []Template {
	t.Helper()
	out := append([]Template(nil), ts...)
	for i := range out {
		if out[i].Name != template {
			continue
		}
		for j := 0; j < len(oldNew); j += 2 {
			if !strings.Contains(out[i].Text, oldNew[j]) {
				t.Fatalf("%s has no %q:\n%s", template, oldNew[j], out[i].Text)
			}
			out[i].Text = strings.Replace(out[i].Text, oldNew[j], oldNew[j+1], 1)
		}
		return out
	}
	t.Fatalf("no template %s", template)
	return nil
}

// written traces and writes the plan, and returns each file's new text.
func written(t *testing.T, c *Chart, plan []Template) map[string]string {
	t.Helper()
	edits, err := c.Trace(plan)
	if err != nil {
		t.Fatal(err)
	}
	files, err := c.Write(edits, plan)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range files {
		out[f.Path] = string(f.Fixed)
	}
	return out
}

// wantDefaults checks the chart's values.yaml as the plan writes it: its
// text with the replacements made.
func wantDefaults(t *testing.T, c *Chart, plan []Template, oldNew ...string) {
	t.Helper()
	got := written(t, c, plan)[filepath.Join(shop, "values.yaml")]
	if want := replaced(t, defaults(t), oldNew...); got != want {
		t.Errorf("values.yaml:\n%s\nwant\n%s", got, want)
	}
}

// wantRelease writes text as a values file of the release, traces the
// plan the replacements make in template, and checks the file as written.
func wantRelease(t *testing.T, text, template string, oldNew []string, want string) {
	t.Helper()
	prod := writeFile(t, "prod.yaml", text)
	c := load(t, prod)
	plan := planned(t, render(t, c), template, oldNew...)
	if got := written(t, c, plan)[prod]; got != want {
		t.Errorf("prod.yaml:\n%s\nwant\n%s", got, want)
	}
}

func defaults(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(shop, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func replaced(t *testing.T, s string, oldNew ...string) string {
	t.Helper()
	for j := 0; j < len(oldNew); j += 2 {
		if strings.Count(s, oldNew[j]) != 1 {
			t.Fatalf("want %q once in\n%s", oldNew[j], s)
		}
		s = strings.Replace(s, oldNew[j], oldNew[j+1], 1)
	}
	return s
}

func TestRenderLeavesOutPartialsNotesAndTests(t *testing.T) {
	var names []string
	for _, tm := range render(t, load(t)) {
		names = append(names, tm.Name)
	}
	want := "shop/charts/redis/templates/statefulset.yaml shop/templates/api.yaml shop/templates/cache-config.yaml shop/templates/cache.yaml shop/templates/gateway.yaml shop/templates/legacy.yaml shop/templates/search.yaml shop/templates/secret.yaml shop/templates/worker.yaml"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("templates:\n got %s\nwant %s", got, want)
	}
}

func TestTraceAQuantity(t *testing.T) {
	c := load(t)
	plan := planned(t, render(t, c), "shop/templates/api.yaml", "memory: 512Mi", "memory: 768Mi")
	edits, err := c.Trace(plan)
	if err != nil {
		t.Fatal(err)
	}
	if len(edits) != 1 || len(edits[0].Assignments) != 1 {
		t.Fatalf("edits: %+v", edits)
	}
	a := edits[0].Assignments[0]
	if a.Key() != "api.resources.limits.memory" || a.From != "512Mi" || !a.HadFrom || a.To != "768Mi" {
		t.Errorf("assignment: %+v", a)
	}
	if got, want := strings.Join(edits[0].Fields, "; "), "Deployment prod-shop-api container api: resources.limits.memory"; got != want {
		t.Errorf("fields: got %q, want %q", got, want)
	}
	files, err := c.Write(edits, plan)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0].Path != filepath.Join(shop, "values.yaml") {
		t.Fatalf("files: %+v", files)
	}
	// Only the value's bytes change: the comments stay.
	if got, want := string(files[0].Fixed), replaced(t, defaults(t), "      memory: 512Mi\n", "      memory: 768Mi\n"); got != want {
		t.Errorf("values.yaml:\n%s\nwant\n%s", got, want)
	}
}

func TestTraceAHeapFlagAmongOthers(t *testing.T) {
	c := load(t)
	plan := planned(t, render(t, c), "shop/templates/api.yaml",
		`value: "-Xmx384m -XX:+UseG1GC"`, `value: "-Xmx272m -XX:+UseG1GC"`,
		"memory: 512Mi", "memory: 400Mi")
	wantDefaults(t, c, plan,
		`javaOpts: "-Xmx384m -XX:+UseG1GC"`, `javaOpts: "-Xmx272m -XX:+UseG1GC"`,
		"      memory: 512Mi\n", "      memory: 400Mi\n")
}

func TestTraceAnEmptyResourcesMapping(t *testing.T) {
	// worker's template writes resources only when the values have some:
	// the new field is written from the empty mapping.
	c := load(t)
	plan := planned(t, render(t, c), "shop/templates/worker.yaml",
		"          image: example/worker:2.0\n",
		"          image: example/worker:2.0\n          resources:\n            limits:\n              memory: 1Gi\n            requests:\n              memory: 600Mi\n")
	wantDefaults(t, c, plan, "  # Set by the platform team per environment.\n  resources: {}\n",
		"  # Set by the platform team per environment.\n  resources:\n    limits:\n      memory: 1Gi\n    requests:\n      memory: 600Mi\n")
}

func TestTraceAPresetReplacedByItsResources(t *testing.T) {
	// cache's resources come from a preset until resources is set: the
	// preset's other values (its cpu request) are written along, so the
	// render changes in the limit alone.
	c := load(t)
	plan := planned(t, render(t, c), "shop/templates/cache.yaml", "memory: 384Mi", "memory: 1Gi")
	edits, err := c.Trace(plan)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, a := range edits[0].Assignments {
		keys = append(keys, a.Key()+"="+a.To)
	}
	if got, want := strings.Join(keys, " "), "cache.resources.limits.memory=1Gi cache.resources.requests.cpu=250m cache.resources.requests.memory=256Mi"; got != want {
		t.Errorf("assignments:\n got %s\nwant %s", got, want)
	}
	files, err := c.Write(edits, plan)
	if err != nil {
		t.Fatal(err)
	}
	want := replaced(t, defaults(t), "  resources: {}\n  # redis.conf", "  resources:\n    limits:\n      memory: 1Gi\n    requests:\n      cpu: 250m\n      memory: 256Mi\n  # redis.conf")
	if len(files) != 1 || string(files[0].Fixed) != want {
		t.Errorf("values.yaml:\n%s\nwant\n%s", files[0].Fixed, want)
	}
}

func TestTraceASubchartsValue(t *testing.T) {
	c := load(t)
	plan := planned(t, render(t, c), "shop/charts/redis/templates/statefulset.yaml", "memory: 256Mi", "memory: 1Gi")
	wantDefaults(t, c, plan, "redis:\n  architecture: standalone\n",
		"redis:\n  architecture: standalone\n  resources:\n    limits:\n      memory: 1Gi\n")
}

func TestTraceAListItemOfTheDefaults(t *testing.T) {
	c := load(t)
	plan := planned(t, render(t, c), "shop/templates/gateway.yaml", "value: 450MiB", "value: 921MiB", "memory: 500Mi", "memory: 1Gi")
	wantDefaults(t, c, plan, "      value: 450MiB\n", "      value: 921MiB\n", "      memory: 500Mi\n", "      memory: 1Gi\n")

	// With values files of the release, the list is copied whole into the
	// last, with the change: helm replaces a list whole, and the chart's
	// values.yaml holds every environment's.
	wantRelease(t, "# prod\n", "shop/templates/gateway.yaml", []string{"value: 450MiB", "value: 921MiB", "memory: 500Mi", "memory: 1Gi"},
		"# prod\ngateway:\n  extraEnv:\n    - name: GOMEMLIMIT\n      value: 921MiB\n  resources:\n    limits:\n      memory: 1Gi\n")
	wantRelease(t, "gateway:\n  image: example/gateway:3.2 # pinned\n", "shop/templates/gateway.yaml", []string{"value: 450MiB", "value: 921MiB"},
		"gateway:\n  image: example/gateway:3.2 # pinned\n  extraEnv:\n  - name: GOMEMLIMIT\n    value: 921MiB\n")
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestWriteIntoTheFileThatSetsTheKey(t *testing.T) {
	prod := writeFile(t, "prod.yaml", "# prod overrides\napi:\n  resources:\n    limits:\n      memory: 1Gi  # after the March incident\n")
	extra := writeFile(t, "extra.yaml", "# nothing yet\n")
	c := load(t, prod, extra)
	ts := render(t, c)
	plan := planned(t, ts, "shop/templates/api.yaml", "memory: 1Gi", "memory: 700Mi")
	plan = planned(t, plan, "shop/templates/worker.yaml", "          image: example/worker:2.0\n",
		"          image: example/worker:2.0\n          resources:\n            limits:\n              memory: 700Mi\n")
	got := written(t, c, plan)
	// api's limit is set by prod.yaml, not by the later extra.yaml: it
	// changes there. worker's is set by no file: it goes into the last.
	if want := "# prod overrides\napi:\n  resources:\n    limits:\n      memory: 700Mi  # after the March incident\n"; got[prod] != want {
		t.Errorf("prod.yaml:\n%s\nwant\n%s", got[prod], want)
	}
	if want := "# nothing yet\nworker:\n  resources:\n    limits:\n      memory: 700Mi\n"; got[extra] != want {
		t.Errorf("extra.yaml:\n%s\nwant\n%s", got[extra], want)
	}
	if _, ok := got[filepath.Join(shop, "values.yaml")]; ok {
		t.Error("the chart's values.yaml changed, though values files were given")
	}
}

func TestTraceRefusesWhatNoValueMakes(t *testing.T) {
	c := load(t)
	ts := render(t, c)
	// legacy's limit is written in its template.
	plan := planned(t, ts, "shop/templates/legacy.yaml", "memory: 128Mi", "memory: 256Mi")
	plan = planned(t, plan, "shop/templates/api.yaml", "memory: 512Mi", "memory: 768Mi")
	_, err := c.Trace(plan)
	var te *TraceError
	if !errors.As(err, &te) || len(te.Unresolved) != 1 || te.Traced != 1 {
		t.Fatalf("want one field no value makes, and one traced: %v", err)
	}
	u := te.Unresolved[0]
	if u.Field != "Deployment prod-shop-legacy container legacy: resources.limits.memory" || !strings.Contains(u.Why, "do not take it from a value") {
		t.Errorf("unresolved: %+v", u)
	}
	if !strings.Contains(err.Error(), "1 values edit was found for the others: choose their objects with TYPE/NAME arguments to make them alone, or give --partial to write those") {
		t.Errorf("error: %v", err)
	}
	// Without Partial, the edits found do not pass Write's check: the
	// render would differ from the plan.
	edits, _ := c.Trace(plan)
	if _, err := c.Write(edits, plan); err == nil || !strings.Contains(err.Error(), "renders Deployment prod-shop-legacy container legacy: resources.limits.memory differently from what fix planned") {
		t.Errorf("Write of a failed trace's edits: %v", err)
	}
	// With it, they are written, and the render differs from the plan in
	// legacy's limit alone.
	c = load(t)
	c.Partial = true
	edits, err = c.Trace(plan)
	if !errors.As(err, &te) || !te.Partial || len(edits) != 1 || !strings.Contains(err.Error(), "makes 1 planned change, which stay as they are; the values files get the 1 values edit found for the others (--partial)") {
		t.Fatalf("partial: %v", err)
	}
	files, err := c.Write(edits, plan)
	if err != nil {
		t.Fatal(err)
	}
	if want := replaced(t, defaults(t), "memory: 512Mi", "memory: 768Mi"); len(files) != 1 || string(files[0].Fixed) != want {
		t.Errorf("partial write: %d files, want values.yaml with api's limit alone changed:\n%s", len(files), want)
	}
}

func TestTraceASharedValueOnlyWhenBothNeedIt(t *testing.T) {
	// metrics.resources is the sidecar of both the api and the gateway.
	c := load(t)
	ts := render(t, c)
	one := planned(t, ts, "shop/templates/api.yaml", "memory: 64Mi", "memory: 128Mi")
	_, err := c.Trace(one)
	var te *TraceError
	if !errors.As(err, &te) || len(te.Unresolved) != 1 || !strings.Contains(te.Unresolved[0].Why, "metrics.resources.limits.memory sets it, but Deployment prod-shop-gateway container metrics: resources.limits.memory too") {
		t.Fatalf("want the shared value refused, got %v", err)
	}
	both := planned(t, one, "shop/templates/gateway.yaml", "memory: 64Mi", "memory: 128Mi")
	edits, err := c.Trace(both)
	if err != nil {
		t.Fatal(err)
	}
	if len(edits) != 1 || edits[0].Assignments[0].Key() != "metrics.resources.limits.memory" || len(edits[0].Fields) != 2 {
		t.Errorf("edits: %+v", edits)
	}
}

func TestWriteAPackagedChartNeedsAValuesFile(t *testing.T) {
	c := load(t)
	dir := t.TempDir()
	tgz, err := chartutil.Save(c.chart, dir)
	if err != nil {
		t.Fatal(err)
	}
	packaged, err := Load(tgz, nil, nil, "prod", "shop")
	if err != nil {
		t.Fatal(err)
	}
	plan := planned(t, render(t, packaged), "shop/templates/api.yaml", "memory: 512Mi", "memory: 768Mi")
	edits, err := packaged.Trace(plan)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := packaged.Write(edits, plan); err == nil || !strings.Contains(err.Error(), "give --values FILE") {
		t.Errorf("want --values asked for, got %v", err)
	}
	prod := writeFile(t, "prod.yaml", "api:\n  image: example/api:1.5\n")
	withFile, err := Load(tgz, []string{prod}, nil, "prod", "shop")
	if err != nil {
		t.Fatal(err)
	}
	got := written(t, withFile, planned(t, render(t, withFile), "shop/templates/api.yaml", "memory: 512Mi", "memory: 768Mi"))
	if want := "api:\n  image: example/api:1.5\n  resources:\n    limits:\n      memory: 768Mi\n"; got[prod] != want {
		t.Errorf("prod.yaml:\n%s\nwant\n%s", got[prod], want)
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := Load(t.TempDir(), nil, nil, "prod", ""); err == nil || !strings.Contains(err.Error(), "give a chart folder") {
		t.Errorf("a folder without Chart.yaml: %v", err)
	}
	if _, err := Load(shop, []string{filepath.Join(t.TempDir(), "missing.yaml")}, nil, "prod", ""); err == nil || !strings.Contains(err.Error(), "cannot read the values file") {
		t.Errorf("a missing values file: %v", err)
	}
	if _, err := Load(shop, []string{writeFile(t, "bad.yaml", "api: [\n")}, nil, "prod", ""); err == nil || !strings.Contains(err.Error(), "not a values file") {
		t.Errorf("a values file that does not parse: %v", err)
	}
}

// A key given with --set overrides every values file: fix says to change
// it there instead of writing a file helm would not heed.
func TestWriteRefusesAKeyOfSet(t *testing.T) {
	c, err := Load(shop, nil, []string{"api.resources.limits.memory=1Gi"}, "prod", "shop")
	if err != nil {
		t.Fatal(err)
	}
	plan := planned(t, render(t, c), "shop/templates/api.yaml", "memory: 1Gi", "memory: 2Gi")
	edits, err := c.Trace(plan)
	if err != nil {
		t.Fatal(err)
	}
	if len(edits) != 1 || edits[0].Assignments[0].Key() != "api.resources.limits.memory" || edits[0].Assignments[0].From != "1Gi" {
		t.Fatalf("edits: %+v", edits)
	}
	if _, err := c.Write(edits, plan); err == nil || !strings.Contains(err.Error(), "api.resources.limits.memory is given with --set (1Gi), which overrides every values file: change it there, to 2Gi") {
		t.Errorf("want --set named, got %v", err)
	}
	if _, err := Load(shop, nil, []string{"api.resources.limits"}, "prod", "shop"); err == nil || !strings.Contains(err.Error(), "--set api.resources.limits: key \"limits\" has no value") {
		t.Errorf("a --set that does not parse: %v", err)
	}
}

func TestLoadRefusesMissingSubcharts(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "templates"), 0o755)
	os.WriteFile(filepath.Join(dir, "Chart.yaml"), []byte("apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n  - name: postgresql\n    version: 15.x.x\n    repository: oci://example.com/charts\n"), 0o644)
	if _, err := Load(dir, nil, nil, "prod", ""); err == nil || !strings.Contains(err.Error(), "the chart app needs postgresql, missing from its charts/ folder: run helm dependency build first") {
		t.Errorf("want helm dependency build asked for, got %v", err)
	}
}

// A number the template writes a unit after (-Xmx{{ .Values.heapMb }}m,
// {{ .Values.limitMi }}Mi) is set to the number that writes the planned
// text, in the template's unit (1Gi is 1024 Mi), and stays a number.
func TestTraceNumbersBeforeAUnit(t *testing.T) {
	c := load(t)
	plan := planned(t, render(t, c), "shop/templates/search.yaml",
		`value: "-Xmx384m -XX:+UseG1GC"`, `value: "-Xmx768m -XX:+UseG1GC"`,
		"memory: 512Mi", "memory: 1Gi")
	wantDefaults(t, c, plan, "  heapMb: 384\n", "  heapMb: 768\n", "  limitMi: 512\n", "  limitMi: 1024\n")

	// Into a values file of the release: new keys, still numbers.
	wantRelease(t, "# prod\n", "shop/templates/search.yaml", []string{`value: "-Xmx384m -XX:+UseG1GC"`, `value: "-Xmx768m -XX:+UseG1GC"`, "memory: 512Mi", "memory: 1Gi"},
		"# prod\nsearch:\n  heapMb: 768\n  limitMi: 1024\n")
	wantRelease(t, "search:\n  image: example/search:8.2\n", "shop/templates/search.yaml", []string{"memory: 512Mi", "memory: 768Mi"},
		"search:\n  image: example/search:8.2\n  limitMi: 768\n")
}

// A setting in a config file the values hold as a block scalar changes on
// its line; the other lines and their breaks stay.
func TestTraceALineOfAConfigFile(t *testing.T) {
	c := load(t)
	plan := planned(t, render(t, c), "shop/templates/cache-config.yaml", "maxmemory 300mb", "maxmemory 200mb")
	wantDefaults(t, c, plan, "    maxmemory 300mb\n", "    maxmemory 200mb\n")
	if s, ok := replaceWords("a 1\n  b 2\n", [][2]string{{"2", "3"}}); !ok || s != "a 1\n  b 3\n" {
		t.Errorf("replaceWords: %q %v", s, ok)
	}
	if _, ok := replaceWords("a 1", [][2]string{{"x", "y"}}); ok {
		t.Error("replaceWords replaced a word that is not there")
	}
}

// A field the chart makes up at each render (the Secret's password) is
// found by rendering twice and left out of the comparisons: the other
// tests trace and write with it in the chart.
func TestVolatileFieldsLeftOut(t *testing.T) {
	c := load(t)
	first, err := parseRender(render(t, c))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.volatileFields(first); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range c.volatile {
		keys = append(keys, k)
	}
	if want := "shop/templates/secret.yaml#0#data.password"; len(keys) != 1 || keys[0] != want {
		t.Errorf("volatile fields: %v, want %s alone", keys, want)
	}
}

// A template that branches on the cluster's version renders, and is
// traced, as for the version given (helm template's --kube-version).
func TestKubeVersion(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "templates"), 0o755)
	os.WriteFile(filepath.Join(dir, "Chart.yaml"), []byte("apiVersion: v2\nname: app\nversion: 1.0.0\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "values.yaml"), []byte("newMem: 1Gi\noldMem: 512Mi\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "templates", "app.yaml"), []byte(`apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  template:
    spec:
      containers:
        - name: app
          image: example/app
          resources:
            limits:
              memory: {{ if semverCompare ">=1.30-0" .Capabilities.KubeVersion.GitVersion }}{{ .Values.newMem }}{{ else }}{{ .Values.oldMem }}{{ end }}
`), 0o644)
	for kube, want := range map[string]string{"1.29": "512Mi", "v1.31.2": "1Gi"} {
		c, err := LoadFor(dir, nil, nil, "prod", "", kube)
		if err != nil {
			t.Fatal(err)
		}
		ts := render(t, c)
		if len(ts) != 1 || !strings.Contains(ts[0].Text, "memory: "+want) {
			t.Fatalf("--kube-version %s: %v, want the limit %s", kube, ts, want)
		}
		edits, err := c.Trace(planned(t, ts, "app/templates/app.yaml", "memory: "+want, "memory: 768Mi"))
		if err != nil {
			t.Fatal(err)
		}
		key := map[string]string{"512Mi": "oldMem", "1Gi": "newMem"}[want]
		if len(edits) != 1 || edits[0].Assignments[0].Key() != key {
			t.Errorf("--kube-version %s: %+v, want %s changed", kube, edits, key)
		}
	}
	if _, err := LoadFor(dir, nil, nil, "prod", "", "one-thirty"); err == nil || !strings.Contains(err.Error(), `--kube-version "one-thirty"`) {
		t.Errorf("a version that does not parse: %v", err)
	}
}
