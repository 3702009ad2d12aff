package cli

import (
	"strings"
	"testing"
)

// explain says "no OOM kill found" only of something that exists; a name
// that is not in the source is an error that says what to check.
func TestExplainTargets(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"cart-7c9d8f6b5-x2kqp/envoy", "-n", "shop"}, 0, "No OOM kill, eviction, SIGKILL or runtime out-of-memory error found for pod shop/cart-7c9d8f6b5-x2kqp, container envoy.", ""},
		{[]string{"nope", "-n", "shop"}, ExitUsage, "", "pod shop/nope not found in the snapshot ../../examples/snapshot: check the name, or the namespace (-n)"},
		{[]string{"nope"}, ExitUsage, "", "pod nope not found in any namespace of the snapshot ../../examples/snapshot: check the name"},
		{[]string{"deploy/nope", "-n", "shop"}, ExitUsage, "", "Deployment shop/nope not found in the snapshot"},
		{[]string{"deploy/cart", "-n", "payments"}, ExitUsage, "", "Deployment payments/cart not found in the snapshot"},
		{[]string{"cart-7c9d8f6b5-x2kqp/nope", "-n", "shop"}, ExitUsage, "", "pod shop/cart-7c9d8f6b5-x2kqp, container nope: no such container (its containers: cart, envoy)"},
		{[]string{"svc/cart", "-n", "shop"}, ExitUsage, "", `"svc/cart": "svc" is not a kind of workload: give a pod, deployment (deploy),`},
		{[]string{"cart-7c9d8f6b5-x2kqp", "-n", "shop"}, 0, "Pod shop/cart-7c9d8f6b5-x2kqp, container cart (Deployment/cart)", ""},
	} {
		r := run(append([]string{"explain", "--snapshot", exampleSnapshot}, tc.args...)...)
		if r.code != tc.code || !strings.Contains(r.stdout, tc.stdout) || !strings.Contains(r.stderr, tc.stderr) {
			t.Errorf("explain %v: exit %d\nstdout %s\nstderr %s\nwant exit %d, %q, %q", tc.args, r.code, r.stdout, r.stderr, tc.code, tc.stdout, tc.stderr)
		}
	}
}

// A snapshot holds no logs: asking to read them is a usage error, while
// explain's default (read them on a live cluster) says nothing of it.
func TestLogsNeedALiveCluster(t *testing.T) {
	for _, args := range [][]string{
		{"scan", "--snapshot", exampleSnapshot, "--logs"},
		{"explain", "cart-7c9d8f6b5-x2kqp", "-n", "shop", "--snapshot", exampleSnapshot, "--logs"},
	} {
		r := run(args...)
		if r.code != ExitUsage || !strings.Contains(r.stderr, "--logs reads the containers' logs from a live cluster; a snapshot holds none") {
			t.Errorf("%v: exit %d, stderr %s", args, r.code, r.stderr)
		}
	}
	if r := run("explain", "cart-7c9d8f6b5-x2kqp", "-n", "shop", "--snapshot", exampleSnapshot, "--logs=false"); r.code != 0 {
		t.Errorf("explain --logs=false on a snapshot: exit %d, stderr %s", r.code, r.stderr)
	}
}
