package model

import (
	"time"

	"github.com/oomdoctor/oomdoctor/internal/runtimes"
)

// FindingType says what scan saw. The values are part of the output contract
// (json, yaml, and later sarif and metrics labels): never rename or reuse one.
type FindingType string

const (
	// OOMKilled: the container runtime reported the container killed by the
	// kernel's OOM killer (terminated.reason OOMKilled).
	OOMKilled FindingType = "oom-killed"
	// NotOOM: the container died of SIGKILL (exit code 137) but the runtime did
	// not report an OOM kill: a failed liveness probe, a kill -9, a preStop
	// timeout, or the containerd race that reports Error instead of OOMKilled.
	NotOOM FindingType = "not-oom"
	// RuntimeOOM: the runtime inside the container reported it was out of
	// memory (a Java OutOfMemoryError, V8's heap limit, Go's or Python's
	// refused allocation) and the process exited with an error: no kernel
	// OOM kill, and a higher memory limit alone may not help. Read from
	// the termination message or, when asked, the container's log.
	RuntimeOOM FindingType = "runtime-oom"
	// Eviction: the kubelet evicted the pod because the node ran short of
	// memory. Not a kernel OOM kill; the fix is different.
	Eviction FindingType = "eviction"
	// SystemOOM: the kubelet recorded a system-wide OOM on the node (Node
	// event SystemOOM): the node itself ran out of memory.
	SystemOOM FindingType = "system-oom"
	// KernelOOMKill: node-problem-detector saw an OOM kill in the kernel log
	// (Node event OOMKilling). When no container status on that node explains
	// it, a process other than a container's main process was killed.
	KernelOOMKill FindingType = "kernel-oom-kill"
)

// FindingTypes lists every finding type, in the order reports count them.
var FindingTypes = []FindingType{OOMKilled, NotOOM, RuntimeOOM, Eviction, SystemOOM, KernelOOMKill}

// ContainerKind tells which list of the pod spec a container comes from.
type ContainerKind string

const (
	// RegularContainer is an entry of spec.containers.
	RegularContainer ContainerKind = "container"
	// InitContainer is an entry of spec.initContainers that runs to completion.
	InitContainer ContainerKind = "init"
	// SidecarContainer is a restartable init container (restartPolicy: Always),
	// the "native sidecar" of Kubernetes 1.28+.
	SidecarContainer ContainerKind = "sidecar"
	// EphemeralContainer is an entry of spec.ephemeralContainers (kubectl debug).
	EphemeralContainer ContainerKind = "ephemeral"
)

// WorkloadRef names the object that owns a pod at the top of its chain of
// controller owner references: a Deployment rather than its ReplicaSet, a
// CronJob rather than its Job. A pod without a controller is its own workload
// (Kind "Pod"); node-level findings use Kind "Node".
type WorkloadRef struct {
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
}

// String gives "Kind/name", the way kubectl names objects.
func (w WorkloadRef) String() string { return w.Kind + "/" + w.Name }

// Finding is one thing scan reports: a container that was killed (or a pod
// evicted, or a node-level OOM). Fields that do not apply are left empty.
type Finding struct {
	Type FindingType `json:"type"`

	Namespace     string        `json:"namespace,omitempty"`
	Workload      WorkloadRef   `json:"workload"`
	Pod           string        `json:"pod,omitempty"`
	PodUID        string        `json:"podUID,omitempty"`
	Container     string        `json:"container,omitempty"`
	ContainerKind ContainerKind `json:"containerKind,omitempty"`
	Node          string        `json:"node,omitempty"`

	// Restarts is the container's restartCount when it was read.
	Restarts int32 `json:"restarts"`
	// LastKill is when the most recent kill (or eviction, or node event)
	// happened; nil when the status did not say.
	LastKill *time.Time `json:"lastKill,omitempty"`
	// Kills counts the terminations of this type seen in the object: for a
	// container 1 or 2 (state and lastState); for an event, its count.
	Kills int32 `json:"kills"`

	ExitCode *int32 `json:"exitCode,omitempty"`
	// Reason is the reason the API gave: terminated.reason for containers,
	// status.reason or the event reason otherwise.
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
	// State is the container's state when it was read: Running, Terminated,
	// or the waiting reason (CrashLoopBackOff, ContainerCreating, ...).
	State string `json:"state,omitempty"`
	// CrashLoop is true when the container is in CrashLoopBackOff.
	CrashLoop bool `json:"crashLoop,omitempty"`

	MemoryRequestBytes  *int64 `json:"memoryRequestBytes,omitempty"`
	MemoryLimitBytes    *int64 `json:"memoryLimitBytes,omitempty"`
	PodMemoryLimitBytes *int64 `json:"podMemoryLimitBytes,omitempty"`
	QOSClass            string `json:"qosClass,omitempty"`
	// OutOfMemory is the runtime's own error of a runtime-oom finding.
	OutOfMemory *runtimes.OutOfMemory `json:"outOfMemory,omitempty"`
	// Process and PID name the victim when a kernel report gave them.
	Process string `json:"process,omitempty"`
	PID     int64  `json:"pid,omitempty"`

	// Explanation says in words what the finding means and what to check next.
	Explanation string `json:"explanation"`
	// Evidence lists the facts the finding rests on, one per entry, each
	// naming where it was read (e.g. "lastState.terminated.reason=OOMKilled").
	Evidence []string `json:"evidence,omitempty"`

	// Causes say why, surest first (package diagnose).
	Causes []Cause `json:"causes,omitempty"`
	// Undecided are the causes the data could neither show nor rule out,
	// with what data would decide them.
	Undecided []Undecided `json:"undecided,omitempty"`
}

// TopCause is the surest cause, nil when none was found.
func (f *Finding) TopCause() *Cause {
	if len(f.Causes) == 0 {
		return nil
	}
	return &f.Causes[0]
}
