package recommend

import (
	"fmt"
	"math"
)

// vpa is the VPA recommender's memory target: one sample per container per
// 24-hour interval, its peak; a histogram of exponential buckets (10 MB,
// growing 5%, up to 1 TB) whose weights decay with a 24-hour half-life;
// target = the 90th percentile x 1.15, at least 250 MiB. An OOM kill adds a
// sample of max(used + 100 MiB, used x 1.2), used being the larger of the
// limit at the kill and the interval's peak. (kubernetes/autoscaler
// vertical-pod-autoscaler/pkg/recommender, logic/ and model/.)
type vpa struct {
	weights   [vpaBuckets]float32
	total     float64
	ref       int64 // reference time of the weights
	winStart  int64 // the current 24-hour interval
	winPeak   float64
	winWeight float64 // the weight the current peak was added with
	started   bool
}

const (
	vpaFirst     = 1e7
	vpaRatio     = 1.05
	vpaMax       = 1e12
	vpaBuckets   = 176
	vpaHalfLife  = 24 * 3600
	vpaInterval  = 24 * 3600
	vpaMinMemory = 250 << 20
)

func init() {
	register(Strategy{Name: "vpa", Description: "VPA target: p90 of daily peaks in a decaying histogram (24h half-life) x 1.15, OOM bump max(+100Mi, x1.2)", New: func() Estimator { return &vpa{} }})
}

func vpaBucket(v float64) int {
	if v < vpaFirst {
		return 0
	}
	b := int(math.Floor(math.Log(v*(vpaRatio-1)/vpaFirst+1) / math.Log(vpaRatio)))
	return min(b, vpaBuckets-1)
}

func vpaBucketStart(b int) float64 {
	return vpaFirst * (math.Pow(vpaRatio, float64(b)) - 1) / (vpaRatio - 1)
}

func (v *vpa) weight(t int64) float64 {
	if float64(t-v.ref)/vpaHalfLife > 40 {
		// Move the reference so that the weights stay in range.
		shift := math.Exp2(-float64(t-v.ref) / vpaHalfLife)
		v.total = 0
		for i := range v.weights {
			v.weights[i] = float32(float64(v.weights[i]) * shift)
			v.total += float64(v.weights[i])
		}
		v.winWeight *= shift
		v.ref = t
	}
	return math.Exp2(float64(t-v.ref) / vpaHalfLife)
}

func (v *vpa) addSample(value, w float64) {
	v.weights[vpaBucket(value)] += float32(w)
	v.total += w
}

func (v *vpa) subtractSample(value, w float64) {
	b := vpaBucket(value)
	v.weights[b] = float32(math.Max(0, float64(v.weights[b])-w))
	v.total = math.Max(0, v.total-w)
}

// peak puts value in the current interval, replacing its peak if larger.
func (v *vpa) peak(t int64, value float64) {
	if !v.started {
		v.started, v.ref, v.winStart = true, t, t
	}
	if t >= v.winStart+vpaInterval {
		v.winStart += (t - v.winStart) / vpaInterval * vpaInterval
		v.winPeak, v.winWeight = 0, 0
	}
	if value <= v.winPeak {
		return
	}
	if v.winPeak > 0 {
		v.subtractSample(v.winPeak, v.winWeight)
	}
	w := v.weight(v.winStart)
	v.addSample(value, w)
	v.winPeak, v.winWeight = value, w
}

func (v *vpa) Add(t int64, u float64) { v.peak(t, u) }

func (v *vpa) OOM(t int64, limit float64) {
	used := math.Max(limit, v.winPeak)
	v.peak(t, math.Max(used+100<<20, used*1.2))
}

func (v *vpa) percentile(p float64) float64 {
	if v.total <= 0 {
		return 0
	}
	threshold := p * v.total
	sum := 0.0
	b := 0
	for ; b < vpaBuckets-1; b++ {
		sum += float64(v.weights[b])
		if sum >= threshold {
			break
		}
	}
	if b < vpaBuckets-1 {
		return vpaBucketStart(b + 1)
	}
	return vpaBucketStart(b)
}

func (v *vpa) Recommend() Values {
	if !v.started {
		return Values{}
	}
	t := math.Max(v.percentile(0.9)*1.15, vpaMinMemory)
	return Values{Request: t, Limit: t}
}

func (v *vpa) Explain() []string {
	return []string{fmt.Sprintf("90th percentile of daily peaks %s x 1.15, at least 250Mi (VPA target)", mib(v.percentile(0.9)))}
}

func (v *vpa) StateBytes() int { return vpaBuckets*4 + 48 }
