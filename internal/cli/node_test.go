package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestNodeExampleGolden(t *testing.T) {
	r := run("node", "--snapshot", exampleSnapshot)
	if r.code != ExitFailure {
		t.Errorf("exit %d, want 1: the example has system-wide OOM kills (fail)", r.code)
	}
	golden(t, "node-example.txt", r.stdout)
	r = run("node", "--snapshot", exampleSnapshot, "-o", "json", "--fail-on", "none")
	if r.code != 0 {
		t.Fatalf("exit %d with --fail-on none: %s", r.code, r.stderr)
	}
	golden(t, "node-example.json", r.stdout)
	var rep NodeReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || rep.Kind != "NodeReport" || len(rep.Nodes) != 2 {
		t.Errorf("%v %+v", err, rep)
	}
}

func TestNodeOneNodeAndTop(t *testing.T) {
	r := run("node", "--snapshot", exampleSnapshot, "node-a", "--fail-on", "none")
	if r.code != 0 || !strings.Contains(r.stdout, "node-a") || strings.Contains(r.stdout, "node-b") {
		t.Errorf("exit %d:\n%s", r.code, r.stdout)
	}
	r = run("node", "--snapshot", exampleSnapshot, "--top", "1", "--fail-on", "none")
	if !strings.Contains(r.stdout, "(1 more nodes; --top 0 shows all)") {
		t.Errorf("--top 1:\n%s", r.stdout)
	}
	r = run("node", "--snapshot", exampleSnapshot, "node-z")
	if r.code != ExitUsage || !strings.Contains(r.stderr, `node "node-z" not found`) {
		t.Errorf("unknown node: exit %d %q", r.code, r.stderr)
	}
}

// The machine the tests run on: real /proc, real cgroups (as root in CI).
func TestNodeLocalOnThisMachine(t *testing.T) {
	r := run("node", "--local", "-o", "json", "--fail-on", "none")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var rep NodeReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, c := range rep.Local {
		ids[c.ID] = string(c.Status)
	}
	for _, id := range []string{"cgroup-version", "memory-controller", "kernel", "swap", "vm-overcommit", "vm-panic-on-oom", "container-runtime", "kubelet-config"} {
		if ids[id] == "" {
			t.Errorf("no %s check in %v", id, ids)
		}
	}
	if ids["memory-controller"] != "pass" {
		t.Errorf("this machine has a memory controller; got %s", ids["memory-controller"])
	}
}

func TestNodeUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"node", "-o", "wide", "--snapshot", exampleSnapshot}, `unknown output format "wide"`},
		{[]string{"node", "--fail-on", "error", "--snapshot", exampleSnapshot}, `--fail-on "error"`},
		{[]string{"node", "--local", "node-a"}, "drop the node name"},
		{[]string{"node", "--local", "--snapshot", exampleSnapshot}, "choose one"},
		{[]string{"node", "--local", "--root", "/nonexistent-root"}, "--root /nonexistent-root is not a folder"},
		{[]string{"node", "--root", "/host", "--snapshot", exampleSnapshot}, "--root is for --local"},
		{[]string{"node", "a", "b"}, "at most one node"},
		{[]string{"node", "--limits-overcommit", "0.5", "--snapshot", exampleSnapshot}, "at least 1"},
		{[]string{"node", "--snapshot", exampleSnapshot, "--context", "prod"}, "--context selects a live cluster"},
	} {
		r := run(tc.args...)
		if r.code != ExitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, r.code, r.stderr, ExitUsage, tc.want)
		}
	}
}
