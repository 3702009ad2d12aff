package prom

import (
	"math"
	"sort"
)

// kills finds the OOM kills in a container's history. kube-state-metrics
// counts restarts and keeps the last termination's reason: a step where
// the restart count grew while the last reason is OOMKilled saw that many
// kills (the server finds those steps). cAdvisor's
// container_oom_events_total adds the kills it saw in steps
// kube-state-metrics did not explain (it often misses the killed
// container: its cgroup is gone before the next scrape). The limit at each
// kill is kube-state-metrics' limit in that step. step is the history's
// resolution in seconds.
func kills(c *Container, step int64) []Kill {
	var out []Kill
	for _, p := range c.kubeKills {
		out = append(out, Kill{T: p.T, Count: max(1, int(math.Round(p.V))), Source: "kube_pod_container_status_restarts_total and last_terminated_reason OOMKilled"})
	}
	// A container that does not restart is terminated OOMKilled, with no
	// restart to count (a restarting one is too, briefly: its restart
	// explains it).
	out = addUnexplained(out, c.terminations, step, "kube_pod_container_status_terminated_reason OOMKilled", nil)
	out = addUnexplained(out, c.agentKills, step, "oomdoctor_oom_kills_total (node agent)", nil)
	out = addUnexplained(out, c.oomEvents, step, "container_oom_events_total", c.eventLimits)
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
	sort.SliceStable(out, func(i, j int) bool { return out[i].T < out[j].T })
	return out
}

// addUnexplained adds the kills of a counter's increase over two steps
// (each kill seen in two consecutive points: keep the first of a run) that
// no kill in out explains, within two steps; limits give the limit at each.
func addUnexplained(out []Kill, ps []Point, step int64, source string, limits []Point) []Kill {
	for i, p := range ps {
		if i > 0 && p.T-ps[i-1].T <= step {
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
			k := Kill{T: p.T, Count: max(1, int(math.Round(p.V))), Source: source}
			if v, ok := At(limits, p.T); ok {
				k.Limit = v
			}
			out = append(out, k)
		}
	}
	return out
}
