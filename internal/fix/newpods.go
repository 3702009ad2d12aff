package fix

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"

	"github.com/oomdoctor/oomdoctor/internal/words"
)

// failingPods is a rollout whose new pods fail under the new values:
// OOM-killed, or crashing in a loop. Waiting longer would not help: a
// Deployment's controller says so only when its progress deadline
// passes (ten minutes by default), a StatefulSet's and a DaemonSet's
// never.
type failingPods struct {
	pod, why string
	// look says where to look further: the pod's usage or its log (""
	// once the rollback deletes the pod).
	look string
}

func (f *failingPods) Error() string { return f.why + f.look }

// podsOf lists the pods a workload's selector matches, but those being
// deleted.
func podsOf(ctx context.Context, c kubernetes.Interface, obj runtime.Object) ([]corev1.Pod, error) {
	_, sel := templateOf(obj)
	if sel == nil {
		return nil, nil
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return nil, err
	}
	m, _ := obj.(metav1.Object)
	list, err := c.CoreV1().Pods(m.GetNamespace()).List(ctx, metav1.ListOptions{LabelSelector: s.String()})
	if err != nil {
		return nil, err
	}
	var out []corev1.Pod
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out, nil
}

// newPods looks at the pods the rollout made (created since it began,
// with the memory and the restart annotation of the template as it is
// now): an error when a container of theirs is OOM-killed or crashes in
// a loop, and what keeps one from starting, to tell while the wait goes
// on (the scheduler finds no node with the memory it requests: one
// frees, or an autoscaler adds one, or the wait runs out). Without the
// right to list pods it says nothing: the wait goes on as kubectl's.
func newPods(ctx context.Context, c kubernetes.Interface, obj runtime.Object, since time.Time) (string, error) {
	tmpl, _ := templateOf(obj)
	pods, err := podsOf(ctx, c, obj)
	if err != nil || tmpl == nil {
		return "", nil
	}
	pending := ""
	for i := range pods {
		p := &pods[i]
		if p.CreationTimestamp.Time.Before(since.Truncate(time.Second)) || !fromTemplate(p, tmpl) {
			continue
		}
		statuses := append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...)
		for _, cs := range statuses {
			if f := failing(p, cs); f != nil {
				return "", f
			}
		}
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionFalse && cond.Reason == corev1.PodReasonUnschedulable && pending == "" {
				pending = fmt.Sprintf("its new pod %s is not scheduled: %s", p.Name, strings.TrimSpace(cond.Message))
			}
		}
	}
	return pending, nil
}

// failing says how one container of a new pod fails (nil: it does not).
func failing(p *corev1.Pod, cs corev1.ContainerStatus) *failingPods {
	oom := cs.State.Terminated
	if oom == nil || oom.Reason != "OOMKilled" {
		oom = cs.LastTerminationState.Terminated
	}
	if oom != nil && oom.Reason == "OOMKilled" {
		limit := "with no memory limit of its own (the pod's or the node's memory ran out)"
		if q, ok := containerLimit(p, cs.Name); ok {
			limit = "under its memory limit " + q
		}
		return &failingPods{pod: p.Name,
			why:  fmt.Sprintf("its new pod %s was OOMKilled %s (container %s, %s): the new values are too small for it", p.Name, limit, cs.Name, words.Count(cs.RestartCount, "restart")),
			look: fmt.Sprintf("; its usage: oomdoctor explain %s/%s -n %s", p.Name, cs.Name, p.Namespace)}
	}
	if w := cs.State.Waiting; w != nil && w.Reason == "CrashLoopBackOff" {
		last := ""
		if lt := cs.LastTerminationState.Terminated; lt != nil {
			last = fmt.Sprintf("; it last ended %s, exit code %d%s", lt.Reason, lt.ExitCode, message(lt.Message))
		}
		return &failingPods{pod: p.Name,
			why:  fmt.Sprintf("its new pod %s crashes in a loop (container %s in CrashLoopBackOff after %s%s)", p.Name, cs.Name, words.Count(cs.RestartCount, "restart"), last),
			look: fmt.Sprintf(": kubectl logs -p %s -c %s -n %s says why", p.Name, cs.Name, p.Namespace)}
	}
	return nil
}

// message is a container's termination message, its last line and at
// most 200 bytes, to quote ("": none).
func message(m string) string {
	lines := strings.Split(strings.TrimSpace(m), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	if len(last) > 200 {
		last = strings.ToValidUTF8(last[:200], "") + "..."
	}
	if last == "" {
		return ""
	}
	return fmt.Sprintf(", saying %q", last)
}

// containerLimit is a pod's container's memory limit, as written.
func containerLimit(p *corev1.Pod, name string) (string, bool) {
	for _, ct := range append(append([]corev1.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
		if ct.Name == name {
			if q, ok := ct.Resources.Limits[corev1.ResourceMemory]; ok {
				return q.String(), true
			}
		}
	}
	return "", false
}

// fromTemplate says whether a pod has what the template says of memory
// (every container's limit and request), its command and arguments and
// its env values (a heap flag changed there; an admission webhook may
// add env) and the restart
// annotation kubectl rollout restart writes: a pod of the rollout, not an
// old one its controller replaced meanwhile.
func fromTemplate(p *corev1.Pod, tmpl *corev1.PodTemplateSpec) bool {
	if at, ok := tmpl.Annotations[restartedAt]; ok && p.Annotations[restartedAt] != at {
		return false
	}
	have := map[string]corev1.Container{}
	for _, ct := range append(append([]corev1.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
		have[ct.Name] = ct
	}
	for _, ct := range append(append([]corev1.Container{}, tmpl.Spec.InitContainers...), tmpl.Spec.Containers...) {
		pc, ok := have[ct.Name]
		if !ok {
			return false
		}
		if !slices.Equal(ct.Command, pc.Command) || !slices.Equal(ct.Args, pc.Args) {
			return false // a heap flag changed on the command line
		}
		for _, e := range ct.Env {
			if e.ValueFrom == nil && !slices.ContainsFunc(pc.Env, func(x corev1.EnvVar) bool { return x.Name == e.Name && x.Value == e.Value }) {
				return false
			}
		}
		r := pc.Resources
		for _, l := range []struct{ want, got corev1.ResourceList }{{ct.Resources.Limits, r.Limits}, {ct.Resources.Requests, r.Requests}} {
			if w, ok := l.want[corev1.ResourceMemory]; ok {
				if g, ok := l.got[corev1.ResourceMemory]; !ok || g.Cmp(w) != 0 {
					return false
				}
			}
		}
	}
	return true
}
