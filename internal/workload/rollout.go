package workload

import (
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Rollout says how many pods a workload runs and how many new pods its
// rollout creates before old ones go (its surge: a Deployment's maxSurge,
// 25% by default, none with Recreate; a DaemonSet's, none by default); ok
// is false when its pods come and go on their own (Jobs) or it has none.
// A maxSurge that does not parse counts as one pod.
func Rollout(obj runtime.Object) (pods, surge int32, ok bool) {
	scaled := func(v *intstr.IntOrString, of int32) int32 {
		n, err := intstr.GetScaledValueFromIntOrPercent(v, int(of), true)
		if err != nil {
			return 1
		}
		return int32(max(n, 0))
	}
	replicas := func(r *int32) int32 {
		if r == nil {
			return 1
		}
		return *r
	}
	switch o := obj.(type) {
	case *appsv1.Deployment:
		pods = replicas(o.Spec.Replicas)
		if o.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
			return pods, 0, true
		}
		s := intstr.FromString("25%")
		if ru := o.Spec.Strategy.RollingUpdate; ru != nil && ru.MaxSurge != nil {
			s = *ru.MaxSurge
		}
		return pods, scaled(&s, pods), true
	case *appsv1.StatefulSet:
		return replicas(o.Spec.Replicas), 0, true
	case *appsv1.DaemonSet:
		pods = o.Status.DesiredNumberScheduled
		if ru := o.Spec.UpdateStrategy.RollingUpdate; o.Spec.UpdateStrategy.Type != appsv1.OnDeleteDaemonSetStrategyType && ru != nil && ru.MaxSurge != nil {
			return pods, scaled(ru.MaxSurge, pods), true
		}
		return pods, 0, true
	case *appsv1.ReplicaSet:
		return replicas(o.Spec.Replicas), 0, true
	}
	return 0, 0, false
}
