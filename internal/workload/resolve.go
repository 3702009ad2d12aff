// Package workload finds the workload that owns a pod by following
// controller owner references: Pod → ReplicaSet → Deployment, Pod → Job →
// CronJob, Pod → StatefulSet / DaemonSet / anything else, or the bare Pod.
package workload

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/source"
)

// Resolver maps a pod's controller to its top-level workload. Owners holds,
// per intermediate kind, the controller of every object of that kind; a kind
// that is absent (not listed, or not permitted) resolves to the
// intermediate object itself.
type Resolver struct {
	Owners map[source.OwnerKind]map[source.ObjectKey]metav1.OwnerReference
}

// intermediate says which kinds of pod controllers are owned in turn, and
// through which list their owners are found.
var intermediate = map[string]source.OwnerKind{
	"ReplicaSet": source.ReplicaSets,
	"Job":        source.Jobs,
}

// NeedsList tells which owner kind must be listed to resolve a pod whose
// controller is ref; "" when the controller is the workload.
func NeedsList(ref *metav1.OwnerReference) source.OwnerKind {
	if ref == nil {
		return ""
	}
	return intermediate[ref.Kind]
}

// Resolve returns the workload owning a pod with the given controller
// reference (nil for a bare pod).
func (r *Resolver) Resolve(namespace, podName string, ref *metav1.OwnerReference) model.WorkloadRef {
	if ref == nil {
		return model.WorkloadRef{Kind: "Pod", Name: podName, Namespace: namespace}
	}
	w := model.WorkloadRef{Kind: ref.Kind, Name: ref.Name, Namespace: namespace}
	kind, ok := intermediate[ref.Kind]
	if !ok {
		return w
	}
	if owner, ok := r.Owners[kind][source.ObjectKey{Namespace: namespace, Name: ref.Name}]; ok {
		return model.WorkloadRef{Kind: owner.Kind, Name: owner.Name, Namespace: namespace}
	}
	return w
}
