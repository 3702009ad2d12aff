package diagnose

import (
	"fmt"
	"math"
	"sort"

	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/words"
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
	return leaking(lives, in.limit(), int64(in.History.Step.Seconds()))
}

func leaking(lives []lifetime, limit float64, step int64) []lifetime {
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

// Leak is what the memory-leak detector sees in a container's history.
type Leak struct {
	// BytesPerSecond is the median growth of the growing lifetimes;
	// From the median level they started at.
	BytesPerSecond, From float64
	// Growing lifetimes of Lifetimes, Killed of the growing ones ending
	// in a kill or restart; MinR2 the worst straight-line fit among them.
	Growing, Lifetimes, Killed int
	MinR2                      float64
	Confidence                 model.Confidence
	ConfidenceWhy              string
}

// LeakOf looks for a leak in a container's history, the way the
// memory-leak detector does; limit is the container's memory limit (0:
// unknown). Nil when no lifetime grows like a leak.
func LeakOf(h *History, limit float64) *Leak {
	if h == nil || len(h.WorkingSet) == 0 {
		return nil
	}
	all := lifetimes(h)
	return leakOf(all, leaking(all, limit, int64(h.Step.Seconds())))
}

func leakOf(all, ls []lifetime) *Leak {
	if len(ls) == 0 {
		return nil
	}
	k := &Leak{Growing: len(ls), Lifetimes: len(all), MinR2: 1}
	var slopes, from []float64
	for _, l := range ls {
		if l.endsInKill {
			k.Killed++
		}
		slopes = append(slopes, l.slope)
		from = append(from, l.pts[0].V)
		k.MinR2 = math.Min(k.MinR2, l.r2)
	}
	k.BytesPerSecond, k.From = median(slopes), median(from)
	switch {
	case len(ls) >= 2 && k.Killed >= 2 && k.MinR2 >= 0.8:
		k.Confidence, k.ConfidenceWhy = model.High, fmt.Sprintf("%d lifetimes grew in a straight line (r² ≥ %.2f) up to a kill: a sawtooth", len(ls), k.MinR2)
	case len(ls) >= 2 || (k.Killed >= 1 && k.MinR2 >= 0.8):
		k.Confidence, k.ConfidenceWhy = model.Medium, fmt.Sprintf("%s grew steadily; a longer history with more restarts would make it certain", words.Count(len(ls), "lifetime"))
	default:
		k.Confidence, k.ConfidenceWhy = model.Low, "one lifetime grew steadily but did not end in a kill: it may be a warm-up or a cache that levels off"
	}
	return k
}

// TimeToFill is how long the growth takes from the level lifetimes start
// at to limit: "40m", "7.5h", "3.2d".
func (k *Leak) TimeToFill(limit float64) string {
	return hours(int64((limit - k.From) / k.BytesPerSecond))
}

// MiPerHour is the growth in MiB per hour.
func (k *Leak) MiPerHour() float64 { return k.BytesPerSecond * 3600 / (1 << 20) }

func (d memoryLeak) Detect(in *Input) (*model.Cause, string) {
	if in.Finding.Type == model.NotOOM || in.Finding.Type == model.SystemOOM {
		return nil, ""
	}
	if !in.hasUsage() {
		return nil, historyNeeded + ", to see whether usage grows within each container lifetime"
	}
	all, ls := in.lifetimes()
	k := leakOf(all, ls)
	if k == nil {
		return nil, ""
	}
	h := in.History
	limit := in.limit()
	last := all[len(all)-1]
	ev := []model.Evidence{
		{What: "growth within a lifetime", Value: fmt.Sprintf("%.1fMi/h (median of %s; straight-line fit r² at least %.2f)", k.MiPerHour(), words.Count(len(ls), "growing lifetime"), k.MinR2), Source: h.Source},
		{What: "lifetimes that grew", Value: fmt.Sprintf("%d of %d, %d of them ending in a kill or restart", len(ls), len(all), k.Killed), Source: h.Source},
	}
	for i, l := range ls {
		if i == 3 {
			break
		}
		ev = append(ev, model.Evidence{What: "lifetime", Value: fmt.Sprintf("%s → %s over %s (%+.1fMi/h, r² %.2f)", size(l.pts[0].V), size(peak(l.pts)), hours(l.duration()), l.slope*3600/(1<<20), l.r2), At: ts(l.pts[0].T), Source: h.Source})
	}
	slope := k.BytesPerSecond
	summary := fmt.Sprintf("The working set grows about %.1fMi per hour within each container lifetime and the kills come at the top: a leak (or an unbounded cache).", k.MiPerHour())
	if limit > 0 {
		now := last.pts[len(last.pts)-1]
		if now.V < 0.95*limit {
			toLimit := (limit - now.V) / slope
			ev = append(ev, model.Evidence{What: "projected time to the limit", Value: fmt.Sprintf("%s from %s now to the %s limit", hours(int64(toLimit)), size(now.V), size(limit)), At: ts(now.T), Source: h.Source})
		}
		fill := (limit - ls[0].pts[0].V) / slope
		summary += fmt.Sprintf(" At this rate a container fills its %s limit in about %s.", size(limit), hours(int64(fill)))
	}
	c := &model.Cause{Summary: summary, Evidence: ev, Confidence: k.Confidence, ConfidenceWhy: k.ConfidenceWhy}
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
