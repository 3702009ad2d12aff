package recommend

import (
	"fmt"
	"math"
)

// daily is the VPA recommender's memory history: one sample per container
// per 24-hour interval, its peak; a histogram of exponential buckets (10
// MB, growing 5%, up to 1 TB) whose weights decay with a 24-hour
// half-life. An OOM kill adds a sample of max(used + 100 MiB, used x 1.2),
// used being the larger of the limit at the kill and the interval's peak
// of usage: not of earlier kills' samples, so that kills in a row do not
// compound (the VPA's RecordOOM leaves its oomPeak out for that reason).
// (kubernetes/autoscaler vertical-pod-autoscaler/pkg/recommender, logic/
// and model/.)
type daily struct {
	weights   [vpaBuckets]float32
	total     float64
	ref       int64   // reference time of the weights
	winStart  int64   // the current 24-hour interval
	winPeak   float64 // the interval's peak: usage or a kill's sample
	winWeight float64 // the weight the current peak was added with
	usagePeak float64 // the interval's usage that was its peak
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

func (v *daily) weight(t int64) float64 {
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

func (v *daily) addSample(value, w float64) {
	v.weights[vpaBucket(value)] += float32(w)
	v.total += w
}

func (v *daily) subtractSample(value, w float64) {
	b := vpaBucket(value)
	v.weights[b] = float32(math.Max(0, float64(v.weights[b])-w))
	v.total = math.Max(0, v.total-w)
}

// peak puts a usage sample in the current interval.
func (v *daily) peak(t int64, value float64) {
	if v.put(t, value) {
		v.usagePeak = value
	}
}

// put puts value in the current interval, replacing its peak if larger;
// it says whether it did.
func (v *daily) put(t int64, value float64) bool {
	if !v.started {
		v.started, v.ref, v.winStart = true, t, t
	}
	if t >= v.winStart+vpaInterval {
		v.winStart += (t - v.winStart) / vpaInterval * vpaInterval
		v.winPeak, v.winWeight, v.usagePeak = 0, 0, 0
	}
	if value <= v.winPeak {
		return false
	}
	if v.winPeak > 0 {
		v.subtractSample(v.winPeak, v.winWeight)
	}
	w := v.weight(v.winStart)
	v.addSample(value, w)
	v.winPeak, v.winWeight = value, w
	return true
}

func (v *daily) oom(t int64, limit float64) {
	used := math.Max(limit, v.usagePeak)
	v.put(t, math.Max(used+100<<20, used*1.2))
}

func (v *daily) percentile(p float64) float64 {
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

const dailyBytes = vpaBuckets*4 + 56

// Percentile is the p-th percentile of the daily peaks in the VPA's
// decaying histogram (the end of the bucket it falls in).
func Percentile(p float64) Piece { return percentile{p} }

type percentile struct{ p float64 }

func (x percentile) Value(h *History) float64 { return h.daily.percentile(x.p) }
func (x percentile) Why(h *History) string {
	return fmt.Sprintf("the %gth percentile of daily peaks %s", 100*x.p, mib(x.Value(h)))
}
func (percentile) needs() need { return needDaily }
