package prom

import "math"

// kills finds the OOM kills in a container's history. kube-state-metrics
// counts restarts and keeps the last termination's reason: a step where
// the restart count grew while the last reason is OOMKilled saw that many
// kills. cAdvisor's container_oom_events_total adds the kills it saw in
// steps kube-state-metrics did not explain (it often misses the killed
// container: its cgroup is gone before the next scrape). The limit at each
// kill is kube-state-metrics' limit then.
func kills(c *Container) []Kill {
	var out []Kill
	for i := 1; i < len(c.restarts); i++ {
		d := c.restarts[i].V - c.restarts[i-1].V
		if d <= 0 {
			continue
		}
		t := c.restarts[i].T
		if v, ok := At(c.oomReason, t); !ok || v < 1 || !recent(c.oomReason, t) {
			continue
		}
		out = append(out, Kill{T: t, Count: int(math.Round(d)), Source: "kube_pod_container_status_restarts_total and last_terminated_reason OOMKilled"})
	}
	step := int64(0)
	if len(c.WorkingSet) > 1 {
		step = c.WorkingSet[1].T - c.WorkingSet[0].T
	}
	for i, p := range c.oomEvents {
		// increase() over two steps sees a kill in two points: keep the
		// first of a run.
		if i > 0 && p.T-c.oomEvents[i-1].T <= step {
			continue
		}
		explained := false
		for _, k := range out {
			if k.T >= p.T-2*step && k.T <= p.T+2*step {
				explained = true
				break
			}
		}
		if !explained {
			out = append(out, Kill{T: p.T, Count: max(1, int(math.Round(p.V))), Source: "container_oom_events_total"})
		}
	}
	for i := range out {
		if v, ok := At(c.Limit, out[i].T); ok {
			out[i].Limit = v
		}
	}
	sortKills(out)
	return out
}

// recent says the step series has a point at t (the reason still holds
// then, not only before).
func recent(ps []Point, t int64) bool {
	for i := len(ps) - 1; i >= 0; i-- {
		if ps[i].T == t {
			return true
		}
		if ps[i].T < t {
			return false
		}
	}
	return false
}

func sortKills(ks []Kill) {
	for i := 1; i < len(ks); i++ {
		for j := i; j > 0 && ks[j].T < ks[j-1].T; j-- {
			ks[j], ks[j-1] = ks[j-1], ks[j]
		}
	}
}
