package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/oomdoctor/oomdoctor/internal/model"
)

// A VerticalPodAutoscaler in a snapshot that sets cart's memory: cart's
// recommendation says to give the values to the VPA, envoy's (which the
// VPA leaves alone) does not; one in mode Off says nothing.
func TestRecommendSaysWhenAVPASizes(t *testing.T) {
	for _, tc := range []struct {
		mode string
		warn bool
	}{{"Auto", true}, {"Off", false}} {
		dir := exampleWith(t, "verticalpodautoscalers.json", `{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "autoscaling.k8s.io/v1", "kind": "VerticalPodAutoscaler", "metadata": {"name": "cart", "namespace": "shop"},
  "spec": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "cart"}, "updatePolicy": {"updateMode": "`+tc.mode+`"},
    "resourcePolicy": {"containerPolicies": [{"containerName": "envoy", "mode": "Off"}]}}}]}`)
		r := run("recommend", "--snapshot", dir, "-o", "json")
		if r.code != 0 {
			t.Fatalf("%s", r.stderr)
		}
		var doc model.Recommendations
		if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
			t.Fatal(err)
		}
		const want = "VerticalPodAutoscaler shop/cart (updateMode Auto) sets this container's memory requests and limits in every new pod: values written into the Deployment would not take"
		for _, it := range doc.Items {
			warned := strings.Contains(strings.Join(it.Warnings, "\n"), "VerticalPodAutoscaler")
			switch {
			case it.Workload.Name == "cart" && it.Container == "cart" && tc.warn:
				if !strings.Contains(strings.Join(it.Warnings, "\n"), want) {
					t.Errorf("cart's warnings %q lack %q", it.Warnings, want)
				}
			case warned:
				t.Errorf("mode %s: %s/%s warns of a VPA: %q", tc.mode, it.Workload, it.Container, it.Warnings)
			}
		}
	}
}

// scan's diagnosis names the VPA in the fix of a sizing cause: the
// log-shipper needs more than its limit, which a VPA sets.
func TestScanSaysWhenAVPASizes(t *testing.T) {
	dir := exampleWith(t, "vpa.json", `{"apiVersion": "autoscaling.k8s.io/v1", "kind": "VerticalPodAutoscaler", "metadata": {"name": "search", "namespace": "shop"},
  "spec": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "search"}}}`)
	r := run("scan", "--snapshot", dir, "-o", "json")
	var rep model.ScanReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v: %s", err, r.stderr)
	}
	found := false
	for _, g := range rep.Workloads {
		for _, f := range g.Findings {
			for _, c := range f.Causes {
				names := strings.Contains(c.Fix.Text, "VerticalPodAutoscaler shop/search (updateMode Auto) sets its memory requests and limits in every new pod")
				if f.Container == "log-shipper" && c.ID == model.CauseLimitTooLow {
					found = names
				} else if names {
					t.Errorf("%s/%s %s names the VPA", f.Pod, f.Container, c.ID)
				}
			}
		}
	}
	if !found {
		t.Errorf("log-shipper's limit-too-low does not name the VPA:\n%s", r.stdout)
	}
}
