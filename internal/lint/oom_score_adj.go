package lint

import (
	"fmt"

	"github.com/oomdoctor/oomdoctor/internal/manifest"
)

const ruleOOMScoreAdj = "oom-score-adj-field"

func init() {
	register(func(*Config) Rule {
		return &oomScoreAdj{rule{ruleOOMScoreAdj, "error", "securityContext.oomScoreAdj is set: the Pod API has no such field"}}
	})
}

type oomScoreAdj struct{ rule }

// CheckWorkload reports securityContext.oomScoreAdj on the pod or a
// container. The field does not exist in the Pod API: a real API server
// rejects it (strict decoding error: unknown field), and older clients drop
// it silently. The kubelet sets oom_score_adj from the QoS class.
func (r *oomScoreAdj) CheckWorkload(ctx *Context, w *Workload) {
	report := func(sc *yamlNode, path, container, who string) {
		if manifest.Child(sc, "oomScoreAdj") == nil {
			return
		}
		field := path + ".oomScoreAdj"
		ctx.Report(Finding{Object: w.Object, Path: field, Container: container,
			Message: fmt.Sprintf("%s sets securityContext.oomScoreAdj, a field the Pod API does not have: the API server rejects it (unknown field) and older clients drop it, so it never changes anything. The kubelet sets oom_score_adj from the pod's QoS class: Guaranteed (requests equal limits for every container) gets -997 and is killed last; Burstable gets 1000 minus its share of the node's memory; BestEffort gets 1000 and is killed first. To be killed last, make the pod Guaranteed.", who),
			Fix:     fix("remove "+field, remove(field))})
	}
	report(w.Spec.SecurityContext, w.SpecPath+".securityContext", "", "The pod spec of "+w.Object.String())
	for _, c := range w.Spec.AllContainers() {
		report(c.SecurityContext, c.Path+".securityContext", c.Name, describe(w, c))
	}
}
