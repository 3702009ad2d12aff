package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oomdoctor/oomdoctor/internal/fix"
	"github.com/oomdoctor/oomdoctor/test/files"
)

const shopChart = "../helmvalues/testdata/shop"

// copyChart copies the test chart into a temporary folder, to write into.
func copyChart(t *testing.T) string { return copyTree(t, shopChart) }

// copyTree copies a folder of testdata into a temporary folder, to write
// into.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "shop")
	files.Copy(t, src, dst)
	return dst
}

func TestFixChartWritesTheValues(t *testing.T) {
	chart := copyChart(t)
	values := filepath.Join(chart, "values.yaml")
	before, _ := os.ReadFile(values)
	args := []string{"fix", "--chart", chart, "--release", "prod", "deployment/prod-shop-api", "-c", "api", "--memory-limit", "400Mi"}

	r := runWithStdin("", args...)
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"shop/templates/api.yaml: Deployment prod-shop-api container api: memory limit 512Mi → 400Mi\n",
		"shop/templates/api.yaml: Deployment prod-shop-api container api: -Xmx384m → -Xmx272m in JAVA_TOOL_OPTIONS",
		values + ": api.javaOpts: -Xmx384m -XX:+UseG1GC → -Xmx272m -XX:+UseG1GC (for Deployment prod-shop-api container api: env[0].value)\n",
		values + ": api.resources.limits.memory: 512Mi → 400Mi (for Deployment prod-shop-api container api: resources.limits.memory)\n",
		"1 values file would change; run again with --write to change them.\n",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if !strings.Contains(r.stdout, "+++ b/"+fix.DiffPath(values)) || !strings.Contains(r.stdout, "+      memory: 400Mi") {
		t.Errorf("want a diff of values.yaml:\n%s", r.stdout)
	}
	if now, _ := os.ReadFile(values); string(now) != string(before) {
		t.Fatal("values.yaml changed without --write")
	}

	r = runWithStdin("", append(args, "--write")...)
	if r.code != 0 || !strings.Contains(r.stderr, "Wrote 1 values file.") {
		t.Fatalf("exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
	after, _ := os.ReadFile(values)
	want := strings.Replace(strings.Replace(string(before), "-Xmx384m", "-Xmx272m", 1), "      memory: 512Mi\n", "      memory: 400Mi\n", 1)
	if string(after) != want {
		t.Errorf("values.yaml:\n%s\nwant\n%s", after, want)
	}
	// A second run finds the chart as it should be.
	r = runWithStdin("", append(args, "--write")...)
	if r.code != 0 || !strings.Contains(r.stderr, "Nothing to change.") {
		t.Errorf("second run: exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestFixChartFromRecommendations(t *testing.T) {
	chart := copyChart(t)
	prod := filepath.Join(t.TempDir(), "prod.yaml")
	os.WriteFile(prod, []byte("# prod\nworker:\n  image: example/worker:2.1\n"), 0o600)
	recs := filepath.Join(t.TempDir(), "recs.json")
	os.WriteFile(recs, []byte(`{"apiVersion": "oomdoctor.io/v1alpha1", "kind": "Recommendations", "items": [
	  {"workload": {"namespace": "shop", "kind": "Deployment", "name": "prod-shop-worker"}, "container": "worker", "memoryRequestBytes": 629145600, "memoryLimitBytes": 1073741824}]}`), 0o600)
	// Under another release's name, the chart's workloads are named
	// otherwise: said, nothing written.
	r := runWithStdin("", "fix", "--chart", chart, "--values", prod, "--release", "staging", "-n", "shop", "--recommendations", recs, "--write")
	if r.code != 0 || !strings.Contains(r.stderr, "note: 1 of the 1 recommendations match no container in the files (Deployment shop/prod-shop-worker container worker): check the release's name (--release staging: workload names often hold it)") || !strings.Contains(r.stderr, "Nothing to change.") {
		t.Errorf("another release: exit %d:\n%s", r.code, r.stderr)
	}
	// So is a workload named as another release's.
	r = runWithStdin("", "fix", "--chart", chart, "--values", prod, "--release", "staging", "deployment/prod-shop-worker", "-c", "worker", "--memory-limit", "1Gi", "--write")
	if r.code != 2 || !strings.Contains(r.stderr, "deployment/prod-shop-worker: no workload of that name in the chart's render (") || !strings.Contains(r.stderr, "deployment/staging-shop-worker") || !strings.Contains(r.stderr, "(--release staging)") {
		t.Errorf("a name of another release: exit %d:\n%s", r.code, r.stderr)
	}
	if got, _ := os.ReadFile(prod); string(got) != "# prod\nworker:\n  image: example/worker:2.1\n" {
		t.Errorf("prod.yaml changed:\n%s", got)
	}
	r = runWithStdin("", "fix", "--chart", chart, "--values", prod, "--release", "prod", "-n", "shop", "--recommendations", recs, "--write")
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
	got, _ := os.ReadFile(prod)
	if want := "# prod\nworker:\n  image: example/worker:2.1\n  resources:\n    limits:\n      memory: 1Gi\n    requests:\n      memory: 600Mi\n"; string(got) != want {
		t.Errorf("prod.yaml:\n%s\nwant\n%s", got, want)
	}
	if now, _ := os.ReadFile(filepath.Join(chart, "values.yaml")); string(now) != mustRead(t, filepath.Join(shopChart, "values.yaml")) {
		t.Error("the chart's values.yaml changed, though a values file was given")
	}
}

func mustRead(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFixChartErrors(t *testing.T) {
	chart := copyChart(t)
	values := filepath.Join(chart, "values.yaml")
	before, _ := os.ReadFile(values)
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"written in the template", []string{"fix", "--chart", chart, "--release", "prod", "deployment/prod-shop-legacy", "--memory-limit", "256Mi", "--write"}, 1,
			"no value of the chart makes 1 planned change, so no values file was changed:\n  Deployment prod-shop-legacy container legacy: resources.limits.memory: the chart's templates do not take it from a value"},
		{"shared by two", []string{"fix", "--chart", chart, "--release", "prod", "deployment/prod-shop-api", "-c", "metrics", "--memory-limit", "128Mi", "--write"}, 1,
			"the value metrics.resources.limits.memory sets it, but Deployment prod-shop-gateway container metrics: resources.limits.memory too"},
		{"chart and files", []string{"fix", "--chart", chart, "-f", values, "--memory-limit", "1Gi"}, 2, "--chart and -f exclude each other"},
		{"chart and apply", []string{"fix", "--chart", chart, "--apply", "--memory-limit", "1Gi"}, 2, "--chart changes a chart's values files"},
		{"chart and patches", []string{"fix", "--chart", chart, "--patch-dir", t.TempDir(), "--memory-limit", "1Gi"}, 2, "--patch-dir writes patches for a Kustomize base"},
		{"values without chart", []string{"fix", "-f", values, "--values", values, "--memory-limit", "1Gi"}, 2, "--values goes with --chart"},
		{"set without chart", []string{"fix", "-f", values, "--set", "a=b", "--memory-limit", "1Gi"}, 2, "--set goes with --chart"},
		{"kube-version without chart", []string{"fix", "-f", values, "--kube-version", "1.31", "--memory-limit", "1Gi"}, 2, "--kube-version goes with --chart"},
		{"kube-version that does not parse", []string{"fix", "--chart", chart, "--kube-version", "one", "--memory-limit", "1Gi"}, 2, `--kube-version "one"`},
		{"key given with --set", []string{"fix", "--chart", chart, "--release", "prod", "--set", "api.resources.limits.memory=1Gi", "deployment/prod-shop-api", "-c", "api", "--memory-limit", "2Gi", "--write"}, 1,
			"api.resources.limits.memory is given with --set (1Gi), which overrides every values file: change it there, to 2Gi"},
		{"no chart there", []string{"fix", "--chart", t.TempDir(), "--memory-limit", "1Gi"}, 2, "give a chart folder, with its Chart.yaml, or a packaged .tgz"},
		{"which container", []string{"fix", "--chart", chart, "--release", "prod", "deployment/prod-shop-api", "--memory-limit", "1Gi"}, 2, "say which with --container"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runWithStdin("", tc.args...)
			if r.code != tc.code || !strings.Contains(r.stdout+r.stderr, tc.want) {
				t.Errorf("exit %d (want %d):\n%s%s", r.code, tc.code, r.stdout, r.stderr)
			}
			if now, _ := os.ReadFile(values); string(now) != string(before) {
				t.Error("values.yaml changed")
			}
		})
	}
}

// lint's fixes of the render go into the values too: a heap the values
// set above the limit is lowered where it is set.
func TestFixChartLint(t *testing.T) {
	chart := copyChart(t)
	prod := filepath.Join(t.TempDir(), "prod.yaml")
	os.WriteFile(prod, []byte("api:\n  javaOpts: \"-Xmx1g -XX:+UseG1GC\" # the batch needs it\n"), 0o600)
	r := runWithStdin("", "fix", "--chart", chart, "--values", prod, "--release", "prod", "--lint", "--write")
	if r.code != 0 || !strings.Contains(r.stderr, "shop/templates/api.yaml: Deployment prod-shop-api container api: replace -Xmx1g with -Xmx384m in JAVA_TOOL_OPTIONS (jvm-heap-exceeds-limit)") {
		t.Fatalf("exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
	got, _ := os.ReadFile(prod)
	if want := "api:\n  javaOpts: \"-Xmx384m -XX:+UseG1GC\" # the batch needs it\n"; string(got) != want {
		t.Errorf("prod.yaml:\n%s\nwant\n%s", got, want)
	}
}

// --partial writes the values edits found when some planned changes have
// none (legacy's limit is written in its template), says those, and
// exits 1; without it nothing is written.
func TestFixChartPartial(t *testing.T) {
	chart := copyChart(t)
	values := filepath.Join(chart, "values.yaml")
	before := mustRead(t, values)
	recs := filepath.Join(t.TempDir(), "recs.json")
	os.WriteFile(recs, []byte(`{"apiVersion": "oomdoctor.io/v1alpha1", "kind": "Recommendations", "items": [
  {"workload": {"namespace": "shop", "kind": "Deployment", "name": "prod-shop-api"}, "container": "api", "memoryRequestBytes": 268435456, "memoryLimitBytes": 805306368},
  {"workload": {"namespace": "shop", "kind": "Deployment", "name": "prod-shop-legacy"}, "container": "legacy", "memoryRequestBytes": 134217728, "memoryLimitBytes": 268435456}]}`), 0o600)
	args := []string{"fix", "--chart", chart, "--release", "prod", "-n", "shop", "--recommendations", recs, "--write"}
	r := runWithStdin("", args...)
	if r.code != 1 || !strings.Contains(r.stderr, "or give --partial to write those") || mustRead(t, values) != before {
		t.Fatalf("without --partial: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runWithStdin("", append(args, "--partial")...)
	if r.code != 1 || !strings.Contains(r.stderr, "no value of the chart makes 2 planned changes, which stay as they are; the values files get the 1 values edit found for the others (--partial):\n  Deployment prod-shop-legacy container legacy: resources.limits.memory") {
		t.Errorf("--partial: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if want := strings.Replace(before, "memory: 512Mi", "memory: 768Mi", 1); mustRead(t, values) != want {
		t.Errorf("values.yaml after --partial:\n%s\nwant\n%s", mustRead(t, values), want)
	}
	if r := runWithStdin("", "fix", "-f", values, "--memory-limit", "1Gi", "--partial"); r.code != 2 || !strings.Contains(r.stderr, "--partial goes with -k or --chart") {
		t.Errorf("--partial with -f: exit %d\n%s", r.code, r.stderr)
	}
}

// A values key an alias gives is set at its anchor when every key that
// reads it is set alike (the anchor's own key, read by no template, with
// them); for one alone, refused with the other named.
func TestFixChartAnchoredValues(t *testing.T) {
	chart := t.TempDir()
	values := filepath.Join(chart, "values.yaml")
	text := "defaults: &res\n  limits:\n    memory: 256Mi # shared\napi:\n  resources: *res\nworker:\n  resources: *res\n"
	files := map[string]string{
		"Chart.yaml":  "apiVersion: v2\nname: app\nversion: 0.1.0\n",
		"values.yaml": text,
		"templates/deployments.yaml": `{{- range $n := list "api" "worker" }}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: {{ $n }}}
spec:
  template:
    spec:
      containers:
      - name: {{ $n }}
        image: x
        resources:
          {{- toYaml (index $.Values $n).resources | nindent 10 }}
{{- end }}
`,
	}
	for name, data := range files {
		os.MkdirAll(filepath.Dir(filepath.Join(chart, name)), 0o755)
		if err := os.WriteFile(filepath.Join(chart, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := runWithStdin("", "fix", "--chart", chart, "deployment/api", "--memory-limit", "512Mi", "--write")
	if r.code != 1 || !strings.Contains(r.stderr, "would also change worker.resources.limits.memory, which reads the same text through a YAML anchor") || mustRead(t, values) != text {
		t.Errorf("api alone: exit %d\n%s\n%s", r.code, r.stderr, mustRead(t, values))
	}
	r = runWithStdin("", "fix", "--chart", chart, "--memory-limit", "512Mi", "--write")
	want := strings.Replace(text, "256Mi", "512Mi", 1)
	if r.code != 0 || mustRead(t, values) != want {
		t.Errorf("both: exit %d\n%s\n%s\nwant\n%s", r.code, r.stderr, mustRead(t, values), want)
	}
	// A read-only values file is left as it is.
	os.Chmod(values, 0o444)
	r = runWithStdin("", "fix", "--chart", chart, "--memory-limit", "1Gi", "--write")
	if r.code != 1 || !strings.Contains(r.stderr, values+" is read-only (mode 0444)") || !strings.Contains(r.stderr, "no values file was changed") || mustRead(t, values) != want {
		t.Errorf("read-only: exit %d\n%s", r.code, r.stderr)
	}
}
