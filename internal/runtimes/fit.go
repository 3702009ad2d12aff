package runtimes

import (
	"fmt"
	"strings"
)

// Fit is the rule every oomdoctor command uses to fit a runtime's heap in a
// container's memory limit. A heap needs room beside it: JVM metaspace, code
// cache, thread stacks and GC structures; V8's new space, code and buffers;
// the Go runtime's stacks and fragmentation; the CLR's own structures.
const (
	// HeapShare is the share of the limit a heap may take.
	HeapShare = 0.75
	// MinOverhead is the room a runtime needs beside its heap, whatever
	// the limit: 128 MiB for a JVM, 64 MiB for the others.
	minOverheadJVM   = 128 << 20
	minOverheadOther = 64 << 20
	// GoMemLimitShare is the share of the limit GOMEMLIMIT should be: it
	// counts only the Go runtime's memory, not page cache or cgo.
	GoMemLimitShare = 0.90
)

// MinOverhead is the room a runtime needs beside its heap.
func MinOverhead(r Runtime) int64 {
	if r == JVM {
		return minOverheadJVM
	}
	return minOverheadOther
}

// FitHeap is the largest heap that fits a limit for the runtime: 75% of the
// limit, but at least MinOverhead(r) below it, and never under a quarter of
// it. Rounded down to whole MiB.
func FitHeap(r Runtime, limit int64) int64 {
	h := int64(float64(limit) * HeapShare)
	if h > limit-MinOverhead(r) {
		h = limit - MinOverhead(r)
	}
	if h < limit/4 {
		h = limit / 4
	}
	return h >> 20 << 20
}

// HeapVerdict says how a heap fits a limit.
type HeapVerdict int

const (
	// HeapFits: the heap leaves room for the rest.
	HeapFits HeapVerdict = iota
	// HeapTight: over 75% of the limit; a kill is likely under load.
	HeapTight
	// HeapTooBig: the heap (and the room beside it) cannot fit: at or
	// above 90% of the limit, or closer to it than MinOverhead.
	HeapTooBig
)

// JudgeHeap applies Fit's rule to a heap under a limit.
func JudgeHeap(r Runtime, heap, limit int64) HeapVerdict {
	switch {
	case limit <= 0 || heap <= 0:
		return HeapFits
	case float64(heap) >= 0.9*float64(limit) || heap+MinOverhead(r)/2 > limit:
		return HeapTooBig
	case float64(heap) > HeapShare*float64(limit):
		return HeapTight
	}
	return HeapFits
}

// Floor is the smallest memory limit a runtime works in, in practice.
func Floor(r Runtime) int64 {
	switch r {
	case JVM:
		return 128 << 20
	case Node, DotNet:
		return 64 << 20
	}
	return 0
}

// HeapFlag is the heap setting that fits limit for the container's
// runtime, in the form the container already uses: -Xmx (or
// -XX:MaxRAMPercentage when that is what it sets) at FitHeap for a JVM,
// GOMEMLIMIT at GoMemLimitShare for Go, --max-old-space-size for Node.js,
// and for .NET the variable it sets in bytes, else
// DOTNET_GCHeapHardLimitPercent. "" for other runtimes.
func HeapFlag(info Info, limit int64) string {
	fit := FitHeap(info.Runtime, limit)
	switch info.Runtime {
	case JVM:
		if info.HeapPercent > 0 && info.HeapBytes == 0 {
			return JVMPercentFlag(fit, limit)
		}
		return JVMSizeFlag(fit)
	case Go:
		return "GOMEMLIMIT=" + GoMemLimitValue(int64(GoMemLimitShare*float64(limit)))
	case Node:
		return NodeHeapFlag(fit)
	case DotNet:
		if info.Heap != nil && info.HeapBytes > 0 {
			return strings.SplitN(info.Heap.Flag, "=", 2)[0] + "=" + fmt.Sprintf("0x%X", fit)
		}
		return "DOTNET_GCHeapHardLimitPercent=" + DotNetPercentValue(int(float64(fit)*100/float64(limit)))
	}
	return ""
}

// JVMPercentFlag is the -XX:MaxRAMPercentage that gives a JVM this heap
// under the limit (and follows the limit when it changes).
func JVMPercentFlag(heap, limit int64) string {
	return fmt.Sprintf("-XX:MaxRAMPercentage=%.1f", float64(heap)*100/float64(limit))
}
