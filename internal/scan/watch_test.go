package scan

import (
	"context"
	"errors"
	"reflect"
	goruntime "runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/pager"
	"k8s.io/utils/ptr"

	"github.com/oomdoctor/oomdoctor/internal/source"
	"github.com/oomdoctor/oomdoctor/internal/source/snapshot"
)

// A watch holds pods trimmed to what tells of a kill: the kills they
// tell, and the findings' memory and QoS, are the whole pods' own. Read
// on both examples: kills of every kind, evictions, init and sidecar
// containers, pods with and without limits.
func TestTrimmedPodsTellTheSameKills(t *testing.T) {
	n := 0
	for _, dir := range []string{"../../examples/snapshot", "../../examples/kubelet-snapshot"} {
		snap, err := snapshot.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		err = snap.Pods(context.Background(), source.Scope{}, func(p *corev1.Pod) error {
			trimmed, _ := trim(p.DeepCopy())
			whole, _ := podFindings(p)
			got, _ := podFindings(trimmed.(*corev1.Pod))
			if len(whole) != len(got) {
				t.Errorf("%s/%s: %d findings whole, %d trimmed", p.Namespace, p.Name, len(whole), len(got))
				return nil
			}
			for i := range whole {
				a, b := whole[i], got[i]
				if findingKey(&a) != findingKey(&b) || a.QOSClass != b.QOSClass || !slices.Equal(a.Evidence, b.Evidence) ||
					(a.MemoryLimitBytes == nil) != (b.MemoryLimitBytes == nil) || a.MemoryLimitBytes != nil && *a.MemoryLimitBytes != *b.MemoryLimitBytes {
					t.Errorf("%s/%s: whole %+v\ntrimmed %+v", p.Namespace, p.Name, a, b)
				}
				n++
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if n < 10 {
		t.Fatalf("%d findings compared: the examples should hold more", n)
	}
}

// pagingServer serves pods a page at a time, as an API server does, and
// can expire its continue tokens.
type pagingServer struct {
	typedcorev1.PodInterface // List alone is served
	pods                     []corev1.Pod
	expire                   bool
	asked                    []metav1.ListOptions
}

func (p *pagingServer) List(_ context.Context, o metav1.ListOptions) (*corev1.PodList, error) {
	p.asked = append(p.asked, o)
	if o.ResourceVersion != "" || o.ResourceVersionMatch != "" {
		return nil, errors.New("asked for a version: the watch cache would answer in one piece")
	}
	from := 0
	if o.Continue != "" {
		if p.expire {
			p.expire = false
			return nil, apierrors.NewResourceExpired("the continue token is too old")
		}
		from, _ = strconv.Atoi(o.Continue)
	}
	to := len(p.pods)
	if o.Limit > 0 {
		to = min(to, from+int(o.Limit))
	}
	l := &corev1.PodList{ListMeta: metav1.ListMeta{ResourceVersion: "42"}}
	for _, pod := range p.pods[from:to] {
		l.Items = append(l.Items, *pod.DeepCopy())
	}
	if to < len(p.pods) {
		l.Continue = strconv.Itoa(to)
	}
	return l, nil
}

// The watch lists its pods page by page, whatever version the reflector
// asks for, trimming each page; an expired continue token falls back to
// one full list. Driven by client-go's pager, as the reflector drives it.
func TestTrimmedPodsArePaged(t *testing.T) {
	p := &pagingServer{}
	for i := range 7 {
		p.pods = append(p.pods, corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "p" + strconv.Itoa(i), Namespace: "ns", Labels: map[string]string{"big": "label"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Env: []corev1.EnvVar{{Name: "A", Value: "b"}}}}},
		})
	}
	for _, expire := range []bool{false, true} {
		p.expire, p.asked = expire, nil
		pages := pager.New(pager.SimplePageFunc(func(o metav1.ListOptions) (runtime.Object, error) {
			return trimmedPods(context.Background(), p, o, 3)
		}))
		l, _, err := pages.ListWithAlloc(context.Background(), metav1.ListOptions{ResourceVersion: "0", ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan, LabelSelector: "app=x"})
		if err != nil {
			t.Fatal(err)
		}
		items, err := meta.ExtractList(l)
		if err != nil {
			t.Fatal(err)
		}
		lm, err := meta.ListAccessor(l)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, obj := range items {
			pod := obj.(*corev1.Pod)
			names = append(names, pod.Name)
			if pod.Labels != nil || pod.Spec.Containers[0].Env != nil {
				t.Errorf("%s kept whole: %+v", pod.Name, pod)
			}
		}
		if want := []string{"p0", "p1", "p2", "p3", "p4", "p5", "p6"}; !slices.Equal(names, want) {
			t.Errorf("expire %v: pods %v, want %v", expire, names, want)
		}
		if lm.GetResourceVersion() != "42" || lm.GetContinue() != "" {
			t.Errorf("expire %v: list version %q continue %q, want 42 and none", expire, lm.GetResourceVersion(), lm.GetContinue())
		}
		want := []int64{3, 3, 3} // three pages of three
		if expire {
			want = []int64{3, 3, 0} // a page, its expired token, then all
		}
		var limits []int64
		for _, o := range p.asked {
			limits = append(limits, o.Limit)
			if o.LabelSelector != "app=x" {
				t.Errorf("expire %v: a list without the selector: %+v", expire, o)
			}
		}
		if !slices.Equal(limits, want) {
			t.Errorf("expire %v: limits asked %v, want %v", expire, limits, want)
		}
	}
}

// Containers of the same memory request and limit share the trimmed
// copy's maps; other sizes get their own, and the values are the pod's.
func TestMemoryOnlySharesEqualSizes(t *testing.T) {
	res := func(req, lim string) corev1.ResourceRequirements {
		r := corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}, Limits: corev1.ResourceList{}}
		if req != "" {
			r.Requests[corev1.ResourceMemory] = resource.MustParse(req)
		}
		if lim != "" {
			r.Limits[corev1.ResourceMemory] = resource.MustParse(lim)
		}
		return r
	}
	same := func(a, b corev1.ResourceList) bool {
		return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
	}
	a, b := memoryOnly(res("256Mi", "512Mi")), memoryOnly(res("256Mi", "512Mi"))
	if !same(a.Requests, b.Requests) || !same(a.Limits, b.Limits) {
		t.Error("two containers of 256Mi/512Mi do not share their maps")
	}
	// 1024Mi is written 1Gi: the same size.
	if c := memoryOnly(res("256Mi", "1024Mi")); !same(c.Limits, memoryOnly(res("256Mi", "1Gi")).Limits) || same(c.Limits, a.Limits) {
		t.Error("1024Mi and 1Gi are one size, 512Mi another")
	}
	for _, tc := range []struct{ req, lim string }{{"256Mi", "512Mi"}, {"300M", ""}, {"", "2Gi"}, {"", ""}, {"128Mi", "256Mi"}} {
		got := memoryOnly(res(tc.req, tc.lim))
		for _, x := range []struct {
			l    corev1.ResourceList
			want string
		}{{got.Requests, tc.req}, {got.Limits, tc.lim}} {
			q, ok := x.l[corev1.ResourceMemory]
			if x.want == "" && (ok || x.l != nil) || x.want != "" && (!ok || !q.Equal(resource.MustParse(x.want)) || len(x.l) != 1) {
				t.Errorf("%s/%s: got %v", tc.req, tc.lim, got)
			}
		}
	}
}

// BenchmarkTrimmedPodHeap reports the heap a watch keeps per pod (B/pod)
// of 10,000 pods shaped as bench/scan writes them (two containers, a
// controller, running): all of one size (a Deployment's replicas), or
// each of its own (the worst case for the shared sizes, and what every
// pod took before they were shared).
func BenchmarkTrimmedPodHeap(b *testing.B) {
	started := metav1.Now()
	pod := func(i int, own bool) *corev1.Pod {
		r := corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")},
		}
		if own {
			r.Limits[corev1.ResourceMemory] = *resource.NewQuantity(int64(512<<20+i), resource.BinarySI)
		}
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns-017", Name: "app-7c9d8f6b5-" + strconv.Itoa(100000+i), UID: types.UID("0f0e0d0c-0b0a-0908-0706-05040" + strconv.Itoa(3020100+i)), ResourceVersion: strconv.Itoa(1e6 + i),
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "app-7c9d8f6b5", UID: "0f0e0d0c-0b0a-0908-0706-050403020100", Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}}},
			Spec:   corev1.PodSpec{NodeName: "node-01", Containers: []corev1.Container{{Name: "app", Image: "registry.example/app:1.2.3", Resources: r}, {Name: "proxy", Image: "registry.example/envoy:1.31", Resources: r}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, QOSClass: corev1.PodQOSBurstable},
		}
		for _, c := range p.Spec.Containers {
			p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{Name: c.Name, Image: c.Image, Ready: true, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}}})
		}
		return p
	}
	for _, own := range []bool{false, true} {
		name := "one-size"
		if own {
			name = "each-its-own"
		}
		b.Run(name, func(b *testing.B) {
			const n = 10000
			pods := make([]*corev1.Pod, n)
			for i := range pods {
				pods[i] = pod(i, own)
			}
			var perPod float64
			for b.Loop() {
				held := make([]any, n)
				var before, after goruntime.MemStats
				sizes.Clear() // the shared sizes count too
				goruntime.GC()
				goruntime.ReadMemStats(&before)
				for i, p := range pods {
					held[i], _ = trim(p)
				}
				goruntime.GC()
				goruntime.ReadMemStats(&after)
				perPod = float64(after.HeapAlloc-before.HeapAlloc) / n
				goruntime.KeepAlive(held)
			}
			b.ReportMetric(perPod, "B/pod")
		})
	}
}

// The first report reads the Warning events the watch holds, in a list's
// order, and marks each, and the kill it tells of, as told: Follow does not
// tell them again.
func TestSourceReadsTheWatchedEvents(t *testing.T) {
	ev := func(ns, name, kind, involved, reason string) *corev1.Event {
		return &corev1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("uid-" + name)}, Type: corev1.EventTypeWarning, Reason: reason, Count: 1,
			InvolvedObject: corev1.ObjectReference{Kind: kind, Namespace: ns, Name: involved},
			Message:        "Memory cgroup out of memory: Killed process 11 (worker) total-vm:1kB, anon-rss:2048kB, file-rss:0kB", LastTimestamp: metav1.Now()}
	}
	shop, nodes := cache.NewStore(cache.MetaNamespaceKeyFunc), cache.NewStore(cache.MetaNamespaceKeyFunc)
	for _, e := range []*corev1.Event{ev("shop", "web.2", "Pod", "web", "Unhealthy"), ev("shop", "cart.1", "Pod", "cart", "Unhealthy")} {
		_ = shop.Add(e)
	}
	oom := ev("default", "n1.1", "Node", "n1", "OOMKilling")
	oom.InvolvedObject.Namespace = ""
	_ = nodes.Add(oom)
	w := &Watcher{seen: map[string]bool{}, events: map[string]bool{}, eventStores: []cache.Store{shop, nodes}, stop: make(chan struct{})}
	read := func(f source.EventFilter) []string {
		var got []string
		if err := w.Source().Events(context.Background(), f, func(e *corev1.Event) error { got = append(got, e.Namespace+"/"+e.Name); return nil }); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got, want := read(source.EventFilter{Namespace: "shop", WarningOnly: true}), []string{"shop/cart.1", "shop/web.2"}; !slices.Equal(got, want) {
		t.Errorf("shop's events: %v, want %v", got, want)
	}
	if got, want := read(source.EventFilter{Namespace: "default", InvolvedKind: "Node", WarningOnly: true}), []string{"default/n1.1"}; !slices.Equal(got, want) {
		t.Errorf("the nodes' events: %v, want %v", got, want)
	}
	f, ok := eventFinding(oom)
	if !ok || !w.seen[findingKey(&f)] || !w.events[eventKey(oom)] || len(w.events) != 3 {
		t.Errorf("told: events %v, findings %v; want all three events and the node's kill", w.events, w.seen)
	}
	// Told, it is not handled again.
	if rep, err := w.handle(context.Background(), oom, time.Now); err != nil || rep != nil {
		t.Errorf("the node's kill handled again: %v, %v", rep, err)
	}
	// One that came after the first lists, read by the scan, is told too.
	late := ev("shop", "db.3", "Pod", "db", "Unhealthy")
	_ = shop.Add(late)
	if got := read(source.EventFilter{Namespace: "shop", WarningOnly: true}); len(got) != 3 || !w.events[eventKey(late)] {
		t.Errorf("after a new event: read %v, told %v", got, w.events)
	}
}
