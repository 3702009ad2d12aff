package recommend

import (
	"fmt"
	"math"
	"sort"
	"time"
)

// tail, the default, sizes the limit for the rare peak, not the usual one.
// It takes the peaks of 6-hour blocks over the last 28 days and models
// their upper tail as exponential above the k-th highest (peaks over a
// threshold, as in extreme value statistics): the mean excess of the top k
// says how heavy the tail is. The limit is the level the next week's peaks
// exceed with probability p, and at least 1.1x the highest peak seen. A
// flat workload (a light tail) gets little headroom; a spiky one much more.
// An OOM kill is a censored peak: the demand was above the limit at the
// kill, so it enters the tail at that level and counts as an excess
// without adding to the number of observed peaks, which makes the tail
// heavier, as a lower bound should. With under k+1 blocks of history the
// limit is 2x the peak. A higher peak or a kill never lowers the limit;
// higher usage below the peak may (the tail then looks lighter): an
// estimator that gives spikier usage more headroom cannot be monotone in
// every sample.
type tail struct {
	b    blocks
	kill [8]struct {
		t     int64
		limit float32
	}
	kills int

	// the last recommendation's numbers, for Explain
	threshold, excess, level, peak float64
	n                              int
}

const (
	tailK       = 8
	tailP       = 1e-4
	tailHorizon = 28 // blocks: a week until the next review
	tailFloor   = 1.1
)

func init() {
	register(Strategy{Name: "tail", Description: "exponential tail of 6-hour peaks over 28 days: the level a week exceeds with probability 1e-4, at least 1.1x the peak; kills are censored peaks", New: func() Estimator { return &tail{} }, Resolution: blockSeconds * time.Second})
}

func (x *tail) Add(t int64, u float64) { x.b.add(t, u) }

func (x *tail) OOM(t int64, limit float64) {
	x.kill[x.kills%len(x.kill)].t = t
	x.kill[x.kills%len(x.kill)].limit = float32(limit)
	x.kills++
}

type obs struct {
	v        float64
	censored bool
}

func (x *tail) Recommend() Values {
	peaks := x.b.peaks(ringBlocks)
	if len(peaks) == 0 {
		return Values{}
	}
	var o []obs
	for _, p := range peaks {
		o = append(o, obs{v: p})
	}
	oldest := (x.b.newest - ringBlocks) * blockSeconds
	for i := 0; i < min(x.kills, len(x.kill)); i++ {
		if k := x.kill[i]; k.t > oldest {
			o = append(o, obs{v: float64(k.limit), censored: true})
		}
	}
	sort.Slice(o, func(i, j int) bool { return o[i].v > o[j].v })
	x.peak = o[0].v
	x.n = len(peaks)
	req := median(peaks)
	if len(o) <= tailK {
		x.threshold, x.excess, x.level = 0, 0, 0
		return Values{Request: req, Limit: 2 * x.peak}
	}
	u := o[tailK].v
	sum, observed := 0.0, 0
	for _, ob := range o[:tailK] {
		sum += ob.v - u
		if !ob.censored {
			observed++
		}
	}
	e := sum / float64(max(observed, 1))
	arg := float64(tailHorizon*tailK) / (float64(x.n) * tailP)
	level := u
	if arg > 1 {
		level = u + e*math.Log(arg)
	}
	x.threshold, x.excess, x.level = u, e, level
	return Values{Request: req, Limit: math.Max(level, tailFloor*x.peak)}
}

func (x *tail) Explain() []string {
	if x.level == 0 {
		return []string{fmt.Sprintf("%d six-hour peaks only (%d needed to model the tail): limit 2x the peak %s", x.n, tailK+1, mib(x.peak))}
	}
	return []string{
		fmt.Sprintf("%d six-hour peaks over %.0f days; the top %d exceed %s by %s on average", x.n, float64(x.n)/4, tailK, mib(x.threshold), mib(x.excess)),
		fmt.Sprintf("the level a week's peaks exceed with probability %g: %s; the highest peak: %s (limit at least %gx it)", tailP, mib(x.level), mib(x.peak), tailFloor),
	}
}

func (x *tail) StateBytes() int { return blocksBytes + 8*16 + 48 }
