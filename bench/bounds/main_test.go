package main

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/oomdoctor/oomdoctor/internal/replay"
	"github.com/oomdoctor/oomdoctor/internal/usage"
)

const mi = 1 << 20

func readSlice(fn func(*usage.Series) error) error {
	return usage.ReadTraceFile("../../internal/replay/testdata/slice.csv.gz", fn)
}

// Three series by hand (MiB): one rises from 100 to 150 (mean 75), one
// falls from 100 to 40 (mean 20), one stays at 100 (mean 50).
var hand = []replay.SeriesPeaks{
	{Train: 100 * mi, Next: 150 * mi, Mean: 75 * mi},
	{Train: 100 * mi, Next: 40 * mi, Mean: 20 * mi},
	{Train: 100 * mi, Next: 100 * mi, Mean: 50 * mi},
}

func TestAtLeastByHand(t *testing.T) {
	for _, c := range []struct {
		margin     float64
		allowed, n int
		slack      float64
		oom        int
	}{
		// At least the training peak, no OOM: 150, 100, 100:
		// (1/2 + 4/5 + 1/2) / 3.
		{1, 0, 0, (0.5 + 0.8 + 0.5) / 3, 0},
		// One OOM allowed: the riser at 100 (1/4 slack).
		{1, 1, 0, (0.25 + 0.8 + 0.5) / 3, 1},
		// And the fall foreseen: the second at 40 (1/2 slack).
		{1, 1, 1, (0.25 + 0.5 + 0.5) / 3, 1},
		// 2x: 200 each, nobody over it; 1 OOM allowed, none there.
		{2, 1, 0, (1 - 75.0/200 + 1 - 20.0/200 + 1 - 50.0/200) / 3, 0},
	} {
		slack, oom := atLeast(hand, c.margin, c.allowed, c.n)
		if math.Abs(slack-c.slack) > 1e-12 || oom != c.oom {
			t.Errorf("%gx, %d allowed, %d foreseen: %v / %d OOM, want %v / %d", c.margin, c.allowed, c.n, slack, oom, c.slack, c.oom)
		}
	}
}

func TestSolve(t *testing.T) {
	// Limits r x the next peak on the hand series: slack 1 - (1/2+1/2+1/2)/(3r)
	// = 1 - 1/(2r); it is 3/4 at r = 2.
	f := func(r float64) float64 {
		_, s := replay.Score(hand, func(p replay.SeriesPeaks) float64 { return r * p.Next })
		return s
	}
	if r := solve(f, 0.75); math.Abs(r-2) > 1e-9 {
		t.Errorf("solve: %v, want 2", r)
	}
	if r := solve(f, 0.1); r != 1 {
		t.Errorf("solve under f(1): %v, want 1", r)
	}
}

// The oracles bound the strategies in their class: on the real slice, no
// strategy whose limits are at least c x the training peak leaves less
// slack than the oracle of that class allowed as many OOM series.
func TestOraclesBoundStrategies(t *testing.T) {
	week := 7 * 24 * time.Hour
	for _, off := range []time.Duration{0, week} {
		o := replay.Options{Train: week, Test: week, DropFactor: 4, Offset: off}
		m, err := measure(readSlice, o)
		if err != nil {
			t.Fatal(err)
		}
		ps, _, err := replay.Peaks(readSlice, o)
		if err != nil {
			t.Fatal(err)
		}
		checked := 0
		for _, r := range m.rep.Rows {
			c := map[string]float64{"peak-2x": 2, "peak-1.5x": 1.5, "krr": 1.15, "tail": 1.5}[r.Strategy]
			if c == 0 {
				continue
			}
			bound, _ := atLeast(ps, c, r.OOMSeries, 0)
			if bound > r.Slack+1e-6 { // sums in another order
				t.Errorf("offset %v: %s leaves %.4f slack with %d OOM series, under the bound %.4f of limits at least %gx", off, r.Strategy, r.Slack, r.OOMSeries, bound, c)
			}
			checked++
		}
		hind := m.oracles[0]
		if hind.oom != 0 || math.Abs(hind.slack-m.rep.HindsightSlack) > 1e-9 {
			t.Errorf("offset %v: hindsight oracle %d / %v, the replay's %v", off, hind.oom, hind.slack, m.rep.HindsightSlack)
		}
		if checked != 4 {
			t.Errorf("checked %d strategies, want 4", checked)
		}
	}
}

// The bench prints its tables on the slice.
func TestRun(t *testing.T) {
	var b strings.Builder
	week := 7 * 24 * time.Hour
	if err := run(&b, readSlice, replay.Options{Train: week, Test: week, DropFactor: 4}); err != nil {
		t.Fatal(err)
	}
	if err := splits(&b, readSlice, 4); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| `tail` |", "hindsight", "| 1.15x the training peak | ", "krr's slack needs limits", "| 21d, 0d | "} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
}

// load keeps every series whole although the reader reuses its buffers:
// the bench on the loaded slice prints what it prints reading the file.
func TestLoad(t *testing.T) {
	read, err := load("../../internal/replay/testdata/slice.csv.gz")
	if err != nil {
		t.Fatal(err)
	}
	week := 7 * 24 * time.Hour
	var fromFile, loaded strings.Builder
	for _, c := range []struct {
		w    *strings.Builder
		read func(func(*usage.Series) error) error
	}{{&fromFile, readSlice}, {&loaded, read}} {
		if err := run(c.w, c.read, replay.Options{Train: week, Test: week, DropFactor: 4}); err != nil {
			t.Fatal(err)
		}
	}
	if loaded.String() != fromFile.String() || !strings.Contains(loaded.String(), "10 read") {
		t.Errorf("loaded:\n%s\nread from the file:\n%s", loaded.String(), fromFile.String())
	}
	if _, err := load("no-such-trace.csv"); err == nil {
		t.Error("a missing trace: no error")
	}
}
