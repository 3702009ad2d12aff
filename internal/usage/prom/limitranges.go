package prom

import (
	"context"
	"fmt"
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
	return byObject(v, c.cfg.Labels.Namespace, "limitrange", func(ns, name string) LimitRange {
		return LimitRange{Namespace: ns, Name: name}
	}, func(lr *LimitRange, s *pmodel.Sample) {
		switch s.Metric["constraint"] {
		case "max":
			lr.Max = float64(s.Value)
		case "min":
			lr.Min = float64(s.Value)
		case "maxLimitRequestRatio":
			lr.MaxRatio = float64(s.Value)
		}
	}), nil
}
