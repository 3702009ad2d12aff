package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/workload"
)

// An HPA that scales on memory utilization takes its point from the
// requests: new requests move it, and the warning gives the target that
// keeps it; a point at or above the new limits is never reached. On the
// example: cart's requests go from 128Mi + 64Mi to 256Mi + 44Mi, redis'
// limit to 1536Mi.
func TestRecommendWarnsOfHPAs(t *testing.T) {
	hpa := func(name, kind, target, metric string) string {
		return `{"apiVersion":"autoscaling/v2","kind":"HorizontalPodAutoscaler","metadata":{"name":"` + name + `","namespace":"shop"},
  "spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"` + kind + `","name":"` + target + `"},"maxReplicas":10,"metrics":[` + metric + `]}}`
	}
	resource := func(target string) string {
		return `{"type":"Resource","resource":{"name":"memory","target":` + target + `}}`
	}
	cpu := `{"type":"Resource","resource":{"name":"cpu","target":{"type":"Utilization","averageUtilization":60}}}`
	for _, tc := range []struct {
		name, objects string
		want          map[string]string // container: the warning ("" none)
	}{
		{"pod utilization", hpa("cart", "Deployment", "cart", resource(`{"type":"Utilization","averageUtilization":80}`)+","+cpu), map[string]string{
			"cart":  "HorizontalPodAutoscaler shop/cart scales Deployment/cart on memory at 80% of the pod's requests (its containers together): the new requests (300Mi a pod, from 192Mi) move the point it adds replicas at from 154Mi to 240Mi a pod, so at today's usage it runs fewer replicas, each under more load; to keep the point, set its averageUtilization to 51%",
			"envoy": "", // said once, on the pod's first container
		}},
		{"container utilization", hpa("cart", "Deployment", "cart", `{"type":"ContainerResource","containerResource":{"name":"memory","container":"envoy","target":{"type":"Utilization","averageUtilization":50}}}`), map[string]string{
			"cart":  "",
			"envoy": "HorizontalPodAutoscaler shop/cart scales Deployment/cart on memory at 50% of container envoy's request: the new requests (44Mi a container, from 64Mi) move the point it adds replicas at from 32Mi to 22Mi a container, so at today's usage it runs more replicas; to keep the point, set its averageUtilization to 73%",
		}},
		{"utilization above the limits", hpa("cart", "Deployment", "cart", resource(`{"type":"Utilization","averageUtilization":150}`)), map[string]string{
			"cart": "HorizontalPodAutoscaler shop/cart scales Deployment/cart on memory at 150% of the pod's requests (its containers together): that is 450Mi a pod, at or above the new limits (448Mi a pod), which usage never passes: the containers are killed first, and it never adds replicas for memory; give it an averageUtilization under 149%",
		}},
		{"average value above the limit", hpa("redis", "StatefulSet", "redis", `{"type":"ContainerResource","containerResource":{"name":"memory","container":"redis","target":{"type":"AverageValue","averageValue":"2Gi"}}}`), map[string]string{
			"redis": "HorizontalPodAutoscaler shop/redis scales StatefulSet/redis on memory at an average of 2Gi a container, at or above the new limits (1536Mi a container), which usage never passes: the containers are killed first, and it never adds replicas for memory; give it an averageValue under 1536Mi",
		}},
		{"average value under the limit", hpa("redis", "StatefulSet", "redis", resource(`{"type":"AverageValue","averageValue":"1Gi"}`)), map[string]string{"redis": ""}},
		{"cpu only", hpa("cart", "Deployment", "cart", cpu), map[string]string{"cart": "", "envoy": ""}},
		{"another workload", hpa("cart", "Deployment", "search", resource(`{"type":"Utilization","averageUtilization":80}`)), map[string]string{"cart": "", "envoy": ""}},
		// autoscaling/v1 has no memory metrics: read as nothing.
		{"autoscaling/v1", `{"apiVersion":"autoscaling/v1","kind":"HorizontalPodAutoscaler","metadata":{"name":"cart","namespace":"shop"},"spec":{"scaleTargetRef":{"kind":"Deployment","name":"cart"},"maxReplicas":3,"targetCPUUtilizationPercentage":50}}`, map[string]string{"cart": ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.CopyFS(dir, os.DirFS("../../examples/snapshot")); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "horizontalpodautoscalers.json"), []byte(`{"apiVersion":"v1","kind":"List","items":[`+tc.objects+`]}`), 0o644); err != nil {
				t.Fatal(err)
			}
			r := run("recommend", "--snapshot", dir, "-n", "shop", "--leak-check=false", "-o", "json")
			var doc model.Recommendations
			if r.code != 0 || json.Unmarshal([]byte(r.stdout), &doc) != nil {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			for c, want := range tc.want {
				var got []string
				found := false
				for _, x := range doc.Items {
					if x.Container == c {
						found = true
						for _, w := range x.Warnings {
							if strings.Contains(w, "HorizontalPodAutoscaler") {
								got = append(got, w)
							}
						}
					}
				}
				switch {
				case !found:
					t.Errorf("no recommendation for container %s", c)
				case want == "" && len(got) > 0:
					t.Errorf("%s: %q, want no HPA warning", c, got)
				case want != "" && (len(got) != 1 || got[0] != want):
					t.Errorf("%s: %q\nwant %q", c, got, want)
				}
			}
		})
	}
}

// From Prometheus alone, the HPAs' workloads are the recommendations' and
// the current requests kube-state-metrics': api's app goes from 256Mi to
// 512Mi and its proxy keeps 64Mi, so 80% of 320Mi (256Mi) becomes 80% of
// 576Mi (461Mi) and 80 x 320 / 576 = 44%; said on app, the first
// container. A container without a current request leaves nothing to
// take the share of.
func TestPromHPAWarnings(t *testing.T) {
	b := func(mi int64) *int64 { v := mi << 20; return &v }
	api := model.WorkloadRef{Namespace: "shop", Kind: "Deployment", Name: "api"}
	items := []model.Recommendation{
		{Workload: api, Container: "app", MemoryRequestBytes: b(512), MemoryLimitBytes: b(768), CurrentRequestBytes: b(256), CurrentLimitBytes: b(512)},
		{Workload: api, Container: "proxy", MemoryRequestBytes: b(64), MemoryLimitBytes: b(128), CurrentRequestBytes: b(64), CurrentLimitBytes: b(128)},
		{Workload: model.WorkloadRef{Namespace: "shop", Kind: "Deployment", Name: "bare"}, Container: "app", MemoryRequestBytes: b(128), MemoryLimitBytes: b(256)},
	}
	hpas := []workload.HPA{
		{Namespace: "shop", Name: "api", Target: api, Memory: []workload.HPAMemory{{Utilization: 80}}},
		{Namespace: "shop", Name: "bare", Target: items[2].Workload, Memory: []workload.HPAMemory{{Utilization: 70}}},
		{Namespace: "shop", Name: "other", Target: model.WorkloadRef{Namespace: "shop", Kind: "Deployment", Name: "other"}, Memory: []workload.HPAMemory{{Utilization: 50}}},
	}
	promHPAWarnings(hpas, items)
	want := [][]string{
		{"HorizontalPodAutoscaler shop/api scales Deployment/api on memory at 80% of the pod's requests (its containers together): the new requests (576Mi a pod, from 320Mi) move the point it adds replicas at from 256Mi to 461Mi a pod, so at today's usage it runs fewer replicas, each under more load; to keep the point, set its averageUtilization to 44%"},
		nil,
		{"HorizontalPodAutoscaler shop/bare scales Deployment/bare on memory at 70% of the pod's requests (its containers together), and has no request to take the share of now (it cannot compute the utilization): with the new requests (128Mi a pod) it adds replicas past 90Mi a pod"},
	}
	for i, r := range items {
		if strings.Join(r.Warnings, "|") != strings.Join(want[i], "|") {
			t.Errorf("%s/%s:\n got %q\nwant %q", r.Workload.Name, r.Container, r.Warnings, want[i])
		}
	}
}
