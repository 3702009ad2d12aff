package replay

import (
	"testing"

	"github.com/oomdoctor/oomdoctor/internal/recommend"
	"github.com/oomdoctor/oomdoctor/internal/usage"
	"github.com/oomdoctor/oomdoctor/test/tracegen"
)

// On the regular synthetic families (a daily cycle, a leak, a collector's
// sawtooth, a weekly batch) the history shows what is to come: the default
// strategy must have no more series with an OOM than the 2x rule, in
// train/test and rolling, and leave less slack. (With the 1.1x floor it
// had, the leak had 1 OOM series against 0 train/test and 15 against 0
// rolling.) The families with surprises are measured, not asserted:
// make bench-families and the README.
func TestRegularFamilies(t *testing.T) {
	tail, _ := recommend.Lookup(recommend.Default)
	two, _ := recommend.Lookup("peak-2x")
	regular := 0
	for _, f := range tracegen.Families {
		if !f.Regular {
			continue
		}
		regular++
		series := f.Generate(1, 60)
		read := func(fn func(*usage.Series) error) error {
			for i := range series {
				if err := fn(&series[i]); err != nil {
					return err
				}
			}
			return nil
		}
		for _, o := range []Options{{Train: week, Test: week}, {Rolling: week, MinChange: recommend.MinChange}} {
			rep, err := Run(read, []recommend.Strategy{tail, two}, o)
			if err != nil {
				t.Fatal(err)
			}
			tl, tw := rep.Rows[0], rep.Rows[1]
			if tl.Series != 60 || tw.Series != 60 {
				t.Fatalf("%s %s: %d and %d series replayed, want 60", f.Name, rep.Mode, tl.Series, tw.Series)
			}
			if tl.OOMSeries > tw.OOMSeries || tl.Slack >= tw.Slack {
				t.Errorf("%s %s: %s has %d OOM series and %.1f%% slack; 2x %d and %.1f%%", f.Name, rep.Mode, tail.Name, tl.OOMSeries, 100*tl.Slack, tw.OOMSeries, 100*tw.Slack)
			}
		}
	}
	if regular < 4 {
		t.Fatalf("%d regular families, want at least 4", regular)
	}
}
