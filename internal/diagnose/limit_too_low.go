package diagnose

import (
	"fmt"
	"strings"

	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/recommend"
	"github.com/oomdoctor/oomdoctor/internal/runtimes"
	"github.com/oomdoctor/oomdoctor/internal/words"
)

// limitTooLow fires when the working set stood at 90% of the limit or more
// just before the kills and does not grow within the container's
// lifetimes (that would be a leak): the workload needs more than it has.
type limitTooLow struct{}

func init() { register(limitTooLow{}) }

func (limitTooLow) ID() model.CauseID { return model.CauseLimitTooLow }

// nearLimit is how close to the limit the working set must be before a
// kill to say the kill came from plain demand.
const nearLimit = 0.9

func (d limitTooLow) Detect(in *Input) (*model.Cause, string) {
	if !in.isOOM() || in.Finding.Type == model.SystemOOM {
		return nil, ""
	}
	limit := in.limit()
	if limit <= 0 {
		return nil, ""
	}
	if !in.hasUsage() {
		return nil, historyNeeded + ", to see whether usage sat at the limit before the kills"
	}
	if _, leaks := in.lifetimes(); leaks != nil {
		return nil, "" // growth within each lifetime: memory-leak says it
	}
	h := in.History
	var ev []model.Evidence
	near, seen := 0, 0
	for _, k := range in.kills() {
		pts := window(h.WorkingSet, k.T-in.preKill(), k.T+int64(h.Step.Seconds()))
		if len(pts) == 0 {
			continue
		}
		seen++
		lim := k.Limit
		if lim <= 0 {
			lim = limit
		}
		p := peak(pts)
		if len(h.RSS) > 0 {
			// The processes' own memory well under the limit: page cache
			// or tmpfs filled it, which page-cache and tmpfs-volume say.
			if rss := peak(window(h.RSS, k.T-in.preKill(), k.T+int64(h.Step.Seconds()))); rss > 0 && rss < 0.7*lim {
				continue
			}
		}
		if p >= nearLimit*lim {
			near++
			if len(ev) < 3 {
				ev = append(ev, model.Evidence{What: "working set just before the kill", Value: fmt.Sprintf("%s (%s of the %s limit)", size(p), pct(p, lim), size(lim)), At: ts(k.T), Source: h.Source})
			}
		}
	}
	if seen == 0 {
		return nil, "usage history around the kills (the history does not cover them)"
	}
	if near == 0 {
		return nil, ""
	}
	if ls, _ := in.lifetimes(); len(ls) > 0 {
		l := ls[len(ls)-1]
		if len(l.pts) >= 3 {
			ev = append(ev, model.Evidence{What: "trend within the container's lifetime", Value: fmt.Sprintf("%+.1fMi/h (fit r² %.2f): no steady growth", l.slope*3600/(1<<20), l.r2), Source: h.Source})
		}
	}
	p95 := quantile(h.WorkingSet, 0.95)
	ev = append(ev, model.Evidence{What: "working set p95 over the history", Value: fmt.Sprintf("%s (%s of the limit)", size(p95), pct(p95, limit)), Source: h.Source})
	c := &model.Cause{
		Summary:       fmt.Sprintf("The working set reached %s of its %s limit before %s with no growth trend: the workload needs more memory than the limit gives.", "90% or more", size(limit), words.Count(near, "kill")),
		Confidence:    model.Medium,
		ConfidenceWhy: fmt.Sprintf("%d of %d kills in the history came with the working set at the limit", near, seen),
		Evidence:      ev,
	}
	if near >= 2 && near*10 >= seen*8 {
		c.Confidence = model.High
	}
	req, lim, why, capped := sizeFromHistory(in)
	if lim > 0 {
		c.Fix = resourcesFix(in, fmt.Sprintf("Raise the memory limit to %s and the request to %s (%s).", quantity(lim), quantity(req), why), req, lim)
		if capped != "" {
			c.Fix.Text += " " + upperFirst(capped) + "."
		}
	} else {
		c.Fix = model.Fix{Text: "Raise the memory limit above the peak working set (oomdoctor recommend sizes it from the history)."}
	}
	return c, ""
}

// sizeFromHistory runs the default sizing strategy over the history,
// with the kills as censored peaks, the runtime's floor and the
// namespace's LimitRanges; capped says when these held the limit under
// what the container needs.
func sizeFromHistory(in *Input) (request, limit int64, why, capped string) {
	st, err := recommend.Lookup(recommend.Default)
	if err != nil || !in.hasUsage() {
		return 0, 0, "", ""
	}
	g := recommend.Base()
	g.MaxRatio = model.MaxLimitRequestRatio
	g.Bounds = in.Bounds
	if rt := in.runtime(); rt.Runtime != runtimes.Unknown {
		g.Floor, g.FloorWhy = float64(runtimes.Floor(rt.Runtime)), string(rt.Runtime)+" floor"
	}
	var ks []recommend.Kill
	for _, k := range in.kills() {
		l := k.Limit
		if l <= 0 {
			l = in.limit()
		}
		ks = append(ks, recommend.Kill{T: k.T - 1, Limit: l})
	}
	ws := in.History.WorkingSet
	req, lim, reasons, ok := recommend.Size(st, g, len(ws), func(i int) (int64, float64) { return ws[i].T - 1, ws[i].V }, ks)
	if !ok {
		return 0, 0, "", ""
	}
	why = "oomdoctor recommend's " + recommend.Default + " strategy"
	if len(reasons) > 0 {
		why = reasons[0] // how the limit was made
	}
	for _, r := range reasons {
		if strings.HasPrefix(r, recommend.CappedPrefix) {
			capped = r
		}
	}
	return req, lim, why, capped
}

// upperFirst starts a sentence made of a reason.
func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
