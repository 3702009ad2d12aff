package detect

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/runtimes"
)

var t0 = time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)

func at(minutesAgo int) metav1.Time {
	return metav1.NewTime(t0.Add(-time.Duration(minutesAgo) * time.Minute))
}

func term(reason string, code int32, minutesAgo int) *corev1.ContainerStateTerminated {
	return &corev1.ContainerStateTerminated{Reason: reason, ExitCode: code, FinishedAt: at(minutesAgo)}
}

// said is a termination with a message: what the program wrote to its
// termination log, or with terminationMessagePolicy FallbackToLogsOnError
// the last lines of its log.
func said(t *corev1.ContainerStateTerminated, message string) *corev1.ContainerStateTerminated {
	t.Message = message
	return t
}

const javaHeap = "Exception in thread \"main\" java.lang.OutOfMemoryError: Java heap space\n\tat Hog.main(Hog.java:2)\n"

func limits(req, lim string) corev1.ResourceRequirements {
	r := corev1.ResourceRequirements{Requests: corev1.ResourceList{}, Limits: corev1.ResourceList{}}
	if req != "" {
		r.Requests[corev1.ResourceMemory] = resource.MustParse(req)
	}
	if lim != "" {
		r.Limits[corev1.ResourceMemory] = resource.MustParse(lim)
	}
	return r
}

// pod builds a pod with one container "app" (256Mi limit), an init
// container "init" and a sidecar "proxy", and lets the case set statuses.
func pod(edit func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", UID: "uid-1"},
		Spec: corev1.PodSpec{
			NodeName:   "node-1",
			Containers: []corev1.Container{{Name: "app", Resources: limits("128Mi", "256Mi")}},
			InitContainers: []corev1.Container{
				{Name: "init", Resources: limits("", "64Mi")},
				{Name: "proxy", Resources: limits("32Mi", "32Mi"), RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways)},
			},
		},
	}
	edit(p)
	return p
}

func TestContainerFindings(t *testing.T) {
	type want struct {
		typ       model.FindingType
		container string
		kind      model.ContainerKind
		kills     int32
		exit      int32
		minsAgo   int
		explains  string
		crashLoop bool
	}
	cases := []struct {
		name string
		pod  *corev1.Pod
		want []want
	}{
		{"healthy pod", pod(func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
		}), nil},
		{"init container completed normally", pod(func(p *corev1.Pod) {
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "init", State: corev1.ContainerState{Terminated: term("Completed", 0, 5)}}}
		}), nil},
		{"plain error exit is not a kill", pod(func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", LastTerminationState: corev1.ContainerState{Terminated: term("Error", 1, 5)}}}
		}), nil},
		{"OOMKilled in lastState, crash loop", pod(func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{
				Name: "app", RestartCount: 7,
				State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
				LastTerminationState: corev1.ContainerState{Terminated: term("OOMKilled", 137, 3)},
			}}
		}), []want{{model.OOMKilled, "app", model.RegularContainer, 1, 137, 3, "limit of 256Mi", true}}},
		{"OOMKilled in state and lastState counts two kills, latest wins", pod(func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{
				Name:                 "app",
				State:                corev1.ContainerState{Terminated: term("OOMKilled", 137, 2)},
				LastTerminationState: corev1.ContainerState{Terminated: term("OOMKilled", 137, 9)},
			}}
		}), []want{{model.OOMKilled, "app", model.RegularContainer, 2, 137, 2, "limit of 256Mi", false}}},
		{"OOMKilled with another exit code: a child process was killed", pod(func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Terminated: term("OOMKilled", 2, 1)}}}
		}), []want{{model.OOMKilled, "app", model.RegularContainer, 1, 2, 1, "child process", false}}},
		{"runc's init OOM-killed while starting, tmpfs full", pod(func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}}}
			start := term("StartError", 128, 1)
			start.Message = "failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: container init was OOM-killed (memory limit too low?): unknown"
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", RestartCount: 2, LastTerminationState: corev1.ContainerState{Terminated: start}}}
		}), []want{{model.OOMKilled, "app", model.RegularContainer, 1, 128, 1, "memory-backed emptyDir (scratch)", false}}},
		{"a StartError for another reason is no kill", pod(func(p *corev1.Pod) {
			start := term("StartError", 128, 1)
			start.Message = `exec: "/app": stat /app: no such file or directory`
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", LastTerminationState: corev1.ContainerState{Terminated: start}}}
		}), nil},
		{"init container OOMKilled", pod(func(p *corev1.Pod) {
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "init", LastTerminationState: corev1.ContainerState{Terminated: term("OOMKilled", 137, 4)}}}
		}), []want{{model.OOMKilled, "init", model.InitContainer, 1, 137, 4, "cannot start until it succeeds", false}}},
		{"native sidecar OOMKilled", pod(func(p *corev1.Pod) {
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "proxy", LastTerminationState: corev1.ContainerState{Terminated: term("OOMKilled", 137, 4)}}}
		}), []want{{model.OOMKilled, "proxy", model.SidecarContainer, 1, 137, 4, "native sidecar", false}}},
		{"ephemeral container OOMKilled", pod(func(p *corev1.Pod) {
			p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug"}}}
			p.Status.EphemeralContainerStatuses = []corev1.ContainerStatus{{Name: "debug", State: corev1.ContainerState{Terminated: term("OOMKilled", 137, 6)}}}
		}), []want{{model.OOMKilled, "debug", model.EphemeralContainer, 1, 137, 6, "ephemeral", false}}},
		{"exit 137 with reason Error is not-oom, maybe the containerd race", pod(func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", LastTerminationState: corev1.ContainerState{Terminated: term("Error", 137, 8)}}}
		}), []want{{model.NotOOM, "app", model.RegularContainer, 1, 137, 8, "containerd", false}}},
		{"exit 137 ContainerStatusUnknown", pod(func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Terminated: term("ContainerStatusUnknown", 137, 8)}}}
		}), []want{{model.NotOOM, "app", model.RegularContainer, 1, 137, 8, "lost track", false}}},
		{"an OOM kill outranks a SIGKILL of the same container", pod(func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{
				Name:                 "app",
				State:                corev1.ContainerState{Terminated: term("Error", 137, 1)},
				LastTerminationState: corev1.ContainerState{Terminated: term("OOMKilled", 137, 30)},
			}}
		}), []want{{model.OOMKilled, "app", model.RegularContainer, 1, 137, 30, "limit of 256Mi", false}}},
		{"a Java OutOfMemoryError in the message is runtime-oom", pod(func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{
				Name: "app", RestartCount: 4,
				State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
				LastTerminationState: corev1.ContainerState{Terminated: said(term("Error", 1, 2), javaHeap)},
			}}
		}), []want{{model.RuntimeOOM, "app", model.RegularContainer, 1, 1, 2, "Not an OOM kill: the JVM ran out of memory inside the container (java.lang.OutOfMemoryError: Java heap space) and the process exited with code 1. The limit it reached is the JVM's own, below the container's memory limit of 256Mi", true}}},
		{"V8's heap limit with SIGABRT is runtime-oom, both runs counted", pod(func(p *corev1.Pod) {
			v8 := "<--- JS stacktrace --->\n\nFATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory\n----- Native stack trace -----\n"
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{
				Name:                 "app",
				State:                corev1.ContainerState{Terminated: said(term("Error", 134, 1), v8)},
				LastTerminationState: corev1.ContainerState{Terminated: said(term("Error", 134, 6), v8)},
			}}
		}), []want{{model.RuntimeOOM, "app", model.RegularContainer, 2, 134, 1, "--max-old-space-size", false}}},
		{"Go refused memory: not the cgroup", pod(func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Terminated: said(term("Error", 2, 3), "runtime: out of memory: cannot allocate 4194304-byte block (276561920 in use)\nfatal error: out of memory\n")}}}
		}), []want{{model.RuntimeOOM, "app", model.RegularContainer, 1, 2, 3, "vm.overcommit_memory=2", false}}},
		{"a JVM that cannot start threads is told that memory is not it", pod(func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Terminated: said(term("Error", 1, 3), "java.lang.OutOfMemoryError: unable to create native thread: possibly out of memory or process/resource limits reached")}}}
		}), []want{{model.RuntimeOOM, "app", model.RegularContainer, 1, 1, 3, "pids limit", false}}},
		{"an error exit whose message says nothing of memory is no finding", pod(func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Terminated: said(term("Error", 1, 3), "panic: open /config.yaml: no such file or directory")}}}
		}), nil},
		{"a message of a clean exit is no finding", pod(func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Terminated: said(term("Completed", 0, 3), javaHeap)}}}
		}), nil},
		{"an OOM kill outranks a runtime's out-of-memory error, which stays as evidence", pod(func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{
				Name:                 "app",
				State:                corev1.ContainerState{Terminated: said(term("Error", 1, 1), javaHeap)},
				LastTerminationState: corev1.ContainerState{Terminated: term("OOMKilled", 137, 30)},
			}}
		}), []want{{model.OOMKilled, "app", model.RegularContainer, 1, 137, 30, "limit of 256Mi", false}}},
		{"a runtime's out-of-memory error outranks a SIGKILL", pod(func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{
				Name:                 "app",
				State:                corev1.ContainerState{Terminated: term("Error", 137, 1)},
				LastTerminationState: corev1.ContainerState{Terminated: said(term("Error", 3, 30), "Terminating due to java.lang.OutOfMemoryError: Java heap space")},
			}}
		}), []want{{model.RuntimeOOM, "app", model.RegularContainer, 1, 3, 30, "exited with code 3", false}}},
		{"no limit at all: the node ran out", pod(func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = corev1.ResourceRequirements{}
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Terminated: term("OOMKilled", 137, 1)}}}
		}), []want{{model.OOMKilled, "app", model.RegularContainer, 1, 137, 1, "no memory limit", false}}},
		{"pod-level limit", pod(func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = corev1.ResourceRequirements{}
			p.Spec.Resources = &corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")}}
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Terminated: term("OOMKilled", 137, 1)}}}
		}), []want{{model.OOMKilled, "app", model.RegularContainer, 1, 137, 1, "pod's limit of 1Gi", false}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := ContainerFindings(tc.pod)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d findings, want %d: %+v", len(got), len(tc.want), got)
			}
			for i, w := range tc.want {
				f := got[i]
				if f.Type != w.typ || f.Container != w.container || f.ContainerKind != w.kind || f.Kills != w.kills ||
					*f.ExitCode != w.exit || !f.LastKill.Equal(at(w.minsAgo).Time) || f.CrashLoop != w.crashLoop {
					t.Errorf("finding %+v\nwant %+v", f, w)
				}
				if !strings.Contains(f.Explanation, w.explains) {
					t.Errorf("explanation %q does not mention %q", f.Explanation, w.explains)
				}
				if f.Namespace != "ns" || f.Pod != "p" || f.PodUID != "uid-1" || f.Node != "node-1" || len(f.Evidence) == 0 {
					t.Errorf("identity or evidence missing: %+v", f)
				}
			}
		})
	}
}

// An OOM-killed container's earlier out-of-memory error of its runtime is
// evidence of the kill's finding; the error itself is kept whole only on a
// runtime-oom finding.
func TestRuntimeOOMEvidence(t *testing.T) {
	p := pod(func(p *corev1.Pod) {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{
			Name:                 "app",
			State:                corev1.ContainerState{Terminated: said(term("Error", 1, 1), javaHeap)},
			LastTerminationState: corev1.ContainerState{Terminated: term("OOMKilled", 137, 30)},
		}}
	})
	f := ContainerFindings(p)[0]
	if f.Type != model.OOMKilled || f.OutOfMemory != nil {
		t.Errorf("an OOM kill with a runtime's error beside it: %s %+v", f.Type, f.OutOfMemory)
	}
	if !strings.Contains(strings.Join(f.Evidence, "\n"), "state.terminated: reason=Error exitCode=1 finishedAt=2026-11-27T07:59:00Z; its message: java.lang.OutOfMemoryError: Java heap space") {
		t.Errorf("evidence %q", f.Evidence)
	}
}

// The log of a container's latest run is read for the runtime's error
// when its status does not show one: the previous run's when it has been
// restarted, else its own.
func TestLogTargetsAndLogFinding(t *testing.T) {
	p := pod(func(p *corev1.Pod) {
		p.Status.InitContainerStatuses = []corev1.ContainerStatus{
			{Name: "init", State: corev1.ContainerState{Terminated: term("Completed", 0, 9)}},
			{Name: "proxy", State: corev1.ContainerState{Terminated: term("Error", 2, 3)}},
		}
		p.Status.ContainerStatuses = []corev1.ContainerStatus{
			{Name: "app", RestartCount: 3, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}, LastTerminationState: corev1.ContainerState{Terminated: term("Error", 1, 2)}},
			{Name: "told", State: corev1.ContainerState{Terminated: said(term("Error", 1, 2), javaHeap)}},
			{Name: "killed", State: corev1.ContainerState{Terminated: term("OOMKilled", 137, 2)}},
			{Name: "sigkill", State: corev1.ContainerState{Terminated: term("Error", 137, 2)}},
		}
	})
	got := LogTargets(p)
	want := []LogTarget{{Container: "proxy"}, {Container: "app", Previous: true}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("log targets %+v, want %+v", got, want)
	}
	f, ok := LogFinding(p, "app", "starting\n"+javaHeap)
	if !ok || f.Type != model.RuntimeOOM || f.Container != "app" || *f.OutOfMemory != (runtimes.OutOfMemory{Runtime: runtimes.JVM, Kind: runtimes.OOMHeap, Message: "java.lang.OutOfMemoryError: Java heap space", From: "log"}) || !f.CrashLoop {
		t.Fatalf("log finding %v %+v", ok, f)
	}
	if !strings.Contains(strings.Join(f.Evidence, "\n"), "exitCode=1 finishedAt=2026-11-27T07:58:00Z; its log: java.lang.OutOfMemoryError") {
		t.Errorf("evidence %q", f.Evidence)
	}
	for _, log := range []string{"", "panic: no config"} {
		if f, ok := LogFinding(p, "app", log); ok {
			t.Errorf("log %q: finding %+v", log, f)
		}
	}
	if f, ok := LogFinding(p, "nosuch", javaHeap); ok {
		t.Errorf("a container the pod does not have: %+v", f)
	}
}

func TestContainerFindingsPreferStatusResources(t *testing.T) {
	// After an in-place resize the status says what the kubelet applied.
	p := pod(func(p *corev1.Pod) {
		applied := limits("128Mi", "512Mi")
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", Resources: &applied, State: corev1.ContainerState{Terminated: term("OOMKilled", 137, 1)}}}
	})
	f := ContainerFindings(p)[0]
	if *f.MemoryLimitBytes != 512<<20 || *f.MemoryRequestBytes != 128<<20 {
		t.Errorf("limit %d request %d, want the applied 512Mi / 128Mi", *f.MemoryLimitBytes, *f.MemoryRequestBytes)
	}
}

func TestComputeQOS(t *testing.T) {
	g := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("1Gi")}
	cases := []struct {
		name       string
		containers []corev1.ResourceRequirements
		want       corev1.PodQOSClass
	}{
		{"nothing set", []corev1.ResourceRequirements{{}}, corev1.PodQOSBestEffort},
		{"limits only (requests default to them)", []corev1.ResourceRequirements{{Limits: g}}, corev1.PodQOSGuaranteed},
		{"requests equal limits", []corev1.ResourceRequirements{{Requests: g, Limits: g}}, corev1.PodQOSGuaranteed},
		{"memory limit only", []corev1.ResourceRequirements{limits("", "1Gi")}, corev1.PodQOSBurstable},
		{"request below limit", []corev1.ResourceRequirements{{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("512Mi")}, Limits: g}}, corev1.PodQOSBurstable},
		{"one container without limits", []corev1.ResourceRequirements{{Limits: g}, {}}, corev1.PodQOSBurstable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := &corev1.Pod{}
			for _, r := range tc.containers {
				p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Resources: r})
			}
			if got := ComputeQOS(p); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}
