//go:build linux

package profile

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/oomdoctor/oomdoctor/internal/cgroup"
	"github.com/oomdoctor/oomdoctor/internal/kmsg"
	"github.com/oomdoctor/oomdoctor/test/alloc"
)

// The test binary doubles as the Go allocator (test/alloc).
func TestMain(m *testing.M) {
	alloc.IfAsked(300 * time.Millisecond)
	os.Exit(m.Run())
}

func hierarchy(t *testing.T) cgroup.Hierarchy {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("profile tests need root: they create memory cgroups (run them as root, as make test does)")
	}
	h, err := cgroup.Detect("/", cgroup.RealStatFS)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func run(t *testing.T, argv []string, o Options) *Report {
	t.Helper()
	o.Hierarchy = hierarchy(t)
	if o.Kmsg == "" {
		o.Kmsg = "/dev/kmsg"
	}
	o.Interval = 20 * time.Millisecond
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := Run(ctx, argv, o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(rep.Cgroup); !os.IsNotExist(err) {
		t.Errorf("cgroup %s left behind (%v)", rep.Cgroup, err)
	}
	return rep
}

// A command that uses almost nothing is still sized at the 4Mi a
// container runs in (its cgroup holds the runtime's own start too), not
// at 1.5x its peak.
func TestTinyPeakSizedAtTheFloor(t *testing.T) {
	rep := run(t, []string{"/bin/true"}, Options{})
	if rep.ExitCode != 0 || rep.PeakBytes*3/2 >= 4<<20 {
		t.Fatalf("exit %d, peak %s: want a peak under 2.7Mi", rep.ExitCode, Human(rep.PeakBytes))
	}
	if rep.RecommendedLimitBytes != 4<<20 || rep.RecommendedRequestBytes != 4<<20 || !strings.Contains(rep.Explanation, "request 4.0Mi, limit 4.0Mi (1.5x the peak is under 4.0Mi, the smallest a container runs in)") {
		t.Errorf("request %d, limit %d: %s", rep.RecommendedRequestBytes, rep.RecommendedLimitBytes, rep.Explanation)
	}
}

func TestGoAllocatorWithoutLimit(t *testing.T) {
	rep := run(t, alloc.Argv(48), Options{})
	if rep.KilledByKernel || rep.ExitCode != 0 {
		t.Fatalf("exit %d, killed %v", rep.ExitCode, rep.KilledByKernel)
	}
	if rep.PeakBytes < 48<<20 || rep.PeakBytes > 160<<20 {
		t.Errorf("peak %s, want a little above 48Mi", Human(rep.PeakBytes))
	}
	if rep.AtPeak.Anon < 40<<20 {
		t.Errorf("anon at peak %s, want most of the 48Mi", Human(rep.AtPeak.Anon))
	}
	if len(rep.Timeline) < 5 {
		t.Errorf("only %d samples over %dms", len(rep.Timeline), rep.DurationMs)
	}
	if rep.RecommendedLimitBytes < rep.PeakBytes*3/2 || rep.RecommendedLimitBytes > rep.PeakBytes*3/2+(1<<20) {
		t.Errorf("limit %d for peak %d, want 1.5x rounded up to MiB", rep.RecommendedLimitBytes, rep.PeakBytes)
	}
	if rep.RecommendedRequestBytes <= 0 || rep.RecommendedRequestBytes > rep.RecommendedLimitBytes {
		t.Errorf("request %d, limit %d", rep.RecommendedRequestBytes, rep.RecommendedLimitBytes)
	}
	if !strings.Contains(rep.Explanation, "The peak charge was "+Human(rep.PeakBytes)) {
		t.Errorf("explanation: %s", rep.Explanation)
	}
	if rep.PeakIsLowerBound || rep.NextLimitBytes != 0 || rep.KernelLog != "/dev/kmsg" {
		t.Errorf("a whole run: peak a lower bound %v, next limit %d, kernel log %q", rep.PeakIsLowerBound, rep.NextLimitBytes, rep.KernelLog)
	}
}

// A kill at the limit hides how much the command needs: the peak is the
// limit, and 1.5x of it would be a limit the command is killed at again
// (the allocator asks for 400Mi). Nothing is sized; the next run is
// under twice the limit.
func TestKilledRunSizesNothing(t *testing.T) {
	rep := run(t, alloc.Argv(400), Options{Limit: 64 << 20})
	if !rep.KilledByKernel {
		t.Fatalf("not killed: exit %d", rep.ExitCode)
	}
	if !rep.PeakIsLowerBound || rep.RecommendedLimitBytes != 0 || rep.RecommendedRequestBytes != 0 {
		t.Errorf("peak a lower bound %v, recommended request %d limit %d; want a lower bound and nothing sized", rep.PeakIsLowerBound, rep.RecommendedRequestBytes, rep.RecommendedLimitBytes)
	}
	if rep.NextLimitBytes != 128<<20 {
		t.Errorf("next limit %s, want 128Mi", Human(rep.NextLimitBytes))
	}
	if !strings.Contains(rep.Explanation, "only a lower bound") || !strings.Contains(rep.Explanation, "--limit 128Mi") {
		t.Errorf("explanation: %s", rep.Explanation)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("recommendedLimitBytes")) || !bytes.Contains(b, []byte(`"nextLimitBytes":134217728`)) {
		t.Errorf("JSON: %s", b)
	}
}

// A short spike over a low average: the request is a quarter of the
// limit, not the average, which would let the scheduler overcommit the
// node (lint's memory-request-far-below-limit).
func TestSpikeRequestAtAQuarterOfTheLimit(t *testing.T) {
	rep := &Report{PeakBytes: 200 << 20, Timeline: []Sample{{Usage: 200 << 20}}}
	for range 39 {
		rep.Timeline = append(rep.Timeline, Sample{Usage: 5 << 20})
	}
	summarize(rep)
	if rep.RecommendedLimitBytes != 300<<20 || rep.RecommendedRequestBytes != 75<<20 {
		t.Errorf("request %s, limit %s: want 75Mi and 300Mi", Human(rep.RecommendedRequestBytes), Human(rep.RecommendedLimitBytes))
	}
	if !strings.Contains(rep.Explanation, "the request is 1/4 of the limit, not the average 9.9Mi") {
		t.Errorf("explanation: %s", rep.Explanation)
	}
}

// Without a limit, the kill is the machine's; a limit twice none is no
// advice. The report is built from the counts, as after a run on a full
// machine.
func TestSystemKillNamesNoNextLimit(t *testing.T) {
	for _, rep := range []*Report{
		{KilledByKernel: true, OOMKills: 1, PeakBytes: 900 << 20},
		{KilledByKernel: true, OOMKills: 1, LimitBytes: 1 << 30, PeakBytes: 900 << 20, Victims: []Victim{{Name: "app", Scope: "system"}}},
	} {
		summarize(rep)
		if !rep.PeakIsLowerBound || rep.NextLimitBytes != 0 || rep.RecommendedLimitBytes != 0 {
			t.Errorf("limit %d: lower bound %v, next %d, recommended %d", rep.LimitBytes, rep.PeakIsLowerBound, rep.NextLimitBytes, rep.RecommendedLimitBytes)
		}
		if !strings.Contains(rep.Explanation, "The machine ran out of memory") {
			t.Errorf("explanation: %s", rep.Explanation)
		}
	}
}

// Each runtime's out-of-memory error names what to raise: a heap flag
// where the runtime has one, the system's refusal where it has none.
func TestOutOfMemoryAdvice(t *testing.T) {
	for msg, want := range map[string]string{
		"java.lang.OutOfMemoryError: Java heap space": "-Xmx",
		"JavaScript heap out of memory":               "--max-old-space-size",
		"System.OutOfMemoryException: Array":          "DOTNET_GCHeapHardLimit",
		"fatal error: runtime: out of memory":         "ulimit -v",
		"fatal error: out of memory":                  "ulimit -v",
		"MemoryError":                                 "ulimit -v",
	} {
		rep := &Report{RuntimeOutOfMemory: msg, LimitBytes: 256 << 20, PeakBytes: 140 << 20}
		summarize(rep)
		if !rep.PeakIsLowerBound || rep.NextLimitBytes != 0 || rep.RecommendedLimitBytes != 0 || !strings.Contains(rep.Explanation, want) {
			t.Errorf("%s: lower bound %v, next %d, recommended %d, explanation %q; want %q", msg, rep.PeakIsLowerBound, rep.NextLimitBytes, rep.RecommendedLimitBytes, rep.Explanation, want)
		}
	}
}

// auto reads syslog(2) where the device cannot be opened (a container
// without /dev/kmsg), and still names the victim.
func TestKernelLogAutoFallsBackToSyslog(t *testing.T) {
	defer func(d string) { kernelLogDevice = d }(kernelLogDevice)
	kernelLogDevice = filepath.Join(t.TempDir(), "no-kmsg")
	rep := run(t, alloc.Argv(400), Options{Limit: 64 << 20, Kmsg: KernelLogAuto})
	if rep.KernelLog != kmsg.Syslog || rep.KernelLogError != "" {
		t.Fatalf("kernel log %q (%s), want syslog", rep.KernelLog, rep.KernelLogError)
	}
	if !rep.KilledByKernel || len(rep.Victims) != 1 || !rep.Victims[0].MainProcess {
		t.Errorf("killed %v, victims %+v; want the allocator, named through syslog(2)", rep.KilledByKernel, rep.Victims)
	}
}

// auto with neither the device nor syslog(2) (CAP_SYSLOG dropped) runs
// anyway: the kill is counted, the victims are unnamed, and the report
// says why.
func TestKernelLogAutoWithoutEither(t *testing.T) {
	defer func(d string, o func(bool, time.Duration) (*kmsg.Reader, error)) { kernelLogDevice, openSyslog = d, o }(kernelLogDevice, openSyslog)
	kernelLogDevice = filepath.Join(t.TempDir(), "no-kmsg")
	openSyslog = func(bool, time.Duration) (*kmsg.Reader, error) {
		return nil, fmt.Errorf("reading the kernel log through syslog(2): %w", unix.EPERM)
	}
	rep := run(t, alloc.Argv(400), Options{Limit: 64 << 20, Kmsg: KernelLogAuto})
	if !rep.KilledByKernel || len(rep.Victims) != 0 || rep.KernelLog != "" {
		t.Errorf("killed %v, victims %+v, kernel log %q; want a kill with no victim named", rep.KilledByKernel, rep.Victims, rep.KernelLog)
	}
	if !strings.Contains(rep.KernelLogError, "no-kmsg") || !strings.Contains(rep.KernelLogError, "syslog(2)") {
		t.Errorf("kernel log error %q, want both refusals", rep.KernelLogError)
	}
}

// A kernel log named that cannot be read is an error before anything
// runs: no cgroup, no command.
func TestKernelLogNamedButUnreadable(t *testing.T) {
	h := hierarchy(t)
	mark := filepath.Join(t.TempDir(), "ran")
	_, err := Run(context.Background(), []string{"/bin/sh", "-c", "touch " + mark}, Options{Hierarchy: h, Kmsg: filepath.Join(t.TempDir(), "no-kmsg")})
	var kerr *KernelLogError
	if !errors.As(err, &kerr) || !strings.Contains(kerr.Source, "no-kmsg") {
		t.Fatalf("err %v, want a KernelLogError", err)
	}
	if _, err := os.Stat(mark); err == nil {
		t.Error("the command ran")
	}
	left, _ := filepath.Glob(filepath.Join(h.Dir, fmt.Sprintf("oomdoctor-profile-%d-*", os.Getpid())))
	if len(left) != 0 {
		t.Errorf("cgroups left: %v", left)
	}
}

func TestGoAllocatorKilledUnderLimit(t *testing.T) {
	rep := run(t, alloc.Argv(400), Options{Limit: 64 << 20})
	if !rep.KilledByKernel || rep.OOMKills != 1 {
		t.Fatalf("killed %v (%d kills), exit %d", rep.KilledByKernel, rep.OOMKills, rep.ExitCode)
	}
	if rep.Signal != "killed" || rep.ExitCode != 137 {
		t.Errorf("signal %q exit %d, want SIGKILL and 137", rep.Signal, rep.ExitCode)
	}
	if rep.PeakBytes < 60<<20 || rep.PeakBytes > 64<<20+64<<10 {
		t.Errorf("peak %s, want the 64Mi limit", Human(rep.PeakBytes))
	}
	if len(rep.Victims) != 1 {
		t.Fatalf("victims %+v, want the allocator", rep.Victims)
	}
	v := rep.Victims[0]
	if !v.MainProcess || v.Scope != "own limit" || v.AnonRSSBytes < 40<<20 {
		t.Errorf("victim %+v, want the main process, own limit, most of 64Mi anon", v)
	}
	if !strings.Contains(rep.Explanation, "OOM killer killed 1 process") || !strings.Contains(rep.Explanation, "the main process") {
		t.Errorf("explanation: %s", rep.Explanation)
	}
}

// A child is killed and PID 1 lives on: the exit code is 0, the kill is
// still reported, and the victim is not the main process.
func TestChildKilledMainSurvives(t *testing.T) {
	child := strings.Join(alloc.Argv(400), " ")
	rep := run(t, []string{"/bin/sh", "-c", child + "; echo child gone; exit 0"}, Options{Limit: 64 << 20})
	if !rep.KilledByKernel || rep.ExitCode != 0 || rep.Signal != "" {
		t.Fatalf("killed %v, exit %d %q", rep.KilledByKernel, rep.ExitCode, rep.Signal)
	}
	if len(rep.Victims) != 1 || rep.Victims[0].MainProcess {
		t.Fatalf("victims %+v, want one child (kernel log records lost: %d)", rep.Victims, rep.KernelLogLost)
	}
	if !strings.Contains(rep.Explanation, "a process it started was the one killed") {
		t.Errorf("explanation: %s", rep.Explanation)
	}
}

// Files in tmpfs are charged to the cgroup as shmem and cannot be
// reclaimed: the writer is killed and the report says why.
func TestTmpfsWriterKilled(t *testing.T) {
	hierarchy(t)
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=256m"); err != nil {
		t.Fatalf("mounting a tmpfs: %v", err)
	}
	defer func() {
		if err := unix.Unmount(dir, 0); err != nil {
			t.Error(err)
		}
	}()
	rep := run(t, []string{"/bin/dd", "if=/dev/zero", "of=" + filepath.Join(dir, "fill"), "bs=1M", "count=200"}, Options{Limit: 48 << 20})
	if !rep.KilledByKernel {
		t.Fatalf("not killed: exit %d, peak %s", rep.ExitCode, Human(rep.PeakBytes))
	}
	if rep.AtPeak.Shmem < 24<<20 || rep.AtPeak.Shmem < rep.AtPeak.Anon {
		t.Errorf("at peak %+v, want mostly shmem", rep.AtPeak)
	}
	if !strings.Contains(rep.Explanation, "memory-backed folder") {
		t.Errorf("explanation: %s", rep.Explanation)
	}
}

func javaClass(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("javac"); err != nil {
		t.Fatal("javac is missing: make deps installs openjdk-17-jdk-headless")
	}
	dir := t.TempDir()
	src := `import java.util.ArrayList;
public class Hog {
    public static void main(String[] a) {
        ArrayList<byte[]> keep = new ArrayList<>();
        for (int n = 0; n < 2048; n++) {
            byte[] b = new byte[1 << 20];
            for (int i = 0; i < b.length; i += 4096) b[i] = 1;
            keep.add(b);
        }
        System.out.println(keep.size());
    }
}
`
	if err := os.WriteFile(filepath.Join(dir, "Hog.java"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("javac", "-d", dir, filepath.Join(dir, "Hog.java")).CombinedOutput(); err != nil {
		t.Fatalf("javac: %v\n%s", err, out)
	}
	return dir
}

// The JVM's heap above the limit: the kernel kills it. Below: the JVM
// throws OutOfMemoryError and exits 1, which is not an OOM kill.
func TestJVMHeapAboveVersusBelowLimit(t *testing.T) {
	cp := javaClass(t)
	above := run(t, []string{"java", "-Xmx512m", "-XX:TieredStopAtLevel=1", "-cp", cp, "Hog"}, Options{Limit: 256 << 20})
	if !above.KilledByKernel || above.ExitCode != 137 || above.RuntimeOutOfMemory != "" {
		t.Errorf("-Xmx512m under 256Mi: killed %v, exit %d, runtime OOM %q; want a kernel kill", above.KilledByKernel, above.ExitCode, above.RuntimeOutOfMemory)
	}
	if len(above.Victims) == 0 || above.Victims[0].Name != "java" {
		t.Errorf("victims %+v, want java", above.Victims)
	}
	below := run(t, []string{"java", "-Xmx128m", "-XX:TieredStopAtLevel=1", "-cp", cp, "Hog"}, Options{Limit: 256 << 20})
	if below.KilledByKernel || below.ExitCode != 1 {
		t.Errorf("-Xmx128m under 256Mi: killed %v, exit %d; want exit 1 without a kill", below.KilledByKernel, below.ExitCode)
	}
	if !strings.HasPrefix(below.RuntimeOutOfMemory, "java.lang.OutOfMemoryError") {
		t.Errorf("runtime OOM %q", below.RuntimeOutOfMemory)
	}
	if !strings.Contains(below.Explanation, "not an OOM kill") {
		t.Errorf("explanation: %s", below.Explanation)
	}
	if below.PeakBytes >= 256<<20 {
		t.Errorf("peak %s reached the limit without a kill", Human(below.PeakBytes))
	}
	// The heap ran out: the run shows a lower bound, and the advice is
	// the heap flag, not a limit.
	if !below.PeakIsLowerBound || below.RecommendedLimitBytes != 0 || below.NextLimitBytes != 0 || !strings.Contains(below.Explanation, "-Xmx") {
		t.Errorf("lower bound %v, recommended %d, next %d, explanation %s", below.PeakIsLowerBound, below.RecommendedLimitBytes, below.NextLimitBytes, below.Explanation)
	}
}

// The load generator runs beside the command, outside its cgroup, and is
// stopped when the command ends.
func TestLoadGeneratorRunsAndStops(t *testing.T) {
	mark := filepath.Join(t.TempDir(), "load")
	load := fmt.Sprintf("echo $$ > %s; while :; do sleep 0.05; done", mark)
	rep := run(t, alloc.Argv(16), Options{Load: load})
	if rep.ExitCode != 0 {
		t.Fatalf("exit %d", rep.ExitCode)
	}
	b, err := os.ReadFile(mark)
	if err != nil {
		t.Fatalf("the load generator never ran: %v", err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if pid <= 0 {
		t.Fatalf("pid %q", b)
	}
	deadline := time.Now().Add(3 * time.Second)
	for unix.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			_ = unix.Kill(pid, unix.SIGKILL)
			t.Fatalf("load generator %d still runs after the command ended", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Its memory is not the command's: 16Mi of allocation, not more than
	// the runtime on top.
	if rep.PeakBytes > 120<<20 {
		t.Errorf("peak %s", Human(rep.PeakBytes))
	}
}

// Ctrl-C (ctx done) stops the command and reports the run until then:
// a server is profiled until it is stopped. The shell ignores nothing,
// but its background sleep holds the output open after it dies: that
// one is killed after the grace, and the cgroup is removed.
func TestInterruptReportsTheRun(t *testing.T) {
	h := hierarchy(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	rep, err := Run(ctx, []string{"/bin/sh", "-c", "sleep 60 & sleep 60"}, Options{Hierarchy: h, Stdout: io.Discard, Stderr: io.Discard, StopGrace: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Stopped != StoppedInterrupt || rep.StoppedAtMs < 100 || rep.StoppedAtMs > 5000 || rep.Failed || rep.RecommendedLimitBytes < 4<<20 {
		t.Errorf("stopped %q at %dms, failed %v, limit %d: want interrupted about 300ms in and sized", rep.Stopped, rep.StoppedAtMs, rep.Failed, rep.RecommendedLimitBytes)
	}
	if rep.DurationMs > 20000 {
		t.Errorf("ran %dms after a stop at %dms", rep.DurationMs, rep.StoppedAtMs)
	}
	if !strings.Contains(rep.Explanation, "The run was interrupted after 0.") || !strings.Contains(rep.Explanation, "the figures are of the run until then") {
		t.Errorf("explanation: %s", rep.Explanation)
	}
	left, _ := filepath.Glob(filepath.Join(h.Dir, fmt.Sprintf("oomdoctor-profile-%d-*", os.Getpid())))
	if len(left) != 0 {
		t.Errorf("cgroups left: %v", left)
	}
}

// Ctrl-C reaches the command too, and it may end before profile hears
// of it: a command ended by SIGINT was interrupted, not failed.
func TestCommandInterruptedFirst(t *testing.T) {
	rep := run(t, []string{"/bin/sh", "-c", "kill -INT $$"}, Options{})
	if rep.Stopped != StoppedInterrupt || rep.Failed || rep.Signal != "interrupt" || rep.RecommendedLimitBytes != 4<<20 {
		t.Errorf("stopped %q, failed %v, signal %q, limit %d: want interrupted and sized", rep.Stopped, rep.Failed, rep.Signal, rep.RecommendedLimitBytes)
	}
}

// --duration stops a command that would run on: SIGTERM ends sleep, and
// its run is sized; one that ignores SIGTERM is killed after the grace,
// and the report says so.
func TestDurationStopsTheCommand(t *testing.T) {
	rep := run(t, []string{"sleep", "60"}, Options{Duration: 300 * time.Millisecond, StopGrace: 5 * time.Second})
	if rep.Stopped != StoppedDuration || rep.Signal != "terminated" || rep.ExitCode != 143 || rep.Failed || rep.RecommendedLimitBytes != 4<<20 {
		t.Errorf("stopped %q, signal %q, exit %d, failed %v, limit %d", rep.Stopped, rep.Signal, rep.ExitCode, rep.Failed, rep.RecommendedLimitBytes)
	}
	if strings.Contains(rep.Explanation, "did not exit") || !regexp.MustCompile(`The run was stopped after 0\.[0-9]s, as asked: the figures`).MatchString(rep.Explanation) {
		t.Errorf("explanation: %s", rep.Explanation)
	}

	rep = run(t, []string{"/bin/sh", "-c", "trap '' TERM; sleep 60"}, Options{Duration: 200 * time.Millisecond, StopGrace: 300 * time.Millisecond})
	if rep.Stopped != StoppedDuration || rep.Signal != "killed" || rep.Failed || rep.KilledByKernel {
		t.Errorf("stopped %q, signal %q, failed %v, OOM %v", rep.Stopped, rep.Signal, rep.Failed, rep.KilledByKernel)
	}
	if !regexp.MustCompile(`\(it did not exit on SIGTERM, and was killed [0-9.]+s later\)`).MatchString(rep.Explanation) {
		t.Errorf("explanation: %s", rep.Explanation)
	}
}

// A command that fails by itself, by its exit code or a signal that is
// not an OOM kill, sizes nothing: its peak is of a run that did not do
// its work.
func TestFailedRunSizesNothing(t *testing.T) {
	for argv, want := range map[string]string{
		"exit 3":        "The command failed (exit code 3, after ",
		"kill -SEGV $$": `The command failed (ended by the signal "segmentation fault", after `,
		"kill -9 $$":    `The command failed (ended by the signal "killed", after `,
	} {
		rep := run(t, []string{"/bin/sh", "-c", argv}, Options{})
		if !rep.Failed || rep.KilledByKernel || rep.PeakIsLowerBound || rep.RecommendedLimitBytes != 0 || rep.RecommendedRequestBytes != 0 {
			t.Errorf("%s: failed %v, OOM %v, lower bound %v, request %d, limit %d; want failed, nothing sized", argv, rep.Failed, rep.KilledByKernel, rep.PeakIsLowerBound, rep.RecommendedRequestBytes, rep.RecommendedLimitBytes)
		}
		if !strings.Contains(rep.Explanation, want) || !strings.Contains(rep.Explanation, "nothing is sized from it") {
			t.Errorf("%s: explanation: %s", argv, rep.Explanation)
		}
	}
}

func TestRuntimeOOMMessages(t *testing.T) {
	for in, want := range map[string]string{
		"Exception in thread \"main\" java.lang.OutOfMemoryError: Java heap space\n\tat Hog.main": "java.lang.OutOfMemoryError: Java heap space",
		"FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory":       "Reached heap limit Allocation failed - JavaScript heap out of memory",
		"fatal error: runtime: out of memory\n\nruntime stack:":                                   "runtime: out of memory",
		// Go 1.26 says what it could not allocate, then "fatal error: out of memory".
		"runtime: out of memory: cannot allocate 4194304-byte block (276561920 in use)\nfatal error: out of memory": "runtime: out of memory: cannot allocate 4194304-byte block (276561920 in use)",
		"Killed": "",
	} {
		if got := runtimeOOM([]byte(in)); got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}

// One writer for the command's stdout and stderr (profile -o json sends
// both to stderr): the two copies take turns, nothing is lost (make test
// runs this package under the race detector).
func TestOneWriterForStdoutAndStderr(t *testing.T) {
	var both bytes.Buffer
	script := `i=0; while [ $i -lt 200 ]; do echo out$i; echo err$i >&2; i=$((i+1)); done`
	rep := run(t, []string{"/bin/sh", "-c", script}, Options{Stdout: &both, Stderr: &both})
	if rep.ExitCode != 0 {
		t.Fatalf("exit %d", rep.ExitCode)
	}
	lines := strings.Fields(both.String())
	if len(lines) != 400 {
		t.Fatalf("%d lines, want 400: %q", len(lines), both.String())
	}
	for _, want := range []string{"out0", "out199", "err0", "err199"} {
		if !slices.Contains(lines, want) {
			t.Errorf("no %s in the output", want)
		}
	}
}
