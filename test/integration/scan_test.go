package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/test/scenario"
)

func scanJSON(t *testing.T, args ...string) *model.ScanReport {
	t.Helper()
	r := oomdoctor(t, append([]string{"scan", "-o", "json"}, args...)...)
	if r.code != 0 {
		t.Fatalf("scan failed: %s", r)
	}
	var rep model.ScanReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("scan -o json is not a ScanReport: %v\n%s", err, r.stdout)
	}
	return &rep
}

func keys(rep *model.ScanReport) []string {
	var out []string
	for _, g := range rep.Workloads {
		for _, f := range g.Findings {
			out = append(out, fmt.Sprintf("%s %s %s %s %s", f.Type, f.Namespace, g.Workload, f.Pod, f.Container))
		}
	}
	sort.Strings(out)
	return out
}

func expectedKeys(keep func(scenario.Expected) bool) []string {
	var out []string
	for _, e := range expected {
		if keep == nil || keep(e) {
			out = append(out, fmt.Sprintf("%s %s %s %s %s", e.Type, e.Namespace, e.Workload, e.Pod, e.Container))
		}
	}
	sort.Strings(out)
	return out
}

func sameKeys(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings differ\ngot:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func find(t *testing.T, rep *model.ScanReport, pod, container string) model.Finding {
	t.Helper()
	for _, g := range rep.Workloads {
		for _, f := range g.Findings {
			if f.Pod == pod && f.Container == container {
				return f
			}
		}
	}
	t.Fatalf("no finding for %s/%s", pod, container)
	return model.Finding{}
}

func TestScanFindsEveryKindOfKill(t *testing.T) {
	rep := scanJSON(t, "--kubeconfig", cp.Kubeconfig)
	sameKeys(t, keys(rep), expectedKeys(nil))

	if rep.APIVersion != model.APIVersion || rep.Kind != "ScanReport" {
		t.Errorf("apiVersion/kind = %s/%s", rep.APIVersion, rep.Kind)
	}
	if rep.Metadata.Source.Type != "cluster" || rep.Metadata.Source.Server != cp.URL {
		t.Errorf("source = %+v, want cluster %s", rep.Metadata.Source, cp.URL)
	}
	if rep.Summary.Pods != 16 {
		t.Errorf("summary.pods = %d, want the 16 pods of the scenario", rep.Summary.Pods)
	}
	// Workloads come newest kill first.
	for i := 1; i < len(rep.Workloads); i++ {
		a, b := rep.Workloads[i-1].LastKill, rep.Workloads[i].LastKill
		if a != nil && b != nil && a.Before(*b) {
			t.Errorf("workload %s (%s) listed before the newer %s (%s)", rep.Workloads[i-1].Workload, a, rep.Workloads[i].Workload, b)
		}
	}
	if got := rep.Workloads[0].Workload.String(); got != "Deployment/cart" {
		t.Errorf("newest workload = %s, want Deployment/cart", got)
	}

	cart := find(t, rep, "cart-7c9d8f6b5-x2kqp", "cart")
	if !cart.CrashLoop || cart.Restarts != 14 || *cart.MemoryLimitBytes != 256<<20 || *cart.MemoryRequestBytes != 128<<20 ||
		cart.QOSClass != "Burstable" || cart.Node != "node-a" || cart.ContainerKind != model.RegularContainer || *cart.ExitCode != 137 {
		t.Errorf("cart finding wrong: %+v", cart)
	}
	if !containsAny(cart.Evidence, "kernel log: ", "Killed process 48213 (node)") {
		t.Errorf("node-problem-detector's kill at the same time is not evidence of cart's kill: %q", cart.Evidence)
	}
	if k := find(t, rep, "", ""); k.Type != model.KernelOOMKill && k.Type != model.SystemOOM {
		t.Errorf("node finding type %s", k.Type)
	}
	if f := find(t, rep, "search-5f4b8c7d9-qwj7d", "log-shipper"); f.ContainerKind != model.SidecarContainer {
		t.Errorf("log-shipper kind = %s, want sidecar", f.ContainerKind)
	}
	if f := find(t, rep, "nightly-reconcile-29401560-8mzq4", "fetch-ledger"); f.ContainerKind != model.InitContainer || !strings.Contains(f.Explanation, "init container") {
		t.Errorf("fetch-ledger: kind %s, explanation %q", f.ContainerKind, f.Explanation)
	}
	if f := find(t, rep, "api-debug", "debugger-7xk2q"); f.ContainerKind != model.EphemeralContainer {
		t.Errorf("debugger kind = %s, want ephemeral", f.ContainerKind)
	}
	if f := find(t, rep, "redis-0", "redis"); f.QOSClass != "Guaranteed" {
		t.Errorf("redis QoS = %s", f.QOSClass)
	}
	web := find(t, rep, "web-6d5c9b8f4-h5xlp", "web")
	if web.Type != model.NotOOM || !containsAny(web.Evidence, "liveness probe failed 3 times") || !strings.Contains(web.Explanation, "liveness probe") {
		t.Errorf("web should be not-oom blamed on its liveness probe: %+v", web)
	}
	if f := find(t, rep, "ledger-b7f9d6c48-5tqzn", "ledger"); f.Type != model.Eviction || !strings.Contains(f.Explanation, "87Mi") {
		t.Errorf("ledger eviction: %+v", f)
	}
	if f := find(t, rep, "fluent-bit-bx7k2p", "fluent-bit"); f.MemoryLimitBytes != nil || !strings.Contains(f.Explanation, "no memory limit") {
		t.Errorf("fluent-bit: %+v", f)
	}
}

func containsAny(list []string, subs ...string) bool {
	for _, s := range list {
		all := true
		for _, sub := range subs {
			all = all && strings.Contains(s, sub)
		}
		if all {
			return true
		}
	}
	return false
}

func TestScanNamespaceKeepsNodeEventsOfItsNodes(t *testing.T) {
	// tools runs on node-a only: node-b's SystemOOM and kernel kill are
	// not about it. node-a's kernel kill was cart's, in shop, out of scope:
	// it stays a node finding that says the scan cannot tell.
	nodeAKill := "kernel-oom-kill  Node/node-a  "
	rep := scanJSON(t, "--kubeconfig", cp.Kubeconfig, "-n", "tools")
	want := append(expectedKeys(func(e scenario.Expected) bool { return e.Namespace == "tools" }), nodeAKill)
	sort.Strings(want)
	sameKeys(t, keys(rep), want)
	if rep.Metadata.Scope.AllNamespaces || rep.Metadata.Scope.Namespace != "tools" {
		t.Errorf("scope = %+v", rep.Metadata.Scope)
	}
	if f := find(t, rep, "", ""); !strings.Contains(f.Explanation, "scan without -n") {
		t.Errorf("a kernel kill unexplained within a namespace must say the scan is partial: %q", f.Explanation)
	}
	// monitoring runs on both nodes: node-b's findings come along.
	rep = scanJSON(t, "--kubeconfig", cp.Kubeconfig, "-n", "monitoring")
	want = append(expectedKeys(func(e scenario.Expected) bool { return e.Namespace == "monitoring" || e.Namespace == "" }), nodeAKill)
	sort.Strings(want)
	sameKeys(t, keys(rep), want)
}

func TestScanSelector(t *testing.T) {
	rep := scanJSON(t, "--kubeconfig", cp.Kubeconfig, "-l", "app=cart")
	sameKeys(t, keys(rep), expectedKeys(func(e scenario.Expected) bool { return e.Workload == "Deployment/cart" }))
}

func TestScanSince(t *testing.T) {
	rep := scanJSON(t, "--kubeconfig", cp.Kubeconfig, "--since", "1h")
	for _, g := range rep.Workloads {
		for _, f := range g.Findings {
			if f.LastKill == nil || time.Since(*f.LastKill) > time.Hour+time.Minute {
				t.Errorf("%s %s/%s killed at %v is outside --since 1h", f.Type, f.Pod, f.Container, f.LastKill)
			}
		}
	}
	got := strings.Join(keys(rep), "\n")
	for _, gone := range []string{"StatefulSet/redis", "DaemonSet/fluent-bit", "system-oom", "Pod/schema-migration", "CronJob/nightly-reconcile"} {
		if strings.Contains(got, gone) {
			t.Errorf("%s is older than 1h but reported:\n%s", gone, got)
		}
	}
	if !strings.Contains(got, "Deployment/cart") {
		t.Errorf("cart's kill 3 minutes ago is missing:\n%s", got)
	}
}

func TestScanTable(t *testing.T) {
	r := oomdoctor(t, "scan", "--kubeconfig", cp.Kubeconfig)
	if r.code != 0 {
		t.Fatal(r)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if !strings.HasPrefix(lines[0], "NAMESPACE") || !strings.Contains(lines[0], "LAST KILL") {
		t.Errorf("header: %q", lines[0])
	}
	if len(lines) != len(expected)+1 {
		t.Errorf("%d rows, want %d:\n%s", len(lines)-1, len(expected), r.stdout)
	}
	if !strings.Contains(lines[1], "Deployment/cart") || !strings.Contains(lines[1], "256Mi") {
		t.Errorf("first row should be cart's latest kill: %q", lines[1])
	}
	if !strings.Contains(r.stderr, fmt.Sprintf("%d findings in", len(expected))) {
		t.Errorf("no summary on stderr: %q", r.stderr)
	}
}

// apiRequests reads the API server's own count of LIST requests for a resource.
func apiRequests(t *testing.T, resource string) int {
	t.Helper()
	body, err := cp.Client.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "apiserver_request_total{") && strings.Contains(line, `verb="LIST"`) &&
			strings.Contains(line, `resource="`+resource+`"`) {
			var n float64
			fmt.Sscanf(line[strings.LastIndexByte(line, ' ')+1:], "%g", &n)
			total += int(n)
		}
	}
	return total
}

func TestScanPagesLists(t *testing.T) {
	before := apiRequests(t, "pods")
	paged := scanJSON(t, "--kubeconfig", cp.Kubeconfig, "--chunk-size", "5")
	after := apiRequests(t, "pods")
	// 16 pods in pages of 5: 4 requests.
	if n := after - before; n != 4 {
		t.Errorf("scan made %d pod list requests with --chunk-size 5 for 16 pods, want 4", n)
	}
	sameKeys(t, keys(paged), expectedKeys(nil))
}

func TestScanPermissions(t *testing.T) {
	ctx := context.Background()
	podsOnly, err := cp.User(ctx, "rbac-test", "pods-only", []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list"}},
		{APIGroups: []string{"apps", "batch"}, Resources: []string{"replicasets", "jobs"}, Verbs: []string{"list"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := oomdoctor(t, "scan", "--kubeconfig", podsOnly, "-o", "json")
	if r.code != 0 {
		t.Fatalf("a user who may list pods but not events must still get a report: %s", r)
	}
	if !strings.Contains(r.stderr, `Grant the verb "list" on "events"`) || !strings.Contains(r.stderr, "pods-only") {
		t.Errorf("the warning must name the missing permission and the user: %s", r.stderr)
	}
	var rep model.ScanReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	// events, and the nodes and LimitRanges the diagnosis reads.
	if len(rep.Warnings) != 3 || rep.Warnings[0].Source != "events" || rep.Warnings[1].Source != "nodes" || !strings.Contains(rep.Warnings[1].Message, "request-limit-gap, node-pressure") ||
		rep.Warnings[2].Source != "limitranges" || !strings.Contains(rep.Warnings[2].Message, "the fixes' limits are not kept within the namespaces' LimitRanges") {
		t.Errorf("warnings = %+v", rep.Warnings)
	}
	sameKeys(t, keys(&rep), expectedKeys(func(e scenario.Expected) bool {
		return e.Namespace != "" && e.Pod != "fraud-scorer-6c8d5f7b9-kq2xz"
	}))

	nothing, err := cp.User(ctx, "rbac-test", "no-rights", nil)
	if err != nil {
		t.Fatal(err)
	}
	r = oomdoctor(t, "scan", "--kubeconfig", nothing)
	if r.code != 1 || !strings.Contains(r.stderr, `Grant the verb "list" on "pods"`) || !strings.Contains(r.stderr, cp.URL) {
		t.Errorf("a user who may not list pods must get exit 1 naming the permission and the server: %s", r)
	}
}

func writeKubeconfig(t *testing.T, server string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: %q, insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`, server)
	if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestScanUnreachableServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	r := oomdoctor(t, "scan", "--kubeconfig", writeKubeconfig(t, "https://"+addr))
	if r.code != 1 || !strings.Contains(r.stderr, addr) || !strings.Contains(r.stderr, "cannot reach") {
		t.Errorf("want exit 1 naming %s: %s", addr, r)
	}
}

func TestScanRequestTimeout(t *testing.T) {
	// A server that accepts connections and never answers.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	start := time.Now()
	r := oomdoctor(t, "scan", "--kubeconfig", writeKubeconfig(t, "https://"+l.Addr().String()), "--request-timeout", "1s")
	elapsed := time.Since(start)
	if r.code != 1 || !strings.Contains(r.stderr, l.Addr().String()) {
		t.Errorf("want exit 1 naming the server: %s", r)
	}
	// Behaviour, not speed: the error must come from --request-timeout,
	// not from the 30 s dial timeout or a hang.
	if elapsed > 15*time.Second {
		t.Errorf("scan gave up after %v with --request-timeout 1s", elapsed)
	}
}

func TestScanInvalidKubeconfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "broken-kubeconfig")
	if err := os.WriteFile(path, []byte("apiVersion: v1\nclusters: [this is: not valid\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := oomdoctor(t, "scan", "--kubeconfig", path)
	if r.code != 2 || !strings.Contains(r.stderr, path) {
		t.Errorf("want exit 2 naming %s: %s", path, r)
	}
	r = oomdoctor(t, "scan", "--kubeconfig", filepath.Join(t.TempDir(), "missing"))
	if r.code != 2 || !strings.Contains(r.stderr, "missing") {
		t.Errorf("a kubeconfig that does not exist: want exit 2 naming it: %s", r)
	}
}
