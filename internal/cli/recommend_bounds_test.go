package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/recommend"
)

// recommend keeps its values within the namespace's LimitRange, read from
// a snapshot's limitranges.json: cart needs 384Mi and gets the 320Mi
// maximum, with a warning; envoy's request is raised to the 48Mi minimum.
// The other namespaces have none.
func TestRecommendWithinLimitRanges(t *testing.T) {
	dir := exampleWith(t, "limitranges.json", `{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "mem", "namespace": "shop"},
  "spec": {"limits": [{"type": "Container", "max": {"memory": "320Mi"}, "min": {"memory": "48Mi"}}]}}]}`)
	recs := func(snap string) map[string]model.Recommendation {
		t.Helper()
		r := run("recommend", "--snapshot", snap, "-o", "json")
		if r.code != 0 {
			t.Fatalf("recommend --snapshot %s: %s", snap, r.stderr)
		}
		var doc model.Recommendations
		if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
			t.Fatal(err)
		}
		by := map[string]model.Recommendation{}
		for _, it := range doc.Items {
			by[it.Workload.Namespace+"/"+it.Workload.Name+"/"+it.Container] = it
		}
		return by
	}
	free, bound := recs("../../examples/snapshot"), recs(dir)
	const mi = 1 << 20
	cart := bound["shop/cart/cart"]
	if *free["shop/cart/cart"].MemoryLimitBytes != 384*mi || *cart.MemoryLimitBytes != 320*mi {
		t.Errorf("cart's limit: %d without the LimitRange, %d with it; want 384Mi and 320Mi", *free["shop/cart/cart"].MemoryLimitBytes/mi, *cart.MemoryLimitBytes/mi)
	}
	want := recommend.CappedPrefix + "320Mi, the most LimitRange shop/mem allows a container (it needs 384Mi): the API server refuses a pod above it"
	if len(cart.Warnings) == 0 || !strings.HasPrefix(cart.Warnings[0], want) {
		t.Errorf("cart's warnings %q, want first %q", cart.Warnings, want)
	}
	envoy := bound["shop/cart/envoy"]
	if *free["shop/cart/envoy"].MemoryRequestBytes >= 48*mi || *envoy.MemoryRequestBytes != 48*mi || !strings.Contains(strings.Join(envoy.Reasons, "\n"), "the least LimitRange shop/mem allows a container") {
		t.Errorf("envoy: request %d without, %+v with the LimitRange", *free["shop/cart/envoy"].MemoryRequestBytes, envoy)
	}
	for k, f := range free {
		if strings.HasPrefix(k, "shop/") {
			continue
		}
		if b := bound[k]; *b.MemoryLimitBytes != *f.MemoryLimitBytes || *b.MemoryRequestBytes != *f.MemoryRequestBytes {
			t.Errorf("%s changed, in a namespace without a LimitRange", k)
		}
	}
}

// exampleWith copies the bundled example snapshot to a temporary folder
// with one more file in it, and returns the folder.
func exampleWith(t *testing.T, name, content string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "snap")
	if err := os.CopyFS(dir, os.DirFS("../../examples/snapshot")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// explain's fix for a limit too low stays within the namespace's
// LimitRange: the log-shipper needs 96Mi, the LimitRange allows 80Mi.
func TestExplainFixWithinLimitRanges(t *testing.T) {
	dir := exampleWith(t, "limitranges.json", `{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "mem", "namespace": "shop"},
  "spec": {"limits": [{"type": "Container", "max": {"memory": "80Mi"}}]}}]}`)
	for _, c := range []struct {
		snap, want string
	}{
		{"../../examples/snapshot", "Raise the memory limit to 96Mi and the request to 64Mi"},
		{dir, "Raise the memory limit to 80Mi and the request to 64Mi (limit: the limit 64Mi it was OOM-killed at x 1.5). Capped the limit at 80Mi, the most LimitRange shop/mem allows a container (it needs 96Mi)"},
	} {
		r := run("explain", "search-5f4b8c7d9-qwj7d", "-n", "shop", "--snapshot", c.snap, "-o", "json")
		if r.code != 0 {
			t.Fatalf("explain: %s", r.stderr)
		}
		if !strings.Contains(r.stdout, c.want) {
			t.Errorf("explain --snapshot %s: the fix lacks %q:\n%s", c.snap, c.want, r.stdout)
		}
	}
}
