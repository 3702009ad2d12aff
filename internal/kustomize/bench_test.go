package kustomize

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// bigOverlay writes a base of n Deployments (a file each) and an overlay
// on it with a name prefix and a patch file for every other Deployment;
// it returns the overlay's folder.
func bigOverlay(tb testing.TB, n int) string {
	tb.Helper()
	dir := tb.TempDir()
	base, prod := filepath.Join(dir, "base"), filepath.Join(dir, "prod")
	var resources, patches strings.Builder
	for i := range n {
		fmt.Fprintf(&resources, "- app%d.yaml\n", i)
		put(tb, filepath.Join(base, fmt.Sprintf("app%d.yaml", i)), fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: app%d
spec:
  selector:
    matchLabels: {app: app%d}
  template:
    metadata:
      labels: {app: app%d}
    spec:
      containers:
      - name: app
        image: example/app%d:1.0
        resources:
          requests:
            memory: 128Mi
          limits:
            memory: 256Mi
`, i, i, i, i))
		if i%2 == 0 {
			fmt.Fprintf(&patches, "- path: app%d-memory.yaml\n", i)
			put(tb, filepath.Join(prod, fmt.Sprintf("app%d-memory.yaml", i)), fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: app%d
spec:
  template:
    spec:
      containers:
      - name: app
        resources:
          limits:
            memory: 512Mi
`, i))
		}
	}
	put(tb, filepath.Join(base, "kustomization.yaml"), "resources:\n"+resources.String())
	put(tb, filepath.Join(prod, "kustomization.yaml"), "namePrefix: prod-\nnamespace: shop\nresources:\n- ../base\npatches:\n"+patches.String())
	return prod
}

// put writes a file, and its folder when there is none.
func put(tb testing.TB, path, text string) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// putAll writes files, by their path under dir.
func putAll(tb testing.TB, dir string, files map[string]string) {
	tb.Helper()
	for name, text := range files {
		put(tb, filepath.Join(dir, name), text)
	}
}

func loadBig(b *testing.B, n int) (*Kustomization, []*Object) {
	k, err := Load(bigOverlay(b, n))
	if err != nil {
		b.Fatal(err)
	}
	objs, err := k.Build()
	if err != nil {
		b.Fatal(err)
	}
	return k, objs
}

// raise plans a limit of 1Gi for every Deployment.
func raise(objs []*Object) []Planned {
	out := make([]Planned, len(objs))
	for i, o := range objs {
		text := strings.Replace(o.Text, "memory: 512Mi", "memory: 1Gi", 1)
		out[i] = Planned{Name: o.Source, Text: strings.Replace(text, "memory: 256Mi", "memory: 1Gi", 1)}
	}
	return out
}

// BenchmarkPlainBuild is the baseline: one build of the overlay of 40
// Deployments, as kubectl kustomize builds it.
func BenchmarkPlainBuild(b *testing.B) {
	k, _ := loadBig(b, 40)
	for b.Loop() {
		if _, err := k.build(nil, false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBuild builds it with each object's source, as lint -k and
// fix -k do once.
func BenchmarkBuild(b *testing.B) {
	k, _ := loadBig(b, 40)
	base := plainBuildTime(b, k)
	for b.Loop() {
		if _, err := k.Build(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(base), "x-build")
}

// plainBuildTime is the fastest of a few plain builds: the baseline the
// others are reported against (x-build), measured in the same process
// since the machines are shared.
func plainBuildTime(b *testing.B, k *Kustomization) time.Duration {
	best := time.Duration(1 << 62)
	for range 5 {
		start := time.Now()
		if _, err := k.build(nil, false); err != nil {
			b.Fatal(err)
		}
		best = min(best, time.Since(start))
	}
	return best
}

// BenchmarkTraceAll is fix -k's work for a new limit of each of the 40
// Deployments: the build, then the trace (20 change in their patch files,
// 20 get a new patch).
func BenchmarkTraceAll(b *testing.B) {
	k, objs := loadBig(b, 40)
	plan := raise(objs)
	base := plainBuildTime(b, k)
	k.Builds, k.PlainBuilds = 0, 0
	for b.Loop() {
		if _, err := k.Build(); err != nil {
			b.Fatal(err)
		}
		changes, err := k.Trace(plan)
		if err != nil {
			b.Fatal(err)
		}
		if len(changes) != 41 {
			b.Fatalf("%d files change, want 20 patches, 20 new ones and the kustomization", len(changes))
		}
	}
	b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(base), "x-build")
	b.ReportMetric(float64(k.Builds)/float64(b.N), "origin-builds/op")
	b.ReportMetric(float64(k.PlainBuilds)/float64(b.N), "builds/op")
}
