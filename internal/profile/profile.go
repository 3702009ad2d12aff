//go:build linux

// Package profile runs a command in a fresh memory cgroup and measures what
// it really uses: the peak the kernel charged (memory.max_usage_in_bytes or
// memory.peak), the anon / page cache / shmem breakdown over time, and, with
// a limit, whether the kernel OOM-killed it, which process, and why; or
// whether the runtime gave up on its own first (a Java OutOfMemoryError is
// not a kill).
package profile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/oomdoctor/oomdoctor/internal/cgroup"
	"github.com/oomdoctor/oomdoctor/internal/fix"
	"github.com/oomdoctor/oomdoctor/internal/kmsg"
	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/recommend"
	"github.com/oomdoctor/oomdoctor/internal/runtimes"
)

// Options say how to profile.
type Options struct {
	// Hierarchy is where to make the cgroup.
	Hierarchy cgroup.Hierarchy
	// Limit is the memory limit to run under (0: none).
	Limit int64
	// Interval between samples.
	Interval time.Duration
	// Load is a shell command run beside the profiled one (outside its
	// cgroup) for as long as it runs: a load generator.
	Load string
	// Kmsg is the kernel log to read victims from: a device (/dev/kmsg),
	// kmsg.Syslog (the syslog(2) system call), KernelLogAuto (the device,
	// else syslog(2), else none, the report saying why), or "" (none).
	// A kernel log named, not auto, that cannot be read is an error.
	Kmsg string
	// Stdin feeds the command; Stdout and Stderr receive its output (nil
	// discards it; one writer may be both).
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Duration, when set, ends the run after that long: the command is
	// asked to stop (SIGTERM), as a server profiled for a while is.
	Duration time.Duration
	// StopGrace is how long a command asked to stop (Duration, or ctx
	// done: Ctrl-C) has to exit before everything in its cgroup is
	// killed (default 10s).
	StopGrace time.Duration
}

// Why a run ended before the command did by itself (Report.Stopped).
const (
	// StoppedInterrupt: profile was interrupted (Ctrl-C, SIGTERM), or
	// the command was (SIGINT, or exit code 130), whichever was first.
	StoppedInterrupt = "interrupt"
	// StoppedDuration: Options.Duration ran out.
	StoppedDuration = "duration"
)

// interruptWait is how long a command has, after profile is
// interrupted, to exit on the signal a terminal's Ctrl-C sent it too,
// before it is sent SIGTERM.
const interruptWait = time.Second

// KernelLogAuto reads /dev/kmsg, or through syslog(2) where the device
// cannot be opened (a container without it); when neither can be read
// the run goes on and its report says why the victims are unnamed.
const KernelLogAuto = "auto"

// syslogEvery is how often a syslog(2) kernel log is read when nothing
// pokes it; a kill pokes it at once.
const syslogEvery = time.Second

// KernelLogError is a kernel log named to profile that cannot be read.
type KernelLogError struct {
	Source string
	Err    error
}

func (e *KernelLogError) Error() string { return e.Err.Error() }
func (e *KernelLogError) Unwrap() error { return e.Err }

// The kernel log auto reads: the device, else syslog(2) (variables for
// the tests of the way down).
var (
	kernelLogDevice = "/dev/kmsg"
	openSyslog      = kmsg.OpenSyslog
)

// openKernelLog opens the kernel log src names (see Options.Kmsg), from
// its end. It returns the source read ("" for none).
func openKernelLog(src string) (*kmsg.Reader, string, error) {
	switch src {
	case "":
		return nil, "", nil
	case kmsg.Syslog:
		r, err := openSyslog(true, syslogEvery)
		return r, src, err
	case KernelLogAuto:
		r, err := kmsg.Open(kernelLogDevice, true)
		if err == nil {
			return r, kernelLogDevice, nil
		}
		r, serr := openSyslog(true, syslogEvery)
		if serr == nil {
			return r, kmsg.Syslog, nil
		}
		return nil, "", fmt.Errorf("%w; and %w", err, serr)
	}
	r, err := kmsg.Open(src, true)
	return r, src, err
}

// Sample is the cgroup's memory at one moment.
type Sample struct {
	// At is milliseconds from the start.
	At    int64 `json:"atMs"`
	Usage int64 `json:"usageBytes"`
	Anon  int64 `json:"anonBytes"`
	File  int64 `json:"fileBytes"`
	Shmem int64 `json:"shmemBytes"`
}

// Victim is a process the kernel killed in the cgroup.
type Victim struct {
	PID          int    `json:"pid"`
	Name         string `json:"name"`
	MainProcess  bool   `json:"mainProcess"`
	AnonRSSBytes int64  `json:"anonRssBytes"`
	FileRSSBytes int64  `json:"fileRssBytes"`
	ShmemBytes   int64  `json:"shmemRssBytes"`
	// Scope is "own limit" when the profiled cgroup's limit was hit,
	// "system" for a machine-wide OOM, or the cgroup that was full.
	Scope string `json:"scope"`
}

// Breakdown is memory by kind, in bytes.
type Breakdown struct {
	Anon  int64 `json:"anonBytes"`
	File  int64 `json:"fileBytes"`
	Shmem int64 `json:"shmemBytes"`
}

// Report is what profiling found.
type Report struct {
	APIVersion    string   `json:"apiVersion"`
	Kind          string   `json:"kind"`
	Command       []string `json:"command"`
	Cgroup        string   `json:"cgroup"`
	CgroupVersion string   `json:"cgroupVersion"`
	DurationMs    int64    `json:"durationMs"`
	// ExitCode is the command's exit code; Signal the signal that ended it.
	ExitCode int    `json:"exitCode"`
	Signal   string `json:"signal,omitempty"`
	// Stopped says why the run ended before the command ended by itself:
	// StoppedInterrupt or StoppedDuration ("" when it ended by itself).
	// The peak is the run's until then, and sizes the recommendation.
	Stopped string `json:"stopped,omitempty"`
	// StoppedAtMs is when it was asked to stop, from the start.
	StoppedAtMs int64 `json:"stoppedAtMs,omitempty"`
	// Failed is true when the command failed by itself: a non-zero exit
	// code or a signal, with no OOM kill, no runtime out-of-memory error,
	// and not stopped by profile. A failed run's peak says little of what
	// the command needs: nothing is sized from it.
	Failed bool `json:"failed,omitempty"`
	// KilledByKernel is true when the kernel's OOM killer killed a process
	// of the cgroup (counted by the cgroup's oom_kill counter).
	KilledByKernel bool     `json:"killedByKernel"`
	OOMKills       int64    `json:"oomKills"`
	Victims        []Victim `json:"victims,omitempty"`
	// RuntimeOutOfMemory is the runtime's own out-of-memory message, when
	// it printed one (Java OutOfMemoryError, V8 heap out of memory, Go
	// runtime: out of memory; runtimes.FindOutOfMemory): a heap limit
	// reached, or memory refused, not a kill.
	RuntimeOutOfMemory string `json:"runtimeOutOfMemory,omitempty"`
	// KernelLog is the kernel log the victims were read from: a device
	// or "syslog"; empty when none was read.
	KernelLog string `json:"kernelLog,omitempty"`
	// KernelLogError says why no kernel log could be read (Kmsg auto):
	// the victims of a kill are then unnamed.
	KernelLogError string `json:"kernelLogError,omitempty"`
	// KernelLogLost counts the times the kernel log overwrote records
	// before they were read (a busy machine): victims may be missing.
	KernelLogLost int   `json:"kernelLogLost,omitempty"`
	LimitBytes    int64 `json:"limitBytes,omitempty"`
	// PeakBytes is the highest charge the kernel recorded.
	PeakBytes int64 `json:"peakBytes"`
	// PeakAtMs and AtPeak are the sample closest to the peak.
	PeakAtMs     int64     `json:"peakAtMs"`
	AtPeak       Breakdown `json:"atPeak"`
	AverageBytes int64     `json:"averageBytes"`
	// PeakIsLowerBound is true when the run was cut short by memory (an
	// OOM kill, or the runtime's own heap limit): the command needed more
	// than PeakBytes, how much the run cannot tell, so nothing is sized
	// from it.
	PeakIsLowerBound bool `json:"peakIsLowerBound,omitempty"`
	// NextLimitBytes is the limit to profile under next after a kill at
	// the run's own limit: twice it.
	NextLimitBytes int64 `json:"nextLimitBytes,omitempty"`
	// Recommended request and limit from the peak and the average: the
	// troubleshooting guide's rule (limit 1.5x the peak, request the
	// average, but at least a quarter of the limit), rounded up to MiB,
	// and at least the 4Mi a container runs in. Absent when
	// PeakIsLowerBound or Failed.
	RecommendedRequestBytes int64    `json:"recommendedRequestBytes,omitempty"`
	RecommendedLimitBytes   int64    `json:"recommendedLimitBytes,omitempty"`
	Explanation             string   `json:"explanation"`
	Timeline                []Sample `json:"timeline"`

	// sizedBy says how the recommendation was reached, in words.
	sizedBy string
}

// Run profiles argv. The cgroup is removed at the end, also when ctx is
// cancelled (the command and what it started are killed first).
func Run(ctx context.Context, argv []string, o Options) (*Report, error) {
	if len(argv) == 0 {
		return nil, errors.New("nothing to run")
	}
	// The command runs behind a shell that enters the cgroup first; find
	// it here so that a typo is an error, not a report on the shell.
	if _, err := exec.LookPath(argv[0]); err != nil {
		return nil, fmt.Errorf("cannot run %s: %w", argv[0], err)
	}
	if o.Interval <= 0 {
		o.Interval = 100 * time.Millisecond
	}
	// The kernel log, from now on, for the victims' names and sizes.
	klog, source, err := openKernelLog(o.Kmsg)
	var klogErr string
	switch {
	case err != nil && o.Kmsg != KernelLogAuto:
		return nil, &KernelLogError{Source: o.Kmsg, Err: err}
	case err != nil:
		klogErr = err.Error()
	}
	if klog != nil {
		defer klog.Close()
	}
	h := o.Hierarchy
	g, err := h.Create(fmt.Sprintf("oomdoctor-profile-%d-%d", os.Getpid(), time.Now().UnixNano()%1e6))
	if err != nil {
		return nil, err
	}
	defer g.Remove()
	if o.Limit > 0 {
		if err := g.SetLimit(o.Limit); err != nil {
			return nil, fmt.Errorf("setting the limit: %w", err)
		}
	}
	rep := &Report{APIVersion: "oomdoctor.io/v1alpha1", Kind: "ProfileReport", Command: argv, Cgroup: g.Path, CgroupVersion: h.Version.String(), LimitBytes: o.Limit,
		KernelLog: source, KernelLogError: klogErr}

	var victims []*kmsg.Report
	var kmu sync.Mutex
	var lost int
	// seen holds every process seen in the cgroup: past ten reports in
	// five seconds the kernel prints only the "Killed process" line, which
	// names the victim's PID but not its cgroup.
	seen := map[int]bool{}
	var loose []*kmsg.Report
	ours := func() []*kmsg.Report { // under kmu
		out := append([]*kmsg.Report(nil), victims...)
		for _, r := range loose {
			if seen[r.Victim.PID] {
				out = append(out, r)
			}
		}
		return out
	}
	if klog != nil {
		go func() {
			var a kmsg.Assembler
			for {
				rec, err := klog.Next()
				if errors.Is(err, kmsg.ErrOverwritten) {
					kmu.Lock()
					lost++
					kmu.Unlock()
					continue
				}
				if err != nil {
					return
				}
				r, ok := a.Add(rec)
				if !ok {
					continue
				}
				if r.TaskMemcg == "" && r.Victim.PID > 0 {
					// An exiting process may already show the root
					// cgroup: only a path of ours says anything.
					if cg, err := cgroup.OfPID("/proc", r.Victim.PID, h.Version); err == nil && strings.HasSuffix(cg, g.Path) {
						r.TaskMemcg = cg
					} else {
						// Placed at the end, by the processes seen.
						kmu.Lock()
						loose = append(loose, r)
						kmu.Unlock()
						continue
					}
				}
				if within(r, g.Path) {
					kmu.Lock()
					victims = append(victims, r)
					kmu.Unlock()
				}
			}
		}()
	}

	// The cgroup's OOM notifications: on v1 the eventfd fires as the OOM
	// begins, on v2 as the kill is counted; either way the victim is still
	// among the cgroup's processes, to be placed when the kernel's report
	// names it only by PID.
	if n, err := g.NewNotifier(); err == nil {
		go func() {
			defer n.Release()
			for n.Wait() == nil {
				klog.Poke() // a syslog(2) log is read now, not at its interval
				if pids, err := g.Procs(); err == nil {
					kmu.Lock()
					for _, p := range pids {
						seen[p] = true
					}
					kmu.Unlock()
				}
			}
		}()
		defer n.Close()
	}

	var stderrTail tailBuffer
	cmd := g.Command(argv[0], argv[1:]...)
	cmd.Stdin = o.Stdin
	// The command's stdout and stderr are copied by two goroutines; the
	// caller may give one writer for both (profile -o json sends the
	// command's output to stderr), so their writes take turns.
	var outMu sync.Mutex
	stdout, stderr := o.Stdout, o.Stderr
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	cmd.Stdout = &lockedWriter{mu: &outMu, w: stdout}
	cmd.Stderr = io.MultiWriter(&lockedWriter{mu: &outMu, w: stderr}, &stderrTail)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", argv[0], err)
	}
	var load *exec.Cmd
	if o.Load != "" {
		load = exec.Command("/bin/sh", "-c", o.Load)
		load.Stdout, load.Stderr = io.Discard, io.Discard
		load.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := load.Start(); err != nil {
			_ = cmd.Process.Kill()
			return nil, fmt.Errorf("starting the load generator: %w", err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	tick := time.NewTicker(o.Interval)
	defer tick.Stop()
	sample := func() {
		s := Sample{At: time.Since(start).Milliseconds()}
		s.Usage, _ = g.Usage()
		if pids, err := g.Procs(); err == nil {
			kmu.Lock()
			for _, p := range pids {
				seen[p] = true
			}
			kmu.Unlock()
		}
		if st, err := g.Stat(); err == nil {
			s.Anon, s.File, s.Shmem = st.Anon, st.File, st.Shmem
		}
		rep.Timeline = append(rep.Timeline, s)
	}
	sample()
	// Stopping: Options.Duration, or ctx done (Ctrl-C, which a terminal
	// sends the command as well), asks the command to stop, then kills
	// what is left after StopGrace. The report is of the run until then.
	grace := o.StopGrace
	if grace <= 0 {
		grace = 10 * time.Second
	}
	var durationC, termC, killC <-chan time.Time
	if o.Duration > 0 {
		t := time.NewTimer(o.Duration)
		defer t.Stop()
		durationC = t.C
	}
	ctxDone := ctx.Done()
	stop := func(why string, wait time.Duration) {
		ctxDone, durationC = nil, nil
		rep.Stopped, rep.StoppedAtMs = why, time.Since(start).Milliseconds()
		termC = time.After(wait)
	}
loop:
	for {
		select {
		case <-done:
			break loop
		case <-tick.C:
			sample()
		case <-durationC:
			stop(StoppedDuration, 0)
		case <-ctxDone:
			stop(StoppedInterrupt, interruptWait)
		case <-termC:
			termC = nil
			// As the kubelet stops a container: SIGTERM to the main
			// process alone, which stops its children its own way.
			_ = cmd.Process.Signal(syscall.SIGTERM)
			killC = time.After(grace)
		case <-killC:
			killC = nil
			killAll(g)
		}
	}
	rep.DurationMs = time.Since(start).Milliseconds()
	if load != nil {
		_ = syscall.Kill(-load.Process.Pid, syscall.SIGTERM)
		_ = load.Wait()
	}
	// Children the command left behind are part of what it did; the
	// cgroup goes now, with them.
	sample()
	rep.PeakBytes, _ = g.Peak()
	rep.OOMKills, _ = g.OOMKills()
	rep.KilledByKernel = rep.OOMKills > 0
	killAll(g)

	rep.ExitCode = cmd.ProcessState.ExitCode()
	interrupted := false
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		rep.Signal = ws.Signal().String()
		rep.ExitCode = 128 + int(ws.Signal())
		interrupted = ws.Signal() == syscall.SIGINT
	}
	// A terminal's Ctrl-C reaches the command as it reaches profile: the
	// command may end before profile hears of it. Ended by SIGINT, or
	// with the code shells give after one (130), it was interrupted too.
	if rep.Stopped == "" && (ctx.Err() != nil || interrupted || rep.ExitCode == 130) {
		rep.Stopped, rep.StoppedAtMs = StoppedInterrupt, rep.DurationMs
	}
	if rep.KilledByKernel && klog != nil {
		// The kernel writes its report as it kills; give it a moment
		// (more on a busy machine).
		klog.Poke()
		deadline := time.Now().Add(2 * time.Second)
		for time.Now().Before(deadline) {
			kmu.Lock()
			n := len(ours())
			kmu.Unlock()
			if int64(n) >= rep.OOMKills {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if klog != nil {
		klog.Close()
		kmu.Lock()
		rep.KernelLogLost = lost
		kmu.Unlock()
	}
	kmu.Lock()
	for _, v := range ours() {
		if v.TaskMemcg == "" {
			v.TaskMemcg = g.Path
			v.Scope = kmsg.ScopeCgroup
		}
		rep.Victims = append(rep.Victims, victimOf(v, g.Path, cmd.Process.Pid))
	}
	kmu.Unlock()
	rep.RuntimeOutOfMemory = runtimeOOM(stderrTail.Bytes())
	summarize(rep)
	return rep, nil
}

// within tells whether an OOM report concerns the cgroup at path.
func within(r *kmsg.Report, path string) bool {
	return strings.HasSuffix(r.TaskMemcg, path) || strings.HasSuffix(r.OOMMemcg, path)
}

func victimOf(r *kmsg.Report, path string, mainPID int) Victim {
	v := Victim{PID: r.Victim.PID, Name: r.Victim.Name, AnonRSSBytes: r.Victim.AnonRSS, FileRSSBytes: r.Victim.FileRSS, ShmemBytes: r.Victim.ShmemRSS}
	// The profiled command runs as the shell's exec, so its PID is the
	// shell's.
	v.MainProcess = r.Victim.PID == mainPID
	switch {
	case r.Scope == kmsg.ScopeSystem:
		v.Scope = "system"
	case strings.HasSuffix(r.OOMMemcg, path), r.OOMMemcg == "" && r.Scope == kmsg.ScopeCgroup:
		// (A rate-limited report does not say whose limit; the profiled
		// cgroup is the only one with a limit on its way to the root.)
		v.Scope = "own limit"
	default:
		v.Scope = r.OOMMemcg
	}
	return v
}

func killAll(g *cgroup.Group) {
	pids, _ := g.Procs()
	for _, p := range pids {
		_ = syscall.Kill(p, syscall.SIGKILL)
	}
}

// runtimeOOM finds a runtime's own out-of-memory message.
func runtimeOOM(stderr []byte) string {
	oom, _ := runtimes.FindOutOfMemory(string(stderr))
	return oom.Message
}

func summarize(rep *Report) {
	var sum int64
	best := -1
	for i, s := range rep.Timeline {
		sum += s.Usage
		if best < 0 || s.Usage > rep.Timeline[best].Usage {
			best = i
		}
	}
	if n := int64(len(rep.Timeline)); n > 0 {
		rep.AverageBytes = sum / n
	}
	if best >= 0 {
		s := rep.Timeline[best]
		rep.PeakAtMs = s.At
		rep.AtPeak = Breakdown{Anon: s.Anon, File: s.File, Shmem: s.Shmem}
		if rep.PeakBytes < s.Usage {
			rep.PeakBytes = s.Usage
		}
	}
	// A run cut short by memory shows only a lower bound of the demand:
	// the guide's rule applied to it would size a limit the command is
	// killed at again.
	rep.PeakIsLowerBound = rep.KilledByKernel || rep.RuntimeOutOfMemory != ""
	rep.Failed = !rep.PeakIsLowerBound && rep.Stopped == "" && rep.ExitCode != 0
	switch {
	case rep.Failed:
	case rep.PeakIsLowerBound:
		if rep.KilledByKernel && rep.LimitBytes > 0 && !systemWide(rep) {
			rep.NextLimitBytes = (2*rep.LimitBytes + 1<<20 - 1) &^ (1<<20 - 1)
		}
	default:
		t := fix.FromPeak{Peak: rep.PeakBytes, Average: rep.AverageBytes, Factor: 1.5}.Target()
		rep.RecommendedRequestBytes, rep.RecommendedLimitBytes = *t.Request, *t.Limit
		rep.sizedBy = "1.5x the peak"
		if floor := recommend.Base(); float64(rep.PeakBytes)*1.5 < floor.Floor {
			rep.sizedBy = fmt.Sprintf("1.5x the peak is under %s, %s", mib(int64(floor.Floor)), floor.FloorWhy)
		} else if rep.RecommendedRequestBytes > fix.RoundUp(rep.AverageBytes) {
			rep.sizedBy += fmt.Sprintf("; the request is 1/%g of the limit, not the average %s: one far under the limit lets the scheduler overcommit the node", float64(model.MaxLimitRequestRatio), mib(rep.AverageBytes))
		}
	}
	rep.Explanation = explain(rep)
}

// systemWide tells whether the kill came from the whole machine running
// out of memory, not from a limit: no limit was set, or a victim's
// report says so.
func systemWide(rep *Report) bool {
	if rep.LimitBytes == 0 {
		return true
	}
	for _, v := range rep.Victims {
		if v.Scope == "system" {
			return true
		}
	}
	return false
}

func explain(rep *Report) string {
	var b strings.Builder
	oom, _ := runtimes.FindOutOfMemory(rep.RuntimeOutOfMemory)
	switch {
	case rep.KilledByKernel:
		fmt.Fprintf(&b, "The kernel's OOM killer killed %d process(es) in the cgroup: its charge reached the %s limit (anon %s, page cache %s, shmem/tmpfs %s at the highest sample).",
			rep.OOMKills, mib(rep.LimitBytes), mib(rep.AtPeak.Anon), mib(rep.AtPeak.File), mib(rep.AtPeak.Shmem))
		for _, v := range rep.Victims {
			who := "a child process"
			if v.MainProcess {
				who = "the main process"
			}
			fmt.Fprintf(&b, " Victim: %s %s (pid %d, anon-rss %s, shmem-rss %s; %s).", who, v.Name, v.PID, mib(v.AnonRSSBytes), mib(v.ShmemBytes), v.Scope)
		}
		if rep.Signal == "" && rep.ExitCode != 137 {
			fmt.Fprintf(&b, " The command itself exited with code %d: a process it started was the one killed.", rep.ExitCode)
		}
		if rep.AtPeak.Shmem > rep.AtPeak.Anon {
			b.WriteString(" Most of the charge was shmem/tmpfs: files in a memory-backed folder count against the limit and cannot be reclaimed.")
		}
	case rep.RuntimeOutOfMemory != "" && oom.HeapLimited():
		fmt.Fprintf(&b, "No kernel kill: the runtime ran out of its own heap first (%s) and exited with code %d. Its heap limit is below the memory limit, so it fails with an out-of-memory error, not an OOM kill; the peak charge was %s.",
			rep.RuntimeOutOfMemory, rep.ExitCode, mib(rep.PeakBytes))
	case rep.RuntimeOutOfMemory != "":
		fmt.Fprintf(&b, "No kernel kill: an allocation was refused (%s) and the command exited with code %d. Its runtime has no heap limit, and a cgroup's limit never refuses an allocation (it reclaims, then kills), so something else did; the peak charge was %s.",
			rep.RuntimeOutOfMemory, rep.ExitCode, mib(rep.PeakBytes))
	case rep.LimitBytes > 0:
		fmt.Fprintf(&b, "It ran under the %s limit without an OOM kill; the peak charge was %s (%s of the limit).", mib(rep.LimitBytes), mib(rep.PeakBytes), pct(rep.PeakBytes, rep.LimitBytes))
	default:
		fmt.Fprintf(&b, "The peak charge was %s (anon %s, page cache %s, shmem/tmpfs %s at the highest sample), the average %s.", mib(rep.PeakBytes), mib(rep.AtPeak.Anon), mib(rep.AtPeak.File), mib(rep.AtPeak.Shmem), mib(rep.AverageBytes))
	}
	switch rep.Stopped {
	case StoppedInterrupt:
		fmt.Fprintf(&b, " The run was interrupted after %s and the command stopped", seconds(rep.StoppedAtMs))
	case StoppedDuration:
		fmt.Fprintf(&b, " The run was stopped after %s, as asked", seconds(rep.StoppedAtMs))
	}
	if rep.Stopped != "" {
		if rep.Signal == "killed" && !rep.KilledByKernel {
			fmt.Fprintf(&b, " (it did not exit on SIGTERM, and was killed %s later)", seconds(rep.DurationMs-rep.StoppedAtMs))
		}
		b.WriteString(": the figures are of the run until then.")
	}
	switch {
	case rep.KilledByKernel && rep.NextLimitBytes > 0:
		fmt.Fprintf(&b, " The kill cut the run short, so its peak is only a lower bound of what the command needs, and nothing is sized from it: profile it again under --limit %dMi (twice this one), or without --limit, to measure its real peak.", rep.NextLimitBytes>>20)
	case rep.KilledByKernel:
		b.WriteString(" The machine ran out of memory before the command finished, so its peak is only a lower bound of what it needs, and nothing is sized from it: profile it where more memory is free.")
	case rep.Failed:
		fmt.Fprintf(&b, " The command failed (%s) with no OOM kill: a failed run's peak says little of what it needs, and nothing is sized from it: make it run (its error output is above) and profile it again.", ending(rep))
	case rep.PeakIsLowerBound:
		fmt.Fprintf(&b, " The run was cut short, so its peak is only a lower bound of what the command needs, and nothing is sized from it: %s, and profile it again.", oom.Advice())
	default:
		fmt.Fprintf(&b, " From this run: request %s, limit %s (%s); a longer run under real load is a better base (--load).", mib(rep.RecommendedRequestBytes), mib(rep.RecommendedLimitBytes), rep.sizedBy)
	}
	return b.String()
}

// ending says how a command ended: its exit code, or the signal.
func ending(rep *Report) string {
	if rep.Signal != "" {
		return fmt.Sprintf("ended by the signal %q, after %s", rep.Signal, seconds(rep.DurationMs))
	}
	return fmt.Sprintf("exit code %d, after %s", rep.ExitCode, seconds(rep.DurationMs))
}

func seconds(ms int64) string { return fmt.Sprintf("%.1fs", float64(ms)/1000) }

// Human prints a measured size for people: 19.9Mi, 1.2Gi.
func Human(b int64) string {
	switch {
	case b <= 0:
		return "0"
	case b >= 10<<30:
		return fmt.Sprintf("%.1fGi", float64(b)/(1<<30))
	default:
		return fmt.Sprintf("%.1fMi", float64(b)/(1<<20))
	}
}

func mib(b int64) string { return Human(b) }

func pct(a, b int64) string {
	if b <= 0 {
		return "?"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(a)/float64(b))
}

// lockedWriter writes to w under mu, which writers to the same place
// share.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// tailBuffer keeps the last 64 KiB written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(p)
	if t.buf.Len() > 64<<10 {
		rest := t.buf.Bytes()[t.buf.Len()-64<<10:]
		t.buf = *bytes.NewBuffer(append([]byte(nil), rest...))
	}
	return len(p), nil
}

func (t *tailBuffer) Bytes() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]byte(nil), t.buf.Bytes()...)
}
