package recommend

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The strategies, each composed of pieces. Request nil: the request is
// the limit.
func init() {
	register(tail("tail", tailP, tailFloor))
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
	// killRise is the least rise of a limit a container was killed at
	// (the VPA's OOM bump, x1.2).
	killRise = 1.2
	sixHours = blockSeconds * time.Second
)

// tail is the tail strategy with a probability and a floor.
func tail(name string, p, floor float64) Strategy {
	return compose(name, fmt.Sprintf("exponential tail of 6-hour peaks over 28 days: the level a week exceeds with probability %s, at least %gx the peak; kills are censored peaks", prob(p), floor), sixHours,
		WithTail(tailK,
			// A kill's limit is a peak too, so floor x TailPeak is above
			// it; with a floor under killRise (tail:floor=1) the limit
			// still rises above the kills.
			Max(TailLevel(tailK, p, tailHorizon), Times(floor, TailPeak()), Times(killRise, TailKill())),
			Times(2, TailPeak())),
		MedianPeak(28))
}

// tailParams reads "p=1e-3:floor=1.2", the parameters of "tail:...": the
// risk a week's peaks go above the limit, and the least limit over the
// highest peak. What is not given keeps the default.
func tailParams(s string) (p, floor float64, err error) {
	p, floor = tailP, tailFloor
	usage := fmt.Errorf("tail:%s: want tail:p=PROBABILITY:floor=FACTOR, either or both (0 < p < 1, default %s; floor >= 1, default %g), e.g. tail:p=1e-3:floor=1.2", s, prob(tailP), tailFloor)
	for _, kv := range strings.Split(s, ":") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return 0, 0, usage
		}
		x, perr := strconv.ParseFloat(v, 64)
		switch {
		case perr != nil:
			return 0, 0, usage
		case k == "p" && x > 0 && x < 1:
			p = x
		case k == "floor" && x >= 1 && x <= 100:
			floor = x
		default:
			return 0, 0, usage
		}
	}
	return p, floor, nil
}

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
