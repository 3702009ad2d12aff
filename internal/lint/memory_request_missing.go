package lint

import "fmt"

const ruleMemoryRequestMissing = "memory-request-missing"

func init() {
	register(func(*Config) Rule {
		return &memoryRequestMissing{rule{ruleMemoryRequestMissing, "warning", "A container has neither a memory request nor a limit"}}
	})
}

type memoryRequestMissing struct{ rule }

// CheckWorkload reports running containers with no memory request. A
// container with a limit and no request gets the limit as its request from
// the API server, so only containers with neither are reported.
func (r *memoryRequestMissing) CheckWorkload(ctx *Context, w *Workload) {
	if w.Spec.Resources != nil && (w.Spec.Resources.MemoryRequest.Set() || w.Spec.Resources.MemoryLimit.Set()) {
		return
	}
	for _, c := range runningContainers(w.Spec) {
		if c.Resources.MemoryRequest.Set() || limited(c) || invalid(c.Resources.MemoryRequest) || invalid(c.Resources.MemoryLimit) {
			continue
		}
		ctx.Report(Finding{Object: w.Object, Path: c.Resources.Path + ".requests.memory", Container: c.Name,
			Message: fmt.Sprintf("%s has no memory request: the scheduler counts it as using no memory, so its node can be overcommitted, and under memory pressure the kubelet evicts first the pods using most above their request. Set resources.requests.memory near its usual usage.", describe(w, c))})
	}
}
