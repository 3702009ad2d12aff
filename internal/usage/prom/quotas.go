package prom

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	pmodel "github.com/prometheus/common/model"
)

// ResourceQuota is a ResourceQuota's memory resources (requests.memory,
// memory, limits.memory) from kube-state-metrics' kube_resourcequota: what
// it allows and what the namespace's pods use. kube-state-metrics does not
// export a quota's scopes.
type ResourceQuota struct {
	Namespace, Name string
	Hard, Used      map[string]float64
}

// ResourceQuotas reads the ResourceQuotas on memory now (in the namespace,
// "" for all); none when kube-state-metrics does not export them.
func (c *Client) ResourceQuotas(ctx context.Context, namespace string, at time.Time) ([]ResourceQuota, error) {
	q := fmt.Sprintf(`max by (%s, resourcequota, resource, type) (kube_resourcequota{resource=~"requests.memory|memory|limits.memory",type=~"hard|used"%s})`, c.cfg.Labels.Namespace, c.nsSelector(namespace))
	v, err := c.instant(ctx, q, at)
	if err != nil {
		return nil, err
	}
	byName := map[[2]string]*ResourceQuota{}
	for _, s := range v {
		k := [2]string{string(s.Metric[pmodel.LabelName(c.cfg.Labels.Namespace)]), string(s.Metric["resourcequota"])}
		rq := byName[k]
		if rq == nil {
			rq = &ResourceQuota{Namespace: k[0], Name: k[1], Hard: map[string]float64{}, Used: map[string]float64{}}
			byName[k] = rq
		}
		m := rq.Used
		if s.Metric["type"] == "hard" {
			m = rq.Hard
		}
		m[string(s.Metric["resource"])] = float64(s.Value)
	}
	out := make([]ResourceQuota, 0, len(byName))
	for _, rq := range byName {
		out = append(out, *rq)
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Namespace+"/"+out[i].Name < out[j].Namespace+"/"+out[j].Name
	})
	return out, nil
}

// ChargedPods are the pods of the namespaces that a quota counts now: in
// a phase that has not ended (kube-state-metrics' kube_pod_status_phase),
// as namespace/pod.
func (c *Client) ChargedPods(ctx context.Context, namespaces []string, at time.Time) (map[string]bool, error) {
	out := map[string]bool{}
	if len(namespaces) == 0 {
		return out, nil
	}
	ns, pod := c.cfg.Labels.Namespace, c.cfg.Labels.Pod
	q := fmt.Sprintf(`max by (%s, %s) (kube_pod_status_phase{phase=~"Pending|Running|Unknown",%s}) == 1`, ns, pod, c.namespacesSelector(namespaces))
	v, err := c.instant(ctx, q, at)
	if err != nil {
		return nil, err
	}
	for _, s := range v {
		out[string(s.Metric[pmodel.LabelName(ns)])+"/"+string(s.Metric[pmodel.LabelName(pod)])] = true
	}
	return out, nil
}

// nsSelector is the matchers, each after a comma, for kube-state-metrics'
// series of a namespace ("": all) and the --selector.
func (c *Client) nsSelector(namespace string) string {
	sel := ""
	if namespace != "" {
		sel += fmt.Sprintf(",%s=%s", c.cfg.Labels.Namespace, quote(namespace))
	}
	if c.cfg.Selector != "" {
		sel += "," + c.cfg.Selector
	}
	return sel
}

// instant runs an instant query whose answer is a vector.
func (c *Client) instant(ctx context.Context, q string, at time.Time) (pmodel.Vector, error) {
	r := &run{c: c}
	cctx, cancel := c.ctx(ctx)
	defer cancel()
	val, _, err := c.api.Query(cctx, q, at)
	if err != nil {
		return nil, r.reach(err)
	}
	v, _ := val.(pmodel.Vector)
	return v, nil
}

// DeploymentSurges are the new pods each Deployment's rolling update
// adds before old ones go (kube-state-metrics'
// kube_deployment_spec_strategy_rollingupdate_max_surge, maxSurge scaled
// to the replicas), by namespace and name; none with Recreate.
func (c *Client) DeploymentSurges(ctx context.Context, namespaces []string, at time.Time) (map[[2]string]int, error) {
	out := map[[2]string]int{}
	if len(namespaces) == 0 {
		return out, nil
	}
	ns := c.cfg.Labels.Namespace
	q := fmt.Sprintf(`max by (%s, deployment) (kube_deployment_spec_strategy_rollingupdate_max_surge{%s})`, ns, c.namespacesSelector(namespaces))
	v, err := c.instant(ctx, q, at)
	if err != nil {
		return nil, err
	}
	for _, s := range v {
		if n := int(s.Value); n > 0 {
			out[[2]string{string(s.Metric[pmodel.LabelName(ns)]), string(s.Metric["deployment"])}] = n
		}
	}
	return out, nil
}

// namespacesSelector matches the namespaces (and the --selector).
func (c *Client) namespacesSelector(namespaces []string) string {
	quoted := make([]string, len(namespaces))
	for i, ns := range namespaces {
		quoted[i] = regexp.QuoteMeta(ns)
	}
	sel := fmt.Sprintf(`%s=~%s`, c.cfg.Labels.Namespace, quote(strings.Join(quoted, "|")))
	if c.cfg.Selector != "" {
		sel += "," + c.cfg.Selector
	}
	return sel
}
