package recommend

import (
	"math"
	"math/rand"
	"strings"
	"testing"
)

const mi = 1 << 20

// feed adds samples every 5 minutes from t0, usage from f(i).
func feed(e Estimator, t0 int64, n int, f func(i int) float64) int64 {
	t := t0
	for i := 0; i < n; i++ {
		e.Add(t, f(i))
		t += 300
	}
	return t
}

const day = 288 // samples of 5 minutes

func TestPeakMultiples(t *testing.T) {
	s, _ := Lookup("peak-2x")
	e := s.New()
	feed(e, 1_000_000, 2*day, func(i int) float64 {
		if i == 100 {
			return 300 * mi
		}
		return 100 * mi
	})
	v := e.Recommend()
	if v.Limit != 600*mi {
		t.Errorf("limit %v, want 2x the 300Mi peak", v.Limit/mi)
	}
	if math.Abs(v.Request-100*mi) > 1*mi {
		t.Errorf("request %v, want the average (about 100Mi)", v.Request/mi)
	}
	e.OOM(2_000_000, 400*mi)
	if v := e.Recommend(); v.Limit != 800*mi {
		t.Errorf("after a kill at 400Mi: limit %v, want 2x 400Mi", v.Limit/mi)
	}
}

func TestKrrLooksBack14Days(t *testing.T) {
	s, _ := Lookup("krr")
	e := s.New()
	// A 1Gi peak on day 0, then 20 days at 100Mi: the peak is out of the
	// 14-day window.
	tt := feed(e, 0, day, func(i int) float64 { return 1024 * mi })
	feed(e, tt, 20*day, func(int) float64 { return 100 * mi })
	if v := e.Recommend(); math.Abs(v.Limit-115*mi) > 0.01*mi || v.Request != v.Limit {
		t.Errorf("limit %v request %v, want 1.15 x 100Mi for both", v.Limit/mi, v.Request/mi)
	}
	e.OOM(21*86400, 200*mi)
	if v := e.Recommend(); v.Limit != 250*mi {
		t.Errorf("after a kill at 200Mi: %v, want 1.25 x 200Mi", v.Limit/mi)
	}
}

func TestVPATarget(t *testing.T) {
	s, _ := Lookup("vpa")
	e := s.New()
	// Ten days with a daily peak of 1000 MB (10^9 bytes).
	feed(e, 0, 10*day, func(i int) float64 {
		if i%day == 10 {
			return 1e9
		}
		return 5e8
	})
	v := e.Recommend()
	// The bucket holding 1e9 ends at the next bucket start; x 1.15.
	end := vpaBucketStart(vpaBucket(1e9) + 1)
	if math.Abs(v.Limit-end*1.15) > 1 || end < 1e9 || end > 1.05e9+vpaFirst {
		t.Errorf("target %v, want the end of 1e9's bucket (%v) x 1.15", v.Limit, end)
	}
	// Small usage: the 250Mi floor.
	small := s.New()
	feed(small, 0, day, func(int) float64 { return 20 * mi })
	if v := small.Recommend(); v.Limit != vpaMinMemory {
		t.Errorf("target %v, want the 250Mi minimum", v.Limit/mi)
	}
	// A kill at 1000Mi adds max(used+100Mi, used x 1.2) = 1200Mi to the
	// current day, which outweighs the rest once it is a tenth of the
	// decayed weight.
	e.OOM(10*86400+10, 1000*mi)
	after := e.Recommend().Limit
	if after <= end*1.15 {
		t.Errorf("after a kill: %v, not above %v", after, end*1.15)
	}
	// A second kill at the same limit the same day adds the same 1200Mi:
	// the bump starts from the day's usage, not from the first kill's
	// sample (the VPA's RecordOOM), so kills in a row do not compound.
	e.OOM(10*86400+20, 1000*mi)
	if v := e.Recommend(); v.Limit != after {
		t.Errorf("after a second kill at 1000Mi: %v, want %v as after the first", v.Limit, after)
	}
}

func TestTail(t *testing.T) {
	s, _ := Lookup("tail")
	// A flat workload: the tail is light, the limit is the 1.5x floor.
	flat := s.New()
	feed(flat, 0, 14*day, func(i int) float64 { return 500*mi + float64(i%7)*mi })
	if v := flat.Recommend(); math.Abs(v.Limit-1.5*506*mi) > 1 {
		t.Errorf("flat: limit %v, want 1.5 x 506Mi", v.Limit/mi)
	}
	// A spiky one: peaks of varying height: much more headroom.
	rng := rand.New(rand.NewSource(1))
	spiky := s.New()
	feed(spiky, 0, 14*day, func(i int) float64 {
		if i%50 == 0 {
			return 200*mi + rng.ExpFloat64()*100*mi
		}
		return 200 * mi
	})
	v := spiky.Recommend()
	peak := TailPeak().Value(&spiky.(*composed).h)
	if v.Limit < 1.3*peak {
		t.Errorf("spiky: limit %v for a peak %v: want more headroom than a flat workload", v.Limit/mi, peak/mi)
	}
	if !strings.Contains(strings.Join(spiky.Explain(), " "), "six-hour peaks over 14 days") {
		t.Errorf("explain: %v", spiky.Explain())
	}
	// Two days: too few peaks to model: 2x.
	short := s.New()
	feed(short, 0, 2*day, func(int) float64 { return 100 * mi })
	if v := short.Recommend(); v.Limit != 200*mi {
		t.Errorf("short: %v, want 2x", v.Limit/mi)
	}
	// A kill at 2Gi: a censored peak above everything.
	flat.OOM(14*86400, 2048*mi)
	if v := flat.Recommend(); v.Limit < 1.5*2048*mi {
		t.Errorf("after a kill at 2Gi: %v", v.Limit/mi)
	}
}

// A container killed before any sample: its kills alone size it, the
// limit it was killed at being the least its demand reached.
func TestKilledBeforeAnySample(t *testing.T) {
	want := map[string]Values{
		"tail":      {Request: 64 * mi, Limit: 128 * mi}, // too few peaks: 2x
		"krr":       {Request: 80 * mi, Limit: 80 * mi},  // 1.25x the kill
		"peak-1.5x": {Request: 64 * mi, Limit: 96 * mi},
		"peak-2x":   {Request: 64 * mi, Limit: 128 * mi},
	}
	for _, s := range All() {
		e := s.New()
		if v := e.Recommend(); v.Limit != 0 {
			t.Errorf("%s: %v with no data at all", s.Name, v)
		}
		e.OOM(1_000_000, 64*mi)
		e.OOM(1_000_060, 64*mi)
		v := e.Recommend()
		w, ok := want[s.Name]
		switch {
		case ok && v != w:
			t.Errorf("%s: %v/%v MiB, want %v/%v", s.Name, v.Request/mi, v.Limit/mi, w.Request/mi, w.Limit/mi)
		case !ok && (v.Limit < 250*mi || v.Request != v.Limit): // vpa: its 250Mi minimum
			t.Errorf("%s: %v/%v MiB, want at least 250Mi, request = limit", s.Name, v.Request/mi, v.Limit/mi)
		}
		// A kill at a higher limit raises it.
		e.OOM(1_000_120, 128*mi)
		if u := e.Recommend(); u.Limit <= v.Limit || u.Request < v.Request {
			t.Errorf("%s: a kill at 128Mi moved %v/%v MiB to %v/%v", s.Name, v.Request/mi, v.Limit/mi, u.Request/mi, u.Limit/mi)
		}
	}
}

// tail's request is the median 6-hour peak, a block with a kill peaking at
// least at the kill's limit (a container killed soon after each start is
// sampled only while small).
func TestKillsRaiseTheirBlocks(t *testing.T) {
	s, _ := Lookup("tail")
	for _, tc := range []struct{ kills, want int }{{0, 100}, {3, 100}, {4, 100}, {5, 300}} {
		e := s.New()
		end := feed(e, 0, 2*day, func(int) float64 { return 100 * mi }) // 8 blocks of 100Mi
		for k := 0; k < tc.kills; k++ {
			e.OOM(end-int64(k)*6*3600-60, 300*mi) // one kill in each of the last blocks
		}
		if v := e.Recommend(); v.Request != float64(tc.want)*mi {
			t.Errorf("%d blocks of 8 with a kill at 300Mi: request %v MiB, want %d (the lower median)", tc.kills, v.Request/mi, tc.want)
		}
	}
}

// Properties every strategy keeps: more usage never lowers the limit, a
// kill never lowers it, and the state stays small. For tail, "more usage"
// is a higher peak: a limit that gives spikier usage more headroom cannot
// be monotone in every sample (lowering everything but the peak makes the
// usage spikier, so raising it back may lower the limit), and tail is
// meant to do just that.
func TestProperties(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for _, s := range All() {
		for trial := 0; trial < 30; trial++ {
			n := day*3 + rng.Intn(20*day)
			base := make([]float64, n)
			level := 50*mi + rng.Float64()*2000*mi
			for i := range base {
				base[i] = level * (0.5 + rng.Float64()*0.5)
				if rng.Intn(200) == 0 {
					base[i] *= 1 + rng.ExpFloat64()
				}
			}
			more := append([]float64(nil), base...)
			j := rng.Intn(n)
			if s.Name == "tail" {
				for i := range base {
					if base[i] > base[j] {
						j = i
					}
				}
			}
			more[j] *= 1 + rng.Float64()*3
			a, b := s.New(), s.New()
			end := feed(a, 0, n, func(i int) float64 { return base[i] })
			feed(b, 0, n, func(i int) float64 { return more[i] })
			la, lb := a.Recommend().Limit, b.Recommend().Limit
			if lb < la*(1-1e-6) {
				t.Errorf("%s: raising sample %d of %d lowered the limit from %v to %v", s.Name, j, n, la, lb)
			}
			ra := a.Recommend().Request
			a.OOM(end, la)
			if v := a.Recommend(); v.Limit < la*(1-1e-6) || v.Request < ra*(1-1e-6) {
				t.Errorf("%s: a kill at the limit lowered the recommendation from %v/%v to %v/%v", s.Name, ra, la, v.Request, v.Limit)
			}
			if a.StateBytes() > 4096 {
				t.Errorf("%s keeps %d bytes per container", s.Name, a.StateBytes())
			}
		}
	}
}

// Usage higher everywhere (every sample scaled by c >= 1 and raised by
// d >= 0) never lowers any strategy's limit or request: tail's level is
// scaled and shifted with the usage, the others' peaks, percentiles and
// means are too.
func TestMoreUsageEverywhere(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	for _, s := range All() {
		for trial := 0; trial < 20; trial++ {
			n := day*3 + rng.Intn(25*day)
			level := 20*mi + rng.Float64()*2000*mi
			base := make([]float64, n)
			for i := range base {
				base[i] = level * (0.3 + 0.7*rng.Float64())
				if rng.Intn(100) == 0 {
					base[i] *= 1 + 3*rng.ExpFloat64()
				}
			}
			c, d := 1+rng.Float64()*0.5, rng.Float64()*100*mi
			if trial%3 == 0 {
				c = 1 // a shift alone
			} else if trial%3 == 1 {
				d = 0 // a scale alone
			}
			a, b := s.New(), s.New()
			feed(a, 0, n, func(i int) float64 { return base[i] })
			feed(b, 0, n, func(i int) float64 { return base[i]*c + d })
			va, vb := a.Recommend(), b.Recommend()
			if vb.Limit < va.Limit*(1-1e-9) || vb.Request < va.Request*(1-1e-9) {
				t.Errorf("%s: usage x%.2f + %.0fMi lowered the recommendation from %.0f/%.0fMi to %.0f/%.0fMi", s.Name, c, d/mi, va.Request/mi, va.Limit/mi, vb.Request/mi, vb.Limit/mi)
			}
		}
	}
}

func TestRoundAndGuardrails(t *testing.T) {
	for in, want := range map[float64]int64{1: 4 * mi, 100 * mi: 100 * mi, 101 * mi: 104 * mi, 130 * mi: 144 * mi, 1100 * mi: 1152 * mi, 9000 * mi: 9216 * mi} {
		if got := Round(in); got != want {
			t.Errorf("Round(%v Mi) = %v Mi, want %v", in/mi, got/mi, want/mi)
		}
	}
	g := Guardrails{Floor: 128 * mi, FloorWhy: "JVM", MaxAllocatable: 1024 * mi}
	req, lim, notes := g.Apply(Values{Request: 300 * mi, Limit: 90 * mi})
	if lim != 128*mi || req != 128*mi || len(notes) != 1 || !strings.Contains(notes[0], "JVM") {
		t.Errorf("floor: %v %v %v", req/mi, lim/mi, notes)
	}
	// Above the largest node's allocatable: capped there, and said.
	req, lim, notes = g.Apply(Values{Request: 200 * mi, Limit: 2000 * mi})
	if lim != 1024*mi || req != 208*mi || len(notes) != 1 || !strings.HasPrefix(notes[0], "capped the limit at 1024Mi, the largest node's allocatable memory 1024Mi (it needs 2048Mi): ") {
		t.Errorf("cap: %v %v %v", req/mi, lim/mi, notes)
	}
	// Capped at an allocatable between units: rounded down, never above.
	g2 := Guardrails{Floor: 4 * mi, MaxAllocatable: 7782 * mi}
	if req, lim, _ := g2.Apply(Values{Request: 9000 * mi, Limit: 9000 * mi}); lim != 7744*mi || req != 7744*mi {
		t.Errorf("cap at 7782Mi: %v %v", req/mi, lim/mi)
	}
	for in, want := range map[float64]int64{7782 * mi: 7744 * mi, 100.5 * mi: 100 * mi, 1 * mi: 4 * mi, 1024 * mi: 1024 * mi} {
		if got := RoundDown(in); got != want {
			t.Errorf("RoundDown(%v Mi) = %v Mi, want %v", in/mi, got/mi, want/mi)
		}
	}
	req, lim, notes = g.Apply(Values{Request: 0, Limit: 300 * mi})
	if req != 128*mi || lim != 304*mi || len(notes) != 1 || notes[0] != "raised the request from 0Mi to the floor 128Mi (JVM)" {
		t.Errorf("request under the floor: %v %v %q", req/mi, lim/mi, notes)
	}
	// At most 4x: 200Mi (208Mi rounded) under 2048Mi is raised to 2048/4 = 512Mi; 300Mi
	// under 1200Mi (1216Mi rounded: 4.05x) to 304Mi; exactly 4x stays.
	g = Guardrails{Floor: 4 * mi, MaxRatio: 4}
	req, lim, notes = g.Apply(Values{Request: 200 * mi, Limit: 2048 * mi})
	if lim != 2048*mi || req != 512*mi || len(notes) != 1 || !strings.HasPrefix(notes[0], "raised the request from 208Mi to 512Mi, the limit 2048Mi / 4: ") {
		t.Errorf("ratio: %v %v %q", req/mi, lim/mi, notes)
	}
	if r, why := g.RaiseRequest(300*mi, 1216*mi); r != 304*mi || why == "" {
		t.Errorf("4.05x: %v %q", r/mi, why)
	}
	if r, why := g.RaiseRequest(256*mi, 1024*mi); r != 256*mi || why != "" {
		t.Errorf("4x: %v %q", r/mi, why)
	}
	if r, why := (Guardrails{}).RaiseRequest(1*mi, 1024*mi); r != 1*mi || why != "" {
		t.Errorf("no ratio: %v %q", r/mi, why)
	}
}

// Pieces compose by hand-checked numbers, and Why names the piece that
// decided.
func TestPiecesCompose(t *testing.T) {
	h := newHistory(needBlocks)
	feed(&composed{h: h}, 0, 0, nil) // an empty composed estimator recommends nothing
	if v := (&composed{h: newHistory(needBlocks), limit: Peak(14)}).Recommend(); v != (Values{}) {
		t.Errorf("no samples: %+v", v)
	}
	for i := int64(0); i < 2*day; i++ {
		u := 100.0 * mi
		if i == 50 {
			u = 200 * mi
		}
		h.Add(i*300, u)
	}
	krr := Max(Times(1.15, Peak(14)), Times(1.25, KillLimit()))
	if v := krr.Value(&h); math.Abs(v-230*mi) > 1 || krr.Why(&h) != "the peak of 2 days 200Mi x 1.15" {
		t.Errorf("krr before a kill: %v %q", v/mi, krr.Why(&h))
	}
	h.OOM(2*86400, 256*mi)
	if v := krr.Value(&h); v != 320*mi || krr.Why(&h) != "the limit 256Mi it was OOM-killed at x 1.25" {
		t.Errorf("krr after a kill at 256Mi: %v %q", v/mi, krr.Why(&h))
	}
	floor := AtLeast(250*mi, Mean(14))
	if v := floor.Value(&h); v != 250*mi || !strings.HasPrefix(floor.Why(&h), "the minimum 250Mi (the average of 2 days 100Mi") {
		t.Errorf("AtLeast: %v %q", v/mi, floor.Why(&h))
	}
	// Two days are 8 blocks: with a kill, 9 observations, one more than
	// k=8: enough for the tail; without it the fallback says why.
	tl := WithTail(8, Max(TailLevel(8, 1e-4, 28), Times(1.1, TailPeak())), Times(2, TailPeak()))
	if !strings.Contains(tl.Why(&h), "the level a week's 6-hour peaks exceed with probability 0.0001") {
		t.Errorf("with 8 peaks and a kill: %q", tl.Why(&h))
	}
	h2 := newHistory(needBlocks)
	for i := int64(0); i < 2*day; i++ {
		h2.Add(i*300, 100*mi)
	}
	if v := tl.Value(&h2); v != 200*mi || tl.Why(&h2) != "the highest 6-hour peak 100Mi x 2 (8 six-hour peaks only: 9 needed to model the tail)" {
		t.Errorf("fallback: %v %q", v/mi, tl.Why(&h2))
	}
	// Usage pinned at the limit it was killed at: the highest peak is the
	// kill's limit, and is said as the kill, whichever sorts first.
	h2.OOM(2*86400, 100*mi)
	if got, want := TailPeak().Why(&h2), "the limit 100Mi it was OOM-killed at"; got != want {
		t.Errorf("a peak at a kill's limit: %q, want %q", got, want)
	}
	h2.Add(2*86400+300, 101*mi)
	if got, want := TailPeak().Why(&h2), "the highest 6-hour peak 101Mi"; got != want {
		t.Errorf("a peak above the kill's limit: %q, want %q", got, want)
	}
	for p, want := range map[float64]string{1e-4: "0.0001", 2e-5: "2e-5", 1e-10: "1e-10", 0.25: "0.25"} {
		if got := prob(p); got != want {
			t.Errorf("prob(%g) = %q, want %q", p, got, want)
		}
	}
}

func TestSettle(t *testing.T) {
	for _, c := range []struct {
		name           string
		cur, rec, band float64
		rise           bool
		want           float64
		kept           bool
	}{
		{"unknown current", 0, 540, 0.1, false, 540, false},
		{"no band", 512, 540, 0, false, 540, false},
		{"within the band above", 512, 540, 0.1, false, 512, true},
		{"within the band below", 512, 470, 0.1, false, 512, true},
		{"on the band's edge", 500, 550, 0.1, false, 500, true},
		{"above the band", 512, 600, 0.1, false, 600, false},
		{"below the band", 512, 400, 0.1, false, 400, false},
		{"killed at the current: any rise", 512, 540, 0.1, true, 540, false},
		{"killed at the current: no drop inside the band", 512, 500, 0.1, true, 512, true},
		{"same value", 512, 512, 0.1, false, 512, false},
	} {
		got, kept := Settle(c.cur, c.rec, c.band, c.rise)
		if got != c.want || kept != c.kept {
			t.Errorf("%s: Settle(%g, %g, %g, %v) = %g, %v; want %g, %v", c.name, c.cur, c.rec, c.band, c.rise, got, kept, c.want, c.kept)
		}
	}
}

// tail:p=...:floor=... is the tail strategy with another risk and floor;
// a bad parameter is an error that says the form.
func TestLookupTailParams(t *testing.T) {
	base, err := Lookup("tail")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, desc string
	}{
		{"tail:p=1e-3", "probability 0.001, at least 1.5x the peak"},
		{"tail:floor=1.2", "probability 2e-5, at least 1.2x the peak"},
		{"tail:p=0.01:floor=1", "probability 0.01, at least 1x the peak"},
	} {
		s, err := Lookup(c.name)
		if err != nil || s.Name != c.name || !strings.Contains(s.Description, c.desc) || s.Resolution != base.Resolution {
			t.Errorf("Lookup(%q) = %q, %q, %v; want the description to say %q", c.name, s.Name, s.Description, err, c.desc)
		}
	}
	for _, bad := range []string{"tail:", "tail:p=0", "tail:p=1", "tail:p=x", "tail:floor=0.5", "tail:q=1", "tail:p=1e-3,floor=1"} {
		if _, err := Lookup(bad); err == nil || !strings.Contains(err.Error(), "want tail:p=PROBABILITY:floor=FACTOR") {
			t.Errorf("Lookup(%q): %v", bad, err)
		}
	}
	// A higher risk and a lower floor lower the limit on the same history.
	hist := func(st Strategy) float64 {
		e := st.New()
		for i := 0; i < 28*24*12; i++ {
			e.Add(int64(i)*300, float64(200*mi)+float64(i%288)*float64(mi)/4+float64((i*7919)%97)*float64(mi))
		}
		return e.Recommend().Limit
	}
	def := hist(base)
	risky, _ := Lookup("tail:p=1e-2:floor=1")
	riskier, _ := Lookup("tail:p=0.3:floor=1")
	if l, l2 := hist(risky), hist(riskier); l >= def || l2 >= l || l2 <= 0 {
		t.Errorf("limits %.0fMi (default), %.0fMi (p=1e-2, floor 1), %.0fMi (p=0.3, floor 1): want each lower", def/mi, l/mi, l2/mi)
	}
}

// A container killed at its limit, its working set pinned there: the
// tail over peaks that all equal the kills' limit adds nothing, and with
// floor 1 the limit would stay where it was killed. It rises 1.2x above
// the kills whatever the floor; the default's 1.5x floor is above that.
func TestTailRisesAboveKills(t *testing.T) {
	for _, c := range []struct {
		name string
		want float64
	}{{"tail:p=1e-2:floor=1", 120 * mi}, {"tail", 150 * mi}} {
		st, err := Lookup(c.name)
		if err != nil {
			t.Fatal(err)
		}
		e := st.New()
		for i := 0; i < 14*24*12; i++ {
			tt := int64(i) * 300
			if i%144 == 0 {
				e.OOM(tt, 100*mi)
			}
			e.Add(tt, 100*mi)
		}
		if got := e.Recommend().Limit; got < c.want {
			t.Errorf("%s: limit %.1fMi after kills at 100Mi, want at least %.0fMi", c.name, got/mi, c.want/mi)
		}
	}
}

// TestSpanSaysWhatTheHistoryCovers: a reason names the days the history
// holds, not the window the piece would look at.
func TestSpanSaysWhatTheHistoryCovers(t *testing.T) {
	for _, c := range []struct {
		samples int64 // at 5 minutes
		n       int   // blocks the piece looks at
		want    string
	}{
		{0, 56, "0 hours"},
		{1, 56, "6 hours"},
		{216, 56, "18 hours"}, // 3 blocks
		{4 * 288, 56, "4 days"},
		{21 * 288, 56, "14 days"},     // more than the window
		{40 * 288, 112, "28 days"},    // more than the ring
		{14*288 + 72, 112, "14 days"}, // 14 days and a quarter
	} {
		var b blocks
		for i := int64(0); i < c.samples; i++ {
			b.add(i*300, 100*mi)
		}
		if got := b.span(c.n); got != c.want {
			t.Errorf("%d samples, %d blocks: %q, want %q", c.samples, c.n, got, c.want)
		}
	}
	h := newHistory(needBlocks)
	for i := int64(0); i < 3*288; i++ {
		h.Add(i*300, 100*mi)
	}
	if got := MedianPeak(28).Why(&h); got != "the median 6-hour peak of 3 days 100Mi" {
		t.Errorf("MedianPeak(28) over 3 days: %q", got)
	}
}

func TestMiB(t *testing.T) {
	for b, want := range map[float64]string{0: "0Mi", 100: "100 bytes", 1536: "2Ki", 1 << 20: "1Mi", 2.4 * mi: "2Mi", 1 << 30: "1024Mi"} {
		if got := mib(b); got != want {
			t.Errorf("mib(%v) = %q, want %q", b, got, want)
		}
	}
}
