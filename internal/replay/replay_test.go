package replay

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/oomdoctor/oomdoctor/internal/recommend"
	"github.com/oomdoctor/oomdoctor/internal/usage"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

const week = 7 * 24 * time.Hour

func readSlice(fn func(*usage.Series) error) error {
	return usage.ReadTraceFile("testdata/slice.csv.gz", fn)
}

func table(rep *Report) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s: %d series read, %d samples, %d dropped, %d zero, %d short; hindsight slack %.2f%%\n", rep.Mode, rep.SeriesRead, rep.Samples, rep.DroppedSamples, rep.SkippedZero, rep.SkippedShort, 100*rep.HindsightSlack)
	for _, r := range rep.Rows {
		fmt.Fprintf(&b, "%-10s series %d oom %d (%.1f%%) slack %.2f%% episodes %d changes %d; over request %.2f%% request slack %.2f%%\n", r.Strategy, r.Series, r.OOMSeries, 100*r.OOMShare, 100*r.Slack, r.Episodes, r.LimitChanges, 100*r.OverRequest, 100*r.RequestSlack)
	}
	return b.String()
}

// weeklySeries is a series "x" at 5-minute steps from t0, a week at each
// level (MiB); weekly reads it.
func weeklySeries(t0 int64, mib ...float64) *usage.Series {
	s := &usage.Series{Name: "x"}
	for i := int64(0); i < int64(len(mib))*7*288; i++ {
		s.Samples = append(s.Samples, usage.Sample{T: t0 + i*300, Usage: mib[i/(7*288)] * (1 << 20)})
	}
	return s
}

func weekly(t0 int64, mib ...float64) func(func(*usage.Series) error) error {
	return readOne(weeklySeries(t0, mib...))
}

// fiveMinute is a series "x" of n samples 5 minutes apart from 0, the
// i-th at mib(i) MiB.
func fiveMinute(n int64, mib func(i int64) float64) *usage.Series {
	s := &usage.Series{Name: "x"}
	for i := int64(0); i < n; i++ {
		s.Samples = append(s.Samples, usage.Sample{T: i * 300, Usage: mib(i) * (1 << 20)})
	}
	return s
}

func readOne(s *usage.Series) func(func(*usage.Series) error) error {
	return func(fn func(*usage.Series) error) error { return fn(s) }
}

// The replay of ten real series, every strategy, both modes, against a
// table checked in (go test ./internal/replay -update rewrites it after a
// deliberate change).
func TestGoldenReplay(t *testing.T) {
	var got strings.Builder
	for _, o := range []Options{{Train: week, Test: week, DropFactor: 4}, {Rolling: week, DropFactor: 4, MinChange: recommend.MinChange}} {
		rep, err := Run(readSlice, recommend.All(), o)
		if err != nil {
			t.Fatal(err)
		}
		got.WriteString(table(rep))
	}
	if *update {
		if err := os.WriteFile("testdata/slice.golden", []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("testdata/slice.golden")
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != string(want) {
		t.Errorf("replay changed:\n--- got\n%s--- want\n%s", got.String(), want)
	}
}

// A hand-made series: 100 for a week, then 130 for a week. krr (1.15x)
// is killed, 2x is not; the slack is computed by hand.
func TestTrainTestByHand(t *testing.T) {
	read := weekly(0, 100, 130)
	krr, _ := recommend.Lookup("krr")
	two, _ := recommend.Lookup("peak-2x")
	rep, err := Run(read, []recommend.Strategy{krr, two}, Options{Train: week, Test: week})
	if err != nil {
		t.Fatal(err)
	}
	k, p := rep.Rows[0], rep.Rows[1]
	if k.OOMSeries != 1 || p.OOMSeries != 0 {
		t.Errorf("krr oom %d, 2x oom %d", k.OOMSeries, p.OOMSeries)
	}
	if want := (200.0 - 130) / 200; abs(p.Slack-want) > 1e-9 {
		t.Errorf("2x slack %v, want %v", p.Slack, want)
	}
	// Per series: the same, one by one.
	rep, err = Run(read, []recommend.Strategy{krr, two}, Options{Train: week, Test: week, PerSeries: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []SeriesRow{{Name: "x", Strategies: []Outcome{
		{Strategy: "krr", LimitBytes: 115 << 20, OOM: true, Slack: (115.0 - 130) / 115},
		{Strategy: "peak-2x", LimitBytes: 200 << 20, Slack: (200.0 - 130) / 200},
	}}}
	if len(rep.PerSeries) != 1 || rep.PerSeries[0].Name != "x" || len(rep.PerSeries[0].Strategies) != 2 {
		t.Fatalf("per series: %+v", rep.PerSeries)
	}
	for i, o := range rep.PerSeries[0].Strategies {
		w := want[0].Strategies[i]
		if o.Strategy != w.Strategy || o.LimitBytes != w.LimitBytes || o.OOM != w.OOM || abs(o.Slack-w.Slack) > 1e-9 {
			t.Errorf("per series %s: %+v, want %+v", w.Strategy, o, w)
		}
	}
	// Rolling: krr is killed at once in the second week and bumps to
	// 1.25x the limit it was killed at.
	rep, err = Run(read, []recommend.Strategy{krr}, Options{Rolling: week})
	if err != nil {
		t.Fatal(err)
	}
	if r := rep.Rows[0]; r.Episodes != 1 || r.LimitChanges != 1 {
		t.Errorf("rolling krr: %d episodes, %d limit changes; want 1 and 1", r.Episodes, r.LimitChanges)
	}
}

// Rolling with a band: 100, 108, 130, 130 Mi a week under peak-2x. The
// limit 200 is kept at week 3 (216 is within 10%) and raised to 260 at
// week 4; without the band it changes both times.
func TestRollingBandByHand(t *testing.T) {
	read := weekly(0, 100, 108, 130, 130)
	two, _ := recommend.Lookup("peak-2x")
	for band, want := range map[float64]int{0.10: 1, 0: 2} {
		rep, err := Run(read, []recommend.Strategy{two}, Options{Rolling: week, MinChange: band})
		if err != nil {
			t.Fatal(err)
		}
		r := rep.Rows[0]
		if r.LimitChanges != want || r.Episodes != 0 {
			t.Errorf("band %g: %d limit changes, %d episodes; want %d and 0", band, r.LimitChanges, r.Episodes, want)
		}
		// Weeks 2-4: 200 throughout with the band until week 4's 260.
		slack := ((200.0-108)/200 + (200.0-130)/200 + (260.0-130)/260) / 3
		if band == 0 {
			slack = ((200.0-108)/200 + (216.0-130)/216 + (260.0-130)/260) / 3
		}
		if abs(r.Slack-slack) > 1e-9 {
			t.Errorf("band %g: slack %v, want %v", band, r.Slack, slack)
		}
	}
}

// Requests by hand: 60 and 140 Mi by turns. peak-2x requests the mean,
// 100: half the samples are above it, and the others leave 40% of it
// unused, 20% on average. krr's request is its limit, 1.15 x 140 = 161:
// nothing above it. Rolling over three such weeks gives the same.
func TestRequestsByHand(t *testing.T) {
	read := readOne(fiveMinute(3*7*288, func(i int64) float64 { return 60 + 80*float64(i%2) }))
	krr, _ := recommend.Lookup("krr")
	two, _ := recommend.Lookup("peak-2x")
	krrSlack := ((161.0-60)/161 + (161.0-140)/161) / 2
	for _, o := range []Options{{Train: week, Test: week, PerSeries: true}, {Rolling: week, PerSeries: true}} {
		rep, err := Run(read, []recommend.Strategy{two, krr}, o)
		if err != nil {
			t.Fatal(err)
		}
		p, k := rep.Rows[0], rep.Rows[1]
		if abs(p.OverRequest-0.5) > 1e-9 || abs(p.RequestSlack-0.2) > 1e-9 {
			t.Errorf("%s: peak-2x above its request %v of the time, %v unused; want 0.5 and 0.2", rep.Mode, p.OverRequest, p.RequestSlack)
		}
		if k.OverRequest != 0 || abs(k.RequestSlack-krrSlack) > 1e-3 {
			t.Errorf("%s: krr above its request %v of the time, %v unused; want 0 and %v", rep.Mode, k.OverRequest, k.RequestSlack, krrSlack)
		}
		if got := rep.PerSeries[0].Strategies[0].RequestBytes; got != 100<<20 {
			t.Errorf("%s: peak-2x requests %d bytes, want 100Mi", rep.Mode, got)
		}
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// The whole shared trace, every strategy: how long a replay takes.
func BenchmarkReplaySharedTrace(b *testing.B) {
	const path = "../../../shared/traces/bitbrains-rnd-2013-7.csv.gz"
	if _, err := os.Stat(path); err != nil {
		b.Skip("the shared trace is not here")
	}
	for i := 0; i < b.N; i++ {
		if _, err := Run(func(fn func(*usage.Series) error) error { return usage.ReadTraceFile(path, fn) }, recommend.All(), Options{Train: week, Test: week, DropFactor: 4}); err != nil {
			b.Fatal(err)
		}
	}
}

// The baseline for it: reading the trace alone.
func BenchmarkReadSharedTrace(b *testing.B) {
	const path = "../../../shared/traces/bitbrains-rnd-2013-7.csv.gz"
	if _, err := os.Stat(path); err != nil {
		b.Skip("the shared trace is not here")
	}
	for i := 0; i < b.N; i++ {
		if err := usage.ReadTraceFile(path, func(*usage.Series) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

// Hindsight by hand: the replayed week alternates 65 and 130, so a limit
// at its peak (130) leaves (65/130 + 0)/2 = 25% slack; rolling over three
// weeks (the third at 40 and 80) leaves 25% too, each week at its own peak.
func TestHindsightByHand(t *testing.T) {
	read := readOne(fiveMinute(3*7*288, func(i int64) float64 {
		switch {
		case i >= 14*288:
			return 40 + 40*float64(i%2)
		case i >= 7*288:
			return 65 + 65*float64(i%2)
		}
		return 100
	}))
	two, _ := recommend.Lookup("peak-2x")
	rep, err := Run(read, []recommend.Strategy{two}, Options{Train: week, Test: week})
	if err != nil {
		t.Fatal(err)
	}
	if abs(rep.HindsightSlack-0.25) > 1e-9 {
		t.Errorf("train/test hindsight %v, want 0.25", rep.HindsightSlack)
	}
	rep, err = Run(read, []recommend.Strategy{two}, Options{Rolling: week})
	if err != nil {
		t.Fatal(err)
	}
	if abs(rep.HindsightSlack-0.25) > 1e-9 {
		t.Errorf("rolling hindsight %v, want 0.25", rep.HindsightSlack)
	}
}

// Every JSON field of the replay report is in docs/recommendations.md.
func TestReportFieldsAreDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/recommendations.md")
	if err != nil {
		t.Fatal(err)
	}
	for typ, prefix := range map[reflect.Type]string{reflect.TypeOf(Report{}): "`", reflect.TypeOf(Row{}): "`strategies[].", reflect.TypeOf(SeriesRow{}): "`series[].", reflect.TypeOf(Outcome{}): "`series[].strategies[]."} {
		for i := 0; i < typ.NumField(); i++ {
			name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
			if !typ.Field(i).IsExported() {
				continue
			}
			if name == "" || !strings.Contains(string(doc), prefix+name+"`") {
				t.Errorf("%s.%s (%q) is not documented in docs/recommendations.md", typ.Name(), typ.Field(i).Name, name)
			}
		}
	}
}

// --offset: 300 for a week, 100 for a week, 130 for a week. From the
// start, peak-2x trains on 300 (limit 600) and is never killed; from a
// week on, it trains on 100 (limit 200) and replays the 130 week:
// slack (200-130)/200, no kill; krr (115) is killed there. An offset past
// the series' end skips it as too short.
func TestOffsetByHand(t *testing.T) {
	read := weekly(1e9, 300, 100, 130)
	krr, _ := recommend.Lookup("krr")
	two, _ := recommend.Lookup("peak-2x")
	rep, err := Run(read, []recommend.Strategy{krr, two}, Options{Train: week, Test: week})
	if err != nil {
		t.Fatal(err)
	}
	if k, p := rep.Rows[0], rep.Rows[1]; k.OOMSeries != 0 || p.OOMSeries != 0 || abs(p.Slack-(600.0-100)/600) > 1e-9 {
		t.Errorf("no offset: krr oom %d, 2x oom %d slack %v; want 0, 0, %v", k.OOMSeries, p.OOMSeries, p.Slack, (600.0-100)/600)
	}
	rep, err = Run(read, []recommend.Strategy{krr, two}, Options{Train: week, Test: week, Offset: week})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OffsetSeconds != int64(week.Seconds()) || rep.PartialSeries != 0 {
		t.Errorf("offsetSeconds %d, %d partial series (want none)", rep.OffsetSeconds, rep.PartialSeries)
	}
	if k, p := rep.Rows[0], rep.Rows[1]; k.OOMSeries != 1 || p.OOMSeries != 0 || abs(p.Slack-(200.0-130)/200) > 1e-9 {
		t.Errorf("offset a week: krr oom %d, 2x oom %d slack %v; want 1, 0, %v", k.OOMSeries, p.OOMSeries, p.Slack, (200.0-130)/200)
	}
	if want := (130.0 - 130) / 130; abs(rep.HindsightSlack-want) > 1e-9 {
		t.Errorf("hindsight %v, want %v", rep.HindsightSlack, want)
	}
	// A replayed window a week longer than the data: replayed over the
	// week there is, and counted as partial.
	rep, err = Run(read, []recommend.Strategy{two}, Options{Train: week, Test: 2 * week, Offset: week})
	if err != nil {
		t.Fatal(err)
	}
	if rep.PartialSeries != 1 || rep.Rows[0].Series != 1 || abs(rep.Rows[0].Slack-(200.0-130)/200) > 1e-9 {
		t.Errorf("a window past the end: %d partial, %d replayed, slack %v; want 1, 1, %v", rep.PartialSeries, rep.Rows[0].Series, rep.Rows[0].Slack, (200.0-130)/200)
	}
	rep, err = Run(read, []recommend.Strategy{two}, Options{Train: week, Test: week, Offset: 3 * week})
	if err != nil {
		t.Fatal(err)
	}
	if rep.SkippedShort != 1 || rep.Rows[0].Series != 0 {
		t.Errorf("offset past the end: %d short, %d replayed; want 1 and 0", rep.SkippedShort, rep.Rows[0].Series)
	}
	if _, err := Run(read, []recommend.Strategy{two}, Options{Train: week, Test: week, Offset: -week}); err == nil || !strings.Contains(err.Error(), "negative") {
		t.Errorf("negative offset: %v", err)
	}
}

// Real kills (a cluster's history) by hand, on 100Mi flat for two weeks.
// Killed at 256Mi in training: krr's limit is 1.25 x 256 = 320Mi, peak-2x's
// 2 x 256 = 512Mi. Killed again at 400Mi in the replayed week: an OOM of
// krr (320 <= 400), not of peak-2x (above it nobody knows).
func TestRealKillsByHand(t *testing.T) {
	const mi = 1 << 20
	s := weeklySeries(0, 100, 100)
	s.Kills = []usage.Kill{{T: 3 * 86400, Limit: 256 * mi}, {T: 10 * 86400, Limit: 400 * mi}}
	krr, _ := recommend.Lookup("krr")
	two, _ := recommend.Lookup("peak-2x")
	rep, err := Run(readOne(s), []recommend.Strategy{krr, two}, Options{Train: week, Test: week})
	if err != nil {
		t.Fatal(err)
	}
	if k, p := rep.Rows[0], rep.Rows[1]; k.OOMSeries != 1 || p.OOMSeries != 0 || rep.KilledSeries != 1 {
		t.Errorf("krr oom %d, 2x oom %d, killed %d; want 1, 0, 1", k.OOMSeries, p.OOMSeries, rep.KilledSeries)
	}
	if want := (512.0 - 100) / 512; abs(rep.Rows[1].Slack-want) > 1e-9 {
		t.Errorf("2x slack %v, want %v (its limit from the kill at 256Mi)", rep.Rows[1].Slack, want)
	}
	// Rolling: the kill at 400Mi is an episode of krr's 320Mi, which
	// then rises to 1.25 x 320 = 400Mi.
	rep, err = Run(readOne(s), []recommend.Strategy{krr}, Options{Rolling: week, MinChange: recommend.MinChange})
	if err != nil {
		t.Fatal(err)
	}
	if r := rep.Rows[0]; r.Episodes != 1 || r.LimitChanges != 1 || r.OOMSeries != 1 {
		t.Errorf("rolling krr: %d episodes, %d changes, oom %d; want 1, 1, 1", r.Episodes, r.LimitChanges, r.OOMSeries)
	}
	// A real kill the usage shows too (10Gi at the kill, over krr's
	// 115Mi) is one episode, not two.
	s = weeklySeries(0, 100, 100)
	at := 8 * 288
	s.Samples[at].Usage = 10 << 30
	s.Kills = []usage.Kill{{T: s.Samples[at].T, Limit: 10 << 30}}
	rep, err = Run(readOne(s), []recommend.Strategy{krr}, Options{Rolling: week, MinChange: recommend.MinChange})
	if err != nil {
		t.Fatal(err)
	}
	if r := rep.Rows[0]; r.Episodes != 1 {
		t.Errorf("a kill the usage shows: %d episodes, want 1", r.Episodes)
	}
}

// TestCheckSaysWhichOption: each bad option is named, with what to give.
func TestCheckSaysWhichOption(t *testing.T) {
	for _, c := range []struct {
		o    Options
		want string // "" for none
	}{
		{Options{Train: week, Test: week}, ""},
		{Options{Rolling: week}, ""},
		{Options{}, "give --train and --test, or --rolling"},
		{Options{Train: 0, Test: week}, "--train 0s: give the history"},
		{Options{Train: week, Test: -time.Hour}, "--test -1h0m0s: give the window"},
		{Options{Rolling: -week}, "--rolling -168h0m0s is negative"},
		{Options{Train: week, Test: week, Offset: -time.Hour}, "the offset -1h0m0s is negative"},
		{Options{Train: week, Test: week, DropFactor: 0.5}, "the drop factor 0.5"},
	} {
		err := c.o.Check()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%+v: %v, want no error", c.o, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%+v: %v, want %q", c.o, err, c.want)
		}
	}
}
