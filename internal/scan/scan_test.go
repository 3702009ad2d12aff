package scan

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"

	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/source"
	"github.com/oomdoctor/oomdoctor/internal/source/snapshot"
)

var now = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func ago(d time.Duration) metav1.Time { return metav1.NewTime(now.Add(-d)) }

// failing wraps a source and makes some of its lists fail.
type failing struct {
	source.Source
	events, owners, pods error
}

func (f failing) Events(ctx context.Context, q source.EventFilter, fn func(*corev1.Event) error) error {
	if f.events != nil {
		return f.events
	}
	return f.Source.Events(ctx, q, fn)
}

func (f failing) ControllerOwners(ctx context.Context, k source.OwnerKind, ns string) (map[source.ObjectKey]metav1.OwnerReference, error) {
	if f.owners != nil {
		return nil, f.owners
	}
	return f.Source.ControllerOwners(ctx, k, ns)
}

func (f failing) Pods(ctx context.Context, s source.Scope, fn func(*corev1.Pod) error) error {
	if f.pods != nil {
		return f.pods
	}
	return f.Source.Pods(ctx, s, fn)
}

func killedPod(ns, name, node string, owner *metav1.OwnerReference, killedAgo time.Duration) corev1.Pod {
	p := corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: "uid-" + "name"},
		Spec:       corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "app"}}},
		Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{
			Name: "app", RestartCount: 2,
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "OOMKilled", ExitCode: 137, FinishedAt: ago(killedAgo)}},
		}}},
	}
	if owner != nil {
		p.OwnerReferences = []metav1.OwnerReference{*owner}
	}
	return p
}

func ref(kind, name string) *metav1.OwnerReference {
	return &metav1.OwnerReference{Kind: kind, Name: name, Controller: ptr.To(true)}
}

func fixture() *snapshot.Snapshot {
	s := &snapshot.Snapshot{}
	s.Objects.Pods = []corev1.Pod{
		killedPod("shop", "cart-abc-1", "n1", ref("ReplicaSet", "cart-abc"), 5*time.Minute),
		killedPod("shop", "cart-xyz-1", "n1", ref("ReplicaSet", "cart-xyz"), 50*time.Minute), // an older revision
		killedPod("shop", "orphan-rs-1", "n1", ref("ReplicaSet", "orphan-rs"), 2*time.Hour),  // its ReplicaSet is gone
		killedPod("batch", "job-1-p", "n2", ref("Job", "job-1"), 3*time.Hour),
		killedPod("batch", "bare", "n2", nil, 30*time.Minute),
		{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "healthy"}, Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c"}}}},
	}
	s.Objects.ReplicaSets = []appsv1.ReplicaSet{
		{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "cart-abc", OwnerReferences: []metav1.OwnerReference{*ref("Deployment", "cart")}}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "cart-xyz", OwnerReferences: []metav1.OwnerReference{*ref("Deployment", "cart")}}},
	}
	s.Objects.Jobs = nil // job-1's Job was cleaned up: it stays Job/job-1
	s.Objects.Events = []corev1.Event{
		// node-problem-detector saw cart-abc-1's kill, 2 s earlier.
		{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "n1.a"}, InvolvedObject: corev1.ObjectReference{Kind: "Node", Name: "n1"},
			Type: "Warning", Reason: "OOMKilling", Message: "Memory cgroup out of memory: Killed process 10 (cart) total-vm:1kB, anon-rss:2048kB, file-rss:0kB", LastTimestamp: ago(5*time.Minute + 2*time.Second)},
		// and a kill nobody else reports.
		{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "n1.b"}, InvolvedObject: corev1.ObjectReference{Kind: "Node", Name: "n1"},
			Type: "Warning", Reason: "OOMKilling", Message: "Memory cgroup out of memory: Killed process 11 (worker) total-vm:1kB, anon-rss:2048kB, file-rss:0kB", LastTimestamp: ago(20 * time.Minute)},
		// a node the scope has no pod on.
		{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "n9.a"}, InvolvedObject: corev1.ObjectReference{Kind: "Node", Name: "n9"},
			Type: "Warning", Reason: "SystemOOM", Message: "System OOM encountered, victim process: x, pid: 1", LastTimestamp: ago(10 * time.Minute)},
		// an eviction of a deleted pod.
		{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "gone.1"}, InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "shop", Name: "gone"},
			Type: "Warning", Reason: "Evicted", Message: "The node was low on resource: memory. Threshold quantity: 100Mi, available: 50Mi. ", LastTimestamp: ago(15 * time.Minute)},
		// not Warning: never read.
		{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "normal.1"}, InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "shop", Name: "cart-abc-1"},
			Type: "Normal", Reason: "Pulled", Message: "pulled", LastTimestamp: ago(time.Minute)},
	}
	return s
}

func rows(rep *model.ScanReport) []string {
	var out []string
	for _, g := range rep.Workloads {
		for _, f := range g.Findings {
			out = append(out, string(f.Type)+" "+g.Workload.String()+" "+f.Pod)
		}
	}
	return out
}

func TestRunGroupsNewestFirst(t *testing.T) {
	rep, err := Run(context.Background(), fixture(), Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"oom-killed Deployment/cart cart-abc-1",
		"oom-killed Deployment/cart cart-xyz-1",
		"system-oom Node/n9 ",
		"eviction Pod/gone gone",
		"kernel-oom-kill Node/n1 ",
		"oom-killed Pod/bare bare",
		"oom-killed ReplicaSet/orphan-rs orphan-rs-1",
		"oom-killed Job/job-1 job-1-p",
	}
	if got := rows(rep); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	cart := rep.Workloads[0].Findings[0]
	if len(cart.Evidence) == 0 || !strings.Contains(cart.Evidence[len(cart.Evidence)-1], "Killed process 10 (cart)") {
		t.Errorf("the matching kernel kill is not evidence of cart's: %q", cart.Evidence)
	}
	s := rep.Summary
	if s.Pods != 6 || s.Findings != 8 || s.Workloads != 7 || s.ByType[model.OOMKilled] != 5 || s.ByType[model.NotOOM] != 0 {
		t.Errorf("summary %+v", s)
	}
	if !rep.Metadata.AsOf.Equal(now) || !rep.Metadata.Scope.AllNamespaces {
		t.Errorf("metadata %+v", rep.Metadata)
	}
}

func TestRunSince(t *testing.T) {
	rep, err := Run(context.Background(), fixture(), Options{Now: now, Since: 16 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	want := "oom-killed Deployment/cart cart-abc-1\nsystem-oom Node/n9 \neviction Pod/gone gone"
	if got := strings.Join(rows(rep), "\n"); got != want {
		t.Errorf("rows:\n%s\nwant:\n%s", got, want)
	}
	if rep.Metadata.Scope.Since != "16m0s" {
		t.Errorf("since %q", rep.Metadata.Scope.Since)
	}
}

func TestRunSnapshotTimeIsTheReference(t *testing.T) {
	s := fixture()
	s.Info.CapturedAt = metav1.NewTime(now)
	// Read two hours after the capture, --since 1h counts back from the
	// capture: six kills, not none.
	rep, err := Run(context.Background(), s, Options{Now: now.Add(2 * time.Hour), Since: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Metadata.AsOf.Equal(now) || rep.Summary.Findings != 6 {
		t.Errorf("asOf %v findings %d: %q", rep.Metadata.AsOf, rep.Summary.Findings, rows(rep))
	}
}

func TestRunNamespaceScope(t *testing.T) {
	rep, err := Run(context.Background(), fixture(), Options{Now: now, Scope: source.Scope{Namespace: "batch"}})
	if err != nil {
		t.Fatal(err)
	}
	// batch runs on n2 only: n1's and n9's node events are not about it.
	want := "oom-killed Pod/bare bare\noom-killed Job/job-1 job-1-p"
	if got := strings.Join(rows(rep), "\n"); got != want {
		t.Errorf("rows:\n%s\nwant:\n%s", got, want)
	}
}

func TestRunWarnsAndGoesOn(t *testing.T) {
	forbidden := apierrors.NewForbidden(schema.GroupResource{Resource: "events"}, "", errors.New(`User "bob" cannot list resource "events" in API group "" at the cluster scope`))
	rep, err := Run(context.Background(), failing{Source: fixture(), events: forbidden, owners: apierrors.NewForbidden(schema.GroupResource{Group: "apps", Resource: "replicasets"}, "", errors.New("no"))}, Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Warnings) != 3 {
		t.Fatalf("warnings %+v", rep.Warnings)
	}
	if w := rep.Warnings[0]; w.Source != "events" || !strings.Contains(w.Message, `Grant the verb "list" on "events" in API group ""`) || !strings.Contains(w.Message, `User "bob"`) || !strings.Contains(w.Message, "SystemOOM") {
		t.Errorf("events warning: %+v", w)
	}
	// All ReplicaSet-owned pods are in shop: one list in that namespace.
	if w := rep.Warnings[1]; w.Source != "replicasets.apps" || !strings.Contains(w.Message, `"replicasets" in API group "apps" (a Role in that namespace)`) || !strings.Contains(w.Message, "grouped by their ReplicaSet") {
		t.Errorf("replicasets warning: %+v", w)
	}
	if w := rep.Warnings[2]; w.Source != "jobs.batch" || !strings.Contains(w.Message, "in namespace batch") {
		t.Errorf("jobs warning: %+v", w)
	}
	// Without the ReplicaSets, pods group under them.
	if got := rep.Workloads[0].Workload.String(); got != "ReplicaSet/cart-abc" {
		t.Errorf("first workload %s", got)
	}
}

func TestRunFailsWithoutPods(t *testing.T) {
	forbidden := apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "", errors.New("no"))
	_, err := Run(context.Background(), failing{Source: fixture(), pods: forbidden}, Options{Now: now, Scope: source.Scope{Namespace: "shop"}})
	var re *ReadError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), `cannot list pods in namespace shop: permission denied`) || !strings.Contains(err.Error(), "Role in that namespace") {
		t.Errorf("got %v", err)
	}
}

// ordered wraps a source and records the order of its lists.
type ordered struct {
	source.Source
	log *[]string
}

func (o ordered) Pods(ctx context.Context, s source.Scope, fn func(*corev1.Pod) error) error {
	*o.log = append(*o.log, "pods")
	return o.Source.Pods(ctx, s, fn)
}

func (o ordered) Events(ctx context.Context, q source.EventFilter, fn func(*corev1.Event) error) error {
	*o.log = append(*o.log, "events")
	return o.Source.Events(ctx, q, fn)
}

// BeforeEvents runs between the pods and the events (scan -w waits there
// for its watch's first lists); its error ends the scan.
func TestRunBeforeEvents(t *testing.T) {
	var log []string
	src := ordered{Source: fixture(), log: &log}
	opts := Options{Now: now, Scope: source.Scope{Namespace: "shop"}, BeforeEvents: func(context.Context) error {
		log = append(log, "before events")
		return nil
	}}
	if _, err := Run(context.Background(), src, opts); err != nil {
		t.Fatal(err)
	}
	// In shop: its own events, then the nodes' in default.
	if want := []string{"pods", "before events", "events", "events"}; !slices.Equal(log, want) {
		t.Errorf("order %v, want %v", log, want)
	}
	log = nil
	refused := errors.New("watching pods: forbidden")
	opts.BeforeEvents = func(context.Context) error { return refused }
	if rep, err := Run(context.Background(), src, opts); !errors.Is(err, refused) || rep != nil {
		t.Errorf("got %v, %v; want the watch's error and no report", rep, err)
	}
	if want := []string{"pods"}; !slices.Equal(log, want) {
		t.Errorf("after the error: %v, want %v", log, want)
	}
}
