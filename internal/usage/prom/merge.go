package prom

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/oomdoctor/oomdoctor/internal/model"
)

// Group is one container of a workload over all its replicas (or of one
// pod), its usage the highest of the replicas at each step: the limit
// has to hold the largest replica.
type Group struct {
	Workload  model.WorkloadRef
	Container string
	// Pods are the pods merged.
	Pods       []string
	WorkingSet []Point
	Kills      []Kill
	// Request and Limit are the latest known (0: unknown).
	Request, Limit float64
	Guessed        bool
	newest         int64
}

// Merge groups a namespace's containers by workload and container name
// (perPod: by pod and container name).
func Merge(cs []*Container, perPod bool) []*Group {
	idx := map[string]*Group{}
	var out []*Group
	for _, c := range cs {
		w := c.Workload
		if perPod {
			w = model.WorkloadRef{Namespace: c.Namespace, Kind: "Pod", Name: c.Pod}
		}
		key := w.Kind + "/" + w.Name + "/" + c.Name
		g := idx[key]
		if g == nil {
			g = &Group{Workload: w, Container: c.Name, Guessed: c.WorkloadGuessed && !perPod}
			idx[key] = g
			out = append(out, g)
		}
		g.Pods = append(g.Pods, c.Pod)
		// The newest pod's request and limit are the current ones.
		if t := last(c.WorkingSet); t >= g.newest {
			g.newest = t
			if n := len(c.Limit); n > 0 {
				g.Limit = c.Limit[n-1].V
			}
			if n := len(c.Request); n > 0 {
				g.Request = c.Request[n-1].V
			}
		}
		g.WorkingSet = maxMerge(g.WorkingSet, c.WorkingSet)
		for _, k := range c.Kills {
			k.Pod = c.Pod
			g.Kills = append(g.Kills, k)
		}
	}
	for _, g := range out {
		sort.SliceStable(g.Kills, func(i, j int) bool { return g.Kills[i].T < g.Kills[j].T })
	}
	return out
}

func last(ps []Point) int64 {
	if len(ps) == 0 {
		return 0
	}
	return ps[len(ps)-1].T
}

// maxMerge merges two time-sorted series, the highest value at equal times.
func maxMerge(a, b []Point) []Point {
	if len(a) == 0 {
		return append([]Point(nil), b...)
	}
	out := make([]Point, 0, max(len(a), len(b)))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || i < len(a) && a[i].T < b[j].T:
			out = append(out, a[i])
			i++
		case i == len(a) || b[j].T < a[i].T:
			out = append(out, b[j])
			j++
		default:
			out = append(out, Point{T: a[i].T, V: max(a[i].V, b[j].V)})
			i++
			j++
		}
	}
	return out
}

// MaxAllocatable is the largest node's allocatable memory now, from
// kube-state-metrics (0 when it is not there).
func (c *Client) MaxAllocatable(ctx context.Context, at time.Time) (float64, error) {
	sel := ""
	if c.cfg.Selector != "" {
		sel = "," + c.cfg.Selector
	}
	v, err := c.instant(ctx, fmt.Sprintf(`max(kube_node_status_allocatable{resource="memory"%s})`, sel), at)
	if err != nil || len(v) == 0 {
		return 0, err
	}
	return float64(v[0].Value), nil
}
