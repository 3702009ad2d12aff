package lint

import (
	"fmt"

	"github.com/oomdoctor/oomdoctor/internal/manifest"
)

const ruleMemoryQuantityInvalid = "memory-quantity-invalid"

func init() {
	register(func(*Config) Rule {
		return &memoryQuantityInvalid{rule{ruleMemoryQuantityInvalid, "error", "A memory quantity the API server refuses: not a quantity, or negative"}}
	})
}

type memoryQuantityInvalid struct{ rule }

// invalid tells whether a quantity is written but the API server refuses
// it: text that is no quantity (512MB, 1 Gi, bogus), or a negative one.
func invalid(q *manifest.Quantity) bool {
	return q != nil && (q.Value == nil || q.Value.Sign() < 0)
}

// CheckWorkload reports memory requests, limits and emptyDir sizeLimits
// the API server refuses: decoding fails for text that is no quantity,
// validation for a negative one, and either way the whole object is
// refused (kubectl apply fails), so nothing of it runs.
func (r *memoryQuantityInvalid) CheckWorkload(ctx *Context, w *Workload) {
	check := func(q *manifest.Quantity, container, what string) {
		if !invalid(q) {
			return
		}
		msg := fmt.Sprintf("%s %q is not a Kubernetes quantity: the API server refuses the whole object. Write it like 512Mi, 2Gi or 1e9 (binary units end in i; no space, no B).", what, q.Text)
		if q.Value != nil {
			msg = fmt.Sprintf("%s %q is negative: the API server refuses the whole object (memory must be 0 or more).", what, q.Text)
		}
		ctx.Report(Finding{Object: w.Object, Path: q.Path, Container: container, Message: msg})
	}
	memoryQuantities(w, check)
}
