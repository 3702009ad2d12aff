package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	pmodel "github.com/prometheus/common/model"
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"

	"github.com/oomdoctor/oomdoctor/internal/recommend"
	"github.com/oomdoctor/oomdoctor/internal/replay"
	"github.com/oomdoctor/oomdoctor/internal/usage"
	"github.com/oomdoctor/oomdoctor/internal/words"
)

// days is a duration flag that also takes d (days) and w (weeks).
type days struct{ d *time.Duration }

func (v days) String() string {
	if *v.d%(24*time.Hour) == 0 && *v.d > 0 {
		return fmt.Sprintf("%dd", *v.d/(24*time.Hour))
	}
	return v.d.String()
}
func (v days) Type() string { return "duration" }
func (v days) Set(s string) error {
	for suffix, unit := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			f, err := strconv.ParseFloat(n, 64)
			if err != nil || f < 0 {
				return fmt.Errorf("%q is not a duration like 7d, 2w or 36h", s)
			}
			*v.d = time.Duration(f * float64(unit))
			return nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return fmt.Errorf("%q is not a duration like 7d, 2w or 36h", s)
	}
	*v.d = d
	return nil
}

// ReplayOptions are the options of `oomdoctor replay`.
type ReplayOptions struct {
	genericiooptions.IOStreams
	Trace       string
	Train, Test time.Duration
	Rolling     time.Duration
	Strategies  []string
	DropFactor  float64
	MinChange   float64
	Offset      time.Duration
	Output      string
	Namespace   string
	Snapshot    string
	PerSeries   bool
	prom        *promFlags
	now         func() time.Time
}

// NewReplayCommand builds `oomdoctor replay`.
func NewReplayCommand(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &ReplayOptions{IOStreams: streams, Train: 7 * 24 * time.Hour, Test: 7 * 24 * time.Hour, DropFactor: 4, MinChange: recommend.MinChange, Output: "table", prom: newPromFlags(flags, streams.ErrOut), now: time.Now}
	cmd := &cobra.Command{
		Use:   "replay (--trace FILE | --prometheus-url URL [-n NS] | --prometheus-service NS/NAME|auto [-n NS] | --snapshot DIR) [--train 7d --test 7d | --rolling 7d]",
		Short: "Compare sizing strategies on a usage trace or a cluster's history: OOM kills and slack side by side",
		Long: `Replay memory-sizing strategies on a trace (CSV: series,unix_seconds,usage_bytes
[,provisioned_bytes], gzip or not; sorted by series or by time), or on a cluster's own history in
Prometheus (--prometheus-url): one series per workload container, all replicas together, with
the OOM kills kube-state-metrics saw; or on a snapshot's series files (--snapshot), the same way.

Train/test (the default): each series trains on its first --train, the limit is set, and the
next --test is counted against it: a series "has an OOM" when its usage goes above the limit at
least once; the relative slack is the mean of (limit - usage) / limit. The request is priced
too: the share of the time usage is above it (memory the node lends, which eviction takes back
first), and its slack, (request - usage) / request where usage is under it. --rolling instead trains
on the first period and recommends again every period and after every kill, the way each
strategy would run (usage above the limit is a kill; the strategy then sees the usage capped at
the limit, as monitoring would). A new limit within --min-change of the current one keeps the
current one, unless a kill asks for more, as oomdoctor recommend does.

Samples above --drop-factor x the provisioned memory are dropped (trace quirks); series whose
training window is all zero, and series too short for the replayed window, are skipped; the
counts are reported. --offset skips the start of every series, to replay its later weeks.

From Prometheus, the usage was lived under the limits of the time: demand above them was never
seen. A real kill is demand above the limit it happened at: in training it enters each strategy
as a kill; in the replayed window it is an OOM of every strategy whose limit was at or below
that limit (above it nobody knows, and it is not counted). --history (default: the replayed
windows, 28d rolling) ends at --until or now.

Strategies: ` + strings.Join(recommend.Names(), ", ") + ` (default: all).`,
		Example: `  oomdoctor replay --trace bitbrains-rnd-2013-7.csv.gz
  oomdoctor replay --trace bitbrains-rnd-2013-7.csv.gz --offset 14d
  oomdoctor replay --prometheus-url http://127.0.0.1:9090 -n shop --rolling 7d
  oomdoctor replay --snapshot examples/snapshot --train 2d --test 1d --per-series
  oomdoctor replay --trace trace.csv --rolling 7d --strategies tail,peak-2x -o json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return o.Run(cmd) },
	}
	f := cmd.Flags()
	f.StringVar(&o.Trace, "trace", "", "The trace file.")
	f.Var(days{&o.Train}, "train", "Training window (train/test mode).")
	f.Var(days{&o.Test}, "test", "Replayed window (train/test mode).")
	f.Var(days{&o.Rolling}, "rolling", "Rolling mode: recommend again every period.")
	f.Var(days{&o.Offset}, "offset", "Skip the first DURATION of each series; training starts there (--offset 7d trains on the second week: weeks no constant was chosen on).")
	f.Var(percent{&o.MinChange}, "min-change", "Rolling mode: keep the limit when the new one is within this much of it (as recommend does); 0 counts every change above 1%.")
	f.StringSliceVar(&o.Strategies, "strategies", nil, "Strategies to compare (default: all), e.g. tail,tail:p=1e-3,tail:p=1e-2:floor=1,krr.")
	f.Float64Var(&o.DropFactor, "drop-factor", o.DropFactor, "Drop samples above this many times the provisioned memory (0: keep all).")
	f.StringVarP(&o.Output, "output", "o", o.Output, "Output format: table, json or yaml.")
	f.BoolVar(&o.PerSeries, "per-series", false, "Also show every series: each strategy's limit, and whether it was OOM-killed (table: one row per series; json/yaml: series).")
	f.StringVarP(&o.Namespace, "namespace", "n", "", "With --prometheus-url or --snapshot: only this namespace (default: every namespace).")
	f.StringVar(&o.Snapshot, "snapshot", "", "A snapshot folder: its series files (*.om, *.csv), a workload container's history from its pods, as from Prometheus; the history ends at its capture time.")
	o.prom.add(f)
	// Two of the Prometheus flags mean something else here.
	h := f.Lookup("history")
	h.Usage, h.DefValue = "How much usage history to read, e.g. 14d, 28d or 2w (default: the replayed windows, --offset + --train + --test; 28d with --rolling).", ""
	f.Lookup("step").Usage = "Resolution of the history: each point is the highest value within a step (max_over_time); auto is 5m, the resolution every strategy is replayed at."
	return cmd
}

// Run replays.
func (o *ReplayOptions) Run(cmd *cobra.Command) error {
	sources := 0
	for _, set := range []bool{o.Trace != "", o.prom.set(), o.Snapshot != ""} {
		if set {
			sources++
		}
	}
	if sources != 1 {
		return usagef("give the usage history: --trace FILE, --prometheus-url URL, --prometheus-service NAMESPACE/NAME|auto or --snapshot DIR (one of them)")
	}
	if o.Trace != "" && cmd.Flags().Changed("namespace") {
		return usagef("--namespace goes with --prometheus-url or --snapshot, not --trace")
	}
	if err := o.prom.misused(cmd.Flags(), o.Trace != ""); err != nil {
		return err
	}
	switch o.Output {
	case "table", "json", "yaml":
	default:
		return usagef("unknown output format %q: valid formats are json, table, yaml", o.Output)
	}
	strategies, err := pickStrategies(o.Strategies)
	if err != nil {
		return err
	}
	opts := replay.Options{Train: o.Train, Test: o.Test, Rolling: o.Rolling, DropFactor: o.DropFactor, MinChange: o.MinChange, Offset: o.Offset, PerSeries: o.PerSeries}
	if cmd.Flags().Changed("rolling") && (cmd.Flags().Changed("train") || cmd.Flags().Changed("test")) {
		return usagef("--rolling replaces --train and --test: give one or the other")
	}
	if cmd.Flags().Changed("rolling") && o.Rolling == 0 {
		return usagef("--rolling 0s: give the period between recommendations, more than 0, like 7d (or --train and --test)")
	}
	if err := opts.Check(); err != nil {
		return asUsage(err)
	}
	read := func(fn func(*usage.Series) error) error { return usage.ReadTraceFile(o.Trace, fn) }
	var pr *historyReplay
	if o.prom.set() || o.Snapshot != "" {
		need := o.Offset + o.Train + o.Test
		if o.Rolling > 0 {
			need = o.Offset + 2*o.Rolling
		}
		if !cmd.Flags().Changed("history") {
			h := need
			if o.Rolling > 0 {
				h = max(need, 28*24*time.Hour)
			}
			o.prom.History = pmodel.Duration(h).String()
		}
		pr = &historyReplay{pf: o.prom, snapshot: o.Snapshot, ns: o.Namespace, need: need, now: o.now(), errOut: o.ErrOut}
		if read, err = pr.read(cmd.Context()); err != nil {
			return err
		}
	}
	start := time.Now()
	rep, err := replay.Run(read, strategies, opts)
	if pr != nil {
		for _, n := range pr.notes {
			fmt.Fprintln(o.ErrOut, "note:", n)
		}
		if err != nil {
			return err
		}
		rep.Notes = pr.notes
	} else if err != nil {
		return asUsage(err) // the trace file's
	}
	if pr != nil && rep.SeriesRead == 0 {
		return pr.empty()
	}
	if len(rep.Rows) > 0 && rep.Rows[0].Series == 0 {
		what := "--train and --test"
		if o.Rolling > 0 {
			what = "--rolling"
		}
		if rep.SkippedShort == 0 {
			hint := "" // from a cluster: containers killed before any sample, or idle
			if o.Trace != "" {
				hint = " (is the usage column bytes?)"
			}
			return usagef("no series read has usage in its training window (%d all zero): nothing to size from%s", rep.SkippedZero, hint)
		}
		return usagef("none of the %d series read covers the replayed windows (%d all zero in training, %d too short): give shorter %s, or a smaller --offset", rep.SeriesRead, rep.SkippedZero, rep.SkippedShort, what)
	}
	switch o.Output {
	case "json":
		enc := json.NewEncoder(o.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	case "yaml":
		b, err := yaml.Marshal(rep)
		if err != nil {
			return err
		}
		_, err = o.Out.Write(b)
		return err
	}
	writeReplay(o.Out, rep, opts)
	fmt.Fprintf(o.ErrOut, "replayed %d samples of %d series in %v\n", rep.Samples, rep.SeriesRead, time.Since(start).Round(time.Millisecond))
	return nil
}

func pickStrategies(names []string) ([]recommend.Strategy, error) {
	if len(names) == 0 {
		return recommend.All(), nil
	}
	var out []recommend.Strategy
	for _, n := range names {
		s, err := recommend.Lookup(n)
		if err != nil {
			return nil, asUsage(err)
		}
		out = append(out, s)
	}
	return out, nil
}

func writeReplay(w io.Writer, rep *replay.Report, o replay.Options) {
	from := ""
	if o.Offset > 0 {
		from = fmt.Sprintf(" (each series from %s after its first sample)", days{&o.Offset})
	}
	if rep.Mode == "rolling" {
		fmt.Fprintf(w, "rolling replay%s, a new recommendation every %s and after each kill; limits within %s of the current one are kept\n", from, days{&o.Rolling}, percent{&rep.MinChange})
	} else {
		fmt.Fprintf(w, "train %s%s, replay the next %s against the limit\n", days{&o.Train}, from, days{&o.Test})
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	head := "STRATEGY\tSERIES\tWITH AN OOM\tMEAN RELATIVE SLACK\tTIME ABOVE REQUEST\tREQUEST SLACK\tSTATE/CONTAINER"
	if rep.Mode == "rolling" {
		head += "\tOOM EPISODES\tLIMIT CHANGES"
	}
	fmt.Fprintln(tw, head)
	for _, r := range rep.Rows {
		fmt.Fprintf(tw, "%s\t%d\t%.1f%%\t%.1f%%\t%.1f%%\t%.1f%%\t%d B", r.Strategy, r.Series, 100*r.OOMShare, 100*r.Slack, 100*r.OverRequest, 100*r.RequestSlack, r.StateBytes)
		if rep.Mode == "rolling" {
			fmt.Fprintf(tw, "\t%d\t%d", r.Episodes, r.LimitChanges)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	per := "the replayed window's"
	if rep.Mode == "rolling" {
		per = "each week's"
	}
	fmt.Fprintf(w, "hindsight: a limit at %s own peak, known only afterwards, leaves %.1f%% slack with no OOM: no strategy without OOMs can leave less\n", per, 100*rep.HindsightSlack)
	dropped := fmt.Sprintf("%s above %gx provisioned dropped", words.Count(rep.DroppedSamples, "sample"), rep.DropFactor)
	if rep.DropFactor == 0 {
		dropped = "no sample dropped (drop factor 0)"
	}
	fmt.Fprintf(w, "%d series read; %s; skipped %d all-zero and %d too-short series\n", rep.SeriesRead, dropped, rep.SkippedZero, rep.SkippedShort)
	// one or many: the verb that goes with n series.
	verb := func(n int, one, many string) string {
		if n == 1 {
			return one
		}
		return many
	}
	if n := rep.PartialSeries; n > 0 {
		all := ""
		if len(rep.Rows) > 0 && n == rep.Rows[0].Series {
			all = " (all of them: a shorter --test, --train or --offset replays whole windows)"
			if rep.Mode == "rolling" {
				all = ""
			}
		}
		fmt.Fprintf(w, "%d series %s before the replayed window does: replayed over the part they cover%s\n", n, verb(n, "ends", "end"), all)
	}
	if n := rep.KilledSeries; n > 0 {
		fmt.Fprintf(w, "%d series %s OOM-killed for real in the replayed window: a kill at or above a strategy's limit is an OOM of it\n", n, verb(n, "was", "were"))
	}
	if len(rep.PerSeries) == 0 {
		return
	}
	// Each strategy's limit per series, OOM where it was killed (rolling:
	// the last limit and how many kills).
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	head = "SERIES\tKILLED"
	for _, r := range rep.Rows {
		head += "\t" + strings.ToUpper(r.Strategy)
	}
	fmt.Fprintln(tw, head)
	for _, s := range rep.PerSeries {
		killed := "-"
		if s.Killed {
			killed = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s", s.Name, killed)
		for _, x := range s.Strategies {
			cell := fmt.Sprintf("%dMi", (x.LimitBytes+1<<20-1)>>20) // replayed limits are not rounded: whole MiB, up
			switch {
			case x.Episodes > 0:
				cell += fmt.Sprintf(" OOM x%d", x.Episodes)
			case x.OOM:
				cell += " OOM"
			}
			fmt.Fprintf(tw, "\t%s", cell)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}
