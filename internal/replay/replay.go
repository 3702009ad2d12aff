// Package replay measures sizing strategies on usage traces: train on a
// series' first days, set the limit, and count what the following days
// would have done against it (OOM kills, slack); or re-recommend every
// period, the way each strategy would run in a cluster, bumping after a
// kill.
package replay

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/oomdoctor/oomdoctor/internal/recommend"
	"github.com/oomdoctor/oomdoctor/internal/usage"
)

// Options say how to replay.
type Options struct {
	// Train and Test are the windows of train/test mode, from each series'
	// first sample.
	Train, Test time.Duration
	// Rolling, when set, replaces train/test: the first Rolling of each
	// series trains, then every Rolling the limit is recommended again,
	// and after each kill at once.
	Rolling time.Duration
	// DropFactor drops samples above this many times the provisioned
	// memory (trace quirks); 0 keeps every sample.
	DropFactor float64
	// MinChange is the rolling mode's smallest change of the limit worth
	// a rollout (recommend.Settle): a new limit within it of the current
	// one keeps the current, unless a kill asks for more. Below 1% it is
	// 1%: smaller changes of an unrounded limit are noise.
	MinChange float64
	// PerSeries adds each series' outcome under each strategy to the
	// report.
	PerSeries bool
	// Offset skips the first Offset of each series (from its first kept
	// sample): training starts there, so later weeks of a trace, which
	// no constant was chosen on, can be replayed too.
	Offset time.Duration
}

// Row is one strategy's result.
type Row struct {
	Strategy string `json:"strategy"`
	Series   int    `json:"series"`
	// OOMSeries counts the series whose usage went above the limit at
	// least once in the replayed window.
	OOMSeries int     `json:"oomSeries"`
	OOMShare  float64 `json:"oomShare"`
	// Slack is the mean over series of the mean over the replayed window
	// of (limit - usage) / limit.
	Slack float64 `json:"meanRelativeSlack"`
	// OverRequest is the mean over series of the share of the replayed
	// samples above the request: memory the node gives beyond what the
	// scheduler reserved, the first to go under the kubelet's eviction.
	OverRequest float64 `json:"overRequestShare"`
	// RequestSlack is the mean over series of the mean over the replayed
	// window of (request - usage) / request where usage is under the
	// request: memory reserved and not used.
	RequestSlack float64 `json:"meanRequestSlack"`
	// Episodes and LimitChanges are the rolling mode's kills and changes
	// of the limit.
	Episodes     int `json:"oomEpisodes,omitempty"`
	LimitChanges int `json:"limitChanges,omitempty"`
	// StateBytes is the per-container state the strategy keeps.
	StateBytes int `json:"stateBytesPerContainer"`

	slackSum, overSum, reqSlackSum float64
}

// SeriesRow is one series' replay.
type SeriesRow struct {
	Name string `json:"name"`
	// Killed says it was OOM-killed for real in the replayed window.
	Killed     bool      `json:"killedForReal,omitempty"`
	Strategies []Outcome `json:"strategies"`
}

// Outcome is what one strategy did on one series.
type Outcome struct {
	Strategy string `json:"strategy"`
	// LimitBytes and RequestBytes are the limit and request set
	// (rolling: the last ones).
	LimitBytes   int64 `json:"limitBytes"`
	RequestBytes int64 `json:"requestBytes"`
	OOM          bool  `json:"oom"`
	// Slack is the mean over the replayed window of (limit - usage) / limit.
	Slack float64 `json:"meanRelativeSlack"`
	// OverRequest is the share of the replayed samples above the request;
	// RequestSlack the mean of (request - usage) / request, 0 where usage
	// is above it.
	OverRequest  float64 `json:"overRequestShare"`
	RequestSlack float64 `json:"meanRequestSlack"`
	Episodes     int     `json:"oomEpisodes,omitempty"`
	LimitChanges int     `json:"limitChanges,omitempty"`
}

func (r *Row) add(o Outcome) {
	r.Series++
	if o.OOM {
		r.OOMSeries++
	}
	r.slackSum += o.Slack
	r.overSum += o.OverRequest
	r.reqSlackSum += o.RequestSlack
	r.Episodes += o.Episodes
	r.LimitChanges += o.LimitChanges
}

// Report is a replay's result.
type Report struct {
	Mode           string  `json:"mode"`
	Samples        int     `json:"samples"`
	SeriesRead     int     `json:"seriesRead"`
	DroppedSamples int     `json:"droppedSamples"`
	DropFactor     float64 `json:"dropFactor,omitempty"`
	// OffsetSeconds is how much of each series' start was skipped.
	OffsetSeconds int64 `json:"offsetSeconds,omitempty"`
	// MinChange is the rolling mode's band: a new limit within it of the
	// current one kept the current one (recommend.Settle).
	MinChange float64 `json:"minChange,omitempty"`
	// SkippedZero are series whose training window is all zero;
	// SkippedShort those without data in the replayed window.
	SkippedZero  int `json:"skippedZeroSeries"`
	SkippedShort int `json:"skippedShortSeries"`
	// PartialSeries are the replayed series whose data ends more than an
	// hour before the replayed window does (train/test): replayed over
	// what they have.
	PartialSeries int `json:"partialSeries,omitempty"`
	// KilledSeries are the replayed series OOM-killed for real in the
	// replayed window (a cluster's history).
	KilledSeries int   `json:"killedSeries,omitempty"`
	Rows         []Row `json:"strategies"`
	// Notes are what the source could not read (Prometheus).
	Notes []string `json:"notes,omitempty"`
	// PerSeries are the series one by one (Options.PerSeries), in the
	// order read.
	PerSeries []SeriesRow `json:"series,omitempty"`
	// HindsightSlack is the mean relative slack of a limit set, after the
	// fact, at each replayed window's own peak (each week's in rolling
	// mode): no OOM, and the least slack any limit that avoids one can
	// leave. What a strategy could gain is its slack minus this.
	HindsightSlack float64 `json:"hindsightSlack"`

	hindsightSum float64
	series       int
}

// Check says what is wrong with the options, if anything.
func (o Options) Check() error {
	switch {
	case o.Rolling < 0:
		return fmt.Errorf("--rolling %v is negative: give the period between recommendations, like 7d", o.Rolling)
	case o.Rolling > 0:
	case o.Train <= 0 && o.Test <= 0:
		return fmt.Errorf("give --train and --test, or --rolling")
	case o.Train <= 0:
		return fmt.Errorf("--train %v: give the history each strategy learns from, more than 0, like 7d", o.Train)
	case o.Test <= 0:
		return fmt.Errorf("--test %v: give the window replayed against the limit, more than 0, like 7d", o.Test)
	}
	if o.Offset < 0 {
		return fmt.Errorf("the offset %v is negative: give 0 or more, like 7d", o.Offset)
	}
	if o.DropFactor != 0 && !(o.DropFactor >= 1) {
		return fmt.Errorf("the drop factor %g: give 0 (keep every sample) or 1 or more, like 4 (under 1 it drops usage below the provisioned memory)", o.DropFactor)
	}
	return nil
}

// Run replays every strategy on the series read reads.
func Run(read func(func(*usage.Series) error) error, strategies []recommend.Strategy, o Options) (*Report, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	rep := &Report{Mode: "train/test", DropFactor: o.DropFactor, OffsetSeconds: int64(o.Offset.Seconds())}
	if o.Rolling > 0 {
		rep.Mode = "rolling"
		rep.MinChange = max(o.MinChange, 0.01)
	}
	rows := make([]Row, len(strategies))
	for i, s := range strategies {
		rows[i].Strategy = s.Name
		rows[i].StateBytes = s.New().StateBytes()
	}
	var kept []usage.Sample
	err := read(func(s *usage.Series) error {
		var w span
		var ok bool
		if w, kept, ok = o.cut(s, kept, rep); !ok {
			return nil
		}
		rep.series++
		killed := false
		for _, k := range s.Kills {
			if k.T >= w.trainEnd && k.T < w.end {
				killed = true
				break
			}
		}
		if killed {
			rep.KilledSeries++
		}
		if o.Rolling > 0 {
			rep.hindsightSum += hindsight(w.s, w.trainEnd, w.end, int64(o.Rolling.Seconds()))
		} else {
			rep.hindsightSum += hindsight(w.s, w.trainEnd, w.end, w.end-w.trainEnd)
		}
		var row *SeriesRow
		if o.PerSeries {
			rep.PerSeries = append(rep.PerSeries, SeriesRow{Name: s.Name, Killed: killed})
			row = &rep.PerSeries[len(rep.PerSeries)-1]
		}
		for i, st := range strategies {
			var out Outcome
			if o.Rolling > 0 {
				out = rolling(st, w.s, s.Kills, w.start, int64(o.Rolling.Seconds()), rep.MinChange)
			} else {
				out = trainTest(st, w.s, s.Kills, w.trainEnd, w.end)
			}
			out.Strategy = st.Name
			rows[i].add(out)
			if row != nil {
				row.Strategies = append(row.Strategies, out)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i := range rows {
		if rows[i].Series > 0 {
			rows[i].Slack = rows[i].slackSum / float64(rows[i].Series)
			rows[i].OverRequest = rows[i].overSum / float64(rows[i].Series)
			rows[i].RequestSlack = rows[i].reqSlackSum / float64(rows[i].Series)
			rows[i].OOMShare = float64(rows[i].OOMSeries) / float64(rows[i].Series)
		}
	}
	rep.Rows = rows
	if rep.series > 0 {
		rep.HindsightSlack = rep.hindsightSum / float64(rep.series)
	}
	return rep, nil
}

// span is the part of one series a replay counts: its samples from the
// start (after the offset), where training ends, and where the replayed
// window ends.
type span struct {
	s                    []usage.Sample
	start, trainEnd, end int64
}

// cut drops the samples above the drop factor and skips the offset, and
// says whether the series is replayed at all; it counts in rep what it
// read, dropped and skipped. kept is scratch space, returned for reuse
// (the span's samples live in it).
func (o Options) cut(s *usage.Series, kept []usage.Sample, rep *Report) (span, []usage.Sample, bool) {
	rep.SeriesRead++
	rep.Samples += len(s.Samples)
	kept = kept[:0]
	for _, x := range s.Samples {
		if o.DropFactor > 0 && x.Provisioned > 0 && x.Usage > o.DropFactor*x.Provisioned {
			rep.DroppedSamples++
			continue
		}
		kept = append(kept, x)
	}
	if len(kept) == 0 {
		rep.SkippedZero++
		return span{}, kept, false
	}
	start := kept[0].T + int64(o.Offset.Seconds())
	skip := sort.Search(len(kept), func(i int) bool { return kept[i].T >= start })
	if skip == len(kept) {
		rep.SkippedShort++
		return span{}, kept, false
	}
	ks := kept[skip:]
	train := int64(o.Train.Seconds())
	if o.Rolling > 0 {
		train = int64(o.Rolling.Seconds())
	}
	end := start + train + int64(o.Test.Seconds())
	if o.Rolling > 0 {
		end = ks[len(ks)-1].T + 1
	}
	zero, short := true, true
	for _, x := range ks {
		if x.T < start+train && x.Usage > 0 {
			zero = false
		}
		if x.T >= start+train && x.T < end {
			short = false
		}
	}
	switch {
	case zero:
		rep.SkippedZero++
		return span{}, kept, false
	case short:
		rep.SkippedShort++
		return span{}, kept, false
	}
	if o.Rolling == 0 && ks[len(ks)-1].T < end-3600 {
		rep.PartialSeries++
	}
	return span{s: ks, start: start, trainEnd: start + train, end: end}, kept, true
}

// hindsight is the mean relative slack over [from, to) of a limit at each
// period's own peak (periods from from).
func hindsight(s []usage.Sample, from, to, period int64) float64 {
	i := 0
	for i < len(s) && s[i].T < from {
		i++
	}
	sum, n := 0.0, 0
	for p := from; p < to && i < len(s); p += period {
		j, peak := i, 0.0
		for ; j < len(s) && s[j].T < min(p+period, to); j++ {
			peak = max(peak, s[j].Usage)
		}
		limit := floor(peak)
		for ; i < j; i++ {
			sum += (limit - s[i].Usage) / limit
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// train feeds the estimator the samples and the real kills before until,
// in time order, and returns where each list goes on. A real kill (a
// cluster's history) says the demand was above the limit it happened at,
// which the usage, capped there, never shows: in training it enters the
// strategy as a kill does; in the replayed window it is an OOM of every
// limit at or below it (above it nobody knows: not counted).
func train(e recommend.Estimator, s []usage.Sample, kills []usage.Kill, until int64) (i, k int) {
	for ; i < len(s) && s[i].T < until; i++ {
		for ; k < len(kills) && kills[k].T <= s[i].T; k++ {
			e.OOM(kills[k].T, kills[k].Limit)
		}
		e.Add(s[i].T, s[i].Usage)
	}
	for ; k < len(kills) && kills[k].T < until; k++ {
		e.OOM(kills[k].T, kills[k].Limit)
	}
	return i, k
}

func trainTest(st recommend.Strategy, s []usage.Sample, kills []usage.Kill, from, to int64) Outcome {
	e := st.New()
	i, k := train(e, s, kills, from)
	v := e.Recommend()
	limit := floor(v.Limit)
	request := requestOf(v.Request, limit)
	oom := false
	for ; k < len(kills) && kills[k].T < to; k++ {
		if kills[k].Limit >= limit {
			oom = true
		}
	}
	var slack, over, reqSlack float64
	n := 0
	for ; i < len(s) && s[i].T < to; i++ {
		u := s[i].Usage
		if u > limit {
			oom = true
		}
		slack += (limit - u) / limit
		o, r := requestUse(request, u)
		over += o
		reqSlack += r
		n++
	}
	return Outcome{LimitBytes: int64(math.Round(limit)), RequestBytes: int64(math.Round(request)), OOM: oom,
		Slack: slack / float64(n), OverRequest: over / float64(n), RequestSlack: reqSlack / float64(n)}
}

// requestOf is the request replayed with a limit: at least MinLimit (a
// strategy that saw only zeros would ask for nothing), at most the limit.
func requestOf(request, limit float64) float64 { return min(max(request, MinLimit), limit) }

// requestUse is one sample against the request: 1 when the usage is above
// it, else 0 and the share of the request left unused.
func requestUse(request, usage float64) (over, slack float64) {
	if usage > request {
		return 1, 0
	}
	return 0, (request - usage) / request
}

// rolling re-recommends every period and after each kill. What the
// strategy sees after a kill is the usage as monitoring would: capped at
// the limit (the container was killed there).
func rolling(st recommend.Strategy, s []usage.Sample, kills []usage.Kill, start, period int64, band float64) Outcome {
	var out Outcome
	e := st.New()
	i, k := train(e, s, kills, start+period)
	v := e.Recommend()
	limit := floor(v.Limit)
	request := requestOf(v.Request, limit)
	next := start + 2*period
	var slack, over, reqSlack float64
	n := 0
	// review sets what the strategy now recommends, each value kept when
	// the new one is within the band of it (a kill: any higher limit).
	review := func(killed bool) {
		v := e.Recommend()
		if l, _ := recommend.Settle(limit, floor(v.Limit), band, killed); l != limit {
			limit = l
			out.LimitChanges++
		}
		request, _ = recommend.Settle(request, requestOf(v.Request, limit), band, false)
		request = min(request, limit)
	}
	killed := func(t int64) {
		out.Episodes++
		e.OOM(t, limit)
		review(true)
	}
	lastKill := start - 2*sameKill // the last sample above the limit
	for ; i < len(s); i++ {
		x := s[i]
		for x.T >= next {
			review(false)
			next += period
		}
		o, r := requestUse(request, x.Usage)
		over += o
		reqSlack += r
		if u := x.Usage; u > limit {
			lastKill = x.T
			e.Add(x.T, limit)
			n++ // no slack while it is killed
			killed(x.T)
		} else {
			slack += (limit - u) / limit
			n++
			e.Add(x.T, u)
		}
		// Real kills up to this sample: one at or above the limit is a
		// kill of this strategy too, unless the usage showed it already.
		for ; k < len(kills) && kills[k].T <= x.T; k++ {
			if kills[k].Limit >= limit && x.T-lastKill > sameKill {
				killed(kills[k].T)
			}
		}
	}
	out.LimitBytes, out.RequestBytes, out.OOM = int64(math.Round(limit)), int64(math.Round(request)), out.Episodes > 0
	if n > 0 {
		out.Slack, out.OverRequest, out.RequestSlack = slack/float64(n), over/float64(n), reqSlack/float64(n)
	}
	return out
}

// sameKill is how close a real kill and a sample above the limit are one
// kill: the kill is seen within a step (at most an hour) of the usage that
// caused it.
const sameKill = 3600

// MinLimit is the smallest limit replayed: no container runs in less, and a
// strategy that saw only zeros would otherwise recommend 0.
const MinLimit = 1 << 20

func floor(l float64) float64 { return max(l, MinLimit) }
