package cli

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/oomdoctor/oomdoctor/internal/manifest"
	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/recommend"
	"github.com/oomdoctor/oomdoctor/internal/usage/prom"
	"github.com/oomdoctor/oomdoctor/internal/words"
)

// The namespaces' ResourceQuotas: every recommendation may fit its
// LimitRange and still, once applied to all the pods of a namespace,
// take the namespace past its quota; the API server then refuses the new
// pods and the rollouts stall. recommend applies the recommendations to
// the pods that run now and says which quotas would not hold them.

// recsByKey indexes recommendations by specKey.
func recsByKey(items []model.Recommendation) map[string]*model.Recommendation {
	out := make(map[string]*model.Recommendation, len(items))
	for i := range items {
		r := &items[i]
		out[specKey(r.Workload, r.Container)] = r
	}
	return out
}

// quotaChecks applies the recommendations to the pods of the specs (a
// snapshot, or the cluster) in the namespaces with a quota.
func (s *specs) quotaChecks(items []model.Recommendation) []model.QuotaCheck {
	recs := recsByKey(items)
	var changes []recommend.PodChange
	for _, p := range s.charged {
		w := s.owners[p.Namespace+"/"+p.Name]
		self := model.WorkloadRef{Namespace: p.Namespace, Kind: "Pod", Name: p.Name}
		c, ok := recommend.PodChangeOf(p, func(name string) (*int64, *int64) {
			r := recs[specKey(w, name)]
			if r == nil {
				r = recs[specKey(self, name)] // --per-pod
			}
			if r == nil {
				return nil, nil
			}
			return r.MemoryRequestBytes, r.MemoryLimitBytes
		})
		if ok {
			c.Workload = w
			changes = append(changes, c)
		}
	}
	return recommend.CheckQuotas(s.quotas, changes, s.surges)
}

// promQuotas checks the recommendations against kube-state-metrics'
// kube_resourcequota, with the containers' current requests and limits
// from the history read (add) and the pods that run now.
type promQuotas struct {
	quotas     []recommend.Quota
	namespaces map[string]bool
	// pods are the containers of the namespaces with a quota, by
	// namespace/pod.
	pods map[string][]promContainer
}

type promContainer struct {
	workload     model.WorkloadRef
	name         string
	request, lim float64
}

// newPromQuotas reads the quotas of the namespace ("": all); a failure
// is a note.
func newPromQuotas(ctx context.Context, c *prom.Client, ns string, at time.Time) (*promQuotas, []string) {
	p := &promQuotas{namespaces: map[string]bool{}, pods: map[string][]promContainer{}}
	rqs, err := c.ResourceQuotas(ctx, ns, at)
	if err != nil {
		return p, []string{fmt.Sprintf("kube_resourcequota: %v; recommendations are not checked against the namespaces' ResourceQuotas", err)}
	}
	p.quotas = quotasOf(rqs)
	for _, q := range p.quotas {
		p.namespaces[q.Namespace] = true
	}
	return p, nil
}

// quotasOf converts kube-state-metrics' quotas, which have no scopes.
func quotasOf(rqs []prom.ResourceQuota) []recommend.Quota {
	var out []recommend.Quota
	for _, rq := range rqs {
		q := recommend.Quota{Namespace: rq.Namespace, Name: rq.Name, Hard: map[corev1.ResourceName]float64{}, Used: map[corev1.ResourceName]float64{}}
		for r, v := range rq.Hard {
			q.Hard[corev1.ResourceName(r)] = v
			q.Used[corev1.ResourceName(r)] = rq.Used[r]
		}
		if len(q.Hard) > 0 {
			out = append(out, q)
		}
	}
	return out
}

// add keeps the containers of the namespaces with a quota.
func (p *promQuotas) add(cs []*prom.Container, perPod bool) {
	for _, c := range cs {
		if !p.namespaces[c.Namespace] {
			continue
		}
		w := c.Workload
		if perPod {
			w = model.WorkloadRef{Namespace: c.Namespace, Kind: "Pod", Name: c.Pod}
		}
		x := promContainer{workload: w, name: c.Name}
		if n := len(c.Request); n > 0 {
			x.request = c.Request[n-1].V
		}
		if n := len(c.Limit); n > 0 {
			x.lim = c.Limit[n-1].V
		}
		k := c.Namespace + "/" + c.Pod
		p.pods[k] = append(p.pods[k], x)
	}
}

// checks applies the recommendations to the pods that run now: each
// pod's request and limit are its containers' sums (kube-state-metrics'
// figures have no init containers or overhead, which a change of the
// containers does not change unless an init container needs more).
func (p *promQuotas) checks(ctx context.Context, c *prom.Client, items []model.Recommendation, at time.Time) ([]model.QuotaCheck, []string, error) {
	if len(p.quotas) == 0 {
		return nil, nil, nil
	}
	namespaces := slices.Sorted(maps.Keys(p.namespaces))
	charged, err := c.ChargedPods(ctx, namespaces, at)
	if err != nil {
		return nil, nil, err
	}
	// The rollouts' surge: Deployments' only (kube-state-metrics has no
	// DaemonSet's).
	var notes []string
	surges := map[model.WorkloadRef]int{}
	ds, err := c.DeploymentSurges(ctx, namespaces, at)
	if err != nil {
		notes = append(notes, fmt.Sprintf("kube_deployment_spec_strategy_rollingupdate_max_surge: %v; the ResourceQuotas are checked without the rollouts' surge", err))
	}
	for k, n := range ds {
		surges[model.WorkloadRef{Namespace: k[0], Kind: "Deployment", Name: k[1]}] = n
	}
	recs := recsByKey(items)
	var changes []recommend.PodChange
	for _, k := range slices.Sorted(maps.Keys(p.pods)) {
		if !charged[k] {
			continue
		}
		ch := recommend.PodChange{}
		for _, x := range p.pods[k] {
			ch.Namespace, ch.Workload = x.workload.Namespace, x.workload
			req, lim := x.request, x.lim
			if r := recs[specKey(x.workload, x.name)]; r != nil {
				if r.MemoryRequestBytes != nil {
					req = float64(*r.MemoryRequestBytes)
				}
				if r.MemoryLimitBytes != nil {
					lim = float64(*r.MemoryLimitBytes)
				}
			}
			ch.Request[0], ch.Request[1] = ch.Request[0]+x.request, ch.Request[1]+req
			ch.Limit[0], ch.Limit[1] = ch.Limit[0]+x.lim, ch.Limit[1]+lim
		}
		if ch.Request[0] != ch.Request[1] || ch.Limit[0] != ch.Limit[1] {
			changes = append(changes, ch)
		}
	}
	return recommend.CheckQuotas(p.quotas, changes, surges), notes, nil
}

// quotaWarning says what a quota that cannot hold the recommendations,
// or the largest rollout of them, means and what to do ("" when it holds
// both).
func quotaWarning(q model.QuotaCheck) string {
	switch {
	case !q.Fits:
		return fmt.Sprintf("ResourceQuota %s/%s allows %s up to %s; these recommendations, applied to the %s they change, take it to %s (%s used now, %s): the API server refuses the new pods as their workloads roll them out, and the rollouts stall; raise the quota, or apply fewer of these (fix --apply checks each workload first)",
			q.Namespace, q.Name, q.Resource, manifest.FormatBytes(q.HardBytes), words.Count(q.Pods, "pod"), manifest.FormatBytes(q.UsedBytes+q.ChangeBytes), manifest.FormatBytes(q.UsedBytes), signedBytes(q.ChangeBytes))
	case !q.RolloutFits && q.SurgeWorkload != nil:
		return fmt.Sprintf("ResourceQuota %s/%s allows %s up to %s; these recommendations take it to %s (%s used now, %s), and the rolling update of %s %s adds %s (%s) before old ones go: that rollout stalls until the quota has room; raise the quota, or set maxSurge: 0 on it (fix --apply checks each workload first)",
			q.Namespace, q.Name, q.Resource, manifest.FormatBytes(q.HardBytes), manifest.FormatBytes(q.UsedBytes+q.ChangeBytes), manifest.FormatBytes(q.UsedBytes), signedBytes(q.ChangeBytes), q.SurgeWorkload.Kind, q.SurgeWorkload.Name, words.Count(q.SurgePods, "new pod"), manifest.FormatBytes(q.SurgeBytes))
	}
	return ""
}

func signedBytes(v int64) string {
	if v < 0 {
		return "-" + manifest.FormatBytes(-v)
	}
	return "+" + manifest.FormatBytes(v)
}

// printQuotaWarnings warns of the quotas of the namespaces asked about
// that cannot hold the recommendations.
func printQuotaWarnings(w io.Writer, qs []model.QuotaCheck, about func(namespace string) bool) {
	for _, q := range qs {
		if msg := quotaWarning(q); msg != "" && about(q.Namespace) {
			fmt.Fprintln(w, "warning:", msg)
		}
	}
}
