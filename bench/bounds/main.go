// Command bounds measures how lean a limit set from a week of history can
// be on a trace (make bench-bounds): oracles that know the replayed week
// beforehand, scored on the very series oomdoctor replay replays, next to
// the strategies themselves and a strategy that bets on falls. It is the
// evidence behind the README's account of why no strategy reaches both
// halves of issue 5's goal on the shared trace: limits with krr's own
// margin over the training peak (15%; the rule of thumb and tail keep
// more) leave more slack than krr with as few OOM series as 2x even when
// the next week is known; with no margin at all it takes knowing exactly
// which series rise and how far; and betting on the falls the history
// hints at adds OOM series.
package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/oomdoctor/oomdoctor/internal/recommend"
	"github.com/oomdoctor/oomdoctor/internal/replay"
	"github.com/oomdoctor/oomdoctor/internal/usage"
)

func main() {
	trace := flag.String("trace", "../shared/traces/bitbrains-rnd-2013-7.csv.gz", "the trace file (CSV: series,unix_seconds,usage_bytes[,provisioned_bytes])")
	train := flag.Duration("train", 7*24*time.Hour, "training window")
	test := flag.Duration("test", 7*24*time.Hour, "replayed window")
	offset := flag.Duration("offset", 0, "skip the start of every series")
	drop := flag.Float64("drop-factor", 4, "drop samples above this many times the provisioned memory (0: keep all)")
	flag.Parse()
	read, err := load(*trace)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bounds:", err)
		os.Exit(1)
	}
	o := replay.Options{Train: *train, Test: *test, Offset: *offset, DropFactor: *drop}
	err = run(os.Stdout, read, o)
	if err == nil {
		err = splits(os.Stdout, read, *drop)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bounds:", err)
		os.Exit(1)
	}
}

// load reads the trace once, into memory: every split reads it twice
// (the strategies' replay, then the peaks), seven splits in all. The
// reader reuses its buffers, so each series is copied.
func load(path string) (func(func(*usage.Series) error) error, error) {
	var all []usage.Series
	err := usage.ReadTraceFile(path, func(s *usage.Series) error {
		all = append(all, usage.Series{Name: s.Name, Samples: slices.Clone(s.Samples), Kills: slices.Clone(s.Kills)})
		return nil
	})
	return func(fn func(*usage.Series) error) error {
		for i := range all {
			if err := fn(&all[i]); err != nil {
				return err
			}
		}
		return nil
	}, err
}

// measured is what the bench finds: the strategies' rows, the oracles'
// and the figures the README quotes.
type measured struct {
	rep *replay.Report
	// ratio are quantiles of the next week's peak over the training peak.
	ratio map[float64]float64
	// fell and rose count series whose next peak is under half the
	// training peak, and above it.
	fell, rose, series int
	oracles            []row
	// margin is how close to the next week's own peak, on average, a
	// limit with no OOM must be to leave krr's slack: limits r x the next
	// peak leave it at r = margin.
	margin float64
	bounds []bound
	// bet is a strategy that reads the history for falls (no oracle).
	bet row
}

// bet is what a strategy could read in the history about a fall: a
// series whose last days stayed under half its peak often falls in the
// next week. It sets 2x the recent peak then, 2x the peak otherwise.
func bet(p replay.SeriesPeaks) float64 {
	if p.Recent < p.Train/2 {
		return 2 * p.Recent
	}
	return 2 * p.Train
}

// bound is the least slack of limits at or above margin x each series'
// training peak, knowing the next week, with at most allowed series over
// their limit.
type bound struct {
	margin       float64
	allowed, oom int
	slack        float64
	// foresee is how many series' fall below the margin an oracle must
	// also foresee, setting their limits at their next peak, to leave
	// krr's slack; -1 when no number does.
	foresee int
}

type row struct {
	name  string
	oom   int
	slack float64
}

func measure(read func(func(*usage.Series) error) error, o replay.Options) (*measured, error) {
	rep, err := replay.Run(read, recommend.All(), o)
	if err != nil {
		return nil, err
	}
	ps, _, err := replay.Peaks(read, o)
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return nil, fmt.Errorf("no series to replay: the trace is shorter than --train plus --test, or all zero")
	}
	m := &measured{rep: rep, series: len(ps), ratio: map[float64]float64{}}
	var krr, two replay.Row
	for _, r := range rep.Rows {
		switch r.Strategy {
		case "krr":
			krr = r
		case "peak-2x":
			two = r
		}
	}
	ratios := make([]float64, len(ps))
	for i, p := range ps {
		ratios[i] = p.Next / p.Train
		if p.Next < p.Train/2 {
			m.fell++
		}
		if p.Next > p.Train {
			m.rose++
		}
	}
	sort.Float64s(ratios)
	for _, q := range []float64{0.1, 0.25, 0.5, 0.75, 0.9, 1} {
		m.ratio[q] = ratios[int(math.Ceil(q*float64(len(ratios))))-1]
	}
	hind := func(p replay.SeriesPeaks) float64 { return p.Next }
	oom, slack := replay.Score(ps, hind)
	m.oracles = append(m.oracles, row{"the next week's own peak (hindsight)", oom, slack})
	m.margin = solve(func(r float64) float64 {
		_, s := replay.Score(ps, func(p replay.SeriesPeaks) float64 { return r * p.Next })
		return s
	}, krr.Slack)
	for _, c := range []float64{1, 1.15, 1.5} {
		for _, k := range slices.Compact([]int{0, two.OOMSeries}) {
			b := bound{margin: c, allowed: k, foresee: -1}
			b.slack, b.oom = atLeast(ps, c, k, 0)
			for n := 0; n <= len(ps); n++ {
				if s, _ := atLeast(ps, c, k, n); s <= krr.Slack {
					b.foresee = n
					break
				}
			}
			m.bounds = append(m.bounds, b)
		}
	}
	known := func(below float64) func(replay.SeriesPeaks) float64 {
		return func(p replay.SeriesPeaks) float64 {
			if p.Next > p.Train {
				return 2 * p.Train
			}
			return below * p.Train
		}
	}
	oom, slack = replay.Score(ps, bet)
	m.bet = row{fmt.Sprintf("bets on a fall: 2x the last %d days' peak when it is under half the training peak, else 2x the training peak", replay.RecentDays), oom, slack}
	m.oracles = append(m.oracles, m.bet)
	for _, c := range []float64{1, 1.15} {
		oom, slack := replay.Score(ps, known(c))
		m.oracles = append(m.oracles, row{fmt.Sprintf("knows which series rise: 2x the training peak for them, %gx for the others", c), oom, slack})
	}
	return m, nil
}

// atLeast is the least mean relative slack of limits at or above c x each
// series' training peak with at most k series over their limit (and how
// many are), knowing the next week, when the n series whose fall below
// c x the training peak saves the most slack may be set at their next
// peak instead.
func atLeast(ps []replay.SeriesPeaks, c float64, k, n int) (slack float64, oom int) {
	var sum float64
	var oomGain, fallGain []float64
	for _, p := range ps {
		base := max(c*p.Train, p.Next)
		s := slackAt(base, p)
		sum += s
		if p.Next > c*p.Train {
			oomGain = append(oomGain, s-slackAt(c*p.Train, p))
		} else {
			fallGain = append(fallGain, s-slackAt(p.Next, p))
		}
	}
	sum -= top(oomGain, k) + top(fallGain, n)
	return sum / float64(len(ps)), min(k, len(oomGain))
}

// slackAt is the relative slack a limit l leaves on one series.
func slackAt(l float64, p replay.SeriesPeaks) float64 {
	_, s := replay.Score([]replay.SeriesPeaks{p}, func(replay.SeriesPeaks) float64 { return l })
	return s
}

// top is the sum of the k largest of xs (sorted in place).
func top(xs []float64, k int) float64 {
	sort.Sort(sort.Reverse(sort.Float64Slice(xs)))
	s := 0.0
	for i := 0; i < k && i < len(xs); i++ {
		s += xs[i]
	}
	return s
}

// solve finds r in [1, 100] where f, increasing in r, reaches target, by
// bisection; 1 when f(1) is above it already.
func solve(f func(float64) float64, target float64) float64 {
	lo, hi := 1.0, 100.0
	if f(lo) >= target {
		return lo
	}
	for i := 0; i < 60; i++ {
		mid := (lo + hi) / 2
		if f(mid) < target {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

func run(w io.Writer, read func(func(*usage.Series) error) error, o replay.Options) error {
	m, err := measure(read, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "train %v, replay the next %v: %d series (%d read, %d samples dropped, %d zero and %d short series skipped)\n\n",
		o.Train, o.Test, m.series, m.rep.SeriesRead, m.rep.DroppedSamples, m.rep.SkippedZero, m.rep.SkippedShort)
	fmt.Fprintf(w, "next week's peak / training peak: p10 %.2f, p25 %.2f, median %.2f, p75 %.2f, p90 %.2f, max %.2f; %d series under half (%.0f%%), %d above 1 (%.0f%%)\n\n",
		m.ratio[0.1], m.ratio[0.25], m.ratio[0.5], m.ratio[0.75], m.ratio[0.9], m.ratio[1], m.fell, pct(m.fell, m.series), m.rose, pct(m.rose, m.series))
	fmt.Fprintln(w, "| limit | series with an OOM | mean relative slack |")
	fmt.Fprintln(w, "|---|---|---|")
	for _, r := range m.rep.Rows {
		fmt.Fprintf(w, "| `%s` | %d | %.1f%% |\n", r.Strategy, r.OOMSeries, 100*r.Slack)
	}
	for _, r := range m.oracles {
		fmt.Fprintf(w, "| %s | %d | %.1f%% |\n", r.name, r.oom, 100*r.slack)
	}
	fmt.Fprintf(w, "\nWith no OOM, krr's slack needs limits %.2fx the next week's own peak on average.\n\n", m.margin)
	fmt.Fprintln(w, "| limits at least | OOM series allowed | least slack, the next week known | falls to foresee too, for krr's slack |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, b := range m.bounds {
		f := "none can"
		if b.foresee >= 0 {
			f = fmt.Sprint(b.foresee)
		}
		fmt.Fprintf(w, "| %gx the training peak | %d | %.1f%% | %s |\n", b.margin, b.allowed, 100*b.slack, f)
	}
	return nil
}

func pct(n, of int) float64 { return 100 * float64(n) / float64(of) }

// Splits are the train/test replays of the README's table of later weeks.
var Splits = []struct{ Train, Offset time.Duration }{
	{7 * day, 0}, {7 * day, 7 * day}, {7 * day, 14 * day},
	{14 * day, 0}, {14 * day, 7 * day}, {21 * day, 0},
}

const day = 24 * time.Hour

// splits prints the main figures on every split, each replaying the week
// after its training window: series with an OOM / mean relative slack.
func splits(w io.Writer, read func(func(*usage.Series) error) error, drop float64) error {
	fmt.Fprintln(w, "\nOn every split (series with an OOM / mean relative slack; the oracles allow as many OOM series as 2x has):")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| train, offset | `tail` | `peak-2x` | `krr` | bet on falls | oracle, at least 1x | oracle, at least 1.15x | hindsight |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for _, sp := range Splits {
		m, err := measure(read, replay.Options{Train: sp.Train, Test: 7 * day, Offset: sp.Offset, DropFactor: drop})
		if err != nil {
			return fmt.Errorf("train %v, offset %v: %w", sp.Train, sp.Offset, err)
		}
		cells := []string{fmt.Sprintf("%gd, %gd", sp.Train.Hours()/24, sp.Offset.Hours()/24)}
		for _, name := range []string{"tail", "peak-2x", "krr"} {
			for _, r := range m.rep.Rows {
				if r.Strategy == name {
					cells = append(cells, cell(r.OOMSeries, r.Slack))
				}
			}
		}
		cells = append(cells, cell(m.bet.oom, m.bet.slack))
		for _, b := range m.bounds {
			if b.allowed > 0 && (b.margin == 1 || b.margin == 1.15) {
				cells = append(cells, cell(b.oom, b.slack))
			}
		}
		cells = append(cells, fmt.Sprintf("%.1f%%", 100*m.rep.HindsightSlack))
		fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
	}
	return nil
}

func cell(oom int, slack float64) string { return fmt.Sprintf("%d / %.1f%%", oom, 100*slack) }
