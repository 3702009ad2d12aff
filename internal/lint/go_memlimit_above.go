package lint

import (
	"fmt"

	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/runtimes"
)

const ruleGoMemLimitAbove = "go-memlimit-above-limit"

func init() {
	register(func(*Config) Rule {
		return &goMemLimitAbove{rule{ruleGoMemLimitAbove, "error", "GOMEMLIMIT is at or above the container's memory limit"}}
	})
}

type goMemLimitAbove struct{ rule }

// CheckWorkload reports GOMEMLIMIT at or above the memory limit (error: the
// Go GC never works harder before the kernel kills the process) or above
// 95% of it (warning: GOMEMLIMIT counts only the Go runtime's memory, not
// page cache, cgo or other processes of the container).
func (r *goMemLimitAbove) CheckWorkload(ctx *Context, w *Workload) {
	for _, c := range w.Spec.AllContainers() {
		info := w.Runtime(c)
		if info.GoMemLimitSet == nil || info.GoMemLimit == 0 || !limited(c) {
			continue
		}
		limit := c.Resources.MemoryLimit.Bytes()
		sev := model.SeverityError
		switch {
		case info.GoMemLimit >= limit:
		case float64(info.GoMemLimit) > 0.95*float64(limit):
			sev = model.SeverityWarning
		default:
			continue
		}
		want := runtimes.GoMemLimitValue(int64(runtimes.GoMemLimitShare * float64(limit)))
		f := Finding{Object: w.Object, Path: info.GoMemLimitSet.Path, Container: c.Name, Severity: sev,
			Message: fmt.Sprintf("%s sets GOMEMLIMIT=%s, %s of its memory limit %s: the Go garbage collector only works harder as the heap nears GOMEMLIMIT, so the kernel kills the process first. GOMEMLIMIT counts only the Go runtime's memory; set it to about 90%% of the limit: %s.", describe(w, c), info.GoMemLimitSet.Value, percent(info.GoMemLimit, limit), c.Resources.MemoryLimit.Text, want)}
		if f.Path == "" {
			f.Path = c.Path // set where the input does not show
		} else {
			// Where it is set: an env value, or an envFrom ConfigMap's
			// (fix --lint), not an env entry written over it.
			f.Fix = fix("set GOMEMLIMIT="+want, set(info.GoMemLimitSet.Path, want))
		}
		ctx.Report(f)
	}
}
