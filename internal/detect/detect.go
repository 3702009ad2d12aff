// Package detect turns Kubernetes objects into findings: containers the
// kernel OOM-killed, containers killed by SIGKILL for another reason, pods
// evicted for memory pressure, and node-level OOM events. One file per kind of
// evidence; each function is pure, so every case is table-tested.
package detect

import (
	"maps"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/oomdoctor/oomdoctor/internal/model"
)

// sigkillExitCode is 128 + SIGKILL(9): what a container killed by SIGKILL
// exits with, whoever sent the signal.
const sigkillExitCode = 137

// containerSpec is the part of a container's spec a finding needs.
type containerSpec struct {
	kind      model.ContainerKind
	resources corev1.ResourceRequirements
}

// containerSpecs indexes a pod's containers of every kind by name.
func containerSpecs(pod *corev1.Pod) map[string]containerSpec {
	specs := make(map[string]containerSpec, len(pod.Spec.Containers)+len(pod.Spec.InitContainers))
	for _, c := range pod.Spec.Containers {
		specs[c.Name] = containerSpec{kind: model.RegularContainer, resources: c.Resources}
	}
	for _, c := range pod.Spec.InitContainers {
		kind := model.InitContainer
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			kind = model.SidecarContainer
		}
		specs[c.Name] = containerSpec{kind: kind, resources: c.Resources}
	}
	for _, c := range pod.Spec.EphemeralContainers {
		specs[c.Name] = containerSpec{kind: model.EphemeralContainer}
	}
	return specs
}

// ContainerNames are the names of a pod's containers of every kind
// (regular, init and native sidecars, ephemeral), sorted.
func ContainerNames(pod *corev1.Pod) []string {
	return slices.Sorted(maps.Keys(containerSpecs(pod)))
}

// MemoryBytes is the memory quantity of the list in bytes, nil when unset or zero
// (a zero memory limit means no limit to the kubelet).
func MemoryBytes(list corev1.ResourceList) *int64 {
	q, ok := list[corev1.ResourceMemory]
	if !ok || q.IsZero() {
		return nil
	}
	v := q.Value()
	return &v
}

// formatBytes prints bytes the way Kubernetes quantities read: 128Mi, 1536Mi, 2Gi.
func formatBytes(b int64) string {
	return resource.NewQuantity(b, resource.BinarySI).String()
}

// timeOf converts an API time to a model time; nil when unset.
func timeOf(t metav1.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// qosClass returns the pod's QoS class as the API reported it, or as the
// kubelet would compute it when the status does not say (a snapshot written
// by hand, a pod not yet scheduled).
func qosClass(pod *corev1.Pod) string {
	if pod.Status.QOSClass != "" {
		return string(pod.Status.QOSClass)
	}
	return string(ComputeQOS(pod))
}

// ComputeQOS applies the kubelet's rules (pkg/apis/core/v1/helper/qos):
// BestEffort when no container of the pod requests or limits CPU or memory;
// Guaranteed when every container (init containers included, ephemeral ones
// excluded) has CPU and memory limits and the pod's summed requests equal its
// summed limits; Burstable otherwise. Pod-level resources, when set, decide alone.
func ComputeQOS(pod *corev1.Pod) corev1.PodQOSClass {
	if pod.Spec.Resources != nil && (len(pod.Spec.Resources.Requests) > 0 || len(pod.Spec.Resources.Limits) > 0) {
		return qosOf([]corev1.ResourceRequirements{*pod.Spec.Resources})
	}
	var all []corev1.ResourceRequirements
	for _, c := range pod.Spec.InitContainers {
		all = append(all, c.Resources)
	}
	for _, c := range pod.Spec.Containers {
		all = append(all, c.Resources)
	}
	return qosOf(all)
}

func qosOf(all []corev1.ResourceRequirements) corev1.PodQOSClass {
	requests, limits := corev1.ResourceList{}, corev1.ResourceList{}
	guaranteed := true
	add := func(list corev1.ResourceList, name corev1.ResourceName, q resource.Quantity) {
		sum := list[name]
		sum.Add(q)
		list[name] = sum
	}
	for _, r := range all {
		limitsFound := 0
		for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			lim, hasLim := r.Limits[name]
			hasLim = hasLim && lim.Sign() > 0
			req, hasReq := r.Requests[name]
			if !hasReq && hasLim {
				// The API server defaults a missing request to the limit.
				req, hasReq = lim, true
			}
			if hasReq && req.Sign() > 0 {
				add(requests, name, req)
			}
			if hasLim {
				add(limits, name, lim)
				limitsFound++
			}
		}
		if limitsFound < 2 {
			guaranteed = false
		}
	}
	if len(requests) == 0 && len(limits) == 0 {
		return corev1.PodQOSBestEffort
	}
	if guaranteed && len(requests) == len(limits) {
		for name, req := range requests {
			if lim := limits[name]; lim.Cmp(req) != 0 {
				return corev1.PodQOSBurstable
			}
		}
		return corev1.PodQOSGuaranteed
	}
	return corev1.PodQOSBurstable
}
