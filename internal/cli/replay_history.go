package cli

import (
	"context"
	"io"
	"sort"
	"time"

	pmodel "github.com/prometheus/common/model"

	"github.com/oomdoctor/oomdoctor/internal/usage"
	"github.com/oomdoctor/oomdoctor/internal/usage/prom"
)

// historyReplay reads a cluster's history from Prometheus (or a snapshot's
// series files) as replay series: one per workload container (all its
// replicas together, the highest at each step, as recommend sizes them),
// named namespace/Kind/name/container, with the kills kube-state-metrics
// (and with --oom-events cAdvisor) saw and the limits they happened at.
// The history ends at --until (now; a snapshot's capture time) and reaches
// back --history, which must hold the windows replayed.
type historyReplay struct {
	pf       *promFlags
	snapshot string // the folder, instead of Prometheus
	ns       string
	need     time.Duration // offset + train + test, or offset + two periods
	now      time.Time
	errOut   io.Writer
	notes    []string
	win      window // the history read
}

// empty is the error when the history holds no workload container at all.
func (p *historyReplay) empty() error {
	in := ""
	if p.ns != "" {
		in = " in namespace " + p.ns
	}
	return usagef("no workload container has usage history%s between %s and %s: check the namespace, or --history and --until", in, p.win.from.Format(time.RFC3339), p.win.to.Format(time.RFC3339))
}

func (p *historyReplay) read(ctx context.Context) (func(func(*usage.Series) error) error, error) {
	h, err := pmodel.ParseDuration(p.pf.History)
	if err != nil || h <= 0 {
		return nil, usagef("--history %q: want a duration like 14d, 28d or 2w", p.pf.History)
	}
	if time.Duration(h) < p.need {
		return nil, usagef("--history %s is shorter than the replayed windows (%s): give --history %s or more, or shorter windows", p.pf.History, days{&p.need}, days{&p.need})
	}
	if p.snapshot != "" {
		return p.readSnapshot(ctx)
	}
	c, err := p.pf.client()
	if err != nil {
		return nil, err
	}
	start, end, step, err := p.pf.window(p.now, 0)
	if err != nil {
		return nil, err
	}
	p.win = window{from: start, to: end, step: step}
	q := prom.Query{Start: start, End: end, Step: step, OOMEvents: p.pf.OOMEvents}
	if p.ns != "" {
		q.Namespaces = []string{p.ns}
	}
	return func(fn func(*usage.Series) error) error {
		bar := newProgress(p.errOut)
		notes, _, err := c.History(ctx, q, func(_ string, cs []*prom.Container) error {
			for _, g := range prom.Merge(cs, false) {
				if err := fn(groupSeries(g)); err != nil {
					return err
				}
			}
			return nil
		}, bar.namespaces())
		bar.Done()
		p.notes = append(p.notes, notes...)
		return err
	}, nil
}

// readSnapshot reads the series files of a snapshot folder; its pods say
// which workload each container belongs to.
func (p *historyReplay) readSnapshot(ctx context.Context) (func(func(*usage.Series) error) error, error) {
	snap, err := openSnapshot(p.snapshot)
	if err != nil {
		return nil, err
	}
	sp, notes, err := loadSpecs(ctx, snap, p.ns)
	if err != nil {
		return nil, asUsage(err)
	}
	p.notes = append(p.notes, notes...)
	groups, err := snapshotGroups(ctx, snap, sp, p.snapshot, p.pf, p.ns, false, "replay needs a history (or give --prometheus-url)")
	if err != nil {
		return nil, err
	}
	p.win = sp.win
	return func(fn func(*usage.Series) error) error {
		for _, g := range groups {
			if err := fn(groupSeries(g)); err != nil {
				return err
			}
		}
		return nil
	}, nil
}

// groupSeries turns a workload container's history into a replay series.
// A point is the peak of the step that ends at its time: it is filed a
// second earlier, in the step it belongs to (as recommend does).
func groupSeries(g *prom.Group) *usage.Series {
	s := &usage.Series{Name: workloadName(g.Workload) + "/" + g.Container}
	for _, p := range g.WorkingSet {
		s.Samples = append(s.Samples, usage.Sample{T: p.T - 1, Usage: p.V})
	}
	for _, k := range g.Kills {
		for range max(1, k.Count) {
			lim, _ := killLimit(g, k, nil, g.Limit)
			s.Kills = append(s.Kills, usage.Kill{T: k.T - 1, Limit: lim})
		}
	}
	sort.SliceStable(s.Kills, func(i, j int) bool { return s.Kills[i].T < s.Kills[j].T })
	return s
}
