package replay

import (
	"fmt"

	"github.com/oomdoctor/oomdoctor/internal/usage"
)

// SeriesPeaks is what a train/test replay of one series comes down to for
// a limit that does not change: its training window's peak, the replayed
// window's peak, and the replayed window's mean usage. A limit L has an
// OOM when Next > L and leaves 1 - Mean/L of relative slack, so any rule
// that sets L from these (an oracle that knows the next week, say) is
// scored without replaying the samples again. Recent is the peak of the
// training window's last RecentDays.
type SeriesPeaks struct {
	Name                      string
	Train, Recent, Next, Mean float64
}

// RecentDays is how much of the end of the training window
// SeriesPeaks.Recent covers.
const RecentDays = 3

// Peaks reads the series a train/test replay with the same options
// replays (the same samples dropped, the same series skipped, counted in
// the report) and returns their peaks, in the order read. Real kills are
// not used: they tell demand a trace file does not have.
func Peaks(read func(func(*usage.Series) error) error, o Options) ([]SeriesPeaks, *Report, error) {
	if err := o.Check(); err != nil {
		return nil, nil, err
	}
	if o.Rolling > 0 {
		return nil, nil, fmt.Errorf("peaks are a train/test measure: give --train and --test, not --rolling")
	}
	rep := &Report{Mode: "train/test", DropFactor: o.DropFactor, OffsetSeconds: int64(o.Offset.Seconds())}
	var (
		out  []SeriesPeaks
		kept []usage.Sample
	)
	err := read(func(s *usage.Series) error {
		var w span
		var ok bool
		if w, kept, ok = o.cut(s, kept, rep); !ok {
			return nil
		}
		p := SeriesPeaks{Name: s.Name}
		n := 0
		recent := w.trainEnd - RecentDays*24*3600
		for _, x := range w.s {
			switch {
			case x.T < w.trainEnd:
				p.Train = max(p.Train, x.Usage)
				if x.T >= recent {
					p.Recent = max(p.Recent, x.Usage)
				}
			case x.T < w.end:
				p.Next = max(p.Next, x.Usage)
				p.Mean += x.Usage
				n++
			}
		}
		p.Mean /= float64(n)
		out = append(out, p)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	for _, p := range out {
		rep.hindsightSum += 1 - p.Mean/floor(p.Next)
	}
	if len(out) > 0 {
		rep.HindsightSlack = rep.hindsightSum / float64(len(out))
	}
	return out, rep, nil
}

// Score is how many series have an OOM under the limit limit gives each
// (at least MinLimit, as in a replay) and the mean relative slack.
func Score(ps []SeriesPeaks, limit func(SeriesPeaks) float64) (oom int, slack float64) {
	for _, p := range ps {
		l := floor(limit(p))
		if p.Next > l {
			oom++
		}
		slack += 1 - p.Mean/l
	}
	if len(ps) > 0 {
		slack /= float64(len(ps))
	}
	return oom, slack
}
