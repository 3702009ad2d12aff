package lint

import (
	"fmt"
	"strings"

	"github.com/oomdoctor/oomdoctor/internal/runtimes"
)

const ruleGoMemLimitMissing = "go-memlimit-missing"

func init() {
	register(func(cfg *Config) Rule {
		return &goMemLimitMissing{rule{ruleGoMemLimitMissing, "warning", "A Go program with a large memory limit has no GOMEMLIMIT"}, cfg.goMinLimit()}
	})
}

type goMemLimitMissing struct {
	rule
	minLimit int64
}

// CheckWorkload reports Go containers (known from their image or Go
// runtime settings) with a memory limit of at least minLimit (512Mi; the
// config's rules.go-memlimit-missing.minLimit) and no GOMEMLIMIT. The Go
// runtime never reads the cgroup limit: with GOGC=100 the heap grows to
// twice the live heap before a collection, so a live heap over half the
// limit gets the process killed.
func (r *goMemLimitMissing) CheckWorkload(ctx *Context, w *Workload) {
	for _, c := range w.Spec.AllContainers() {
		info := w.Runtime(c)
		if info.Runtime != runtimes.Go || info.GoMemLimitSet != nil || info.GoMemLimitFrom != nil || !limited(c) {
			continue
		}
		limit := c.Resources.MemoryLimit.Bytes()
		if limit < r.minLimit {
			continue
		}
		want := runtimes.GoMemLimitValue(int64(runtimes.GoMemLimitShare * float64(limit)))
		f := Finding{Object: w.Object, Path: c.Path + ".env", Container: c.Name,
			Message: fmt.Sprintf("%s runs Go (%s) under a %s limit without GOMEMLIMIT: the Go runtime does not read the cgroup limit, and with GOGC=%s the heap grows to about twice the live heap before a collection, so a live heap over half the limit gets it killed. Set GOMEMLIMIT=%s (90%% of the limit).", describe(w, c), info.Why, c.Resources.MemoryLimit.Text, gogc(info.GOGC), want)}
		if unseen := w.UnseenEnv(c); len(unseen) > 0 {
			// It may be set there; written here it would override that.
			f.Message += unlessSetIn("GOMEMLIMIT", unseen)
		} else if e, ok := envEdit(c, "GOMEMLIMIT", want); ok {
			f.Fix = fix("set GOMEMLIMIT="+want, e)
		}
		ctx.Report(f)
	}
}

// unlessSetIn is the caveat of a finding about a variable that envFrom
// sources the input does not show may set.
func unlessSetIn(name string, unseen []string) string {
	return fmt.Sprintf(" Unless %s, whose variables the input does not show, sets %s: no automatic fix, since a value written into the manifest would override it.", strings.Join(unseen, " or "), name)
}

func gogc(v string) string {
	if v == "" {
		return "100 (the default)"
	}
	return v
}
