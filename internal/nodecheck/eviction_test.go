package nodecheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// The eviction thresholds as the kubelet reads them: what it refuses to
// start with fails, a soft threshold at or under the hard one (resolved
// against the node's MemTotal, 16Gi here) never acts, and a partial
// evictionHard keeps memory's default only with
// mergeDefaultEvictionSettings.
func TestEvictionThresholds(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "proc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "proc/meminfo"), []byte("MemTotal:       16777216 kB\nMemFree:         1000 kB\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, config string
		want         map[string]want
	}{
		{"defaults", "kind: KubeletConfiguration\n",
			map[string]want{"kubelet-eviction": {Pass, "memory.available<100Mi (the default)"}}},
		{"hard not a quantity", "evictionHard:\n  memory.available: abc\n",
			map[string]want{"kubelet-eviction": {Fail, "will not start"}}},
		{"hard zero", "evictionHard:\n  memory.available: \"0\"\n",
			map[string]want{"kubelet-eviction": {Fail, "will not start"}}},
		{"hard above 100%", "evictionHard:\n  memory.available: 120%\n",
			map[string]want{"kubelet-eviction": {Fail, "will not start"}}},
		{"hard off", "evictionHard:\n  memory.available: 100%\n",
			map[string]want{"kubelet-eviction": {Warn, "disabled (100%)"}}},
		{"partial hard", "evictionHard:\n  nodefs.available: 10%\n",
			map[string]want{"kubelet-eviction": {Warn, "no hard eviction threshold"}}},
		{"partial hard merged", "mergeDefaultEvictionSettings: true\nevictionHard:\n  nodefs.available: 10%\n",
			map[string]want{"kubelet-eviction": {Pass, "memory.available<100Mi (the default)"}}},
		{"soft without grace", "evictionSoft:\n  memory.available: 1Gi\n",
			map[string]want{"kubelet-eviction-soft": {Fail, "no grace period"}}},
		{"soft bad grace", "evictionSoft:\n  memory.available: 1Gi\nevictionSoftGracePeriod:\n  memory.available: soon\n",
			map[string]want{"kubelet-eviction-soft": {Fail, "grace period on memory is invalid"}}},
		{"soft invalid", "evictionSoft:\n  memory.available: -1Gi\nevictionSoftGracePeriod:\n  memory.available: 1m\n",
			map[string]want{"kubelet-eviction-soft": {Fail, "soft eviction threshold on memory is invalid"}}},
		// 5% of 16Gi is 819Mi: a soft 500Mi never comes first.
		{"soft under a hard share", "evictionHard:\n  memory.available: 5%\nevictionSoft:\n  memory.available: 500Mi\nevictionSoftGracePeriod:\n  memory.available: 1m\n",
			map[string]want{"kubelet-eviction": {Pass, "memory.available<5%"}, "kubelet-eviction-soft": {Warn, "never acts"}}},
		{"soft under the default", "evictionSoft:\n  memory.available: 50Mi\nevictionSoftGracePeriod:\n  memory.available: 1m\n",
			map[string]want{"kubelet-eviction-soft": {Warn, "never acts"}}},
		{"soft above", "evictionHard:\n  memory.available: 5%\nevictionSoft:\n  memory.available: 1Gi\nevictionSoftGracePeriod:\n  memory.available: 1m30s\n",
			map[string]want{"kubelet-eviction-soft": {Pass, "memory.available<1Gi after 1m30s"}}},
		{"soft off", "evictionSoft:\n  memory.available: 0%\n",
			map[string]want{"kubelet-eviction-soft": {Info, "off (0%)"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c kubeletConfig
			if err := yaml.Unmarshal([]byte(tc.config), &c); err != nil {
				t.Fatal(err)
			}
			got := map[string]Result{}
			evictionChecks(&local{Host: Host{Root: root}, kubelet: &c}, func(id string, s Status, summary, advice string, ev ...string) {
				got[id] = Result{ID: id, Status: s, Summary: summary, Advice: advice, Evidence: ev}
			})
			for id, w := range tc.want {
				r, ok := got[id]
				if !ok || r.Status != w.status || !strings.Contains(r.Summary, w.summary) {
					t.Errorf("%s: got %+v, want %s with %q", id, r, w.status, w.summary)
				}
				if r.Status != Pass && r.Status != Info && r.Advice == "" || len(r.Evidence) == 0 {
					t.Errorf("%s: %s without advice or evidence: %+v", id, r.Status, r)
				}
			}
		})
	}
	// The share is resolved in the evidence.
	var c kubeletConfig
	_ = yaml.Unmarshal([]byte("evictionHard:\n  memory.available: 5%\nevictionSoft:\n  memory.available: 500Mi\nevictionSoftGracePeriod:\n  memory.available: 1m\n"), &c)
	var ev []string
	evictionChecks(&local{Host: Host{Root: root}, kubelet: &c}, func(id string, _ Status, _, _ string, e ...string) {
		if id == "kubelet-eviction-soft" {
			ev = e
		}
	})
	if !strings.Contains(strings.Join(ev, "; "), "MemTotal 16.0Gi: soft at 500Mi, hard at 819Mi") {
		t.Errorf("evidence %q", ev)
	}
}
