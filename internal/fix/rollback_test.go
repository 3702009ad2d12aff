package fix

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"
)

// api is a rolled-out Deployment shop/api of one container app under a
// limit of q.
func api(q string) *appsv1.Deployment {
	labels := map[string]string{"app": "api"}
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: "shop", Generation: 4},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](1), Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{Containers: []corev1.Container{
				{Name: "app", Image: "api", Resources: limits(q)},
			}}}},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 4, Replicas: 1, UpdatedReplicas: 1, AvailableReplicas: 1}}
}

// apiPod is a pod of api under limit q, created at, whose container app
// has the status st.
func apiPod(name, q string, at time.Time, st corev1.ContainerStatus) *corev1.Pod {
	st.Name = "app"
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", Labels: map[string]string{"app": "api"}, CreationTimestamp: metav1.NewTime(at)},
		Spec: corev1.PodSpec{Containers: []corev1.Container{
			{Name: "app", Resources: limits(q)},
		}},
		Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{st}}}
}

var (
	oomKilled = corev1.ContainerStatus{RestartCount: 1, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "OOMKilled", ExitCode: 137}}}
	crashing = corev1.ContainerStatus{RestartCount: 3, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Error", ExitCode: 1}}}
	running = corev1.ContainerStatus{State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}
)

// The rollout's new pods fail when one of theirs is OOM-killed or
// crashes in a loop; pods older than the rollout, or with the memory of
// another template (an old pod replaced meanwhile), are not the change's.
func TestFailingNewPods(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	since := now.Add(-5 * time.Second)
	d := api("512Mi")
	cases := []struct {
		name string
		pods []runtime.Object
		want string
	}{
		{"none", nil, ""},
		{"running", []runtime.Object{apiPod("api-new", "512Mi", now, running)}, ""},
		{"killed before the rollout", []runtime.Object{apiPod("api-old", "512Mi", now.Add(-time.Hour), oomKilled)}, ""},
		{"another template's", []runtime.Object{apiPod("api-old2", "1Gi", now, crashing)}, ""},
		{"killed", []runtime.Object{apiPod("api-old", "1Gi", now.Add(-time.Hour), oomKilled), apiPod("api-new", "512Mi", now, oomKilled)},
			"its new pod api-new was OOMKilled under its memory limit 512Mi (container app, 1 restart): the new values are too small for it; its usage: oomdoctor explain api-new/app -n shop"},
		{"crashing", []runtime.Object{apiPod("api-new", "512Mi", now, crashing)},
			"its new pod api-new crashes in a loop (container app in CrashLoopBackOff after 3 restarts; it last ended Error, exit code 1): kubectl logs -p api-new -c app -n shop says why"},
	}
	for _, tc := range cases {
		c := fake.NewClientset(append(tc.pods, d)...)
		_, err := newPods(ctx, c, d, since)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}

	// A termination message is quoted, its last line.
	said := crashing
	said.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{Reason: "Error", ExitCode: 1, Message: "starting\njava.lang.OutOfMemoryError: Java heap space\n"}
	_, err := newPods(ctx, fake.NewClientset(apiPod("api-new", "512Mi", now, said)), d, since)
	if want := `it last ended Error, exit code 1, saying "java.lang.OutOfMemoryError: Java heap space")`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("a termination message: %v, want %s", err, want)
	}

	// A pod without the template's env value is older: the change set it.
	e := d.DeepCopy()
	e.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "GOMEMLIMIT", Value: "460MiB"}}
	older := apiPod("api-new", "512Mi", now, oomKilled)
	if _, err := newPods(ctx, fake.NewClientset(older), e, since); err != nil {
		t.Errorf("a pod without the template's env value: %v", err)
	}
	// One with more (a webhook's) is the change's.
	older.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "DD_AGENT_HOST", Value: "10.0.0.1"}, {Name: "GOMEMLIMIT", Value: "460MiB"}}
	if _, err := newPods(ctx, fake.NewClientset(older), e, since); err == nil {
		t.Errorf("a pod with the template's env and a webhook's: no failure")
	}

	// A pod with other arguments is older: the change set a flag there.
	a := d.DeepCopy()
	a.Spec.Template.Spec.Containers[0].Args = []string{"-Xmx384m"}
	if _, err := newPods(ctx, fake.NewClientset(apiPod("api-new", "512Mi", now, oomKilled)), a, since); err != nil {
		t.Errorf("a pod without the template's arguments: %v", err)
	}

	// A restart's pods carry its annotation: those without it are older.
	r := d.DeepCopy()
	r.Spec.Template.Annotations = map[string]string{restartedAt: "2026-12-07T02:00:00Z"}
	if _, err := newPods(ctx, fake.NewClientset(apiPod("api-new", "512Mi", now, oomKilled)), r, since); err != nil {
		t.Errorf("a pod without the restart's annotation: %v", err)
	}
}

// --rollback-on-failure: a kill among the new pods after the rollout puts
// the template back, with a patch the server refuses if the spec changed
// since; a spec that someone else changed meanwhile is left alone.
func TestRollbackOnFailure(t *testing.T) {
	ctx := context.Background()
	target := ApplyTarget{Kind: "Deployment", Namespace: "shop", Name: "api"}
	half := resource.MustParse("512Mi")
	values := perContainer{"app": {Limit: ptr.To(half.Value())}}
	run := func(bump int64) (*fake.Clientset, []string, *ApplyResult, error) {
		c := fake.NewClientset(api("1Gi"), apiPod("api-new", "512Mi", time.Now(), oomKilled))
		var patches []string
		c.PrependReactor("patch", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
			p := a.(k8stesting.PatchActionImpl)
			if len(p.PatchOptions.DryRun) > 0 {
				return true, nil, nil
			}
			patches = append(patches, string(p.GetPatchType())+" "+string(p.Patch))
			if p.GetPatchType() != "application/strategic-merge-patch+json" {
				return false, nil, nil
			}
			// The server's generation: one more for the change, more when
			// someone else changed the spec too.
			d, err := c.Tracker().Get(appsv1.SchemeGroupVersion.WithResource("deployments"), "shop", "api")
			if err != nil {
				return true, nil, err
			}
			d.(*appsv1.Deployment).Generation += bump
			d.(*appsv1.Deployment).Status.ObservedGeneration += bump
			return false, nil, c.Tracker().Update(appsv1.SchemeGroupVersion.WithResource("deployments"), d, "shop")
		})
		res, err := Apply(ctx, c, target, values, ApplyOptions{Wait: true, SkipPodCheck: true, RollbackOnFailure: true, Timeout: 10 * time.Second, Observe: 2 * time.Second})
		return c, patches, res, err
	}
	limitNow := func(c *fake.Clientset) string {
		d, err := c.AppsV1().Deployments("shop").Get(ctx, "api", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return d.Spec.Template.Spec.Containers[0].Resources.Limits.Memory().String()
	}

	c, patches, res, err := run(1)
	if err == nil || !strings.Contains(err.Error(), "the rollout of deployment/api finished, but within 2s its new pod api-new was OOMKilled under its memory limit 512Mi") ||
		!strings.HasSuffix(err.Error(), "; put back deployment/api's pod template as it was (--rollback-on-failure), and it rolled out") || strings.Contains(err.Error(), "rollout undo") ||
		strings.Contains(err.Error(), "oomdoctor explain") {
		t.Fatalf("Apply: %v", err)
	}
	if res == nil || !res.PutBack || len(res.Changes) != 1 {
		t.Errorf("result: %+v", res)
	}
	if got := limitNow(c); got != "1Gi" {
		t.Errorf("the template's limit after the rollback: %s, want 1Gi", got)
	}
	if len(patches) != 2 || !strings.HasPrefix(patches[1], `application/json-patch+json [{"op":"test","path":"/metadata/generation","value":5},{"op":"replace","path":"/spec/template",`) {
		t.Errorf("patches: %q", patches)
	}

	// Someone else's change came with oomdoctor's: the old template would
	// undo theirs, so it stays, and the error gives the way back.
	c, patches, res, err = run(2)
	if err == nil || !strings.Contains(err.Error(), "deployment/api's pod template NOT put back: someone else changed its spec meanwhile, and the old template would undo their change too; to go back: kubectl rollout undo deployment/api -n shop") {
		t.Errorf("Apply, someone else's change too: %v", err)
	}
	if res == nil || res.PutBack || len(patches) != 1 || limitNow(c) != "512Mi" {
		t.Errorf("someone else's change too: result %+v, patches %q, limit %s", res, patches, limitNow(c))
	}
}

// A new pod no node has room for is said while the wait goes on, and in
// the error when it runs out: an autoscaler may add a node meanwhile.
func TestUnscheduledNewPods(t *testing.T) {
	ctx := context.Background()
	d := api("512Mi")
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: 4, Replicas: 2, UpdatedReplicas: 1, AvailableReplicas: 1}
	p := apiPod("api-new", "512Mi", time.Now(), corev1.ContainerStatus{})
	p.Status.ContainerStatuses = nil
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable,
		Message: "0/1 nodes are available: 1 Insufficient memory. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."}}
	c := fake.NewClientset(d, p)
	var progress []string
	err := waitRollout(ctx, c, ApplyTarget{Kind: "Deployment", Namespace: "shop", Name: "api"},
		ApplyOptions{Timeout: 1500 * time.Millisecond, Progress: func(s string) { progress = append(progress, s) }}, "")
	want := "1 old replicas are pending termination; its new pod api-new is not scheduled: 0/1 nodes are available: 1 Insufficient memory. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
	if err == nil || !strings.Contains(err.Error(), "did not finish within 1.5s ("+want+")") {
		t.Errorf("waitRollout: %v", err)
	}
	if len(progress) != 1 || progress[0] != want {
		t.Errorf("progress: %q", progress)
	}
}

// A GOMEMLIMIT that rises waits for the new limit's rollout, then the
// pods restart to read it; when a restarted pod is killed,
// --rollback-on-failure puts back both ConfigMaps (the rising one and
// the falling one) and the template as it was before the first patch,
// in one rollout.
func TestRollbackAfterTheRestart(t *testing.T) {
	ctx := context.Background()
	labels := map[string]string{"app": "api"}
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: "shop", Generation: 1}, Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](1),
		Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{Containers: []corev1.Container{
			{Name: "go", Image: "api", EnvFrom: from("go-env"), Resources: limits("1Gi")},
			{Name: "jvm", Image: "eclipse-temurin:21", EnvFrom: from("jvm-env"), Resources: limits("2Gi")},
		}}}},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 1, UpdatedReplicas: 1, AvailableReplicas: 1}}
	c := fake.NewClientset(d,
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "go-env", Namespace: "shop"}, Data: map[string]string{"GOMEMLIMIT": "900MiB"}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "jvm-env", Namespace: "shop"}, Data: map[string]string{"JAVA_TOOL_OPTIONS": "-Xmx1800m"}})
	deployments := appsv1.SchemeGroupVersion.WithResource("deployments")
	// The pod the restart makes is killed: the kubelet's part, played
	// from the template as it is.
	c.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		obj, err := c.Tracker().Get(deployments, "shop", "api")
		if err != nil {
			return true, nil, err
		}
		tmpl := obj.(*appsv1.Deployment).Spec.Template
		if _, restarted := tmpl.Annotations[restartedAt]; !restarted {
			return true, &corev1.PodList{}, nil
		}
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "api-new", Namespace: "shop", Labels: labels, Annotations: tmpl.Annotations, CreationTimestamp: metav1.Now()},
			Spec: tmpl.Spec, Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{
				{Name: "go", RestartCount: 1, LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "OOMKilled", ExitCode: 137}}},
			}}}
		return true, &corev1.PodList{Items: []corev1.Pod{*p}}, nil
	})
	two, one := resource.MustParse("2Gi"), resource.MustParse("1Gi")
	values := perContainer{"go": {Limit: ptr.To(two.Value())}, "jvm": {Limit: ptr.To(one.Value())}}
	res, err := Apply(ctx, c, ApplyTarget{Kind: "Deployment", Namespace: "shop", Name: "api"}, values,
		ApplyOptions{Wait: true, SkipPodCheck: true, ConfigMaps: true, RollbackOnFailure: true, Timeout: 10 * time.Second, Observe: time.Second})
	if err == nil || !strings.Contains(err.Error(), "the rollout of deployment/api finished, but within 1s its new pod api-new was OOMKilled under its memory limit 2Gi") ||
		!strings.HasSuffix(err.Error(), "; put back as it was: ConfigMap go-env key GOMEMLIMIT, ConfigMap jvm-env key JAVA_TOOL_OPTIONS; put back deployment/api's pod template as it was (--rollback-on-failure), and it rolled out") {
		t.Fatalf("Apply: %v", err)
	}
	if res == nil || !res.PutBack {
		t.Errorf("result: %+v", res)
	}
	for name, want := range map[string]string{"go-env": "900MiB", "jvm-env": "-Xmx1800m"} {
		cm, err := c.CoreV1().ConfigMaps("shop").Get(ctx, name, metav1.GetOptions{})
		if err != nil || (cm.Data["GOMEMLIMIT"] != want && cm.Data["JAVA_TOOL_OPTIONS"] != want) {
			t.Errorf("ConfigMap %s after the rollback: %v (%v), want %s", name, cm.Data, err, want)
		}
	}
	got, err := c.AppsV1().Deployments("shop").Get(ctx, "api", metav1.GetOptions{})
	if err != nil || got.Spec.Template.Annotations[restartedAt] != "" || got.Spec.Template.Spec.Containers[0].Resources.Limits.Memory().String() != "1Gi" ||
		got.Spec.Template.Spec.Containers[1].Resources.Limits.Memory().String() != "2Gi" {
		t.Errorf("the template after the rollback: %+v (%v)", got.Spec.Template, err)
	}
}
