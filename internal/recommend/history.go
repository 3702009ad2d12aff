package recommend

import "math"

// History is what a strategy keeps of one container's past: the parts its
// pieces read, and only those (the way the VPA's estimators all read one
// aggregated container state). Block peaks: each 6-hour block's peak, sum
// and count for 28 days. Kills: the last 8 and the largest limit one
// happened at. Daily: the VPA's decaying histogram of daily peaks.
type History struct {
	blocks *blocks
	daily  *daily
	kill   [8]struct {
		t     int64
		limit float32
	}
	kills   int
	killMax float64
	seen    bool
}

// need is what parts of the history a piece reads.
type need uint8

const (
	needBlocks need = 1 << iota
	needDaily
)

func newHistory(n need) History {
	var h History
	if n&needBlocks != 0 {
		h.blocks = &blocks{}
	}
	if n&needDaily != 0 {
		h.daily = &daily{}
	}
	return h
}

// Add feeds a usage sample, in time order.
func (h *History) Add(t int64, u float64) {
	h.seen = true
	if h.blocks != nil {
		h.blocks.add(t, u)
	}
	if h.daily != nil {
		h.daily.peak(t, u)
	}
}

// OOM records a kill at t with this limit: a censored observation, the
// demand was above it.
func (h *History) OOM(t int64, limit float64) {
	h.kill[h.kills%len(h.kill)].t = t
	h.kill[h.kills%len(h.kill)].limit = float32(limit)
	h.kills++
	h.killMax = math.Max(h.killMax, limit)
	if h.daily != nil {
		h.daily.oom(t, limit)
	}
}

// killsSince are the limits of the kills kept that happened after t.
func (h *History) killsSince(t int64) []float64 {
	var out []float64
	for i := 0; i < min(h.kills, len(h.kill)); i++ {
		if k := h.kill[i]; k.t > t {
			out = append(out, float64(k.limit))
		}
	}
	return out
}

func (h *History) bytes() int {
	n := 8*16 + 8 + 8 + 8
	if h.blocks != nil {
		n += blocksBytes
	}
	if h.daily != nil {
		n += dailyBytes
	}
	return n
}
