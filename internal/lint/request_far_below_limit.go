package lint

import "fmt"

const ruleRequestFarBelowLimit = "memory-request-far-below-limit"

func init() {
	register(func(cfg *Config) Rule {
		return &requestFarBelowLimit{rule{ruleRequestFarBelowLimit, "warning", "A container's memory request is far below its limit"}, cfg.ratio()}
	})
}

type requestFarBelowLimit struct {
	rule
	ratio float64
}

// CheckWorkload reports containers whose limit is more than ratio times
// their request (4 by default; rules.memory-request-far-below-limit.
// maxLimitRequestRatio in the config file).
func (r *requestFarBelowLimit) CheckWorkload(ctx *Context, w *Workload) {
	for _, c := range w.Spec.AllContainers() {
		req, lim := c.Resources.MemoryRequest, c.Resources.MemoryLimit
		if !req.Set() || !lim.Set() {
			continue
		}
		ratio := float64(lim.Bytes()) / float64(req.Bytes())
		if ratio <= r.ratio {
			continue
		}
		ctx.Report(Finding{Object: w.Object, Path: req.Path, Container: c.Name,
			Message: fmt.Sprintf("%s requests %s of memory but may use up to %s (%.1fx, above %.4gx): the scheduler reserves only the request, so nodes fill with pods that together can use far more than the node has; when they do, the node's OOM killer or the kubelet's eviction picks victims. Raise the request toward real usage (`oomdoctor recommend`), or lower the limit.", describe(w, c), req.Text, lim.Text, ratio, r.ratio)})
	}
}
