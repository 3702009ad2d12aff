package recommend

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/oomdoctor/oomdoctor/internal/model"
)

func mem(req, lim string) corev1.ResourceRequirements {
	r := corev1.ResourceRequirements{}
	if req != "" {
		r.Requests = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(req)}
	}
	if lim != "" {
		r.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(lim)}
	}
	return r
}

func quotaObj(name string, hard, used corev1.ResourceList) *corev1.ResourceQuota {
	return &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name}, Spec: corev1.ResourceQuotaSpec{Hard: hard}, Status: corev1.ResourceQuotaStatus{Hard: hard, Used: used}}
}

func list(kv ...string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for i := 0; i < len(kv); i += 2 {
		out[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return out
}

func i64(v int64) *int64 { return &v }

// A pod's effective request and limit, as the quota counts them, before
// and after: 2 x 100Mi more for the app (200Mi -> 300Mi request),
// the native sidecar's 50Mi -> 80Mi added to it, the plain init
// container's 500Mi only where it is the larger, and the overhead on top.
func TestPodChangeOf(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "cart-1"}, Spec: corev1.PodSpec{
		InitContainers: []corev1.Container{
			{Name: "migrate", Resources: mem("500Mi", "500Mi")},
			{Name: "proxy", RestartPolicy: &always, Resources: mem("50Mi", "100Mi")},
		},
		Containers: []corev1.Container{
			{Name: "app", Resources: mem("200Mi", "400Mi")},
			{Name: "other", Resources: mem("", "")},
		},
		Overhead: list("memory", "10Mi"),
	}}
	set := map[string][2]*int64{"app": {i64(300 * mi), i64(600 * mi)}, "proxy": {i64(80 * mi), nil}}
	c, ok := PodChangeOf(p, func(name string) (*int64, *int64) { return set[name][0], set[name][1] })
	if !ok {
		t.Fatal("PodChangeOf: nothing changed")
	}
	// Requests: the larger of the plain init container (500Mi; no
	// sidecar starts before it) and the app with the sidecar (200+50,
	// after 300+80), plus the overhead: 510Mi before and after, the init
	// container still the larger. Limits: max(500, 400+100) + 10 = 510Mi
	// before, max(500, 600+100) + 10 = 710Mi after.
	want := PodChange{Namespace: "shop", Pod: "cart-1", Request: [2]float64{510 * mi, 510 * mi}, Limit: [2]float64{510 * mi, 710 * mi}}
	if c.Namespace != want.Namespace || c.Pod != want.Pod || c.Request != want.Request || c.Limit != want.Limit {
		t.Errorf("PodChangeOf = %v/%v request %v limit %v, want %v/%v request %v limit %v", c.Namespace, c.Pod, c.Request, c.Limit, want.Namespace, want.Pod, want.Request, want.Limit)
	}
	if got := p.Spec.Containers[0].Resources.Requests[corev1.ResourceMemory]; got.Value() != 200*mi {
		t.Errorf("the pod read was changed: app's request %s", got.String())
	}
	// Without the init container the app's rise shows.
	p.Spec.InitContainers = p.Spec.InitContainers[1:]
	c, _ = PodChangeOf(p, func(name string) (*int64, *int64) { return set[name][0], set[name][1] })
	if c.Request != [2]float64{260 * mi, 390 * mi} {
		t.Errorf("without the init container: request %v, want [260Mi 390Mi]", c.Request)
	}
	// Values equal to the current ones change nothing.
	if _, ok := PodChangeOf(p, func(name string) (*int64, *int64) {
		if name == "app" {
			return i64(200 * mi), i64(400 * mi)
		}
		return nil, nil
	}); ok {
		t.Error("PodChangeOf reports a change for the current values")
	}
}

func TestQuotaOf(t *testing.T) {
	q, ok := QuotaOf(quotaObj("mem", list("memory", "4Gi", "limits.memory", "8Gi", "cpu", "4"), list("memory", "3Gi", "limits.memory", "5Gi", "cpu", "2")))
	if !ok || q.Covers != nil {
		t.Fatalf("QuotaOf: ok %v, scoped %v", ok, q.Covers != nil)
	}
	if want := map[corev1.ResourceName]float64{"memory": 4 << 30, "limits.memory": 8 << 30}; !reflect.DeepEqual(q.Hard, want) {
		t.Errorf("hard %v, want %v", q.Hard, want)
	}
	if want := map[corev1.ResourceName]float64{"memory": 3 << 30, "limits.memory": 5 << 30}; !reflect.DeepEqual(q.Used, want) {
		t.Errorf("used %v, want %v", q.Used, want)
	}
	if _, ok := QuotaOf(quotaObj("pods", list("pods", "10", "cpu", "4"), nil)); ok {
		t.Error("a quota without memory is read as one")
	}
	fresh := quotaObj("new", list("requests.memory", "1Gi"), nil)
	fresh.Status = corev1.ResourceQuotaStatus{}
	if q, ok := QuotaOf(fresh); !ok || q.Hard["requests.memory"] != 1<<30 || q.Used["requests.memory"] != 0 {
		t.Errorf("a quota not yet counted: %+v, %v", q, ok)
	}
}

// Scopes, by the quota admission's rules.
func TestQuotaScopes(t *testing.T) {
	deadline := int64(60)
	job := &corev1.Pod{Spec: corev1.PodSpec{ActiveDeadlineSeconds: &deadline, PriorityClassName: "batch", Containers: []corev1.Container{{Name: "a", Resources: mem("1Gi", "")}}}}
	svc := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "a"}}}}
	cross := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "a"}}, Affinity: &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
		PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{Weight: 1, PodAffinityTerm: corev1.PodAffinityTerm{TopologyKey: "x", Namespaces: []string{"other"}}}}}}}}
	cases := []struct {
		name          string
		scopes        []corev1.ResourceQuotaScope
		sel           []corev1.ScopedResourceSelectorRequirement
		job, svc, crs bool
	}{
		{name: "Terminating", scopes: []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeTerminating}, job: true},
		{name: "NotTerminating", scopes: []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeNotTerminating}, svc: true, crs: true},
		{name: "BestEffort", scopes: []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeBestEffort}, svc: true, crs: true},
		{name: "NotBestEffort", scopes: []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeNotBestEffort}, job: true},
		{name: "PriorityClass listed", scopes: []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopePriorityClass}, job: true},
		{name: "PriorityClass In", sel: []corev1.ScopedResourceSelectorRequirement{{ScopeName: corev1.ResourceQuotaScopePriorityClass, Operator: corev1.ScopeSelectorOpIn, Values: []string{"batch", "high"}}}, job: true},
		{name: "PriorityClass NotIn", sel: []corev1.ScopedResourceSelectorRequirement{{ScopeName: corev1.ResourceQuotaScopePriorityClass, Operator: corev1.ScopeSelectorOpNotIn, Values: []string{"batch"}}}, svc: true, crs: true},
		{name: "PriorityClass DoesNotExist", sel: []corev1.ScopedResourceSelectorRequirement{{ScopeName: corev1.ResourceQuotaScopePriorityClass, Operator: corev1.ScopeSelectorOpDoesNotExist}}, svc: true, crs: true},
		{name: "CrossNamespacePodAffinity", scopes: []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeCrossNamespacePodAffinity}, crs: true},
		{name: "Terminating and PriorityClass In high", scopes: []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeTerminating}, sel: []corev1.ScopedResourceSelectorRequirement{{ScopeName: corev1.ResourceQuotaScopePriorityClass, Operator: corev1.ScopeSelectorOpIn, Values: []string{"high"}}}},
	}
	for _, c := range cases {
		o := quotaObj("q", list("requests.memory", "1Gi"), nil)
		o.Spec.Scopes = c.scopes
		if c.sel != nil {
			o.Spec.ScopeSelector = &corev1.ScopeSelector{MatchExpressions: c.sel}
		}
		q, _ := QuotaOf(o)
		if q.Covers == nil {
			t.Errorf("%s: no scopes read", c.name)
			continue
		}
		if got := [3]bool{q.Covers(job), q.Covers(svc), q.Covers(cross)}; got != [3]bool{c.job, c.svc, c.crs} {
			t.Errorf("%s: covers job, service, cross-namespace = %v, want %v", c.name, got, [3]bool{c.job, c.svc, c.crs})
		}
	}
}

// Two pods of shop rise by 100Mi of request each and one falls by 20Mi:
// +180Mi over 3 pods; the pod of another namespace does not count.
// 3,916Mi used + 180Mi is exactly the 4Gi hard value: it fits, and a
// byte more does not.
func TestCheckQuotas(t *testing.T) {
	q, _ := QuotaOf(quotaObj("mem", list("requests.memory", "4Gi", "limits.memory", "8Gi"), list("requests.memory", "3916Mi", "limits.memory", "5Gi")))
	pods := []PodChange{
		{Namespace: "shop", Pod: "a", Request: [2]float64{100 * mi, 200 * mi}, Limit: [2]float64{200 * mi, 300 * mi}},
		{Namespace: "shop", Pod: "b", Request: [2]float64{100 * mi, 200 * mi}, Limit: [2]float64{200 * mi, 200 * mi}},
		{Namespace: "shop", Pod: "c", Request: [2]float64{100 * mi, 80 * mi}, Limit: [2]float64{200 * mi, 200 * mi}},
		{Namespace: "other", Pod: "d", Request: [2]float64{100 * mi, 900 * mi}},
	}
	got := CheckQuotas([]Quota{q}, pods, nil)
	want := []model.QuotaCheck{
		{Namespace: "shop", Name: "mem", Resource: "requests.memory", HardBytes: 4096 * mi, UsedBytes: 3916 * mi, ChangeBytes: 180 * mi, Pods: 3, Fits: true, RolloutFits: true},
		{Namespace: "shop", Name: "mem", Resource: "limits.memory", HardBytes: 8192 * mi, UsedBytes: 5120 * mi, ChangeBytes: 100 * mi, Pods: 1, Fits: true, RolloutFits: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("CheckQuotas =\n%+v\nwant\n%+v", got, want)
	}
	q.Used["requests.memory"]++ // one byte more: over
	if got := CheckQuotas([]Quota{q}, pods, nil); got[0].Fits || !got[1].Fits {
		t.Errorf("one byte over the hard value: %+v", got)
	}
	// A change that moves nothing is no check.
	if got := CheckQuotas([]Quota{q}, []PodChange{{Namespace: "shop", Request: [2]float64{mi, mi}, Limit: [2]float64{mi, mi}}}, nil); got != nil {
		t.Errorf("no change: %+v", got)
	}
}

// A BestEffort pod given a request leaves a BestEffort quota and enters
// a NotBestEffort one with all of it.
func TestCheckQuotasScopeMoves(t *testing.T) {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "a"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}}}
	c, ok := PodChangeOf(p, func(string) (*int64, *int64) { return i64(256 * mi), i64(512 * mi) })
	if !ok {
		t.Fatal("no change")
	}
	not := quotaObj("not-best-effort", list("requests.memory", "1Gi", "limits.memory", "1Gi"), list("requests.memory", "900Mi", "limits.memory", "0"))
	not.Spec.Scopes = []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeNotBestEffort}
	q, _ := QuotaOf(not)
	got := CheckQuotas([]Quota{q}, []PodChange{c}, nil)
	if len(got) != 2 || got[0].ChangeBytes != 256*mi || got[0].Fits || got[1].ChangeBytes != 512*mi || !got[1].Fits {
		t.Errorf("CheckQuotas = %+v, want +256Mi of requests (over 1Gi) and +512Mi of limits (within)", got)
	}
}

func TestCharged(t *testing.T) {
	for phase, want := range map[corev1.PodPhase]bool{corev1.PodRunning: true, corev1.PodPending: true, "": true, corev1.PodSucceeded: false, corev1.PodFailed: false} {
		if got := Charged(&corev1.Pod{Status: corev1.PodStatus{Phase: phase}}); got != want {
			t.Errorf("Charged(%q) = %v, want %v", phase, got, want)
		}
	}
}

// A rolling update adds its surge pods, with the new values, beside the
// old ones: 2 of api's at 200Mi (the larger of its pods' new requests)
// need 400Mi more than the end state; worker's 1 pod of 100Mi, less. The
// quota holds the end state (3,916Mi + 180Mi of 4Gi) but not api's
// rollout.
func TestCheckQuotasSurge(t *testing.T) {
	q, _ := QuotaOf(quotaObj("mem", list("requests.memory", "4Gi"), list("requests.memory", "3916Mi")))
	api := model.WorkloadRef{Namespace: "shop", Kind: "Deployment", Name: "api"}
	worker := model.WorkloadRef{Namespace: "shop", Kind: "Deployment", Name: "worker"}
	pods := []PodChange{
		{Namespace: "shop", Pod: "a", Workload: api, Request: [2]float64{100 * mi, 200 * mi}},
		{Namespace: "shop", Pod: "b", Workload: api, Request: [2]float64{100 * mi, 180 * mi}},
		{Namespace: "shop", Pod: "c", Workload: worker, Request: [2]float64{100 * mi, 80 * mi}}, // falls by 20Mi
	}
	got := CheckQuotas([]Quota{q}, pods, map[model.WorkloadRef]int{api: 2, worker: 1})
	if len(got) != 1 {
		t.Fatalf("CheckQuotas = %+v", got)
	}
	c := got[0]
	if c.ChangeBytes != 160*mi || !c.Fits || c.SurgeBytes != 400*mi || c.SurgePods != 2 || c.SurgeWorkload == nil || *c.SurgeWorkload != api || c.RolloutFits {
		t.Errorf("check %+v (surge of %v), want +160Mi that fits, a surge of api's 2 pods of 200Mi that does not", c, c.SurgeWorkload)
	}
	// With room for it: 3,500Mi used.
	q.Used["requests.memory"] = 3500 * mi
	if c := CheckQuotas([]Quota{q}, pods, map[model.WorkloadRef]int{api: 2, worker: 1})[0]; !c.RolloutFits {
		t.Errorf("3500Mi + 160Mi + 400Mi within 4Gi: %+v", c)
	}
}
