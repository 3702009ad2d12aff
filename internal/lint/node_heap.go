package lint

import (
	"fmt"

	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/runtimes"
)

const ruleNodeHeap = "node-heap-exceeds-limit"

func init() {
	register(func(*Config) Rule {
		return &nodeHeap{rule{ruleNodeHeap, "error", "Node.js --max-old-space-size leaves no room under the memory limit"}}
	})
}

type nodeHeap struct{ rule }

// CheckWorkload compares --max-old-space-size (MiB, in args or NODE_OPTIONS)
// with the memory limit. V8's new space, code, and Buffers outside the heap
// need room too: the same thresholds as for a JVM apply, with 32 MiB of
// minimum room.
func (r *nodeHeap) CheckWorkload(ctx *Context, w *Workload) {
	for _, c := range w.Spec.AllContainers() {
		info := w.Runtime(c)
		if info.Runtime != runtimes.Node || info.Heap == nil || !limited(c) {
			continue
		}
		limit := c.Resources.MemoryLimit.Bytes()
		verdict := runtimes.JudgeHeap(runtimes.Node, info.HeapBytes, limit)
		if verdict == runtimes.HeapFits {
			continue
		}
		sev := model.SeverityError
		if verdict == runtimes.HeapTight {
			sev = model.SeverityWarning
		}
		newFlag := runtimes.NodeHeapFlag(runtimes.FitHeap(runtimes.Node, limit))
		f := Finding{Object: w.Object, Path: info.Heap.Path, Container: c.Name, Severity: sev,
			Message: fmt.Sprintf("%s: %s (%s) lets V8's old space grow to %s of the memory limit %s; new space, code and Buffers live outside it, so the kernel kills the process before V8 reports heap out of memory. Use %s.", describe(w, c), info.Heap.Flag, where(info.Heap), percent(info.HeapBytes, limit), c.Resources.MemoryLimit.Text, newFlag)}
		if f.Path == "" {
			f.Path = c.Path
		}
		if e, ok := replaceFlag(info.Heap, newFlag); ok {
			f.Fix = fix("use "+newFlag, e)
		}
		ctx.Report(f)
	}
}
