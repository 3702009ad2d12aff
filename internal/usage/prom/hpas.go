package prom

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	pmodel "github.com/prometheus/common/model"

	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/workload"
)

// HPAs reads the HorizontalPodAutoscalers that scale on memory from
// kube-state-metrics, now (in the namespace, "" for all): their targets in
// kube_horizontalpodautoscaler_spec_target_metric (Resource metrics, the
// pod's containers together; metric_target_type utilization in percent,
// average in bytes) and kube_horizontalpodautoscaler_spec_target_container_metric
// (ContainerResource ones, container_name), the workloads they scale in
// kube_horizontalpodautoscaler_info. None when kube-state-metrics exports
// none of these.
func (c *Client) HPAs(ctx context.Context, namespace string, at time.Time) ([]workload.HPA, error) {
	ns := c.cfg.Labels.Namespace
	sel := fmt.Sprintf(`metric_name="memory",metric_target_type=~"utilization|average"%s`, c.nsSelector(namespace))
	pod, err := c.instant(ctx, fmt.Sprintf(`max by (%s, horizontalpodautoscaler, metric_target_type) (kube_horizontalpodautoscaler_spec_target_metric{%s})`, ns, sel), at)
	if err != nil {
		return nil, err
	}
	one, err := c.instant(ctx, fmt.Sprintf(`max by (%s, horizontalpodautoscaler, metric_target_type, container_name) (kube_horizontalpodautoscaler_spec_target_container_metric{%s})`, ns, sel), at)
	if err != nil {
		return nil, err
	}
	if len(pod)+len(one) == 0 {
		return nil, nil
	}
	info, err := c.instant(ctx, fmt.Sprintf(`max by (%s, horizontalpodautoscaler, scaletargetref_kind, scaletargetref_name) (kube_horizontalpodautoscaler_info{%s})`, ns, strings.TrimPrefix(c.nsSelector(namespace), ",")), at)
	if err != nil {
		return nil, err
	}
	byName := map[[2]string]*workload.HPA{}
	for _, s := range info {
		n, name := string(s.Metric[pmodel.LabelName(ns)]), string(s.Metric["horizontalpodautoscaler"])
		byName[[2]string{n, name}] = &workload.HPA{Namespace: n, Name: name,
			Target: model.WorkloadRef{Namespace: n, Kind: string(s.Metric["scaletargetref_kind"]), Name: string(s.Metric["scaletargetref_name"])}}
	}
	for _, s := range append(pod, one...) {
		h := byName[[2]string{string(s.Metric[pmodel.LabelName(ns)]), string(s.Metric["horizontalpodautoscaler"])}]
		if h == nil || h.Target.Name == "" {
			continue // its target is not known
		}
		m := workload.HPAMemory{Container: string(s.Metric["container_name"])}
		switch s.Metric["metric_target_type"] {
		case "utilization":
			m.Utilization = int32(s.Value)
		case "average":
			m.AverageValue = int64(s.Value)
		}
		h.Memory = append(h.Memory, m)
	}
	var out []workload.HPA
	for _, h := range byName {
		if len(h.Memory) > 0 {
			sort.Slice(h.Memory, func(i, j int) bool {
				a, b := h.Memory[i], h.Memory[j]
				return a.Container < b.Container || a.Container == b.Container && a.Utilization > b.Utilization
			})
			out = append(out, *h)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Namespace+"/"+out[i].Name < out[j].Namespace+"/"+out[j].Name })
	return out, nil
}
