package model

import (
	"fmt"
	"time"
)

// KillAnnotation is the Event annotation in which the node agent puts the
// KernelKill record as JSON.
const KillAnnotation = "oomdoctor.io/kill"

// KernelKill is one kernel OOM kill as the node agent saw it.
type KernelKill struct {
	// At is when the agent learned of it; KernelSince the kernel log's
	// time since boot (0 when the kill came from a counter alone).
	At          time.Time     `json:"at"`
	KernelSince time.Duration `json:"-"`
	// Cgroup is the victim's cgroup (from the hierarchy's root).
	Cgroup string `json:"cgroup"`
	// Node, Namespace, Pod, PodUID, Container and ContainerID say whose
	// it was ("" when the pod or container could not be found).
	Node        string `json:"node"`
	Namespace   string `json:"namespace,omitempty"`
	Pod         string `json:"pod,omitempty"`
	PodUID      string `json:"podUID,omitempty"`
	Container   string `json:"container,omitempty"`
	ContainerID string `json:"containerID,omitempty"`
	// Scope is whose limit was hit: container, pod, node (kubepods or a
	// QoS parent: the node's allocatable), system (the whole machine),
	// outside, or unknown (no kernel report).
	Scope string `json:"scope"`
	// MainProcess is "true" when the victim was the container's main
	// process (the container dies), "false" for another process (the
	// container lives on and the pod status shows nothing), "unknown".
	MainProcess string `json:"mainProcess"`
	// Victim, from the kernel's report.
	VictimPID    int    `json:"victimPID,omitempty"`
	VictimName   string `json:"victimName,omitempty"`
	AnonRSSBytes int64  `json:"anonRSSBytes,omitempty"`
	FileRSSBytes int64  `json:"fileRSSBytes,omitempty"`
	ShmemBytes   int64  `json:"shmemRSSBytes,omitempty"`
	// LimitBytes and UsageBytes of the cgroup whose limit was hit.
	LimitBytes int64 `json:"limitBytes,omitempty"`
	UsageBytes int64 `json:"usageBytes,omitempty"`
	// Breakdown of the OOMing cgroup's charge at the kill, in bytes.
	AnonBytes   int64 `json:"anonBytes,omitempty"`
	FileBytes   int64 `json:"fileBytes,omitempty"`
	ShmemStat   int64 `json:"shmemBytes,omitempty"`
	KernelBytes int64 `json:"kernelBytes,omitempty"`
	// FromKernelLog and FromCounter say which sources saw it.
	FromKernelLog bool `json:"fromKernelLog"`
	FromCounter   bool `json:"fromCounter"`
}

// String describes a kill for logs.
func (k *KernelKill) String() string {
	who := k.Cgroup
	if k.Pod != "" {
		who = fmt.Sprintf("%s/%s container %q", k.Namespace, k.Pod, k.Container)
	}
	return fmt.Sprintf("OOM kill of %s (pid %d) in %s, scope %s, main process %s", k.VictimName, k.VictimPID, who, k.Scope, k.MainProcess)
}
