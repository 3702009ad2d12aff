package recommend

import (
	"math"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	resourcehelper "k8s.io/component-helpers/resource"

	"github.com/oomdoctor/oomdoctor/internal/model"
)

// Quota is what a ResourceQuota allows a namespace's pods in memory and
// what they use now, by resource (requests.memory, memory,
// limits.memory). The API server refuses a pod that would take a
// namespace past one of them, so recommendations that raise every pod's
// request can each fit a LimitRange and together stall the rollouts.
type Quota struct {
	Namespace, Name string
	Hard, Used      map[corev1.ResourceName]float64
	// Covers says whether the quota counts a pod (its scopes); nil counts
	// every pod.
	Covers func(*corev1.Pod) bool
}

// quotaResources are the resources of a quota that count memory:
// "memory" is the requests' (the API's older name).
var quotaResources = []corev1.ResourceName{corev1.ResourceRequestsMemory, corev1.ResourceMemory, corev1.ResourceLimitsMemory}

// QuotaOf reads a ResourceQuota's memory resources (none: ok is false)
// from its status, where the quota controller keeps hard and used.
func QuotaOf(q *corev1.ResourceQuota) (out Quota, ok bool) {
	out = Quota{Namespace: q.Namespace, Name: q.Name, Hard: map[corev1.ResourceName]float64{}, Used: map[corev1.ResourceName]float64{}}
	for _, r := range quotaResources {
		h, ok := q.Status.Hard[r]
		if !ok {
			// A quota the controller has not counted yet says its hard
			// values only in its spec; its use is unknown, taken as 0.
			if h, ok = q.Spec.Hard[r]; !ok {
				continue
			}
		}
		out.Hard[r] = float64(h.Value())
		u := q.Status.Used[r]
		out.Used[r] = float64(u.Value())
	}
	if len(out.Hard) == 0 {
		return out, false
	}
	sel := scopeSelectors(q)
	if len(sel) > 0 {
		out.Covers = func(p *corev1.Pod) bool {
			for _, s := range sel {
				if !podInScope(s, p) {
					return false
				}
			}
			return true
		}
	}
	return out, true
}

// scopeSelectors are a quota's scopes and scope selector together, as
// the quota admission reads them: a scope listed alone is "Exists".
func scopeSelectors(q *corev1.ResourceQuota) []corev1.ScopedResourceSelectorRequirement {
	var out []corev1.ScopedResourceSelectorRequirement
	for _, s := range q.Spec.Scopes {
		out = append(out, corev1.ScopedResourceSelectorRequirement{ScopeName: s, Operator: corev1.ScopeSelectorOpExists})
	}
	if q.Spec.ScopeSelector != nil {
		out = append(out, q.Spec.ScopeSelector.MatchExpressions...)
	}
	return out
}

// podInScope says whether a pod is within one scope of a quota (the
// quota admission's rules, Kubernetes pkg/quota/v1/evaluator/core).
func podInScope(s corev1.ScopedResourceSelectorRequirement, p *corev1.Pod) bool {
	switch s.ScopeName {
	case corev1.ResourceQuotaScopeTerminating:
		return terminating(p)
	case corev1.ResourceQuotaScopeNotTerminating:
		return !terminating(p)
	case corev1.ResourceQuotaScopeBestEffort:
		return bestEffort(p)
	case corev1.ResourceQuotaScopeNotBestEffort:
		return !bestEffort(p)
	case corev1.ResourceQuotaScopePriorityClass:
		if s.Operator == corev1.ScopeSelectorOpExists {
			return p.Spec.PriorityClassName != ""
		}
		return priorityClassIn(s, p.Spec.PriorityClassName)
	case corev1.ResourceQuotaScopeCrossNamespacePodAffinity:
		return CrossNamespaceAffinity(p)
	}
	return false // scopes of other objects (volume attributes classes)
}

func terminating(p *corev1.Pod) bool {
	return p.Spec.ActiveDeadlineSeconds != nil && *p.Spec.ActiveDeadlineSeconds >= 0
}

// bestEffort is the BestEffort QoS class: no CPU or memory request or
// limit on any container or on the pod.
func bestEffort(p *corev1.Pod) bool {
	set := func(rs corev1.ResourceRequirements) bool {
		for _, l := range []corev1.ResourceList{rs.Requests, rs.Limits} {
			for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				if q, ok := l[r]; ok && !q.IsZero() {
					return true
				}
			}
		}
		return false
	}
	if p.Spec.Resources != nil && set(*p.Spec.Resources) {
		return false
	}
	for _, cs := range [][]corev1.Container{p.Spec.InitContainers, p.Spec.Containers} {
		for i := range cs {
			if set(cs[i].Resources) {
				return false
			}
		}
	}
	return true
}

func priorityClassIn(s corev1.ScopedResourceSelectorRequirement, class string) bool {
	op := map[corev1.ScopeSelectorOperator]selection.Operator{
		corev1.ScopeSelectorOpIn:           selection.In,
		corev1.ScopeSelectorOpNotIn:        selection.NotIn,
		corev1.ScopeSelectorOpExists:       selection.Exists,
		corev1.ScopeSelectorOpDoesNotExist: selection.DoesNotExist,
	}[s.Operator]
	if op == "" {
		return false
	}
	r, err := labels.NewRequirement(string(s.ScopeName), op, s.Values)
	if err != nil {
		return false
	}
	set := labels.Set{}
	if class != "" {
		set[string(s.ScopeName)] = class
	}
	return labels.NewSelector().Add(*r).Matches(set)
}

// CrossNamespaceAffinity says whether a pod's affinity or anti-affinity
// names other namespaces (the CrossNamespacePodAffinity scope).
func CrossNamespaceAffinity(p *corev1.Pod) bool {
	a := p.Spec.Affinity
	if a == nil {
		return false
	}
	cross := func(t corev1.PodAffinityTerm) bool { return len(t.Namespaces) > 0 || t.NamespaceSelector != nil }
	var terms []corev1.PodAffinityTerm
	var weighted []corev1.WeightedPodAffinityTerm
	if a.PodAffinity != nil {
		terms = append(terms, a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution...)
		weighted = append(weighted, a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution...)
	}
	if a.PodAntiAffinity != nil {
		terms = append(terms, a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution...)
		weighted = append(weighted, a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution...)
	}
	for _, w := range weighted {
		terms = append(terms, w.PodAffinityTerm)
	}
	for _, t := range terms {
		if cross(t) {
			return true
		}
	}
	return false
}

// PodChange is one running pod's memory as the quota counts it (its
// effective request and limit: init containers, sidecars and overhead
// included where the spec is known) now, [0], and with the
// recommendations applied, [1].
type PodChange struct {
	Namespace, Pod string
	// Workload owns the pod, for its rollout's surge.
	Workload       model.WorkloadRef
	Request, Limit [2]float64
	// Now and New are the pod's spec now and with the recommendations,
	// for the quotas' scopes; nil where only the figures are known
	// (kube-state-metrics), for which quotas have no scopes.
	Now, New *corev1.Pod
}

// CheckQuotas applies the pods' changes to the quotas of their
// namespaces: one check per quota resource whose use changes. surges are
// the new pods each workload's rollout adds before old ones go (none
// where missing).
func CheckQuotas(qs []Quota, pods []PodChange, surges map[model.WorkloadRef]int) []model.QuotaCheck {
	var out []model.QuotaCheck
	for _, q := range qs {
		var req, lim float64
		var nReq, nLim int
		// The largest new pod of each changed workload the quota counts,
		// for its surge.
		newPod := map[model.WorkloadRef][2]float64{}
		for _, p := range pods {
			if p.Namespace != q.Namespace {
				continue
			}
			now, after := covered(q, p.Now), covered(q, p.New)
			dr, dl := counted(now, after, p.Request), counted(now, after, p.Limit)
			if dr != 0 {
				req, nReq = req+dr, nReq+1
			}
			if dl != 0 {
				lim, nLim = lim+dl, nLim+1
			}
			if after && (dr != 0 || dl != 0) {
				m := newPod[p.Workload]
				newPod[p.Workload] = [2]float64{max(m[0], p.Request[1]), max(m[1], p.Limit[1])}
			}
		}
		for _, r := range quotaResources {
			hard, ok := q.Hard[r]
			if !ok {
				continue
			}
			d, n, i := req, nReq, 0
			if r == corev1.ResourceLimitsMemory {
				d, n, i = lim, nLim, 1
			}
			if n == 0 {
				continue
			}
			used := q.Used[r]
			c := model.QuotaCheck{Namespace: q.Namespace, Name: q.Name, Resource: string(r), HardBytes: int64(hard), UsedBytes: int64(used), ChangeBytes: int64(math.Round(d)), Pods: n, Fits: used+d <= hard}
			var surge float64
			for _, w := range sortedRefs(newPod) {
				if s := float64(surges[w]) * newPod[w][i]; s > surge {
					surge, c.SurgePods, c.SurgeWorkload = s, surges[w], &w
				}
			}
			c.SurgeBytes = int64(math.Round(surge))
			c.RolloutFits = used+max(d, 0)+surge <= hard
			out = append(out, c)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
	return out
}

// sortedRefs are the map's workloads in a stable order.
func sortedRefs[V any](m map[model.WorkloadRef]V) []model.WorkloadRef {
	out := make([]model.WorkloadRef, 0, len(m))
	for w := range m {
		out = append(out, w)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

func covered(q Quota, p *corev1.Pod) bool {
	return q.Covers == nil || p != nil && q.Covers(p)
}

// counted is what a pod's change adds to a quota that counts it now
// and/or after.
func counted(now, after bool, v [2]float64) float64 {
	var d float64
	if after {
		d += v[1]
	}
	if now {
		d -= v[0]
	}
	return d
}

// PodChangeOf is what new memory values for some of a pod's containers,
// init containers and sidecars included (set gives nil for a value left
// as it is), change in the pod's effective
// request and limit; ok is false when they change no container.
func PodChangeOf(p *corev1.Pod, set func(container string) (request, limit *int64)) (c PodChange, ok bool) {
	n := p.DeepCopy()
	var cts []*corev1.Container
	for _, cs := range [][]corev1.Container{n.Spec.InitContainers, n.Spec.Containers} {
		for i := range cs {
			cts = append(cts, &cs[i])
		}
	}
	for _, ct := range cts {
		req, lim := set(ct.Name)
		for _, v := range []struct {
			v    *int64
			list *corev1.ResourceList
		}{{req, &ct.Resources.Requests}, {lim, &ct.Resources.Limits}} {
			if v.v == nil {
				continue
			}
			if old, had := (*v.list)[corev1.ResourceMemory]; had && old.Value() == *v.v {
				continue
			}
			if *v.list == nil {
				*v.list = corev1.ResourceList{}
			}
			(*v.list)[corev1.ResourceMemory] = *resource.NewQuantity(*v.v, resource.BinarySI)
			ok = true
		}
	}
	if !ok {
		return PodChange{}, false
	}
	opts := resourcehelper.PodResourcesOptions{}
	mem := func(l corev1.ResourceList) float64 {
		q := l[corev1.ResourceMemory]
		return float64(q.Value())
	}
	return PodChange{
		Namespace: p.Namespace, Pod: p.Name, Now: p, New: n,
		Request: [2]float64{mem(resourcehelper.PodRequests(p, opts)), mem(resourcehelper.PodRequests(n, opts))},
		Limit:   [2]float64{mem(resourcehelper.PodLimits(p, opts)), mem(resourcehelper.PodLimits(n, opts))},
	}, true
}

// Charged says whether a quota counts a pod's compute resources: not once
// it has ended (Succeeded, Failed).
func Charged(p *corev1.Pod) bool {
	return p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed
}
