package diagnose

import "github.com/oomdoctor/oomdoctor/internal/model"

// sizedBy adds, to the causes whose fix is a new size (limit-too-low,
// request-limit-gap), who sets the pods' memory when it is not the
// workload's spec: a VerticalPodAutoscaler in an updating mode rewrites
// the requests (and the limits with them, at their ratio in the spec) of
// every new pod, so a size written into the workload does not take.
func sizedBy(in *Input, causes []model.Cause) {
	if in.MemorySetBy == "" {
		return
	}
	for i := range causes {
		c := &causes[i]
		if c.ID != model.CauseLimitTooLow && c.ID != model.CauseRequestLimitGap {
			continue
		}
		c.Evidence = append(c.Evidence, model.Evidence{What: "who sets the memory", Value: in.MemorySetBy, Source: "the cluster's VerticalPodAutoscalers"})
		c.Fix.Text += " The pods' memory is not the workload's to set: " + in.MemorySetBy + " in every new pod, so raise its minAllowed memory (resourcePolicy) instead; with controlledValues RequestsAndLimits (the default) it scales the limit with the request, keeping their ratio in the spec, and RequestsOnly leaves the limit as written."
	}
}
