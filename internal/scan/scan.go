// Package scan finds every OOM-killed container in a cluster's state: it
// reads pods and events from a source, runs the detectors of package detect,
// resolves the workload owning each pod, and groups the findings into a
// report, newest kill first.
package scan

import (
	"context"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/oomdoctor/oomdoctor/internal/detect"
	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/source"
	"github.com/oomdoctor/oomdoctor/internal/workload"
)

// Options says what to scan.
type Options struct {
	Scope source.Scope
	// Since keeps only kills within this long before the data's time; 0
	// keeps all. Kills whose time the API did not give are kept.
	Since time.Duration
	// Now is the current time, used as the data's time for live sources.
	Now time.Time
	// Progress, when set, hears how many objects have been read so far.
	Progress func(what string, n int)
	// Diagnose says why each container was killed (package diagnose),
	// from the pods, nodes, events and, with History, usage history.
	Diagnose bool
	// History reads the killed containers' usage history (nil: none).
	History HistoryFunc
	// KubeFlags are the kubeconfig flags the diagnosis' fix commands
	// carry (" --context prod"), so that they change the cluster scanned.
	KubeFlags string
	// Logs, when set, reads the logs of the containers whose last run
	// exited with an error their status does not explain, for the
	// runtime's out-of-memory error (a runtime-oom finding).
	Logs LogFunc
	// BeforeEvents, when set, runs once the pods are read, before the
	// events are; an error ends the scan. scan -w waits there for its
	// watch's first lists (Watcher.Synced).
	BeforeEvents func(context.Context) error
}

// kernelKillWindow is how far apart a kernel log kill (node-problem-detector)
// and a container's termination may be and still be the same kill. The kubelet
// reports a kill within about a second; node-problem-detector's clock is the
// kernel log's.
const kernelKillWindow = time.Minute

// podInfo is what scan keeps of every pod it read: enough to tie events to
// pods without holding the pods themselves.
type podInfo struct {
	uid        string
	node       string
	controller *metav1.OwnerReference
	evicted    bool
}

type found struct {
	f          model.Finding
	controller *metav1.OwnerReference
}

type scanner struct {
	src      source.Source
	opts     Options
	asOf     time.Time
	pods     map[source.ObjectKey]podInfo
	nodes    map[string]bool
	findings []found
	// logTargets are the containers whose logs are read (Options.Logs).
	logTargets []logTarget
	probes     map[string][]string // ns/pod/container → liveness failures
	warnings   []model.Warning
	summary    model.ScanSummary

	// for diagnosis
	specs      map[source.ObjectKey]*corev1.Pod
	nodeSums   map[string]*nodeSums
	nodeEvents map[string][]corev1.Event
	kernel     map[string][]model.KernelKill
}

// Run scans the source and returns the report. It fails only when pods
// cannot be read; other sources that fail become warnings in the report.
func Run(ctx context.Context, src source.Source, opts Options) (*model.ScanReport, error) {
	s := &scanner{
		src:    src,
		opts:   opts,
		asOf:   src.AsOf(),
		pods:   map[source.ObjectKey]podInfo{},
		nodes:  map[string]bool{},
		probes: map[string][]string{},

		specs:      map[source.ObjectKey]*corev1.Pod{},
		nodeSums:   map[string]*nodeSums{},
		nodeEvents: map[string][]corev1.Event{},
		kernel:     map[string][]model.KernelKill{},
	}
	if s.asOf.IsZero() {
		s.asOf = opts.Now
	}
	s.asOf = s.asOf.UTC()
	if err := s.readPods(ctx); err != nil {
		return nil, err
	}
	if opts.BeforeEvents != nil {
		if err := opts.BeforeEvents(ctx); err != nil {
			return nil, err
		}
	}
	s.readEvents(ctx)
	s.attachProbeFailures()
	s.correlateKernelKills()
	resolver := s.readOwners(ctx)
	s.readLogs(ctx, resolver)
	s.diagnoseFindings(ctx, resolver)
	return s.report(resolver), nil
}

func (s *scanner) progress(what string, n int) {
	if s.opts.Progress != nil {
		s.opts.Progress(what, n)
	}
}

// within tells whether a kill at t falls inside the --since window.
func (s *scanner) within(t *time.Time) bool {
	return s.opts.Since <= 0 || t == nil || !t.Before(s.asOf.Add(-s.opts.Since))
}

func (s *scanner) add(f model.Finding, controller *metav1.OwnerReference) {
	if s.within(f.LastKill) {
		s.findings = append(s.findings, found{f: f, controller: controller})
	}
}

func (s *scanner) readPods(ctx context.Context) error {
	err := s.src.Pods(ctx, s.opts.Scope, func(pod *corev1.Pod) error {
		s.summary.Pods++
		s.summary.Containers += len(pod.Spec.Containers) + len(pod.Spec.InitContainers) + len(pod.Spec.EphemeralContainers)
		if s.summary.Pods%500 == 0 {
			s.progress("pods", s.summary.Pods)
		}
		controller := metav1.GetControllerOfNoCopy(pod)
		if controller != nil {
			c := *controller
			controller = &c
		}
		info := podInfo{uid: string(pod.UID), node: pod.Spec.NodeName, controller: controller}
		if pod.Spec.NodeName != "" {
			s.nodes[pod.Spec.NodeName] = true
		}
		found, evicted := podFindings(pod)
		s.notePod(pod, len(found) > 0)
		s.noteLogTargets(pod, controller)
		for _, f := range found {
			s.add(f, controller)
		}
		info.evicted = evicted
		s.pods[source.ObjectKey{Namespace: pod.Namespace, Name: pod.Name}] = info
		return nil
	})
	s.progress("pods", s.summary.Pods)
	if err != nil {
		return &ReadError{Resource: "pods", Where: Where(s.opts.Scope.Namespace), Err: err}
	}
	return nil
}

// podFindings are the kills a pod's status shows: its containers' and
// its eviction, which takes in the not-oom kills it made.
func podFindings(pod *corev1.Pod) (found []model.Finding, evicted bool) {
	eviction, evicted := detect.PodEviction(pod)
	for _, f := range detect.ContainerFindings(pod) {
		if evicted && f.Type == model.NotOOM {
			// The kubelet's eviction killed it: not a separate finding.
			eviction.Evidence = append(eviction.Evidence, f.Container+": "+f.Evidence[0])
			continue
		}
		found = append(found, f)
	}
	if evicted {
		found = append(found, eviction)
	}
	return found, evicted
}

// eventQueries returns the event lists to read: every Warning event of the
// scope, plus node events (in "default", where the kubelet and
// node-problem-detector write them) when the scope is one namespace.
func (s *scanner) eventQueries() []source.EventFilter {
	ns := s.opts.Scope.Namespace
	qs := []source.EventFilter{{Namespace: ns, WarningOnly: true}}
	if ns != "" && ns != metav1.NamespaceDefault {
		qs = append(qs, source.EventFilter{Namespace: metav1.NamespaceDefault, InvolvedKind: "Node", WarningOnly: true})
	}
	return qs
}

func (s *scanner) readEvents(ctx context.Context) {
	scoped := s.opts.Scope.Namespace != "" || s.opts.Scope.LabelSelector != ""
	n := 0
	for _, q := range s.eventQueries() {
		err := s.src.Events(ctx, q, func(e *corev1.Event) error {
			n++
			if n%500 == 0 {
				s.progress("events", n)
			}
			s.event(e, scoped)
			return nil
		})
		if err != nil {
			s.warnings = append(s.warnings, readWarning("events", Where(q.Namespace), err,
				"SystemOOM, OOMKilling (node-problem-detector), Evicted and liveness-probe events are missing from this report"))
		}
	}
}

func (s *scanner) event(e *corev1.Event, scoped bool) {
	s.noteEvent(e)
	if e.InvolvedObject.Kind == "Node" {
		if f, ok := detect.NodeEventFinding(e); ok && (!scoped || s.nodes[f.Node]) {
			s.add(f, nil)
		}
		return
	}
	if k, ok := detect.AgentKill(e); ok {
		if f, ok := detect.ChildKillFinding(e, k); ok {
			key := source.ObjectKey{Namespace: f.Namespace, Name: f.Pod}
			info, exists := s.pods[key]
			if exists || s.opts.Scope.LabelSelector == "" {
				if exists && f.Node == "" {
					f.Node = info.node
				}
				s.add(f, info.controller)
			}
		}
		return
	}
	if pk, ok := detect.LivenessFailure(e); ok {
		key := pk.Namespace + "/" + pk.Pod + "/" + pk.Container
		s.probes[key] = append(s.probes[key], pk.Evidence)
		return
	}
	key := source.ObjectKey{Namespace: e.InvolvedObject.Namespace, Name: e.InvolvedObject.Name}
	info, exists := s.pods[key]
	if exists && info.evicted {
		return // the pod's status already told
	}
	if !exists && s.opts.Scope.LabelSelector != "" {
		return // a pod that is gone cannot be matched against the selector
	}
	if exists && string(e.InvolvedObject.UID) != "" && string(e.InvolvedObject.UID) != info.uid {
		exists = false // an older pod of the same name
	}
	f, ok := detect.EventEviction(e, nil)
	if !ok {
		return
	}
	var controller *metav1.OwnerReference
	if exists {
		f.Node = info.node
		controller = info.controller
		info.evicted = true
		s.pods[key] = info
	}
	s.add(f, controller)
}

// attachProbeFailures adds failed liveness probes as evidence to the
// not-oom findings of the same container: the likely sender of the SIGKILL.
func (s *scanner) attachProbeFailures() {
	for i := range s.findings {
		f := &s.findings[i].f
		if f.Type != model.NotOOM {
			continue
		}
		if ev := s.probes[f.Namespace+"/"+f.Pod+"/"+f.Container]; len(ev) > 0 {
			f.Evidence = append(f.Evidence, ev...)
			f.Explanation = "The kubelet killed the container because its liveness probe failed (exit code 137 from SIGKILL, not an OOM kill). Fix the probe or what makes the process unresponsive; raising the memory limit will not help."
		}
	}
}

// correlateKernelKills ties each kernel OOM kill seen by node-problem-detector
// to a container OOM kill on the same node at about the same time; the event
// becomes evidence of that finding. Kills that match no container stay
// node-level findings: the API has no trace of their victim.
func (s *scanner) correlateKernelKills() {
	kept := s.findings[:0]
	for _, k := range s.findings {
		if k.f.Type != model.KernelOOMKill || k.f.LastKill == nil || k.f.Pod != "" {
			// The node agent's child kills already name their container.
			kept = append(kept, k)
			continue
		}
		if c := s.matchingContainerKill(k.f); c != nil {
			c.Evidence = append(c.Evidence, "kernel log: "+k.f.Evidence[0])
			continue
		}
		if s.opts.Scope.Namespace != "" || s.opts.Scope.LabelSelector != "" {
			k.f.Explanation += " This scan covers only part of the cluster: the victim may also be a container outside it (scan without -n and -l to tell)."
		}
		kept = append(kept, k)
	}
	s.findings = kept
}

func (s *scanner) matchingContainerKill(k model.Finding) *model.Finding {
	var best *model.Finding
	var bestGap time.Duration
	for i := range s.findings {
		f := &s.findings[i].f
		if f.Type != model.OOMKilled || f.Node != k.Node || f.LastKill == nil {
			continue
		}
		gap := f.LastKill.Sub(*k.LastKill)
		if gap < 0 {
			gap = -gap
		}
		if gap <= kernelKillWindow && (best == nil || gap < bestGap) {
			best, bestGap = f, gap
		}
	}
	return best
}

// readOwners lists the intermediate owners (ReplicaSets, Jobs) that the
// findings' pods need resolved, one paged list per kind.
func (s *scanner) readOwners(ctx context.Context) *workload.Resolver {
	r := &workload.Resolver{Owners: map[source.OwnerKind]map[source.ObjectKey]metav1.OwnerReference{}}
	need := map[source.OwnerKind]map[string]bool{}
	needs := func(namespace string, controller *metav1.OwnerReference) {
		if kind := workload.NeedsList(controller); kind != "" {
			if need[kind] == nil {
				need[kind] = map[string]bool{}
			}
			need[kind][namespace] = true
		}
	}
	for _, k := range s.findings {
		needs(k.f.Namespace, k.controller)
	}
	for _, t := range s.logTargets {
		needs(t.pod.Namespace, t.controller)
	}
	for _, kind := range []source.OwnerKind{source.ReplicaSets, source.Jobs} {
		namespaces := need[kind]
		if len(namespaces) == 0 {
			continue
		}
		ns := s.opts.Scope.Namespace
		if len(namespaces) == 1 {
			for n := range namespaces {
				ns = n
			}
		}
		owners, err := s.src.ControllerOwners(ctx, kind, ns)
		if err != nil {
			s.warnings = append(s.warnings, readWarning(string(kind), Where(ns), err,
				fmt.Sprintf("pods are grouped by their %s instead of the workload that owns it", ownedKind(kind))))
			continue
		}
		r.Owners[kind] = owners
	}
	return r
}

func ownedKind(k source.OwnerKind) string {
	if k == source.Jobs {
		return "Job"
	}
	return "ReplicaSet"
}

func (s *scanner) report(r *workload.Resolver) *model.ScanReport {
	groups := map[model.WorkloadRef]*model.WorkloadFindings{}
	for _, k := range s.findings {
		f := k.f
		if f.Workload.Kind == "" {
			f.Workload = r.Resolve(f.Namespace, f.Pod, k.controller)
		}
		g := groups[f.Workload]
		if g == nil {
			g = &model.WorkloadFindings{Workload: f.Workload}
			groups[f.Workload] = g
		}
		g.Findings = append(g.Findings, f)
	}
	rep := &model.ScanReport{
		APIVersion: model.APIVersion,
		Kind:       model.ScanReportKind,
		Metadata: model.ReportMetadata{
			GeneratedAt: s.opts.Now.UTC(),
			AsOf:        s.asOf,
			Source:      s.src.Describe(),
			Scope: model.Scope{
				AllNamespaces: s.opts.Scope.Namespace == "",
				Namespace:     s.opts.Scope.Namespace,
				Selector:      s.opts.Scope.LabelSelector,
			},
		},
		Workloads: []model.WorkloadFindings{},
		Warnings:  s.warnings,
	}
	if s.opts.Since > 0 {
		rep.Metadata.Scope.Since = s.opts.Since.String()
	}
	s.summary.ByType = map[model.FindingType]int{}
	for _, t := range model.FindingTypes {
		s.summary.ByType[t] = 0
	}
	for _, g := range groups {
		sort.SliceStable(g.Findings, func(i, j int) bool { return newerFinding(&g.Findings[i], &g.Findings[j]) })
		g.LastKill = g.Findings[0].LastKill
		for _, f := range g.Findings {
			s.summary.ByType[f.Type]++
			s.summary.Findings++
		}
		rep.Workloads = append(rep.Workloads, *g)
	}
	sort.Slice(rep.Workloads, func(i, j int) bool {
		a, b := &rep.Workloads[i], &rep.Workloads[j]
		if c := compareTimes(a.LastKill, b.LastKill); c != 0 {
			return c > 0
		}
		return workloadLess(a.Workload, b.Workload)
	})
	s.summary.Workloads = len(rep.Workloads)
	rep.Summary = s.summary
	return rep
}

// compareTimes orders times with nil (unknown) as the oldest.
func compareTimes(a, b *time.Time) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	return a.Compare(*b)
}

func newerFinding(a, b *model.Finding) bool {
	if c := compareTimes(a.LastKill, b.LastKill); c != 0 {
		return c > 0
	}
	if a.Pod != b.Pod {
		return a.Pod < b.Pod
	}
	if a.Container != b.Container {
		return a.Container < b.Container
	}
	return a.Type < b.Type
}

func workloadLess(a, b model.WorkloadRef) bool {
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	if a.Kind != b.Kind {
		return a.Kind < b.Kind
	}
	return a.Name < b.Name
}
