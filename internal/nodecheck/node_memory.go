package nodecheck

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/oomdoctor/oomdoctor/internal/manifest"
	"github.com/oomdoctor/oomdoctor/internal/words"
)

func pctOf(r float64) string { return fmt.Sprintf("%.0f%%", 100*r) }

func init() {
	// Limits over allocatable: what happens if every pod grows to its limit.
	registerNode(func(o ClusterOptions, n *corev1.Node, row *NodeRow) []Result {
		if row.AllocatableBytes == 0 {
			return []Result{{ID: "node-allocatable", Status: Warn, Summary: "the node reports no allocatable memory",
				Evidence: []string{"status.allocatable.memory: not set"}, Advice: "The kubelet has not reported yet, or the node object is incomplete."}}
		}
		ev := []string{
			fmt.Sprintf("allocatable %s; %s request %s (%s) and limit %s (%s)",
				manifest.FormatBytes(row.AllocatableBytes), words.Count(row.Pods, "pod"), manifest.FormatBytes(row.RequestsBytes), pctOf(row.RequestsRatio),
				manifest.FormatBytes(row.LimitsBytes), pctOf(row.LimitsRatio)),
		}
		if row.UnboundedContainers > 0 {
			ev = append(ev, fmt.Sprintf("%s without a memory limit (bounded only by the node)", words.Count(row.UnboundedContainers, "container")))
		}
		var out []Result
		switch {
		case row.LimitsRatio > o.LimitsOvercommit:
			out = append(out, Result{ID: "node-limits-overcommit", Status: Warn,
				Summary:  fmt.Sprintf("memory limits add up to %s of allocatable", pctOf(row.LimitsRatio)),
				Evidence: ev,
				Advice:   "The scheduler places pods by requests. If these pods grow toward their limits together the node runs out: evictions, or a node-level OOM kill of a pod that was under its own limit. Raise requests of pods that use far more than they request, or lower limits toward real peaks (oomdoctor fix)."})
		default:
			out = append(out, Result{ID: "node-limits-overcommit", Status: Pass,
				Summary: fmt.Sprintf("memory limits add up to %s of allocatable", pctOf(row.LimitsRatio)), Evidence: ev})
		}
		if row.RequestsRatio > 1 {
			out = append(out, Result{ID: "node-requests", Status: Fail,
				Summary:  fmt.Sprintf("memory requests add up to %s of allocatable", pctOf(row.RequestsRatio)),
				Evidence: ev[:1],
				Advice:   "More is requested than the node has (static pods, or allocatable shrank after scheduling): the kubelet evicts or the kernel kills. Lower the node's reserved memory only if it is wrong; otherwise move pods."})
		}
		if row.BestEffortPods > 0 && (row.LimitsRatio > o.LimitsOvercommit || row.MemoryPressure || row.SystemOOMs > 0) {
			out = append(out, Result{ID: "node-besteffort", Status: Info,
				Summary:  fmt.Sprintf("%s on a node short of memory", words.Count(row.BestEffortPods, "BestEffort pod")),
				Evidence: []string{fmt.Sprintf("%s without requests or limits", words.Count(row.BestEffortPods, "pod"))},
				Advice:   "BestEffort pods are evicted first and have oom_score_adj 1000: they die first in a node-level OOM. Give them requests."})
		}
		return out
	})

	registerNode(func(o ClusterOptions, n *corev1.Node, row *NodeRow) []Result {
		if !row.MemoryPressure {
			return nil
		}
		msg := ""
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeMemoryPressure {
				msg = fmt.Sprintf("MemoryPressure=True since %s: %s", c.LastTransitionTime.UTC().Format("2006-01-02T15:04:05Z"), c.Message)
			}
		}
		return []Result{{ID: "node-memory-pressure", Status: Fail, Summary: "the node is under memory pressure", Evidence: []string{msg},
			Advice: "The kubelet is evicting pods (those using most above their request first) and admits no BestEffort pods. See which with oomdoctor scan; raise requests toward real usage so the scheduler spreads them."}}
	})

	registerNode(func(o ClusterOptions, n *corev1.Node, row *NodeRow) []Result {
		if row.SystemOOMs == 0 {
			return nil
		}
		ev := []string{fmt.Sprintf("%s reported by node events (kubelet SystemOOM, node-problem-detector OOMKilling) in the last %s", words.Count(row.SystemOOMs, "system-wide OOM kill"), duration.HumanDuration(o.Since))}
		ev = append(ev, row.SystemOOMVictims...)
		return []Result{{ID: "node-system-oom", Status: Fail, Summary: words.Count(row.SystemOOMs, "system-wide OOM kill"), Evidence: ev,
			Advice: "The whole node ran out, not a container's limit: the kernel killed by oom_score_adj (BestEffort first). Reserve memory for the system (systemReserved, kubeReserved), check eviction thresholds (oomdoctor node --local on the node) and the overcommit of limits."}}
	})

	registerNode(func(o ClusterOptions, n *corev1.Node, row *NodeRow) []Result {
		v, ok := parseSemver(row.KubeletVersion)
		if !ok {
			return nil
		}
		if v.less(semver{1, 28, 0, 0}) {
			return []Result{{ID: "node-kubelet-version", Status: Warn, Summary: "kubelet " + row.KubeletVersion,
				Evidence: []string{"status.nodeInfo.kubeletVersion: " + row.KubeletVersion},
				Advice:   "Before 1.28 the kubelet does not set memory.oom.group on cgroup v2: an OOM kill takes one process and can leave the container half alive. Upgrade the node."}}
		}
		return nil
	})
}
