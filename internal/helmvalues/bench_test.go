package helmvalues

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// bigChart writes a chart of n Deployments, each with its own values block
// (image, resources, a dozen empty mappings as public charts have), the
// first of them with its limit written in the template; it returns the
// chart's folder.
func bigChart(tb testing.TB, n int) string {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "big")
	os.MkdirAll(filepath.Join(dir, "templates"), 0o755)
	os.WriteFile(filepath.Join(dir, "Chart.yaml"), []byte("apiVersion: v2\nname: big\nversion: 1.0.0\n"), 0o644)
	var values strings.Builder
	for i := range n {
		fmt.Fprintf(&values, "app%d:\n  image: example/app%d:1.0\n  resources:\n    limits:\n      memory: 256Mi\n    requests:\n      memory: 128Mi\n", i, i)
		for _, empty := range []string{"podAnnotations", "podLabels", "nodeSelector", "affinity", "securityContext", "podSecurityContext", "extraEnvVars", "extraVolumes", "service", "ingress", "autoscaling", "serviceAccount"} {
			fmt.Fprintf(&values, "  %s: {}\n", empty)
		}
		limit := "{{- toYaml .Values.app%d.resources | nindent 12 }}"
		limit = fmt.Sprintf(limit, i)
		if i == 0 {
			limit = "\n            limits:\n              memory: 256Mi"
		}
		tpl := fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-app%d
  annotations: {{- toYaml .Values.app%d.podAnnotations | nindent 4 }}
spec:
  selector:
    matchLabels: {app: app%d}
  template:
    metadata:
      labels: {app: app%d}
    spec:
      nodeSelector: {{- toYaml .Values.app%d.nodeSelector | nindent 8 }}
      containers:
        - name: app
          image: {{ .Values.app%d.image }}
          resources:
            %s
`, i, i, i, i, i, i, limit)
		os.WriteFile(filepath.Join(dir, "templates", fmt.Sprintf("app%d.yaml", i)), []byte(tpl), 0o644)
	}
	os.WriteFile(filepath.Join(dir, "values.yaml"), []byte(values.String()), 0o644)
	return dir
}

func loadBig(b *testing.B, n int) (*Chart, []Template) {
	c, err := Load(bigChart(b, n), nil, nil, "prod", "shop")
	if err != nil {
		b.Fatal(err)
	}
	ts, err := c.Render(c.User())
	if err != nil {
		b.Fatal(err)
	}
	return c, ts
}

// raise plans a new limit for the apps from..to-1.
func raise(ts []Template, from, to int) []Template {
	out := append([]Template(nil), ts...)
	for i := range out {
		var k int
		if _, err := fmt.Sscanf(filepath.Base(out[i].Name), "app%d.yaml", &k); err == nil && k >= from && k < to {
			out[i].Text = strings.Replace(out[i].Text, "memory: 256Mi", "memory: 512Mi", 1)
		}
	}
	return out
}

// BenchmarkRender is the baseline: one render of a chart of 40
// Deployments.
func BenchmarkRender(b *testing.B) {
	c, _ := loadBig(b, 40)
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Render(c.User()); err != nil {
			b.Fatal(err)
		}
	}
}

// renderTime is the fastest of a few renders of the whole chart: the
// baseline the traces are reported against (x-render), measured in the
// same process since the machines are shared.
func renderTime(b *testing.B, c *Chart) time.Duration {
	best := time.Duration(1 << 62)
	for range 5 {
		start := time.Now()
		if _, err := c.Render(c.User()); err != nil {
			b.Fatal(err)
		}
		best = min(best, time.Since(start))
	}
	return best
}

func reportRenders(b *testing.B, base time.Duration) {
	b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(base), "x-render")
}

// BenchmarkTraceAll traces a new limit for each of the 39 Deployments whose
// limit is a value.
func BenchmarkTraceAll(b *testing.B) {
	c, ts := loadBig(b, 40)
	plan := raise(ts, 1, 40)
	base := renderTime(b, c)
	for b.Loop() {
		if _, err := c.Trace(plan); err != nil {
			b.Fatal(err)
		}
	}
	reportRenders(b, base)
}

// BenchmarkTraceUntraceable traces the one Deployment whose limit is
// written in its template: every candidate is tried, and refused.
func BenchmarkTraceUntraceable(b *testing.B) {
	c, ts := loadBig(b, 40)
	plan := raise(ts, 0, 1)
	base := renderTime(b, c)
	for b.Loop() {
		if _, err := c.Trace(plan); err == nil {
			b.Fatal("traced a limit written in the template")
		}
	}
	reportRenders(b, base)
}
