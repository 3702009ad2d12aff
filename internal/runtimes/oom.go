package runtimes

import (
	"regexp"
	"strings"
)

// Python is a runtime without a heap limit; it appears only in the
// out-of-memory errors read from a log (FindOutOfMemory).
const Python Runtime = "python"

// OOMKind says what ran out when a runtime reported it was out of memory.
// The values appear in output: never rename one.
type OOMKind string

const (
	// OOMHeap: the runtime's heap limit (-Xmx or MaxRAMPercentage, V8's
	// old space, .NET's GCHeapHardLimit) was reached.
	OOMHeap OOMKind = "heap"
	// OOMMetaspace: the JVM's class metadata (Metaspace, compressed class
	// space) reached its limit.
	OOMMetaspace OOMKind = "metaspace"
	// OOMDirect: the JVM's direct buffers reached -XX:MaxDirectMemorySize
	// (by default the maximum heap).
	OOMDirect OOMKind = "direct-memory"
	// OOMThreads: the JVM could not start a thread: a limit on processes
	// or threads, rarely memory.
	OOMThreads OOMKind = "threads"
	// OOMArraySize: an array larger than the JVM allows was asked for: a
	// program's bug, not a size to raise.
	OOMArraySize OOMKind = "array-size"
	// OOMRefused: a runtime with no heap limit (Go, Python) was refused
	// memory by the system (ulimit -v, vm.overcommit_memory=2): a memory
	// cgroup never refuses, it reclaims and then kills.
	OOMRefused OOMKind = "refused"
)

// OutOfMemory is a runtime's own out-of-memory error, as it printed it.
type OutOfMemory struct {
	Runtime Runtime `json:"runtime"`
	Kind    OOMKind `json:"kind"`
	// Message is the error as printed, one line
	// ("java.lang.OutOfMemoryError: Java heap space").
	Message string `json:"message"`
	// From says where it was read, set by the reader: "termination
	// message", "log".
	From string `json:"from,omitempty"`
}

// oomPatterns are the runtimes' out-of-memory errors, the most telling
// first. Each was read from the runtime itself: OpenJDK 17 (exit code 1;
// 3 with -XX:+ExitOnOutOfMemoryError, "Terminating due to ..."), Node.js
// 20 (SIGABRT, exit code 134; the native stack printed after the FATAL
// ERROR line names node::OOMErrorHandler), Go 1.26 under ulimit -v
// ("runtime: out of memory: cannot allocate ...", then "fatal error: out
// of memory", exit code 2; Go before 1.22 printed "fatal error: runtime:
// out of memory").
var oomPatterns = []struct {
	re      *regexp.Regexp
	runtime Runtime
}{
	{regexp.MustCompile(`java\.lang\.OutOfMemoryError[^\r\n]*`), JVM},
	{regexp.MustCompile(`[^\r\n]*JavaScript heap out of memory[^\r\n]*`), Node},
	{regexp.MustCompile(`[^\r\n]*Reached heap limit[^\r\n]*`), Node},
	{regexp.MustCompile(`node::OOMErrorHandler`), Node},
	{regexp.MustCompile(`System\.OutOfMemoryException[^\r\n]*`), DotNet},
	{regexp.MustCompile(`runtime: out of memory[^\r\n]*`), Go},
	{regexp.MustCompile(`fatal error: out of memory`), Go},
	{regexp.MustCompile(`(?m)^MemoryError\b[^\r\n]*`), Python},
}

// maxOOMMessage caps the message kept: a JVM's may carry a long detail.
const maxOOMMessage = 300

// FindOutOfMemory finds a runtime's out-of-memory error in text: a
// container's log or its termination message (which, with
// terminationMessagePolicy FallbackToLogsOnError, is its log's last lines).
func FindOutOfMemory(text string) (OutOfMemory, bool) {
	for _, p := range oomPatterns {
		m := p.re.FindString(text)
		if m == "" {
			continue
		}
		msg := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(m), "FATAL ERROR:"))
		if p.re.String() == `node::OOMErrorHandler` {
			// The FATAL ERROR line was cut off the log's tail; the
			// native stack still names V8's out-of-memory handler.
			msg = "V8 heap out of memory (node::OOMErrorHandler in the native stack)"
		}
		if len(msg) > maxOOMMessage {
			msg = msg[:maxOOMMessage] + "..."
		}
		return OutOfMemory{Runtime: p.runtime, Kind: oomKind(p.runtime, msg), Message: msg}, true
	}
	return OutOfMemory{}, false
}

func oomKind(r Runtime, msg string) OOMKind {
	switch r {
	case Go, Python:
		return OOMRefused
	case JVM:
		lower := strings.ToLower(msg)
		switch {
		case strings.Contains(lower, "metaspace") || strings.Contains(lower, "compressed class space"):
			return OOMMetaspace
		case strings.Contains(lower, "direct buffer memory"):
			return OOMDirect
		case strings.Contains(lower, "native thread"):
			return OOMThreads
		case strings.Contains(lower, "requested array size"):
			return OOMArraySize
		}
	}
	return OOMHeap
}

// Name names the runtime in a sentence: "the JVM", "Node.js (V8)".
func (r Runtime) Name() string {
	switch r {
	case JVM:
		return "the JVM"
	case Node:
		return "Node.js (V8)"
	case DotNet:
		return ".NET"
	case Go:
		return "the Go runtime"
	case Python:
		return "Python"
	}
	return "the runtime"
}

// HeapLimited tells whether the error comes from a limit of the runtime's
// own (the JVM's, V8's, .NET's), which a larger memory limit does not
// lift unless the limit sizes it, rather than from the system refusing
// memory.
func (o OutOfMemory) HeapLimited() bool {
	return o.Kind != OOMRefused
}

// Advice says what to raise, in words.
func (o OutOfMemory) Advice() string {
	switch o.Kind {
	case OOMRefused:
		return "lift what refused the allocation (ulimit -v, or vm.overcommit_memory 2 and the commit limit): " + string(o.Runtime) + " has no heap limit of its own, and a memory cgroup never refuses memory (it reclaims, then kills)"
	case OOMMetaspace:
		return "raise the JVM's -XX:MaxMetaspaceSize (or -XX:CompressedClassSpaceSize), or find what keeps loading classes (a class loader leak)"
	case OOMDirect:
		return "raise the JVM's -XX:MaxDirectMemorySize (by default the maximum heap), or find what holds direct buffers (Netty, NIO)"
	case OOMThreads:
		return "look at the limits on threads (the pod's pids limit, ulimit -u) and at how many threads the program starts; a larger heap does not help, a smaller -Xss rarely does"
	case OOMArraySize:
		return "fix the program: it asked for an array larger than the JVM allows, which no size fits"
	}
	switch o.Runtime {
	case JVM:
		return "raise the JVM's heap (-Xmx, or -XX:MaxRAMPercentage, 25% of the limit when neither is set)"
	case Node:
		return "raise V8's heap limit (--max-old-space-size in MiB, in NODE_OPTIONS or the arguments; unset, it is about half the limit)"
	}
	return "raise the .NET heap limit (DOTNET_GCHeapHardLimit or DOTNET_GCHeapHardLimitPercent; unset, 75% of the limit)"
}
