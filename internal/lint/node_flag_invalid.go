package lint

import (
	"fmt"
	"regexp"

	"github.com/oomdoctor/oomdoctor/internal/runtimes"
)

const ruleNodeFlagInvalid = "node-heap-flag-invalid"

func init() {
	register(func(*Config) Rule {
		return &nodeFlagInvalid{rule{ruleNodeFlagInvalid, "error", "A V8 heap size flag node refuses: it does not start"}}
	})
}

type nodeFlagInvalid struct{ rule }

// nodeSpaced finds a V8 size flag with its value as the next word.
var nodeSpaced = regexp.MustCompile(`((--max[-_]old[-_]space[-_]size|--max[-_]semi[-_]space[-_]size)\s+([0-9]+))(?:\s|$)`)

// CheckWorkload reports --max-old-space-size (or --max-semi-space-size)
// with a value V8 refuses: it takes a whole number of MiB and nothing
// else, so --max-old-space-size=1Gi stops node at start ("illegal value
// for flag"), at every restart. The fix writes the MiB a unit means.
func (r *nodeFlagInvalid) CheckWorkload(ctx *Context, w *Workload) {
	for _, c := range w.Spec.AllContainers() {
		info := w.Runtime(c)
		if info.Runtime != runtimes.Node {
			continue
		}
		for _, s := range info.BadFlags {
			f := Finding{Object: w.Object, Path: s.Path, Container: c.Name,
				Message: fmt.Sprintf("%s passes %s %s, which node refuses as it starts (\"illegal value for flag\"): the container exits at once, at every restart. V8 takes a whole number of MiB: --max-old-space-size=1536, not 1536Mi, 1.5Gi or 2g.", describe(w, c), s.Flag, where(s))}
			if f.Path == "" {
				f.Path = c.Path
			}
			rewriteBadFlag(&f, s, nodeSpaced, "=", runtimes.MeantNodeFlag)
			ctx.Report(f)
		}
	}
}
