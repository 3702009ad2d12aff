package fix

import (
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// The template after the patch is the live one with the patch's fields,
// as the server merges it: containers by name, other fields kept.
func TestTemplatesMergeThePatch(t *testing.T) {
	c := func(name, limit string) corev1.Container {
		return corev1.Container{Name: name, Image: name + ":1", Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(limit)}}}
	}
	cj := &batchv1.CronJob{}
	cj.Spec.JobTemplate.Spec.Template.Spec.Containers = []corev1.Container{c("main", "128Mi"), c("side", "64Mi")}
	patch := []byte(`{"spec":{"jobTemplate":{"spec":{"template":{"spec":{"containers":[{"name":"side","resources":{"limits":{"memory":"96Mi"}}}]}}}}}}`)
	before, after, err := templates(cj, patch)
	if err != nil {
		t.Fatal(err)
	}
	if got := before.Spec.Containers[1].Resources.Limits.Memory().String(); got != "64Mi" {
		t.Errorf("before: side's limit %s, want 64Mi", got)
	}
	a := after.Spec.Containers
	if len(a) != 2 || a[0].Name != "main" || a[0].Resources.Limits.Memory().String() != "128Mi" || a[1].Image != "side:1" || a[1].Resources.Limits.Memory().String() != "96Mi" {
		t.Errorf("after: %+v", a)
	}
	if _, _, err := templates(&corev1.ConfigMap{}, patch); err == nil {
		t.Error("a ConfigMap has no pod template, and no error said so")
	}
}

// mutated names the values the change set that admission replaced, and
// none it did not set or left alone.
func TestMutated(t *testing.T) {
	q := resource.MustParse
	tpl := func(req, lim string) *corev1.PodTemplateSpec {
		c := corev1.Container{Name: "app", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{}, Limits: corev1.ResourceList{}}}
		if req != "" {
			c.Resources.Requests[corev1.ResourceMemory] = q(req)
		}
		if lim != "" {
			c.Resources.Limits[corev1.ResourceMemory] = q(lim)
		}
		side := corev1.Container{Name: "side", Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: q("64Mi")}}}
		return &corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{c, side}}}
	}
	pod := func(tp *corev1.PodTemplateSpec) *corev1.Pod { return &corev1.Pod{Spec: tp.Spec} }
	before, after := tpl("256Mi", "512Mi"), tpl("256Mi", "640Mi")
	if d := mutated(before, after, pod(after)); d != "" {
		t.Errorf("admitted as set: %q", d)
	}
	// A VPA-like mutation of the limit the change set, and of the side
	// container's, which it did not set.
	vpa := pod(tpl("300Mi", "768Mi"))
	vpa.Spec.Containers[1].Resources.Limits[corev1.ResourceMemory] = q("100Mi")
	if d := mutated(before, after, vpa); d != "container app: limit 768Mi, not the 640Mi set" {
		t.Errorf("mutated limit: %q", d)
	}
	if d := mutated(before, tpl("384Mi", "640Mi"), vpa); d != "container app: request 300Mi, not the 384Mi set; container app: limit 768Mi, not the 640Mi set" {
		t.Errorf("mutated request and limit: %q", d)
	}
	removed := pod(tpl("256Mi", ""))
	if d := mutated(before, after, removed); d != "container app: limit none, not the 640Mi set" {
		t.Errorf("removed limit: %q", d)
	}
}
