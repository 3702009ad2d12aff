// Package source defines what oomdoctor reads a cluster's state through. A
// live cluster (package source/kube) and a snapshot folder (package
// source/snapshot) implement the same interface, so analysis gives the same
// answer for the same state whichever it came from.
package source

import (
	"context"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	resourcehelper "k8s.io/component-helpers/resource"

	"github.com/oomdoctor/oomdoctor/internal/manifest"
	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/runtimes"
)

// Scope selects the pods to read.
type Scope struct {
	// Namespace is the namespace to read; empty means every namespace.
	Namespace string
	// LabelSelector filters pods, in kubectl's -l syntax.
	LabelSelector string
}

// EventFilter selects events. Every source applies it the same way: a live
// cluster as a field selector on the server, a snapshot in memory.
type EventFilter struct {
	// Namespace of the events; empty means every namespace. Node events
	// live in the "default" namespace.
	Namespace string
	// InvolvedKind keeps events about objects of this kind ("Node", "Pod").
	InvolvedKind string
	// WarningOnly keeps events of type Warning.
	WarningOnly bool
}

// Matches tells whether an event passes the filter.
func (f EventFilter) Matches(e *corev1.Event) bool {
	if f.Namespace != "" && e.Namespace != f.Namespace {
		return false
	}
	if f.InvolvedKind != "" && e.InvolvedObject.Kind != f.InvolvedKind {
		return false
	}
	if f.WarningOnly && e.Type != corev1.EventTypeWarning {
		return false
	}
	return true
}

// OwnerKind is a kind whose objects own pods and are owned in turn.
type OwnerKind string

const (
	// ReplicaSets (apps/v1) are owned by Deployments.
	ReplicaSets OwnerKind = "replicasets.apps"
	// Jobs (batch/v1) are owned by CronJobs.
	Jobs OwnerKind = "jobs.batch"
)

// ObjectKey names a namespaced object.
type ObjectKey struct{ Namespace, Name string }

// Source reads a cluster's state. Every method streams what it reads, so a
// large cluster is never held in memory at once.
type Source interface {
	// Describe names the source for reports.
	Describe() model.Source
	// AsOf is the moment the data describes: the capture time of a
	// snapshot, the zero time for a live cluster (meaning now).
	AsOf() time.Time
	// Pods calls fn for every pod in scope.
	Pods(ctx context.Context, scope Scope, fn func(*corev1.Pod) error) error
	// Events calls fn for every event the filter keeps.
	Events(ctx context.Context, filter EventFilter, fn func(*corev1.Event) error) error
	// ControllerOwners returns, for every object of the kind in the
	// namespace (empty: all), the owner reference that has controller=true.
	// Objects without a controller are absent from the map.
	ControllerOwners(ctx context.Context, kind OwnerKind, namespace string) (map[ObjectKey]metav1.OwnerReference, error)
}

// NodeSource reads nodes. Both a live cluster and a snapshot have them; it
// is apart from Source because scan does not need it.
type NodeSource interface {
	// Nodes calls fn for every node.
	Nodes(ctx context.Context, fn func(*corev1.Node) error) error
}

// LimitRangeSource reads LimitRanges: the bounds a namespace sets on its
// containers' requests and limits, which recommend keeps within. A live
// cluster and a snapshot have them.
type LimitRangeSource interface {
	// LimitRanges calls fn for every LimitRange of the namespace (empty:
	// all).
	LimitRanges(ctx context.Context, namespace string, fn func(*corev1.LimitRange) error) error
}

// ResourceQuotaSource reads ResourceQuotas: what a namespace's pods may
// request and limit together, which recommend checks its values against.
// A live cluster and a snapshot have them.
type ResourceQuotaSource interface {
	// ResourceQuotas calls fn for every ResourceQuota of the namespace
	// (empty: all).
	ResourceQuotas(ctx context.Context, namespace string, fn func(*corev1.ResourceQuota) error) error
}

// RolloutSource reads the workloads whose rollouts may add pods before
// old ones go: Deployments and DaemonSets (typed objects). A live cluster
// and a snapshot have them.
type RolloutSource interface {
	// Rollouts calls fn for every Deployment and DaemonSet of the
	// namespace (empty: all).
	Rollouts(ctx context.Context, namespace string, fn func(runtime.Object) error) error
}

// VPASource reads VerticalPodAutoscalers (a CRD): none where the cluster
// does not have them.
type VPASource interface {
	// VPAs calls fn for every VerticalPodAutoscaler of the namespace
	// (empty: all).
	VPAs(ctx context.Context, namespace string, fn func(*unstructured.Unstructured) error) error
}

// HPASource reads HorizontalPodAutoscalers (autoscaling/v2): one that
// scales on memory utilization takes its point from the pods' requests.
type HPASource interface {
	// HPAs calls fn for every HorizontalPodAutoscaler of the namespace
	// (empty: all).
	HPAs(ctx context.Context, namespace string, fn func(*autoscalingv2.HorizontalPodAutoscaler) error) error
}

// ConfigMapRefs lists the ConfigMaps a pod's containers (and init
// containers) take env from, and those mounted in a container that runs
// Redis with a config file (which may set its maxmemory).
func ConfigMapRefs(p *corev1.Pod) []ObjectKey {
	seen := map[string]bool{}
	var out []ObjectKey
	add := func(name string) {
		if !seen[name] {
			seen[name] = true
			out = append(out, ObjectKey{Namespace: p.Namespace, Name: name})
		}
	}
	for _, cs := range [][]corev1.Container{p.Spec.InitContainers, p.Spec.Containers} {
		for _, c := range cs {
			for _, ef := range c.EnvFrom {
				if ef.ConfigMapRef != nil {
					add(ef.ConfigMapRef.Name)
				}
			}
			for _, e := range c.Env {
				if e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil {
					add(e.ValueFrom.ConfigMapKeyRef.Name)
				}
			}
			rc := runtimes.Container{Image: c.Image, Command: c.Command, Args: c.Args}
			for _, e := range c.Env {
				if e.ValueFrom == nil {
					rc.Env = append(rc.Env, runtimes.Env{Name: e.Name, Value: e.Value})
				}
			}
			if srv := runtimes.InspectServer(rc); srv.Server != runtimes.Redis || !srv.ConfigFile {
				continue
			}
			for _, m := range c.VolumeMounts {
				for _, v := range p.Spec.Volumes {
					if v.Name != m.Name {
						continue
					}
					for _, cm := range manifest.VolumeConfigMaps(v) {
						add(cm.Name)
					}
				}
			}
		}
	}
	return out
}

// PodMemory is what a pod asks of its node's memory, as the scheduler and
// the kubelet count it (init containers, sidecars, pod overhead and
// pod-level resources included): its request and limit, and how many of
// its containers have no memory limit when the pod has none either.
func PodMemory(p *corev1.Pod) (request, limit int64, unbounded int) {
	if q, ok := resourcehelper.PodRequests(p, resourcehelper.PodResourcesOptions{})[corev1.ResourceMemory]; ok {
		request = q.Value()
	}
	if q, ok := resourcehelper.PodLimits(p, resourcehelper.PodResourcesOptions{})[corev1.ResourceMemory]; ok {
		limit = q.Value()
	}
	if p.Spec.Resources == nil || p.Spec.Resources.Limits.Memory().IsZero() {
		for _, c := range p.Spec.Containers {
			if c.Resources.Limits.Memory().IsZero() {
				unbounded++
			}
		}
	}
	return request, limit, unbounded
}
