package fix

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
)

const quotaRefusal = `pods "api-6d5c9-x" is forbidden: exceeded quota: mem, requested: limits.memory=512Mi, used: limits.memory=1Gi, limited: limits.memory=1Gi`

func refusedDeployment(updated, available int32, failing bool) *appsv1.Deployment {
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: "shop", Generation: 2},
		Spec:   appsv1.DeploymentSpec{Replicas: ptr.To[int32](2)},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 2, UpdatedReplicas: updated, AvailableReplicas: available}}
	if failing {
		d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentReplicaFailure, Status: corev1.ConditionTrue, Reason: "FailedCreate", Message: quotaRefusal}}
	}
	return d
}

// The Deployment controller copies its ReplicaSet's FailedCreate into a
// ReplicaFailure condition: a rollout under way with it is refused, a
// finished one is done.
func TestDeploymentStateRefused(t *testing.T) {
	_, done, err := deploymentState(refusedDeployment(0, 2, true))
	var r *refusedPods
	if done || !errors.As(err, &r) || !strings.Contains(err.Error(), "its new pods are refused: "+quotaRefusal) {
		t.Errorf("refused rollout: done %v, err %v", done, err)
	}
	if state, done, err := deploymentState(refusedDeployment(2, 2, true)); !done || err != nil {
		t.Errorf("finished rollout with an old condition: %q, done %v, err %v", state, done, err)
	}
	if state, done, err := deploymentState(refusedDeployment(1, 2, false)); done || err != nil || state != "1 of 2 new replicas updated" {
		t.Errorf("rollout under way: %q, done %v, err %v", state, done, err)
	}
}

// waitRollout gives up once the new pods stay refused, with the server's
// words and the way back, instead of waiting out --timeout.
func TestWaitRolloutGivesUpOnRefusedPods(t *testing.T) {
	old := refusedFor
	refusedFor = 0
	t.Cleanup(func() { refusedFor = old })
	ctx := context.Background()

	c := fake.NewClientset(refusedDeployment(0, 2, true))
	api := ApplyTarget{Kind: "Deployment", Namespace: "shop", Name: "api"}
	err := waitRollout(ctx, c, api, ApplyOptions{Wait: true, Timeout: time.Minute}, undoCommand(api))
	if err == nil || !strings.Contains(err.Error(), "the rollout of deployment/api cannot go on: its new pods are refused: "+quotaRefusal) || !strings.Contains(err.Error(), "kubectl rollout undo deployment/api -n shop") {
		t.Errorf("deployment: %v", err)
	}

	// A StatefulSet says it in events only; one older than the rollout
	// is not its.
	sts := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "shop", Generation: 3},
		Spec:   appsv1.StatefulSetSpec{Replicas: ptr.To[int32](3)},
		Status: appsv1.StatefulSetStatus{ObservedGeneration: 3, UpdatedReplicas: 2, ReadyReplicas: 2, CurrentRevision: "a", UpdateRevision: "b"}}
	event := func(name string, at time.Time) *corev1.Event {
		return &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop"}, Reason: "FailedCreate", Type: corev1.EventTypeWarning,
			InvolvedObject: corev1.ObjectReference{Kind: "StatefulSet", Name: "db", Namespace: "shop"},
			Message:        "create Pod db-2 in StatefulSet db failed error: " + quotaRefusal, LastTimestamp: metav1.NewTime(at)}
	}
	target := ApplyTarget{Kind: "StatefulSet", Namespace: "shop", Name: "db"}
	c = fake.NewClientset(sts, event("db.old", time.Now().Add(-time.Hour)))
	err = waitRollout(ctx, c, target, ApplyOptions{Wait: true, Timeout: 1500 * time.Millisecond}, undoCommand(target))
	if err == nil || !strings.Contains(err.Error(), "did not finish within 1.5s (2 of 3 pods updated)") {
		t.Errorf("statefulset with an old refusal: %v", err)
	}
	c = fake.NewClientset(sts, event("db.old", time.Now().Add(-time.Hour)), event("db.new", time.Now()))
	err = waitRollout(ctx, c, target, ApplyOptions{Wait: true, Timeout: time.Minute}, undoCommand(target))
	if err == nil || !strings.Contains(err.Error(), "the rollout of statefulset/db cannot go on: its new pods are refused: create Pod db-2 in StatefulSet db failed error: "+quotaRefusal) {
		t.Errorf("statefulset refused now: %v", err)
	}
}
