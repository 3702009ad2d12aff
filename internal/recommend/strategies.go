package recommend

import (
	"fmt"
	"time"
)

// The strategies, each composed of pieces. Request nil: the request is
// the limit.
func init() {
	const sixHours = blockSeconds * time.Second
	register(compose("tail", "exponential tail of 6-hour peaks over 28 days: the level a week exceeds with probability 2e-5, at least 1.5x the peak; kills are censored peaks", sixHours,
		WithTail(tailK,
			Max(TailLevel(tailK, tailP, tailHorizon), Times(tailFloor, TailPeak())),
			Times(2, TailPeak())),
		MedianPeak(28)))
	register(compose("krr", "krr simple: request = limit = max of 14 days x 1.15, at least 1.25x the limit of a kill", sixHours,
		Max(Times(1.15, Peak(14)), Times(1.25, KillLimit())), nil))
	for _, f := range []float64{1.5, 2} {
		register(compose(fmt.Sprintf("peak-%gx", f), fmt.Sprintf("the rule of thumb: limit %gx the peak of the last 28 days, request the average", f), 0,
			Times(f, Max(Peak(28), KillLimit())), Mean(28)))
	}
	register(compose("vpa", "VPA target: p90 of daily peaks in a decaying histogram (24h half-life) x 1.15, at least 250Mi, OOM bump max(+100Mi, x1.2)", 0,
		AtLeast(vpaMinMemory, Times(1.15, Percentile(0.9))), nil))
}

const (
	tailK       = 8
	tailP       = 2e-5
	tailHorizon = 28 // blocks: a week until the next review
	tailFloor   = 1.5
)

// compose makes a strategy of a limit piece and a request piece.
// resolution is the coarsest history it loses nothing on (see Strategy).
func compose(name, description string, resolution time.Duration, limit, request Piece) Strategy {
	n := limit.needs()
	if request != nil {
		n |= request.needs()
	}
	return Strategy{Name: name, Description: description, Resolution: resolution, Limit: limit, Request: request,
		New: func() Estimator { return &composed{h: newHistory(n), limit: limit, request: request} }}
}

// composed is one container's history under a composed strategy.
type composed struct {
	h              History
	limit, request Piece
}

func (c *composed) Add(t int64, u float64)     { c.h.Add(t, u) }
func (c *composed) OOM(t int64, limit float64) { c.h.OOM(t, limit) }
func (c *composed) Recommend() Values {
	if !c.h.seen && c.h.kills == 0 {
		return Values{}
	}
	l := c.limit.Value(&c.h)
	if c.request == nil {
		return Values{Request: l, Limit: l}
	}
	return Values{Request: c.request.Value(&c.h), Limit: l}
}
func (c *composed) Explain() []string {
	if c.request == nil {
		return []string{"limit and request: " + c.limit.Why(&c.h)}
	}
	return []string{"limit: " + c.limit.Why(&c.h), "request: " + c.request.Why(&c.h)}
}
func (c *composed) StateBytes() int { return c.h.bytes() }
