package cli

import (
	"context"
	"fmt"
	"sort"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/oomdoctor/oomdoctor/internal/detect"
	"github.com/oomdoctor/oomdoctor/internal/diagnose"
	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/recommend"
	"github.com/oomdoctor/oomdoctor/internal/runtimes"
	"github.com/oomdoctor/oomdoctor/internal/scan"
	"github.com/oomdoctor/oomdoctor/internal/source"
	"github.com/oomdoctor/oomdoctor/internal/source/kube"
	"github.com/oomdoctor/oomdoctor/internal/source/snapshot"
	"github.com/oomdoctor/oomdoctor/internal/usage/prom"
	"github.com/oomdoctor/oomdoctor/internal/workload"
)

// specs are the containers' specs by workload and container name, from a
// snapshot or the live cluster: what runtime each runs and its heap
// settings, and the OOM kills the pods' status and the node agent's events
// show (recommend_kills.go).
type specs struct {
	byKey  map[string]*corev1.Container
	cms    map[string]map[string]*corev1.ConfigMap
	owners map[string]model.WorkloadRef // namespace/pod → workload
	// podLabels are the pods' labels, by namespace/pod, for -l.
	podLabels map[string]labels.Set
	// picked, when -l is given, are the workloads and pods it selects
	// (specKey without the container); nil: every one.
	picked map[string]bool
	kills  knownKills
	win    window // the history read, for the kills
	// maxAllocatable is the largest node's allocatable memory in the
	// nodes' status (0: no nodes, or they could not be read).
	maxAllocatable float64
	// bounds are the namespaces' LimitRanges' bounds on a container's
	// memory, by namespace.
	bounds map[string]recommend.Bounds
	// vpas are the VerticalPodAutoscalers, by target workload
	// (namespace/Kind/name).
	vpas map[string][]workload.VPA
	// hpas are the HorizontalPodAutoscalers that scale on memory, by
	// target workload (pickKey).
	hpas map[string][]workload.HPA
	// containers are each workload's containers (pickKey), in the
	// order of its pods' specs.
	containers map[string][]string
	// quotas are the ResourceQuotas on memory; charged the pods they count
	// now (not ended), of the namespaces with such a quota only.
	quotas  []recommend.Quota
	charged []*corev1.Pod
	// surges are the pods each Deployment's or DaemonSet's rollout adds
	// before old ones go, in the namespaces with a quota.
	surges map[model.WorkloadRef]int
}

func specKey(w model.WorkloadRef, container string) string {
	return w.Namespace + "/" + w.Kind + "/" + w.Name + "/" + container
}

// loadSpecs reads the pods of a source (a snapshot, or the live cluster)
// and the ConfigMaps their env comes from, and resolves their workloads.
// ConfigMaps that cannot be read become notes.
func loadSpecs(ctx context.Context, src source.Source, namespace string) (*specs, []string, error) {
	r, err := ownerResolver(ctx, src, namespace)
	if err != nil {
		return nil, nil, err
	}
	s := &specs{bounds: map[string]recommend.Bounds{}, vpas: map[string][]workload.VPA{}, byKey: map[string]*corev1.Container{}, cms: map[string]map[string]*corev1.ConfigMap{}, owners: map[string]model.WorkloadRef{}, podLabels: map[string]labels.Set{}, hpas: map[string][]workload.HPA{}, containers: map[string][]string{}, kills: knownKills{own: map[string][]knownKill{}, foreign: map[string][]knownKill{}}}
	var notes []string
	quotaNS := map[string]bool{}
	if q, ok := src.(source.ResourceQuotaSource); ok {
		err := q.ResourceQuotas(ctx, namespace, func(rq *corev1.ResourceQuota) error {
			if x, ok := recommend.QuotaOf(rq); ok {
				s.quotas = append(s.quotas, x)
				quotaNS[x.Namespace] = true
			}
			return nil
		})
		if err != nil {
			notes = append(notes, fmt.Sprintf("resourcequotas: %v; recommendations are not checked against the namespaces' ResourceQuotas", err))
		}
	}
	if rs, ok := src.(source.RolloutSource); ok && len(quotaNS) > 0 {
		s.surges = map[model.WorkloadRef]int{}
		err := rs.Rollouts(ctx, namespace, func(o runtime.Object) error {
			m, err := meta.Accessor(o)
			if err != nil || !quotaNS[m.GetNamespace()] {
				return nil
			}
			kind := "DaemonSet"
			if _, ok := o.(*appsv1.Deployment); ok {
				kind = "Deployment"
			}
			if _, surge, ok := workload.Rollout(o); ok && surge > 0 {
				s.surges[model.WorkloadRef{Namespace: m.GetNamespace(), Kind: kind, Name: m.GetName()}] = int(surge)
			}
			return nil
		})
		if err != nil {
			notes = append(notes, fmt.Sprintf("deployments, daemonsets: %v; the ResourceQuotas are checked without the rollouts' surge", err))
		}
	}
	refs := map[source.ObjectKey]bool{}
	err = src.Pods(ctx, source.Scope{Namespace: namespace}, func(p *corev1.Pod) error {
		w := r.Resolve(p.Namespace, p.Name, metav1.GetControllerOfNoCopy(p))
		s.owners[p.Namespace+"/"+p.Name] = w
		s.podLabels[p.Namespace+"/"+p.Name] = p.Labels
		for i := range p.Spec.Containers {
			c := p.Spec.Containers[i]
			if s.byKey[specKey(w, c.Name)] == nil {
				s.containers[pickKey(w)] = append(s.containers[pickKey(w)], c.Name)
			}
			s.byKey[specKey(w, c.Name)] = &c
			s.byKey[specKey(model.WorkloadRef{Namespace: p.Namespace, Kind: "Pod", Name: p.Name}, c.Name)] = &c
		}
		for _, k := range source.ConfigMapRefs(p) {
			refs[k] = true
		}
		s.kills.fromStatus(p, w)
		if quotaNS[p.Namespace] && recommend.Charged(p) {
			s.charged = append(s.charged, p)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	err = src.Events(ctx, source.EventFilter{Namespace: namespace, InvolvedKind: "Pod", WarningOnly: true}, func(e *corev1.Event) error {
		s.kills.fromAgent(e, s.owners)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if n, ok := src.(source.NodeSource); ok {
		err := n.Nodes(ctx, func(n *corev1.Node) error {
			if q, ok := n.Status.Allocatable[corev1.ResourceMemory]; ok {
				s.maxAllocatable = max(s.maxAllocatable, float64(q.Value()))
			}
			return nil
		})
		if err != nil {
			notes = append(notes, fmt.Sprintf("nodes: %v; limits are checked against kube_node_status_allocatable only", err))
		}
	}
	if l, ok := src.(source.LimitRangeSource); ok {
		err := l.LimitRanges(ctx, namespace, func(lr *corev1.LimitRange) error {
			s.bounds[lr.Namespace] = s.bounds[lr.Namespace].Tighten(recommend.BoundsOf(lr))
			return nil
		})
		if err != nil {
			notes = append(notes, fmt.Sprintf("limitranges: %v; recommendations are not kept within the namespaces' LimitRanges", err))
		}
	}
	if v, ok := src.(source.VPASource); ok {
		err := v.VPAs(ctx, namespace, func(u *unstructured.Unstructured) error {
			x, err := workload.VPAOf(u)
			if err != nil {
				notes = append(notes, err.Error()+"; it is left out")
				return nil
			}
			k := x.Target.String()
			s.vpas[x.Namespace+"/"+k] = append(s.vpas[x.Namespace+"/"+k], x)
			return nil
		})
		if err != nil {
			notes = append(notes, fmt.Sprintf("verticalpodautoscalers: %v; recommendations do not say which containers a VPA sizes", err))
		}
	}
	if h, ok := src.(source.HPASource); ok {
		err := h.HPAs(ctx, namespace, func(x *autoscalingv2.HorizontalPodAutoscaler) error {
			if a := workload.HPAOf(x); len(a.Memory) > 0 {
				s.hpas[pickKey(a.Target)] = append(s.hpas[pickKey(a.Target)], a)
			}
			return nil
		})
		if err != nil {
			notes = append(notes, fmt.Sprintf("horizontalpodautoscalers: %v; recommendations do not say how they move an HPA that scales on memory", err))
		}
	}
	cmSrc, ok := src.(scan.ConfigMapSource)
	for k := range refs {
		if !ok {
			break
		}
		cm, err := cmSrc.ConfigMap(ctx, k.Namespace, k.Name)
		if err != nil {
			notes = append(notes, fmt.Sprintf("ConfigMap %s/%s: %v; heap flags set there are not seen", k.Namespace, k.Name, err))
			continue
		}
		if s.cms[k.Namespace] == nil {
			s.cms[k.Namespace] = map[string]*corev1.ConfigMap{}
		}
		s.cms[k.Namespace][k.Name] = cm
	}
	sort.Strings(notes)
	return s, notes, nil
}

// ownerResolver resolves the pods of a namespace ("" for all) to their
// workloads, with the ReplicaSets' and Jobs' own owners listed once.
func ownerResolver(ctx context.Context, src source.Source, namespace string) (*workload.Resolver, error) {
	r := &workload.Resolver{Owners: map[source.OwnerKind]map[source.ObjectKey]metav1.OwnerReference{}}
	for _, k := range []source.OwnerKind{source.ReplicaSets, source.Jobs} {
		o, err := src.ControllerOwners(ctx, k, namespace)
		if err != nil {
			return nil, err
		}
		r.Owners[k] = o
	}
	return r, nil
}

// runtime inspects a workload container's spec.
// clusterSpecs reads the pods' specs, the ConfigMaps their env comes from
// and the kills in their status and the node agent's events from the
// cluster of the kubeconfig flags (all namespaces when ns is empty).
func clusterSpecs(ctx context.Context, flags *genericclioptions.ConfigFlags, ns string) (*specs, []string, error) {
	live, err := openCluster(flags, kube.DefaultChunkSize)
	if err != nil {
		return nil, nil, err
	}
	sp, notes, err := loadSpecs(ctx, live, ns)
	if err != nil {
		if u := unreachable(err, live.Describe().Server); u != err {
			return nil, nil, u
		}
		return nil, nil, fmt.Errorf("reading the pods' specs from %s: %w", live.Describe().Server, err)
	}
	return sp, notes, nil
}

func (s *specs) runtime(w model.WorkloadRef, container string) runtimes.Info {
	c := s.byKey[specKey(w, container)]
	if c == nil {
		return runtimes.Info{}
	}
	return diagnose.RuntimeOf(c, s.cms[w.Namespace])
}

// current is the memory request and limit of a workload container's spec
// (0: not set, or the spec is unknown).
func (s *specs) current(w model.WorkloadRef, container string) (request, limit float64) {
	c := s.byKey[specKey(w, container)]
	if c == nil {
		return 0, 0
	}
	if v := detect.MemoryBytes(c.Resources.Requests); v != nil {
		request = float64(*v)
	}
	if v := detect.MemoryBytes(c.Resources.Limits); v != nil {
		limit = float64(*v)
	}
	return request, limit
}

// runtimeFlags are the heap settings that go with a limit for the runtime,
// by the rule lint and fix use (runtimes.HeapFlag); Node's goes in
// NODE_OPTIONS.
func runtimeFlags(info runtimes.Info, limit int64) []string {
	f := runtimes.HeapFlag(info, limit)
	switch {
	case f == "":
		return nil
	case info.Runtime == runtimes.Node:
		return []string{"NODE_OPTIONS=" + f}
	}
	return []string{f}
}

// snapshotGroups reads the history of a snapshot's pods from the series
// files of its folder dir and groups it by workload container (or pod
// container). A folder without series files is an error that ends with
// what to do instead.
func snapshotGroups(ctx context.Context, snap *snapshot.Snapshot, sp *specs, dir string, pf *promFlags, namespace string, perPod bool, instead string) ([]*prom.Group, error) {
	paths := prom.HistoryFiles(dir)
	if len(paths) == 0 {
		return nil, usagef("snapshot %s has no series files (*.om, *.openmetrics, *.csv, gzip or not, in it or its history/ folder): %s", dir, instead)
	}
	labels, err := prom.ParseLabels(pf.Labels)
	if err != nil {
		return nil, usagef("--prometheus-labels: %v", err)
	}
	start, end, step, err := pf.window(snapshotTime(snap), 0)
	if err != nil {
		return nil, err
	}
	sp.win = window{from: start, to: end, step: step}
	pods := map[string]bool{}
	for k := range sp.owners {
		pods[k] = true
	}
	cs, err := (&prom.Files{Paths: paths, Labels: labels}).Read(pods, start, end, step)
	if err != nil {
		return nil, asUsage(err)
	}
	byNS := map[string][]*prom.Container{}
	var order []string
	for _, c := range cs {
		if namespace != "" && c.Namespace != namespace {
			continue
		}
		c.Workload = sp.owners[c.Namespace+"/"+c.Pod]
		if byNS[c.Namespace] == nil {
			order = append(order, c.Namespace)
		}
		byNS[c.Namespace] = append(byNS[c.Namespace], c)
	}
	var out []*prom.Group
	for _, ns := range order {
		out = append(out, prom.Merge(byNS[ns], perPod)...)
	}
	return out, nil
}

// snapshotTime is when the snapshot was captured (now when it does not
// say): its history ends there.
func snapshotTime(snap *snapshot.Snapshot) time.Time {
	if at := snap.AsOf(); !at.IsZero() {
		return at
	}
	return time.Now()
}

// vpaWarning says when a VerticalPodAutoscaler in an updating mode sets
// the container's memory: the values recommended would not take in the
// workload's spec ("" otherwise).
func (s *specs) vpaWarning(w model.WorkloadRef, container string) string {
	for _, v := range s.vpas[w.Namespace+"/"+w.String()] {
		if sets, what := v.Sets(container); sets {
			return fmt.Sprintf("%s sets this container's memory %s in every new pod: values written into the %s would not take; give them to the VPA instead (its resourcePolicy's minAllowed and maxAllowed memory), or set its updateMode to Off", v, what, w.Kind)
		}
	}
	return ""
}
