package runtimes

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The files under testdata/oom are what the runtimes printed here, run out
// of memory on purpose (OpenJDK 17, Node.js 20, Go 1.26 under ulimit -v).
func TestFindOutOfMemoryInRealOutput(t *testing.T) {
	for file, want := range map[string]OutOfMemory{
		"jdk17-heap.txt":        {Runtime: JVM, Kind: OOMHeap, Message: "java.lang.OutOfMemoryError: Java heap space"},
		"jdk17-exit-on-oom.txt": {Runtime: JVM, Kind: OOMHeap, Message: "java.lang.OutOfMemoryError: Java heap space"},
		"jdk17-direct.txt":      {Runtime: JVM, Kind: OOMDirect, Message: "java.lang.OutOfMemoryError: Cannot reserve 1048576 bytes of direct buffer memory (allocated: 16777216, limit: 16777216)"},
		"node20-heap.txt":       {Runtime: Node, Kind: OOMHeap, Message: "Reached heap limit Allocation failed - JavaScript heap out of memory"},
		"go126-ulimit.txt":      {Runtime: Go, Kind: OOMRefused, Message: "runtime: out of memory: cannot allocate 4194304-byte block (276561920 in use)"},
	} {
		b, err := os.ReadFile(filepath.Join("testdata", "oom", file))
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := FindOutOfMemory(string(b)); !ok || got != want {
			t.Errorf("%s: got %+v (found %v), want %+v", file, got, ok, want)
		}
	}
}

func TestFindOutOfMemory(t *testing.T) {
	for in, want := range map[string]OutOfMemory{
		// A log's tail that lost the FATAL ERROR line keeps V8's handler.
		" 1: 0xb78db3 node::OOMErrorHandler(char const*, v8::OOMDetails const&) [node]\n 2: 0xee6a00 v8::Utils::ReportOOMFailure":               {Runtime: Node, Kind: OOMHeap, Message: "V8 heap out of memory (node::OOMErrorHandler in the native stack)"},
		"fatal error: runtime: out of memory\n\nruntime stack:":                                                                                 {Runtime: Go, Kind: OOMRefused, Message: "runtime: out of memory"},
		"Traceback (most recent call last):\n  File \"<string>\", line 2, in <module>\nMemoryError\n":                                           {Runtime: Python, Kind: OOMRefused, Message: "MemoryError"},
		"Unhandled exception. System.OutOfMemoryException: Exception of type 'System.OutOfMemoryException' was thrown.\r\n   at Program.Main()": {Runtime: DotNet, Kind: OOMHeap, Message: "System.OutOfMemoryException: Exception of type 'System.OutOfMemoryException' was thrown."},
		"Exception in thread \"main\" java.lang.OutOfMemoryError: Metaspace":                                                                    {Runtime: JVM, Kind: OOMMetaspace, Message: "java.lang.OutOfMemoryError: Metaspace"},
		"java.lang.OutOfMemoryError: unable to create native thread: possibly out of memory or process/resource limits reached":                 {Runtime: JVM, Kind: OOMThreads, Message: "java.lang.OutOfMemoryError: unable to create native thread: possibly out of memory or process/resource limits reached"},
		"java.lang.OutOfMemoryError: Requested array size exceeds VM limit":                                                                     {Runtime: JVM, Kind: OOMArraySize, Message: "java.lang.OutOfMemoryError: Requested array size exceeds VM limit"},
		"java.lang.OutOfMemoryError: GC overhead limit exceeded":                                                                                {Runtime: JVM, Kind: OOMHeap, Message: "java.lang.OutOfMemoryError: GC overhead limit exceeded"},
	} {
		if got, ok := FindOutOfMemory(in); !ok || got != want {
			t.Errorf("%q: got %+v (found %v), want %+v", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "Killed", "error: connection refused", "registered MemoryErrorHandler", "panic: runtime error: index out of range"} {
		if got, ok := FindOutOfMemory(in); ok {
			t.Errorf("%q: found %+v, want nothing", in, got)
		}
	}
	long := "java.lang.OutOfMemoryError: " + strings.Repeat("x", 1000)
	if got, _ := FindOutOfMemory(long); len(got.Message) > maxOOMMessage+3 {
		t.Errorf("a long message is kept whole (%d bytes)", len(got.Message))
	}
}

// Each kind names what to raise: the heap flag of a runtime that has one,
// the system's refusal where the runtime has none.
func TestOutOfMemoryAdvice(t *testing.T) {
	for _, c := range []struct {
		oom  OutOfMemory
		want string
	}{
		{OutOfMemory{Runtime: JVM, Kind: OOMHeap}, "-Xmx"},
		{OutOfMemory{Runtime: JVM, Kind: OOMMetaspace}, "MaxMetaspaceSize"},
		{OutOfMemory{Runtime: JVM, Kind: OOMDirect}, "MaxDirectMemorySize"},
		{OutOfMemory{Runtime: JVM, Kind: OOMThreads}, "pids limit"},
		{OutOfMemory{Runtime: JVM, Kind: OOMArraySize}, "fix the program"},
		{OutOfMemory{Runtime: Node, Kind: OOMHeap}, "--max-old-space-size"},
		{OutOfMemory{Runtime: DotNet, Kind: OOMHeap}, "DOTNET_GCHeapHardLimit"},
		{OutOfMemory{Runtime: Go, Kind: OOMRefused}, "ulimit -v"},
		{OutOfMemory{Runtime: Python, Kind: OOMRefused}, "ulimit -v"},
	} {
		if got := c.oom.Advice(); !strings.Contains(got, c.want) {
			t.Errorf("%+v: %q, want %q in it", c.oom, got, c.want)
		}
		if c.oom.HeapLimited() == (c.oom.Kind == OOMRefused) {
			t.Errorf("%+v: heap limited %v", c.oom, c.oom.HeapLimited())
		}
	}
}
