package integration

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oomdoctor/oomdoctor/internal/cli"
)

func nodeReport(t *testing.T, args ...string) cli.NodeReport {
	t.Helper()
	r := oomdoctor(t, append([]string{"node", "-o", "json", "--fail-on", "none"}, args...)...)
	if r.code != 0 {
		t.Fatal(r)
	}
	var rep cli.NodeReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	return rep
}

// oomdoctor node reads nodes, pods and events from a real API server and
// answers as it does from a snapshot of the same cluster.
func TestNodeChecksAgainstTheAPIServer(t *testing.T) {
	live := nodeReport(t, "--kubeconfig", cp.Kubeconfig)
	if len(live.Nodes) != 2 {
		t.Fatalf("nodes %+v, want the scenario's two", live.Nodes)
	}
	byName := map[string]int{}
	for i, n := range live.Nodes {
		byName[n.Name] = i
		if n.AllocatableBytes == 0 || n.Pods == 0 || n.LimitsBytes == 0 {
			t.Errorf("%s: %+v", n.Name, n)
		}
	}
	if live.Nodes[0].LimitsRatio < live.Nodes[1].LimitsRatio {
		t.Errorf("rows not sorted by overcommit: %+v", live.Nodes)
	}
	var systemOOM bool
	for _, c := range live.Checks {
		if c.ID == "node-system-oom" && c.Status == "fail" && strings.Contains(strings.Join(c.Evidence, " "), "victim process") {
			systemOOM = true
		}
	}
	if !systemOOM {
		t.Errorf("the scenario's SystemOOM event was not found: %+v", live.Checks)
	}

	dir := filepath.Join(t.TempDir(), "snap")
	if r := oomdoctor(t, "snapshot", "--kubeconfig", cp.Kubeconfig, "-o", dir); r.code != 0 {
		t.Fatal(r)
	}
	offline := nodeReport(t, "--snapshot", dir)
	a, _ := json.Marshal(live.Nodes)
	b, _ := json.Marshal(offline.Nodes)
	if string(a) != string(b) {
		t.Errorf("the snapshot's nodes differ from the cluster's\nlive:     %s\nsnapshot: %s", a, b)
	}

	// The text table and the exit code for failing checks.
	r := oomdoctor(t, "node", "--kubeconfig", cp.Kubeconfig)
	if r.code != 1 || !strings.Contains(r.stdout, "NODE") || !strings.Contains(r.stdout, "FAIL") {
		t.Errorf("text output with a failing check: %s", r)
	}
}
