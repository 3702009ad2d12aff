package detect

import (
	"fmt"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/oomdoctor/oomdoctor/internal/model"
)

const reasonEvicted = "Evicted"

// The kubelet's eviction messages (pkg/kubelet/eviction/helpers.go):
//
//	The node was low on resource: memory. Threshold quantity: 100Mi, available: 92Mi. Container app was using 1430Mi, request is 100Mi, has larger consumption of memory.
//
// and, when a pod is refused at admission on a node under pressure:
//
//	The node had condition: [MemoryPressure].
var (
	evictionContainerRe = regexp.MustCompile(`Container (\S+) was using (\S+), request is (\S+), has larger consumption of memory`)
	evictionThresholdRe = regexp.MustCompile(`Threshold quantity: ([^,]+), available: ([^.]+)\.`)
)

// Annotations the kubelet puts on its Evicted events.
const (
	annotationStarvedResource     = "starved_resource"
	annotationOffendingContainers = "offending_containers"
	annotationOffendingUsage      = "offending_containers_usage"
)

// isMemoryEviction tells a memory eviction (or admission refusal under
// MemoryPressure) from one for disk or PIDs, which are not OOM trouble.
func isMemoryEviction(message string, annotations map[string]string) bool {
	if annotations[annotationStarvedResource] == string(corev1.ResourceMemory) {
		return true
	}
	return strings.Contains(message, "low on resource: memory") ||
		strings.Contains(message, "condition: [MemoryPressure]")
}

// PodEviction returns an eviction finding when the kubelet evicted the pod
// (status.reason Evicted) for memory. Evictions for ephemeral storage or PIDs
// are not reported.
func PodEviction(pod *corev1.Pod) (model.Finding, bool) {
	if pod.Status.Reason != reasonEvicted || !isMemoryEviction(pod.Status.Message, nil) {
		return model.Finding{}, false
	}
	f := model.Finding{
		Type:      model.Eviction,
		Namespace: pod.Namespace,
		Pod:       pod.Name,
		PodUID:    string(pod.UID),
		Node:      pod.Spec.NodeName,
		Reason:    pod.Status.Reason,
		Message:   strings.TrimSpace(pod.Status.Message),
		State:     string(pod.Status.Phase),
		QOSClass:  qosClass(pod),
		Kills:     1,
		Evidence:  []string{"status.reason=Evicted", "status.message=" + strings.TrimSpace(pod.Status.Message)},
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.DisruptionTarget && c.Status == corev1.ConditionTrue {
			f.LastKill = timeOf(c.LastTransitionTime)
			f.Evidence = append(f.Evidence, fmt.Sprintf("condition DisruptionTarget reason=%s", c.Reason))
		}
	}
	if f.LastKill == nil {
		// The kubelet stamps the containers' termination when it evicts.
		for _, cs := range pod.Status.ContainerStatuses {
			if t := cs.State.Terminated; t != nil && !t.FinishedAt.IsZero() {
				if f.LastKill == nil || t.FinishedAt.After(*f.LastKill) {
					f.LastKill = timeOf(t.FinishedAt)
				}
			}
		}
	}
	fillEvictedContainer(&f, pod, nil)
	f.Explanation = explainEviction(&f)
	return f, true
}

// EventEviction returns an eviction finding from an Evicted event on a pod,
// for pods that are gone (or whose status no longer says). pod is the pod when
// it still exists, nil otherwise.
func EventEviction(e *corev1.Event, pod *corev1.Pod) (model.Finding, bool) {
	if e.Reason != reasonEvicted || e.InvolvedObject.Kind != "Pod" || !isMemoryEviction(e.Message, e.Annotations) {
		return model.Finding{}, false
	}
	f := model.Finding{
		Type:      model.Eviction,
		Namespace: e.InvolvedObject.Namespace,
		Pod:       e.InvolvedObject.Name,
		PodUID:    string(e.InvolvedObject.UID),
		Node:      eventNode(e),
		Reason:    e.Reason,
		Message:   strings.TrimSpace(e.Message),
		LastKill:  EventTime(e),
		Kills:     eventCount(e),
		Evidence:  []string{fmt.Sprintf("event %s/%s reason=Evicted count=%d: %s", e.Namespace, e.Name, eventCount(e), strings.TrimSpace(e.Message))},
	}
	if f.Namespace == "" {
		f.Namespace = e.Namespace
	}
	if pod != nil {
		f.Node = pod.Spec.NodeName
		f.QOSClass = qosClass(pod)
		f.State = string(pod.Status.Phase)
	} else {
		f.Evidence = append(f.Evidence, "the pod no longer exists")
	}
	fillEvictedContainer(&f, pod, e.Annotations)
	f.Explanation = explainEviction(&f)
	return f, true
}

// fillEvictedContainer names the container the kubelet blamed, with its usage
// against its request, from the event's annotations or the message.
func fillEvictedContainer(f *model.Finding, pod *corev1.Pod, annotations map[string]string) {
	if names := annotations[annotationOffendingContainers]; names != "" {
		f.Container = strings.Split(names, ",")[0]
		if usage := annotations[annotationOffendingUsage]; usage != "" {
			f.Evidence = append(f.Evidence, fmt.Sprintf("offending containers %s using %s", names, usage))
		}
	}
	if m := evictionContainerRe.FindAllStringSubmatch(f.Message, -1); len(m) > 0 {
		if f.Container == "" {
			f.Container = m[0][1]
		}
		for _, c := range m {
			f.Evidence = append(f.Evidence, fmt.Sprintf("container %s was using %s with a request of %s", c[1], c[2], c[3]))
		}
	}
	if pod == nil || f.Container == "" {
		return
	}
	spec, ok := containerSpecs(pod)[f.Container]
	if !ok {
		return
	}
	f.ContainerKind = spec.kind
	f.MemoryRequestBytes = MemoryBytes(spec.resources.Requests)
	f.MemoryLimitBytes = MemoryBytes(spec.resources.Limits)
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.Name == f.Container {
			f.Restarts = cs.RestartCount
		}
	}
}

func explainEviction(f *model.Finding) string {
	var b strings.Builder
	if strings.Contains(f.Message, "condition: [MemoryPressure]") {
		b.WriteString("The kubelet refused the pod at admission because its node had MemoryPressure. This is not a kernel OOM kill and the pod's own limit is not at fault: the node's memory is overcommitted.")
		return b.String()
	}
	b.WriteString("The kubelet evicted the pod because the node ran short of memory (node-pressure eviction). This is not a kernel OOM kill: the pod's own limit was not reached.")
	if m := evictionThresholdRe.FindStringSubmatch(f.Message); m != nil {
		fmt.Fprintf(&b, " Available memory was %s against an eviction threshold of %s.", m[2], m[1])
	}
	b.WriteString(" The kubelet evicts first the pods using most memory above their request, then by priority, so set the memory request near real usage (Guaranteed QoS is evicted last) and look at what else the node runs.")
	if f.MemoryRequestBytes == nil && f.Container != "" {
		b.WriteString(" The blamed container has no memory request: any usage counts as above its request.")
	}
	return b.String()
}
