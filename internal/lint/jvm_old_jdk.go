package lint

import (
	"fmt"
	"strings"

	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/runtimes"
)

const ruleJVMOldJDK = "jvm-old-jdk-no-heap"

func init() {
	register(func(*Config) Rule {
		return &jvmOldJDK{rule{ruleJVMOldJDK, "warning", "A JVM sizes its heap from the node's memory: a JDK too old for the node's cgroups, or container support turned off, and no -Xmx"}}
	})
}

type jvmOldJDK struct{ rule }

// CheckWorkload reports JVMs without an explicit heap size whose JDK cannot
// see the container's limit: JDK 8 before 8u191 and JDK 9 see no container
// limit at all (error); 8u191-8u371, 10, 11 before 11.0.16 and 12-14 read
// cgroup v1 only, so on cgroup v2 nodes they size the heap from the node's
// memory (warning). -XX:-UseContainerSupport does the same on any JDK
// (error). MaxRAMPercentage does not help: it is a share of what the JVM
// thinks the machine has.
func (r *jvmOldJDK) CheckWorkload(ctx *Context, w *Workload) {
	for _, c := range w.Spec.AllContainers() {
		info := w.Runtime(c)
		if info.Runtime != runtimes.JVM || info.HeapBytes > 0 || info.MaxRAMBytes > 0 {
			continue
		}
		var sev model.Severity
		var why string
		switch {
		case info.ContainerSupportOff != nil:
			sev, why = model.SeverityError, fmt.Sprintf("-XX:-UseContainerSupport (%s) makes the JVM ignore the container's memory limit", where(info.ContainerSupportOff))
		case info.JDK.Cgroups() == runtimes.SupportNone:
			sev, why = model.SeverityError, fmt.Sprintf("its JDK (%s, from image %s) predates container support: it never reads the cgroup limit", info.JDK, c.Image)
		case info.JDK.Cgroups() == runtimes.SupportV1:
			sev, why = model.SeverityWarning, fmt.Sprintf("its JDK (%s, from image %s) reads cgroup v1 limits only: on cgroup v2 nodes it sees the node's memory (JDKs that read v2: 8u372+, 11.0.16+, 15+)", info.JDK, c.Image)
		default:
			continue
		}
		msg := fmt.Sprintf("%s runs a JVM with no -Xmx, and %s, so it sizes its heap from the node's memory (a quarter of it by default) and is killed once the heap grows past the container's limit.", describe(w, c), why)
		f := Finding{Object: w.Object, Path: c.Path + ".image", Container: c.Name, Severity: sev}
		if limited(c) {
			limit := c.Resources.MemoryLimit.Bytes()
			heap := runtimes.JVMSizeFlag(runtimes.FitHeap(runtimes.JVM, limit))
			msg += fmt.Sprintf(" Set %s (fits the %s limit) or use a newer JDK.", heap, c.Resources.MemoryLimit.Text)
			// The options it has keep, wherever they are set: an env
			// entry written over an envFrom ConfigMap's would drop them.
			opts, found := w.Env(c, "JAVA_TOOL_OPTIONS")
			value := strings.TrimSpace(opts.Value + " " + heap)
			switch unseen := w.UnseenEnv(c); {
			case len(unseen) > 0:
				msg += unlessSetIn("-Xmx", unseen)
			case found && opts.Path != "":
				f.Fix = fix("set "+heap+" in JAVA_TOOL_OPTIONS", set(opts.Path, value))
			case found: // from a ConfigMap this run may not edit
				msg += fmt.Sprintf(" JAVA_TOOL_OPTIONS comes from a ConfigMap: add %s there.", heap)
			default:
				if e, ok := envEdit(c, "JAVA_TOOL_OPTIONS", value); ok {
					f.Fix = fix("set "+heap+" in JAVA_TOOL_OPTIONS", e)
				}
			}
		} else {
			msg += " Give the container a memory limit and set -Xmx to about three quarters of it, or use a newer JDK."
		}
		f.Message = msg
		ctx.Report(f)
	}
}
