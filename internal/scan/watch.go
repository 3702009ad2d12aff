package scan

import (
	"cmp"
	"context"
	"fmt"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
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
// watch that resumes where it broke off), started before the scan. The
// scan lists its pods meanwhile, and reads its events from the watch once
// its first lists are in (Synced, Source): a kill the scan's pod list
// misses is in the watch's first list or reaches it as a change, and one
// both see is told once.
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
	out          *outage
	// synced tell when the first lists are in (Synced).
	synced   []cache.InformerSynced
	syncOnce sync.Once
	syncErr  error
}

// Notify is what the watch tells beside the kills, on stderr in the CLI.
type Notify struct {
	// Warn hears, once an outage, an error the watch retries after (a
	// server that went away).
	Warn func(error)
	// Resumed hears that every watch that failed works again.
	Resumed func()
}

// StartWatch starts watching the scope of opts and returns at once, its
// first lists under way: run the scan then, on Source with Synced as its
// BeforeEvents, and Follow after it. A refusal (forbidden, unauthorized)
// ends it, in Synced or in Follow; other errors are retried, and told
// through notify. Close stops it.
func StartWatch(ctx context.Context, src *kube.Source, opts Options, notify Notify) (*Watcher, error) {
	w := &Watcher{src: src, opts: opts, seen: map[string]bool{}, events: map[string]bool{}, work: make(chan any, 1024), stop: make(chan struct{})}
	ns, sel := opts.Scope.Namespace, opts.Scope.LabelSelector
	client := src.Client()
	out := &outage{notify: notify, down: map[string]bool{}}
	// Pods are trimmed as each page or watch event is decoded, not after
	// the whole first list (a transform's time): the watch never holds
	// every pod whole at once (trimmedPods).
	pods := cache.NewSharedIndexInformer(out.track("pods", &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.LabelSelector = sel
			return trimmedPods(ctx, client.CoreV1().Pods(ns), o, src.ChunkSize())
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.LabelSelector = sel
			wi, err := client.CoreV1().Pods(ns).Watch(ctx, o)
			if err != nil {
				return nil, err
			}
			return watch.Filter(wi, func(e watch.Event) (watch.Event, bool) {
				switch e.Type {
				case watch.Added, watch.Modified, watch.Deleted:
					// (A bookmark's annotations end a streamed first
					// list: it passes as it is.)
					e.Object, _ = trimObject(e.Object)
				}
				return e, true
			}), nil
		},
	}), &corev1.Pod{}, 0, cache.Indexers{})
	warnings := func(namespace string, kind string) cache.SharedIndexInformer {
		set := fields.Set{"type": corev1.EventTypeWarning}
		if kind != "" {
			set["involvedObject.kind"] = kind
		}
		selector := set.String()
		return cache.NewSharedIndexInformer(out.track("events", &cache.ListWatch{
			ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				o.FieldSelector = selector
				return client.CoreV1().Events(namespace).List(ctx, o)
			},
			WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				o.FieldSelector = selector
				return client.CoreV1().Events(namespace).Watch(ctx, o)
			},
		}), &corev1.Event{}, 0, cache.Indexers{})
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
		_ = inf.SetTransform(cache.TransformFunc(trim))
		if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    w.enqueue,
			UpdateFunc: func(_, obj any) { w.enqueue(obj) },
		}); err != nil {
			return nil, err
		}
	}
	// A refusal ends the watch (it would be refused forever); anything
	// else is said once an outage and retried by the informer, with
	// backoff.
	w.fatal = make(chan error, 1)
	for _, inf := range all {
		_ = inf.SetWatchErrorHandlerWithContext(func(_ context.Context, r *cache.Reflector, err error) {
			select {
			case <-w.stop:
				return // the watch is over: its requests were cancelled
			default:
			}
			switch {
			case routine(err):
				return
			case refused(err):
				select {
				case w.fatal <- fmt.Errorf("watching %s: %w (scan -w needs the verb \"watch\" on pods and events, besides \"list\")", watched(r), err):
				default: // one is enough
				}
				return
			}
			out.failed(watched(r), err)
		})
		go inf.Run(w.stop)
	}
	w.synced = make([]cache.InformerSynced, len(all))
	for i, inf := range all {
		w.synced[i] = inf.HasSynced
	}
	w.out = out
	return w, nil
}

// Synced waits for the watch's first lists; the scan lists its pods
// meanwhile, and reads its events after it (Options.BeforeEvents, Source).
// Follow calls it too. Once it fails the watch is over: each later call
// returns the same error.
func (w *Watcher) Synced(ctx context.Context) error {
	w.syncOnce.Do(func() { w.syncErr = w.sync(ctx) })
	return w.syncErr
}

func (w *Watcher) sync(ctx context.Context) error {
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
	if !cache.WaitForCacheSync(syncCtx.Done(), w.synced...) {
		w.Close()
		select {
		case err := <-refused:
			return err
		default:
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("watching pods and events: %w", w.out.lastError())
	}
	cancel()
	select {
	case err := <-refused:
		// Refused after the lists: the watch itself.
		w.Close()
		return err
	default:
	}
	// The scan reads these events (Source), or lists them after: it sees
	// each of them, or tells of it (an OOMKilling event it ties to a
	// container's kill is no finding of its own, which the watch could
	// not tell from a new one).
	for _, st := range w.eventStores {
		for _, obj := range st.List() {
			w.told(obj.(*corev1.Event))
		}
	}
	return nil
}

// told marks an event, and the kill it tells of, as told.
func (w *Watcher) told(e *corev1.Event) {
	w.events[eventKey(e)] = true
	if f, ok := eventFinding(e); ok {
		w.seen[findingKey(&f)] = true
	}
}

// Close stops the watch.
func (w *Watcher) Close() { w.closeOnce.Do(func() { close(w.stop) }) }

// Follow hands fn a report of each kill not in already (the scan's
// report), as it happens, until ctx ends; now dates the reports. It
// closes the watch when it returns.
func (w *Watcher) Follow(ctx context.Context, already *model.ScanReport, now func() time.Time, fn func(*model.ScanReport) error) error {
	defer w.Close()
	if err := w.Synced(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	// The lists (the watch's and the scan's) are garbage now: give their
	// memory back once, for a watch that runs for hours.
	debug.FreeOSMemory()
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
		if _, ok := eventFinding(o); !ok {
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

// trimObject is trim for a watch event's object.
func trimObject(obj runtime.Object) (runtime.Object, error) {
	t, err := trim(obj)
	if o, ok := t.(runtime.Object); ok {
		return o, err
	}
	return obj, err
}

// trim keeps of a watched object what tells of a kill: of a pod, its
// status and its containers' names and resources (a tenth of what it
// takes, its env, probes, volumes and annotations left out: a watch holds
// every pod of its scope); a pod with a new kill is read whole to
// diagnose it. Of an event, all but its managed fields.
func trim(obj any) (any, error) {
	switch o := obj.(type) {
	case *corev1.Pod:
		keep := func(cs []corev1.Container) []corev1.Container {
			out := make([]corev1.Container, len(cs))
			for i, c := range cs {
				out[i] = corev1.Container{Name: c.Name, Resources: memoryOnly(c.Resources), RestartPolicy: c.RestartPolicy}
			}
			return out
		}
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: o.Name, Namespace: o.Namespace, UID: o.UID, ResourceVersion: o.ResourceVersion, OwnerReferences: o.OwnerReferences},
			Spec: corev1.PodSpec{NodeName: o.Spec.NodeName, Overhead: o.Spec.Overhead,
				Containers: keep(o.Spec.Containers), InitContainers: keep(o.Spec.InitContainers)},
			Status: corev1.PodStatus{Phase: o.Status.Phase, Reason: o.Status.Reason, Message: o.Status.Message, QOSClass: o.Status.QOSClass},
		}
		if o.Spec.Resources != nil {
			r := memoryOnly(*o.Spec.Resources)
			p.Spec.Resources = &r
		}
		for _, c := range o.Status.Conditions {
			if c.Type == corev1.DisruptionTarget { // an eviction's time
				p.Status.Conditions = append(p.Status.Conditions, c)
			}
		}
		statuses := func(in []corev1.ContainerStatus) []corev1.ContainerStatus {
			out := make([]corev1.ContainerStatus, len(in))
			for i, cs := range in {
				out[i] = corev1.ContainerStatus{Name: cs.Name, State: cs.State, LastTerminationState: cs.LastTerminationState, RestartCount: cs.RestartCount}
				if cs.Resources != nil {
					r := memoryOnly(*cs.Resources)
					out[i].Resources = &r
				}
			}
			return out
		}
		p.Status.ContainerStatuses = statuses(o.Status.ContainerStatuses)
		p.Status.InitContainerStatuses = statuses(o.Status.InitContainerStatuses)
		p.Status.EphemeralContainerStatuses = statuses(o.Status.EphemeralContainerStatuses)
		for _, c := range o.Spec.EphemeralContainers {
			p.Spec.EphemeralContainers = append(p.Spec.EphemeralContainers, corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: c.Name}})
		}
		for _, v := range o.Spec.Volumes {
			if v.EmptyDir != nil {
				p.Spec.Volumes = append(p.Spec.Volumes, v)
			}
		}
		return p, nil
	case metav1.Object:
		o.SetManagedFields(nil)
	}
	return obj, nil
}

// memoryOnly keeps a container's memory request and limit. Its maps are
// shared by every container with the same two values (sizes): a
// ResourceList of one entry takes about 600 bytes, four of them a pod of
// two containers, more than the rest of what the watch keeps of it. The
// watch's objects are only read, never changed.
func memoryOnly(r corev1.ResourceRequirements) corev1.ResourceRequirements {
	req, hasReq := r.Requests[corev1.ResourceMemory]
	lim, hasLim := r.Limits[corev1.ResourceMemory]
	if !hasReq && !hasLim {
		return corev1.ResourceRequirements{}
	}
	var k sizesKey
	if hasReq {
		k.request = req.String()
	}
	if hasLim {
		k.limit = lim.String()
	}
	if v, ok := sizes.Load(k); ok {
		return v.(corev1.ResourceRequirements)
	}
	var out corev1.ResourceRequirements
	if hasReq {
		out.Requests = corev1.ResourceList{corev1.ResourceMemory: req}
	}
	if hasLim {
		out.Limits = corev1.ResourceList{corev1.ResourceMemory: lim}
	}
	v, _ := sizes.LoadOrStore(k, out)
	return v.(corev1.ResourceRequirements)
}

// sizesKey is a memory request and limit as written ("" when not set).
type sizesKey struct{ request, limit string }

// sizes holds the shared ResourceRequirements of memoryOnly, one per
// request and limit met (a few hundred in a large cluster).
var sizes sync.Map

// trimmedPods lists a page of pods for the reflector's pager, which
// asks for the next page and falls back to one full list when a continue
// token expires. Each page is trimmed before the next is read. The
// reflector's first list asks for resourceVersion 0, which the API
// server's watch cache answers in one piece whatever the limit: at 10,000
// pods, all of them whole at once (about 170 MB of Go objects). The
// latest is asked for instead, which is paged (in pages of chunk, as scan
// lists) and at least as new as any version the reflector asks for.
func trimmedPods(ctx context.Context, pods typedcorev1.PodInterface, o metav1.ListOptions, chunk int64) (*corev1.PodList, error) {
	if o.Continue == "" {
		o.ResourceVersion, o.ResourceVersionMatch = "", ""
	}
	if o.Limit > 0 { // 0: the pager's full list
		o.Limit = chunk
	}
	l, err := pods.List(ctx, o)
	if err != nil {
		return nil, err
	}
	for i := range l.Items {
		t, _ := trim(&l.Items[i])
		l.Items[i] = *t.(*corev1.Pod)
	}
	return l, nil
}

// whole reads a pod again, whole, to diagnose its kill. It lists the one
// pod, as scan needs list, not get, and tries three times in two
// seconds (a server restarting). When it cannot, or the pod is gone, the
// watch's trimmed copy is diagnosed; an error says why.
func (w *Watcher) whole(ctx context.Context, p *corev1.Pod) (*corev1.Pod, error) {
	var err error
	for try, wait := 0, 500*time.Millisecond; try < 3; try, wait = try+1, 3*wait {
		if try > 0 {
			select {
			case <-ctx.Done():
				return p, ctx.Err()
			case <-time.After(wait):
			}
		}
		var l *corev1.PodList
		l, err = w.src.Client().CoreV1().Pods(p.Namespace).List(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", p.Name).String()})
		if err == nil {
			if len(l.Items) != 1 || l.Items[0].UID != p.UID {
				return p, nil // gone: its copy is all there is
			}
			return &l.Items[0], nil
		}
	}
	return p, err
}

// wholeWarning says that a pod's kill was diagnosed from the watch's copy.
func wholeWarning(p *corev1.Pod, err error) model.Warning {
	return readWarning("pods", "in namespace "+p.Namespace, fmt.Errorf("pod %s: %w", p.Name, err),
		"its kill is diagnosed from what the watch keeps of it (its status and memory sizes, not its env, command or probes)")
}

// watched names what a reflector watches: pods, events.
func watched(r *cache.Reflector) string {
	d := r.TypeDescription() // *v1.Pod
	return strings.ToLower(d[strings.LastIndexByte(d, '.')+1:]) + "s"
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
	var pod *corev1.Pod // a pod's own kills are reported, not its node's
	var warns []model.Warning
	switch o := obj.(type) {
	case *corev1.Pod:
		pod = o
		found, _ := podFindings(o)
		fresh := false
		for i := range found {
			fresh = fresh || !w.seen[findingKey(&found[i])]
		}
		if !fresh {
			return nil, nil
		}
		whole, err := w.whole(ctx, o)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			warns = append(warns, wholeWarning(o, err))
		}
		n.pods = []*corev1.Pod{whole}
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
				whole, err := w.whole(ctx, p.(*corev1.Pod))
				if err != nil {
					if ctx.Err() != nil {
						return nil, ctx.Err()
					}
					warns = append(warns, wholeWarning(whole, err))
				}
				n.pods = []*corev1.Pod{whole}
			} else if w.opts.Scope.LabelSelector != "" {
				return nil, nil // a pod outside the selector, or gone
			}
			scope.Namespace = o.InvolvedObject.Namespace
		}
	}
	opts := w.opts
	opts.Scope = scope
	opts.Now = now()
	opts.Progress, opts.BeforeEvents = nil, nil
	rep, err := Run(ctx, n, opts)
	if err != nil {
		return nil, err
	}
	rep.Warnings = append(warns, rep.Warnings...)
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

// Source is the live source with the Warning events the watch holds,
// read there rather than listed again, once its first lists are in (the
// scan's first report: scan.Run(ctx, w.Source(), opts)). What the scan
// reads is marked as told, as Synced marks the watch's first lists.
func (w *Watcher) Source() source.Source { return held{Source: w.src, w: w} }

// held is Source.
type held struct {
	*kube.Source
	w *Watcher
}

func (h held) Events(ctx context.Context, f source.EventFilter, fn func(*corev1.Event) error) error {
	if !f.WarningOnly {
		return h.Source.Events(ctx, f, fn) // the watch holds Warnings only
	}
	if err := h.w.Synced(ctx); err != nil {
		return err
	}
	var evs []*corev1.Event
	for _, st := range h.w.eventStores {
		for _, obj := range st.List() {
			if e := obj.(*corev1.Event); f.Matches(e) {
				evs = append(evs, e)
			}
		}
	}
	// In the order a list gives them.
	slices.SortFunc(evs, func(a, b *corev1.Event) int {
		return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
	})
	for _, e := range evs {
		h.w.told(e)
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
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
