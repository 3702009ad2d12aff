package workload

import (
	"testing"

	"github.com/oomdoctor/oomdoctor/internal/model"
)

// Each case's numbers by hand: 80% of 256Mi is 204.8Mi (205Mi), of 512Mi
// 409.6Mi (410Mi); 80 x 256 / 512 = 40.
func TestHPAWarning(t *testing.T) {
	const mi = 1 << 20
	h := HPA{Namespace: "shop", Name: "api", Target: model.WorkloadRef{Namespace: "shop", Kind: "Deployment", Name: "api"}}
	pod := "HorizontalPodAutoscaler shop/api scales Deployment/api on memory at 80% of the pod's requests (its containers together)"
	for _, tc := range []struct {
		name string
		m    HPAMemory
		ch   MemoryChange
		want string
	}{
		{"higher requests", HPAMemory{Utilization: 80}, MemoryChange{OldRequest: 256 * mi, NewRequest: 512 * mi, NewLimit: 768 * mi, Limited: true},
			pod + ": the new requests (512Mi a pod, from 256Mi) move the point it adds replicas at from 205Mi to 410Mi a pod, so at today's usage it runs fewer replicas, each under more load; to keep the point, set its averageUtilization to 40%"},
		// 80 x 512 / 384 = 106.7: 107%.
		{"lower requests", HPAMemory{Utilization: 80}, MemoryChange{OldRequest: 512 * mi, NewRequest: 384 * mi, NewLimit: 1024 * mi, Limited: true},
			pod + ": the new requests (384Mi a pod, from 512Mi) move the point it adds replicas at from 410Mi to 307Mi a pod, so at today's usage it runs more replicas; to keep the point, set its averageUtilization to 107%"},
		{"within 1%", HPAMemory{Utilization: 80}, MemoryChange{OldRequest: 512 * mi, NewRequest: 515 * mi, NewLimit: 1024 * mi, Limited: true}, ""},
		// 120% of 256Mi is 307.2Mi, above the 300Mi limit; 100 x 300 / 256 = 117.
		{"utilization past the limit", HPAMemory{Utilization: 120, Container: "app"}, MemoryChange{OldRequest: 256 * mi, NewRequest: 256 * mi, NewLimit: 300 * mi, Limited: true},
			"HorizontalPodAutoscaler shop/api scales Deployment/api on memory at 120% of container app's request: that is 307Mi a container, at or above the new limits (300Mi a container), which usage never passes: the containers are killed first, and it never adds replicas for memory; give it an averageUtilization under 117%"},
		{"average value at the limit", HPAMemory{AverageValue: 512 * mi}, MemoryChange{OldRequest: 256 * mi, NewRequest: 256 * mi, NewLimit: 512 * mi, Limited: true},
			"HorizontalPodAutoscaler shop/api scales Deployment/api on memory at an average of 512Mi a pod, at or above the new limits (512Mi a pod), which usage never passes: the containers are killed first, and it never adds replicas for memory; give it an averageValue under 512Mi"},
		{"a container without a limit", HPAMemory{AverageValue: 512 * mi}, MemoryChange{OldRequest: 256 * mi, NewRequest: 256 * mi, NewLimit: 256 * mi, Limited: false}, ""},
		{"no request before", HPAMemory{Utilization: 80}, MemoryChange{NewRequest: 512 * mi, NewLimit: 768 * mi, Limited: true},
			pod + ", and has no request to take the share of now (it cannot compute the utilization): with the new requests (512Mi a pod) it adds replicas past 410Mi a pod"},
	} {
		if got := h.Warning(tc.m, tc.ch); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}
