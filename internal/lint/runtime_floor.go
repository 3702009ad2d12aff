package lint

import (
	"fmt"

	"github.com/oomdoctor/oomdoctor/internal/runtimes"
)

const ruleRuntimeFloor = "limit-below-runtime-floor"

func init() {
	register(func(*Config) Rule {
		return &runtimeFloor{rule{ruleRuntimeFloor, "warning", "A memory limit is below what the container's runtime needs to run at all"}}
	})
}

type runtimeFloor struct{ rule }

// CheckWorkload reports limits below a runtime's practical floor: 128Mi for
// a JVM, 64Mi for Node.js and .NET. Below it the runtime's own footprint
// leaves no room for the program.
func (r *runtimeFloor) CheckWorkload(ctx *Context, w *Workload) {
	for _, c := range w.Spec.AllContainers() {
		info := w.Runtime(c)
		floor := runtimes.Floor(info.Runtime)
		if floor == 0 || !limited(c) || c.Resources.MemoryLimit.Bytes() >= floor {
			continue
		}
		lim := c.Resources.MemoryLimit
		ctx.Report(Finding{Object: w.Object, Path: lim.Path, Container: c.Name,
			Message: fmt.Sprintf("%s runs %s (%s) with a memory limit of %s, below the %s such a runtime needs to start and run: its own footprint leaves nothing for the program. Raise the limit to at least %s.", describe(w, c), runtimeName(info.Runtime), info.Why, lim.Text, mib(floor), mib(floor)),
			Fix:     fix("set the limit to "+mib(floor), set(lim.Path, mib(floor)))})
	}
}

func runtimeName(r runtimes.Runtime) string {
	switch r {
	case runtimes.JVM:
		return "a JVM"
	case runtimes.Node:
		return "Node.js"
	case runtimes.DotNet:
		return ".NET"
	case runtimes.Go:
		return "Go"
	}
	return string(r)
}
