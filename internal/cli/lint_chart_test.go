package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLintChart(t *testing.T) {
	r := runWithStdin("", "lint", "--chart", shopChart, "--release", "prod", "-n", "shop")
	if r.code != 1 || !strings.Contains(r.stdout, shopChart+`/templates/worker.yaml:13:11: warning: container "worker" of Deployment prod-shop-worker has no memory limit`) {
		t.Fatalf("exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
	// helm test's pods are not the release's workloads.
	if strings.Contains(r.stdout, "prod-shop-test") {
		t.Errorf("the test hook's pod was linted:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "3 findings (3 warnings) in 7 workloads among 9 objects from 9 files.") {
		t.Errorf("summary:\n%s", r.stderr)
	}

	// The values given are the release's: a heap above the limit.
	prod := filepath.Join(t.TempDir(), "prod.yaml")
	os.WriteFile(prod, []byte("api:\n  javaOpts: \"-Xmx1g\"\n"), 0o600)
	r = runWithStdin("", "lint", "--chart", shopChart, "--values", prod, "--release", "prod", "-o", "json")
	if r.code != 1 || !strings.Contains(r.stdout, `"rule": "jvm-heap-exceeds-limit"`) || !strings.Contains(r.stdout, `"file": "`+shopChart+`/templates/api.yaml"`) {
		t.Errorf("exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestLintChartErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"chart and files", []string{"lint", "--chart", shopChart, "-f", shopChart}, "-f, -k and --chart exclude each other"},
		{"values without chart", []string{"lint", "-f", shopChart + "/values.yaml", "--values", shopChart + "/values.yaml"}, "--values goes with --chart"},
		{"release without chart", []string{"lint", "-f", shopChart + "/values.yaml", "--release", "x"}, "--release goes with --chart"},
		{"no chart there", []string{"lint", "--chart", t.TempDir()}, "give a chart folder, with its Chart.yaml, or a packaged .tgz"},
		{"values that break it", []string{"lint", "--chart", shopChart, "--values", writeValues(t, "api: [1, 2]\n")}, "does not render with the values given"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runWithStdin("", tc.args...)
			if r.code != 2 || !strings.Contains(r.stdout+r.stderr, tc.want) {
				t.Errorf("exit %d (want 2):\n%s%s", r.code, r.stdout, r.stderr)
			}
		})
	}
}

func writeValues(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
