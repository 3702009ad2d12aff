package lint

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/runtimes"
)

const ruleJVMFlagInvalid = "jvm-memory-flag-invalid"

func init() {
	register(func(*Config) Rule {
		return &jvmFlagInvalid{rule{ruleJVMFlagInvalid, "error", "A JVM memory flag the JVM refuses: it does not start"}}
	})
}

type jvmFlagInvalid struct{ rule }

// jvmSpaced finds -Xmx, -Xms, -Xmn or -Xss with its size as the next word.
var jvmSpaced = regexp.MustCompile(`((-Xm[xsn]|-Xss)\s+([0-9]+[kKmMgGtT]?))(?:\s|$)`)

// dropFlag removes a flag from an options variable's text (with the
// space that parts it from the next one); ok is false for a flag that is
// a command or args item of its own, or not in the manifest.
func dropFlag(s *runtimes.Setting) (model.LintEdit, bool) {
	if s.Path == "" || s.Value == s.Flag {
		return model.LintEdit{}, false
	}
	from := s.Flag + " "
	if !strings.Contains(s.Value, from) {
		from = " " + s.Flag
	}
	if !strings.Contains(s.Value, from) {
		return model.LintEdit{}, false
	}
	e := set(s.Path, strings.Replace(s.Value, from, "", 1))
	e.From, e.To = from, ""
	return e, true
}

// CheckWorkload reports JVM memory flags the JVM refuses as it starts:
// written in a form it cannot read (-Xmx1Gi, -Xmx1.5g, -Xmx1536MB,
// -XX:MaxRAMPercentage=75%; Kubernetes' units beside them are the usual
// slip), -Xms above -Xmx, or flags its JDK is too old to know
// (MaxRAMPercentage before 8u191). "Could not create the Java Virtual
// Machine", at every restart. The fix writes what the flag means in the
// JVM's form, or removes the flag an old JDK does not know.
func (r *jvmFlagInvalid) CheckWorkload(ctx *Context, w *Workload) {
	for _, c := range w.Spec.AllContainers() {
		info := w.Runtime(c)
		if info.Runtime != runtimes.JVM {
			continue
		}
		if x, m := info.InitialHeap, info.Heap; x != nil && m != nil && info.HeapBytes > 0 && info.InitialHeapBytes > info.HeapBytes {
			// -Xms above -Xmx: "Initial heap size set to a larger value
			// than the maximum heap size", and no JVM.
			to := "-Xms" + strings.TrimPrefix(strings.TrimPrefix(m.Flag, "-Xmx"), "-XX:MaxHeapSize=")
			f := Finding{Object: w.Object, Path: x.Path, Container: c.Name,
				Message: fmt.Sprintf("%s passes %s %s above the maximum heap %s %s, which the JVM refuses as it starts (\"Initial heap size set to a larger value than the maximum heap size\"): the container exits at once, at every restart. Keep the initial heap at or under the maximum: %s.", describe(w, c), x.Flag, where(x), m.Flag, where(m), to)}
			if f.Path == "" {
				f.Path = c.Path
			}
			if e, ok := replaceFlag(x, to); ok {
				f.Fix = fix(fmt.Sprintf("replace %s with %s %s", x.Flag, to, where(x)), e)
			}
			ctx.Report(f)
		}
		if info.JDK.Cgroups() == runtimes.SupportNone && !info.IgnoresUnknown {
			// 8 before 8u191, and 9: "Unrecognized VM option", no JVM.
			for _, s := range info.NewerFlags {
				f := Finding{Object: w.Object, Path: s.Path, Container: c.Name,
					Message: fmt.Sprintf("%s passes %s %s, which its JDK (%s, %s) does not know: it came with JDK 10 and 8u191, and an older JVM stops at it (\"Unrecognized VM option\", \"Could not create the Java Virtual Machine\"), at every restart. Move to a JDK that reads container limits (8u372+, 11.0.16+, 17+), or set the heap with -Xmx.", describe(w, c), s.Flag, where(s), info.JDK, info.Why)}
				if f.Path == "" {
					f.Path = c.Path
				}
				if e, ok := dropFlag(s); ok {
					// Within an options variable; jvm-old-jdk-no-heap
					// sets -Xmx beside it.
					f.Fix = fix(fmt.Sprintf("remove %s %s", s.Flag, where(s)), e)
				}
				ctx.Report(f)
			}
		}
		for _, s := range info.BadFlags {
			msg := fmt.Sprintf("%s passes %s %s, which the JVM refuses as it starts (\"Could not create the Java Virtual Machine\"): the container exits at once, at every restart. The JVM takes sizes as a whole number with k, m, g or t (-Xmx1536m, -Xmx2g: not Kubernetes' Mi or Gi, no B, no fraction) and percentages as a bare number (-XX:MaxRAMPercentage=75.0).", describe(w, c), s.Flag, where(s))
			f := Finding{Object: w.Object, Path: s.Path, Container: c.Name, Message: msg}
			if f.Path == "" {
				f.Path = c.Path
			}
			rewriteBadFlag(&f, s, jvmSpaced, "", runtimes.MeantJVMFlag)
			ctx.Report(f)
		}
	}
}
