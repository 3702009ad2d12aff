//go:build linux

package agent

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/oomdoctor/oomdoctor/internal/cgroup"
	"github.com/oomdoctor/oomdoctor/internal/kmsg"
	"github.com/oomdoctor/oomdoctor/test/alloc"
)

// The test binary doubles as the allocator (test/alloc).
func TestMain(m *testing.M) {
	alloc.IfAsked(200 * time.Millisecond)
	os.Exit(m.Run())
}

// tree is a kubelet-like cgroup tree (cgroupfs driver) under a cgroup root
// of its own, removed at the end.
type tree struct {
	t    *testing.T
	h    cgroup.Hierarchy
	root string // the kubelet's --cgroup-root
	made []*cgroup.Group
}

func newTree(t *testing.T) *tree {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the agent tests need root: they make memory cgroups and read /dev/kmsg (run them as root, as make test does)")
	}
	h, err := cgroup.Detect("/", cgroup.RealStatFS)
	if err != nil {
		t.Fatal(err)
	}
	tr := &tree{t: t, h: h, root: fmt.Sprintf("/oomdoctor-agent-test-%d-%d", os.Getpid(), time.Now().UnixNano()%1e6)}
	tr.mk("")
	tr.mk("/kubepods")
	tr.mk("/kubepods/burstable")
	tr.mk("/kubepods/besteffort")
	t.Cleanup(tr.cleanup)
	return tr
}

func (tr *tree) mk(rel string) *cgroup.Group {
	tr.t.Helper()
	g, err := tr.h.Create(tr.root + rel)
	if err != nil {
		tr.t.Fatal(err)
	}
	tr.made = append(tr.made, g)
	return g
}

func (tr *tree) cleanup() {
	for i := len(tr.made) - 1; i >= 0; i-- {
		if err := tr.made[i].Remove(); err != nil && !os.IsNotExist(err) {
			tr.t.Errorf("removing %s: %v", tr.made[i].Path, err)
		}
	}
}

func podUID(n int) string { return fmt.Sprintf("0a1b2c3d-0000-4000-8000-%012d", n) }
func containerID(n int) string {
	return strings.Repeat("c", 56) + fmt.Sprintf("%08d", n)
}

// run starts the agent on the tree; kills arrive on the returned channel.
func (tr *tree) run(pods StaticPods, kmsgPath string) (<-chan *Kill, *Agent) {
	tr.t.Helper()
	kills := make(chan *Kill, 100)
	a, err := New(Config{Node: "node-1", Hierarchy: tr.h, KubeletCgroupRoot: tr.root, Kmsg: kmsgPath, Pods: pods,
		Sinks: []Sink{SinkFunc(func(k *Kill) { kills <- k })}, ResolveWait: 200 * time.Millisecond,
		Warn: func(s string) { tr.t.Log("agent: " + s) }})
	if err != nil {
		tr.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := a.Run(ctx); err != nil {
			tr.t.Error(err)
		}
	}()
	tr.t.Cleanup(func() { cancel(); wg.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for !a.Ready() {
		if time.Now().After(deadline) {
			tr.t.Fatal("the agent did not get ready")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// On a writable hierarchy every watched cgroup wakes the agent.
	if a.Notified() != a.Watching() {
		tr.t.Errorf("watching %d cgroups, %d of them notifying", a.Watching(), a.Notified())
	}
	return kills, a
}

// start runs argv in the cgroup and returns when it has ended.
func start(t *testing.T, g *cgroup.Group, argv ...string) *exec.Cmd {
	t.Helper()
	cmd := g.Command(argv[0], argv[1:]...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	return cmd
}

func waitKill(t *testing.T, kills <-chan *Kill) *Kill {
	t.Helper()
	select {
	case k := <-kills:
		return k
	case <-time.After(30 * time.Second):
		t.Fatal("no kill reported within 30s")
	}
	return nil
}

func noMoreKills(t *testing.T, kills <-chan *Kill) {
	t.Helper()
	select {
	case k := <-kills:
		t.Errorf("an extra kill was reported: %+v", k)
	case <-time.After(400 * time.Millisecond):
	}
}

// Real kills in cgroups laid out like the kubelet's, one per QoS class and
// scope: the container's own limit (Guaranteed), a child process while PID 1
// lives (Burstable), the pod's limit, and the node's allocatable
// (kubepods) with a BestEffort pod under its own (absent) limit.
func TestRealKillsInAKubeletTree(t *testing.T) {
	// The kernel log from its device, and through syslog(2); alone, and
	// while a host service outside the kubelet's tree is killed again and
	// again (its reports, cut short by the kernel's rate limit, name a
	// victim whose process is gone: they must not be taken for the pods').
	for _, source := range []string{"/dev/kmsg", kmsg.Syslog} {
		t.Run(source, func(t *testing.T) { realKillsInAKubeletTree(t, source, false) })
		t.Run(source+" beside a host service's kills", func(t *testing.T) { realKillsInAKubeletTree(t, source, true) })
	}
}

// hostServiceKills OOM-kills a process named hostdaemon, again and again,
// in a cgroup of the tree outside kubepods, until the test ends; it
// returns once the kernel's rate limit on full reports is used up, and a
// function that tells how many kills there have been.
func hostServiceKills(t *testing.T, tr *tree) func() int64 {
	t.Helper()
	tr.mk("/system.slice")
	g := tr.mk("/system.slice/hostdaemon.service")
	if err := g.SetLimit(8 << 20); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The kernel names a victim by its command name: the test binary
	// under another name.
	link := filepath.Join(t.TempDir(), "hostdaemon")
	if err := os.Symlink(self, link); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			_ = g.Command("/usr/bin/env", alloc.Env+"=64", link, "-test.run=^$").Run()
		}
	}()
	// Stopped before the tree is removed (cleanups run last first).
	t.Cleanup(func() { close(stop); <-done })
	killed := func() int64 {
		n, err := g.OOMKills()
		if err != nil {
			t.Error(err)
		}
		return n
	}
	deadline := time.Now().Add(30 * time.Second)
	for killed() < 12 {
		if time.Now().After(deadline) {
			t.Fatalf("the host service was killed %d times in 30 s, want 12", killed())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return killed
}

func realKillsInAKubeletTree(t *testing.T, source string, hostKills bool) {
	tr := newTree(t)
	pods := StaticPods{}
	for i, name := range []string{"guaranteed", "burstable", "podlimit", "besteffort"} {
		pods[podUID(i)] = &PodInfo{Namespace: "shop", Name: name, UID: podUID(i), Containers: map[string]string{containerID(i): "app"}}
	}
	g := tr.mk("/kubepods/pod" + podUID(0))
	gc := tr.mk("/kubepods/pod" + podUID(0) + "/" + containerID(0))
	b := tr.mk("/kubepods/burstable/pod" + podUID(1))
	bc := tr.mk("/kubepods/burstable/pod" + podUID(1) + "/" + containerID(1))
	p := tr.mk("/kubepods/burstable/pod" + podUID(2))
	pc := tr.mk("/kubepods/burstable/pod" + podUID(2) + "/" + containerID(2))
	be := tr.mk("/kubepods/besteffort/pod" + podUID(3))
	bec := tr.mk("/kubepods/besteffort/pod" + podUID(3) + "/" + containerID(3))
	_ = g
	_ = b
	_ = be
	for _, c := range []*cgroup.Group{gc, bc} {
		if err := c.SetLimit(48 << 20); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.SetLimit(40 << 20); err != nil {
		t.Fatal(err)
	}
	kills, a := tr.run(pods, source)
	if a.Watching() != 4 {
		t.Errorf("watching %d cgroups, want 4", a.Watching())
	}
	var hostKilled func() int64
	var before int64
	if hostKills {
		hostKilled = hostServiceKills(t, tr)
		before = hostKilled()
	}

	t.Run("own limit, main process", func(t *testing.T) {
		cmd := start(t, gc, alloc.Argv(300)...)
		if cmd.ProcessState.ExitCode() != -1 {
			t.Fatalf("the allocator was not killed: %v", cmd.ProcessState)
		}
		k := waitKill(t, kills)
		if k.Namespace != "shop" || k.Pod != "guaranteed" || k.Container != "app" || k.Scope != "container" || k.MainProcess != "true" {
			t.Errorf("kill %+v", k)
		}
		if k.VictimPID != cmd.Process.Pid || k.AnonRSSBytes < 30<<20 || k.LimitBytes != 48<<20 || !k.FromCounter || !k.FromKernelLog {
			t.Errorf("victim %d (want %d), anon-rss %d, limit %d, sources %v %v", k.VictimPID, cmd.Process.Pid, k.AnonRSSBytes, k.LimitBytes, k.FromCounter, k.FromKernelLog)
		}
		noMoreKills(t, kills)
	})

	t.Run("a child killed, PID 1 lives", func(t *testing.T) {
		cmd := start(t, bc, "/bin/sh", "-c", strings.Join(alloc.Argv(300), " ")+"; sleep 0.5; echo survived")
		if cmd.ProcessState.ExitCode() != 0 {
			t.Fatalf("the shell should survive its child: %v", cmd.ProcessState)
		}
		k := waitKill(t, kills)
		if k.Pod != "burstable" || k.Scope != "container" || k.MainProcess != "false" || k.VictimPID == cmd.Process.Pid {
			t.Errorf("kill %+v (shell pid %d)", k, cmd.Process.Pid)
		}
		if !strings.Contains(Message(k), "not its main process") {
			t.Errorf("message: %s", Message(k))
		}
		noMoreKills(t, kills)
	})

	t.Run("the pod's limit", func(t *testing.T) {
		start(t, pc, alloc.Argv(300)...)
		k := waitKill(t, kills)
		if k.Pod != "podlimit" || k.Scope != "pod" || k.LimitBytes != 40<<20 {
			t.Errorf("kill %+v", k)
		}
		noMoreKills(t, kills)
	})

	t.Run("the node's allocatable", func(t *testing.T) {
		kp := tr.h.Open(tr.root + "/kubepods")
		if err := kp.SetLimit(56 << 20); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := kp.SetLimit(-1); err != nil {
				t.Error(err)
			}
		}()
		start(t, bec, alloc.Argv(300)...)
		k := waitKill(t, kills)
		if k.Pod != "besteffort" || k.Scope != "node" || k.MainProcess != "true" {
			t.Errorf("kill %+v", k)
		}
		if !strings.Contains(Message(k), "node-level OOM") {
			t.Errorf("message: %s", Message(k))
		}
		noMoreKills(t, kills)
	})

	// Every kill the kernel counted was told once.
	var sum int64
	for _, c := range []*cgroup.Group{gc, bc, pc, bec} {
		n, err := c.OOMKills()
		if err != nil {
			t.Fatal(err)
		}
		sum += n
	}
	if sum != 4 || a.Kills() != 4 {
		t.Errorf("kernel counted %d kills, the agent told %d", sum, a.Kills())
	}
	// The host service was killed all along (else this proved nothing).
	if hostKills {
		if n := hostKilled() - before; n < 20 {
			t.Errorf("the host service was killed %d times during the pods' kills, want 20 or more", n)
		}
	}
}

// New pods appear while the agent runs: the inotify watches pick them up,
// and a kill in a container the agent knows no pod for is still told.
func TestNewCgroupsAndUnknownPods(t *testing.T) {
	tr := newTree(t)
	kills, a := tr.run(StaticPods{}, "/dev/kmsg")
	tr.mk("/kubepods/burstable/pod" + podUID(7))
	c := tr.mk("/kubepods/burstable/pod" + podUID(7) + "/" + containerID(7))
	if err := c.SetLimit(32 << 20); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for a.Watching() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("the new container cgroup was not picked up (watching %d)", a.Watching())
		}
		time.Sleep(5 * time.Millisecond)
	}
	start(t, c, alloc.Argv(200)...)
	k := waitKill(t, kills)
	if k.PodUID != podUID(7) || k.ContainerID != containerID(7) || k.Pod != "" || k.Scope != "container" || k.MainProcess != "true" {
		t.Errorf("kill %+v", k)
	}
	// The cgroup goes away with its pod: the agent lets it go.
	if err := c.Remove(); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(2 * time.Second)
	for a.Watching() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("a removed cgroup is still watched (%d)", a.Watching())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Without the kernel log the counters still count every kill, without a
// victim or a scope.
func TestCountersWithoutTheKernelLog(t *testing.T) {
	tr := newTree(t)
	tr.mk("/kubepods/burstable/pod" + podUID(8))
	c := tr.mk("/kubepods/burstable/pod" + podUID(8) + "/" + containerID(8))
	if err := c.SetLimit(32 << 20); err != nil {
		t.Fatal(err)
	}
	kills, a := tr.run(StaticPods{podUID(8): {Namespace: "ns", Name: "p", UID: podUID(8), Containers: map[string]string{containerID(8): "app"}}}, "")
	for i := 0; i < 3; i++ {
		start(t, c, alloc.Argv(200)...)
		k := waitKill(t, kills)
		// The allocator was the main process: gone, killed or not.
		if k.Pod != "p" || k.Container != "app" || k.FromKernelLog || !k.FromCounter || k.VictimPID != 0 || k.MainProcess != "unknown" {
			t.Errorf("kill %d: %+v", i, k)
		}
	}
	// A child killed while the main process (the shell, then sleep in its
	// place) runs on: not the main process, though no report names it.
	start(t, c, "/bin/sh", "-c", strings.Join(alloc.Argv(200), " ")+"; exec sleep 4")
	k := waitKill(t, kills)
	if k.Container != "app" || k.FromKernelLog || k.MainProcess != "false" {
		t.Errorf("child kill: %+v, want main process false", k)
	}
	noMoreKills(t, kills)
	if n, _ := c.OOMKills(); n != 4 || a.Kills() != 4 {
		t.Errorf("kernel %d, agent %d", n, a.Kills())
	}
}

// A pod of one container: the kubelet sets the pod's limit to the
// container's, and the sandbox's pages put the pod over it first, so only
// the pod's counter moves (the end-to-end test sees it on a real node).
// Without the kernel log the counters alone must still tell the
// container's own limit.
func TestCountersSingleContainerPod(t *testing.T) {
	tr := newTree(t)
	pod := tr.mk("/kubepods/burstable/pod" + podUID(9))
	sandbox := tr.mk("/kubepods/burstable/pod" + podUID(9) + "/" + containerID(90))
	c := tr.mk("/kubepods/burstable/pod" + podUID(9) + "/" + containerID(9))
	for _, g := range []*cgroup.Group{pod, c} {
		if err := g.SetLimit(32 << 20); err != nil {
			t.Fatal(err)
		}
	}
	// The sandbox's pages: 4 MiB of tmpfs written from its cgroup stay
	// charged to it until the file goes.
	shm := filepath.Join("/dev/shm", fmt.Sprintf("oomdoctor-agent-test-%d", os.Getpid()))
	t.Cleanup(func() { os.Remove(shm) })
	if out, err := sandbox.Command("dd", "if=/dev/zero", "of="+shm, "bs=1M", "count=4").CombinedOutput(); err != nil {
		t.Fatalf("dd: %v\n%s", err, out)
	}
	kills, _ := tr.run(StaticPods{podUID(9): {Namespace: "ns", Name: "p", UID: podUID(9), Containers: map[string]string{containerID(9): "app"}}}, "")
	start(t, c, alloc.Argv(200)...)
	k := waitKill(t, kills)
	if k.Container != "app" || k.Scope != "container" || k.LimitBytes != 32<<20 || k.FromKernelLog {
		t.Errorf("kill %+v: want the container's own limit", k)
	}
	if n, _ := pod.AtLimit(); n == 0 {
		t.Errorf("the pod's limit was never hit: the test did not make the case it is about")
	}
	if n, _ := c.AtLimit(); n != 0 {
		t.Errorf("the container's own limit was hit %d times: the test did not make the case it is about", n)
	}
}

// Kills from before the agent started are not counted again.
func TestCountersReadAtStart(t *testing.T) {
	tr := newTree(t)
	tr.mk("/kubepods/burstable/pod" + podUID(9))
	c := tr.mk("/kubepods/burstable/pod" + podUID(9) + "/" + containerID(9))
	if err := c.SetLimit(32 << 20); err != nil {
		t.Fatal(err)
	}
	start(t, c, alloc.Argv(200)...)
	time.Sleep(50 * time.Millisecond) // its kernel report is written before the agent starts reading
	kills, a := tr.run(StaticPods{}, "/dev/kmsg")
	noMoreKills(t, kills)
	start(t, c, alloc.Argv(200)...)
	waitKill(t, kills)
	noMoreKills(t, kills)
	if n, _ := c.OOMKills(); n != 2 || a.Kills() != 1 {
		t.Errorf("kernel %d, agent %d: want 2 and 1", n, a.Kills())
	}
	_ = filepath.Join
}

// The kernel prints at most 10 full OOM reports per 5 seconds; past that
// only the "Killed process" line, without the cgroup. A burst still gets
// every kill counted, each with its victim and its pod.
func TestBurstBeyondTheKernelsRateLimit(t *testing.T) {
	for _, source := range []string{"/dev/kmsg", kmsg.Syslog} {
		t.Run(source, func(t *testing.T) { burstBeyondTheKernelsRateLimit(t, source) })
	}
}

func burstBeyondTheKernelsRateLimit(t *testing.T, source string) {
	tr := newTree(t)
	pods := StaticPods{}
	var cs []*cgroup.Group
	for i := 0; i < 3; i++ {
		uid := podUID(20 + i)
		pods[uid] = &PodInfo{Namespace: "burst", Name: fmt.Sprintf("p%d", i), UID: uid, Containers: map[string]string{containerID(20 + i): "app"}}
		tr.mk("/kubepods/burstable/pod" + uid)
		c := tr.mk("/kubepods/burstable/pod" + uid + "/" + containerID(20+i))
		if err := c.SetLimit(24 << 20); err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	kills, a := tr.run(pods, source)
	const n = 18
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(c *cgroup.Group) {
			defer wg.Done()
			cmd := c.Command(alloc.Argv(100)[0], alloc.Argv(100)[1:]...)
			_ = cmd.Run()
		}(cs[i%3])
		if i%3 == 2 {
			wg.Wait()
		}
	}
	wg.Wait()
	got := map[string]int{}
	named := 0
	for i := 0; i < n; i++ {
		k := waitKill(t, kills)
		got[k.Pod]++
		if k.Pod == "" || k.Container != "app" {
			t.Errorf("kill %d without its pod: %+v", i, k)
		}
		if k.VictimName != "" && k.VictimPID != 0 {
			named++
		}
		// Reports past the rate limit print neither scope nor limit: the
		// container's failcnt and limit tell them.
		if k.Scope != "container" || k.LimitBytes != 24<<20 {
			t.Errorf("kill %d: scope %q, limit %d; want container, 24Mi", i, k.Scope, k.LimitBytes)
		}
	}
	// Victims named only by PID are placed by the processes seen in each
	// cgroup and by order; a rare one may stay unnamed, never uncounted.
	if named < n-2 {
		t.Errorf("only %d of %d kills have their victim", named, n)
	}
	noMoreKills(t, kills)
	var sum int64
	for _, c := range cs {
		v, _ := c.OOMKills()
		sum += v
	}
	if sum != n || a.Kills() != n {
		t.Errorf("kernel counted %d, agent told %d, want %d (%v)", sum, a.Kills(), n, got)
	}
}

// The DaemonSet mounts the cgroup filesystem read-only: no v1 eventfd can
// be registered. The kernel log and the counters read on each report still
// tell every kill.
func TestReadOnlyCgroupMount(t *testing.T) {
	tr := newTree(t)
	if tr.h.Version != cgroup.V1 {
		t.Fatalf("this test needs cgroup v1 (eventfds); the machine has %s", tr.h.Version)
	}
	tr.mk("/kubepods/burstable/pod" + podUID(30))
	c := tr.mk("/kubepods/burstable/pod" + podUID(30) + "/" + containerID(30))
	if err := c.SetLimit(32 << 20); err != nil {
		t.Fatal(err)
	}
	ro := t.TempDir()
	if err := unix.Mount(tr.h.Dir, ro, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := unix.Unmount(ro, 0); err != nil {
			t.Error(err)
		}
	}()
	if err := unix.Mount("", ro, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
		t.Fatal(err)
	}
	roTree := &tree{t: t, h: cgroup.Hierarchy{Version: cgroup.V1, Dir: ro}, root: tr.root}
	var warned []string
	kills := make(chan *Kill, 10)
	// No rescan within the test: the reports alone must tell every kill.
	a, err := New(Config{Node: "n", Hierarchy: roTree.h, KubeletCgroupRoot: tr.root, Kmsg: "/dev/kmsg", Rescan: time.Hour,
		Pods:  StaticPods{podUID(30): {Namespace: "ro", Name: "p", UID: podUID(30), Containers: map[string]string{containerID(30): "app"}}},
		Sinks: []Sink{SinkFunc(func(k *Kill) { kills <- k })}, Warn: func(s string) { warned = append(warned, s) }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = a.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	for !a.Ready() {
		time.Sleep(time.Millisecond)
	}
	if a.Watching() != 1 || a.Notified() != 0 {
		t.Errorf("on a read-only mount: watching %d cgroups, %d notifying; want 1 and 0", a.Watching(), a.Notified())
	}
	start(t, c, alloc.Argv(200)...)
	k := waitKill(t, kills)
	if k.Pod != "p" || k.VictimName == "" || !k.FromCounter {
		t.Errorf("kill %+v", k)
	}
	// A burst past the kernel's rate limit (ten full reports in five
	// seconds): the reports without a cgroup are placed by the counters
	// read at once, not at the next rescan.
	const burst = 14
	for i := 0; i < burst; i++ {
		cmd := c.Command(alloc.Argv(200)[0], alloc.Argv(200)[1:]...)
		_ = cmd.Run()
	}
	for i := 0; i < burst; i++ {
		if k := waitKill(t, kills); k.Pod != "p" || k.Scope != "container" || k.LimitBytes != 32<<20 {
			t.Errorf("burst kill %d: %+v", i, k)
		}
	}
	noMoreKills(t, kills)
	if len(warned) == 0 || !strings.Contains(warned[0], "no OOM eventfds") {
		t.Errorf("warnings %v", warned)
	}
}
