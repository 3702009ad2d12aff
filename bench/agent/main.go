// Command agent benchmarks `oomdoctor agent` on this machine's kernel, as a
// separate process beside a real kube-apiserver (needs root):
//
//   - latency: sequential real OOM kills; from the kernel's kill (its kernel
//     log timestamp, on CLOCK_MONOTONIC by a calibration) to the kill being
//     counted (the agent's log line, written just after the counter) and
//     to its Event arriving through a watch. The baseline is this program's
//     own kernel log reader: how soon anyone can know;
//
//   - burst: kills at a steady rate across cgroups; the agent's count
//     against the sum of the kernel's oom_kill counters;
//
//   - idle: CPU and RSS with many pod cgroups and nothing happening, against
//     a baseline Go process that only sleeps.
//
//     go run ./bench/agent -pods 110 -idle 60s -latency 50 -burst 200 -burst-cgroups 20 -burst-time 10s
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/oomdoctor/oomdoctor/internal/cgroup"
	"github.com/oomdoctor/oomdoctor/internal/kmsg"
	"github.com/oomdoctor/oomdoctor/test/alloc"
	"github.com/oomdoctor/oomdoctor/test/cluster"
	"github.com/oomdoctor/oomdoctor/test/procstat"
)

func main() {
	alloc.IfAsked(0)
	if os.Getenv("BENCH_SLEEP") != "" {
		time.Sleep(time.Hour)
		return
	}
	o := opts{}
	flag.IntVar(&o.pods, "pods", 110, "pod cgroups (the kubelet's default maximum per node)")
	flag.DurationVar(&o.idle, "idle", 60*time.Second, "idle measurement")
	flag.IntVar(&o.latency, "latency", 50, "sequential kills for the latency")
	flag.IntVar(&o.burst, "burst", 200, "kills in the burst")
	flag.IntVar(&o.burstCgroups, "burst-cgroups", 20, "cgroups the burst is spread over")
	flag.DurationVar(&o.burstTime, "burst-time", 10*time.Second, "how long the burst lasts")
	flag.StringVar(&o.kmsg, "kmsg", "syslog", "the agent's --kmsg: syslog (as the DaemonSet runs it) or /dev/kmsg")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type opts struct {
	pods, latency, burst, burstCgroups int
	idle, burstTime                    time.Duration
	kmsg                               string
}

func mono() time.Duration {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return time.Duration(ts.Nano())
}

// kernelClock maps kernel log timestamps to CLOCK_MONOTONIC: a marker is
// written to /dev/kmsg and its timestamp compared with the clock.
type kernelClock struct{ offset time.Duration }

func (k kernelClock) mono(since time.Duration) time.Duration { return since - k.offset }

// kills watches the kernel log: when each victim PID was killed, and when
// this program read it.
type kills struct {
	mu   sync.Mutex
	at   map[int]time.Duration // kernel time (CLOCK_MONOTONIC) of "Killed process PID"
	read map[int]time.Duration // when this reader saw it
}

func watchKernel(clock *kernelClock, marker string, ready chan<- struct{}) (*kills, error) {
	r, err := kmsg.Open("/dev/kmsg", true)
	if err != nil {
		return nil, err
	}
	k := &kills{at: map[int]time.Duration{}, read: map[int]time.Duration{}}
	re := regexp.MustCompile(`Killed process (\d+) `)
	var written time.Duration
	go func() {
		for {
			rec, err := r.Next()
			if err == kmsg.ErrOverwritten {
				continue
			}
			if err != nil {
				return
			}
			now := mono()
			if strings.Contains(rec.Message, marker) {
				clock.offset = rec.Since - written
				close(ready)
				continue
			}
			if m := re.FindStringSubmatch(rec.Message); m != nil {
				pid, _ := strconv.Atoi(m[1])
				k.mu.Lock()
				k.at[pid] = clock.mono(rec.Since)
				k.read[pid] = now
				k.mu.Unlock()
			}
		}
	}()
	f, err := os.OpenFile("/dev/kmsg", os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	before := mono()
	if _, err := f.WriteString(marker + "\n"); err != nil {
		return nil, err
	}
	written = (before + mono()) / 2
	return k, nil
}

func run(o opts) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("needs root: it makes memory cgroups and reads the kernel log")
	}
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "oomdoctor-bench-agent-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	// The slim binary the DaemonSet runs.
	bin := filepath.Join(tmp, "oomdoctor-agent")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "./cmd/oomdoctor-agent")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building oomdoctor-agent (run from the repository root): %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}

	var clock kernelClock
	calibrated := make(chan struct{})
	kernel, err := watchKernel(&clock, fmt.Sprintf("oomdoctor-bench: clock marker %d", time.Now().UnixNano()), calibrated)
	if err != nil {
		return err
	}
	select {
	case <-calibrated:
	case <-time.After(5 * time.Second):
		return fmt.Errorf("the clock marker never came back from /dev/kmsg")
	}

	cp, err := cluster.StartControlPlane(ctx, cluster.Options{})
	if err != nil {
		return err
	}
	defer cp.Stop()
	const ns, node = "bench", "bench-node"
	if _, err := cp.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return err
	}

	h, err := cgroup.Detect("/", cgroup.RealStatFS)
	if err != nil {
		return err
	}
	root := fmt.Sprintf("/oomdoctor-bench-agent-%d", os.Getpid())
	var made []*cgroup.Group
	mk := func(p string) (*cgroup.Group, error) {
		g, err := h.Create(root + p)
		if err == nil {
			made = append(made, g)
		}
		return g, err
	}
	defer func() {
		for i := len(made) - 1; i >= 0; i-- {
			_ = made[i].Remove()
		}
	}()
	for _, p := range []string{"", "/kubepods", "/kubepods/burstable"} {
		if _, err := mk(p); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "making %d pods and their cgroups, each with a sleeping main process...\n", o.pods)
	var containers []*cgroup.Group
	var sleepers []*exec.Cmd
	defer func() {
		for _, s := range sleepers {
			_ = s.Process.Kill()
			_ = s.Wait()
		}
	}()
	for i := 0; i < o.pods; i++ {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p%03d", i), Namespace: ns},
			Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "app", Image: "registry.invalid/app:1"}}}}
		pod, err := cp.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
		if err != nil {
			return err
		}
		id := fmt.Sprintf("%064x", 0xbe000+i)
		pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", ContainerID: "containerd://" + id, Image: "registry.invalid/app:1",
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}}}
		if _, err := cp.Client.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
			return err
		}
		if _, err := mk("/kubepods/burstable/pod" + string(pod.UID)); err != nil {
			return err
		}
		c, err := mk("/kubepods/burstable/pod" + string(pod.UID) + "/" + id)
		if err != nil {
			return err
		}
		if err := c.SetLimit(32 << 20); err != nil {
			return err
		}
		s := c.Command(self)
		s.Env = append(os.Environ(), "BENCH_SLEEP=1")
		if err := s.Start(); err != nil {
			return err
		}
		sleepers = append(sleepers, s)
		containers = append(containers, c)
	}

	// Events as they arrive through a watch.
	evAt := map[int]time.Duration{}
	var evMu sync.Mutex
	w, err := cp.Client.CoreV1().Events(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	defer w.Stop()
	pidRe := regexp.MustCompile(`\(pid (\d+);`)
	go func() {
		for ev := range w.ResultChan() {
			e, ok := ev.Object.(*corev1.Event)
			if !ok {
				continue
			}
			if m := pidRe.FindStringSubmatch(e.Message); m != nil {
				pid, _ := strconv.Atoi(m[1])
				evMu.Lock()
				if _, seen := evAt[pid]; !seen {
					evAt[pid] = mono()
				}
				evMu.Unlock()
			}
		}
	}()

	// The agent, as its own process.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
	ln.Close()
	agent := exec.Command(bin, "--node-name", node, "--kubeconfig", cp.Kubeconfig, "--kubelet-cgroup-root", root, "--listen", addr, "--log", "json", "--kmsg", o.kmsg)
	agent.Stderr = os.Stderr
	out, err := agent.StdoutPipe()
	if err != nil {
		return err
	}
	if err := agent.Start(); err != nil {
		return err
	}
	defer func() { _ = agent.Process.Signal(syscall.SIGTERM); _ = agent.Wait() }()
	toldAt := map[int]time.Duration{}
	told := 0
	var toldMu sync.Mutex
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			now := mono()
			var k struct {
				VictimPID int    `json:"victimPID"`
				Namespace string `json:"namespace"`
			}
			if json.Unmarshal(sc.Bytes(), &k) == nil {
				toldMu.Lock()
				told++
				if k.VictimPID > 0 {
					toldAt[k.VictimPID] = now
				}
				toldMu.Unlock()
			}
		}
	}()
	if err := waitReady(addr); err != nil {
		return err
	}

	// Idle.
	fmt.Fprintf(os.Stderr, "idle for %v with %d pod cgroups...\n", o.idle, o.pods)
	base := exec.Command(self)
	base.Env = append(os.Environ(), "BENCH_SLEEP=1")
	if err := base.Start(); err != nil {
		return err
	}
	defer func() { _ = base.Process.Kill(); _ = base.Wait() }()
	time.Sleep(5 * time.Second) // both past their start
	cpu0, bcpu0, t0 := cpuTime(agent.Process.Pid), cpuTime(base.Process.Pid), mono()
	time.Sleep(o.idle)
	cpu1, bcpu1, t1 := cpuTime(agent.Process.Pid), cpuTime(base.Process.Pid), mono()
	idleShare := float64(cpu1-cpu0) / float64(t1-t0)
	baseShare := float64(bcpu1-bcpu0) / float64(t1-t0)
	rss, baseRSS := rssKB(agent.Process.Pid), rssKB(base.Process.Pid)
	anon, file := rollup(agent.Process.Pid, "Anonymous:"), rollup(agent.Process.Pid, "Pss_File:")

	// Latency: one kill at a time.
	fmt.Fprintf(os.Stderr, "%d sequential kills...\n", o.latency)
	var pids []int
	for i := 0; i < o.latency; i++ {
		pid := killIn(containers[i%len(containers)], self)
		pids = append(pids, pid)
		time.Sleep(150 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	var toMetric, toEvent, toReader []time.Duration
	kernel.mu.Lock()
	toldMu.Lock()
	evMu.Lock()
	for _, pid := range pids {
		k, ok := kernel.at[pid]
		if !ok {
			continue
		}
		toReader = append(toReader, kernel.read[pid]-k)
		if t, ok := toldAt[pid]; ok {
			toMetric = append(toMetric, t-k)
		}
		if t, ok := evAt[pid]; ok {
			toEvent = append(toEvent, t-k)
		}
	}
	evMu.Unlock()
	toldMu.Unlock()
	kernel.mu.Unlock()

	// Burst.
	n := min(o.burstCgroups, len(containers))
	fmt.Fprintf(os.Stderr, "%d kills in %v across %d cgroups...\n", o.burst, o.burstTime, n)
	before := make([]int64, n)
	for i := 0; i < n; i++ {
		before[i], _ = containers[i].OOMKills()
	}
	toldMu.Lock()
	toldBefore := told
	toldMu.Unlock()
	gap := o.burstTime / time.Duration(o.burst)
	var wg sync.WaitGroup
	startBurst := time.Now()
	for i := 0; i < o.burst; i++ {
		wg.Add(1)
		go func(c *cgroup.Group) { defer wg.Done(); killIn(c, self) }(containers[i%n])
		time.Sleep(time.Until(startBurst.Add(time.Duration(i+1) * gap)))
	}
	wg.Wait()
	burstWall := time.Since(startBurst)
	time.Sleep(3 * time.Second)
	var kernelKills int64
	for i := 0; i < n; i++ {
		v, _ := containers[i].OOMKills()
		kernelKills += v - before[i]
	}
	toldMu.Lock()
	agentKills := told - toldBefore
	toldMu.Unlock()

	fmt.Printf("oomdoctor agent on kernel %s, cgroup %s, %d pod cgroups\n\n", kernelRelease(), h.Version, o.pods)
	fmt.Printf("latency over %d sequential kills (kernel kill -> ...)   p50        p99        max\n", len(pids))
	row := func(name string, d []time.Duration) {
		p50, p99, mx := pct(d, 50), pct(d, 99), pct(d, 100)
		fmt.Printf("  %-52s %-10v %-10v %-10v (%d)\n", name, p50, p99, mx, len(d))
	}
	row("baseline: a bare kernel log reader sees it", toReader)
	row("agent: counted (metric), its log line read", toMetric)
	row("agent: Event created, seen through a watch", toEvent)
	fmt.Printf("  ratio agent metric / baseline, p50: %.2f\n\n", ratio(pct(toMetric, 50), pct(toReader, 50)))
	fmt.Printf("burst: %d kills started in %v across %d cgroups: kernel counted %d, agent told %d (%s)\n\n",
		o.burst, burstWall.Round(10*time.Millisecond), n, kernelKills, agentKills, verdict(kernelKills == int64(agentKills)))
	fmt.Printf("idle for %v with %d pod cgroups: agent %.3f%% of a core, RSS %.1f MiB (anonymous %.1f, the binary's pages %.1f); baseline sleeping Go process %.3f%%, RSS %.1f MiB (RSS ratio %.2f)\n",
		o.idle, o.pods, 100*idleShare, float64(rss)/1024, float64(anon)/1024, float64(file)/1024, 100*baseShare, float64(baseRSS)/1024, float64(rss)/float64(baseRSS))
	return nil
}

// killIn runs the allocator in the cgroup until the kernel kills it; it
// returns its PID.
func killIn(c *cgroup.Group, self string) int {
	cmd := c.Command(self)
	cmd.Env = append(os.Environ(), alloc.Env+"=100")
	if err := cmd.Start(); err != nil {
		return 0
	}
	_ = cmd.Wait()
	return cmd.Process.Pid
}

func waitReady(addr string) error {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", addr); err == nil {
			fmt.Fprintf(c, "GET /readyz HTTP/1.0\r\n\r\n")
			b := make([]byte, 64)
			n, _ := c.Read(b)
			c.Close()
			if strings.Contains(string(b[:n]), " 200 ") {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("the agent did not get ready on %s", addr)
}

// cpuTime sums the on-CPU time of every thread of a process.
func cpuTime(pid int) time.Duration { return procstat.CPU(pid) }

func rssKB(pid int) int64 {
	st, _ := procstat.Status(pid)
	return st["VmRSS:"] >> 10
}

// rollup reads one field of /proc/PID/smaps_rollup, in kB.
func rollup(pid int, field string) int64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

func kernelRelease() string {
	b, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return strings.TrimSpace(string(b))
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := (len(s)*p + 99) / 100
	if i > 0 {
		i--
	}
	return s[i].Round(10 * time.Microsecond)
}

func ratio(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func verdict(ok bool) string {
	if ok {
		return "none lost, none doubled"
	}
	return "MISMATCH"
}
