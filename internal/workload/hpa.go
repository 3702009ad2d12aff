package workload

import (
	"fmt"
	"math"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"

	"github.com/oomdoctor/oomdoctor/internal/manifest"
	"github.com/oomdoctor/oomdoctor/internal/model"
)

// HPA is what a HorizontalPodAutoscaler says about memory: the metrics
// it scales its target on that read the pods' memory, each a point per
// pod (or per container) past which it adds replicas.
type HPA struct {
	Namespace, Name string
	// Target is the workload it scales (scaleTargetRef).
	Target model.WorkloadRef
	// Memory are its memory metrics; none: it does not scale on memory.
	Memory []HPAMemory
}

// HPAMemory is one memory metric of an HPA: a Resource metric (the pod's
// containers together) or a ContainerResource one (Container).
type HPAMemory struct {
	// Container is the ContainerResource metric's container ("": the
	// pod's containers together).
	Container string
	// Utilization is a target in percent of the requests (0: none);
	// AverageValue one in bytes a pod, or a container (0: none).
	Utilization  int32
	AverageValue int64
}

// HPAOf reads a HorizontalPodAutoscaler (autoscaling/v2).
func HPAOf(h *autoscalingv2.HorizontalPodAutoscaler) HPA {
	x := HPA{Namespace: h.Namespace, Name: h.Name,
		Target: model.WorkloadRef{Namespace: h.Namespace, Kind: h.Spec.ScaleTargetRef.Kind, Name: h.Spec.ScaleTargetRef.Name}}
	for _, m := range h.Spec.Metrics {
		var (
			name      corev1.ResourceName
			target    autoscalingv2.MetricTarget
			container string
		)
		switch {
		case m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil:
			name, target = m.Resource.Name, m.Resource.Target
		case m.Type == autoscalingv2.ContainerResourceMetricSourceType && m.ContainerResource != nil:
			name, target, container = m.ContainerResource.Name, m.ContainerResource.Target, m.ContainerResource.Container
		default:
			continue
		}
		if name != corev1.ResourceMemory {
			continue
		}
		mm := HPAMemory{Container: container}
		switch {
		case target.Type == autoscalingv2.UtilizationMetricType && target.AverageUtilization != nil:
			mm.Utilization = *target.AverageUtilization
		case target.Type == autoscalingv2.AverageValueMetricType && target.AverageValue != nil:
			mm.AverageValue = target.AverageValue.Value()
		default:
			continue
		}
		x.Memory = append(x.Memory, mm)
	}
	return x
}

func (h HPA) String() string {
	return fmt.Sprintf("HorizontalPodAutoscaler %s/%s", h.Namespace, h.Name)
}

// MemoryChange is what one memory metric of an HPA reads (the pod's
// containers together, or the one container) before and after new values:
// the requests then and now, and the limits now.
type MemoryChange struct {
	OldRequest, NewRequest, NewLimit float64
	// Limited says every container the metric reads has a limit now.
	Limited bool
}

// Warning says what ch does to the point at which m makes h add replicas
// for its target; "" when it leaves it as it is. On a utilization, new
// requests move the point, so at the same usage the HPA runs fewer
// replicas (higher requests) or more: the warning gives the target that
// keeps the point. A point at or above the new limits (a utilization over
// 100%, or an averageValue) is one usage never passes, since the
// containers are killed at their limits first: the HPA never scales on
// memory, and the warning gives the highest target that works.
func (h HPA) Warning(m HPAMemory, ch MemoryChange) string {
	what, per := "the pod's requests (its containers together)", "a pod"
	if m.Container != "" {
		what, per = "container "+m.Container+"'s request", "a container"
	}
	scales := fmt.Sprintf("%s scales %s on memory", h, h.Target)
	var point float64
	if m.Utilization > 0 {
		point = float64(m.Utilization) / 100 * ch.NewRequest
		scales += fmt.Sprintf(" at %d%% of %s", m.Utilization, what)
	} else {
		point = float64(m.AverageValue)
		scales += fmt.Sprintf(" at an average of %s %s", Mi(point), per)
	}
	if ch.Limited && ch.NewLimit > 0 && point >= ch.NewLimit {
		at, under := ",", fmt.Sprintf("an averageValue under %s", Mi(ch.NewLimit))
		if m.Utilization > 0 {
			at = fmt.Sprintf(": that is %s %s,", Mi(point), per)
			under = fmt.Sprintf("an averageUtilization under %d%%", int(100*ch.NewLimit/ch.NewRequest))
		}
		return fmt.Sprintf("%s%s at or above the new limits (%s %s), which usage never passes: the containers are killed first, and it never adds replicas for memory; give it %s", scales, at, Mi(ch.NewLimit), per, under)
	}
	if m.Utilization == 0 || ch.NewRequest == 0 {
		return ""
	}
	if ch.OldRequest == 0 {
		return fmt.Sprintf("%s, and has no request to take the share of now (it cannot compute the utilization): with the new requests (%s %s) it adds replicas past %s %s", scales, Mi(ch.NewRequest), per, Mi(point), per)
	}
	if math.Abs(ch.NewRequest-ch.OldRequest) < 0.01*ch.OldRequest {
		return ""
	}
	more, keep := KeepPoint(float64(m.Utilization), ch.OldRequest, ch.NewRequest)
	return fmt.Sprintf("%s: the new requests (%s %s, from %s) move the point it adds replicas at from %s to %s %s, so at today's usage it runs %s; to keep the point, set its averageUtilization to %d%%", scales, Mi(ch.NewRequest), per, Mi(ch.OldRequest), Mi(float64(m.Utilization)/100*ch.OldRequest), Mi(point), per, more, keep)
}

// KeepPoint says what new requests do to an HPA scaling at utilization
// percent of them (the replicas it runs at today's usage) and the
// utilization that keeps its point where the old requests put it.
func KeepPoint(utilization, oldReq, newReq float64) (more string, keep int) {
	more = "fewer replicas, each under more load"
	if newReq < oldReq {
		more = "more replicas"
	}
	return more, max(1, int(math.Round(utilization*oldReq/newReq)))
}

// Mi writes a size rounded to the Mi, as Kubernetes does ("384Mi", "1Gi").
func Mi(b float64) string {
	return manifest.FormatBytes(int64(math.Round(b/(1<<20))) << 20)
}
