package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/oomdoctor/oomdoctor/internal/model"
)

// The example's shop pods request 3,872Mi of memory and limit 5Gi. Its
// recommendations raise cart's request 128Mi -> 256Mi on 2 pods
// (+256Mi), lower envoy's 64Mi -> 44Mi on the same 2 (-40Mi) and raise
// the log-shipper sidecar's 32Mi -> 64Mi on search's pod (+32Mi):
// +248Mi of requests over 3 pods. Limits: cart +2 x 128Mi, envoy
// -2 x 64Mi, log-shipper +32Mi, redis 1Gi -> 1536Mi on 2 pods: +1,184Mi
// over 5 pods. A quota of 4Gi of requests and 6Gi of limits holds
// neither; a Terminating one counts none of those pods (no deadline). The
// largest rolling update is search's (1 replica, maxSurge 25% by
// default: 1 new pod of 1Gi + the sidecar's 64Mi, limits 2Gi + 96Mi);
// a quota of 4620Mi holds the 4120Mi of requests, not the 1088Mi of that
// pod beside them; one of 8Gi holds both.
func TestRecommendChecksResourceQuotas(t *testing.T) {
	dir := exampleWith(t, "resourcequotas.json", `{"apiVersion": "v1", "kind": "List", "items": [
 {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "compute", "namespace": "shop"},
  "spec": {"hard": {"requests.memory": "4Gi", "limits.memory": "6Gi"}},
  "status": {"hard": {"requests.memory": "4Gi", "limits.memory": "6Gi"}, "used": {"requests.memory": "3872Mi", "limits.memory": "5Gi"}}},
 {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "roomy", "namespace": "shop"},
  "spec": {"hard": {"requests.memory": "4620Mi"}}, "status": {"hard": {"requests.memory": "4620Mi"}, "used": {"requests.memory": "3872Mi"}}},
 {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "ample", "namespace": "shop"},
  "spec": {"hard": {"requests.memory": "8Gi"}}, "status": {"hard": {"requests.memory": "8Gi"}, "used": {"requests.memory": "3872Mi"}}},
 {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "jobs", "namespace": "shop"},
  "spec": {"hard": {"requests.memory": "1Gi"}, "scopes": ["Terminating"]},
  "status": {"hard": {"requests.memory": "1Gi"}, "used": {"requests.memory": "1Gi"}}}]}`)
	r := run("recommend", "--snapshot", dir, "-o", "json")
	if r.code != 0 {
		t.Fatalf("recommend: exit %d: %s", r.code, r.stderr)
	}
	var doc model.Recommendations
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	const mi = 1 << 20
	search := &model.WorkloadRef{Namespace: "shop", Kind: "Deployment", Name: "search"}
	want := []model.QuotaCheck{
		{Namespace: "shop", Name: "ample", Resource: "requests.memory", HardBytes: 8192 * mi, UsedBytes: 3872 * mi, ChangeBytes: 248 * mi, Pods: 3, Fits: true, SurgeBytes: 1088 * mi, SurgePods: 1, SurgeWorkload: search, RolloutFits: true},
		{Namespace: "shop", Name: "compute", Resource: "requests.memory", HardBytes: 4096 * mi, UsedBytes: 3872 * mi, ChangeBytes: 248 * mi, Pods: 3, SurgeBytes: 1088 * mi, SurgePods: 1, SurgeWorkload: search},
		{Namespace: "shop", Name: "compute", Resource: "limits.memory", HardBytes: 6144 * mi, UsedBytes: 5120 * mi, ChangeBytes: 1184 * mi, Pods: 5, SurgeBytes: 2144 * mi, SurgePods: 1, SurgeWorkload: search},
		{Namespace: "shop", Name: "roomy", Resource: "requests.memory", HardBytes: 4620 * mi, UsedBytes: 3872 * mi, ChangeBytes: 248 * mi, Pods: 3, Fits: true, SurgeBytes: 1088 * mi, SurgePods: 1, SurgeWorkload: search},
	}
	if !reflect.DeepEqual(doc.Quotas, want) {
		t.Errorf("quotas:\n%+v\nwant\n%+v", doc.Quotas, want)
	}
	for _, w := range []string{
		"warning: ResourceQuota shop/compute allows requests.memory up to 4Gi; these recommendations, applied to the 3 pods they change, take it to 4120Mi (3872Mi used now, +248Mi)",
		"warning: ResourceQuota shop/compute allows limits.memory up to 6Gi; these recommendations, applied to the 5 pods they change, take it to 6304Mi (5Gi used now, +1184Mi)",
		"warning: ResourceQuota shop/roomy allows requests.memory up to 4620Mi; these recommendations take it to 4120Mi (3872Mi used now, +248Mi), and the rolling update of Deployment search adds 1 new pod (1088Mi) before old ones go",
	} {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "shop/jobs") || strings.Contains(r.stderr, "shop/ample") {
		t.Errorf("the Terminating quota counts no pod of these, yet:\n%s", r.stderr)
	}
	// Without the quotas: nothing said.
	r = run("recommend", "--snapshot", "../../examples/snapshot", "-o", "json")
	if strings.Contains(r.stderr, "ResourceQuota") || strings.Contains(r.stdout, `"quotas"`) {
		t.Errorf("no quotas in the snapshot, yet:\n%s\n%s", r.stderr, r.stdout)
	}

	// fix says it again when it applies a recommendation of the namespace,
	// not when it applies only others.
	recs := filepath.Join(t.TempDir(), "recs.json")
	r = run("recommend", "--snapshot", dir, "-o", "json")
	if err := os.WriteFile(recs, []byte(r.stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		ns, name, container string
		warned              bool
	}{{"shop", "cart", "cart", true}, {"payments", "ledger", "ledger", false}} {
		m := filepath.Join(t.TempDir(), "m.yaml")
		doc := `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ` + c.name + `
  namespace: ` + c.ns + `
spec:
  template:
    spec:
      containers:
      - name: ` + c.container + `
        image: x
        resources:
          limits:
            memory: 1Mi
`
		if err := os.WriteFile(m, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		r := run("fix", "-f", m, "--recommendations", recs)
		if r.code != 0 {
			t.Fatalf("fix %s: exit %d: %s", c.name, r.code, r.stderr)
		}
		if got := strings.Contains(r.stderr, "warning: ResourceQuota shop/compute allows"); got != c.warned {
			t.Errorf("fix of %s/%s: quota warning %v, want %v:\n%s", c.ns, c.name, got, c.warned, r.stderr)
		}
	}
}
