//go:build linux

package cli

import (
	"strings"
	"testing"
)

// The agent's flags are checked before it starts: a negative retention,
// or a --proc that is no proc filesystem (no main process could be told).
func TestAgentUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"agent", "--standalone", "--listen", "127.0.0.1:0", "--metrics-retention", "-1h"}, "--metrics-retention -1h0m0s: give a duration of 0 or more"},
		{[]string{"agent", "--standalone", "--listen", "127.0.0.1:0", "--proc", t.TempDir()}, "is not a proc filesystem (no self/cgroup in it): give the host's /proc"},
		{[]string{"agent", "--standalone", "--listen", "127.0.0.1:0", "--log", "xml"}, `unknown --log format "xml"`},
	} {
		r := run(tc.args...)
		if r.code != ExitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, r.code, r.stderr, ExitUsage, tc.want)
		}
	}
}
