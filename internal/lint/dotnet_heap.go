package lint

import (
	"fmt"

	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/runtimes"
)

const ruleDotNetHeap = "dotnet-heap-exceeds-limit"

func init() {
	register(func(*Config) Rule {
		return &dotnetHeap{rule{ruleDotNetHeap, "error", ".NET's GC heap hard limit leaves no room under the memory limit"}}
	})
}

type dotnetHeap struct{ rule }

// CheckWorkload compares DOTNET_GCHeapHardLimit (bytes, hexadecimal) or
// DOTNET_GCHeapHardLimitPercent (hexadecimal) with the memory limit. .NET
// defaults to 75% of the limit in containers; raising it leaves the runtime,
// JIT and native allocations no room.
func (r *dotnetHeap) CheckWorkload(ctx *Context, w *Workload) {
	for _, c := range w.Spec.AllContainers() {
		info := w.Runtime(c)
		if info.Runtime != runtimes.DotNet || info.Heap == nil || !limited(c) {
			continue
		}
		limit := c.Resources.MemoryLimit.Bytes()
		heap := info.HeapBytes
		if heap == 0 {
			heap = int64(float64(limit) * info.HeapPercent / 100)
		}
		verdict := runtimes.JudgeHeap(runtimes.DotNet, heap, limit)
		if verdict == runtimes.HeapFits {
			continue
		}
		sev := model.SeverityError
		if verdict == runtimes.HeapTight {
			sev = model.SeverityWarning
		}
		fit := runtimes.FitHeap(runtimes.DotNet, limit)
		newValue := fmt.Sprintf("0x%X", fit)
		if info.HeapBytes == 0 {
			newValue = runtimes.DotNetPercentValue(int(fit * 100 / limit))
		}
		read := fmt.Sprintf("%.0f%%", info.HeapPercent) // read as hexadecimal: 0x4B is 75%
		if info.HeapBytes > 0 {
			read = about(heap)
		}
		f := Finding{Object: w.Object, Path: info.Heap.Path, Container: c.Name, Severity: sev,
			Message: fmt.Sprintf("%s: %s (read as hexadecimal: %s) lets the GC heap take %s of the memory limit %s; the runtime, JIT and native memory need the rest, so the kernel kills the process before the GC throws OutOfMemoryException (the default is %d%%). Use %s=%s.", describe(w, c), info.Heap.Flag, read, percent(heap, limit), c.Resources.MemoryLimit.Text, runtimes.DotNetDefaultPercent, info.Heap.Source, newValue)}
		if f.Path == "" {
			f.Path = c.Path
		} else {
			f.Fix = fix("set "+info.Heap.Source+"="+newValue, set(info.Heap.Path, newValue))
		}
		ctx.Report(f)
	}
}
