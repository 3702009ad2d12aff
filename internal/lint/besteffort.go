package lint

import "fmt"

const ruleBestEffort = "besteffort-pod"

func init() {
	register(func(*Config) Rule {
		return &bestEffort{rule{ruleBestEffort, "warning", "A workload's pods are BestEffort: no container requests or limits CPU or memory"}}
	})
}

type bestEffort struct{ rule }

// CheckWorkload reports workloads whose pods get the BestEffort QoS class.
func (r *bestEffort) CheckWorkload(ctx *Context, w *Workload) {
	if w.Spec.Resources != nil && (w.Spec.Resources.MemoryRequest != nil || w.Spec.Resources.MemoryLimit != nil || w.Spec.Resources.CPURequest != nil || w.Spec.Resources.CPULimit != nil) {
		return
	}
	for _, c := range append(w.Spec.InitContainers, w.Spec.Containers...) {
		res := c.Resources
		if res.MemoryRequest.Set() || res.MemoryLimit.Set() || res.CPURequest.Set() || res.CPULimit.Set() {
			return
		}
	}
	ctx.Report(Finding{Object: w.Object, Path: w.SpecPath + ".containers",
		Message: fmt.Sprintf("The pods of %s are BestEffort (no container requests or limits CPU or memory): the kubelet gives them oom_score_adj 1000, so the kernel kills them first when the node runs out of memory, and the kubelet evicts them first under memory pressure. Give each container a memory request and limit.", w.Object)})
}
