package lint

import (
	"fmt"
	"strings"
)

const ruleMemoryLimitPartial = "memory-limit-partial"

func init() {
	register(func(*Config) Rule {
		return &memoryLimitPartial{rule{ruleMemoryLimitPartial, "info", "Init containers lack memory limits while the other containers have them"}}
	})
}

type memoryLimitPartial struct{ rule }

// CheckWorkload reports init containers without a memory limit in a pod
// whose running containers all have one. The kubelet limits the pod's
// cgroup only when every container declares a limit (an init container
// without one counts as unlimited), so the pod has no limit and the init
// container can use the whole node while it runs. Not reported when no
// running container has a limit (memory-limit-missing says that), nor for
// pods whose init containers all have limits: peers flag init containers on
// their own and users rightly call it noise (polaris#125, kube-score#533).
func (r *memoryLimitPartial) CheckWorkload(ctx *Context, w *Workload) {
	if w.Spec.Resources != nil && w.Spec.Resources.MemoryLimit.Set() {
		return
	}
	running := runningContainers(w.Spec)
	if len(running) == 0 {
		return
	}
	for _, c := range running {
		if !limited(c) {
			return
		}
	}
	var missing []string
	for _, c := range w.Spec.InitContainers {
		if c.Kind == "init" && !limited(c) {
			missing = append(missing, c.Name)
		}
	}
	if len(missing) == 0 {
		return
	}
	for _, c := range w.Spec.InitContainers {
		if c.Kind != "init" || limited(c) {
			continue
		}
		ctx.Report(Finding{Object: w.Object, Path: c.Resources.Path + ".limits.memory", Container: c.Name,
			Message: fmt.Sprintf("%s has no memory limit while the other containers have one: during initialization it can use all of the node's memory, and the pod's cgroup gets no limit at all (the kubelet sets one only when every container, init containers included, has a limit). Init containers without limits: %s.", describe(w, c), strings.Join(missing, ", "))})
	}
}
