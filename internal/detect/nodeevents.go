package detect

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/oomdoctor/oomdoctor/internal/model"
)

// Reasons of the node events scan reads.
const (
	// ReasonSystemOOM is the kubelet's event for a system-wide OOM
	// (pkg/kubelet/oom/oom_watcher_linux.go).
	ReasonSystemOOM = "SystemOOM"
	// ReasonOOMKilling is node-problem-detector's event for any OOM kill
	// in the kernel log (config/kernel-monitor.json).
	ReasonOOMKilling = "OOMKilling"
)

var (
	// kubelet: "System OOM encountered, victim process: java, pid: 4242"
	systemOOMVictimRe = regexp.MustCompile(`victim process: (.*), pid: (\d+)`)
	// kernel, as forwarded by node-problem-detector, several generations:
	//   "Killed process 4242 (java) total-vm:..., anon-rss:524288kB, file-rss:..."
	//   "Memory cgroup out of memory: Killed process 4242 (java) ..."
	//   "Memory cgroup out of memory: Kill process 4242 (java) score 998 or sacrifice child"
	killedProcessRe = regexp.MustCompile(`Kill(?:ed)? process (\d+) \(([^)]*)\)`)
	anonRSSRe       = regexp.MustCompile(`anon-rss:(\d+)kB`)
)

// NodeEventFinding returns a node-level finding for a SystemOOM or
// OOMKilling event on a Node.
func NodeEventFinding(e *corev1.Event) (model.Finding, bool) {
	if e.InvolvedObject.Kind != "Node" {
		return model.Finding{}, false
	}
	node := e.InvolvedObject.Name
	f := model.Finding{
		Workload: model.WorkloadRef{Kind: "Node", Name: node},
		Node:     node,
		Reason:   e.Reason,
		Message:  strings.TrimSpace(e.Message),
		LastKill: EventTime(e),
		Kills:    eventCount(e),
		Evidence: []string{fmt.Sprintf("event %s/%s reason=%s count=%d source=%s: %s",
			e.Namespace, e.Name, e.Reason, eventCount(e), eventSource(e), strings.TrimSpace(e.Message))},
	}
	switch e.Reason {
	case ReasonSystemOOM:
		f.Type = model.SystemOOM
		if m := systemOOMVictimRe.FindStringSubmatch(e.Message); m != nil {
			f.Process = m[1]
			f.PID, _ = strconv.ParseInt(m[2], 10, 64)
		}
		f.Explanation = "The node itself ran out of memory (a system-wide OOM, not a container's limit): the kernel killed " + victim(f) +
			". Pods without memory limits, or limits that add up to more than the node has, let this happen; look at the node's memory overcommitment and its system and kube reservations."
	case ReasonOOMKilling:
		f.Type = model.KernelOOMKill
		if m := killedProcessRe.FindStringSubmatch(e.Message); m != nil {
			f.PID, _ = strconv.ParseInt(m[1], 10, 64)
			f.Process = m[2]
		}
		if m := anonRSSRe.FindStringSubmatch(e.Message); m != nil {
			kb, _ := strconv.ParseInt(m[1], 10, 64)
			f.Evidence = append(f.Evidence, fmt.Sprintf("victim anon-rss %s", formatBytes(kb*1024)))
		}
		scope := "a memory cgroup's limit"
		if !strings.Contains(e.Message, "Memory cgroup out of memory") {
			scope = "the node's memory"
		}
		f.Explanation = fmt.Sprintf("The kernel log on the node (via node-problem-detector) shows %s killed when %s was reached, and no container status in the scanned scope reports an OOM kill near that time: the victim was probably a child process inside a container whose main process survived (the Kubernetes API never shows those), or a process outside Kubernetes. oomdoctor's node agent ties such kills to their pod.", victim(f), scope)
	default:
		return model.Finding{}, false
	}
	return f, true
}

func victim(f model.Finding) string {
	if f.Process == "" {
		return "a process"
	}
	return fmt.Sprintf("%s (pid %d)", f.Process, f.PID)
}

// EventTime returns the most recent time an event was seen: its series'
// last observation, lastTimestamp, eventTime, firstTimestamp, then its
// creation, whichever is set first.
func EventTime(e *corev1.Event) *time.Time {
	switch {
	case e.Series != nil && !e.Series.LastObservedTime.IsZero():
		t := e.Series.LastObservedTime.UTC()
		return &t
	case !e.LastTimestamp.IsZero():
		return timeOf(e.LastTimestamp)
	case !e.EventTime.IsZero():
		t := e.EventTime.UTC()
		return &t
	case !e.FirstTimestamp.IsZero():
		return timeOf(e.FirstTimestamp)
	}
	return timeOf(e.CreationTimestamp)
}

// eventCount is how many times the event happened: its series count, its
// count, or 1.
func eventCount(e *corev1.Event) int32 {
	switch {
	case e.Series != nil && e.Series.Count > 0:
		return e.Series.Count
	case e.Count > 0:
		return e.Count
	}
	return 1
}

func eventSource(e *corev1.Event) string {
	switch {
	case e.Source.Component != "":
		return e.Source.Component
	case e.ReportingController != "":
		return e.ReportingController
	}
	return "unknown"
}

// eventNode is the node an event about a pod came from, when it says.
func eventNode(e *corev1.Event) string {
	if e.Source.Host != "" {
		return e.Source.Host
	}
	return e.ReportingInstance
}
