package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/test/promserver"
)

const slice = "../replay/testdata/slice.csv.gz"

func TestReplayTable(t *testing.T) {
	r := run("replay", "--trace", slice)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"train 7d, replay the next 7d", "STRATEGY", "tail", "krr", "vpa", "peak-2x", "10 series read"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	r = run("replay", "--trace", slice, "--rolling", "1w", "--strategies", "tail,krr", "-o", "json")
	var rep struct {
		Mode       string
		Strategies []struct{ Strategy string }
	}
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &rep) != nil || rep.Mode != "rolling" || len(rep.Strategies) != 2 {
		t.Errorf("rolling json: exit %d %s", r.code, r.stdout)
	}
	r = run("replay", "--trace", slice, "--offset", "1w")
	if r.code != 0 || !strings.Contains(r.stdout, "train 7d (each series from 7d after its first sample), replay the next 7d") {
		t.Errorf("offset: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	r = run("replay", "--trace", slice, "--per-series", "--strategies", "krr,peak-2x")
	if r.code != 0 || !strings.Contains(r.stdout, "SERIES") || !strings.Contains(r.stdout, "PEAK-2X") || strings.Count(r.stdout, "rnd-2013-7-") != 10 || !strings.Contains(r.stdout, "Mi OOM") {
		t.Errorf("--per-series table: exit %d\n%s", r.code, r.stdout)
	}
	r = run("replay", "--trace", slice, "--per-series", "--strategies", "krr", "-o", "json")
	var per struct {
		Series []struct {
			Name       string
			Strategies []struct{ LimitBytes int64 }
		}
	}
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &per) != nil || len(per.Series) != 10 || len(per.Series[0].Strategies) != 1 || per.Series[0].Strategies[0].LimitBytes <= 0 {
		t.Errorf("--per-series json: exit %d %s", r.code, r.stdout)
	}
	// The slice's series end before a 30-day replayed window does: said,
	// singular and plural right, and all of them with what to change.
	r = run("replay", "--trace", slice, "--test", "30d", "--strategies", "tail")
	for _, want := range []string{"1 sample above 4x provisioned dropped", "10 series end before the replayed window does: replayed over the part they cover (all of them: a shorter --test, --train or --offset replays whole windows)\n"} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("--test 30d: exit %d, output lacks %q:\n%s", r.code, want, r.stdout)
		}
	}
	r = run("replay", "--trace", slice, "--drop-factor", "0", "--strategies", "tail")
	if want := "10 series read; no sample dropped (drop factor 0); skipped"; r.code != 0 || !strings.Contains(r.stdout, want) {
		t.Errorf("--drop-factor 0: exit %d, output lacks %q:\n%s", r.code, want, r.stdout)
	}
	r = run("replay", "--trace", slice, "--offset", "7d", "-o", "json")
	var off struct{ OffsetSeconds int64 }
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &off) != nil || off.OffsetSeconds != 7*86400 {
		t.Errorf("offset json: exit %d %s", r.code, r.stdout)
	}
}

func TestReplayAndRecommendErrors(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty.csv")
	if err := os.WriteFile(empty, []byte("series,unix_seconds,usage_bytes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	zero := filepath.Join(t.TempDir(), "zero.csv")
	if err := os.WriteFile(zero, []byte("a,100,0\na,86400,0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"replay"}, "--trace FILE"},
		{[]string{"replay", "--trace", slice, "--strategies", "magic"}, `unknown strategy "magic"`},
		{[]string{"replay", "--trace", slice, "--train", "a week"}, `"a week" is not a duration`},
		{[]string{"replay", "--trace", slice, "--rolling", "7d", "--train", "3d"}, "--rolling replaces --train"},
		{[]string{"replay", "--trace", slice, "--rolling", "0d"}, "--rolling 0s: give the period between recommendations, more than 0, like 7d"},
		{[]string{"replay", "--trace", slice, "--offset", "-7d"}, `"-7d" is not a duration`},
		{[]string{"replay", "--trace", slice, "--drop-factor", "-1"}, "the drop factor -1: give 0 (keep every sample) or 1 or more"},
		{[]string{"replay", "--trace", slice, "--drop-factor", "0.5"}, "the drop factor 0.5: give 0"},
		{[]string{"replay", "--snapshot", exampleSnapshot, "--train", "2d", "--test", "1d", "-n", "nowhere"}, "no workload container has usage history in namespace nowhere between 2026-"},
		{[]string{"replay", "--trace", slice, "--offset", "40d"}, "none of the 10 series read covers the replayed windows (0 all zero in training, 10 too short): give shorter --train and --test, or a smaller --offset"},
		{[]string{"replay", "--trace", slice, "--prometheus-url", "http://127.0.0.1:9090"}, "--trace FILE, --prometheus-url URL, --prometheus-service NAMESPACE/NAME|auto or --snapshot DIR (one of them)"},
		{[]string{"replay", "--trace", slice, "-n", "shop"}, "--namespace goes with --prometheus-url or --snapshot, not --trace"},
		{[]string{"replay", "--prometheus-url", "http://127.0.0.1:9090", "--history", "10d"}, "--history 10d is shorter than the replayed windows (14d)"},
		{[]string{"replay", "--prometheus-url", "http://127.0.0.1:9090", "--rolling", "7d", "--offset", "7d", "--history", "2w"}, "shorter than the replayed windows (21d)"},
		{[]string{"replay", "--prometheus-url", "http://127.0.0.1:9090", "--train", "0"}, "--train 0s: give the history each strategy learns from, more than 0"},
		{[]string{"replay", "--trace", "/nonexistent.csv"}, "/nonexistent.csv"},
		{[]string{"recommend"}, "--trace FILE"},
		{[]string{"recommend", "--trace", slice, "--strategy", "x"}, `unknown strategy "x"`},
		{[]string{"recommend", "--trace", slice, "--strategy", "tail:p=2"}, "want tail:p=PROBABILITY:floor=FACTOR"},
		{[]string{"replay", "--trace", slice, "--strategies", "tail:p=1e-3,floor=1"}, `unknown strategy "floor=1"`},
		{[]string{"recommend", "--trace", slice, "-o", "csv"}, `unknown output format "csv"`},
		{[]string{"recommend", "--snapshot", exampleSnapshot, "--step", "7d"}, "--step 7d is coarser than the 6h peaks strategy tail sizes from: give 6h or less (auto: 6h)"},
		{[]string{"fix", "-f", "../../examples/workloads", "--prometheus-url", "http://127.0.0.1:9", "--strategy", "krr", "--step", "1d"}, "--step 1d is coarser than the 6h peaks strategy krr sizes from"},
		{[]string{"recommend", "--trace", slice, "--from-cluster"}, "--from-cluster goes with --prometheus-url, not --trace"},
		{[]string{"recommend", "--snapshot", exampleSnapshot, "--from-cluster"}, "--from-cluster goes with --prometheus-url, instead of --snapshot"},
		{[]string{"replay", "--trace", empty}, "empty.csv: no rows after its first line \"series,unix_seconds,usage_bytes\", read as a header: want CSV rows series,unix_seconds,usage_bytes[,provisioned_bytes]"},
		{[]string{"recommend", "--trace", empty}, "empty.csv: no rows after its first line"},
		{[]string{"replay", "--trace", zero}, "no series read has usage in its training window (1 all zero): nothing to size from"},
		// Prometheus' flags where they would do nothing are errors, not ignored.
		{[]string{"recommend", "--trace", slice, "--history", "28d"}, "--history goes with --prometheus-url or --snapshot, not --trace (a trace is read whole)"},
		{[]string{"replay", "--trace", slice, "--until", "2026-11-01T00:00:00Z"}, "--until goes with --prometheus-url or --snapshot, not --trace"},
		{[]string{"recommend", "--snapshot", "../../examples/snapshot", "--prometheus-token", "x"}, "--prometheus-token goes with --prometheus-url"},
		{[]string{"replay", "--snapshot", "../../examples/snapshot", "--oom-events"}, "--oom-events goes with --prometheus-url"},
		{[]string{"scan", "--snapshot", "../../examples/snapshot", "--prometheus-timeout", "1m"}, "--prometheus-timeout goes with --prometheus-url"},
		{[]string{"explain", "cart-7c9d8f6b5-x2kqp", "-n", "shop", "--snapshot", "../../examples/snapshot", "--prometheus-selector", `cluster="a"`}, "--prometheus-selector goes with --prometheus-url"},
		{[]string{"fix", "-f", "../../examples/snapshot", "--memory-limit", "1Gi", "--prometheus-ca-file", "ca.pem"}, "--prometheus-ca-file goes with --prometheus-url"},
	} {
		r := run(tc.args...)
		if r.code != ExitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, r.code, r.stderr, ExitUsage, tc.want)
		}
	}
}

// recommend's JSON is what fix reads: a series named after a workload's
// container sizes that container in its manifest.
func TestRecommendFeedsFix(t *testing.T) {
	dir := t.TempDir()
	var trace strings.Builder
	trace.WriteString("series,unix_seconds,usage_bytes,provisioned_bytes\n")
	dailySpike(&trace, "shop/Deployment/api/app", 300<<20, 400<<20, 0)
	tracePath := filepath.Join(dir, "usage.csv")
	if err := os.WriteFile(tracePath, []byte(trace.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	r := run("recommend", "--trace", tracePath, "-o", "json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var doc model.Recommendations
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || len(doc.Items) != 1 {
		t.Fatalf("%v %s", err, r.stdout)
	}
	it := doc.Items[0]
	if it.Workload.Namespace != "shop" || it.Workload.Kind != "Deployment" || it.Workload.Name != "api" || it.Container != "app" ||
		*it.MemoryLimitBytes < 440<<20 || *it.MemoryRequestBytes < 300<<20 || len(it.Reasons) == 0 {
		t.Errorf("recommendation %+v limit %d request %d", it, *it.MemoryLimitBytes, *it.MemoryRequestBytes)
	}
	recs, r0 := filepath.Join(dir, "recs.json"), r.stdout
	if err := os.WriteFile(recs, []byte(r.stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	manifestPath := filepath.Join(dir, "api.yaml")
	before := apiDeployment(`            limits:
              memory: 256Mi # too low: OOMKilled
`)
	if err := os.WriteFile(manifestPath, []byte(before), 0o644); err != nil {
		t.Fatal(err)
	}
	r = run("fix", "-f", manifestPath, "--recommendations", recs, "--write")
	if r.code != 0 {
		t.Fatalf("fix: exit %d: %s", r.code, r.stderr)
	}
	out, _ := os.ReadFile(manifestPath)
	if !strings.Contains(string(out), "# too low: OOMKilled") || strings.Contains(string(out), "memory: 256Mi") || !strings.Contains(string(out), "requests:") {
		t.Errorf("fixed manifest:\n%s", out)
	}
	if strings.Contains(r.stderr, "match no container") {
		t.Errorf("the one recommendation matched, yet: %s", r.stderr)
	}
	// A recommendation for a workload the files do not hold (another
	// namespace here) is said, not dropped silently.
	elsewhere := strings.Replace(r0, `"namespace": "shop"`, `"namespace": "prod"`, 1)
	recsElsewhere := filepath.Join(dir, "recs-prod.json")
	if err := os.WriteFile(recsElsewhere, []byte(elsewhere), 0o644); err != nil {
		t.Fatal(err)
	}
	r = run("fix", "-f", manifestPath, "--recommendations", recsElsewhere)
	if r.code != 0 || !strings.Contains(r.stderr, "note: 1 of the 1 recommendations match no container in the files (Deployment prod/api container app): check the files given with -f") || !strings.Contains(r.stderr, "Nothing to change.") {
		t.Errorf("a recommendation for another namespace: exit %d\n%s", r.code, r.stderr)
	}
	// An item without a namespace (written by hand) sizes the workload of
	// its name in any namespace.
	anywhere := strings.Replace(r0, `"namespace": "shop"`, `"namespace": ""`, 1)
	recsAnywhere := filepath.Join(dir, "recs-anywhere.json")
	if err := os.WriteFile(recsAnywhere, []byte(anywhere), 0o644); err != nil {
		t.Fatal(err)
	}
	fresh := filepath.Join(dir, "fresh.yaml")
	if err := os.WriteFile(fresh, []byte(before), 0o644); err != nil {
		t.Fatal(err)
	}
	r = run("fix", "-f", fresh, "--recommendations", recsAnywhere)
	if r.code != 0 || !strings.Contains(r.stderr, "Deployment shop/api container app: memory limit") || strings.Contains(r.stderr, "match no container") {
		t.Errorf("a recommendation without namespace: exit %d\n%s", r.code, r.stderr)
	}
	// -o yaml is the same document: fix reads it too, to the same result.
	r = run("recommend", "--trace", tracePath, "-o", "yaml")
	recsYAML := filepath.Join(dir, "recs.yaml")
	if err := os.WriteFile(recsYAML, []byte(r.stdout), 0o644); err != nil || r.code != 0 || !strings.Contains(r.stdout, "kind: Recommendations") {
		t.Fatalf("yaml: exit %d %v\n%s", r.code, err, r.stdout)
	}
	again := filepath.Join(dir, "again.yaml")
	if err := os.WriteFile(again, []byte(before), 0o644); err != nil {
		t.Fatal(err)
	}
	if r = run("fix", "-f", again, "--recommendations", recsYAML, "--write"); r.code != 0 {
		t.Fatalf("fix from yaml: exit %d: %s", r.code, r.stderr)
	}
	if got, _ := os.ReadFile(again); string(got) != string(out) {
		t.Errorf("fixed from the yaml:\n%s\nfrom the json:\n%s", got, out)
	}
}

// recommend --snapshot: history from the snapshot's series files, specs
// from its pods: the runtime floor and the heap flag that goes with the
// new limit.
func TestRecommendFromSnapshotWithRuntimeFlags(t *testing.T) {
	dir := t.TempDir()
	end := int64(1_790_000_000)
	sim := promserver.Sim{Start: end - 3*86400, End: end, Pods: []promserver.Pod{
		{Namespace: "shop", Name: "billing-5c6d7e8f9-k3l4m", OwnerKind: "ReplicaSet", OwnerName: "billing-5c6d7e8f9", Deployment: "billing",
			Containers: []promserver.Container{{Name: "billing", Request: 512 << 20, Limit: 512 << 20, Usage: func(t, age int64) float64 { return 600 << 20 }}}},
		{Namespace: "shop", Name: "api-0", OwnerKind: "StatefulSet", OwnerName: "api",
			Containers: []promserver.Container{{Name: "api", Request: 64 << 20, Limit: 128 << 20, Usage: func(t, age int64) float64 { return 20 << 20 }}}},
	}}
	if _, err := sim.WriteFile(filepath.Join(dir, "history.om")); err != nil {
		t.Fatal(err)
	}
	pods := `{"apiVersion":"v1","kind":"List","items":[
 {"apiVersion":"v1","kind":"Pod","metadata":{"name":"billing-5c6d7e8f9-k3l4m","namespace":"shop","ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"billing-5c6d7e8f9","uid":"u1","controller":true}]},
  "spec":{"containers":[{"name":"billing","image":"eclipse-temurin:17-jre","env":[{"name":"JAVA_TOOL_OPTIONS","value":"-Xmx480m"}],"resources":{"limits":{"memory":"512Mi"}}}]}},
 {"apiVersion":"v1","kind":"Pod","metadata":{"name":"api-0","namespace":"shop","ownerReferences":[{"apiVersion":"apps/v1","kind":"StatefulSet","name":"api","uid":"u2","controller":true}]},
  "spec":{"containers":[{"name":"api","image":"example/api:1","env":[{"name":"GOGC","value":"100"}],"resources":{"limits":{"memory":"128Mi"}}}]}},
 {"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"billing-5c6d7e8f9","namespace":"shop","ownerReferences":[{"apiVersion":"apps/v1","kind":"Deployment","name":"billing","uid":"u3","controller":true}]}}
]}`
	if err := os.WriteFile(filepath.Join(dir, "pods.json"), []byte(pods), 0o644); err != nil {
		t.Fatal(err)
	}
	r := run("recommend", "--snapshot", dir, "--history", "3d", "--until", "2026-09-21T13:33:20Z", "-o", "json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var doc model.Recommendations
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	by := map[string]model.Recommendation{}
	for _, it := range doc.Items {
		by[it.Workload.Kind+"/"+it.Workload.Name] = it
	}
	b, g := by["Deployment/billing"], by["StatefulSet/api"]
	if b.Runtime != "jvm" || len(b.RuntimeFlags) != 1 || !strings.HasPrefix(b.RuntimeFlags[0], "-Xmx") || *b.MemoryLimitBytes <= 512<<20 {
		t.Errorf("billing: %+v", b)
	}
	if g.Runtime != "go" || len(g.RuntimeFlags) != 1 || !strings.HasPrefix(g.RuntimeFlags[0], "GOMEMLIMIT=") {
		t.Errorf("api: %+v", g)
	}
	if len(doc.Notes) != 1 || doc.Notes[0] != "the snapshot has no nodes with allocatable memory: limits are not checked against it" {
		t.Errorf("notes of a snapshot without nodes: %q", doc.Notes)
	}
	// -o wide: the runtime, its flags and every reason, where the table
	// shows how the limit was made.
	args := []string{"recommend", "--snapshot", dir, "--history", "3d", "--until", "2026-09-21T13:33:20Z"}
	table, wide := run(args...), run(append(args, "-o", "wide")...)
	billingRow := regexp.MustCompile(`(?m)^shop/Deployment/billing +billing +1 +\d+ +\S+ +512Mi -> \d+Mi +jvm +-Xmx\d+m +limit: .*; request: `)
	if table.code != 0 || wide.code != 0 || !strings.Contains(wide.stdout, " RUNTIME  RUNTIME FLAGS ") || !billingRow.MatchString(wide.stdout) ||
		strings.Contains(table.stdout, "RUNTIME  ") || strings.Contains(table.stdout, "request: ") {
		t.Errorf("table:\n%s\nwide:\n%s", table.stdout, wide.stdout)
	}
	// With its nodes, no limit goes above the largest one's allocatable
	// memory: billing needs more than 512Mi, and says so.
	nodes := `{"apiVersion":"v1","kind":"List","items":[
 {"apiVersion":"v1","kind":"Node","metadata":{"name":"small"},"status":{"allocatable":{"memory":"256Mi"}}},
 {"apiVersion":"v1","kind":"Node","metadata":{"name":"big"},"status":{"allocatable":{"memory":"512Mi"}}}]}`
	if err := os.WriteFile(filepath.Join(dir, "nodes.json"), []byte(nodes), 0o644); err != nil {
		t.Fatal(err)
	}
	r = run("recommend", "--snapshot", dir, "--history", "3d", "--until", "2026-09-21T13:33:20Z", "-o", "json")
	doc = model.Recommendations{}
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &doc) != nil {
		t.Fatalf("with nodes: exit %d: %s", r.code, r.stderr)
	}
	for _, it := range doc.Items {
		if it.Workload.Name != "billing" {
			continue
		}
		if *it.MemoryLimitBytes != 512<<20 || len(it.Warnings) != 1 || !strings.HasPrefix(it.Warnings[0], "capped the limit at 512Mi, the largest node's allocatable memory 512Mi (it needs ") {
			t.Errorf("billing on nodes of at most 512Mi: limit %d, warnings %q", *it.MemoryLimitBytes, it.Warnings)
		}
	}
	if len(doc.Notes) != 0 {
		t.Errorf("notes with the nodes: %q", doc.Notes)
	}
	r = run("recommend", "--snapshot", dir, "--history", "3d", "--until", "2026-09-21T13:33:20Z", "-n", "shop", "deploy/nope")
	if r.code != ExitUsage || !strings.Contains(r.stderr, "no history for Deployment/nope in namespace shop between 2026-09-18T13:33:20Z and 2026-09-21T13:33:20Z: check the name") {
		t.Errorf("a workload the snapshot has no history of: exit %d %s", r.code, r.stderr)
	}
	r = run("recommend", "--snapshot", dir, "--history", "3d", "--until", "2026-09-21T13:33:20Z", "-n", "nowhere")
	if r.code != 0 || !strings.Contains(r.stderr, "note: no container of namespace nowhere has usage history between 2026-09-18T13:33:20Z and 2026-09-21T13:33:20Z: check the namespace") {
		t.Errorf("a namespace the snapshot has no history of: exit %d %s", r.code, r.stderr)
	}
	bare := t.TempDir()
	os.WriteFile(filepath.Join(bare, "pods.json"), []byte(pods), 0o644)
	r = run("recommend", "--snapshot", bare)
	if r.code != 2 || !strings.Contains(r.stderr, "series files") {
		t.Errorf("a snapshot without series: %d %s", r.code, r.stderr)
	}
}

// A kill only the pod's status shows (kube-state-metrics missed the
// restart) is still a kill: the demand was above 128Mi then, so the limit
// goes above it, where the usage alone (20Mi) would give a small one.
func TestRecommendTakesKillsFromPodStatus(t *testing.T) {
	end := int64(1_790_000_000)
	sim := promserver.Sim{Start: end - 3*86400, End: end, Pods: []promserver.Pod{
		{Namespace: "shop", Name: "api-0", OwnerKind: "StatefulSet", OwnerName: "api",
			Containers: []promserver.Container{{Name: "api", Request: 64 << 20, Limit: 128 << 20, Usage: func(t, age int64) float64 { return 20 << 20 }}}},
	}}
	limit := func(status string) (int64, model.Recommendation) {
		dir := t.TempDir()
		if _, err := sim.WriteFile(filepath.Join(dir, "history.om")); err != nil {
			t.Fatal(err)
		}
		pod := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"api-0","namespace":"shop","ownerReferences":[{"apiVersion":"apps/v1","kind":"StatefulSet","name":"api","uid":"u2","controller":true}]},
  "spec":{"containers":[{"name":"api","image":"example/api:1","resources":{"limits":{"memory":"128Mi"}}}]}` + status + `}`
		if err := os.WriteFile(filepath.Join(dir, "pods.json"), []byte(pod), 0o644); err != nil {
			t.Fatal(err)
		}
		r := run("recommend", "--snapshot", dir, "--history", "3d", "--until", "2026-09-21T13:33:20Z", "-o", "json")
		var doc model.Recommendations
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &doc) != nil || len(doc.Items) != 1 {
			t.Fatalf("exit %d: %s %s", r.code, r.stdout, r.stderr)
		}
		return *doc.Items[0].MemoryLimitBytes, doc.Items[0]
	}
	quiet, _ := limit("")
	killedAt := time.Unix(end-3600, 0).UTC().Format(time.RFC3339)
	killed, rec := limit(`,"status":{"containerStatuses":[{"name":"api","restartCount":1,"ready":true,"image":"example/api:1","imageID":"","state":{"running":{}},
  "lastState":{"terminated":{"reason":"OOMKilled","exitCode":137,"finishedAt":"` + killedAt + `"}}}]}`)
	if quiet >= 64<<20 || killed <= 128<<20 || rec.OOMKills != 1 || !strings.Contains(strings.Join(rec.Reasons, "\n"), "1 OOM kill from the pods' status") {
		t.Errorf("limit without the kill %d, with it %d (want above 128Mi); %+v", quiet, killed, rec)
	}
}

// A trace's provisioned_bytes is the current limit: the table shows the
// change, a recommendation within --min-change keeps it (not with
// --min-change 0), and a mostly idle series still gets the floor as its
// request.
// Series all zero are named in a note, not dropped in silence.
func TestRecommendTraceAllZero(t *testing.T) {
	dir := t.TempDir()
	var trace strings.Builder
	for i := range 7 {
		fmt.Fprintf(&trace, "z%d,100,0\nz%d,86400,0\n", i, i)
	}
	trace.WriteString("busy,100,104857600\n")
	p := filepath.Join(dir, "zero.csv")
	if err := os.WriteFile(p, []byte(trace.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	r := run("recommend", "--trace", p)
	want := "note: 7 series are all zero, nothing to size from: z0, z1, z2, z3, z4 and 2 more\n"
	if r.code != 0 || !strings.Contains(r.stderr, want) || !strings.Contains(r.stdout, "Series/busy") || strings.Contains(r.stdout, "z0") {
		t.Errorf("exit %d, want busy sized and the note %q:\n%s%s", r.code, want, r.stdout, r.stderr)
	}
	os.WriteFile(p, []byte("z,100,0\n"), 0o644)
	if r := run("recommend", "--trace", p); r.code != 0 || !strings.Contains(r.stderr, "note: 1 series is all zero, nothing to size from: z\n") {
		t.Errorf("one series: exit %d\n%s", r.code, r.stderr)
	}
}

func TestRecommendTraceCurrentLimit(t *testing.T) {
	var trace strings.Builder
	trace.WriteString("series,unix_seconds,usage_bytes,provisioned_bytes\n")
	dailySpike(&trace, "shop/Deployment/api/app", 300<<20, 400<<20, 2<<30)
	dailySpike(&trace, "shop/Deployment/batch/job", 0, 50<<20, 0)
	path := filepath.Join(t.TempDir(), "usage.csv")
	if err := os.WriteFile(path, []byte(trace.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	r := run("recommend", "--trace", path, "-o", "json")
	var doc model.Recommendations
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &doc) != nil || len(doc.Items) != 2 {
		t.Fatalf("exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	byName := map[string]model.Recommendation{}
	for _, it := range doc.Items {
		byName[it.Workload.Name] = it
	}
	api, batch := byName["api"], byName["batch"]
	if api.CurrentLimitBytes == nil || *api.CurrentLimitBytes != 2<<30 || *api.MemoryLimitBytes >= 2<<30 {
		t.Errorf("api: current %v, limit %d; want current 2Gi and a lower limit", api.CurrentLimitBytes, *api.MemoryLimitBytes)
	}
	// Its median peak is 0: the request is raised to the floor 4Mi, then
	// to a quarter of the limit 76Mi (50Mi x 1.5, rounded).
	if batch.CurrentLimitBytes != nil || *batch.MemoryLimitBytes != 76<<20 || *batch.MemoryRequestBytes != 20<<20 ||
		!slices.ContainsFunc(batch.Reasons, func(s string) bool { return strings.HasPrefix(s, "raised the request from 0Mi to the floor 4Mi") }) ||
		!slices.ContainsFunc(batch.Reasons, func(s string) bool {
			return strings.HasPrefix(s, "raised the request from 4Mi to 20Mi, the limit 76Mi / 4: ")
		}) {
		t.Errorf("idle batch: current %v, request %d, reasons %q", batch.CurrentLimitBytes, *batch.MemoryRequestBytes, batch.Reasons)
	}
	for _, bad := range []string{"0.5", "-1", "NaN"} {
		if r := run("recommend", "--trace", path, "--max-limit-request-ratio", bad); r.code != 2 || !strings.Contains(r.stderr, "give 1 or more") {
			t.Errorf("--max-limit-request-ratio %s: exit %d %s", bad, r.code, r.stderr)
		}
	}
	// Any ratio: the floor alone.
	r = run("recommend", "--trace", path, "-o", "json", "--max-limit-request-ratio", "0")
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || r.code != 0 {
		t.Fatalf("exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	for _, it := range doc.Items {
		if it.Workload.Name == "batch" && *it.MemoryRequestBytes != 4<<20 {
			t.Errorf("--max-limit-request-ratio 0: request %d, want the floor 4Mi", *it.MemoryRequestBytes)
		}
	}
	r = run("recommend", "--trace", path)
	if r.code != 0 || !strings.Contains(r.stdout, "2Gi -> ") {
		t.Errorf("table: exit %d\n%s", r.code, r.stdout)
	}
	// A current limit just above the recommendation is kept.
	rec := *api.MemoryLimitBytes
	kept := strings.ReplaceAll(trace.String(), fmt.Sprintf(",%d\n", 2<<30), fmt.Sprintf(",%d\n", rec+rec/20))
	if err := os.WriteFile(path, []byte(kept), 0o644); err != nil {
		t.Fatal(err)
	}
	for band, want := range map[string]int64{"10%": rec + rec/20, "0": rec} {
		r = run("recommend", "--trace", path, "--min-change", band, "-o", "json")
		doc = model.Recommendations{}
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &doc) != nil {
			t.Fatalf("--min-change %s: exit %d %s", band, r.code, r.stderr)
		}
		for _, it := range doc.Items {
			if it.Workload.Name == "api" && *it.MemoryLimitBytes != want {
				t.Errorf("--min-change %s: limit %d, want %d", band, *it.MemoryLimitBytes, want)
			}
		}
	}
}

// dailySpike writes 14 days of a series to a trace at 5-minute steps: base,
// and spike once a day.
func dailySpike(b *strings.Builder, name string, base, spike, provisioned int64) {
	for i := int64(0); i < 14*288; i++ {
		u := base
		if i%288 == 100 {
			u = spike
		}
		fmt.Fprintf(b, "%s,%d,%d,%d\n", name, 1_700_000_000+i*300, u, provisioned)
	}
}

// replay --snapshot: the bundled example's three days (train 2d, replay
// 1d), one series per workload container named after it, the kills of
// kube-state-metrics' series in the files counted, and one namespace with
// -n.
func TestReplaySnapshot(t *testing.T) {
	r := run("replay", "--snapshot", exampleSnapshot, "--train", "2d", "--test", "1d", "--per-series", "-o", "json")
	var rep struct {
		SeriesRead, KilledSeries int
		Series                   []struct {
			Name          string
			KilledForReal bool
		}
	}
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &rep) != nil {
		t.Fatalf("exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	killed := map[string]bool{}
	for _, s := range rep.Series {
		killed[s.Name] = s.KilledForReal
	}
	if rep.SeriesRead != 7 || len(rep.Series) != 7 || !killed["shop/Deployment/cart/cart"] || killed["shop/Deployment/cart/envoy"] || rep.KilledSeries == 0 {
		t.Errorf("want the 7 workload containers, cart's killed and envoy not: %s", r.stdout)
	}
	r = run("replay", "--snapshot", exampleSnapshot, "--train", "2d", "--test", "1d", "-n", "shop")
	if r.code != 0 || !strings.Contains(r.stdout, "4 series read") {
		t.Errorf("-n shop: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	r = run("replay", "--snapshot", exampleSnapshot)
	if r.code != ExitUsage || !strings.Contains(r.stderr, "none of the 7 series read covers the replayed windows") {
		t.Errorf("default windows over three days: exit %d %s", r.code, r.stderr)
	}
}

// What recommend writes, lint passes: a container at 100Mi with a daily
// spike to 1Gi gets a limit far above its median peak, and its request
// is raised to a quarter of the limit, so that fix writes a manifest
// lint's memory-request-far-below-limit passes. Without the ratio
// (--max-limit-request-ratio 0) lint flags the same manifest.
func TestRecommendPassesLint(t *testing.T) {
	dir := t.TempDir()
	var trace strings.Builder
	trace.WriteString("series,unix_seconds,usage_bytes\n")
	dailySpike(&trace, "shop/Deployment/api/app", 100<<20, 1<<30, 0)
	tracePath := filepath.Join(dir, "usage.csv")
	if err := os.WriteFile(tracePath, []byte(trace.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	manifest := apiDeployment(`            requests:
              memory: 100Mi
            limits:
              memory: 256Mi
`)
	for _, tc := range []struct {
		ratio   string
		flagged bool
	}{{"4", false}, {"0", true}} {
		r := run("recommend", "--trace", tracePath, "-o", "json", "--max-limit-request-ratio", tc.ratio)
		var doc model.Recommendations
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &doc) != nil || len(doc.Items) != 1 {
			t.Fatalf("ratio %s: exit %d: %s %s", tc.ratio, r.code, r.stdout, r.stderr)
		}
		req, lim := *doc.Items[0].MemoryRequestBytes, *doc.Items[0].MemoryLimitBytes
		if (lim > 4*req) != tc.flagged {
			t.Errorf("ratio %s: request %dMi, limit %dMi", tc.ratio, req>>20, lim>>20)
		}
		recs, path := filepath.Join(dir, "recs-"+tc.ratio+".json"), filepath.Join(dir, "api-"+tc.ratio+".yaml")
		if err := os.WriteFile(recs, []byte(r.stdout), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(manifest), 0o644); err != nil {
			t.Fatal(err)
		}
		if r := run("fix", "-f", path, "--recommendations", recs, "--write"); r.code != 0 {
			t.Fatalf("fix: exit %d: %s", r.code, r.stderr)
		}
		l := run("lint", "-f", path, "-o", "json")
		if got := strings.Contains(l.stdout, `"memory-request-far-below-limit"`); got != tc.flagged {
			t.Errorf("ratio %s: lint flags memory-request-far-below-limit: %v, want %v\n%s", tc.ratio, got, tc.flagged, l.stdout)
		}
	}
}

// apiDeployment is shop/Deployment/api with one container, app, and
// resources (indented under it).
func apiDeployment(resources string) string {
	return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: shop
spec:
  template:
    spec:
      containers:
        - name: app
          image: app:1
          resources:
` + resources
}

// In the bundled example, cart's working set climbs to its limit in every
// lifetime (a leak): its recommendation warns, the others killed at a flat
// level (log-shipper, the migration) do not, but for redis, whose limit
// page cache fills (TestLeakCheckOff); fix prints the warning of a
// recommendation it writes.
func TestRecommendWarnsOfLeaks(t *testing.T) {
	r := run("recommend", "--snapshot", "../../examples/snapshot", "-o", "json")
	var doc model.Recommendations
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &doc) != nil {
		t.Fatalf("exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	leak := regexp.MustCompile(`^the working set grows 18\.0Mi/h in each lifetime, a leak or an unbounded cache \(18 of 18 lifetimes, 2 of 2 pods; oomdoctor explain cart-7c9d8f6b5-\w+ -n shop --snapshot \.\./\.\./examples/snapshot\): a higher limit only spaces the kills out; from 111Mi at a restart it fills 384Mi in about 15\.2h \(256Mi now: 8\.1h\)$`)
	killed := 0
	for _, it := range doc.Items {
		if it.OOMKills > 0 {
			killed++
		}
		if it.Container == "cart" {
			if len(it.Warnings) != 1 || !leak.MatchString(it.Warnings[0]) || !slices.Contains(it.Reasons, it.Warnings[0]) {
				t.Errorf("cart's warnings %q, want one matching %s, in the reasons too", it.Warnings, leak)
			}
		} else if it.Container == "redis" {
			if len(it.Warnings) != 1 || !strings.HasPrefix(it.Warnings[0], "page cache, not the processes' memory, filled the limit") {
				t.Errorf("redis' warnings %q, want the page cache's alone", it.Warnings)
			}
		} else if len(it.Warnings) > 0 {
			t.Errorf("%s/%s: warnings %q, want none", it.Workload.Name, it.Container, it.Warnings)
		}
	}
	if killed < 4 {
		t.Fatalf("want cart, log-shipper, redis and the migration killed: %+v", doc.Items)
	}
	// The table says it once, as a warning; wide too, with every reason.
	for _, o := range []string{"table", "wide"} {
		r := run("recommend", "--snapshot", "../../examples/snapshot", "-o", o)
		if n := strings.Count(r.stdout, "the working set grows 18.0Mi/h"); r.code != 0 || n != 1 || !strings.Contains(r.stdout, "WARNING: the working set grows") {
			t.Errorf("-o %s: exit %d, the leak said %d times, want once as a WARNING:\n%s", o, r.code, n, r.stdout)
		}
	}
	dir := t.TempDir()
	recs := filepath.Join(dir, "recs.json")
	cart := filepath.Join(dir, "cart.yaml")
	if err := os.WriteFile(recs, []byte(r.stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	manifest := strings.NewReplacer("name: api", "name: cart", "- name: app", "- name: cart").Replace(apiDeployment(`            limits:
              memory: 256Mi
`))
	if err := os.WriteFile(cart, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	r = run("fix", "-f", cart, "--recommendations", recs, "--write")
	if r.code != 0 || !regexp.MustCompile(`(?m)^warning: Deployment shop/cart container cart: the working set grows 18\.0Mi/h in each lifetime`).MatchString(r.stderr) || strings.Count(r.stderr, "warning:") != 1 {
		t.Errorf("fix: exit %d, want cart's warning once:\n%s", r.code, r.stderr)
	}
}

// tail's risk and floor are settings: replay compares them by name, and
// a higher risk never has fewer OOM series or more slack on the slice.
func TestReplayTailSettings(t *testing.T) {
	r := run("replay", "--trace", slice, "--strategies", "tail,tail:p=0.1:floor=1", "-o", "json")
	if r.code != 0 {
		t.Fatalf("replay: %s", r.stderr)
	}
	var rep struct {
		Strategies []struct {
			Strategy string  `json:"strategy"`
			OOM      int     `json:"oomSeries"`
			Slack    float64 `json:"meanRelativeSlack"`
		} `json:"strategies"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Strategies) != 2 || rep.Strategies[1].Strategy != "tail:p=0.1:floor=1" {
		t.Fatalf("rows %+v", rep.Strategies)
	}
	def, risky := rep.Strategies[0], rep.Strategies[1]
	if risky.Slack >= def.Slack || risky.OOM < def.OOM {
		t.Errorf("tail %+v, tail:p=0.1:floor=1 %+v: the riskier setting should leave less slack and no fewer OOM series", def, risky)
	}
}

// -l picks the workloads of the pods whose labels match (all their
// replicas), or with --per-pod the pods; it needs the pods' labels.
func TestRecommendSelector(t *testing.T) {
	rows := func(args ...string) []string {
		t.Helper()
		r := run(append([]string{"recommend", "--snapshot", exampleSnapshot, "--leak-check=false", "-o", "json"}, args...)...)
		var doc model.Recommendations
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &doc) != nil {
			t.Fatalf("%q: exit %d %s", args, r.code, r.stderr)
		}
		var out []string
		for _, x := range doc.Items {
			out = append(out, x.Workload.Kind+"/"+x.Workload.Name+"/"+x.Container)
		}
		return out
	}
	if got, want := rows("-l", "app=cart"), []string{"Deployment/cart/cart", "Deployment/cart/envoy"}; !slices.Equal(got, want) {
		t.Errorf("-l app=cart: %q, want %q", got, want)
	}
	got := rows("-l", "app in (cart,redis)", "--per-pod")
	if len(got) != 6 || !slices.Contains(got, "Pod/redis-1/redis") || slices.ContainsFunc(got, func(s string) bool { return !strings.Contains(s, "cart") && !strings.Contains(s, "redis") }) {
		t.Errorf("-l 'app in (cart,redis)' --per-pod: %q, want the two cart pods' two containers and the two redis pods", got)
	}
	if all, none := rows(), rows("-l", "app!=nothing"); !slices.Equal(all, none) {
		t.Errorf("-l app!=nothing: %q, without -l %q", none, all)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--snapshot", exampleSnapshot, "-l", "app=nope"}, "no pod in any namespace matches -l app=nope"},
		{[]string{"--snapshot", exampleSnapshot, "-n", "payments", "-l", "app=cart"}, "no pod in namespace payments matches -l app=cart"},
		{[]string{"--snapshot", exampleSnapshot, "-l", "a=("}, `invalid --selector "a=("`},
		{[]string{"--prometheus-url", "http://127.0.0.1:9", "-l", "app=cart"}, "-l selects pods by their labels, which Prometheus does not hold: give --from-cluster (or --snapshot)"},
		{[]string{"--trace", slice, "-l", "app=cart"}, "-n, -l, TYPE/NAME and --per-pod go with --prometheus-url or --snapshot, not --trace"},
	} {
		if r := run(append([]string{"recommend"}, tc.args...)...); r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%q: exit %d %q, want 2 and %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}

// A Prometheus that cannot be reached is an error, never an empty table:
// with the pods' specs from a snapshot and -l too.
func TestRecommendUnreachablePrometheus(t *testing.T) {
	url := refusedURL(t)
	for _, args := range [][]string{
		{"recommend", "--prometheus-url", url},
		{"recommend", "--prometheus-url", url, "--snapshot", exampleSnapshot, "-l", "app=cart"},
	} {
		r := run(args...)
		if r.code != 1 || !strings.Contains(r.stderr, "cannot reach Prometheus at "+url) || r.stdout != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 1 and the error", args, r.code, r.stdout, r.stderr)
		}
	}
}
