package cli

import (
	"bytes"
	"strings"
	"testing"
)

// On macOS the commands that need Linux keep their help, and running one
// says where to run it instead, as a usage error, whatever flags it has.
func TestLinuxOnlyCommandsElsewhere(t *testing.T) {
	defer func(was string) { goos = was }(goos)
	goos = "darwin"
	for _, tc := range []struct {
		use, where string
		args       []string
		want       string
	}{
		{"profile [--limit Q] -- COMMAND", profileWhere, []string{"--limit", "256Mi", "--", "java", "-jar", "app.jar"},
			"oomdoctor profile needs Linux, and this is darwin: it runs the command in a memory cgroup of its own"},
		{"agent --node-name NODE", agentWhere, []string{"--node-name", "worker-1", "--kmsg", "/dev/kmsg"},
			"oomdoctor agent needs Linux, and this is darwin: the node agent runs on each Linux node"},
	} {
		cmd := linuxOnly(tc.use, "short", "long", tc.where)
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs(tc.args)
		err := cmd.Execute()
		if ExitCode(err) != ExitUsage || err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s %v: exit %d, %v; want a usage error starting %q", cmd.Name(), tc.args, ExitCode(err), err, tc.want)
		}
		out.Reset()
		cmd.SetArgs([]string{"--help"})
		if err := cmd.Execute(); err != nil {
			t.Errorf("%s --help: %v", cmd.Name(), err)
		}
		if !strings.Contains(out.String(), "It needs Linux; this oomdoctor is built for darwin.") {
			t.Errorf("%s --help does not say it needs Linux:\n%s", cmd.Name(), out.String())
		}
	}
}

func TestNodeLocalElsewhere(t *testing.T) {
	defer func(was string) { goos = was }(goos)
	goos = "darwin"
	r := run("node", "--local")
	if r.code != ExitUsage || !strings.Contains(r.stderr, "oomdoctor node --local needs Linux, and this is darwin: it reads the node itself") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	// Through the API it runs anywhere.
	if r := run("node", "--snapshot", exampleSnapshot, "--fail-on", "none"); r.code != 0 {
		t.Errorf("node --snapshot on darwin: exit %d: %s", r.code, r.stderr)
	}
}
