package workload

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func vpa(spec map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "autoscaling.k8s.io/v1", "kind": "VerticalPodAutoscaler", "spec": spec}}
	u.SetNamespace("shop")
	u.SetName("api")
	return u
}

// Which containers' memory a VPA sets, and which values: any mode but Off
// (Initial too: new pods), a container's own policy over "*", memory in
// controlledResources, RequestsOnly.
func TestVPASets(t *testing.T) {
	target := map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"}
	policies := []any{
		map[string]any{"containerName": "*", "controlledResources": []any{"cpu", "memory"}},
		map[string]any{"containerName": "istio-proxy", "mode": "Off"},
		map[string]any{"containerName": "worker", "controlledResources": []any{"cpu"}},
		map[string]any{"containerName": "cache", "controlledValues": "RequestsOnly"},
	}
	for _, tc := range []struct {
		mode, container string
		sets            bool
		what            string
	}{
		{"", "api", true, "requests and limits"},
		{"Initial", "api", true, "requests and limits"},
		{"InPlaceOrRecreate", "cache", true, "requests"},
		{"Auto", "istio-proxy", false, ""},
		{"Auto", "worker", false, ""},
		{"Off", "api", false, ""},
	} {
		spec := map[string]any{"targetRef": target, "resourcePolicy": map[string]any{"containerPolicies": policies}}
		if tc.mode != "" {
			spec["updatePolicy"] = map[string]any{"updateMode": tc.mode}
		}
		v, err := VPAOf(vpa(spec))
		if err != nil {
			t.Fatal(err)
		}
		if v.Target.String() != "Deployment/api" || v.Target.Namespace != "shop" {
			t.Errorf("target %+v", v.Target)
		}
		if sets, what := v.Sets(tc.container); sets != tc.sets || what != tc.what {
			t.Errorf("mode %q, container %s: sets %v %q, want %v %q", tc.mode, tc.container, sets, what, tc.sets, tc.what)
		}
	}
	if _, err := VPAOf(vpa(map[string]any{})); err == nil {
		t.Error("a VPA without a targetRef must be an error")
	}
}
