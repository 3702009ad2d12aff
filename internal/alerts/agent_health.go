package alerts

// The node agent's own state, oomdoctor_agent_watched_cgroups{node} and
// oomdoctor_agent_kmsg_overwritten_total{node}: an agent that sees no
// container, or loses the kernel's reports, counts less than it should
// without a word on the kill alerts.
const (
	agentWatched     = "oomdoctor_agent_watched_cgroups"
	agentOverwritten = "oomdoctor_agent_kmsg_overwritten_total"
)

func init() {
	register(alert{
		name:    "OOMDoctorAgentWatchesNothing",
		summary: "the node agent finds no container cgroup on its node, so it counts no kills there",
		runbook: `The oomdoctor node agent on this node has watched no container memory cgroup for 30 minutes. Every node that runs it has at least one pod, the agent's own: it is looking in the wrong place, and no OOM kill on the node is counted or told.
1. Read the agent's first log line: it names the cgroup version and the hierarchy it reads (cgroup v1 at .../memory, or v2 at ...).
2. Compare --kubelet-cgroup-root (the chart's kubeletCgroupRoot) with the kubelet's cgroupRoot (its config file or --cgroup-root flag); kubepods or kubepods.slice must be under it.
3. Check that the host's /sys/fs/cgroup is mounted at /host/sys/fs/cgroup in the agent's pod.
4. oomdoctor node --local on the node shows the cgroup version and the memory controller.`,
		build: func(q *query) Rule {
			return Rule{
				Expr:   "max by (" + q.nodeKeys() + ") (" + agentWatched + q.sel(agent) + ") == 0",
				For:    "30m",
				Labels: map[string]string{"severity": "warning"},
				Annotations: map[string]string{
					"summary":     "The oomdoctor agent on node " + q.label(q.o.NodeLabel) + " watches no container cgroup.",
					"description": "The oomdoctor node agent on node " + q.label(q.o.NodeLabel) + " has found no container memory cgroup for 30 minutes: it counts no OOM kill there.",
				},
			}
		},
	})
	register(alert{
		name:    "OOMDoctorAgentKernelLogLost",
		summary: "the kernel log overwrote records before the node agent read them: some kills lack their victim",
		runbook: `The kernel's log buffer overwrote records before the oomdoctor node agent read them. Kills are still counted from the cgroups' counters, but the kernel's reports of some (which process died, its RSS, the memory breakdown) may be lost, so their Events and kills name no victim.
1. Look for what floods the kernel log on the node (dmesg | tail): a driver, a firewall logging every packet, a crash-looping process.
2. Give the kernel a larger buffer (log_buf_len=4M on its command line).
3. The agent reads the log through syslog(2) when a cgroup tells it of a kill and every 5 s otherwise; kernelLogSource=device (privileged) reads /dev/kmsg as records come.`,
		build: func(q *query) Rule {
			w := promDuration(q.o.OOMWindow)
			return Rule{
				Expr:   "max by (" + q.nodeKeys() + ") (increase(" + agentOverwritten + q.sel(agent) + "[" + w + "])) > 0",
				Labels: map[string]string{"severity": "info"},
				Annotations: map[string]string{
					"summary":     "The kernel log on node " + q.label(q.o.NodeLabel) + " overwrote records before the oomdoctor agent read them.",
					"description": "The kernel log on node " + q.label(q.o.NodeLabel) + " overwrote records before the oomdoctor node agent read them in the last " + w + ": some OOM kills there may be told without their victim.",
				},
			}
		},
	})
}
