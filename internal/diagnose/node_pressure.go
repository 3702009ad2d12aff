package diagnose

import (
	"fmt"
	"strings"

	"github.com/oomdoctor/oomdoctor/internal/model"
)

// nodePressure fires when the node, not the container, ran out: the pod
// was evicted for memory, the kubelet recorded a SystemOOM, the kernel's
// report names a cgroup above the pod (kubepods, a QoS class, the root),
// or the node reported memory pressure around the kill.
type nodePressure struct{}

func init() { register(nodePressure{}) }

func (nodePressure) ID() model.CauseID { return model.CauseNodePressure }

// nodeEventReasons are the node's memory events.
var nodeEventReasons = map[string]string{
	"SystemOOM":                 "the kubelet saw a system-wide OOM",
	"EvictionThresholdMet":      "the kubelet's eviction threshold was met",
	"NodeHasInsufficientMemory": "the node reported MemoryPressure",
}

func (d nodePressure) Detect(in *Input) (*model.Cause, string) {
	f := in.Finding
	var ev []model.Evidence
	conf := model.Confidence("")
	why := ""
	switch f.Type {
	case model.Eviction:
		conf, why = model.High, "the kubelet evicted the pod for memory"
		ev = append(ev, model.Evidence{What: "eviction", Value: strings.TrimSpace(f.Reason + ": " + f.Message), At: f.LastKill, Source: "pod status"})
	case model.SystemOOM:
		conf, why = model.High, "the kubelet recorded a system-wide OOM on the node"
		ev = append(ev, model.Evidence{What: "SystemOOM", Value: f.Message, At: f.LastKill, Source: "node event"})
	case model.NotOOM:
		return nil, ""
	}
	for _, k := range in.KernelKills {
		if k.Scope == "node" || k.Scope == "system" {
			conf, why = model.High, "the kernel's OOM report names a cgroup above the pod"
			what := "the node's pods together reached its allocatable memory"
			if k.Scope == "system" {
				what = "the whole node ran out of memory"
			}
			ev = append(ev, model.Evidence{What: "kill scope " + k.Scope, Value: fmt.Sprintf("%s (usage %s of %s)", what, size(float64(k.UsageBytes)), size(float64(k.LimitBytes))), At: &k.At, Source: "node agent (kernel OOM report)"})
		}
	}
	// Node events near the kill.
	if f.LastKill != nil {
		for _, e := range in.Events {
			if e.InvolvedObject.Kind != "Node" {
				continue
			}
			what, ok := nodeEventReasons[e.Reason]
			if !ok {
				continue
			}
			t := e.LastTimestamp.Time
			if t.IsZero() {
				t = e.EventTime.Time
			}
			if d := t.Sub(*f.LastKill); d < -10*60e9 || d > 10*60e9 {
				continue
			}
			if conf.Rank() < model.Medium.Rank() {
				conf, why = model.Medium, "the node reported memory trouble within 10 minutes of the kill"
			}
			tt := t.UTC()
			ev = append(ev, model.Evidence{What: e.Reason, Value: what + ": " + e.Message, At: &tt, Source: "node event"})
		}
	}
	if in.Node != nil && in.Node.MemoryPressure {
		if conf == "" {
			conf, why = model.Low, "the node is under memory pressure now, which may not be when the kill happened"
		}
		ev = append(ev, model.Evidence{What: "node condition", Value: "MemoryPressure=True on " + in.Node.Name, Source: "node status"})
	}
	if conf == "" {
		if len(in.KernelKills) == 0 && in.isOOM() && in.Node == nil {
			return nil, "the node's events and state (read access to nodes and events), or the node agent's kernel records, to see whether the node ran out"
		}
		return nil, ""
	}
	c := &model.Cause{Confidence: conf, ConfidenceWhy: why, Evidence: ev,
		Summary: "The node ran short of memory: the pod was a victim of its neighbours' usage (or the node's own), not of its own limit."}
	if in.Node != nil && in.Node.AllocatableBytes > 0 {
		c.Evidence = append(c.Evidence, model.Evidence{What: "node memory", Value: fmt.Sprintf("requests %s, limits %s of %s allocatable (%s), %d pods", size(float64(in.Node.RequestsBytes)), size(float64(in.Node.LimitsBytes)), size(float64(in.Node.AllocatableBytes)), pct(float64(in.Node.LimitsBytes), float64(in.Node.AllocatableBytes)), in.Node.Pods), Source: "pods on the node"})
	}
	c.Fix = model.Fix{Text: "Make the scheduler see the real usage: set every pod's memory request to its usual peak (oomdoctor recommend), give pods that must survive equal requests and limits (Guaranteed QoS) and a PriorityClass, and keep room for the system (kubelet --kube-reserved/--system-reserved, --eviction-hard memory.available)."}
	return c, ""
}
