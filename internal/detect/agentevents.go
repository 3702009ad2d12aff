package detect

import (
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/oomdoctor/oomdoctor/internal/model"
)

// AgentKill reads the node agent's kernel record from one of its Events
// (the model.KillAnnotation annotation).
func AgentKill(e *corev1.Event) (model.KernelKill, bool) {
	raw, ok := e.Annotations[model.KillAnnotation]
	if !ok || e.InvolvedObject.Kind != "Pod" {
		return model.KernelKill{}, false
	}
	var k model.KernelKill
	if json.Unmarshal([]byte(raw), &k) != nil {
		return model.KernelKill{}, false
	}
	if k.Namespace == "" {
		k.Namespace, k.Pod = e.InvolvedObject.Namespace, e.InvolvedObject.Name
	}
	return k, true
}

// ChildKillFinding is the finding for a kill the node agent saw of a
// process that was not its container's main one: the container lives on
// and its status shows nothing, so this event is the only trace.
func ChildKillFinding(e *corev1.Event, k model.KernelKill) (model.Finding, bool) {
	if k.MainProcess != "false" {
		return model.Finding{}, false
	}
	at := k.At.UTC()
	f := model.Finding{
		Type: model.KernelOOMKill, Namespace: k.Namespace, Pod: k.Pod, PodUID: k.PodUID, Container: k.Container,
		ContainerKind: model.RegularContainer, Node: k.Node, Process: k.VictimName, PID: int64(k.VictimPID),
		LastKill: &at, Kills: eventCount(e), Reason: e.Reason, Message: e.Message,
		Evidence: []string{fmt.Sprintf("event %s/%s reason=%s count=%d source=%s: %s", e.Namespace, e.Name, e.Reason, eventCount(e), eventSource(e), e.Message)},
	}
	if k.LimitBytes > 0 {
		l := k.LimitBytes
		if k.Scope == "container" {
			f.MemoryLimitBytes = &l
		}
	}
	f.Explanation = fmt.Sprintf("The kernel OOM-killed %s, a process of container %s other than its main one, when %s limit was reached; the container runs on and its status shows nothing (oomdoctor's node agent saw it in the kernel log).", victim(f), k.Container, scopeWords(k.Scope))
	return f, true
}

func scopeWords(scope string) string {
	switch scope {
	case "container":
		return "the container's"
	case "pod":
		return "the pod's"
	case "node":
		return "the node's allocatable"
	}
	return "a"
}
