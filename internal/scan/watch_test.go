package scan

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"

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

// pager serves pods a page at a time, as an API server does, and can
// expire its continue tokens.
type pager struct {
	typedcorev1.PodInterface // List alone is served
	pods                     []corev1.Pod
	expire                   bool
	asked                    []metav1.ListOptions
}

func (p *pager) List(_ context.Context, o metav1.ListOptions) (*corev1.PodList, error) {
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
// one full list.
func TestTrimmedPodsArePaged(t *testing.T) {
	p := &pager{}
	for i := range 7 {
		p.pods = append(p.pods, corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "p" + strconv.Itoa(i), Namespace: "ns", Labels: map[string]string{"big": "label"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Env: []corev1.EnvVar{{Name: "A", Value: "b"}}}}},
		})
	}
	for _, expire := range []bool{false, true} {
		p.expire, p.asked = expire, nil
		l, err := trimmedPods(context.Background(), p, metav1.ListOptions{ResourceVersion: "0", ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan, Limit: 500, LabelSelector: "app=x"}, 3)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, pod := range l.Items {
			names = append(names, pod.Name)
			if pod.Labels != nil || pod.Spec.Containers[0].Env != nil {
				t.Errorf("%s kept whole: %+v", pod.Name, pod)
			}
		}
		if want := []string{"p0", "p1", "p2", "p3", "p4", "p5", "p6"}; !slices.Equal(names, want) {
			t.Errorf("expire %v: pods %v, want %v", expire, names, want)
		}
		if l.ResourceVersion != "42" || l.Continue != "" {
			t.Errorf("expire %v: list version %q continue %q, want 42 and none", expire, l.ResourceVersion, l.Continue)
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
