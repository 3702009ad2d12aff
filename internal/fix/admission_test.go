package fix

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// Whether a rollout adds a pod before an old one goes decides whether a
// quota must have room for one more.
func TestRolloutSurge(t *testing.T) {
	rolling := func(replicas int32, surge *intstr.IntOrString) *appsv1.Deployment {
		d := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: ptr.To(replicas)}}
		if surge != nil {
			d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: surge}
		}
		return d
	}
	recreate := rolling(3, nil)
	recreate.Spec.Strategy.Type = appsv1.RecreateDeploymentStrategyType
	ds := &appsv1.DaemonSet{Status: appsv1.DaemonSetStatus{DesiredNumberScheduled: 4}}
	dsSurge := ds.DeepCopy()
	dsSurge.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{MaxSurge: ptr.To(intstr.FromString("10%"))}
	for _, tc := range []struct {
		name      string
		obj       runtime.Object
		pods      int32
		surge, ok bool
	}{
		{"deployment, default 25%", rolling(2, nil), 2, true, true},
		{"deployment, 25% of 1 rounds up", rolling(1, ptr.To(intstr.FromString("25%"))), 1, true, true},
		{"deployment, maxSurge 0", rolling(5, ptr.To(intstr.FromInt32(0))), 5, false, true},
		{"deployment, 0%", rolling(5, ptr.To(intstr.FromString("0%"))), 5, false, true},
		{"deployment, Recreate", recreate, 3, false, true},
		{"statefulset", &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Replicas: ptr.To[int32](3)}}, 3, false, true},
		{"daemonset, default", ds, 4, false, true},
		{"daemonset, 10% of 4 rounds up", dsSurge, 4, true, true},
		{"replicaset, no rollout", &appsv1.ReplicaSet{}, 1, false, true},
		{"job", &batchv1.Job{}, 0, false, false},
	} {
		pods, surge, ok := rollout(tc.obj)
		if pods != tc.pods || surge != tc.surge || ok != tc.ok {
			t.Errorf("%s: rollout = %d pods, surge %v, ok %v; want %d, %v, %v", tc.name, pods, surge, ok, tc.pods, tc.surge, tc.ok)
		}
	}
}

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
