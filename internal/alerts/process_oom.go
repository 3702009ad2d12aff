package alerts

import "fmt"

// The node agent's counter, oomdoctor_oom_kills_total{namespace, pod,
// container, node, scope, main_process}, and the time of each series' last
// kill (agent.KillsMetric, agent.LastKillMetric).
const (
	agentKills    = "oomdoctor_oom_kills_total"
	agentLastKill = "oomdoctor_oom_last_kill_timestamp_seconds"
)

// agentKillsIn is, by keys, how many of the agent's kills matching sel
// happened in the window, for the containers whose last kill did (the
// time of the last kill decides). The counter's series are born at 1 at
// a first kill, which increase() never counts: a series absent at the
// window's start counts whole. A scrape gap also makes a series look
// born; the last kill's time keeps such a series out unless it was killed
// in the window, and the count is at least 1.
func (q *query) agentKillsIn(keys, sel string) string {
	w := promDuration(q.o.OOMWindow)
	s := agentKills + sel
	return fmt.Sprintf(`
clamp_min(
  sum by (%[1]s) ((%[2]s unless %[2]s offset %[3]s) or increase(%[2]s[%[3]s])),
  1
)
and on (%[1]s)
(
  max by (%[1]s) (%[4]s%[5]s) > time() - %[6]s
)`, keys, s, w, agentLastKill, sel, num(q.o.OOMWindow.Seconds()))
}

func init() {
	register(alert{
		name:    "ContainerProcessOOMKilled",
		summary: "the kernel killed a process inside a container that kept running (invisible in the pod status)",
		runbook: `The oomdoctor node agent saw the kernel OOM-kill a process inside the container while its main process (PID 1) kept running. On cgroup v1, or on cgroup v2 with the kubelet's singleProcessOOMKill, only the chosen process dies, so the pod status, its restart count and kubectl show nothing: a worker, a child of a process manager, a cron job inside the container is gone.
1. Find the victim: the agent's Event on the pod (kubectl describe pod) names the process and its RSS.
2. The container's limit covers every process in it: size it for all of them at their peak (oomdoctor profile runs the whole process tree).
3. If PID 1 should have died with its worker, make it exit when a child dies, or run on cgroup v2 where the kubelet kills the whole container (memory.oom.group).`,
		build: func(q *query) Rule {
			keys := q.containerKeys()
			return Rule{
				Expr:   q.agentKillsIn(keys, q.sel(agent, `main_process="false"`)),
				Labels: map[string]string{"severity": "warning"},
				Annotations: map[string]string{
					"summary":     "A process in container " + q.container() + " was OOM-killed; the container kept running.",
					"description": "The kernel OOM-killed {{ $value | printf \"%.0f\" }} process(es) in container " + q.container() + " in the last " + promDuration(q.o.OOMWindow) + " while its main process survived: the pod status does not show it.",
				},
			}
		},
	})
	register(alert{
		name:    "NodeLevelOOMKill",
		summary: "the kernel killed a container's process because the node (not the container's limit) ran out of memory",
		runbook: `The oomdoctor node agent saw an OOM kill whose scope was the node: the kubepods cgroup (the node's allocatable memory) or the whole machine (a system-wide OOM) ran out, not the container's own limit. The victim may have been well under its limit: the kernel picks by oom_score_adj, which the kubelet sets from the QoS class (BestEffort first, Guaranteed last).
1. Compare the sum of the node's memory limits with its allocatable memory: oomdoctor node.
2. Pods that use far more than they request overcommit the node: raise their requests toward their real usage (oomdoctor fix), so the scheduler places fewer of them per node.
3. Check the kubelet's eviction thresholds and system-reserved: eviction should act before the kernel does.
4. Processes outside Kubernetes on the node count too.`,
		build: func(q *query) Rule {
			keys := q.keys(q.o.NodeLabel, q.o.NamespaceLabel, q.o.PodLabel, q.o.ContainerLabel, "scope")
			return Rule{
				Expr:   q.agentKillsIn(keys, q.sel(agent, `scope=~"node|system"`)),
				Labels: map[string]string{"severity": "critical"},
				Annotations: map[string]string{
					"summary":     "Node " + q.label(q.o.NodeLabel) + " ran out of memory and the kernel killed a process of " + q.container() + ".",
					"description": "The kernel OOM-killed {{ $value | printf \"%.0f\" }} process(es) of container " + q.container() + " on node " + q.label(q.o.NodeLabel) + " in the last " + promDuration(q.o.OOMWindow) + " with scope {{ $labels.scope }}: the node's memory ran out, not the container's limit.",
				},
			}
		},
	})
}
