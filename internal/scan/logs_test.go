package scan

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/runtimes"
)

// exited is a pod of a ReplicaSet whose container "app" last exited with
// code, and now runs again.
func exited(name string, code int32) corev1.Pod {
	return corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name, OwnerReferences: []metav1.OwnerReference{*ref("ReplicaSet", "api-abc")}},
		Spec:       corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "app", Image: "example/api"}}},
		Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{
			Name: "app", RestartCount: 3, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Error", ExitCode: code, FinishedAt: ago(time.Minute)}},
		}}},
	}
}

// Logs are read for the containers that exited with an error, the
// previous run's; a Go traceback's end is read again further back, where
// the Go runtime's error is; an error that says nothing of memory, or a
// clean exit, is no finding.
func TestLogsFindRuntimeOOM(t *testing.T) {
	crash, err := os.ReadFile("../runtimes/testdata/oom/go126-ulimit.txt")
	if err != nil {
		t.Fatal(err)
	}
	src := fixture()
	src.Objects.Pods = append(src.Objects.Pods, exited("api-abc-go", 2), exited("api-abc-panic", 2), exited("api-abc-done", 0))
	src.Objects.ReplicaSets = append(src.Objects.ReplicaSets, appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "api-abc", OwnerReferences: []metav1.OwnerReference{*ref("Deployment", "api")}}})
	var mu sync.Mutex
	var asked []LogRequest
	logs := func(_ context.Context, r LogRequest) (string, error) {
		mu.Lock()
		asked = append(asked, r)
		mu.Unlock()
		switch {
		case r.Pod == "api-abc-panic":
			return "panic: open /config.yaml: no such file or directory\n\ngoroutine 1 [running]:\nmain.main()\n", nil
		case r.Lines == LogLines:
			// The tail: the stacks of the other goroutines only.
			return string(crash[strings.Index(string(crash), "\ngoroutine 1 ")+1:]), nil
		}
		return "starting\n" + string(crash), nil
	}
	rep, err := Run(context.Background(), src, Options{Now: now, Diagnose: true, Logs: logs})
	if err != nil {
		t.Fatal(err)
	}
	var got []model.Finding
	for _, g := range rep.Workloads {
		for _, f := range g.Findings {
			if f.Type == model.RuntimeOOM {
				got = append(got, f)
				if g.Workload.String() != "Deployment/api" {
					t.Errorf("workload %s", g.Workload)
				}
			}
		}
	}
	if len(got) != 1 || got[0].Pod != "api-abc-go" || got[0].OutOfMemory == nil || got[0].OutOfMemory.Kind != runtimes.OOMRefused || got[0].OutOfMemory.From != "log" {
		t.Fatalf("runtime-oom findings %+v", got)
	}
	if c := got[0].TopCause(); c == nil || c.ID != model.CauseRuntimeOOM {
		t.Errorf("causes %+v", got[0].Causes)
	}
	// Two reads of the Go program's log, two of the panic's (a Go
	// traceback too, with no out-of-memory error in it), none of the
	// clean exit's.
	reads := map[string][]int64{}
	for _, r := range asked {
		if !r.Previous || r.Container != "app" || r.Workload.String() != "Deployment/api" {
			t.Errorf("request %+v", r)
		}
		reads[r.Pod] = append(reads[r.Pod], r.Lines)
	}
	if g := reads["api-abc-go"]; len(g) != 2 || g[0] != LogLines || g[1] != TracebackLines {
		t.Errorf("the Go program's log was read %v, want its tail, then further back", g)
	}
	if _, ok := reads["api-abc-done"]; ok || len(reads) != 2 || len(reads["api-abc-panic"]) != 2 {
		t.Errorf("reads %v: only the containers that exited with an error", reads)
	}
}

// A log that cannot be read is one warning that says which permission
// to grant; the rest of the report stands.
func TestLogsForbidden(t *testing.T) {
	src := fixture()
	src.Objects.Pods = append(src.Objects.Pods, exited("api-abc-1", 1), exited("api-abc-2", 1))
	forbidden := apierrors.NewForbidden(schema.GroupResource{Resource: "pods/log"}, "api-abc-1", nil)
	rep, err := Run(context.Background(), src, Options{Now: now, Logs: func(context.Context, LogRequest) (string, error) { return "", forbidden }})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Warnings) != 1 || rep.Warnings[0].Source != "pods/log" ||
		!strings.Contains(rep.Warnings[0].Message, `cannot read the logs of 2 containers of 2 that exited with an error: permission denied. Grant the verb "get" on "pods/log"`) {
		t.Errorf("warnings %+v", rep.Warnings)
	}
	if rep.Summary.Findings != 8 {
		t.Errorf("%d findings, want the fixture's 8", rep.Summary.Findings)
	}
}
