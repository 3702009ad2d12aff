package lint

import (
	"path/filepath"
	"testing"
)

// The point each failing HPA scales at, and where it is said.
func TestHPAMemoryMessages(t *testing.T) {
	dir := filepath.Join("testdata", "rules", ruleHPAMemory, "fail")
	for file, want := range map[string]struct {
		field, message string
	}{
		"utilization-over-limit.yaml": {"spec.metrics[0].resource.target.averageUtilization",
			"HorizontalPodAutoscaler shop/api scales Deployment/api on memory at 120% of its pods' requests (256Mi a pod): 307Mi a pod, at or above the memory limits (256Mi a pod): usage never gets there, since the containers are OOM-killed at their limits first, so the HPA never adds replicas for memory. Give it an averageUtilization under 100% (70-80% is usual)."},
		"average-value-over-limit.yaml": {"spec.metrics[0].containerResource.target.averageValue",
			"HorizontalPodAutoscaler shop/api scales Deployment/api on memory at an average of 1Gi a container, at or above the memory limits (512Mi a container): usage never gets there, since the containers are OOM-killed at their limits first, so the HPA never adds replicas for memory. Give it an averageValue under 512Mi."},
		"no-request.yaml": {"spec.metrics[0].resource.target.averageUtilization",
			"HorizontalPodAutoscaler shop/api scales Deployment/api on memory at 70% of its pods' requests, but container proxy has no memory request (nor a limit it would default to): the HPA cannot compute memory utilization, and scales on its other metrics only. Give every container of the pod a memory request (`oomdoctor recommend`)."},
	} {
		fs := ofRule(lintFile(t, filepath.Join(dir, file)), ruleHPAMemory)
		if len(fs) != 1 || fs[0].Field != want.field || fs[0].Message != want.message {
			t.Errorf("%s: %+v\nwant %s: %s", file, fs, want.field, want.message)
		}
	}
}
