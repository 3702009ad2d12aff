package prom

import "math"

// kills finds the OOM kills in a container's history. kube-state-metrics
// counts restarts and keeps the last termination's reason: a step where
// the restart count grew while the last reason is OOMKilled saw that many
// kills (the server finds those steps). cAdvisor's
// container_oom_events_total adds the kills it saw in steps
// kube-state-metrics did not explain (it often misses the killed
// container: its cgroup is gone before the next scrape). The limit at each
// kill is kube-state-metrics' limit in that step.
func kills(c *Container) []Kill {
	var out []Kill
	for _, p := range c.kubeKills {
		out = append(out, Kill{T: p.T, Count: max(1, int(math.Round(p.V))), Source: "kube_pod_container_status_restarts_total and last_terminated_reason OOMKilled"})
	}
	step := int64(0)
	if len(c.WorkingSet) > 1 {
		step = c.WorkingSet[1].T - c.WorkingSet[0].T
	}
	out = addUnexplained(out, c.agentKills, step, "oomdoctor_oom_kills_total (node agent)", c.killLimits)
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
			k := Kill{T: p.T, Count: max(1, int(math.Round(p.V))), Source: "container_oom_events_total"}
			if v, ok := At(c.eventLimits, p.T); ok {
				k.Limit = v
			}
			out = append(out, k)
		}
	}
	for i := range out {
		if out[i].Limit > 0 {
			continue
		}
		if v, ok := At(c.killLimits, out[i].T); ok {
			out[i].Limit = v
		} else if v, ok := At(c.Limit, out[i].T); ok && len(c.Limit) > 1 {
			out[i].Limit = v
		}
	}
	sortKills(out)
	return out
}

func sortKills(ks []Kill) {
	for i := 1; i < len(ks); i++ {
		for j := i; j > 0 && ks[j].T < ks[j-1].T; j-- {
			ks[j], ks[j-1] = ks[j-1], ks[j]
		}
	}
}

// addUnexplained adds the kills of a counter's increase series (each kill
// seen in two consecutive points: keep the first of a run) that no kill
// already in out explains, within two steps.
func addUnexplained(out []Kill, ps []Point, step int64, source string, limits []Point) []Kill {
	base := len(out)
	for i, p := range ps {
		if i > 0 && p.T-ps[i-1].T <= step {
			continue
		}
		explained := false
		for _, k := range out[:base] {
			if k.T >= p.T-2*step && k.T <= p.T+2*step {
				explained = true
				break
			}
		}
		if !explained {
			k := Kill{T: p.T, Count: max(1, int(math.Round(p.V))), Source: source}
			if v, ok := At(limits, p.T); ok {
				k.Limit = v
			}
			out = append(out, k)
		}
	}
	return out
}
