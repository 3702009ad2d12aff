package workloads

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"
)

// Scenario is one way to get a container killed, with the state the
// kubelet reports once it has happened.
type Scenario struct {
	// Name is the pod's (or Deployment's) name and its "app" label.
	Name string
	// Reached says what Done waits for, for messages.
	Reached string
	// Object is what to create in a namespace: a Pod or a Deployment.
	Object func(ns string) runtime.Object
	// Done tells whether a pod of the scenario has reached that state.
	Done func(*corev1.Pod) bool
}

// Selector selects the scenario's pods.
func (s Scenario) Selector() string { return "app=" + s.Name }

// Create starts the scenario in a namespace.
func (s Scenario) Create(ctx context.Context, c kubernetes.Interface, ns string) error {
	var err error
	switch o := s.Object(ns).(type) {
	case *corev1.Pod:
		_, err = c.CoreV1().Pods(ns).Create(ctx, o, metav1.CreateOptions{})
	case *appsv1.Deployment:
		_, err = c.AppsV1().Deployments(ns).Create(ctx, o, metav1.CreateOptions{})
	default:
		err = fmt.Errorf("scenario %s: cannot create a %T", s.Name, o)
	}
	return err
}

// Manifest is the scenario's object as YAML, to kubectl apply.
func (s Scenario) Manifest(ns string) ([]byte, error) {
	obj := s.Object(ns)
	switch o := obj.(type) {
	case *corev1.Pod:
		o.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Pod"))
	case *appsv1.Deployment:
		o.SetGroupVersionKind(appsv1.SchemeGroupVersion.WithKind("Deployment"))
	}
	return yaml.Marshal(obj)
}

func pods(p func(string) *corev1.Pod) func(string) runtime.Object {
	return func(ns string) runtime.Object { return p(ns) }
}

// Status returns a container's status, init containers included.
func Status(p *corev1.Pod, container string) *corev1.ContainerStatus {
	for _, list := range [][]corev1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
		for i := range list {
			if list[i].Name == container {
				return &list[i]
			}
		}
	}
	return nil
}

// LastTerminated is a container's last termination, or its current one
// before its first restart.
func LastTerminated(cs *corev1.ContainerStatus) *corev1.ContainerStateTerminated {
	if cs == nil {
		return nil
	}
	if cs.LastTerminationState.Terminated != nil {
		return cs.LastTerminationState.Terminated
	}
	return cs.State.Terminated
}

func oomKilled(p *corev1.Pod, container string) bool {
	t := LastTerminated(Status(p, container))
	return t != nil && t.Reason == "OOMKilled" && t.ExitCode == 137
}

// Scenarios are every scenario, in the order the example runs them.
var Scenarios = []Scenario{
	{
		Name: "hog", Reached: "OOMKilled at least twice, now in CrashLoopBackOff",
		Object: func(ns string) runtime.Object { return Hog(ns) },
		Done: func(p *corev1.Pod) bool {
			cs := Status(p, "hog")
			return oomKilled(p, "hog") && cs.RestartCount >= 2 && cs.State.Waiting != nil && cs.State.Waiting.Reason == "CrashLoopBackOff"
		},
	},
	{
		Name: "init-hog", Reached: "init container OOMKilled, main container never started",
		Object: pods(InitHog),
		Done: func(p *corev1.Pod) bool {
			main := Status(p, "main")
			return oomKilled(p, "migrate") && p.Status.Phase == corev1.PodPending && main != nil && main.State.Running == nil && main.State.Terminated == nil
		},
	},
	{
		Name: "child-kill", Reached: "running (its child is killed inside; see the e2e test)",
		Object: pods(ChildKill),
		Done: func(p *corev1.Pod) bool {
			cs := Status(p, "worker")
			return cs != nil && cs.State.Running != nil && cs.ContainerID != ""
		},
	},
	{
		Name: "sidecar-holder", Reached: "app OOMKilled while the sidecar runs on",
		Object: pods(SidecarHolder),
		Done: func(p *corev1.Pod) bool {
			side := Status(p, "cache-sidecar")
			return oomKilled(p, "app") && side != nil && side.State.Running != nil && side.RestartCount == 0
		},
	},
	{
		Name: "tmpfs-filler", Reached: "writer OOMKilled",
		Object: pods(TmpfsFiller),
		Done:   func(p *corev1.Pod) bool { return oomKilled(p, "writer") },
	},
	{
		Name: "probe-killed", Reached: "web killed with exit code 137, reason not OOMKilled",
		Object: pods(ProbeKilled),
		Done: func(p *corev1.Pod) bool {
			t := LastTerminated(Status(p, "web"))
			return t != nil && t.ExitCode == 137 && t.Reason != "OOMKilled"
		},
	},
}

// RuntimeOutOfMemoryScenario runs RuntimeOutOfMemory (its JVM's classes
// in the folder given) until both containers have run out of memory and
// restarted, so that their previous runs' logs are kept. It kills
// nothing, so it is not among the Scenarios the example shows.
func RuntimeOutOfMemoryScenario(classes string) Scenario {
	return Scenario{
		Name: "runtime-oom", Reached: "the JVM exited with code 1 and the Go program with 2, each restarted",
		Object: pods(func(ns string) *corev1.Pod { return RuntimeOutOfMemory(ns, classes) }),
		Done: func(p *corev1.Pod) bool {
			for c, code := range map[string]int32{"jvm": 1, "go": 2} {
				cs := Status(p, c)
				if cs == nil || cs.LastTerminationState.Terminated == nil || cs.LastTerminationState.Terminated.ExitCode != code {
					return false
				}
			}
			return true
		},
	}
}

// Find returns the scenario of that name.
func Find(name string) Scenario {
	for _, s := range Scenarios {
		if s.Name == name {
			return s
		}
	}
	panic("no scenario " + name)
}
