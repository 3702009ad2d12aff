package prom

import (
	"context"
	"fmt"
	"sort"
	"time"

	pmodel "github.com/prometheus/common/model"
)

// LimitRange is what one LimitRange allows a container's memory, from
// kube-state-metrics' kube_limitrange (type Container): 0 where it sets
// nothing.
type LimitRange struct {
	Namespace, Name    string
	Max, Min, MaxRatio float64
}

// LimitRanges reads the LimitRanges' memory bounds on containers now (in
// the namespace, "" for all); none when kube-state-metrics does not export
// them.
func (c *Client) LimitRanges(ctx context.Context, namespace string, at time.Time) ([]LimitRange, error) {
	q := fmt.Sprintf(`max by (%s, limitrange, constraint) (kube_limitrange{resource="memory",type="Container",constraint=~"max|min|maxLimitRequestRatio"%s})`, c.cfg.Labels.Namespace, c.nsSelector(namespace))
	v, err := c.instant(ctx, q, at)
	if err != nil {
		return nil, err
	}
	byName := map[[2]string]*LimitRange{}
	for _, s := range v {
		k := [2]string{string(s.Metric[pmodel.LabelName(c.cfg.Labels.Namespace)]), string(s.Metric["limitrange"])}
		lr := byName[k]
		if lr == nil {
			lr = &LimitRange{Namespace: k[0], Name: k[1]}
			byName[k] = lr
		}
		switch s.Metric["constraint"] {
		case "max":
			lr.Max = float64(s.Value)
		case "min":
			lr.Min = float64(s.Value)
		case "maxLimitRequestRatio":
			lr.MaxRatio = float64(s.Value)
		}
	}
	out := make([]LimitRange, 0, len(byName))
	for _, lr := range byName {
		out = append(out, *lr)
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Namespace+"/"+out[i].Name < out[j].Namespace+"/"+out[j].Name
	})
	return out, nil
}
