package detect

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/oomdoctor/oomdoctor/internal/model"
)

const memoryEvictionMsg = "The node was low on resource: memory. Threshold quantity: 100Mi, available: 87Mi. Container app was using 1843Mi, request is 128Mi, has larger consumption of memory. "

func TestPodEviction(t *testing.T) {
	cases := []struct {
		name      string
		reason    string
		message   string
		want      bool
		container string
		explains  string
	}{
		{"memory pressure", "Evicted", memoryEvictionMsg, true, "app", "87Mi against an eviction threshold of 100Mi"},
		{"refused at admission under MemoryPressure", "Evicted", "The node had condition: [MemoryPressure]. ", true, "", "refused the pod at admission"},
		{"disk pressure is not memory trouble", "Evicted", "The node was low on resource: ephemeral-storage. Threshold quantity: 10Gi, available: 9Gi. ", false, "", ""},
		{"node shutdown", "Terminated", "Pod was terminated in response to imminent node shutdown.", false, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := pod(func(p *corev1.Pod) {
				p.Status.Phase, p.Status.Reason, p.Status.Message = corev1.PodFailed, tc.reason, tc.message
				p.Status.Conditions = []corev1.PodCondition{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: "TerminationByKubelet", LastTransitionTime: at(12)}}
			})
			f, ok := PodEviction(p)
			if ok != tc.want {
				t.Fatalf("eviction = %v, want %v", ok, tc.want)
			}
			if !ok {
				return
			}
			if f.Type != model.Eviction || f.Container != tc.container || !f.LastKill.Equal(at(12).Time) || !strings.Contains(f.Explanation, tc.explains) {
				t.Errorf("finding %+v", f)
			}
			if tc.container == "app" && (*f.MemoryRequestBytes != 128<<20 || f.ContainerKind != model.RegularContainer) {
				t.Errorf("the blamed container's request was not filled in: %+v", f)
			}
		})
	}
}

func TestEventEviction(t *testing.T) {
	e := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Namespace: "ns", Name: "gone.1", Annotations: map[string]string{"offending_containers": "scorer", "offending_containers_usage": "3012Mi", "starved_resource": "memory"}},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "ns", Name: "gone", UID: "u-gone"},
		Reason:         "Evicted", Message: "The node was low on resource: memory. Threshold quantity: 100Mi, available: 64Mi. ",
		Source: corev1.EventSource{Component: "kubelet", Host: "node-2"}, Count: 1, LastTimestamp: at(20),
	}
	f, ok := EventEviction(e, nil)
	if !ok || f.Pod != "gone" || f.PodUID != "u-gone" || f.Container != "scorer" || f.Node != "node-2" || !f.LastKill.Equal(at(20).Time) {
		t.Fatalf("got %v %+v", ok, f)
	}
	if !strings.Contains(strings.Join(f.Evidence, "\n"), "3012Mi") || !strings.Contains(strings.Join(f.Evidence, "\n"), "no longer exists") {
		t.Errorf("evidence %q", f.Evidence)
	}
	e.Annotations = map[string]string{"starved_resource": "ephemeral-storage"}
	e.Message = "The node was low on resource: ephemeral-storage. "
	if _, ok := EventEviction(e, nil); ok {
		t.Error("a disk eviction event was reported")
	}
}

func TestNodeEventFinding(t *testing.T) {
	cases := []struct {
		name, reason, message string
		typ                   model.FindingType
		process               string
		pid                   int64
		explains              string
	}{
		{"kubelet SystemOOM with victim", "SystemOOM", "System OOM encountered, victim process: java, pid: 4242", model.SystemOOM, "java", 4242, "node itself ran out of memory"},
		{"kubelet SystemOOM, old message", "SystemOOM", "System OOM encountered", model.SystemOOM, "", 0, "a process"},
		{"npd memcg kill, kernel 5.x+", "OOMKilling", "Memory cgroup out of memory: Killed process 77012 (pg_dump) total-vm:4501236kB, anon-rss:4182016kB, file-rss:2048kB, shmem-rss:0kB, UID:999 pgtables:8312kB oom_score_adj:936", model.KernelOOMKill, "pg_dump", 77012, "memory cgroup's limit"},
		{"npd global kill, old kernel", "OOMKilling", "Out of memory: Kill process 1234 (stress) score 998 or sacrifice child", model.KernelOOMKill, "stress", 1234, "the node's memory"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := &corev1.Event{
				ObjectMeta:     metav1.ObjectMeta{Namespace: "default", Name: "n.1"},
				InvolvedObject: corev1.ObjectReference{Kind: "Node", Name: "node-1"},
				Reason:         tc.reason, Message: tc.message, Count: 2, LastTimestamp: at(5),
			}
			f, ok := NodeEventFinding(e)
			if !ok || f.Type != tc.typ || f.Process != tc.process || f.PID != tc.pid || f.Node != "node-1" ||
				f.Workload != (model.WorkloadRef{Kind: "Node", Name: "node-1"}) || f.Kills != 2 || !f.LastKill.Equal(at(5).Time) {
				t.Fatalf("got %v %+v", ok, f)
			}
			if !strings.Contains(f.Explanation, tc.explains) {
				t.Errorf("explanation %q lacks %q", f.Explanation, tc.explains)
			}
		})
	}
	if _, ok := NodeEventFinding(&corev1.Event{InvolvedObject: corev1.ObjectReference{Kind: "Node"}, Reason: "NodeNotReady"}); ok {
		t.Error("an unrelated node event became a finding")
	}
}

func TestEventTime(t *testing.T) {
	e := &corev1.Event{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: at(60)}}
	if got := EventTime(e); !got.Equal(at(60).Time) {
		t.Errorf("creation fallback: %v", got)
	}
	e.FirstTimestamp = at(50)
	e.LastTimestamp = at(10)
	if got := EventTime(e); !got.Equal(at(10).Time) {
		t.Errorf("lastTimestamp: %v", got)
	}
	e.Series = &corev1.EventSeries{Count: 9, LastObservedTime: metav1.NewMicroTime(at(2).Time)}
	if got := EventTime(e); !got.Equal(at(2).Time) || eventCount(e) != 9 {
		t.Errorf("series: %v count %d", got, eventCount(e))
	}
}

func TestLivenessFailure(t *testing.T) {
	e := &corev1.Event{
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "ns", Name: "p", FieldPath: "spec.containers{web}"},
		Reason:         "Unhealthy", Message: "Liveness probe failed: HTTP probe failed with statuscode: 500", Count: 3, LastTimestamp: at(1),
	}
	pk, ok := LivenessFailure(e)
	if !ok || pk.Container != "web" || !strings.Contains(pk.Evidence, "failed 3 times") || !strings.Contains(pk.Evidence, "statuscode: 500") {
		t.Fatalf("got %v %+v", ok, pk)
	}
	e.Message = "Readiness probe failed: connection refused"
	if _, ok := LivenessFailure(e); ok {
		t.Error("a readiness failure kills nothing")
	}
}
