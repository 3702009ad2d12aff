package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/recommend"
	"github.com/oomdoctor/oomdoctor/test/promserver"
)

func TestKeepCurrent(t *testing.T) {
	const mi = 1 << 20
	for _, c := range []struct {
		name                  string
		curReq, curLim        float64
		req, lim              int64
		killed                bool
		floor                 float64
		wantReq, wantLim      int64
		keptLimit, whyRequest bool
	}{
		{"both within 10%", 256 * mi, 512 * mi, 240 * mi, 496 * mi, false, 4 * mi, 256 * mi, 512 * mi, true, true},
		{"unknown current values", 0, 0, 240 * mi, 496 * mi, false, 4 * mi, 240 * mi, 496 * mi, false, false},
		{"limit far off, request close", 256 * mi, 512 * mi, 250 * mi, 768 * mi, false, 4 * mi, 256 * mi, 768 * mi, false, true},
		{"killed: the limit rises by 8%", 256 * mi, 512 * mi, 250 * mi, 552 * mi, true, 4 * mi, 256 * mi, 552 * mi, false, true},
		{"a kept limit under the runtime's floor is not kept", 64 * mi, 120 * mi, 64 * mi, 128 * mi, false, 128 * mi, 64 * mi, 128 * mi, false, false},
		{"a kept request above the new limit is not kept", 500 * mi, 1024 * mi, 470 * mi, 480 * mi, false, 4 * mi, 470 * mi, 480 * mi, false, false},
		{"a new request above the kept limit is cut to it", 128 * mi, 512 * mi, 520 * mi, 530 * mi, false, 4 * mi, 512 * mi, 512 * mi, true, false},
		{"band off", 256 * mi, 512 * mi, 240 * mi, 496 * mi, false, 4 * mi, 240 * mi, 496 * mi, false, false},
		// More than 4x under the limit: not kept, raised to a quarter.
		{"a request 8.5x under the limit is raised to a quarter of it", 120 * mi, 1024 * mi, 128 * mi, 1024 * mi, false, 4 * mi, 256 * mi, 1024 * mi, false, true},
		{"a kept limit above the new one raises the request with it", 0, 1100 * mi, 256 * mi, 1024 * mi, false, 4 * mi, 288 * mi, 1100 * mi, true, true},
	} {
		band := 0.1
		if c.name == "band off" {
			band = 0
		}
		req, lim, whyL, whyR := keepCurrent(band, c.curReq, c.curLim, c.req, c.lim, c.killed, recommend.Guardrails{Floor: c.floor, MaxRatio: 4})
		if req != c.wantReq || lim != c.wantLim || (whyL != "") != c.keptLimit || (whyR != "") != c.whyRequest {
			t.Errorf("%s: got %dMi/%dMi why %q %q; want %dMi/%dMi kept limit %v, a request reason %v", c.name, req/mi, lim/mi, whyL, whyR, c.wantReq/mi, c.wantLim/mi, c.keptLimit, c.whyRequest)
		}
		if lim > 4*req {
			t.Errorf("%s: the limit %dMi is more than 4x the request %dMi", c.name, lim/mi, req/mi)
		}
	}
	_, _, why, _ := keepCurrent(0.1, 0, 512*mi, 0, 496*mi, false, recommend.Guardrails{})
	if want := "kept the current limit 512Mi: the 496Mi recommended is within 10% of it, not worth a rollout (--min-change)"; why != want {
		t.Errorf("reason %q, want %q", why, want)
	}
}

// recommend keeps a limit the recommendation is within --min-change of,
// and says so (in the table's WHY too); --min-change 0 sets the
// recommendation.
func TestRecommendKeepsCloseValues(t *testing.T) {
	end := int64(1_790_000_000)
	sim := promserver.Sim{Start: end - 3*86400, End: end, Pods: []promserver.Pod{
		{Namespace: "shop", Name: "api-0", OwnerKind: "StatefulSet", OwnerName: "api",
			Containers: []promserver.Container{{Name: "api", Request: 256 << 20, Limit: 512 << 20, Usage: func(t, age int64) float64 { return 330 << 20 }}}},
	}}
	dir := t.TempDir()
	if _, err := sim.WriteFile(filepath.Join(dir, "history.om")); err != nil {
		t.Fatal(err)
	}
	pod := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"api-0","namespace":"shop","ownerReferences":[{"apiVersion":"apps/v1","kind":"StatefulSet","name":"api","uid":"u2","controller":true}]},
  "spec":{"containers":[{"name":"api","image":"example/api:1","resources":{"requests":{"memory":"256Mi"},"limits":{"memory":"512Mi"}}}]}}`
	if err := os.WriteFile(filepath.Join(dir, "pods.json"), []byte(pod), 0o644); err != nil {
		t.Fatal(err)
	}
	rec := func(args ...string) model.Recommendation {
		r := run(append([]string{"recommend", "--snapshot", dir, "--history", "3d", "--until", "2026-09-21T13:33:20Z", "-o", "json"}, args...)...)
		var doc model.Recommendations
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &doc) != nil || len(doc.Items) != 1 {
			t.Fatalf("exit %d: %s %s", r.code, r.stdout, r.stderr)
		}
		return doc.Items[0]
	}
	kept, set := rec(), rec("--min-change", "0")
	// 330Mi x 1.5 = 495Mi, rounded to 496Mi: 3% under 512Mi.
	if *set.MemoryLimitBytes != 496<<20 || *kept.MemoryLimitBytes != 512<<20 || !strings.Contains(strings.Join(kept.Reasons, "\n"), "kept the current limit 512Mi") {
		t.Errorf("with the band %+v; without %+v", kept, set)
	}
	// The request (the median peak, 336Mi) is far from 256Mi: set either way.
	if *kept.MemoryRequestBytes != 336<<20 || *set.MemoryRequestBytes != 336<<20 {
		t.Errorf("requests %d and %d, want 336Mi", *kept.MemoryRequestBytes>>20, *set.MemoryRequestBytes>>20)
	}
	if tab := run("recommend", "--snapshot", dir, "--history", "3d", "--until", "2026-09-21T13:33:20Z"); !strings.Contains(tab.stdout, "512Mi  kept the current limit 512Mi") {
		t.Errorf("the table's WHY should say the limit was kept:\n%s", tab.stdout)
	}
	if r := run("recommend", "--snapshot", dir, "--min-change", "10"); r.code != 2 || !strings.Contains(r.stderr, "not a percentage like 10%") {
		t.Errorf("--min-change 10: %d %s", r.code, r.stderr)
	}
}
