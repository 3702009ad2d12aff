package fix

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
)

// A StatefulSet with a partition updates the pods from its ordinal up:
// its rollout is done when they are updated and every pod is ready.
func TestStatefulSetPartition(t *testing.T) {
	s := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "db"}, Spec: appsv1.StatefulSetSpec{Replicas: ptr.To[int32](5),
		UpdateStrategy: appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType,
			RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr.To[int32](3)}}}}
	for _, tc := range []struct {
		updated, ready int32
		want           string
		done           bool
	}{
		{1, 5, "1 of 2 pods updated (partition 3: the pods from ordinal 3)", false},
		{2, 4, "4 of 5 pods ready", false},
		{2, 5, "statefulset db rolled out its partition: 2 pods from ordinal 3 updated; those below keep their values until the partition is lowered", true},
	} {
		s.Status = appsv1.StatefulSetStatus{UpdatedReplicas: tc.updated, ReadyReplicas: tc.ready, CurrentRevision: "a", UpdateRevision: "b"}
		if got, done := statefulSetState(s); got != tc.want || done != tc.done {
			t.Errorf("updated %d, ready %d: %q %v, want %q %v", tc.updated, tc.ready, got, done, tc.want, tc.done)
		}
	}
}

// A paused Deployment and an OnDelete strategy roll nothing out: Apply
// says so before the change, and the wait does not wait; a setting that
// rises after the new limit's rollout cannot wait for it, so nothing
// changes.
func TestNoRollout(t *testing.T) {
	paused := api("1Gi")
	paused.Spec.Paused = true
	if got := noRollout(paused); got != "deployment api is paused: its pods get the new values when it is resumed (kubectl rollout resume deployment/api -n shop)" {
		t.Errorf("paused: %q", got)
	}
	onDelete := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: "kube-system"},
		Spec: appsv1.DaemonSetSpec{UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.OnDeleteDaemonSetStrategyType}}}
	if got := noRollout(onDelete); !strings.HasPrefix(got, "daemonset agent updates its pods OnDelete") {
		t.Errorf("OnDelete: %q", got)
	}
	if got := noRollout(api("1Gi")); got != "" {
		t.Errorf("a Deployment that rolls out: %q", got)
	}
	zero := api("1Gi")
	zero.Spec.Replicas = ptr.To[int32](0)
	if !wantsNoPods(zero) || wantsNoPods(api("1Gi")) || !wantsNoPods(onDelete) {
		t.Errorf("wantsNoPods: scaled to zero %v, one replica %v, a DaemonSet on no node %v", wantsNoPods(zero), wantsNoPods(api("1Gi")), wantsNoPods(onDelete))
	}

	ctx := context.Background()
	target := ApplyTarget{Kind: "Deployment", Namespace: "shop", Name: "api"}
	half := int64(512 << 20)
	c := fake.NewClientset(paused)
	res, err := Apply(ctx, c, target, perContainer{"app": {Limit: &half}}, ApplyOptions{Wait: true, SkipPodCheck: true, Timeout: time.Minute})
	if err != nil || len(res.Changes) != 1 || !strings.Contains(strings.Join(res.Notes, "\n"), "deployment api is paused") {
		t.Errorf("paused: %+v, %v", res, err)
	}

	// GOMEMLIMIT from a ConfigMap rises with the limit: refused.
	goEnv := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "go-env", Namespace: "shop"}, Data: map[string]string{"GOMEMLIMIT": "900MiB"}}
	reads := paused.DeepCopy()
	reads.Spec.Template.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "go-env"}}}}
	c = fake.NewClientset(reads, goEnv)
	double := int64(2 << 30)
	res, err = Apply(ctx, c, target, perContainer{"app": {Limit: &double}}, ApplyOptions{Wait: true, SkipPodCheck: true, ConfigMaps: true, Timeout: time.Minute})
	if res != nil || err == nil || !strings.Contains(err.Error(), "which may change only once every pod has the new limit") || !strings.Contains(err.Error(), "but deployment api is paused") {
		t.Errorf("a rise under a paused Deployment: %+v, %v", res, err)
	}
	for _, a := range c.Actions() {
		if a.GetVerb() == "patch" {
			t.Errorf("a rise under a paused Deployment changed %s", a.GetResource().Resource)
		}
	}
}

// A Job's template is immutable: the error says where the change goes,
// its CronJob when it has one.
func TestJobImmutable(t *testing.T) {
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "nightly-29000", Namespace: "batch",
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "CronJob", Name: "nightly", Controller: ptr.To(true)}}}}
	err := jobImmutable(ApplyTarget{Kind: "Job", Namespace: "batch", Name: "nightly-29000"}, job)
	if want := "change its CronJob, whose next Jobs take the new values: oomdoctor fix --apply cronjob/nightly -n batch with the same values"; !strings.HasSuffix(err.Error(), want) {
		t.Errorf("%v, want it to end %q", err, want)
	}
	job.OwnerReferences = nil
	if err := jobImmutable(ApplyTarget{Kind: "Job", Namespace: "batch", Name: "once"}, job); !strings.HasSuffix(err.Error(), "fix the manifest it comes from (oomdoctor fix -f PATH) and create it again") {
		t.Errorf("a Job of its own: %v", err)
	}
}
