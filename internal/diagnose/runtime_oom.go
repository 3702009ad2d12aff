package diagnose

import (
	"fmt"
	"math"

	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/runtimes"
)

// runtimeOOM explains a runtime-oom finding: the runtime said it was out
// of memory and exited, with no kill. For a heap the runtime sizes (the
// JVM's, V8's), the fix is the heap that fits the limit (runtimes.FitHeap),
// or, when the heap already takes that, a limit with room for a larger
// one. Only this detector runs on such a finding (Diagnose).
type runtimeOOM struct{}

func init() { register(runtimeOOM{}) }

func (runtimeOOM) ID() model.CauseID { return model.CauseRuntimeOOM }

// heapGrowth is how much more heap a fix gives a heap that already fills
// what the limit leaves: the next size to try, as the rule of thumb raises
// a limit.
const heapGrowth = 1.5

func (d runtimeOOM) Detect(in *Input) (*model.Cause, string) {
	f := in.Finding
	o := f.OutOfMemory
	if f.Type != model.RuntimeOOM || o == nil {
		return nil, ""
	}
	c := &model.Cause{Confidence: model.High, ConfidenceWhy: "the runtime's own error, in the container's " + o.From, Runtime: string(o.Runtime)}
	c.Evidence = append(c.Evidence, model.Evidence{What: "runtime error", Value: fmt.Sprintf("%s (exit code %d)", o.Message, exitCode(f)), At: f.LastKill, Source: "container " + o.From})
	limit := int64(in.limit())
	if in.hasUsage() && f.LastKill != nil && limit > 0 {
		end := f.LastKill.Unix()
		if used := peak(window(in.History.WorkingSet, end-in.preKill(), end)); used > 0 {
			c.Evidence = append(c.Evidence, model.Evidence{What: "working set before the exit", Value: fmt.Sprintf("%s (%s of the %s limit)", size(used), pct(used, float64(limit)), size(float64(limit))), At: f.LastKill, Source: in.History.Source})
		}
	}
	switch o.Kind {
	case runtimes.OOMRefused:
		c.Summary = fmt.Sprintf("Not an OOM kill: %s was refused memory (%s). It has no heap limit, and a memory cgroup never refuses an allocation: a ulimit -v in the image or entrypoint, or the node's vm.overcommit_memory=2, did.", o.Runtime.Name(), o.Message)
		c.Fix = model.Fix{Text: "Look for a ulimit -v (RLIMIT_AS) in the image's entrypoint, and at the node's vm.overcommit_memory and CommitLimit (oomdoctor node --local on the node); a higher memory limit does not help."}
		return c, ""
	case runtimes.OOMHeap:
	default:
		what := map[runtimes.OOMKind]string{
			runtimes.OOMMetaspace: "ran out of Metaspace, where it keeps classes",
			runtimes.OOMDirect:    "ran out of direct buffer memory",
			runtimes.OOMThreads:   "could not start a thread",
			runtimes.OOMArraySize: "was asked for an array larger than it allows",
		}[o.Kind]
		c.Summary = fmt.Sprintf("Not an OOM kill: the JVM %s (%s); neither its heap nor the container's limit ran out.", what, o.Message)
		c.Fix = model.Fix{Text: upperFirst(o.Advice()) + "."}
		return c, ""
	}
	info := in.runtime()
	if info.Runtime != o.Runtime || limit <= 0 {
		c.Summary = fmt.Sprintf("Not an OOM kill: the heap of %s ran out (%s) below the container's memory limit.", o.Runtime.Name(), o.Message)
		c.Fix = model.Fix{Text: upperFirst(o.Advice()) + "."}
		return c, ""
	}
	d.heap(in, c, info, o, limit)
	return c, ""
}

// heap says which heap ran out and sizes the next: the heap that fits the
// limit when it is under it, else a limit with room for heapGrowth times
// the heap.
func (d runtimeOOM) heap(in *Input, c *model.Cause, info runtimes.Info, o *runtimes.OutOfMemory, limit int64) {
	lim := float64(limit)
	fit := runtimes.FitHeap(info.Runtime, limit)
	var heap int64
	var setting, flag string
	switch info.Runtime {
	case runtimes.JVM:
		heap = runtimes.EffectiveJVMHeap(info, limit)
		set, _, _ := runtimes.JVMHeapSetting(info, limit)
		switch {
		case set != nil:
			setting = fmt.Sprintf("%s in %s = %s (%s of the limit)", set.Flag, set.Source, size(float64(heap)), pct(float64(heap), lim))
		default:
			setting = fmt.Sprintf("no -Xmx or MaxRAMPercentage: the JVM's default, %s (%s of the limit)", size(float64(heap)), pct(float64(heap), lim))
		}
		flag = runtimes.JVMSizeFlag(fit)
		if info.HeapBytes == 0 {
			// A percentage follows the limit.
			flag = runtimes.JVMPercentFlag(fit, limit)
		}
	case runtimes.Node:
		if info.Heap == nil {
			setting = "no --max-old-space-size: V8 sizes its heap from the limit (about half of it)"
			heap = limit / 2
		} else {
			heap = info.HeapBytes
			setting = fmt.Sprintf("%s in %s = %s (%s of the limit)", info.Heap.Flag, info.Heap.Source, size(float64(heap)), pct(float64(heap), lim))
		}
		flag = runtimes.NodeHeapFlag(fit)
	case runtimes.DotNet:
		heap = int64(runtimes.DotNetDefaultPercent * lim / 100)
		setting = fmt.Sprintf("DOTNET_GCHeapHardLimitPercent's default, %d%% of the limit", runtimes.DotNetDefaultPercent)
		if info.Heap != nil {
			heap = info.HeapBytes
			if heap == 0 {
				heap = int64(info.HeapPercent / 100 * lim)
			}
			setting = fmt.Sprintf("%s in %s = %s (%s of the limit)", info.Heap.Flag, info.Heap.Source, size(float64(heap)), pct(float64(heap), lim))
		}
		flag = runtimes.HeapFlag(info, limit)
	}
	c.Evidence = append(c.Evidence, model.Evidence{What: "heap limit", Value: setting, Source: "pod spec"})
	name := info.Runtime.Name()
	if heap > 0 && float64(heap) < 0.9*float64(fit) {
		c.Summary = fmt.Sprintf("Not an OOM kill: the heap of %s (%s, %s of the %s limit) ran out (%s) while the container had room: the heap is sized below what the limit allows.", name, size(float64(heap)), pct(float64(heap), lim), size(lim), o.Message)
		c.Fix = model.Fix{Text: fmt.Sprintf("Raise the heap to %s (%s: the most that leaves the rest of the runtime room, 75%% of the limit and at least %s below it). If it still runs out, the program needs more than this limit allows, or leaks (%s): then raise the limit and the heap together.", size(float64(fit)), flag, size(float64(runtimes.MinOverhead(info.Runtime))), heapDump(info.Runtime)), Flag: flag}
		return
	}
	// The heap already takes what the limit leaves: the limit must grow
	// for a larger one.
	want := int64(heapGrowth * float64(heap))
	newLimit := max(int64(math.Ceil(float64(want)/runtimes.HeapShare)), want+runtimes.MinOverhead(info.Runtime))
	newLimit = (newLimit + (64 << 20) - 1) / (64 << 20) * (64 << 20)
	newFit := runtimes.FitHeap(info.Runtime, newLimit)
	c.Summary = fmt.Sprintf("Not an OOM kill: the heap of %s (%s, %s of the %s limit) ran out (%s): it already takes what the limit leaves beside the rest of the runtime, so the program needs more memory than the limit gives, or leaks.", name, size(float64(heap)), pct(float64(heap), lim), size(lim), o.Message)
	newFlag := runtimes.HeapFlag(info, newLimit)
	// A heap sized as a share of the limit follows it: the command that
	// sets the limit sets the heap. An explicit size does not.
	follows := false
	switch {
	case info.Runtime == runtimes.JVM && info.HeapBytes == 0:
		newFlag = runtimes.JVMPercentFlag(newFit, newLimit)
		follows = info.HeapPercent >= runtimes.HeapShare*100
	case info.Runtime == runtimes.Node && info.Heap == nil:
		newFlag = runtimes.NodeHeapFlag(newFit)
	case info.Runtime == runtimes.DotNet:
		follows = info.HeapBytes == 0
	}
	c.Fix = resourcesFix(in, fmt.Sprintf("Raise the limit to %s, with the heap %s (%s), or find what fills the heap (%s).", quantity(newLimit), size(float64(newFit)), newFlag, heapDump(info.Runtime)), 0, newLimit)
	c.Fix.Flag = newFlag
	if !follows {
		c.Fix.Text += " The heap does not follow the limit as set: change both."
		c.Fix.Command, c.Fix.ChartCommand = "", ""
	}
}

// heapDump says how a runtime's heap is dumped when it runs out, to see
// what fills it.
func heapDump(r runtimes.Runtime) string {
	switch r {
	case runtimes.JVM:
		return "a heap dump tells: -XX:+HeapDumpOnOutOfMemoryError"
	case runtimes.Node:
		return "a heap snapshot tells: --heapsnapshot-near-heap-limit=1"
	}
	return "a dump tells: dotnet-dump collect, or DOTNET_DbgEnableMiniDump=1"
}

func exitCode(f *model.Finding) int32 {
	if f.ExitCode == nil {
		return 0
	}
	return *f.ExitCode
}
