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
	return byObject(v, c.cfg.Labels.Namespace, "resourcequota", func(ns, name string) ResourceQuota {
		return ResourceQuota{Namespace: ns, Name: name, Hard: map[string]float64{}, Used: map[string]float64{}}
	}, func(rq *ResourceQuota, s *pmodel.Sample) {
		m := rq.Used
		if s.Metric["type"] == "hard" {
			m = rq.Hard
		}
		m[string(s.Metric["resource"])] = float64(s.Value)
	}), nil
}

// byObject groups a vector's samples by namespace and object (the label
// name holds its name), in that order: mk makes an object's value, set
// adds a sample to it.
func byObject[T any](v pmodel.Vector, nsLabel, name string, mk func(ns, name string) T, set func(*T, *pmodel.Sample)) []T {
	key := func(s *pmodel.Sample) [2]string {
		return [2]string{string(s.Metric[pmodel.LabelName(nsLabel)]), string(s.Metric[pmodel.LabelName(name)])}
	}
	sort.SliceStable(v, func(i, j int) bool {
		a, b := key(v[i]), key(v[j])
		return a[0] < b[0] || a[0] == b[0] && a[1] < b[1]
	})
	var out []T
	var last [2]string
	for _, s := range v {
		if k := key(s); len(out) == 0 || k != last {
			out, last = append(out, mk(k[0], k[1])), k
		}
		set(&out[len(out)-1], s)
	}
	return out
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
