package lint

import (
	"fmt"

	"github.com/oomdoctor/oomdoctor/internal/manifest"
)

const ruleRequestAboveLimit = "memory-request-above-limit"

func init() {
	register(func(*Config) Rule {
		return &requestAboveLimit{rule{ruleRequestAboveLimit, "error", "A memory request above its limit, which the API server refuses"}}
	})
}

type requestAboveLimit struct{ rule }

// CheckWorkload reports a container (or the pod, with pod-level
// resources) whose memory request is above its limit: validation refuses
// the whole object (a request must be at most its limit), so nothing of
// it runs. A limit of 0 is one too: it is written, and below the request.
func (r *requestAboveLimit) CheckWorkload(ctx *Context, w *Workload) {
	check := func(res *manifest.Resources, container, who string) {
		req, lim := res.MemoryRequest, res.MemoryLimit
		if req == nil || lim == nil || req.Value == nil || lim.Value == nil || req.Value.Sign() < 0 || lim.Value.Sign() < 0 || lim.Value.Cmp(*req.Value) >= 0 {
			return
		}
		limit := lim.Text
		if req.Value.Format != lim.Value.Format && !lim.Value.IsZero() {
			limit += fmt.Sprintf(" (%d bytes against %d)", req.Value.Value(), lim.Value.Value())
		}
		ctx.Report(Finding{Object: w.Object, Path: req.Path, Container: container,
			Message: fmt.Sprintf("%s requests %s of memory, above its limit %s: the API server refuses the whole object (a request must be at most the limit), so nothing of it runs. Swap them if that was meant, or set the limit from real usage (`oomdoctor recommend`) and the request at or under it.", who, req.Text, limit)})
	}
	for _, c := range w.Spec.AllContainers() {
		check(&c.Resources, c.Name, describe(w, c))
	}
	if w.Spec.Resources != nil {
		check(w.Spec.Resources, "", w.Object.String()+" (its pod-level resources)")
	}
}
