//go:build linux

package agent

import (
	"context"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"

	"github.com/oomdoctor/oomdoctor/internal/cgroup"
	"github.com/oomdoctor/oomdoctor/internal/kmsg"
)

// A cgroup v2 tree of the systemd driver, as files in a temporary folder:
// the machine has no v2 memory controller, and the code under test only
// reads files and watches them with inotify, which works on any folder.
type fixture struct {
	t   *testing.T
	dir string
}

const sysUID = "5f8c2a1e-3b4d-4e6f-8a9b-0c1d2e3f4a5b"

func sysPodDir(uid string) string {
	return "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + strings.ReplaceAll(uid, "-", "_") + ".slice"
}

// container makes a container cgroup atomically (a rename into place, as
// the kernel makes a cgroup with its files at once).
func (f *fixture) container(uid, id string, oom, kills int) string {
	f.t.Helper()
	rel := filepath.Join(sysPodDir(uid), "cri-containerd-"+id+".scope")
	stage := filepath.Join(f.dir, ".stage-"+id)
	if err := os.MkdirAll(stage, 0o755); err != nil {
		f.t.Fatal(err)
	}
	f.write(filepath.Join(stage, "memory.events"), oom, kills)
	if err := os.WriteFile(filepath.Join(stage, "cgroup.procs"), nil, 0o644); err != nil {
		f.t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(f.dir, sysPodDir(uid)), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.Rename(stage, filepath.Join(f.dir, rel)); err != nil {
		f.t.Fatal(err)
	}
	return "/" + rel
}

func (f *fixture) write(path string, oom, kills int) {
	f.t.Helper()
	data := []byte("low 0\nhigh 0\nmax 12\noom " + itoa(oom) + "\noom_kill " + itoa(kills) + "\noom_group_kill 0\n")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) events(rel string, oom, kills int) {
	f.write(filepath.Join(f.dir, rel, "memory.events"), oom, kills)
}

func itoa(n int) string { return strconv.Itoa(n) }

// runFixture runs the agent until the test ends and returns when it is
// ready; the context ends with the test.
func runFixture(t *testing.T, a *Agent) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = a.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	for !a.Ready() {
		time.Sleep(time.Millisecond)
	}
	return ctx
}

func TestCgroupV2SystemdFixture(t *testing.T) {
	f := &fixture{t: t, dir: t.TempDir()}
	id1 := strings.Repeat("a", 64)
	id2 := strings.Repeat("b", 64)
	c1 := f.container(sysUID, id1, 1, 2) // two kills from before the agent

	kills := make(chan *Kill, 10)
	m := NewMetrics()
	pods := StaticPods{sysUID: {Namespace: "shop", Name: "api-7d9", UID: sysUID, Containers: map[string]string{id1: "api", id2: "sidecar"}}}
	reports := make(chan *kmsg.Report)
	a, err := New(Config{Node: "node-v2", Hierarchy: cgroup.Hierarchy{Version: cgroup.V2, Dir: f.dir}, Pods: pods, Reports: reports,
		Sinks: []Sink{m, SinkFunc(func(k *Kill) { kills <- k })}, MatchWait: 50 * time.Millisecond, ResolveWait: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	m.Watch(a)
	ctx := runFixture(t, a)
	if a.Watching() != 1 {
		t.Fatalf("watching %d", a.Watching())
	}

	// The container's own OOM (oom and oom_kill move together), counted
	// without a kernel report: it waits MatchWait, then is told.
	f.events(c1, 2, 3)
	k := waitKill(t, kills)
	if k.Pod != "api-7d9" || k.Container != "api" || k.Scope != "container" || k.MainProcess != "unknown" || !k.FromCounter || k.FromKernelLog {
		t.Errorf("kill %+v", k)
	}

	// A kernel report arriving after its counter moved: told once, with
	// the victim and the scope from the report.
	f.events(c1, 2, 4)
	reports <- &kmsg.Report{Scope: kmsg.ScopeCgroup, OOMMemcg: "/" + sysPodDir(sysUID), TaskMemcg: c1, Limit: 512 << 20, Usage: 512 << 20,
		Victim: kmsg.Victim{PID: 4242, Name: "java", AnonRSS: 400 << 20}, Stats: map[string]int64{"anon": 480 << 20, "file": 20 << 20, "shmem": 0}}
	k = waitKill(t, kills)
	if k.Scope != "pod" || k.VictimName != "java" || !k.FromKernelLog || !k.FromCounter || k.AnonBytes != 480<<20 {
		t.Errorf("kill %+v", k)
	}
	noMoreKills(t, kills)

	// A new container appears (picked up by inotify), then is killed.
	c2 := f.container(sysUID, id2, 0, 0)
	deadline := time.Now().Add(2 * time.Second)
	for a.Watching() != 2 {
		if time.Now().After(deadline) {
			t.Fatal("the new container was not picked up")
		}
		time.Sleep(5 * time.Millisecond)
	}
	f.events(c2, 1, 1)
	k = waitKill(t, kills)
	if k.Container != "sidecar" {
		t.Errorf("kill %+v", k)
	}

	// Metrics: the counter by labels, promlint-clean, served over HTTP.
	if got := testutil.ToFloat64(m.kills.WithLabelValues("node-v2", "shop", "api-7d9", "api", "container", "unknown")); got != 1 {
		t.Errorf("container-scope kills of api: %v", got)
	}
	// No process is left in the fixture's cgroup: the main process is gone.
	if got := testutil.ToFloat64(m.kills.WithLabelValues("node-v2", "shop", "api-7d9", "api", "pod", "true")); got != 1 {
		t.Errorf("pod-scope kills of api: %v", got)
	}
	problems, err := promlint.NewWithMetricFamilies(mustGather(t, m)).Lint()
	if err != nil || len(problems) > 0 {
		t.Errorf("promlint: %v %v", problems, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = Serve(ctx, ln, m, func() error { return nil }) }()
	body := get(t, "http://"+ln.Addr().String()+"/metrics")
	if !strings.Contains(body, `oomdoctor_oom_kills_total{container="sidecar",main_process="unknown",namespace="shop",node="node-v2",pod="api-7d9",scope="container"} 1`) ||
		!strings.Contains(body, `oomdoctor_agent_watched_cgroups{node="node-v2"} 2`) || !strings.Contains(body, `oomdoctor_agent_notified_cgroups{node="node-v2"} 2`) {
		t.Errorf("/metrics:\n%s", body)
	}
	// The time of that kill, beside the counter born at 1.
	last := regexp.MustCompile(`(?m)^oomdoctor_oom_last_kill_timestamp_seconds\{container="sidecar",main_process="unknown",namespace="shop",node="node-v2",pod="api-7d9",scope="container"\} (\S+)$`).FindStringSubmatch(body)
	if last == nil {
		t.Errorf("/metrics lacks the last kill's time:\n%s", body)
	} else if at, err := strconv.ParseFloat(last[1], 64); err != nil || math.Abs(at-float64(time.Now().Unix())) > 60 {
		t.Errorf("last kill at %s, want about now (%d)", last[1], time.Now().Unix())
	}
	if get(t, "http://"+ln.Addr().String()+"/readyz") != "ok\n" || get(t, "http://"+ln.Addr().String()+"/healthz") != "ok\n" {
		t.Error("probes")
	}

	// The pod goes away: its cgroups are let go, its series dropped later.
	if err := os.RemoveAll(filepath.Join(f.dir, sysPodDir(sysUID))); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(2 * time.Second)
	for a.Watching() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("still watching %d", a.Watching())
		}
		time.Sleep(5 * time.Millisecond)
	}
	m.Forget(sysUID, 0)
	time.Sleep(50 * time.Millisecond)
	if n := testutil.CollectAndCount(m.kills) + testutil.CollectAndCount(m.lastKill); n != 0 {
		t.Errorf("%d series left after the pod was forgotten", n)
	}
}

func mustGather(t *testing.T, m *Metrics) []*dto.MetricFamily {
	t.Helper()
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// Reports past the kernel's rate limit name only the victim. One whose
// victim /proc shows in a cgroup outside the kubelet's tree (a host
// service's) is not a pod's kill: it must not lend its victim to the
// container's count, whether it comes before the count or after; one
// whose victim /proc shows in the container is that container's.
func TestForeignShortReportIsNotAPodsKill(t *testing.T) {
	f, c, kills, reports := shortReportsFixture(t, "d", map[int]string{777: "/system.slice/backup.service", 778: ""})

	// The foreign report first, then the container's count.
	reports <- short(777, "backup")
	time.Sleep(50 * time.Millisecond)
	f.events(c, 1, 1)
	if k := waitKill(t, kills); k.Container != "api" || k.VictimName == "backup" || k.FromKernelLog {
		t.Errorf("count after a foreign report: %+v", k)
	}
	// The count first, then the foreign report.
	f.events(c, 2, 2)
	time.Sleep(50 * time.Millisecond)
	reports <- short(777, "backup")
	if k := waitKill(t, kills); k.Container != "api" || k.VictimName == "backup" || k.FromKernelLog {
		t.Errorf("count before a foreign report: %+v", k)
	}
	// The container's own victim, its report short too: matched.
	f.events(c, 3, 3)
	time.Sleep(50 * time.Millisecond)
	reports <- short(778, "worker")
	if k := waitKill(t, kills); k.Container != "api" || k.VictimName != "worker" || !k.FromKernelLog {
		t.Errorf("the container's own short report: %+v", k)
	}
	noMoreKills(t, kills)
}

// Beside a host service killed again and again, reports cut short name
// victims whose processes are gone. The agent places such a report by the
// order of kills only after the pod's own report had its chance, and, once
// kills outside the watched cgroups were seen, only when a process of the
// victim's name was seen in the cgroup.
func TestShortReportsBesideAnotherCgroupsKills(t *testing.T) {
	// 778, the pod's worker, still shows its cgroup; the host's victims
	// (900-902) and a worker already gone (903) are not in /proc.
	f, c, kills, reports := shortReportsFixture(t, "e", map[int]string{778: ""})

	// The pod's kill is counted; the host's report comes first, then the
	// pod's, placed by its process: the pod's is the kill's.
	f.events(c, 1, 1)
	time.Sleep(50 * time.Millisecond)
	reports <- short(900, "hostdaemon")
	reports <- short(778, "worker")
	if k := waitKill(t, kills); k.Container != "api" || k.VictimName != "worker" || k.VictimPID != 778 {
		t.Errorf("the pod's own report after the host's: %+v", k)
	}
	noMoreKills(t, kills)

	// The host's report went unclaimed: kills outside are about. The next
	// count gets no report of its own; the host's victim is not a name
	// seen in the pod, so the counters alone tell the kill.
	f.events(c, 2, 2)
	time.Sleep(50 * time.Millisecond)
	reports <- short(901, "hostdaemon")
	if k := waitKill(t, kills); k.Container != "api" || k.FromKernelLog || k.VictimName != "" {
		t.Errorf("a count with only the host's report about: %+v", k)
	}
	noMoreKills(t, kills)

	// A worker killed and gone before its report was read: its name was
	// seen in the pod, so the order of kills places it.
	f.events(c, 3, 3)
	time.Sleep(50 * time.Millisecond)
	reports <- short(903, "worker")
	if k := waitKill(t, kills); k.Container != "api" || !k.FromKernelLog || k.VictimPID != 903 {
		t.Errorf("a gone worker's report: %+v", k)
	}
	noMoreKills(t, kills)
}

// shortReportsFixture runs an agent on one container of api-7d9 (its ID
// the letter repeated), with kernel reports sent by the test and a /proc
// of its own where each pid shows its cgroup ("": the container's).
func shortReportsFixture(t *testing.T, letter string, procs map[int]string) (*fixture, string, chan *Kill, chan *kmsg.Report) {
	t.Helper()
	f := &fixture{t: t, dir: t.TempDir()}
	id := strings.Repeat(letter, 64)
	c := f.container(sysUID, id, 0, 0)
	proc := t.TempDir()
	for pid, cg := range procs {
		if cg == "" {
			cg = c
		}
		if err := os.MkdirAll(filepath.Join(proc, itoa(pid)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(proc, itoa(pid), "cgroup"), []byte("0::"+cg+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	kills := make(chan *Kill, 10)
	reports := make(chan *kmsg.Report)
	pods := StaticPods{sysUID: {Namespace: "shop", Name: "api-7d9", UID: sysUID, Containers: map[string]string{id: "api"}}}
	a, err := New(Config{Node: "n", Hierarchy: cgroup.Hierarchy{Version: cgroup.V2, Dir: f.dir}, Proc: proc, Pods: pods, Reports: reports,
		Sinks: []Sink{SinkFunc(func(k *Kill) { kills <- k })}, MatchWait: 300 * time.Millisecond, ResolveWait: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	runFixture(t, a)
	return f, c, kills, reports
}

// short is a report past the kernel's rate limit: the victim alone.
func short(pid int, name string) *kmsg.Report {
	return &kmsg.Report{Victim: kmsg.Victim{PID: pid, Name: name, AnonRSS: 7 << 20}}
}
