package lint

import (
	"fmt"

	"github.com/oomdoctor/oomdoctor/internal/manifest"
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
		if info.GoMemLimitFrom != nil && limited(c) {
			r.fromLimit(ctx, w, c, info)
			continue
		}
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

// fromLimit reports GOMEMLIMIT from the downward API's limits.memory: the
// limit itself (divisor 1), at 100% of it; or, with a divisor, a bare
// number Go reads as bytes (2048 for 2Gi over 1Mi), so small that the GC
// runs all the time. The fix writes the value in its place.
func (r *goMemLimitAbove) fromLimit(ctx *Context, w *Workload, c *manifest.Container, info runtimes.Info) {
	ref := info.GoMemLimitFrom
	limit := c.Resources.MemoryLimit.Bytes()
	got := info.GoMemLimitFor(limit)
	if got == 0 {
		return // requests.memory or another resource: not the limit's
	}
	want := runtimes.GoMemLimitValue(int64(runtimes.GoMemLimitShare * float64(limit)))
	msg := fmt.Sprintf("%s takes GOMEMLIMIT from the memory limit itself (valueFrom.resourceFieldRef %s): %s, 100%% of it, so the Go garbage collector does not work harder before the kernel kills the process. GOMEMLIMIT counts only the Go runtime's memory; set it to about 90%% of the limit: %s.", describe(w, c), ref.Resource, c.Resources.MemoryLimit.Text, want)
	if ref.DivisorBytes > 1 {
		msg = fmt.Sprintf("%s takes GOMEMLIMIT from its memory limit over the divisor %s (valueFrom.resourceFieldRef %s): the bare number %d, which Go reads as %d bytes, so the garbage collector runs without pause (up to half the CPU) and the program crawls. Write the value with Go's unit instead, about 90%% of the limit: %s.", describe(w, c), ref.Divisor, ref.Resource, got, got, want)
	}
	f := Finding{Object: w.Object, Path: ref.Path, Container: c.Name, Message: msg}
	if f.Path == "" {
		f.Path = c.Path
	} else {
		f.Fix = fix("set GOMEMLIMIT="+want+" in place of the resourceFieldRef", remove(ref.Path+".valueFrom"), set(ref.Path+".value", want))
	}
	ctx.Report(f)
}
