package cli

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	pmodel "github.com/prometheus/common/model"

	"github.com/oomdoctor/oomdoctor/internal/diagnose"
	"github.com/oomdoctor/oomdoctor/internal/manifest"
	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/scan"
	"github.com/oomdoctor/oomdoctor/internal/usage/prom"
	"github.com/oomdoctor/oomdoctor/internal/words"
)

// A container that leaks is killed whatever its limit: a higher one only
// spaces the kills out. recommend sizes from peaks, which a leak's
// sawtooth pushes up at every restart, so it looks for the sawtooth in the
// killed containers' own history at full resolution (the sizing reads
// 6-hour peaks, in which a leak that fills its limit in hours is flat),
// the way scan's memory-leak detector does, and warns. It also reads the
// most-killed pod's RSS and page cache, and warns when page cache, which
// the working set counts, filled the limit before its kills.

// leakPods is how many pods of a killed workload container the leak check
// reads (the most killed first): a leak is the code's, not the pod's, and
// reading every replica of a large workload would cost Prometheus more
// than the sizing itself.
const leakPods = 2

// leakHistory is how much history the leak check reads at most: enough
// lifetimes to see a sawtooth.
const leakHistory = 7 * 24 * time.Hour

// cacheHistory is how much history the page-cache check reads from
// Prometheus at most, of the most-killed pod alone: it looks at the
// minutes before kills, and RSS and page cache cost Prometheus as much as
// the working set.
const cacheHistory = 3 * 24 * time.Hour

// leakFlags are the flags the leak check reads history with: the last
// leakHistory of --history at most, at 5-minute steps, or at --step when
// it is finer.
func leakFlags(p *promFlags) *promFlags { return lookFlags(p, leakHistory) }

// cacheFlags are the page-cache check's: the same, over cacheHistory.
func cacheFlags(p *promFlags) *promFlags { return lookFlags(p, cacheHistory) }

func lookFlags(p *promFlags, d time.Duration) *promFlags {
	q := p.atMost(d)
	if s, err := pmodel.ParseDuration(p.Step); err != nil || time.Duration(s) > 5*time.Minute {
		q.Step = "auto"
	}
	return q
}

// killedPods records, for each recommendation with kills, the pods to
// check, most killed first, with their kills.
type killedPods map[string][]checkedPod

type checkedPod struct {
	scan.Target
	// kills are the sizing's, each within the step before its time.
	kills []diagnose.Kill
	step  time.Duration
}

// add records the pods of a recommendation with kills; step is the
// resolution its history was read at.
func (k killedPods) add(r model.Recommendation, g *prom.Group, step time.Duration) {
	if r.OOMKills == 0 || len(g.Pods) == 0 {
		return
	}
	kills := map[string]int{}
	byPod := map[string][]diagnose.Kill{}
	for _, x := range g.Kills {
		kills[x.Pod] += max(1, x.Count)
		byPod[x.Pod] = append(byPod[x.Pod], diagnose.Kill{T: x.T, Count: x.Count, Limit: x.Limit, Source: x.Source})
	}
	ps := append([]string(nil), g.Pods...)
	sort.SliceStable(ps, func(i, j int) bool { return kills[ps[i]] > kills[ps[j]] })
	key := specKey(r.Workload, r.Container)
	for _, p := range ps[:min(len(ps), leakPods)] {
		k[key] = append(k[key], checkedPod{scan.Target{Namespace: r.Workload.Namespace, Pod: p, Container: r.Container}, byPod[p], step})
	}
}

// warnLeaks reads the recorded pods' history, a namespace at a time
// (bar shows how far it came), and adds a warning (and a reason) to each
// recommendation whose pods grow like a leak, with medium confidence or
// more, or whose limit page cache filled. cacheHist, when not nil, reads
// the most-killed pod's RSS and page cache (hist's histories have none);
// nil: hist's have them. from is the source's flag for the explain
// command the warnings name (--prometheus-url URL, --snapshot DIR).
// perNamespace reads a namespace at a time (Prometheus: smaller queries);
// else all at once (series files: one pass over them).
func warnLeaks(ctx context.Context, hist, cacheHist scan.HistoryFunc, items []model.Recommendation, k killedPods, from string, perNamespace bool, bar *progress) ([]string, error) {
	all, most := map[string][]scan.Target{}, map[string][]scan.Target{}
	for _, ps := range k {
		for i, p := range ps {
			ns := "" // one read
			if perNamespace {
				ns = p.Namespace
			}
			all[ns] = append(all[ns], p.Target)
			if i == 0 {
				most[ns] = append(most[ns], p.Target)
			}
		}
	}
	hs, notes, err := readByNamespace(ctx, hist, all, "killed pods checked for a leak", bar)
	if err != nil {
		return notes, err
	}
	if cacheHist != nil {
		hc, n, err := readByNamespace(ctx, cacheHist, most, "killed pods' page cache read", bar)
		notes = append(notes, n...)
		if err != nil {
			return notes, err
		}
		for t, c := range hc {
			h := hs[t]
			if h == nil {
				h = &diagnose.History{Source: c.Source, Step: c.Step}
				hs[t] = h
			}
			h.RSS, h.Cache = c.RSS, c.Cache
		}
	}
	warnOf(items, k, hs, from)
	return notes, nil
}

// readByNamespace reads the targets' histories a namespace at a time.
func readByNamespace(ctx context.Context, hist scan.HistoryFunc, byNS map[string][]scan.Target, what string, bar *progress) (map[scan.Target]*diagnose.History, []string, error) {
	hs := map[scan.Target]*diagnose.History{}
	var notes []string
	for i, ns := range slices.Sorted(maps.Keys(byNS)) {
		h, n, err := hist(ctx, byNS[ns])
		notes = append(notes, n...)
		if err != nil {
			return hs, notes, err
		}
		maps.Copy(hs, h)
		bar.Update(fmt.Sprintf("%s, namespaces of %d", what, len(byNS)), i+1)
	}
	bar.Done()
	return hs, notes, nil
}

// warnOf adds the leak and page-cache warnings, and reasons, to the
// recommendations.
func warnOf(items []model.Recommendation, k killedPods, hs map[scan.Target]*diagnose.History, from string) {
	for i := range items {
		r := &items[i]
		ps := k[specKey(r.Workload, r.Container)]
		for _, w := range []string{leakWarning(r, ps, hs, from), cacheWarning(r, ps, hs, from)} {
			if w != "" {
				r.Warnings = append(r.Warnings, w)
				r.Reasons = append(r.Reasons, w)
			}
		}
	}
}

// leakWarning says how the pods' working set grows, from the pods that
// leak (medium confidence or more), and what the new limit buys: the time
// from a restart to the limit at that rate, against the current one's.
func leakWarning(r *model.Recommendation, ps []checkedPod, hs map[scan.Target]*diagnose.History, from string) string {
	var leaks []*diagnose.Leak
	var worst scan.Target
	growing, lifetimes, most := 0, 0, 0
	for _, p := range ps {
		t, h := p.Target, hs[p.Target]
		if h == nil {
			continue
		}
		k := diagnose.LeakOf(h, podLimit(r, h))
		if k == nil || k.Confidence == model.Low {
			continue
		}
		if k.Growing > most {
			worst, most = t, k.Growing
		}
		leaks = append(leaks, k)
		growing += k.Growing
		lifetimes += k.Lifetimes
	}
	if len(leaks) == 0 {
		return ""
	}
	sort.Slice(leaks, func(i, j int) bool { return leaks[i].BytesPerSecond < leaks[j].BytesPerSecond })
	k := leaks[len(leaks)/2]
	w := fmt.Sprintf("the working set grows %.1fMi/h in each lifetime, a leak or an unbounded cache (%d of %s, %d of %s; oomdoctor explain %s -n %s %s): a higher limit only spaces the kills out", k.MiPerHour(), growing, words.Count(lifetimes, "lifetime"), len(leaks), words.Count(len(ps), "pod"), worst.Pod, worst.Namespace, from)
	if r.MemoryLimitBytes != nil && float64(*r.MemoryLimitBytes) > k.From {
		w += fmt.Sprintf("; from %.0fMi at a restart it fills %s in about %s", k.From/(1<<20), manifest.FormatBytes(*r.MemoryLimitBytes), k.TimeToFill(float64(*r.MemoryLimitBytes)))
		if c := r.CurrentLimitBytes; c != nil && *c != *r.MemoryLimitBytes && float64(*c) > k.From {
			w += fmt.Sprintf(" (%s now: %s)", manifest.FormatBytes(*c), k.TimeToFill(float64(*c)))
		}
	}
	return w
}

// podLimit is a checked pod's limit: the latest its history has, else the
// recommendation's current one (0: unknown).
func podLimit(r *model.Recommendation, h *diagnose.History) float64 {
	if n := len(h.Limit); n > 0 {
		return h.Limit[n-1].V
	}
	if r.CurrentLimitBytes != nil {
		return float64(*r.CurrentLimitBytes)
	}
	return 0
}

// cacheWarning says when page cache, not the processes' memory, filled
// the limit before most of the checked pods' kills (diagnose.CacheFilled,
// scan's page-cache detector): recommend sizes from the working set,
// which counts the cache, so the new limit is sized for the cache too,
// and a cache the kernel cannot reclaim (tmpfs, shmem, dirty pages)
// grows into any limit.
func cacheWarning(r *model.Recommendation, ps []checkedPod, hs map[scan.Target]*diagnose.History, from string) string {
	var hits []diagnose.CacheKill
	seen := 0
	var worst scan.Target
	most := 0
	for _, p := range ps {
		h := hs[p.Target]
		if h == nil {
			continue
		}
		x, n := diagnose.CacheFilled(h, p.exact(h), podLimit(r, h), diagnose.PreKill(h.Step))
		if len(x) > most {
			worst, most = p.Target, len(x)
		}
		hits = append(hits, x...)
		seen += n
	}
	if len(hits) == 0 || 2*len(hits) < seen {
		return ""
	}
	cache := make([]float64, len(hits))
	rss := make([]float64, len(hits))
	for i, k := range hits {
		cache[i], rss[i] = k.Cache, k.RSS
	}
	slices.Sort(cache)
	slices.Sort(rss)
	return fmt.Sprintf("page cache, not the processes' memory, filled the limit before %d of %d kills (page cache %.0fMi, RSS %.0fMi, medians; oomdoctor explain %s -n %s %s): the working set this limit is sized from counts the cache, and a cache the kernel cannot reclaim (files on tmpfs or /dev/shm, writes faster than writeback) fills any limit; find what writes",
		len(hits), seen, cache[len(cache)/2]/(1<<20), rss[len(rss)/2]/(1<<20), worst.Pod, worst.Namespace, from)
}

// exact places the sizing's kills at the second look's resolution: the
// sizing sees a kill within its step (6 hours for tail), the second look's
// restart count within its own (5 minutes). Each kill becomes the
// restarts, or else the history's own kills, within its step; without
// either it is left out, its moment unknown. Without kills from the
// sizing, the history's own.
func (p checkedPod) exact(h *diagnose.History) []diagnose.Kill {
	if len(p.kills) == 0 {
		return h.Kills
	}
	step := int64(p.step.Seconds())
	var out []diagnose.Kill
	for _, k := range p.kills {
		n := len(out)
		for _, r := range h.Restarts {
			if r > k.T-step && r <= k.T {
				out = append(out, diagnose.Kill{T: r, Count: 1, Limit: k.Limit, Source: k.Source})
			}
		}
		if len(out) > n {
			continue
		}
		for _, x := range h.Kills {
			if x.T > k.T-step && x.T <= k.T {
				out = append(out, x)
			}
		}
	}
	return out
}
