package recommend

import (
	"fmt"
	"math"
)

// A Piece is one step of a strategy, composed the way the VPA composes its
// estimators (a percentile, then a margin, then a minimum): a statistic of
// the history, or a piece that turns another's value into a new one.
// Value is in bytes; Why says it in words and numbers, naming the piece
// that decided when several compete.
type Piece interface {
	Value(h *History) float64
	Why(h *History) string
	needs() need
}

// Peak is the highest 6-hour block peak of the last days.
func Peak(days int) Piece { return peak{days} }

type peak struct{ days int }

func (p peak) Value(h *History) float64 { return h.blocks.max(4 * p.days) }
func (p peak) Why(h *History) string {
	return fmt.Sprintf("the peak of %s %s", h.blocks.span(4*p.days), mib(p.Value(h)))
}
func (peak) needs() need { return needBlocks }

// Mean is the average usage of the last days (with no usage at all, the
// limit a kill happened at: usage statistics fall back to it, below).
func Mean(days int) Piece { return mean{days} }

type mean struct{ days int }

func (m mean) Value(h *History) float64 {
	if !h.seen {
		return h.killMax
	}
	return h.blocks.mean(4 * m.days)
}
func (m mean) Why(h *History) string {
	if !h.seen {
		return killedUnseen(h)
	}
	return fmt.Sprintf("the average of %s %s", h.blocks.span(4*m.days), mib(m.Value(h)))
}
func (mean) needs() need { return needBlocks }

// MedianPeak is the median 6-hour block peak of the last days; a block
// with an OOM kill peaked at least at the limit it was killed at (a
// censored peak: a container killed soon after every start is sampled
// only while starting). With no usage at all, the limit a kill happened at.
func MedianPeak(days int) Piece { return medianPeak{days} }

type medianPeak struct{ days int }

func (m medianPeak) Value(h *History) float64 {
	if !h.seen {
		return h.killMax
	}
	v, _ := m.peaks(h)
	return median(v)
}

// peaks are the block peaks, raised by the kills among them (of the last
// 8), and how many were raised.
func (m medianPeak) peaks(h *History) (v []float64, raised int) {
	v, idx := h.blocks.indexedPeaks(4 * m.days)
	up := make([]bool, len(v))
	for i := 0; i < min(h.kills, len(h.kill)); i++ {
		k := h.kill[i]
		for j, b := range idx {
			if b == k.t/blockSeconds && float64(k.limit) > v[j] {
				v[j] = float64(k.limit)
				up[j] = true
			}
		}
	}
	for _, u := range up {
		if u {
			raised++
		}
	}
	return v, raised
}

func (m medianPeak) Why(h *History) string {
	if !h.seen {
		return killedUnseen(h)
	}
	why := fmt.Sprintf("the median 6-hour peak of %s %s", h.blocks.span(4*m.days), mib(m.Value(h)))
	if _, n := m.peaks(h); n > 0 {
		why += fmt.Sprintf(" (%d of them raised to the limit in force at an OOM kill in their 6 hours)", n)
	}
	return why
}
func (medianPeak) needs() need { return needBlocks }

// killedUnseen says why a usage statistic is the kill limit: a container
// killed within seconds of every start is never sampled, and all that is
// known of its demand is that it went above the limit it was killed at,
// the lower bound of its usual usage too.
func killedUnseen(h *History) string {
	return fmt.Sprintf("no usage in the history, only OOM kills (killed before any sample): the limit %s it was killed at", mib(h.killMax))
}

// KillLimit is the largest limit a kill happened at (0 without kills).
func KillLimit() Piece { return killLimit{} }

type killLimit struct{}

func (killLimit) Value(h *History) float64 { return h.killMax }
func (k killLimit) Why(h *History) string {
	return fmt.Sprintf("the limit %s it was OOM-killed at", mib(h.killMax))
}
func (killLimit) needs() need { return 0 }

// Times is f times another piece.
func Times(f float64, p Piece) Piece { return times{f, p} }

type times struct {
	f float64
	p Piece
}

func (x times) Value(h *History) float64 { return x.f * x.p.Value(h) }
func (x times) Why(h *History) string    { return fmt.Sprintf("%s x %g", x.p.Why(h), x.f) }
func (x times) needs() need              { return x.p.needs() }

// Max is the largest of pieces; its Why is the deciding piece's.
func Max(ps ...Piece) Piece { return maxOf(ps) }

type maxOf []Piece

func (m maxOf) pick(h *History) (Piece, float64) {
	best, v := m[0], m[0].Value(h)
	for _, p := range m[1:] {
		if w := p.Value(h); w > v {
			best, v = p, w
		}
	}
	return best, v
}
func (m maxOf) Value(h *History) float64 { _, v := m.pick(h); return v }
func (m maxOf) Why(h *History) string    { p, _ := m.pick(h); return p.Why(h) }
func (m maxOf) needs() need {
	var n need
	for _, p := range m {
		n |= p.needs()
	}
	return n
}

// AtLeast is a piece, never below min bytes.
func AtLeast(min float64, p Piece) Piece { return atLeast{min, p} }

type atLeast struct {
	min float64
	p   Piece
}

func (a atLeast) Value(h *History) float64 { return math.Max(a.min, a.p.Value(h)) }
func (a atLeast) Why(h *History) string {
	if a.p.Value(h) < a.min {
		return fmt.Sprintf("the minimum %s (%s is less)", mib(a.min), a.p.Why(h))
	}
	return fmt.Sprintf("%s, at least %s", a.p.Why(h), mib(a.min))
}
func (a atLeast) needs() need { return a.p.needs() }
