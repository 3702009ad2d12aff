// Package tracegen makes synthetic memory traces of the shapes container
// usage takes (daily cycles, leaks, garbage-collector sawtooth, spikes,
// weekly batches, step changes), seeded and reproducible. The sizing
// strategies are measured on the real trace of ../shared/traces; these
// families say how they behave on shapes that trace has few of, each
// family alone, so that a strategy's weakness has a name.
package tracegen

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand"

	"github.com/oomdoctor/oomdoctor/internal/usage"
)

// Family is one shape of usage.
type Family struct {
	Name, Description string
	// Regular says the history shows what is to come (a cycle, a trend,
	// a batch): a strategy that reads the history well is not surprised.
	// The others hold surprises: spikes of heavy-tailed height, spikes
	// rarer than the history is long, a lasting jump.
	Regular bool
	level   func(p *params, t float64, r *rand.Rand) float64
}

// params are one series' draws.
type params struct {
	base, noise, amp, phase, growth, period, mag, saw, stepAt, stepF float64
	weekday                                                          int
	spikeLeft                                                        int
	spikeMag                                                         float64
}

// Step is the sampling interval (seconds), Days the length of a series.
const (
	Step = 300
	Days = 30
	day  = 86400.0
)

// Families are the shapes, in a stable order.
var Families = []Family{
	{Name: "daily", Regular: true, Description: "a daily cycle of 0-50% around the base",
		level: func(p *params, t float64, _ *rand.Rand) float64 {
			return p.base * (1 + p.amp*math.Sin(2*math.Pi*t/day+p.phase))
		}},
	{Name: "leak", Regular: true, Description: "growth of 1-21% of the base a week, never restarted",
		level: func(p *params, t float64, _ *rand.Rand) float64 { return p.base * (1 + p.growth*t) }},
	{Name: "sawtooth", Regular: true, Description: "a heap filling from 50% to 100% and collected, every 1-24 hours",
		level: func(p *params, t float64, _ *rand.Rand) float64 {
			return p.base * (0.5 + 0.5*math.Mod(t+p.phase*p.saw, p.saw)/p.saw)
		}},
	{Name: "heavy-spikes", Description: "5-15 minute spikes every 6 hours on average, of heavy-tailed height (Pareto, alpha 1.5)",
		level: func(p *params, t float64, r *rand.Rand) float64 {
			if p.spikeLeft == 0 && r.Float64() < Step/(6*3600.0) {
				p.spikeLeft, p.spikeMag = 1+r.Intn(3), 1+0.1*math.Pow(r.Float64(), -1/1.5)
			}
			return p.base
		}},
	{Name: "weekly-batch", Regular: true, Description: "a 2-hour batch at 1.2-3x the base, once a week",
		level: func(p *params, t float64, _ *rand.Rand) float64 {
			if int(t/day)%7 == p.weekday {
				if h := math.Mod(t, day) / 3600; h >= 2 && h < 4 {
					return p.base * p.mag
				}
			}
			return p.base
		}},
	{Name: "rare-spikes", Description: "5-60 minute spikes at 1.2-3x the base, returning every 2-20 days: often none in a week",
		level: func(p *params, t float64, r *rand.Rand) float64 {
			if p.spikeLeft == 0 && r.Float64() < Step/p.period {
				p.spikeLeft, p.spikeMag = 1+r.Intn(12), p.mag
			}
			return p.base
		}},
	{Name: "step-change", Description: "a lasting jump to 1.3-2x the base at a random moment (a new release, more data)",
		level: func(p *params, t float64, _ *rand.Rand) float64 {
			if t >= p.stepAt {
				return p.base * p.stepF
			}
			return p.base
		}},
}

// Lookup finds a family by name.
func Lookup(name string) (Family, error) {
	for _, f := range Families {
		if f.Name == name {
			return f, nil
		}
	}
	return Family{}, fmt.Errorf("no family %q", name)
}

// Generate makes n series of the family, Days long at Step, from seed.
// Every series has its own base (64Mi to 3.5Gi), noise (1-11% of the
// level, Gaussian) and draws of the family's parameters; provisioned is 8x
// the base.
func (f Family) Generate(seed int64, n int) []usage.Series {
	r := rand.New(rand.NewSource(seed))
	const t0 = 1_700_000_000
	samples := Days * int(day) / Step
	out := make([]usage.Series, 0, n)
	for s := 0; s < n; s++ {
		p := params{
			base:    math.Exp(r.Float64()*4) * 64 * (1 << 20),
			noise:   0.01 + r.Float64()*0.1,
			amp:     r.Float64() * 0.5,
			phase:   r.Float64() * 2 * math.Pi,
			growth:  (0.01 + r.Float64()*0.2) / (7 * day),
			period:  (2 + r.Float64()*18) * day,
			mag:     1.2 + r.Float64()*1.8,
			saw:     (1 + r.Float64()*23) * 3600,
			stepAt:  float64(r.Intn(samples) * Step),
			stepF:   1.3 + r.Float64()*0.7,
			weekday: r.Intn(7),
		}
		ser := usage.Series{Name: fmt.Sprintf("%s-%d", f.Name, s), Samples: make([]usage.Sample, samples)}
		for i := range ser.Samples {
			t := float64(i * Step)
			u := f.level(&p, t, r)
			if p.spikeLeft > 0 {
				u *= p.spikeMag
				p.spikeLeft--
			}
			u = max(0, u*(1+p.noise*r.NormFloat64()))
			ser.Samples[i] = usage.Sample{T: t0 + int64(t), Usage: math.Round(u), Provisioned: math.Round(8 * p.base)}
		}
		out = append(out, ser)
	}
	return out
}

// WriteCSV writes series as a trace file (series,unix_seconds,usage_bytes,
// provisioned_bytes), as oomdoctor replay --trace reads it.
func WriteCSV(w io.Writer, series []usage.Series) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "series,unix_seconds,usage_bytes,provisioned_bytes")
	for _, s := range series {
		for _, x := range s.Samples {
			fmt.Fprintf(bw, "%s,%d,%.0f,%.0f\n", s.Name, x.T, x.Usage, x.Provisioned)
		}
	}
	return bw.Flush()
}
