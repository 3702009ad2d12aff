package model

import "time"

// CauseID names why a container was killed. The values are part of the
// output contract (json, yaml, the scan table): never rename or reuse one.
type CauseID string

const (
	// CauseLimitTooLow: usage sat at or near the limit before each kill, with no
	// growth trend: the workload needs more than it was given.
	CauseLimitTooLow CauseID = "limit-too-low"
	// CauseMemoryLeak: usage grows within each container lifetime and the kills
	// come at the top of a sawtooth: more memory only delays the next kill.
	CauseMemoryLeak CauseID = "memory-leak"
	// CauseRequestLimitGap: the request is far below the limit and usage above
	// the request on a node whose limits are overcommitted: the node runs
	// out before the container reaches its limit.
	CauseRequestLimitGap CauseID = "request-limit-gap"
	// CauseNodePressure: the node ran short of memory: eviction, SystemOOM,
	// MemoryPressure, or a kill decided above the pod's own cgroup.
	CauseNodePressure CauseID = "node-pressure"
	// CauseExtraProcesses: other processes in the container or the pod (child
	// processes, sidecars, containers without limits) hold the memory.
	CauseExtraProcesses CauseID = "extra-processes"
	// CauseRuntimeHeap: a JVM, Go, Node.js or .NET heap setting that does not fit
	// the limit (or a runtime that does not read it), or a Redis or Memcached
	// data size that does not.
	CauseRuntimeHeap CauseID = "runtime-heap"
	// CausePageCache: page cache (active file pages, shmem) made up most of the
	// charge near the kill while the process memory stayed well under it.
	CausePageCache CauseID = "page-cache"
	// CauseTmpfsVolume: a memory-backed emptyDir without sizeLimit (or with one
	// above the limit): files written there are charged as memory.
	CauseTmpfsVolume CauseID = "tmpfs-volume"
	// CauseNotOOM: the container was SIGKILLed (exit 137) for another reason.
	CauseNotOOM CauseID = "not-oom"
	// CauseRuntimeOOM: the runtime reported it was out of memory (a
	// runtime-oom finding): its own heap limit, another of its limits, or
	// memory the system refused, and not the container's limit.
	CauseRuntimeOOM CauseID = "runtime-oom"
)

// CauseIDs lists every cause, in the order reports show them.
var CauseIDs = []CauseID{CauseLimitTooLow, CauseMemoryLeak, CauseRequestLimitGap, CauseNodePressure, CauseExtraProcesses, CauseRuntimeHeap, CausePageCache, CauseTmpfsVolume, CauseNotOOM, CauseRuntimeOOM}

// Confidence says how sure a cause is.
type Confidence string

const (
	High   Confidence = "high"
	Medium Confidence = "medium"
	Low    Confidence = "low"
)

// Rank orders confidences: high 3, medium 2, low 1.
func (c Confidence) Rank() int {
	switch c {
	case High:
		return 3
	case Medium:
		return 2
	case Low:
		return 1
	}
	return 0
}

// Cause is one reason a container was killed, with what shows it.
type Cause struct {
	ID CauseID `json:"id"`
	// Runtime names the runtime of a runtime-heap cause (jvm, go, node,
	// dotnet), or the server whose data size does not fit (redis,
	// memcached).
	Runtime    string     `json:"runtime,omitempty"`
	Confidence Confidence `json:"confidence"`
	// Summary says the cause in one sentence with its main number.
	Summary string `json:"summary"`
	// ConfidenceWhy says why the confidence is what it is.
	ConfidenceWhy string `json:"confidenceWhy"`
	// Evidence are the facts, each a number with its unit and time.
	Evidence []Evidence `json:"evidence"`
	// Fix is what to change.
	Fix Fix `json:"fix"`
}

// Evidence is one fact behind a cause.
type Evidence struct {
	// What the number is: "working set before the kill".
	What string `json:"what"`
	// Value with its unit, as shown: "251Mi (98% of the 256Mi limit)".
	Value string `json:"value"`
	// At is when it was true (nil: now, or over the whole history).
	At *time.Time `json:"at,omitempty"`
	// Source names where it was read: "Prometheus container_memory_rss",
	// "pod spec", "kernel OOM report".
	Source string `json:"source,omitempty"`
}

// Fix is the change a cause calls for.
type Fix struct {
	// Text says it in words.
	Text string `json:"text"`
	// YAML is a snippet to merge into the manifest, when there is one.
	YAML string `json:"yaml,omitempty"`
	// Flag is a runtime flag or variable to set: "-Xmx384m",
	// "GOMEMLIMIT=460MiB".
	Flag string `json:"flag,omitempty"`
	// Command is the oomdoctor command that makes the YAML's change on
	// the live workload (oomdoctor fix --apply), when fix can change its
	// kind.
	Command string `json:"command,omitempty"`
	// ChartCommand is the oomdoctor command that writes the change into
	// the values of the Helm chart the pod comes from (oomdoctor fix
	// --chart), when its labels name a Helm release: the next helm
	// upgrade would undo a change made with Command.
	ChartCommand string `json:"chartCommand,omitempty"`
}

// Undecided is a cause the data could neither show nor rule out.
type Undecided struct {
	ID CauseID `json:"id"`
	// Needs says what data would decide it.
	Needs string `json:"needs"`
}
