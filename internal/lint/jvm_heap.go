package lint

import (
	"fmt"

	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/runtimes"
)

const ruleJVMHeap = "jvm-heap-exceeds-limit"

func init() {
	register(func(*Config) Rule {
		return &jvmHeap{rule{ruleJVMHeap, "error", "A JVM's heap (-Xmx, MaxRAMPercentage) leaves no room for the rest of the JVM under the memory limit"}}
	})
}

type jvmHeap struct{ rule }

// CheckWorkload compares a JVM's heap setting with its container's memory
// limit. The JVM needs room beside the heap (metaspace, code cache, thread
// stacks, GC structures, direct buffers): with the heap at 90% of the limit
// or closer than 64 MiB to it the kernel kills the JVM before it can throw
// OutOfMemoryError (error); above 75% it will under load (warning).
func (r *jvmHeap) CheckWorkload(ctx *Context, w *Workload) {
	for _, c := range w.Spec.AllContainers() {
		info := w.Runtime(c)
		if info.Runtime != runtimes.JVM || info.Heap == nil && info.InitialHeap == nil || !limited(c) {
			continue
		}
		limit := c.Resources.MemoryLimit.Bytes()
		heap := runtimes.EffectiveJVMHeap(info, limit)
		verdict := runtimes.JudgeHeap(runtimes.JVM, heap, limit)
		if verdict == runtimes.HeapFits {
			continue
		}
		set, newFlag, fromXms := runtimes.JVMHeapSetting(info, limit)
		how := ""
		if fromXms {
			how = ": with no -Xmx, the JVM raises its maximum heap to the initial one"
		}
		sev := model.SeverityError
		msg := fmt.Sprintf("%s: the JVM heap %s (%s, %s%s) is %s of the memory limit %s, leaving too little for metaspace, code cache, thread stacks and GC: the kernel will kill the JVM before it can throw OutOfMemoryError.",
			describe(w, c), about(heap), set.Flag, where(set), how, percent(heap, limit), c.Resources.MemoryLimit.Text)
		if verdict == runtimes.HeapTight {
			sev = model.SeverityWarning
			msg = fmt.Sprintf("%s: the JVM heap %s (%s, %s%s) is %s of the memory limit %s: under load the rest of the JVM (metaspace, code cache, threads, GC, direct buffers) is likely to push it over and the kernel kills it.",
				describe(w, c), about(heap), set.Flag, where(set), how, percent(heap, limit), c.Resources.MemoryLimit.Text)
		}
		fit := runtimes.FitHeap(runtimes.JVM, limit)
		f := Finding{Object: w.Object, Path: set.Path, Container: c.Name, Severity: sev}
		if f.Path == "" {
			f.Path = c.Path
		}
		msg += fmt.Sprintf(" A heap of %s fits: %s.", mib(fit), newFlag)
		if e, ok := replaceFlag(set, newFlag); ok {
			f.Fix = fix(fmt.Sprintf("replace %s with %s %s", set.Flag, newFlag, where(set)), e)
		}
		f.Message = msg
		ctx.Report(f)
	}
}
