package scan

import (
	"context"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"

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
