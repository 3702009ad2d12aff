package nodecheck

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/source"
)

// fakeCluster holds objects in memory (unit tests only; the integration
// tests read a real API server).
type fakeCluster struct {
	nodes  []corev1.Node
	pods   []corev1.Pod
	events []corev1.Event
}

func (f *fakeCluster) Describe() model.Source { return model.Source{Type: "fake"} }
func (f *fakeCluster) AsOf() time.Time        { return time.Time{} }
func (f *fakeCluster) Pods(_ context.Context, _ source.Scope, fn func(*corev1.Pod) error) error {
	for i := range f.pods {
		if err := fn(&f.pods[i]); err != nil {
			return err
		}
	}
	return nil
}
func (f *fakeCluster) Events(_ context.Context, filter source.EventFilter, fn func(*corev1.Event) error) error {
	for i := range f.events {
		if filter.Matches(&f.events[i]) {
			if err := fn(&f.events[i]); err != nil {
				return err
			}
		}
	}
	return nil
}
func (f *fakeCluster) ControllerOwners(context.Context, source.OwnerKind, string) (map[source.ObjectKey]metav1.OwnerReference, error) {
	return nil, nil
}
func (f *fakeCluster) Nodes(_ context.Context, fn func(*corev1.Node) error) error {
	for i := range f.nodes {
		if err := fn(&f.nodes[i]); err != nil {
			return err
		}
	}
	return nil
}

var now = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func node(name, mem, kubelet string, pressure bool) corev1.Node {
	n := corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if mem != "" {
		n.Status.Allocatable = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(mem)}
	}
	n.Status.NodeInfo.KubeletVersion = kubelet
	st := corev1.ConditionFalse
	if pressure {
		st = corev1.ConditionTrue
	}
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeMemoryPressure, Status: st, Message: "kubelet has insufficient memory available",
		LastTransitionTime: metav1.NewTime(now.Add(-10 * time.Minute))}}
	return n
}

func ctr(name, req, lim string) corev1.Container {
	c := corev1.Container{Name: name}
	if req != "" {
		c.Resources.Requests = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(req)}
	}
	if lim != "" {
		c.Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(lim)}
	}
	return c
}

func pod(name, nodeName string, phase corev1.PodPhase, qos corev1.PodQOSClass, init []corev1.Container, cs ...corev1.Container) corev1.Pod {
	return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec:   corev1.PodSpec{NodeName: nodeName, Containers: cs, InitContainers: init},
		Status: corev1.PodStatus{Phase: phase, QOSClass: qos}}
}

func nodeEvent(nodeName, reason, msg string, age time.Duration, count int32) corev1.Event {
	return corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: nodeName + reason, Namespace: "default"},
		InvolvedObject: corev1.ObjectReference{Kind: "Node", Name: nodeName}, Reason: reason, Message: msg, Type: corev1.EventTypeWarning,
		Count: count, LastTimestamp: metav1.NewTime(now.Add(-age))}
}

func TestClusterChecks(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	sidecar := ctr("proxy", "256Mi", "512Mi")
	sidecar.RestartPolicy = &always
	c := &fakeCluster{
		nodes: []corev1.Node{
			node("big", "16Gi", "v1.36.3", false),
			node("tight", "8Gi", "v1.36.3", true),
			node("old", "4Gi", "v1.27.9", false),
			node("empty", "", "v1.36.3", false),
		},
		pods: []corev1.Pod{
			// tight: limits 3Gi + 4Gi + max(1Gi app + 512Mi sidecar, 2Gi migrate
			// + 512Mi sidecar) + 4Gi = 13.5Gi of 8Gi.
			pod("a", "tight", corev1.PodRunning, corev1.PodQOSBurstable, nil, ctr("app", "1Gi", "3Gi")),
			pod("b", "tight", corev1.PodRunning, corev1.PodQOSBurstable, nil, ctr("app", "1Gi", "4Gi")),
			pod("c", "tight", corev1.PodPending, corev1.PodQOSBurstable, []corev1.Container{sidecar, ctr("migrate", "2Gi", "2Gi")}, ctr("app", "512Mi", "1Gi")),
			pod("d", "tight", corev1.PodRunning, corev1.PodQOSBestEffort, nil, ctr("app", "", "")),
			pod("e", "tight", corev1.PodRunning, corev1.PodQOSBurstable, nil, ctr("app", "1Gi", "4Gi")),
			// Finished pods hold nothing.
			pod("done", "tight", corev1.PodSucceeded, corev1.PodQOSBurstable, nil, ctr("app", "8Gi", "8Gi")),
			// big: requests above allocatable.
			pod("huge", "big", corev1.PodRunning, corev1.PodQOSGuaranteed, nil, ctr("app", "17Gi", "17Gi")),
			pod("ok", "old", corev1.PodRunning, corev1.PodQOSGuaranteed, nil, ctr("app", "1Gi", "1Gi")),
			pod("elsewhere", "gone", corev1.PodRunning, corev1.PodQOSGuaranteed, nil, ctr("app", "1Gi", "1Gi")),
		},
		events: []corev1.Event{
			nodeEvent("tight", "SystemOOM", "System OOM encountered, victim process: java, pid: 4242", time.Hour, 2),
			nodeEvent("tight", "OOMKilling", "Out of memory: Killed process 999 (python3) total-vm:100kB", 2*time.Hour, 1),
			// A container at its own limit, reported by node-problem-detector: not system-wide.
			nodeEvent("tight", "OOMKilling", "Memory cgroup out of memory: Killed process 77 (app) total-vm:1kB", time.Hour, 1),
			// Too old for --since 24h.
			nodeEvent("big", "SystemOOM", "System OOM encountered, victim process: x, pid: 1", 48*time.Hour, 1),
		},
	}
	rows, results, err := RunCluster(context.Background(), c, ClusterOptions{LimitsOvercommit: 1.5, Since: 24 * time.Hour, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 || rows[0].Name != "tight" {
		t.Fatalf("rows %+v, want 4 with tight first", rows)
	}
	tight := rows[0]
	gi := int64(1 << 30)
	// Requests: 1 + 1 + max(init: 256Mi sidecar + 2Gi migrate, 256Mi + 512Mi) + 0 + 1 = 3Gi + 2.25Gi.
	if tight.RequestsBytes != 3*gi+2*gi+gi/4 || tight.LimitsBytes != 3*gi+4*gi+2*gi+gi/2+4*gi || tight.Pods != 5 {
		t.Errorf("tight: requests %d limits %d pods %d", tight.RequestsBytes, tight.LimitsBytes, tight.Pods)
	}
	if tight.UnboundedContainers != 1 || tight.BestEffortPods != 1 || !tight.MemoryPressure || tight.SystemOOMs != 3 {
		t.Errorf("tight: %+v", tight)
	}
	status := map[string]Status{}
	for _, r := range results {
		status[r.Node+"/"+r.ID] = r.Status
		if r.Status != Pass && r.Advice == "" {
			t.Errorf("%s/%s: %s without advice", r.Node, r.ID, r.Status)
		}
	}
	for key, want := range map[string]Status{
		"tight/node-limits-overcommit": Warn,
		"tight/node-memory-pressure":   Fail,
		"tight/node-system-oom":        Fail,
		"tight/node-besteffort":        Info,
		"big/node-limits-overcommit":   Pass,
		"big/node-requests":            Fail,
		"old/node-kubelet-version":     Warn,
		"empty/node-allocatable":       Warn,
	} {
		if status[key] != want {
			t.Errorf("%s: %q, want %q", key, status[key], want)
		}
	}
	for _, key := range []string{"big/node-system-oom", "big/node-memory-pressure", "tight/node-kubelet-version", "old/node-besteffort"} {
		if s, ok := status[key]; ok {
			t.Errorf("%s: %s, want no result", key, s)
		}
	}
	for _, r := range results {
		if r.Node == "tight" && r.ID == "node-system-oom" && !strings.Contains(strings.Join(r.Evidence, "\n"), "victim process: java") {
			t.Errorf("evidence %v lacks the victim", r.Evidence)
		}
	}

	rows, _, err = RunCluster(context.Background(), c, ClusterOptions{Node: "old", LimitsOvercommit: 1.5, Now: now})
	if err != nil || len(rows) != 1 || rows[0].Name != "old" || rows[0].LimitsBytes != gi {
		t.Errorf("one node: %+v %v", rows, err)
	}
}
