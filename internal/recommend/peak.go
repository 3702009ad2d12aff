package recommend

import (
	"fmt"
	"math"
)

// peakMultiple is the troubleshooting guide's rule of thumb: limit = factor
// x the observed peak, request = the average usage. A kill raises the peak
// to at least the limit it happened at.
type peakMultiple struct {
	factor  float64
	b       blocks
	oomSeen float64
}

func init() {
	for _, f := range []float64{1.5, 2} {
		f := f
		register(Strategy{
			Name:        fmt.Sprintf("peak-%gx", f),
			Description: fmt.Sprintf("the rule of thumb: limit %gx the peak of the last 28 days, request the average", f),
			New:         func() Estimator { return &peakMultiple{factor: f} },
		})
	}
}

func (p *peakMultiple) Add(t int64, u float64) { p.b.add(t, u) }
func (p *peakMultiple) OOM(t int64, limit float64) {
	p.oomSeen = math.Max(p.oomSeen, limit)
}
func (p *peakMultiple) peak() float64 { return math.Max(p.b.max(ringBlocks), p.oomSeen) }
func (p *peakMultiple) Recommend() Values {
	return Values{Request: p.b.mean(ringBlocks), Limit: p.factor * p.peak()}
}
func (p *peakMultiple) Explain() []string {
	return []string{fmt.Sprintf("limit %gx the peak %s; request the average %s", p.factor, mib(p.peak()), mib(p.b.mean(ringBlocks)))}
}
func (p *peakMultiple) StateBytes() int { return blocksBytes + 16 }
