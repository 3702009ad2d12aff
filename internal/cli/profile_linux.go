package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/oomdoctor/oomdoctor/internal/cgroup"
	"github.com/oomdoctor/oomdoctor/internal/chart"
	"github.com/oomdoctor/oomdoctor/internal/profile"
	"github.com/oomdoctor/oomdoctor/internal/words"
)

// ProfileOptions are the options of `oomdoctor profile`.
type ProfileOptions struct {
	genericiooptions.IOStreams
	Limit      string
	Interval   time.Duration
	Load       string
	Duration   time.Duration
	Output     string
	FailOnKill bool
	Root       string
	Kmsg       string
}

// NewProfileCommand builds `oomdoctor profile`.
func NewProfileCommand(streams genericiooptions.IOStreams) *cobra.Command {
	o := &ProfileOptions{IOStreams: streams, Interval: 100 * time.Millisecond, Output: "text", Root: "/", Kmsg: profile.KernelLogAuto}
	cmd := &cobra.Command{
		Use:   "profile [--limit Q] [--load CMD] -- COMMAND [ARGS...]",
		Short: "Run a command in its own memory cgroup and report its real peak; with --limit, reproduce an OOM kill",
		Long: `Run a command (and everything it starts) in a fresh memory cgroup, sample its memory,
and report the real peak the kernel charged (memory.max_usage_in_bytes / memory.peak), the
anon / page cache / shmem breakdown at the peak, a timeline, and a request and limit from it.

With --limit the command runs under that memory limit, as in a container: the report says
whether the kernel's OOM killer struck, which process (from the kernel log), whether it was
the main process, and the scope; or whether the runtime gave up first (a Java
OutOfMemoryError is an exception, not a kill). --load runs a load generator beside it for as
long as it runs.

A server runs until stopped: --duration stops it after that long, and Ctrl-C stops it at
once; either way it gets SIGTERM (after Ctrl-C, a second to exit on the terminal's own SIGINT
first), then SIGKILL 10 seconds later, and the report is of the run until then. A command
that fails by itself (an exit code other than 0, or a signal, with no OOM kill) sizes nothing.
The cgroup is removed at the end. Needs root.`,
		Example: `  oomdoctor profile -- ./server --port 8080
  oomdoctor profile --limit 256Mi -- java -Xmx512m -jar app.jar
  oomdoctor profile --limit 512Mi --load 'hey -z 60s http://127.0.0.1:8080/' -- ./server
  oomdoctor profile --duration 10m -- ./server --port 8080`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.ArgsLenAtDash() < 0 && len(args) > 0 || len(args) == 0 {
				return usagef("give the command after --: oomdoctor profile [flags] -- COMMAND [ARGS...]")
			}
			return o.Run(cmd, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Limit, "limit", "", "Memory limit to run under, e.g. 256Mi (default: none).")
	f.DurationVar(&o.Interval, "interval", o.Interval, "Time between samples.")
	f.StringVar(&o.Load, "load", "", "A shell command to run beside it as load (outside its cgroup), stopped when it ends.")
	f.DurationVar(&o.Duration, "duration", 0, "Stop the command after this long (SIGTERM, then SIGKILL 10s later), e.g. 10m for a server (default: until it exits, or Ctrl-C).")
	f.StringVarP(&o.Output, "output", "o", o.Output, "Output format: text or json.")
	f.BoolVar(&o.FailOnKill, "fail-on-kill", false, "Exit 1 when the kernel OOM-killed a process of the command.")
	f.StringVar(&o.Root, "root", o.Root, "Root of the filesystem holding /sys/fs/cgroup.")
	f.StringVar(&o.Kmsg, "kmsg", o.Kmsg, "Kernel log to read the victims from: a device (/dev/kmsg), syslog (the syslog(2) system call, CAP_SYSLOG and no device), auto (the device, else syslog(2), else none, the report saying why), or empty (do not read it).")
	return cmd
}

// Run profiles the command.
func (o *ProfileOptions) Run(cmd *cobra.Command, args []string) error {
	if o.Output != "text" && o.Output != "json" {
		return usagef("unknown output format %q: valid formats are json, text", o.Output)
	}
	var limit int64
	if o.Limit != "" {
		q, err := resource.ParseQuantity(o.Limit)
		if err != nil || q.Value() < 4<<20 {
			return usagef("--limit %q: give a memory size of at least 4Mi, like 256Mi", o.Limit)
		}
		limit = q.Value()
	}
	if o.Duration < 0 {
		return usagef("--duration %s: give a positive duration, like 10m", o.Duration)
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("profile needs root to create a memory cgroup")
	}
	h, err := cgroup.Detect(o.Root, cgroup.RealStatFS)
	if err != nil {
		return err
	}
	out := o.Out
	if o.Output == "json" {
		out = o.ErrOut // the command's own output must not mix with the JSON
	}
	rep, err := profile.Run(cmd.Context(), args, profile.Options{
		Hierarchy: h, Limit: limit, Interval: o.Interval, Load: o.Load, Kmsg: o.Kmsg, Duration: o.Duration,
		Stdin: o.In, Stdout: out, Stderr: o.ErrOut,
	})
	var klogErr *profile.KernelLogError
	if errors.As(err, &klogErr) {
		return fmt.Errorf("--kmsg %s: %w; --kmsg auto goes on without a kernel log it cannot read (the victims of a kill are then unnamed)", klogErr.Source, klogErr.Err)
	}
	if err != nil {
		return err
	}
	if o.Output == "json" {
		enc := json.NewEncoder(o.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		writeProfile(o.ErrOut, rep)
	}
	if o.FailOnKill && rep.KilledByKernel {
		return &exitStatus{code: ExitFailure}
	}
	return nil
}

func writeProfile(w io.Writer, rep *profile.Report) {
	fmt.Fprintf(w, "\n── oomdoctor profile: %v\n", rep.Command)
	status := fmt.Sprintf("exit code %d", rep.ExitCode)
	if rep.Signal != "" {
		status += " (" + rep.Signal + ")"
	}
	switch rep.Stopped {
	case profile.StoppedInterrupt:
		status = "interrupted, " + status
	case profile.StoppedDuration:
		status = "stopped after --duration, " + status
	}
	fmt.Fprintf(w, "ran %.1fs in cgroup %s (%s), %s\n", float64(rep.DurationMs)/1000, rep.Cgroup, rep.CgroupVersion, status)
	var pts []chart.Point
	for _, s := range rep.Timeline {
		pts = append(pts, chart.Point{At: float64(s.At) / 1000, Value: s.Usage})
	}
	marks := map[float64]rune{}
	if rep.KilledByKernel && len(pts) > 0 {
		marks[pts[len(pts)-1].At] = 'K'
	}
	chart.Render(w, pts, chart.Options{Width: 60, Height: 8, Limit: rep.LimitBytes, Markers: marks, Title: "memory charged to the cgroup"})
	fmt.Fprintf(w, "peak %s  average %s  at peak: anon %s, page cache %s, shmem %s\n",
		profile.Human(rep.PeakBytes), profile.Human(rep.AverageBytes), profile.Human(rep.AtPeak.Anon), profile.Human(rep.AtPeak.File), profile.Human(rep.AtPeak.Shmem))
	if rep.KilledByKernel {
		fmt.Fprintf(w, "OOM-KILLED by the kernel: %s\n", words.Count(rep.OOMKills, "kill"))
	}
	fmt.Fprintf(w, "%s\n", rep.Explanation)
	if rep.KilledByKernel && rep.KernelLogError != "" {
		fmt.Fprintf(w, "victims unnamed: %s\n", rep.KernelLogError)
	}
	switch {
	case rep.NextLimitBytes > 0:
		fmt.Fprintf(w, "recommended: none from this run (its peak is a lower bound); next: --limit %s\n", qty(rep.NextLimitBytes))
	case rep.PeakIsLowerBound:
		fmt.Fprintf(w, "recommended: none from this run (its peak is a lower bound)\n")
	case rep.Failed:
		fmt.Fprintf(w, "recommended: none from this run (the command failed)\n")
	default:
		fmt.Fprintf(w, "recommended: requests.memory %s, limits.memory %s\n", qty(rep.RecommendedRequestBytes), qty(rep.RecommendedLimitBytes))
	}
}

func qty(b int64) string { return resource.NewQuantity(b, resource.BinarySI).String() }
