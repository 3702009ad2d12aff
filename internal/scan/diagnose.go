package scan

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/oomdoctor/oomdoctor/internal/detect"
	"github.com/oomdoctor/oomdoctor/internal/diagnose"
	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/recommend"
	"github.com/oomdoctor/oomdoctor/internal/source"
	"github.com/oomdoctor/oomdoctor/internal/workload"
)

// Target names a container whose usage history diagnosis wants.
type Target struct{ Namespace, Pod, Container string }

// HistoryFunc reads the usage history of the targets' pods: every
// container of each pod (diagnosis compares a container with its
// siblings). It returns notes on what it could not read; an error only
// when no history can be read at all.
type HistoryFunc func(ctx context.Context, targets []Target) (map[Target]*diagnose.History, []string, error)

// ConfigMapSource reads ConfigMaps (a live cluster, a snapshot that holds
// them): the environment of containers whose heap flags come from them.
type ConfigMapSource interface {
	ConfigMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error)
}

// nodeSums adds up what the pods of a node ask for.
type nodeSums struct {
	requests, limits int64
	pods, unlimited  int
}

// notePod keeps what diagnosis needs of a pod: the pod itself when it has
// findings, and its share of its node.
func (s *scanner) notePod(pod *corev1.Pod, hasFindings bool) {
	if !s.opts.Diagnose {
		return
	}
	if hasFindings {
		s.notePodSpec(pod)
	}
	if pod.Spec.NodeName == "" || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return
	}
	n := s.nodeSums[pod.Spec.NodeName]
	if n == nil {
		n = &nodeSums{}
		s.nodeSums[pod.Spec.NodeName] = n
	}
	n.pods++
	req, lim, unbounded := source.PodMemory(pod)
	n.requests += req
	n.limits += lim
	n.unlimited += unbounded
}

// notePodSpec keeps the spec of a pod with findings, for diagnosis.
func (s *scanner) notePodSpec(pod *corev1.Pod) {
	if s.opts.Diagnose {
		s.specs[source.ObjectKey{Namespace: pod.Namespace, Name: pod.Name}] = pod.DeepCopy()
	}
}

// noteEvent keeps the events diagnosis reads: the node's, and the node
// agent's kernel records.
func (s *scanner) noteEvent(e *corev1.Event) {
	if !s.opts.Diagnose {
		return
	}
	if e.InvolvedObject.Kind == "Node" {
		s.nodeEvents[e.InvolvedObject.Name] = append(s.nodeEvents[e.InvolvedObject.Name], *e)
		return
	}
	if k, ok := detect.AgentKill(e); ok {
		key := e.InvolvedObject.Namespace + "/" + e.InvolvedObject.Name
		s.kernel[key] = append(s.kernel[key], k)
	}
}

// diagnoseFindings says why each finding happened; r resolves the
// findings' workloads (a VPA sizes a workload's containers).
func (s *scanner) diagnoseFindings(ctx context.Context, r *workload.Resolver) {
	if !s.opts.Diagnose || len(s.findings) == 0 {
		return
	}
	nodes := s.readNodes(ctx)
	cms := s.readConfigMaps(ctx)
	vpas := s.readVPAs(ctx)
	bounds := s.readLimitRanges(ctx)
	var hist map[Target]*diagnose.History
	if s.opts.History != nil {
		var targets []Target
		seen := map[Target]bool{}
		for _, k := range s.findings {
			t := Target{Namespace: k.f.Namespace, Pod: k.f.Pod, Container: k.f.Container}
			if k.f.Pod == "" || seen[t] || (k.f.Type != model.OOMKilled && k.f.Type != model.Eviction && k.f.Type != model.RuntimeOOM) {
				continue
			}
			seen[t] = true
			targets = append(targets, t)
		}
		if len(targets) > 0 {
			var notes []string
			var err error
			hist, notes, err = s.opts.History(ctx, targets)
			if err != nil {
				s.warnings = append(s.warnings, model.Warning{Source: "usage history", Message: err.Error() + "; causes that need usage history (limit-too-low, memory-leak, page-cache) are undecided."})
			}
			for _, n := range notes {
				s.warnings = append(s.warnings, model.Warning{Source: "usage history", Message: n})
			}
		}
	}
	for i := range s.findings {
		f := &s.findings[i].f
		in := &diagnose.Input{Finding: f, Now: s.asOf, ConfigMaps: cms[f.Namespace]}
		key := source.ObjectKey{Namespace: f.Namespace, Name: f.Pod}
		in.Pod = s.specs[key]
		if n, ok := nodes[f.Node]; ok {
			in.Node = n
		}
		in.Events = s.nodeEvents[f.Node]
		in.KernelKills = s.kernel[f.Namespace+"/"+f.Pod]
		in.Bounds = bounds[f.Namespace]
		in.History = hist[Target{Namespace: f.Namespace, Pod: f.Pod, Container: f.Container}]
		w := f.Workload
		if w.Kind == "" {
			w = r.Resolve(f.Namespace, f.Pod, s.findings[i].controller)
		}
		in.Workload, in.KubeFlags = w, s.opts.KubeFlags
		for _, v := range vpas[f.Namespace+"/"+w.String()] {
			if sets, what := v.Sets(f.Container); sets {
				in.MemorySetBy = fmt.Sprintf("%s sets its memory %s", v, what)
			}
		}
		f.Causes, f.Undecided = diagnose.Diagnose(in)
	}
}

// readNodes returns the state of the findings' nodes: allocatable,
// pressure, and the sums of their pods' requests and limits (complete
// only when every namespace was read).
func (s *scanner) readNodes(ctx context.Context) map[string]*diagnose.Node {
	out := map[string]*diagnose.Node{}
	want := map[string]bool{}
	for _, k := range s.findings {
		if k.f.Node != "" {
			want[k.f.Node] = true
		}
	}
	ns, ok := s.src.(source.NodeSource)
	if !ok || len(want) == 0 {
		return out
	}
	complete := s.opts.Scope.Namespace == "" && s.opts.Scope.LabelSelector == ""
	err := ns.Nodes(ctx, func(n *corev1.Node) error {
		if !want[n.Name] {
			return nil
		}
		d := &diagnose.Node{Name: n.Name, Complete: complete}
		if q, ok := n.Status.Allocatable[corev1.ResourceMemory]; ok {
			d.AllocatableBytes = q.Value()
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeMemoryPressure && c.Status == corev1.ConditionTrue {
				d.MemoryPressure = true
			}
		}
		if sums := s.nodeSums[n.Name]; sums != nil {
			d.RequestsBytes, d.LimitsBytes, d.Pods, d.Unlimited = sums.requests, sums.limits, sums.pods, sums.unlimited
		}
		out[n.Name] = d
		return nil
	})
	if err != nil {
		s.warnings = append(s.warnings, readWarning("nodes", "cluster-wide", err, "causes that need the nodes' memory (request-limit-gap, node-pressure) are undecided"))
	}
	return out
}

// readConfigMaps reads the ConfigMaps the findings' containers take env
// from, by namespace and name.
func (s *scanner) readConfigMaps(ctx context.Context) map[string]map[string]*corev1.ConfigMap {
	src, ok := s.src.(ConfigMapSource)
	out := map[string]map[string]*corev1.ConfigMap{}
	if !ok {
		return out
	}
	want := map[source.ObjectKey]bool{}
	for _, pod := range s.specs {
		for _, k := range source.ConfigMapRefs(pod) {
			want[k] = true
		}
	}
	keys := make([]source.ObjectKey, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].Namespace+"/"+keys[i].Name < keys[j].Namespace+"/"+keys[j].Name })
	var failed []string
	var lastErr error
	for _, k := range keys {
		cm, err := src.ConfigMap(ctx, k.Namespace, k.Name)
		if err != nil {
			failed = append(failed, k.Namespace+"/"+k.Name)
			lastErr = err
			continue
		}
		if out[k.Namespace] == nil {
			out[k.Namespace] = map[string]*corev1.ConfigMap{}
		}
		out[k.Namespace][k.Name] = cm
	}
	if len(failed) > 0 {
		s.warnings = append(s.warnings, model.Warning{Source: "configmaps", Message: fmt.Sprintf("reading ConfigMaps %s: %v; heap settings that come from them are not checked (runtime-heap is undecided for those containers).", strings.Join(failed, ", "), lastErr)})
	}
	return out
}

// readVPAs reads the VerticalPodAutoscalers of the findings' namespaces,
// by target (namespace/Kind/name), where the source has them.
// readLimitRanges reads the LimitRanges of the findings' namespaces: the
// bounds a fix's limit stays within, by namespace.
func (s *scanner) readLimitRanges(ctx context.Context) map[string]recommend.Bounds {
	out := map[string]recommend.Bounds{}
	src, ok := s.src.(source.LimitRangeSource)
	if !ok {
		return out
	}
	nss, ns := s.findingNamespaces()
	err := src.LimitRanges(ctx, ns, func(lr *corev1.LimitRange) error {
		if nss[lr.Namespace] {
			out[lr.Namespace] = out[lr.Namespace].Tighten(recommend.BoundsOf(lr))
		}
		return nil
	})
	if err != nil {
		s.warnings = append(s.warnings, readWarning("limitranges", Where(ns), err, "the fixes' limits are not kept within the namespaces' LimitRanges"))
	}
	return out
}

// findingNamespaces are the findings' namespaces, and the one to list
// objects of ("" for all when there are several).
func (s *scanner) findingNamespaces() (map[string]bool, string) {
	nss := map[string]bool{}
	for _, k := range s.findings {
		nss[k.f.Namespace] = true
	}
	ns := ""
	if len(nss) == 1 {
		for n := range nss {
			ns = n
		}
	}
	return nss, ns
}

func (s *scanner) readVPAs(ctx context.Context) map[string][]workload.VPA {
	out := map[string][]workload.VPA{}
	src, ok := s.src.(source.VPASource)
	if !ok {
		return out
	}
	nss, ns := s.findingNamespaces()
	err := src.VPAs(ctx, ns, func(u *unstructured.Unstructured) error {
		if v, err := workload.VPAOf(u); err == nil && nss[v.Namespace] {
			k := v.Namespace + "/" + v.Target.String()
			out[k] = append(out[k], v)
		}
		return nil
	})
	if err != nil {
		s.warnings = append(s.warnings, readWarning("verticalpodautoscalers.autoscaling.k8s.io", Where(ns), err, "the causes do not say which containers a VPA sizes"))
	}
	return out
}
