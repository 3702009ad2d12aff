package alerts

import "fmt"

func init() {
	register(alert{
		name:    "NodeMemoryLimitsOvercommitted",
		summary: "the memory limits of a node's pods add up to far more than its allocatable memory",
		runbook: `The memory limits of the pods on the node add up to more than its allocatable memory by the alert's ratio. The scheduler places pods by their requests, not their limits; if the pods grow toward their limits together, the node runs out: the kubelet evicts pods, or the kernel kills processes before it can (a node-level OOM).
1. See the most overcommitted nodes and their pods: oomdoctor node.
2. Raise requests of pods that use far more than they request (memory-request-far-below-limit in oomdoctor lint), or lower limits toward the real peak (oomdoctor fix).
3. Guaranteed pods (requests equal to limits) cannot overcommit a node.`,
		build: func(q *query) Rule {
			nk := q.nodeKeys()
			return Rule{
				Expr: fmt.Sprintf(`
(
  sum by (%[1]s) (kube_pod_container_resource_limits%[2]s and on (%[3]s) (%[4]s))
/ on (%[1]s)
  sum by (%[1]s) (kube_node_status_allocatable%[5]s)
) > %[6]s`, nk, q.sel(ksm, `resource="memory"`), q.podKeys(), q.activePods(), q.sel(ksm, `resource="memory"`), num(q.o.LimitsOvercommit)),
				For:    "1h",
				Labels: map[string]string{"severity": "info"},
				Annotations: map[string]string{
					"summary":     "The memory limits on node " + q.label(q.o.NodeLabel) + " add up to {{ $value | humanizePercentage }} of its allocatable memory.",
					"description": "The memory limits of the pods on node " + q.label(q.o.NodeLabel) + " add up to {{ $value | humanizePercentage }} of its allocatable memory (threshold " + num(q.o.LimitsOvercommit*100) + "%). If they grow toward their limits together, the node runs out.",
				},
			}
		},
	})
	register(alert{
		name:    "NodeMemoryUsedBeyondRequests",
		summary: "a node's pods use more memory than they requested and the node is nearly full",
		runbook: `The containers on the node use more memory than their pods requested, and together they fill most of the node's allocatable memory. The scheduler believed there was room; there is not. Next come kubelet evictions (pods using most above their request go first) or a node-level OOM kill.
1. Find the pods using most above their request: oomdoctor node, or kubectl top pods sorted by memory against their requests.
2. Raise their requests to their real usage (oomdoctor fix --from-peak), so the scheduler spreads them.
3. This alert needs the node label on cAdvisor's series (set by the usual kubelet scrape configs; --node-label names another).`,
		build: func(q *query) Rule {
			nk := q.nodeKeys()
			ws := fmt.Sprintf(`sum by (%s) (%s)`, nk, q.containerSeries("container_memory_working_set_bytes"))
			alloc := fmt.Sprintf(`sum by (%s) (kube_node_status_allocatable%s)`, nk, q.sel(ksm, `resource="memory"`))
			return Rule{
				Expr: fmt.Sprintf(`
(
  %[2]s
/ on (%[1]s)
  %[3]s
) > %[4]s
and on (%[1]s)
(
  %[2]s
> on (%[1]s)
  sum by (%[1]s) (kube_pod_container_resource_requests%[5]s and on (%[6]s) (%[7]s))
)`, nk, ws, alloc, num(q.o.NodeUsageShare), q.sel(ksm, `resource="memory"`), q.podKeys(), q.activePods()),
				For:    "15m",
				Labels: map[string]string{"severity": "warning"},
				Annotations: map[string]string{
					"summary":     "Pods on node " + q.label(q.o.NodeLabel) + " use more memory than they requested; the node is {{ $value | humanizePercentage }} full.",
					"description": "The containers on node " + q.label(q.o.NodeLabel) + " use {{ $value | humanizePercentage }} of its allocatable memory, more than their pods requested. Evictions or a node-level OOM kill come next.",
				},
			}
		},
	})
	register(alert{
		name:    "NodeMemoryPressure",
		summary: "a node reports MemoryPressure: the kubelet is evicting pods",
		runbook: `The kubelet reports the MemoryPressure condition: available memory fell below its eviction threshold (memory.available, 100Mi by default). It evicts pods, those using most above their request first, and admits no new BestEffort pods. An eviction is not an OOM kill: the pod shows status.reason Evicted.
1. See evictions and kills together: oomdoctor scan.
2. Raise the requests of pods that use far more than they request, or move them.
3. Check the kubelet's system-reserved and kube-reserved: processes outside the pods count too.`,
		build: func(q *query) Rule {
			return Rule{
				Expr:   fmt.Sprintf(`max by (%s) (kube_node_status_condition%s) == 1`, q.nodeKeys(), q.sel(ksm, `condition="MemoryPressure"`, `status="true"`)),
				For:    "2m",
				Labels: map[string]string{"severity": "warning"},
				Annotations: map[string]string{
					"summary":     "Node " + q.label(q.o.NodeLabel) + " is under memory pressure.",
					"description": "Node " + q.label(q.o.NodeLabel) + " has reported MemoryPressure for 2m: the kubelet is evicting pods to keep memory.available above its threshold.",
				},
			}
		},
	})
}
