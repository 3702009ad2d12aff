package replay

import (
	"testing"

	"github.com/oomdoctor/oomdoctor/internal/recommend"
)

// Peaks reads the series a replay replays: scoring the rule of thumb and
// krr from the peaks alone gives their replay's rows, and the hindsight
// slack is the replay's.
func TestPeaksScoreAsReplay(t *testing.T) {
	for _, o := range []Options{{Train: week, Test: week, DropFactor: 4}, {Train: week, Test: week, DropFactor: 4, Offset: week}} {
		rep, err := Run(readSlice, recommend.All(), o)
		if err != nil {
			t.Fatal(err)
		}
		ps, prep, err := Peaks(readSlice, o)
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) != rep.Rows[0].Series || len(ps) == 0 {
			t.Fatalf("offset %v: %d series' peaks, the replay has %d", o.Offset, len(ps), rep.Rows[0].Series)
		}
		if prep.SeriesRead != rep.SeriesRead || prep.DroppedSamples != rep.DroppedSamples || prep.SkippedZero != rep.SkippedZero || prep.SkippedShort != rep.SkippedShort {
			t.Errorf("offset %v: peaks counted %+v, the replay %+v", o.Offset, prep, rep)
		}
		if abs(prep.HindsightSlack-rep.HindsightSlack) > 1e-9 {
			t.Errorf("offset %v: hindsight %v, the replay's %v", o.Offset, prep.HindsightSlack, rep.HindsightSlack)
		}
		for _, r := range rep.Rows {
			f := map[string]float64{"peak-2x": 2, "peak-1.5x": 1.5, "krr": 1.15}[r.Strategy]
			if f == 0 {
				continue
			}
			oom, slack := Score(ps, func(p SeriesPeaks) float64 { return f * p.Train })
			if oom != r.OOMSeries || abs(slack-r.Slack) > 1e-6 { // sums in another order
				t.Errorf("offset %v: %gx the training peak scores %d / %v, the replay of %s %d / %v", o.Offset, f, oom, slack, r.Strategy, r.OOMSeries, r.Slack)
			}
		}
	}
}

// By hand: a week at 100 then 40 (the last three days of training at
// 40), then a week alternating 50 and 150.
func TestPeaksByHand(t *testing.T) {
	s := fiveMinute(2*7*288, func(i int64) float64 {
		switch {
		case i >= 7*288:
			return 50 + 100*float64(i%2)
		case i >= 4*288:
			return 40
		}
		return 100
	})
	ps, rep, err := Peaks(readOne(s), Options{Train: week, Test: week})
	if err != nil {
		t.Fatal(err)
	}
	want := SeriesPeaks{Name: "x", Train: 100 << 20, Recent: 40 << 20, Next: 150 << 20, Mean: 100 << 20}
	if len(ps) != 1 || ps[0] != want {
		t.Fatalf("peaks %+v, want %+v", ps, want)
	}
	// A limit at the next peak leaves 1 - 100/150; one at 200 leaves 1/2
	// and 100 is below the 150 peak.
	if abs(rep.HindsightSlack-1.0/3) > 1e-9 {
		t.Errorf("hindsight %v, want 1/3", rep.HindsightSlack)
	}
	for _, c := range []struct {
		limit, slack float64
		oom          int
	}{{200, 0.5, 0}, {100, 0, 1}, {150, 1.0 / 3, 0}} {
		oom, slack := Score(ps, func(SeriesPeaks) float64 { return c.limit * (1 << 20) })
		if oom != c.oom || abs(slack-c.slack) > 1e-9 {
			t.Errorf("limit %v: %d / %v, want %d / %v", c.limit, oom, slack, c.oom, c.slack)
		}
	}
	if _, _, err := Peaks(readOne(s), Options{Rolling: week}); err == nil {
		t.Error("peaks in rolling mode: no error")
	}
}
