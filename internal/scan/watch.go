package scan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/oomdoctor/oomdoctor/internal/detect"
	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/source"
	"github.com/oomdoctor/oomdoctor/internal/source/kube"
)

// Watcher follows a live cluster for the kills a scan did not see (scan
// -w): a container status that shows a new termination or eviction, a
// Warning event that tells of a kill (the node agent's,
// node-problem-detector's, the kubelet's SystemOOM, an eviction). Each
// new kill is diagnosed as scan diagnoses (opts.Diagnose, opts.History),
// from a scan of its pod or event, the watched events of the pod and its
// node, and what the namespace holds.
//
// Pods and Warning events are watched through informers (a list, then a
// watch that resumes where it broke off), started before the scan: a kill
// the scan's lists miss reaches the watch as a change, and one both see
// is told once.
type Watcher struct {
	src  *kube.Source
	opts Options
	pods cache.Store
	// eventStores hold the watched Warning events.
	eventStores []cache.Store
	// seen holds the findings reported (findingKey), events the kill
	// events handled (eventKey): both only in Follow.
	seen, events map[string]bool
	work         chan any
	stop         chan struct{}
	closeOnce    sync.Once
	fatal        chan error
}

// StartWatch starts watching the scope of opts and returns once the first
// lists are in; run the scan then, and Follow after it. warn hears, once
// each, the errors the watch retries after (a server that went away); a
// refusal (forbidden, unauthorized) ends it, here or in Follow. Close
// stops it.
func StartWatch(ctx context.Context, src *kube.Source, opts Options, warn func(error)) (*Watcher, error) {
	w := &Watcher{src: src, opts: opts, seen: map[string]bool{}, events: map[string]bool{}, work: make(chan any, 1024), stop: make(chan struct{})}
	ns, sel := opts.Scope.Namespace, opts.Scope.LabelSelector
	client := src.Client()
	pods := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(ns),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = sel })).Core().V1().Pods().Informer()
	warnings := func(namespace string, kind string) cache.SharedIndexInformer {
		set := fields.Set{"type": corev1.EventTypeWarning}
		if kind != "" {
			set["involvedObject.kind"] = kind
		}
		return informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(namespace),
			informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.FieldSelector = set.String() })).Core().V1().Events().Informer()
	}
	// Node events live in "default": a namespace's watch reads them there.
	evs := []cache.SharedIndexInformer{warnings(ns, "")}
	if ns != "" && ns != metav1.NamespaceDefault {
		evs = append(evs, warnings(metav1.NamespaceDefault, "Node"))
	}
	w.pods = pods.GetStore()
	for _, inf := range evs {
		w.eventStores = append(w.eventStores, inf.GetStore())
	}
	all := append([]cache.SharedIndexInformer{pods}, evs...)
	for _, inf := range all {
		_ = inf.SetTransform(cache.TransformFunc(func(obj any) (any, error) {
			if m, ok := obj.(metav1.Object); ok {
				m.SetManagedFields(nil)
			}
			return obj, nil
		}))
		if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    w.enqueue,
			UpdateFunc: func(_, obj any) { w.enqueue(obj) },
		}); err != nil {
			return nil, err
		}
	}
	// A refusal ends the watch (it would be refused forever); anything
	// else is said once and retried by the informer, with backoff.
	w.fatal = make(chan error, 1)
	var errMu sync.Mutex
	var watchErr error
	said := map[string]bool{}
	for _, inf := range all {
		_ = inf.SetWatchErrorHandlerWithContext(func(_ context.Context, r *cache.Reflector, err error) {
			select {
			case <-w.stop:
				return // the watch is over: its requests were cancelled
			default:
			}
			if errors.Is(err, io.EOF) {
				return // a watch the server closed: resumed at once
			}
			if apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) {
				select {
				case w.fatal <- fmt.Errorf("watching %s: %w (scan -w needs the verb \"watch\" on pods and events, besides \"list\")", watched(r), err):
				default: // one is enough
				}
				return
			}
			errMu.Lock()
			defer errMu.Unlock()
			watchErr = err
			if warn != nil && !said[err.Error()] {
				said[err.Error()] = true
				warn(fmt.Errorf("watching %s: %w; retrying", watched(r), err))
			}
		})
		go inf.Run(w.stop)
	}
	synced := make([]cache.InformerSynced, len(all))
	for i, inf := range all {
		synced[i] = inf.HasSynced
	}
	syncCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	refused := make(chan error, 1)
	go func() {
		select {
		case err := <-w.fatal:
			refused <- err
			cancel()
		case <-syncCtx.Done():
		}
	}()
	if !cache.WaitForCacheSync(syncCtx.Done(), synced...) {
		w.Close()
		select {
		case err := <-refused:
			return nil, err
		default:
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		errMu.Lock()
		defer errMu.Unlock()
		return nil, fmt.Errorf("watching pods and events: %w", watchErr)
	}
	cancel()
	select {
	case err := <-refused:
		// Refused after the lists: the watch itself.
		w.Close()
		return nil, err
	default:
	}
	// The scan lists events after these: it sees each of them, or tells
	// of it (an OOMKilling event it ties to a container's kill is no
	// finding of its own, which the watch could not tell from a new one).
	for _, st := range w.eventStores {
		for _, obj := range st.List() {
			e := obj.(*corev1.Event)
			w.events[eventKey(e)] = true
			if f, ok := eventFinding(e); ok {
				w.seen[findingKey(&f)] = true
			}
		}
	}
	return w, nil
}

// Close stops the watch.
func (w *Watcher) Close() { w.closeOnce.Do(func() { close(w.stop) }) }

// Follow hands fn a report of each kill not in already (the scan's
// report), as it happens, until ctx ends; now dates the reports. It
// closes the watch when it returns.
func (w *Watcher) Follow(ctx context.Context, already *model.ScanReport, now func() time.Time, fn func(*model.ScanReport) error) error {
	defer w.Close()
	if already != nil {
		for _, g := range already.Workloads {
			for i := range g.Findings {
				w.seen[findingKey(&g.Findings[i])] = true
			}
		}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-w.fatal:
			return err
		case obj := <-w.work:
			rep, err := w.handle(ctx, obj, now)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			if rep != nil {
				if err := fn(rep); err != nil {
					return err
				}
			}
		}
	}
}

// enqueue hands an object to the worker. Handlers must not block the
// informers for long; a full queue waits, which slows the watch rather
// than drop a kill.
func (w *Watcher) enqueue(obj any) {
	switch o := obj.(type) {
	case *corev1.Pod:
	case *corev1.Event:
		if !killEvent(o) {
			return
		}
	default:
		return
	}
	select {
	case w.work <- obj:
	case <-w.stop:
	}
}

// watched names what a reflector watches: pods, events.
func watched(r *cache.Reflector) string {
	d := r.TypeDescription() // *v1.Pod
	return strings.ToLower(d[strings.LastIndexByte(d, '.')+1:]) + "s"
}

// killEvent tells whether an event tells of a kill scan reports.
func killEvent(e *corev1.Event) bool {
	_, ok := eventFinding(e)
	return ok
}

// eventFinding is the kill an event tells of, as scan reads it before
// it ties the event to its pod.
func eventFinding(e *corev1.Event) (model.Finding, bool) {
	if e.InvolvedObject.Kind == "Node" {
		return detect.NodeEventFinding(e)
	}
	if k, ok := detect.AgentKill(e); ok {
		return detect.ChildKillFinding(e, k)
	}
	return detect.EventEviction(e, nil)
}

// handle scans what one object tells, when it tells of a kill not yet
// seen, and returns a report of the new findings (nil: none).
func (w *Watcher) handle(ctx context.Context, obj any, now func() time.Time) (*model.ScanReport, error) {
	n := narrow{Source: w.src}
	scope := source.Scope{}
	switch o := obj.(type) {
	case *corev1.Pod:
		found, _ := podFindings(o)
		fresh := false
		for i := range found {
			fresh = fresh || !w.seen[findingKey(&found[i])]
		}
		if !fresh {
			return nil, nil
		}
		n.pods = []*corev1.Pod{o}
		scope.Namespace = o.Namespace
		// The pod's events and its node's, from the watch's own store.
		n.events = w.eventsAbout(o)
	case *corev1.Event:
		k := eventKey(o)
		if w.events[k] {
			return nil, nil
		}
		w.events[k] = true
		n.events = []*corev1.Event{o}
		partial := w.opts.Scope.Namespace != "" || w.opts.Scope.LabelSelector != ""
		switch {
		case o.InvolvedObject.Kind == "Node":
			// As scan keeps them: a partial scope keeps the events of
			// the nodes its pods run on.
			if partial && !w.runsOn(o.InvolvedObject.Name) {
				return nil, nil
			}
		default:
			p, ok, _ := w.pods.GetByKey(o.InvolvedObject.Namespace + "/" + o.InvolvedObject.Name)
			if ok {
				n.pods = []*corev1.Pod{p.(*corev1.Pod)}
			} else if w.opts.Scope.LabelSelector != "" {
				return nil, nil // a pod outside the selector, or gone
			}
			scope.Namespace = o.InvolvedObject.Namespace
		}
	}
	var pod *corev1.Pod
	if p, ok := obj.(*corev1.Pod); ok {
		pod = p
	}
	opts := w.opts
	opts.Scope = scope
	opts.Now = now()
	opts.Progress = nil
	rep, err := Run(ctx, n, opts)
	if err != nil {
		return nil, err
	}
	if pod != nil {
		// The node's events are there to diagnose and to tie kernel
		// kills to the pod's; what is reported is the pod's.
		for i := range rep.Workloads {
			g := &rep.Workloads[i]
			g.Findings = slices.DeleteFunc(g.Findings, func(f model.Finding) bool { return f.Namespace != pod.Namespace || f.Pod != pod.Name })
		}
	}
	return w.fresh(rep), nil
}

// runsOn tells whether a watched pod runs on the node.
func (w *Watcher) runsOn(node string) bool {
	for _, obj := range w.pods.List() {
		if obj.(*corev1.Pod).Spec.NodeName == node {
			return true
		}
	}
	return false
}

// eventsAbout returns the watched events about the pod and its node.
func (w *Watcher) eventsAbout(p *corev1.Pod) []*corev1.Event {
	var out []*corev1.Event
	for _, st := range w.eventStores {
		for _, obj := range st.List() {
			e := obj.(*corev1.Event)
			o := e.InvolvedObject
			if o.Kind == "Pod" && o.Namespace == p.Namespace && o.Name == p.Name ||
				o.Kind == "Node" && p.Spec.NodeName != "" && o.Name == p.Spec.NodeName {
				out = append(out, e)
			}
		}
	}
	return out
}

// fresh keeps the findings of rep not reported before, and marks them
// reported; nil when none is left.
func (w *Watcher) fresh(rep *model.ScanReport) *model.ScanReport {
	var groups []model.WorkloadFindings
	rep.Summary.Findings, rep.Summary.Workloads = 0, 0
	for t := range rep.Summary.ByType {
		rep.Summary.ByType[t] = 0
	}
	for _, g := range rep.Workloads {
		var keep []model.Finding
		for i := range g.Findings {
			k := findingKey(&g.Findings[i])
			if w.seen[k] {
				continue
			}
			w.seen[k] = true
			keep = append(keep, g.Findings[i])
			rep.Summary.ByType[g.Findings[i].Type]++
		}
		if len(keep) > 0 {
			g.Findings = keep
			groups = append(groups, g)
		}
	}
	if len(groups) == 0 {
		return nil
	}
	rep.Workloads = groups
	rep.Summary.Workloads = len(groups)
	for _, g := range groups {
		rep.Summary.Findings += len(g.Findings)
	}
	return rep
}

// findingKey names one kill: a container's termination (by its time, or
// its restart count when the status gave none), an eviction, a node's
// event (by its time). A pod's findings leave out the node, which scan
// fills in from the pod when it has it.
func findingKey(f *model.Finding) string {
	at := "r" + strconv.Itoa(int(f.Restarts))
	if f.LastKill != nil {
		at = strconv.FormatInt(f.LastKill.UnixNano(), 10)
	}
	where := f.Pod
	if where == "" {
		where = "node " + f.Node
	}
	return string(f.Type) + "|" + f.Namespace + "|" + where + "|" + f.Container + "|" + at
}

// eventKey names an event as last written: a repeat raises its count.
func eventKey(e *corev1.Event) string {
	n := e.Count
	if e.Series != nil {
		n = e.Series.Count
	}
	return string(e.UID) + "/" + strconv.Itoa(int(n))
}

// narrow is the live source seen through one object: its pods and events
// are the ones given; everything else (owners, nodes, ConfigMaps,
// LimitRanges, VPAs) is read from the cluster.
type narrow struct {
	*kube.Source
	pods   []*corev1.Pod
	events []*corev1.Event
}

func (n narrow) Pods(_ context.Context, _ source.Scope, fn func(*corev1.Pod) error) error {
	for _, p := range n.pods {
		if err := fn(p); err != nil {
			return err
		}
	}
	return nil
}

func (n narrow) Events(_ context.Context, f source.EventFilter, fn func(*corev1.Event) error) error {
	for _, e := range n.events {
		if f.Matches(e) {
			if err := fn(e); err != nil {
				return err
			}
		}
	}
	return nil
}
