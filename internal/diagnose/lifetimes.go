package diagnose

import (
	"math"
	"slices"
	"sort"

	"github.com/oomdoctor/oomdoctor/internal/model"
)

// lifetime is the usage of one run of the container, from a (re)start to
// its kill or the end of the history, with a straight line fitted to it.
type lifetime struct {
	pts []model.Point
	// slope in bytes per second, r2 the fit's coefficient of
	// determination.
	slope, r2  float64
	endsInKill bool
}

func (l lifetime) duration() int64 { return l.pts[len(l.pts)-1].T - l.pts[0].T }

// growth is what the fitted line gains over the lifetime, in bytes.
func (l lifetime) growth() float64 { return l.slope * float64(l.duration()) }

// lifetimes splits the working set at the kills and restarts, at sharp
// drops (a restart the history did not name) and at gaps in the data.
func lifetimes(h *History) []lifetime {
	ws := h.WorkingSet
	if len(ws) == 0 {
		return nil
	}
	step := int64(h.Step.Seconds())
	if step <= 0 && len(ws) > 1 {
		step = ws[1].T - ws[0].T
	}
	// A kill at K ends the lifetime with the first point at or after K
	// (that point's step holds the peak before the kill); the next point
	// starts a new one.
	killAfter := map[int]bool{}
	ends := slices.Clone(h.Restarts)
	for _, k := range h.Kills {
		ends = append(ends, k.T)
	}
	for _, t := range ends {
		j := sort.Search(len(ws), func(i int) bool { return ws[i].T >= t })
		switch {
		case j >= len(ws):
		case j > 0 && ws[j].V < 0.5*ws[j-1].V:
			// That step already holds the restarted container only.
			killAfter[j-1] = true
		default:
			killAfter[j] = true
		}
	}
	var out []lifetime
	start := 0
	for i := 1; i <= len(ws); i++ {
		end := i == len(ws)
		cut := end || killAfter[i-1] || ws[i].V < 0.5*ws[i-1].V || (step > 0 && ws[i].T-ws[i-1].T > 3*step)
		if !cut {
			continue
		}
		killed := killAfter[i-1] || (!end && ws[i].V < 0.5*ws[i-1].V)
		out = append(out, lifetime{pts: ws[start:i], endsInKill: killed})
		start = i
	}
	for i := range out {
		out[i].slope, out[i].r2 = fit(out[i].pts)
	}
	return out
}

// fit returns the least-squares slope of v over t and its r².
func fit(ps []model.Point) (slope, r2 float64) {
	n := float64(len(ps))
	if n < 3 {
		return 0, 0
	}
	t0 := float64(ps[0].T)
	var st, sv, stt, svv, stv float64
	for _, p := range ps {
		t := float64(p.T) - t0
		st += t
		sv += p.V
		stt += t * t
		svv += p.V * p.V
		stv += t * p.V
	}
	vt := stt - st*st/n
	vv := svv - sv*sv/n
	cv := stv - st*sv/n
	if vt <= 0 {
		return 0, 0
	}
	slope = cv / vt
	if vv <= 0 {
		return slope, 0
	}
	return slope, math.Max(0, math.Min(1, cv*cv/(vt*vv)))
}
