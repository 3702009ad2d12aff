package diagnose

import (
	"fmt"
	"math"
	"sort"

	"github.com/oomdoctor/oomdoctor/internal/model"
)

// memoryLeak fires when the working set grows steadily within the
// container's lifetimes (a straight line fits, r² 0.7 or more, and the
// growth is a fifth of the limit or more) and the kills come at the top of
// that sawtooth: a higher limit only spaces the kills out.
type memoryLeak struct{}

func init() { register(memoryLeak{}) }

func (memoryLeak) ID() model.CauseID { return model.CauseMemoryLeak }

const (
	leakR2     = 0.7
	leakGrowth = 0.2 // of the limit (or of the starting level without one)
	leakPoints = 6
)

// leakingOf returns the lifetimes that grow like a leak, nil when none
// does or the history is too short to tell.
func (in *Input) leakingOf(lives []lifetime) []lifetime {
	limit := in.limit()
	step := int64(in.History.Step.Seconds())
	var out []lifetime
	for _, l := range lives {
		if len(l.pts) < leakPoints || l.duration() < max(1800, 6*step) {
			continue
		}
		base := limit
		if base <= 0 {
			base = math.Max(l.pts[0].V, 1)
		}
		if l.slope > 0 && l.r2 >= leakR2 && l.growth() >= leakGrowth*base {
			out = append(out, l)
		}
	}
	return out
}

func (d memoryLeak) Detect(in *Input) (*model.Cause, string) {
	if in.Finding.Type == model.NotOOM || in.Finding.Type == model.SystemOOM {
		return nil, ""
	}
	if !in.hasUsage() {
		return nil, historyNeeded + ", to see whether usage grows within each container lifetime"
	}
	all, ls := in.lifetimes()
	if len(ls) == 0 {
		return nil, ""
	}
	h := in.History
	limit := in.limit()
	killed := 0
	var slopes []float64
	minR2 := 1.0
	for _, l := range ls {
		if l.endsInKill {
			killed++
		}
		slopes = append(slopes, l.slope)
		minR2 = math.Min(minR2, l.r2)
	}
	slope := median(slopes)
	last := all[len(all)-1]
	ev := []model.Evidence{
		{What: "growth within a lifetime", Value: fmt.Sprintf("%.1fMi/h (median of %s; straight-line fit r² at least %.2f)", slope*3600/(1<<20), plural(len(ls), "growing lifetime", "growing lifetimes"), minR2), Source: h.Source},
		{What: "lifetimes that grew", Value: fmt.Sprintf("%d of %d, %d of them ending in a kill or restart", len(ls), len(all), killed), Source: h.Source},
	}
	for i, l := range ls {
		if i == 3 {
			break
		}
		ev = append(ev, model.Evidence{What: "lifetime", Value: fmt.Sprintf("%s → %s over %s (%+.1fMi/h, r² %.2f)", size(l.pts[0].V), size(peak(l.pts)), hours(l.duration()), l.slope*3600/(1<<20), l.r2), At: ts(l.pts[0].T), Source: h.Source})
	}
	summary := fmt.Sprintf("The working set grows about %.1fMi per hour within each container lifetime and the kills come at the top: a leak (or an unbounded cache).", slope*3600/(1<<20))
	if limit > 0 {
		now := last.pts[len(last.pts)-1]
		if now.V < 0.95*limit {
			toLimit := (limit - now.V) / slope
			ev = append(ev, model.Evidence{What: "projected time to the limit", Value: fmt.Sprintf("%s from %s now to the %s limit", hours(int64(toLimit)), size(now.V), size(limit)), At: ts(now.T), Source: h.Source})
		}
		fill := (limit - ls[0].pts[0].V) / slope
		summary += fmt.Sprintf(" At this rate a container fills its %s limit in about %s.", size(limit), hours(int64(fill)))
	}
	c := &model.Cause{Summary: summary, Evidence: ev}
	switch {
	case len(ls) >= 2 && killed >= 2 && minR2 >= 0.8:
		c.Confidence, c.ConfidenceWhy = model.High, fmt.Sprintf("%d lifetimes grew in a straight line (r² ≥ %.2f) up to a kill: a sawtooth", len(ls), minR2)
	case len(ls) >= 2 || (killed >= 1 && minR2 >= 0.8):
		c.Confidence, c.ConfidenceWhy = model.Medium, fmt.Sprintf("%s grew steadily; a longer history with more restarts would make it certain", plural(len(ls), "lifetime", "lifetimes"))
	default:
		c.Confidence, c.ConfidenceWhy = model.Low, "one lifetime grew steadily but did not end in a kill: it may be a warm-up or a cache that levels off"
	}
	c.Fix = model.Fix{Text: "Find what keeps growing (a heap profile: Go pprof /debug/pprof/heap, JVM jcmd GC.heap_dump, Node --heapsnapshot-signal, Python tracemalloc or memray) and fix it, or bound the cache. A higher limit only spaces the kills out; restart on a schedule only as a stopgap."}
	return c, ""
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func hours(sec int64) string {
	switch {
	case sec < 3600:
		return fmt.Sprintf("%dm", max(1, sec/60))
	case sec < 48*3600:
		return fmt.Sprintf("%.1fh", float64(sec)/3600)
	}
	return fmt.Sprintf("%.1fd", float64(sec)/86400)
}
