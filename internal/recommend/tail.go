package recommend

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/oomdoctor/oomdoctor/internal/words"
)

// The tail pieces size the limit for the rare peak, not the usual one.
// They take the peaks of 6-hour blocks over the last 28 days and model
// their upper tail as exponential above the k-th highest (peaks over a
// threshold, as in extreme value statistics): the mean excess of the top k
// says how heavy the tail is. TailLevel is the level the next horizon's
// peaks exceed with probability p. An OOM kill is a censored peak: the
// demand was above the limit at the kill, so it enters the tail at that
// level and counts as an excess without adding to the number of observed
// peaks, which makes the tail heavier, as a lower bound should. A higher
// peak or a kill never lowers the level; higher usage below the peak may
// (the tail then looks lighter): a piece that gives spikier usage more
// headroom cannot be monotone in every sample.

type tailObs struct {
	v        float64
	censored bool
}

// tailSample is the 28 days' block peaks and the kills within them,
// highest first, and how many of them are peaks (not kills).
func tailSample(h *History) (o []tailObs, peaks int) {
	ps := h.blocks.peaks(ringBlocks)
	for _, p := range ps {
		o = append(o, tailObs{v: p})
	}
	for _, k := range h.killsSince((h.blocks.newest - ringBlocks) * blockSeconds) {
		o = append(o, tailObs{v: k, censored: true})
	}
	sort.Slice(o, func(i, j int) bool { return o[i].v > o[j].v })
	return o, len(ps)
}

// TailLevel is the level the next horizon blocks' peaks exceed with
// probability p, from an exponential tail fitted to the top k of 28 days'
// block peaks (kills as censored peaks); 0 with k peaks or fewer.
func TailLevel(k int, p float64, horizon int) Piece { return tailLevel{k, p, horizon} }

type tailLevel struct {
	k       int
	p       float64
	horizon int
}

// fit returns the threshold (the k+1-th highest), the mean excess of the
// top k over it, the level and the number of peaks.
func (x tailLevel) fit(h *History) (threshold, excess, level float64, n int) {
	o, n := tailSample(h)
	if len(o) <= x.k {
		return 0, 0, 0, n
	}
	u := o[x.k].v
	sum, observed := 0.0, 0
	for _, ob := range o[:x.k] {
		sum += ob.v - u
		if !ob.censored {
			observed++
		}
	}
	e := sum / float64(max(observed, 1))
	arg := float64(x.horizon*x.k) / (float64(n) * x.p)
	level = u
	if arg > 1 {
		level = u + e*math.Log(arg)
	}
	return u, e, level, n
}

func (x tailLevel) Value(h *History) float64 { _, _, l, _ := x.fit(h); return l }
func (x tailLevel) Why(h *History) string {
	u, e, l, n := x.fit(h)
	return fmt.Sprintf("the level a week's 6-hour peaks exceed with probability %s: %s (the top %d of %d six-hour peaks over %.0f days exceed %s by %s on average)", prob(x.p), mib(l), x.k, n, float64(n)/4, mib(u), mib(e))
}
func (tailLevel) needs() need { return needBlocks }

// prob writes a small probability as people do: 2e-5, not 2e-05.
func prob(p float64) string { return strings.Replace(fmt.Sprintf("%g", p), "e-0", "e-", 1) }

// TailPeak is the highest of 28 days' block peaks and the limits of the
// kills among them.
func TailPeak() Piece { return tailPeak{} }

type tailPeak struct{}

func (tailPeak) Value(h *History) float64 {
	o, _ := tailSample(h)
	if len(o) == 0 {
		return 0
	}
	return o[0].v
}
func (x tailPeak) Why(h *History) string {
	o, _ := tailSample(h)
	// A peak pinned at the limit of a kill (usage stops there) is said as
	// the kill: that is what it was.
	for _, ob := range o {
		if ob.v < o[0].v {
			break
		}
		if ob.censored {
			return fmt.Sprintf("the limit %s it was OOM-killed at", mib(ob.v))
		}
	}
	return fmt.Sprintf("the highest 6-hour peak %s", mib(x.Value(h)))
}
func (tailPeak) needs() need { return needBlocks }

// TailKill is the highest limit of the 28 days' kills (0: none): a limit
// at it would be killed again, so the tail strategy rises above it
// whatever its floor.
func TailKill() Piece { return tailKill{} }

type tailKill struct{}

func (tailKill) Value(h *History) float64 {
	o, _ := tailSample(h)
	for _, ob := range o {
		if ob.censored {
			return ob.v
		}
	}
	return 0
}
func (x tailKill) Why(h *History) string {
	return fmt.Sprintf("the limit %s it was OOM-killed at", mib(x.Value(h)))
}
func (tailKill) needs() need { return needBlocks }

// WithTail is then when the 28 days hold more than k block peaks and kills
// (enough to fit a tail), else otherwise.
func WithTail(k int, then, otherwise Piece) Piece { return withTail{k, then, otherwise} }

type withTail struct {
	k               int
	then, otherwise Piece
}

func (w withTail) enough(h *History) (bool, int) {
	o, n := tailSample(h)
	return len(o) > w.k, n
}
func (w withTail) Value(h *History) float64 {
	if ok, _ := w.enough(h); ok {
		return w.then.Value(h)
	}
	return w.otherwise.Value(h)
}
func (w withTail) Why(h *History) string {
	ok, n := w.enough(h)
	if ok {
		return w.then.Why(h)
	}
	return fmt.Sprintf("%s (%s only: %d needed to model the tail)", w.otherwise.Why(h), words.Count(n, "six-hour peak"), w.k+1)
}
func (w withTail) needs() need { return needBlocks | w.then.needs() | w.otherwise.needs() }
