package cli

import (
	"context"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/oomdoctor/oomdoctor/internal/diagnose"
	"github.com/oomdoctor/oomdoctor/internal/scan"
	"github.com/oomdoctor/oomdoctor/internal/usage/prom"
)

// promHistory reads the targets' pods from Prometheus; what says what to
// read: prom.Query{Detail: true} for diagnosis (working set, RSS, cache,
// swap, requests and limits over time, kills), UsageOnly for the working
// set, the restart count and the current request and limit alone,
// CacheOnly for RSS and page cache alone. The history ends at now() as
// each call reads it (or at --until): scan -w diagnoses a kill on the
// history up to it.
func promHistory(pf *promFlags, now func() time.Time, what prom.Query) (scan.HistoryFunc, error) {
	c, err := pf.client()
	if err != nil {
		return nil, err
	}
	if _, _, _, err := pf.window(now(), 0); err != nil {
		return nil, err
	}
	source := pf.describe()
	return func(ctx context.Context, targets []scan.Target) (map[scan.Target]*diagnose.History, []string, error) {
		start, end, step, err := pf.window(now(), 0)
		if err != nil {
			return nil, nil, err
		}
		// Unreachable, or refusing the credentials: one error, not a
		// warning per query.
		if err := c.Check(ctx); err != nil {
			return nil, nil, err
		}
		pods := map[string]map[string]bool{}
		for _, t := range targets {
			if pods[t.Namespace] == nil {
				pods[t.Namespace] = map[string]bool{}
			}
			pods[t.Namespace][t.Pod] = true
		}
		nss := make([]string, 0, len(pods))
		for ns := range pods {
			nss = append(nss, ns)
		}
		sort.Strings(nss)
		out := map[scan.Target]*diagnose.History{}
		var notes []string
		for _, ns := range nss {
			var names []string
			for p := range pods[ns] {
				names = append(names, p)
			}
			sort.Strings(names)
			q := prom.Query{Namespaces: []string{ns}, Pods: names, Start: start, End: end, Step: step, Detail: what.Detail, UsageOnly: what.UsageOnly, CacheOnly: what.CacheOnly}
			n, _, err := c.History(ctx, q, func(_ string, cs []*prom.Container) error {
				for t, h := range histories(cs, source, step) {
					out[t] = h
				}
				return nil
			}, nil)
			notes = append(notes, n...)
			if err != nil {
				return out, notes, err
			}
		}
		return out, notes, nil
	}, nil
}

// at is a clock stopped at t.
func at(t time.Time) func() time.Time { return func() time.Time { return t } }

// histories turns Prometheus' containers into diagnosis histories, each
// with its pod's other containers as siblings.
func histories(cs []*prom.Container, source string, step time.Duration) map[scan.Target]*diagnose.History {
	out := map[scan.Target]*diagnose.History{}
	byPod := map[string][]*prom.Container{}
	for _, c := range cs {
		byPod[c.Pod] = append(byPod[c.Pod], c)
	}
	for _, c := range cs {
		h := &diagnose.History{Source: source, Step: step, WorkingSet: c.WorkingSet, RSS: c.RSS, Cache: c.Cache, Swap: c.Swap, Limit: c.Limit, Request: c.Request}
		for _, k := range c.Kills {
			h.Kills = append(h.Kills, diagnose.Kill{T: k.T, Count: k.Count, Limit: k.Limit, Source: k.Source})
		}
		for i := 1; i < len(c.Restarts); i++ {
			if c.Restarts[i].V > c.Restarts[i-1].V {
				h.Restarts = append(h.Restarts, c.Restarts[i].T)
			}
		}
		for _, o := range byPod[c.Pod] {
			if o != c {
				if h.Siblings == nil {
					h.Siblings = map[string][]prom.Point{}
				}
				h.Siblings[o.Name] = o.WorkingSet
			}
		}
		out[scan.Target{Namespace: c.Namespace, Pod: c.Pod, Container: c.Name}] = h
	}
	return out
}

// filesHistory reads the targets' history from series files of a snapshot
// (OpenMetrics or CSV traces), the same way as from Prometheus.
func filesHistory(paths []string, pf *promFlags, now time.Time) (scan.HistoryFunc, error) {
	labels, err := prom.ParseLabels(pf.Labels)
	if err != nil {
		return nil, usagef("--prometheus-labels: %v", err)
	}
	start, end, step, err := pf.window(now, 0)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(paths))
	for i, p := range paths {
		names[i] = filepath.Base(p)
	}
	source := "files " + strings.Join(names, ", ")
	f := &prom.Files{Paths: paths, Labels: labels}
	return func(ctx context.Context, targets []scan.Target) (map[scan.Target]*diagnose.History, []string, error) {
		pods := map[string]bool{}
		for _, t := range targets {
			pods[t.Namespace+"/"+t.Pod] = true
		}
		cs, err := f.Read(pods, start, end, step)
		if err != nil {
			return nil, nil, err
		}
		return histories(cs, source, step), nil, nil
	}, nil
}
