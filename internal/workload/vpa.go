package workload

import (
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/oomdoctor/oomdoctor/internal/model"
)

// VPAResource is the VerticalPodAutoscaler's API resource (a CRD: absent
// from clusters without the VPA).
var VPAResource = schema.GroupVersionResource{Group: "autoscaling.k8s.io", Version: "v1", Resource: "verticalpodautoscalers"}

// VPA is what a VerticalPodAutoscaler says about the memory of its
// target's containers.
type VPA struct {
	Namespace, Name string
	// Target is the workload it scales (targetRef).
	Target model.WorkloadRef
	// Mode is its updateMode ("Auto" when unset, as the VPA defaults).
	Mode     string
	policies []vpaPolicy
}

type vpaPolicy struct {
	container, mode, values string
	resources               []string // controlledResources; nil: cpu and memory
}

// VPAOf reads a VerticalPodAutoscaler object.
func VPAOf(u *unstructured.Unstructured) (VPA, error) {
	v := VPA{Namespace: u.GetNamespace(), Name: u.GetName(), Mode: "Auto"}
	kind, _, _ := unstructured.NestedString(u.Object, "spec", "targetRef", "kind")
	name, _, _ := unstructured.NestedString(u.Object, "spec", "targetRef", "name")
	if kind == "" || name == "" {
		return v, fmt.Errorf("VerticalPodAutoscaler %s/%s has no spec.targetRef kind and name", v.Namespace, v.Name)
	}
	v.Target = model.WorkloadRef{Namespace: v.Namespace, Kind: kind, Name: name}
	if m, ok, _ := unstructured.NestedString(u.Object, "spec", "updatePolicy", "updateMode"); ok && m != "" {
		v.Mode = m
	}
	ps, _, _ := unstructured.NestedSlice(u.Object, "spec", "resourcePolicy", "containerPolicies")
	for _, p := range ps {
		m, ok := p.(map[string]any)
		if !ok {
			continue
		}
		var pol vpaPolicy
		pol.container, _, _ = unstructured.NestedString(m, "containerName")
		pol.mode, _, _ = unstructured.NestedString(m, "mode")
		pol.values, _, _ = unstructured.NestedString(m, "controlledValues")
		if rs, ok, _ := unstructured.NestedStringSlice(m, "controlledResources"); ok {
			pol.resources = rs
		}
		v.policies = append(v.policies, pol)
	}
	return v, nil
}

// String names it: "VerticalPodAutoscaler shop/cart (updateMode Auto)".
func (v VPA) String() string {
	return fmt.Sprintf("VerticalPodAutoscaler %s/%s (updateMode %s)", v.Namespace, v.Name, v.Mode)
}

// Sets tells whether the VPA sets the memory of the container's new pods
// (any mode but Off: Initial sets it when a pod is created, the others
// also evict or update running ones), and which values: "requests" or
// "requests and limits" (a limit is scaled with its request).
func (v VPA) Sets(container string) (bool, string) {
	if v.Mode == "Off" {
		return false, ""
	}
	// The container's own policy wins over the "*" one.
	pol := vpaPolicy{}
	for _, name := range []string{"*", container} {
		if i := slices.IndexFunc(v.policies, func(p vpaPolicy) bool { return p.container == name }); i >= 0 {
			pol = v.policies[i]
		}
	}
	if pol.mode == "Off" || pol.resources != nil && !slices.Contains(pol.resources, "memory") {
		return false, ""
	}
	if pol.values == "RequestsOnly" {
		return true, "requests"
	}
	return true, "requests and limits"
}
