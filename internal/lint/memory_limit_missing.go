package lint

import (
	"fmt"
	"strings"
)

const ruleMemoryLimitMissing = "memory-limit-missing"

func init() {
	register(func(*Config) Rule {
		return &memoryLimitMissing{rule{ruleMemoryLimitMissing, "warning", "A container (or native sidecar) has no memory limit"}}
	})
}

type memoryLimitMissing struct{ rule }

// CheckWorkload reports regular and sidecar containers without a memory
// limit. Init containers run to completion, one at a time: they are left to
// memory-limit-partial. A pod-level limit bounds them all.
func (r *memoryLimitMissing) CheckWorkload(ctx *Context, w *Workload) {
	if w.Spec.Resources != nil && w.Spec.Resources.MemoryLimit.Set() {
		return
	}
	running := runningContainers(w.Spec)
	var limitedNames []string
	for _, c := range running {
		if limited(c) {
			limitedNames = append(limitedNames, c.Name)
		}
	}
	for _, c := range running {
		if limited(c) || invalid(c.Resources.MemoryLimit) {
			continue // memory-quantity-invalid says what is written
		}
		msg := fmt.Sprintf("%s has no memory limit: it can grow until the node runs out of memory, and then the kernel or the kubelet's eviction may kill any pod on the node. Set resources.limits.memory (`oomdoctor recommend` sizes it from real usage).", describe(w, c))
		if len(limitedNames) > 0 {
			msg += fmt.Sprintf(" The other containers (%s) have limits, but the pod as a whole gets none: the kubelet limits the pod only when every container has a limit.", strings.Join(limitedNames, ", "))
		}
		ctx.Report(Finding{Object: w.Object, Path: c.Resources.Path + ".limits.memory", Container: c.Name, Message: msg})
	}
}
