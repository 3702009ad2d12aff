package workload

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// How many pods a rollout adds before old ones go decides how much room
// a quota must have beside the pods.
func TestRollout(t *testing.T) {
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
		name        string
		obj         runtime.Object
		pods, surge int32
		ok          bool
	}{
		{"deployment, default 25%", rolling(2, nil), 2, 1, true},
		{"deployment, 25% of 10 rounds up", rolling(10, nil), 10, 3, true},
		{"deployment, maxSurge 2", rolling(4, ptr.To(intstr.FromInt32(2))), 4, 2, true},
		{"deployment, 25% of 1 rounds up", rolling(1, ptr.To(intstr.FromString("25%"))), 1, 1, true},
		{"deployment, maxSurge 0", rolling(5, ptr.To(intstr.FromInt32(0))), 5, 0, true},
		{"deployment, 0%", rolling(5, ptr.To(intstr.FromString("0%"))), 5, 0, true},
		{"deployment, Recreate", recreate, 3, 0, true},
		{"statefulset", &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Replicas: ptr.To[int32](3)}}, 3, 0, true},
		{"daemonset, default", ds, 4, 0, true},
		{"daemonset, 10% of 4 rounds up", dsSurge, 4, 1, true},
		{"replicaset, no rollout", &appsv1.ReplicaSet{}, 1, 0, true},
		{"job", &batchv1.Job{}, 0, 0, false},
	} {
		pods, surge, ok := Rollout(tc.obj)
		if pods != tc.pods || surge != tc.surge || ok != tc.ok {
			t.Errorf("%s: Rollout = %d pods, surge %d, ok %v; want %d, %d, %v", tc.name, pods, surge, ok, tc.pods, tc.surge, tc.ok)
		}
	}
}
