// Package explain tells one container's kills in depth: a timeline of
// kills and restarts, its memory over time against its request and limit
// with the kills marked, and every cause with its evidence and fix. It
// renders as text (a terminal chart), JSON/YAML, and a self-contained HTML
// page that draws the chart as inline SVG.
package explain

import (
	"sort"
	"time"

	"github.com/oomdoctor/oomdoctor/internal/diagnose"
	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/words"
)

// Kind is the kind of the document explain writes.
const Kind = "Explanation"

// Explanation is what explain writes.
type Explanation struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// Target is what was asked: "pod shop/cart-1", "Deployment shop/cart".
	Target string    `json:"target"`
	AsOf   time.Time `json:"asOf"`
	Items  []Item    `json:"items"`
	// Warnings say what could not be read.
	Warnings []model.Warning `json:"warnings,omitempty"`
}

// Item is one container's finding with its history.
type Item struct {
	Finding  model.Finding `json:"finding"`
	Timeline []Event       `json:"timeline"`
	// History is the usage over time (nil without a history source).
	History *Series `json:"history,omitempty"`
}

// Event is one moment of the timeline.
type Event struct {
	At   time.Time `json:"at"`
	What string    `json:"what"`
	// Source names where it was seen.
	Source string `json:"source"`
}

// Series is a container's memory over time, in bytes, at most MaxPoints
// per series (each the highest of the samples it stands for).
type Series struct {
	Source     string        `json:"source"`
	Step       string        `json:"step"`
	WorkingSet []model.Point `json:"workingSet"`
	RSS        []model.Point `json:"rss,omitempty"`
	Cache      []model.Point `json:"cache,omitempty"`
	Limit      []model.Point `json:"limit,omitempty"`
	Request    []model.Point `json:"request,omitempty"`
	Kills      []int64       `json:"kills,omitempty"`
}

// MaxPoints bounds each series kept in the document.
const MaxPoints = 600

// Build makes the explanation of the findings, with their histories.
func Build(target string, asOf time.Time, findings []model.Finding, hist func(f *model.Finding) *diagnose.History, warnings []model.Warning) *Explanation {
	e := &Explanation{APIVersion: model.APIVersion, Kind: Kind, Target: target, AsOf: asOf.UTC(), Items: []Item{}, Warnings: warnings}
	for i := range findings {
		f := findings[i]
		it := Item{Finding: f}
		var h *diagnose.History
		if hist != nil {
			h = hist(&f)
		}
		if h != nil && len(h.WorkingSet) > 0 {
			it.History = &Series{Source: h.Source, Step: h.Step.String(),
				WorkingSet: Downsample(h.WorkingSet, MaxPoints), RSS: Downsample(h.RSS, MaxPoints), Cache: Downsample(h.Cache, MaxPoints),
				Limit: Downsample(h.Limit, MaxPoints), Request: Downsample(h.Request, MaxPoints)}
			for _, k := range h.Kills {
				it.History.Kills = append(it.History.Kills, k.T)
			}
		}
		it.Timeline = timeline(&f, h)
		e.Items = append(e.Items, it)
	}
	return e
}

// timeline lists the kills the history and the status know, oldest first.
func timeline(f *model.Finding, h *diagnose.History) []Event {
	var out []Event
	seen := map[int64]bool{}
	if h != nil {
		for _, k := range h.Kills {
			what := "OOM kill"
			if k.Count > 1 {
				what = words.Count(k.Count, "OOM kill")
			}
			if k.Limit > 0 {
				what += " at the limit " + size(k.Limit)
			}
			out = append(out, Event{At: time.Unix(k.T, 0).UTC(), What: what, Source: k.Source})
			seen[k.T/60] = true
		}
	}
	if f.LastKill != nil && !seen[f.LastKill.Unix()/60] {
		what := string(f.Type)
		switch f.Type {
		case model.OOMKilled:
			what = "OOM kill (the last one the status keeps)"
		case model.NotOOM:
			what = "SIGKILL, not an OOM kill"
		case model.RuntimeOOM:
			what = "out of memory in the runtime, not an OOM kill: " + f.OutOfMemory.Message
		}
		if f.Reason != "" {
			what += ", reason " + f.Reason
		}
		out = append(out, Event{At: f.LastKill.UTC(), What: what, Source: "pod status"})
	}
	for _, c := range f.Causes {
		for _, ev := range c.Evidence {
			if ev.At != nil && (ev.Source == "node event" || ev.Source == "node agent (kernel OOM report)") {
				out = append(out, Event{At: ev.At.UTC(), What: ev.What + ": " + ev.Value, Source: ev.Source})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return dedupe(out)
}

func dedupe(es []Event) []Event {
	var out []Event
	for _, e := range es {
		if n := len(out); n > 0 && out[n-1].At.Equal(e.At) && out[n-1].What == e.What {
			continue
		}
		out = append(out, e)
	}
	return out
}

// Downsample keeps at most n points, each the highest of the run of
// points it stands for, so peaks stay visible.
func Downsample(ps []model.Point, n int) []model.Point {
	if len(ps) <= n || n <= 0 {
		return ps
	}
	out := make([]model.Point, 0, n)
	per := float64(len(ps)) / float64(n)
	for i := 0; i < n; i++ {
		a, b := int(float64(i)*per), int(float64(i+1)*per)
		if b > len(ps) {
			b = len(ps)
		}
		best := ps[a]
		for _, p := range ps[a:b] {
			if p.V > best.V {
				best = p
			}
		}
		out = append(out, model.Point{T: ps[b-1].T, V: best.V})
	}
	return out
}
