//go:build linux

package agent

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/oomdoctor/oomdoctor/internal/cgroup"
	"github.com/oomdoctor/oomdoctor/internal/kmsg"
	"github.com/oomdoctor/oomdoctor/internal/podcgroup"
)

// Config says what the agent watches and where kills go.
type Config struct {
	// Node is this node's name, for metrics, Events and the pod watch.
	Node string
	// Hierarchy is the memory cgroup hierarchy (cgroup.Detect under the
	// host's root).
	Hierarchy cgroup.Hierarchy
	// KubeletCgroupRoot is the kubelet's --cgroup-root ("/" by default):
	// kubepods (or kubepods.slice) is looked for under it.
	KubeletCgroupRoot string
	// Proc is the host's /proc (the agent needs the host's PID namespace
	// to tell a container's main process).
	Proc string
	// Kmsg is the kernel log: a device (/dev/kmsg), kmsg.Syslog to read
	// it through syslog(2) (CAP_SYSLOG, no device), or "" to run on
	// counters alone (no victim names, sizes or scopes).
	Kmsg string
	// Reports, when set, is where kernel OOM reports come from instead of
	// Kmsg (reports parsed elsewhere; tests).
	Reports <-chan *kmsg.Report
	// Pods finds pods by UID.
	Pods PodIndex
	// Sinks get every kill.
	Sinks []Sink
	// MatchWait is how long a kill counted by a cgroup waits for its
	// kernel report before it is told without one.
	MatchWait time.Duration
	// ResolveWait is how long a kill waits for its pod or container to
	// appear in Pods (a container that just started).
	ResolveWait time.Duration
	// Rescan is how often the whole tree is walked again, besides the
	// inotify watches that see new cgroups at once.
	Rescan time.Duration
	// Warn receives problems that do not stop the agent.
	Warn func(string)
}

// Agent watches for OOM kills; see the package doc.
type Agent struct {
	cfg Config
	w   *watcher

	pending map[string][]pendingKill // counted kills waiting for their kernel report
	loose   []kreport                // reports whose cgroup is not known yet
	pidCg   map[int]string           // processes last seen in watched cgroups
	// foreignAt is when a kill outside the watched cgroups was last seen
	// (its report placed outside, or a report no counter claimed).
	foreignAt time.Time
	klog      *kmsg.Reader // nil without the kernel log
	// orderWait is the config's (see the constant).
	orderWait time.Duration
	do        chan func()
	done      chan struct{}

	ready    atomic.Bool
	watching atomic.Int64
	notified atomic.Int64
	lost     atomic.Int64
	kills    atomic.Int64
}

type pendingKill struct {
	c *watched
	// hit is the limit the counters say was reached.
	hit limitHit
	at  time.Time
	// pids and stat are the cgroup's processes and memory.stat when the
	// kill was counted: the victim is among the pids (a v1 eventfd fires
	// before the kill), and the stat is the breakdown when the kernel's
	// report was rate-limited down to its last line.
	pids map[int]bool
	stat *cgroup.Stat
}

// kreport is a kernel report with the victim's cgroup as /proc told it when
// the report was read (the kernel rate-limits its reports to the last line,
// which names the victim's PID but not its cgroup).
type kreport struct {
	r       *kmsg.Report
	procCg  string
	arrived time.Time
}

// retries are the delays after a notification at which the counters are
// read again when they have not moved yet: a v1 eventfd fires as the OOM
// begins, before the kill.
var retries = []time.Duration{time.Millisecond, 3 * time.Millisecond, 10 * time.Millisecond, 30 * time.Millisecond, 100 * time.Millisecond, 300 * time.Millisecond}

// syslogEvery is how often the kernel log is read through syslog(2),
// which cannot block until a record comes: each read costs about a
// millisecond of the kernel's time, so rarely. A kill a cgroup's counter
// tells (at once with eventfds or inotify) has it read at once; only the
// others (a system-wide OOM, a recursively read-only v1 mount) wait.
const syslogEvery = 5 * time.Second

// foreignQuiet is how long after a kill outside the watched cgroups a
// victim the kernel names only by PID, its process gone, is still placed
// by its name alone, not by the order of kills: the other cgroup's reports,
// cut short by the same rate limit, come between the pods'.
const foreignQuiet = time.Minute

// New checks the config.
func New(cfg Config) (*Agent, error) {
	if cfg.Pods == nil {
		cfg.Pods = StaticPods{}
	}
	if cfg.Proc == "" {
		cfg.Proc = "/proc"
	}
	if cfg.KubeletCgroupRoot == "" {
		cfg.KubeletCgroupRoot = "/"
	}
	if cfg.MatchWait == 0 {
		cfg.MatchWait = 100 * time.Millisecond
		if cfg.Kmsg == kmsg.Syslog {
			// The log is read at the kill's notification, and again
			// 100 ms later for a report printed after it.
			cfg.MatchWait += kmsg.SyslogReread + 100*time.Millisecond
		}
	}
	if cfg.ResolveWait == 0 {
		cfg.ResolveWait = 3 * time.Second
	}
	if cfg.Rescan == 0 {
		cfg.Rescan = 30 * time.Second
	}
	if cfg.Warn == nil {
		cfg.Warn = func(string) {}
	}
	if cfg.Hierarchy.Dir == "" {
		return nil, errors.New("no memory cgroup hierarchy")
	}
	a := &Agent{cfg: cfg, pending: map[string][]pendingKill{}, pidCg: map[int]string{}, orderWait: orderWait, do: make(chan func(), 256), done: make(chan struct{})}
	if cfg.Kmsg == kmsg.Syslog && cfg.Reports == nil {
		a.orderWait += kmsg.SyslogReread
	}
	return a, nil
}

// Ready tells whether the agent watches (for /readyz).
func (a *Agent) Ready() bool { return a.ready.Load() }

// Watching is the number of container cgroups watched.
func (a *Agent) Watching() int64 { return a.watching.Load() }

// Notified is the number of watched cgroups whose OOMs wake the agent at
// once (v1: an eventfd registered; v2: memory.events watched). The others
// are read on each kernel report and at every rescan.
func (a *Agent) Notified() int64 { return a.notified.Load() }

// count publishes how many cgroups are watched, and how many notify.
func (a *Agent) count(w *watcher) {
	a.watching.Store(int64(len(w.byPath)))
	a.notified.Store(int64(len(w.byEfd) + len(w.files)))
}

// KmsgLost counts the times the kernel log overwrote records before the
// agent read them.
func (a *Agent) KmsgLost() int64 { return a.lost.Load() }

// Kills counts the kills told.
func (a *Agent) Kills() int64 { return a.kills.Load() }

// Run watches until ctx ends.
func (a *Agent) Run(ctx context.Context) error {
	w, err := newWatcher(a.cfg.Hierarchy, a.cfg.KubeletCgroupRoot, a.cfg.Proc, a.cfg.Warn)
	if err != nil {
		return err
	}
	a.w = w
	go w.poll()
	defer close(a.done)
	defer func() {
		w.stop()
		for range w.events {
		}
		w.close()
	}()

	reports := make(chan kreport, 64)
	switch {
	case a.cfg.Reports != nil:
		go func() {
			for r := range a.cfg.Reports {
				reports <- a.kreport(r)
			}
		}()
	case a.cfg.Kmsg != "":
		var klog *kmsg.Reader
		var err error
		if a.cfg.Kmsg == kmsg.Syslog {
			klog, err = kmsg.OpenSyslog(true, syslogEvery)
		} else {
			klog, err = kmsg.Open(a.cfg.Kmsg, true)
		}
		if err != nil {
			return err
		}
		defer klog.Close()
		a.klog = klog
		go a.readKmsg(klog, reports)
	default:
		a.cfg.MatchWait = 0
	}

	for _, c := range w.scan() {
		a.started(c)
	}
	a.count(w)
	a.ready.Store(true)
	rescan := time.NewTicker(a.cfg.Rescan)
	defer rescan.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case batch, ok := <-w.events:
			if !ok {
				return errors.New("the cgroup watch stopped")
			}
			a.handle(batch)
		case r := <-reports:
			a.report(r)
		case f := <-a.do:
			f()
		case <-rescan.C:
			for _, c := range w.scan() {
				a.started(c)
			}
			for _, c := range w.byPath {
				if _, err := os.Stat(c.g.Dir()); err != nil {
					a.gone(c)
					continue
				}
				// Looking for the main process notes the processes'
				// names, which place victims only while kills outside
				// are about: then, not at every idle rescan.
				if c.mainPID == 0 || !a.alive(c.mainPID) || a.foreignLately() {
					c.mainPID = w.mainPID(c)
				}
				// A kill whose notification and report were both missed
				// is still counted, late.
				a.observe(c, len(retries))
			}
		}
		a.count(w)
	}
}

// after runs f in the agent's loop after d.
func (a *Agent) after(d time.Duration, f func()) {
	time.AfterFunc(d, func() {
		select {
		case a.do <- f:
		case <-a.done:
		}
	})
}

func (a *Agent) readKmsg(klog *kmsg.Reader, out chan<- kreport) {
	var asm kmsg.Assembler
	for {
		rec, err := klog.Next()
		if errors.Is(err, kmsg.ErrOverwritten) {
			a.lost.Add(1)
			a.cfg.Warn("the kernel log overwrote records before they were read; kills are still counted from the cgroups")
			continue
		}
		if err != nil {
			if !errors.Is(err, os.ErrClosed) {
				a.cfg.Warn("stopped reading the kernel log: " + err.Error() + "; kills are still counted from the cgroups, without their victims")
			}
			return
		}
		if r, ok := asm.Add(rec); ok {
			out <- a.kreport(r)
		}
	}
}

// kreport stamps a kernel report as it arrives. A report without the
// victim's memcg (past the kernel's rate limit) gets the cgroup /proc
// shows for the victim, read at once: it is being killed.
func (a *Agent) kreport(r *kmsg.Report) kreport {
	k := kreport{r: r, arrived: time.Now()}
	if r.TaskMemcg == "" && r.Victim.PID > 0 {
		k.procCg, _ = cgroup.OfPID(a.cfg.Proc, r.Victim.PID, a.cfg.Hierarchy.Version)
	}
	return k
}

// outsideKubelet says whether /proc placed a victim in a cgroup outside
// the kubelet's tree: not a pod's process. An exiting process shows the
// root (or is gone), never another cgroup, so only a path of some other
// cgroup proves it; a path from another cgroup namespace (/..) proves
// nothing.
func outsideKubelet(procCg string) bool {
	return procCg != "" && procCg != "/" && !strings.HasPrefix(procCg, "/..") && podcgroup.Parse(procCg).Level == podcgroup.Outside
}

// started looks after a newly watched cgroup: its main process may not
// have started yet.
func (a *Agent) started(c *watched) {
	if a.ready.Load() {
		// Found after the first scan: a new container, whose kills so far
		// (if any) happened while the agent was running.
		c.unclaimed = c.last
	}
	if c.mainPID != 0 {
		return
	}
	for _, d := range []time.Duration{100 * time.Millisecond, time.Second, 5 * time.Second} {
		a.after(d, func() {
			if !c.gone && c.mainPID == 0 {
				c.mainPID = a.w.mainPID(c)
			}
		})
	}
}

func (a *Agent) alive(pid int) bool {
	_, err := os.Stat(filepath.Join(a.cfg.Proc, strconv.Itoa(pid)))
	return err == nil
}

func (a *Agent) handle(batch []event) {
	w := a.w
	for _, e := range batch {
		if e.efd >= 0 {
			c := w.byEfd[e.efd]
			if c == nil {
				continue
			}
			if _, err := os.Stat(c.g.Dir()); err != nil {
				a.gone(c)
				continue
			}
			// The eventfd fires as the OOM begins: the main process and
			// the victim are still there to be seen.
			a.remember(c)
			a.observe(c, 0)
			continue
		}
		if e.mask&unix.IN_Q_OVERFLOW != 0 {
			for _, c := range w.scan() {
				a.started(c)
			}
			continue
		}
		if c := w.files[e.wd]; c != nil {
			if e.mask&unix.IN_IGNORED != 0 {
				a.gone(c)
			} else {
				a.observe(c, 0)
			}
			continue
		}
		dir, ok := w.dirs[e.wd]
		if !ok {
			continue
		}
		switch {
		case e.mask&(unix.IN_CREATE|unix.IN_MOVED_TO) != 0 && e.mask&unix.IN_ISDIR != 0:
			for _, c := range w.walk(filepath.Join(dir, e.name)) {
				a.started(c)
			}
		case e.mask&(unix.IN_DELETE|unix.IN_MOVED_FROM) != 0 && e.mask&unix.IN_ISDIR != 0:
			for _, c := range w.removed(filepath.Join(dir, e.name)) {
				a.flush(c)
			}
		case e.mask&unix.IN_IGNORED != 0:
			for _, c := range w.removed(dir) {
				a.flush(c)
			}
		}
	}
}

// remember notes the cgroup's processes (to place a victim the kernel
// names only by PID) and its main process.
func (a *Agent) remember(c *watched) {
	if len(a.pidCg) > 50000 {
		a.pidCg = map[int]string{}
	}
	pids, err := c.g.Procs()
	if err != nil {
		return
	}
	for _, pid := range pids {
		a.pidCg[pid] = c.path
	}
	if m := a.w.look(c, pids); m != 0 {
		c.mainPID = m
	}
}

// gone stops watching a removed cgroup and tells its pending kills.
func (a *Agent) gone(c *watched) {
	a.w.unwatch(c)
	a.flush(c)
}

func (a *Agent) flush(c *watched) {
	for _, p := range a.pending[c.path] {
		a.tell(a.counterOnly(p))
	}
	delete(a.pending, c.path)
}

// observe reads a cgroup's counters after a notification; while they have
// not moved, it reads them again a little later.
func (a *Agent) observe(c *watched, attempt int) {
	if c.gone {
		return
	}
	kills, hit, err := a.w.read(c)
	if err != nil {
		return
	}
	for i := int64(0); i < kills; i++ {
		a.counted(c, hit)
	}
	if kills == 0 && attempt < len(retries) {
		a.after(retries[attempt], func() { a.observe(c, attempt+1) })
	}
}

// counted takes a kill a cgroup counted: it waits for its kernel report.
func (a *Agent) counted(c *watched, hit limitHit) {
	p := pendingKill{c: c, hit: hit, at: time.Now(), pids: map[int]bool{}}
	if pids, err := c.g.Procs(); err == nil {
		for _, pid := range pids {
			p.pids[pid] = true
			a.pidCg[pid] = c.path
		}
		a.w.look(c, pids)
	}
	if st, err := c.g.Stat(); err == nil {
		p.stat = &st
	}
	// A rate-limited report may have come first, its victim among the
	// cgroup's processes.
	for i, l := range a.loose {
		if p.pids[l.r.Victim.PID] {
			c.saw(l.r.Victim.Name)
			a.claim(i, p)
			return
		}
	}
	if a.cfg.MatchWait <= 0 {
		a.unmatched(p)
		return
	}
	a.pending[c.path] = append(a.pending[c.path], p)
	// Read the log now, not at the next poll (syslog(2)).
	a.klog.Poke()
	if len(a.loose) > 0 {
		a.after(a.orderWait, a.pairByOrder)
	}
	a.after(a.cfg.MatchWait, func() {
		q := a.pending[c.path]
		if len(q) == 0 || q[0].at != p.at {
			return // matched, or flushed
		}
		a.pending[c.path] = q[1:]
		a.unmatched(p)
	})
}

// orderWait is how long a report no process places, and a counted kill no
// report placed, wait for their own before the order of kills pairs them:
// a kill is counted before its report is printed, and a report that places
// its victim may be read just after another cgroup's cut-short ones.
// Through syslog(2) a report still being printed at a poke is read
// kmsg.SyslogReread later: that long more.
const orderWait = 25 * time.Millisecond

// pairByOrder pairs the reports no process placed with the counted kills
// still waiting, both older than orderWait, by the order of kills: the
// kernel kills one process at a time, in the order the counters moved, so
// the oldest report no cgroup claimed is the oldest waiting kill's, if it
// may be (mayBe).
func (a *Agent) pairByOrder() {
	before := time.Now().Add(-a.orderWait)
	for i := 0; i < len(a.loose); {
		l := a.loose[i]
		if l.arrived.After(before) {
			i++
			continue
		}
		p := a.oldestPending(l.r.Victim.Name, before)
		if p == nil {
			i++
			continue
		}
		a.claim(i, *p) // loose[i] is the next one now
	}
}

// oldestPending takes the oldest kill counted no later than before, still
// waiting for its report, that a victim of that name may be (mayBe) off
// its queue; nil when none.
func (a *Agent) oldestPending(name string, before time.Time) *pendingKill {
	var oldest *pendingKill
	for _, q := range a.pending {
		if len(q) > 0 && !q[0].at.After(before) && (oldest == nil || q[0].at.Before(oldest.at)) && a.mayBe(q[0].c, name) {
			oldest = &q[0]
		}
	}
	if oldest == nil {
		return nil
	}
	p := *oldest
	a.pending[p.c.path] = a.pending[p.c.path][1:]
	return &p
}

// unmatched tells a counted kill no report came for: the oldest report no
// cgroup claimed, if it may be this kill's (mayBe), else the counters
// alone.
func (a *Agent) unmatched(p pendingKill) {
	for i, l := range a.loose {
		if a.mayBe(p.c, l.r.Victim.Name) {
			a.claim(i, p)
			return
		}
	}
	a.tellCounted(p)
}

// claim tells the counted kill p with the i-th report without a cgroup.
func (a *Agent) claim(i int, p pendingKill) {
	l := a.loose[i]
	a.loose = append(a.loose[:i:i], a.loose[i+1:]...)
	l.r.TaskMemcg = p.c.path
	a.tell(a.merge(p.c, p.hit, l.r, p.stat))
}

// mainSettle is how long after a kill the counters alone saw the agent
// looks whether the container's main process still runs: long enough for
// a killed one to have exited (the kernel's OOM reaper frees its memory at
// once; the shim reaps it).
const mainSettle = 2 * time.Second

// tellCounted tells a kill no kernel report explained. Which process died
// is unknown, but a main process that still runs a moment later was not
// the victim: another process was (main_process false). One that is gone
// may have been killed, or have exited when its child was: unknown.
func (a *Agent) tellCounted(p pendingKill) {
	main := p.c.mainPID
	if main <= 0 || !p.pids[main] {
		a.tell(a.counterOnly(p))
		return
	}
	a.after(mainSettle, func() {
		k := a.counterOnly(p)
		if a.running(main) {
			k.MainProcess = "false"
		}
		a.tell(k)
	})
}

// running says whether pid runs and is not on its way out: not a zombie,
// not exiting, no SIGKILL pending.
func (a *Agent) running(pid int) bool {
	dir := filepath.Join(a.cfg.Proc, strconv.Itoa(pid))
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	// pid (comm) state ppid pgrp session tty tpgid flags ...: comm may
	// hold spaces and parentheses, so read after the last ')'.
	i := strings.LastIndexByte(string(stat), ')')
	if err != nil || i < 0 {
		return false
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 7 || f[0] == "Z" || f[0] == "X" || f[0] == "x" {
		return false
	}
	const pfExiting = 0x4
	if flags, err := strconv.ParseUint(f[6], 10, 64); err != nil || flags&pfExiting != 0 {
		return false
	}
	status, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(status), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || k != "SigPnd" && k != "ShdPnd" {
			continue
		}
		if m, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64); err == nil && m&(1<<(9-1)) != 0 {
			return false // SIGKILL pending
		}
	}
	return true
}

// report takes a kernel OOM report.
func (a *Agent) report(kr kreport) {
	r := kr.r
	if r.TaskMemcg == "" && r.Victim.PID > 0 && outsideKubelet(kr.procCg) {
		// Another cgroup's kill (a host service's, a test's): it must not
		// claim a pod's count by kill order.
		a.foreignAt = time.Now()
		if r.Scope == kmsg.ScopeSystem {
			r.TaskMemcg = kr.procCg
			a.tell(a.merge(nil, limitHit{}, r, nil))
		}
		return
	}
	if r.TaskMemcg == "" && r.Victim.PID > 0 {
		path := a.victimCgroup(r.Victim.PID, kr.procCg)
		if path == "" {
			// Wait for the counter that will say where it was. The kernel
			// prints the memcg only in the rate-limited header of a report
			// (ten every five seconds), so a burst of kills leaves reports
			// without it. Without eventfds (a read-only v1 mount) no
			// notification reads the counters before the rescan: read
			// them now.
			a.loose = append(a.loose, kr)
			if len(a.pending) > 0 {
				a.after(a.orderWait, a.pairByOrder)
			}
			a.after(a.cfg.MatchWait+10*time.Millisecond, func() { a.expire(kr) })
			if a.w.noEventfd {
				for _, c := range a.w.byPath {
					a.observe(c, len(retries))
				}
			}
			return
		}
		r.TaskMemcg = path
	}
	path := r.TaskMemcg
	ref := podcgroup.Parse(path)
	c := a.w.byPath[path]
	if c == nil && ref.Level == podcgroup.Container {
		c = a.w.byPath[ref.ContainerPath] // a cgroup nested in the container's
	}
	if c == nil {
		if ref.Level == podcgroup.Outside {
			a.foreignAt = time.Now()
			if r.Scope != kmsg.ScopeSystem {
				return // a cgroup that is not the kubelet's: not a pod's kill
			}
		}
		a.tell(a.merge(nil, limitHit{}, r, nil))
		return
	}
	c.saw(r.Victim.Name)
	if q := a.pending[c.path]; len(q) > 0 {
		a.pending[c.path] = q[1:]
		a.tell(a.merge(c, q[0].hit, r, q[0].stat))
		return
	}
	// The counter moved before the report was printed: read it now.
	kills, hit, err := a.w.read(c)
	switch {
	case err == nil && kills > 0:
		var stat *cgroup.Stat
		if st, err := c.g.Stat(); err == nil {
			stat = &st
		}
		a.tell(a.merge(c, hit, r, stat))
		for i := int64(1); i < kills; i++ {
			a.counted(c, hit)
		}
	case c.unclaimed > 0:
		// A new cgroup whose first kills came before the agent watched
		// it: its starting counter holds them, the report tells them.
		c.unclaimed--
		a.tell(a.merge(c, limitHit{}, r, nil))
	default:
		// The counter did not move: this kill was told already (from
		// the counter, its report late or placed elsewhere). Counting
		// is the counters' job in watched cgroups; nothing is told twice.
	}
}

// victimCgroup finds the cgroup of a victim named only by its PID: among
// the processes of the kills waiting for a report, those last seen in
// watched cgroups, or what /proc said when the report was read. "" when
// none places it (the order of kills may, later: unmatched, expire).
func (a *Agent) victimCgroup(pid int, procCg string) string {
	for path, q := range a.pending {
		for _, p := range q {
			if p.pids[pid] {
				return path
			}
		}
	}
	if path, ok := a.pidCg[pid]; ok && a.w.byPath[path] != nil {
		return path
	}
	// (An exiting process may already show the root cgroup: only a
	// watched path says anything.)
	if a.w.byPath[procCg] != nil {
		return procCg
	}
	if ref := podcgroup.Parse(procCg); ref.Level == podcgroup.Container && a.w.byPath[ref.ContainerPath] != nil {
		return ref.ContainerPath
	}
	if strings.HasPrefix(procCg, "/..") {
		// A path from another cgroup namespace: match its tail.
		tail := procCg
		for strings.HasPrefix(tail, "/..") {
			tail = strings.TrimPrefix(tail, "/..")
		}
		for path := range a.w.byPath {
			if strings.HasSuffix(path, tail) {
				return path
			}
		}
	}
	return ""
}

// mayBe says whether a victim placed by no process the agent saw may be
// c's by the order of kills alone: when no kill outside the watched
// cgroups was seen lately, or when a process of that name was seen in c.
func (a *Agent) mayBe(c *watched, name string) bool {
	return !a.foreignLately() || c.names[name]
}

// foreignLately says whether a kill outside the watched cgroups was seen
// in the last foreignQuiet.
func (a *Agent) foreignLately() bool {
	return !a.foreignAt.IsZero() && time.Since(a.foreignAt) <= foreignQuiet
}

// expire lets a report without a cgroup go that no counted kill took
// (pairByOrder, once more): a kill outside the watched cgroups. A
// system-wide OOM is still told (the node ran out); others were not pods'
// kills.
func (a *Agent) expire(kr kreport) {
	for i, l := range a.loose {
		if l.arrived == kr.arrived && l.r == kr.r {
			if p := a.oldestPending(kr.r.Victim.Name, time.Now()); p != nil {
				a.claim(i, *p)
				return
			}
			a.loose = append(a.loose[:i:i], a.loose[i+1:]...)
			a.foreignAt = time.Now()
			if kr.r.Scope == kmsg.ScopeSystem {
				a.tell(a.merge(nil, limitHit{}, kr.r, nil))
			}
			return
		}
	}
}

func (a *Agent) counterOnly(p pendingKill) *Kill {
	k := &Kill{At: time.Now(), Cgroup: p.c.path, Node: a.cfg.Node, Scope: "unknown", MainProcess: "unknown", FromCounter: true}
	if p.hit.scope != "" {
		k.Scope, k.LimitBytes = ownLimit(p.c, p.hit.scope, p.hit.limit), p.hit.limit
	}
	if p.stat != nil {
		k.AnonBytes, k.FileBytes, k.ShmemStat, k.KernelBytes = p.stat.Anon, p.stat.File, p.stat.Shmem, p.stat.Kernel
	}
	return k
}

func (a *Agent) merge(c *watched, hit limitHit, r *kmsg.Report, stat *cgroup.Stat) *Kill {
	k := &Kill{At: time.Now(), KernelSince: r.Since, Cgroup: r.TaskMemcg, Node: a.cfg.Node, FromKernelLog: true, FromCounter: c != nil,
		VictimPID: r.Victim.PID, VictimName: r.Victim.Name, AnonRSSBytes: r.Victim.AnonRSS, FileRSSBytes: r.Victim.FileRSS, ShmemBytes: r.Victim.ShmemRSS,
		LimitBytes: r.Limit, UsageBytes: r.Usage, MainProcess: "unknown"}
	if c != nil {
		k.Cgroup = c.path
	}
	st := r.Stats
	k.AnonBytes = first(st, "anon", "total_rss", "rss")
	k.FileBytes = first(st, "file", "total_cache", "cache")
	k.ShmemStat = first(st, "shmem", "total_shmem")
	k.KernelBytes = first(st, "kernel")
	if len(st) == 0 && stat != nil {
		// A rate-limited report has no stats: the cgroup's own, read as
		// the kill was counted.
		k.AnonBytes, k.FileBytes, k.ShmemStat, k.KernelBytes = stat.Anon, stat.File, stat.Shmem, stat.Kernel
	}
	ref := podcgroup.Parse(k.Cgroup)
	switch {
	case r.Scope == kmsg.ScopeSystem:
		k.Scope = "system"
	case r.OOMMemcg != "":
		k.Scope = ownLimit(c, podcgroup.Scope(r.OOMMemcg, ref), r.Limit)
	case hit.scope != "":
		// A report past the kernel's rate limit: the counters tell.
		k.Scope = hit.scope
		if k.LimitBytes == 0 {
			k.LimitBytes = hit.limit
		}
	default:
		k.Scope = "unknown"
	}
	if c != nil && r.Victim.PID > 0 {
		main := c.mainPID
		if main == 0 || main != r.Victim.PID && !a.alive(main) {
			main = a.w.mainPID(c)
		}
		switch {
		case main == 0:
			// Nothing is left in the container: its main process is gone
			// (in a container of its own PID namespace the others die
			// with it).
			k.MainProcess = "true"
		default:
			k.MainProcess = strconv.FormatBool(main == r.Victim.PID)
		}
	}
	return k
}

// ownLimit is the scope of a kill at limit: the kubelet sets the pod's
// limit to the sum of its containers', so with one container the two are
// equal and the kernel may hit either first (the pod's also holds the
// sandbox's few pages). A container whose own limit is not below the
// pod's reached it alone: its own.
func ownLimit(c *watched, scope string, limit int64) string {
	if scope == "pod" && c != nil && limit > 0 {
		if own, err := c.g.Limit(); err == nil && own > 0 && own >= limit {
			return "container"
		}
	}
	return scope
}

func first(m map[string]int64, keys ...string) int64 {
	for _, k := range keys {
		if v, ok := m[k]; ok {
			return v
		}
	}
	return 0
}

// tell finds the kill's pod and container, waiting a little for a pod or
// container the agent has not seen yet, and hands it to the sinks.
func (a *Agent) tell(k *Kill) {
	a.resolve(k, time.Now())
}

func (a *Agent) resolve(k *Kill, since time.Time) {
	ref := podcgroup.Parse(k.Cgroup)
	k.PodUID, k.ContainerID = ref.PodUID, ref.ContainerID
	if ref.PodUID != "" {
		if p := a.cfg.Pods.Lookup(ref.PodUID); p != nil {
			k.Namespace, k.Pod = p.Namespace, p.Name
			if name, ok := p.Containers[ref.ContainerID]; ok || ref.ContainerID == "" {
				k.Container = name
			} else if time.Since(since) < a.cfg.ResolveWait {
				a.after(100*time.Millisecond, func() { a.resolve(k, since) })
				return
			}
		} else if time.Since(since) < a.cfg.ResolveWait {
			a.after(100*time.Millisecond, func() { a.resolve(k, since) })
			return
		}
	}
	a.kills.Add(1)
	for _, s := range a.cfg.Sinks {
		s.Kill(k)
	}
}
