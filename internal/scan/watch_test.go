package scan

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/pager"

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
