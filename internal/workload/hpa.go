package workload

import (
	"fmt"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"

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
