package cli

import (
	"bytes"
	"context"
	"flag"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// exampleSnapshot is the bundled example the README runs.
const exampleSnapshot = "../../examples/snapshot"

var fixedNow = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

type result struct {
	stdout, stderr string
	code           int
}

func run(args ...string) result {
	var out, errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	root := newRootCommand(streams, "oomdoctor", func() time.Time { return fixedNow })
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	if err != nil {
		errOut.WriteString("error: " + err.Error() + "\n")
	}
	return result{out.String(), errOut.String(), ExitCode(err)}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/cli -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the output (go test ./internal/cli -update rewrites it after a deliberate change):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestScanExampleGolden(t *testing.T) {
	for _, format := range []string{"table", "wide", "json", "yaml"} {
		t.Run(format, func(t *testing.T) {
			r := run("scan", "--snapshot", exampleSnapshot, "-o", format)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			golden(t, "scan-example."+format, r.stdout)
		})
	}
}

// The snapshot of a real kubelet's statuses (make examples).
func TestScanKubeletExampleGolden(t *testing.T) {
	r := run("scan", "--snapshot", "../../examples/kubelet-snapshot", "-o", "wide")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	golden(t, "scan-kubelet-example.wide", r.stdout)
}

func TestScanExampleSummary(t *testing.T) {
	r := run("scan", "--snapshot", exampleSnapshot)
	if !strings.Contains(r.stderr, "13 findings in 11 workloads (8 oom-killed, 1 not-oom, 2 eviction, 1 system-oom, 1 kernel-oom-kill) among 16 pods.") {
		t.Errorf("summary: %q", r.stderr)
	}
	r = run("scan", "--snapshot", exampleSnapshot, "-n", "shop", "-l", "app=nothing-here", "--since", "24h")
	if r.code != 0 || r.stdout != "" || !strings.Contains(r.stderr, "No OOM kills found in 0 pods in namespace shop matching app=nothing-here within the last 24h.") {
		t.Errorf("an empty result: %+v", r)
	}
}

func TestUsageErrors(t *testing.T) {
	broken := filepath.Join(t.TempDir(), "broken.json")
	if err := os.WriteFile(broken, []byte("{\"kind\": \"List\",\n \"items\": [}"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown output", []string{"scan", "-o", "csv", "--snapshot", exampleSnapshot}, `unknown output format "csv": valid formats are json, table, wide, yaml`},
		{"unknown flag", []string{"scan", "--frobnicate"}, "unknown flag: --frobnicate"},
		{"stray argument", []string{"scan", "pod-1"}, "takes no arguments"},
		{"explain without a pod", []string{"explain", "--snapshot", exampleSnapshot}, "explain needs a pod (POD or POD/CONTAINER) or a workload (TYPE/NAME"},
		{"explain with two", []string{"explain", "a", "b", "--snapshot", exampleSnapshot}, `explain takes one argument, a pod (POD or POD/CONTAINER) or a workload (TYPE/NAME: deploy/cart); got 2: "a b"`},
		{"recommend with two", []string{"recommend", "a", "b", "--snapshot", exampleSnapshot}, "recommend takes at most one argument, a workload"},
		{"negative since", []string{"scan", "--since", "-1h", "--snapshot", exampleSnapshot}, "--since must not be negative"},
		{"bad since", []string{"scan", "--since", "yesterday"}, "invalid argument \"yesterday\""},
		{"bad selector", []string{"scan", "-l", "app in (", "--snapshot", exampleSnapshot}, "invalid --selector"},
		{"snapshot with context", []string{"scan", "--snapshot", exampleSnapshot, "--context", "prod"}, "--context selects a live cluster"},
		{"malformed snapshot", []string{"scan", "--snapshot", broken}, broken + ":2:12: invalid JSON"},
		{"missing snapshot", []string{"scan", "--snapshot", "/nonexistent/bundle"}, "/nonexistent/bundle"},
		{"snapshot without -o", []string{"snapshot"}, "snapshot needs a folder to write: -o DIR"},
		{"no kubeconfig", []string{"scan", "--kubeconfig", filepath.Join(t.TempDir(), "none")}, "none"},
		{"version format", []string{"version", "-o", "xml"}, `unknown output format "xml"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := run(tc.args...)
			if r.code != ExitUsage {
				t.Errorf("exit %d, want %d; stderr %q", r.code, ExitUsage, r.stderr)
			}
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr %q does not contain %q", r.stderr, tc.want)
			}
		})
	}
}

func TestHelpNamesThePlugin(t *testing.T) {
	var out bytes.Buffer
	root := NewRootCommand(genericiooptions.IOStreams{Out: &out, ErrOut: &out}, displayName("/usr/local/bin/kubectl-oomdoctor"))
	root.SetArgs([]string{"scan", "--help"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "kubectl oomdoctor scan [flags]") {
		t.Errorf("help as a plugin:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "-A, --all-namespaces") || !strings.Contains(out.String(), "This is the default") {
		t.Errorf("help must say -A is the default:\n%s", out.String())
	}
}

func TestVersion(t *testing.T) {
	r := run("version", "-o", "json")
	if r.code != 0 || !strings.Contains(r.stdout, `"version":`) || !strings.Contains(r.stdout, `"goVersion":`) {
		t.Errorf("%+v", r)
	}
}

// With no kubeconfig, no --server and no service account, client-go would
// try http://localhost:8080; every cluster command says what to do instead.
func TestNoClusterConfigured(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	t.Setenv("KUBECONFIG", filepath.Join(dir, "none"))
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	for _, c := range []struct {
		args []string
		then string // the way on without a cluster
	}{
		{[]string{"scan"}, ", or read a snapshot with --snapshot"},
		{[]string{"node"}, ", or read a snapshot with --snapshot"},
		{[]string{"explain", "p"}, ", or read a snapshot with --snapshot"},
		{[]string{"snapshot", "-o", filepath.Join(dir, "snap")}, "\n"},
		{[]string{"agent", "--node-name", "n", "--listen", "127.0.0.1:0"}, ", or run with --standalone"},
		{[]string{"recommend", "--prometheus-service", "auto"}, ", or reach Prometheus with --prometheus-url"},
	} {
		r := run(c.args...)
		if r.code != 2 || !strings.Contains(r.stderr, "no cluster configured (no cluster in "+filepath.Join(dir, "none")+", no --server, not in a pod with a service account): pass --kubeconfig or set KUBECONFIG"+c.then) {
			t.Errorf("%v: exit %d\n%s", c.args, r.code, r.stderr)
		}
	}
}

// An API server that refuses the connection: the error names it and says
// what to check, for every command that reads the cluster.
func TestUnreachableAPIServer(t *testing.T) {
	server := refusedURL(t)
	for _, args := range [][]string{{"scan"}, {"node"}, {"recommend", "--from-cluster", "--prometheus-url", server}, {"snapshot", "-o", filepath.Join(t.TempDir(), "snap")}} {
		r := run(append(args, "--server", server, "--request-timeout", "5s")...)
		if r.code == 0 || !strings.Contains(r.stderr, "cannot reach the API server") || !strings.Contains(r.stderr, "connection refused") ||
			!strings.Contains(r.stderr, server) || !strings.Contains(r.stderr, "Check that the cluster is up") {
			t.Errorf("%v: exit %d\n%s", args, r.code, r.stderr)
		}
		// snapshot captures one: reading one offline is no way around.
		if offline := strings.Contains(r.stderr, "snapshot offline with --snapshot"); offline == (args[0] == "snapshot") {
			t.Errorf("%v: the --snapshot advice %v:\n%s", args, offline, r.stderr)
		}
	}
}

// refusedURL is an http URL on loopback where nothing listens: a port
// taken, then let go.
func refusedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return "http://" + ln.Addr().String()
}

// The commands a report suggests carry the flags that chose its cluster.
func TestKubeFlags(t *testing.T) {
	kc, ctx, empty := "/home/me/.kube/prod config", "prod", ""
	flags := &genericclioptions.ConfigFlags{KubeConfig: &kc, Context: &ctx, ClusterName: &empty}
	if got, want := kubeFlags(flags, true), ` --kubeconfig '/home/me/.kube/prod config' --context prod`; got != want {
		t.Errorf("kubeFlags: %q, want %q", got, want)
	}
	if got := kubeFlags(flags, false); got != "" {
		t.Errorf("a snapshot's: %q", got)
	}
	if got := kubeFlags(genericclioptions.NewConfigFlags(false), true); got != "" {
		t.Errorf("no flags given: %q", got)
	}
	if got := shellQuote("it's"); got != `'it'\''s'` {
		t.Errorf("shellQuote: %s", got)
	}
}
