package lint

import (
	"fmt"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/oomdoctor/oomdoctor/internal/runtimes"
)

const ruleGoMemLimitInvalid = "go-memlimit-invalid"

func init() {
	register(func(*Config) Rule {
		return &goMemLimitInvalid{rule{ruleGoMemLimitInvalid, "error", "GOMEMLIMIT is not in Go's format: the Go runtime refuses to start"}}
	})
}

type goMemLimitInvalid struct{ rule }

// goByteCount is the format the Go runtime reads GOMEMLIMIT in, exactly
// (runtime.parseByteCount): a whole number of bytes with an optional B,
// KiB, MiB, GiB or TiB; no space, no fraction, no decimal units.
var goByteCount = regexp.MustCompile(`^[0-9]+(([KMGT]i)?B)?$`)

// CheckWorkload reports a GOMEMLIMIT the Go runtime cannot read: it
// throws "malformed GOMEMLIMIT" before main, so the container exits at
// every start and the pod crash-loops. Kubernetes' own units (1Gi), the
// decimal ones (1800MB) and fractions (1.5GiB) are the usual slips; the
// fix writes the amount they mean in MiB, at most 90% of the limit.
func (r *goMemLimitInvalid) CheckWorkload(ctx *Context, w *Workload) {
	for _, c := range w.Spec.AllContainers() {
		info := w.Runtime(c)
		s := info.GoMemLimitSet
		if s == nil || s.Value == "" || s.Value == "off" || goByteCount.MatchString(s.Value) {
			continue
		}
		msg := fmt.Sprintf("%s sets GOMEMLIMIT=%q, which the Go runtime refuses as it starts (\"malformed GOMEMLIMIT\"): the process exits before it does anything, at every restart. Go reads a whole number of bytes with an optional B, KiB, MiB, GiB or TiB: not Kubernetes' Mi or Gi, not MB or GB, no fraction, no space.", describe(w, c), s.Value)
		f := Finding{Object: w.Object, Path: s.Path, Container: c.Name, Message: msg}
		if f.Path == "" {
			f.Path = c.Path
		}
		if meant, want, ok := meantGoMemLimit(s.Value, c.Resources.MemoryLimit.Bytes()); ok {
			if meant == want {
				f.Message += " In Go's format: " + want + "."
			} else {
				f.Message += fmt.Sprintf(" It means %s, at or near the memory limit %s: %s, about 90%% of it, leaves the rest of the container room.", meant, c.Resources.MemoryLimit.Text, want)
			}
			if s.Path != "" {
				f.Fix = fix("set GOMEMLIMIT="+want, set(s.Path, want))
			}
		}
		ctx.Report(f)
	}
}

// meantGoMemLimit reads a malformed GOMEMLIMIT as the amount it was
// meant to be (1Gi, 1800MB, 1.5GiB), in Go's format, in MiB, and the
// value to write: the same, or 90% of a limit it would go above (limit 0:
// none). ok is false when the text is no amount at all.
func meantGoMemLimit(text string, limit int64) (meant, want string, ok bool) {
	t := strings.TrimSpace(text)
	switch {
	case strings.HasSuffix(t, "iB"): // 1.5GiB: a Kubernetes quantity without its B
		t = strings.TrimSuffix(t, "B")
	case len(t) > 2 && strings.HasSuffix(t, "B") && strings.ContainsAny(t[len(t)-2:len(t)-1], "KkMGT"):
		t = strings.TrimSuffix(t, "B") // 1800MB: decimal
		if strings.HasSuffix(t, "K") {
			t = strings.TrimSuffix(t, "K") + "k"
		}
	}
	q, err := resource.ParseQuantity(t)
	if err != nil || q.Sign() <= 0 || q.Value() < 1<<20 {
		return "", "", false
	}
	b := q.Value()
	meant = runtimes.GoMemLimitValue(b)
	if limit > 0 && float64(b) > runtimes.GoMemLimitShare*float64(limit) {
		b = int64(runtimes.GoMemLimitShare * float64(limit))
	}
	return meant, runtimes.GoMemLimitValue(b), true
}
