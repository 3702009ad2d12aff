package nodecheck

import (
	"context"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/oomdoctor/oomdoctor/internal/source"
)

// Cluster is what the cluster checks read: pods and events from a source,
// nodes from one that has them.
type Cluster interface {
	source.Source
	source.NodeSource
}

// ClusterOptions shape the cluster checks.
type ClusterOptions struct {
	// Node restricts the checks to one node ("" for all).
	Node string
	// LimitsOvercommit is the ratio of limits to allocatable above which
	// a node is reported.
	LimitsOvercommit float64
	// Since is how far back SystemOOM events count.
	Since time.Duration
	// Now is the time events are aged against (a snapshot's capture
	// time, or the clock).
	Now time.Time
}

// NodeRow is one node's memory accounting.
type NodeRow struct {
	Name             string  `json:"name"`
	AllocatableBytes int64   `json:"allocatableBytes"`
	RequestsBytes    int64   `json:"requestsBytes"`
	LimitsBytes      int64   `json:"limitsBytes"`
	RequestsRatio    float64 `json:"requestsRatio"`
	LimitsRatio      float64 `json:"limitsRatio"`
	Pods             int     `json:"pods"`
	// UnboundedContainers have no memory limit: the node's allocatable is
	// their only bound.
	UnboundedContainers int      `json:"unboundedContainers"`
	BestEffortPods      int      `json:"bestEffortPods"`
	MemoryPressure      bool     `json:"memoryPressure"`
	SystemOOMs          int      `json:"systemOOMs"`
	SystemOOMVictims    []string `json:"systemOOMVictims,omitempty"`
	KubeletVersion      string   `json:"kubeletVersion"`
	RuntimeVersion      string   `json:"containerRuntimeVersion"`
	KernelVersion       string   `json:"kernelVersion"`
}

type nodeCheck func(o ClusterOptions, n *corev1.Node, row *NodeRow) []Result

var nodeChecks []nodeCheck

func registerNode(c nodeCheck) { nodeChecks = append(nodeChecks, c) }

// RunCluster reads nodes, pods and node events and checks every node. Rows
// come sorted by limits over allocatable, most overcommitted first.
func RunCluster(ctx context.Context, c Cluster, o ClusterOptions) ([]NodeRow, []Result, error) {
	var nodes []*corev1.Node
	rows := map[string]*NodeRow{}
	err := c.Nodes(ctx, func(n *corev1.Node) error {
		if o.Node != "" && n.Name != o.Node {
			return nil
		}
		n = n.DeepCopy()
		nodes = append(nodes, n)
		row := &NodeRow{Name: n.Name, KubeletVersion: n.Status.NodeInfo.KubeletVersion,
			RuntimeVersion: n.Status.NodeInfo.ContainerRuntimeVersion, KernelVersion: n.Status.NodeInfo.KernelVersion}
		if q, ok := n.Status.Allocatable[corev1.ResourceMemory]; ok {
			row.AllocatableBytes = q.Value()
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeMemoryPressure && cond.Status == corev1.ConditionTrue {
				row.MemoryPressure = true
			}
		}
		rows[n.Name] = row
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	err = c.Pods(ctx, source.Scope{}, func(p *corev1.Pod) error {
		row := rows[p.Spec.NodeName]
		if row == nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			return nil
		}
		row.Pods++
		req, lim, unbounded := source.PodMemory(p)
		row.RequestsBytes += req
		row.LimitsBytes += lim
		row.UnboundedContainers += unbounded
		if p.Status.QOSClass == corev1.PodQOSBestEffort {
			row.BestEffortPods++
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	err = c.Events(ctx, source.EventFilter{InvolvedKind: "Node"}, func(e *corev1.Event) error {
		row := rows[e.InvolvedObject.Name]
		if row == nil || !systemWide(e) {
			return nil
		}
		if at := eventTime(e); o.Since > 0 && !at.IsZero() && o.Now.Sub(at) > o.Since {
			return nil
		}
		n := int(e.Count)
		if n < 1 {
			n = 1
		}
		row.SystemOOMs += n
		if len(row.SystemOOMVictims) < 5 {
			row.SystemOOMVictims = append(row.SystemOOMVictims, e.Message)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	var out []NodeRow
	var results []Result
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Name < nodes[j].Name })
	for _, n := range nodes {
		row := rows[n.Name]
		if row.AllocatableBytes > 0 {
			row.RequestsRatio = float64(row.RequestsBytes) / float64(row.AllocatableBytes)
			row.LimitsRatio = float64(row.LimitsBytes) / float64(row.AllocatableBytes)
		}
		for _, check := range nodeChecks {
			for _, r := range check(o, n, row) {
				r.Node = n.Name
				results = append(results, r)
			}
		}
		out = append(out, *row)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].LimitsRatio > out[j].LimitsRatio })
	return out, results, nil
}

// systemWide tells whether a node event reports a system-wide OOM: the
// kubelet's SystemOOM, or node-problem-detector's OOMKilling when the kernel
// line is not a memory cgroup's (those are containers at their limits).
func systemWide(e *corev1.Event) bool {
	switch e.Reason {
	case "SystemOOM":
		return true
	case "OOMKilling":
		return !strings.Contains(e.Message, "Memory cgroup out of memory")
	}
	return false
}

func eventTime(e *corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case e.Series != nil && !e.Series.LastObservedTime.IsZero():
		return e.Series.LastObservedTime.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}
