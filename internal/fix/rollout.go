package fix

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/oomdoctor/oomdoctor/internal/words"
)

// waitRollout waits like `kubectl rollout status`, and gives up sooner
// when the new pods are refused for refusedFor on end (a quota, a limit
// range, a webhook: the rollout cannot go on until someone acts).
func waitRollout(ctx context.Context, c kubernetes.Interface, t ApplyTarget, opts ApplyOptions) error {
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	undo := fmt.Sprintf("kubectl rollout undo %s -n %s", t, t.Namespace)
	since := time.Now().Add(-5 * time.Second) // events of this rollout; a little slack for clocks
	last := ""
	var refusedSince time.Time
	for {
		state, done, err := rolloutState(ctx, c, t, since)
		var r *refusedPods
		switch {
		case errors.As(err, &r):
			if refusedSince.IsZero() {
				refusedSince = time.Now()
			}
			if time.Since(refusedSince) >= refusedFor {
				left := "its old pods keep running"
				if t.Kind != "Deployment" {
					left = "a pod it removed to replace stays missing"
				}
				return fmt.Errorf("the rollout of %s cannot go on: %v; %s until the cause is fixed or the change undone: %s", t, err, left, undo)
			}
			state, err = err.Error(), nil
		default:
			refusedSince = time.Time{}
		}
		if err != nil {
			return fmt.Errorf("the rollout of %s failed: %v; to go back: %s", t, err, undo)
		}
		if done {
			if opts.Progress != nil {
				opts.Progress(state)
			}
			return nil
		}
		if state != last && opts.Progress != nil {
			opts.Progress(state)
			last = state
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the rollout of %s did not finish within %s (%s); look at its pods (oomdoctor scan -n %s), and to go back: %s", t, opts.Timeout, state, t.Namespace, undo)
		case <-time.After(time.Second):
		}
	}
}

// rolloutState says where a rollout is, and whether it is done.
// A *refusedPods error says the controller cannot create the new pods.
func rolloutState(ctx context.Context, c kubernetes.Interface, t ApplyTarget, since time.Time) (string, bool, error) {
	var state string
	switch t.Kind {
	case "Deployment":
		d, err := c.AppsV1().Deployments(t.Namespace).Get(ctx, t.Name, metav1.GetOptions{})
		if err != nil {
			return "", false, err
		}
		return deploymentState(d)
	case "StatefulSet":
		s, err := c.AppsV1().StatefulSets(t.Namespace).Get(ctx, t.Name, metav1.GetOptions{})
		if err != nil {
			return "", false, err
		}
		want := int32(1)
		if s.Spec.Replicas != nil {
			want = *s.Spec.Replicas
		}
		switch {
		case s.Status.ObservedGeneration < s.Generation:
			return "waiting for the statefulset's controller", false, nil
		case s.Status.UpdatedReplicas < want || s.Status.CurrentRevision != s.Status.UpdateRevision && s.Status.UpdateRevision != "":
			state = fmt.Sprintf("%d of %s updated", s.Status.UpdatedReplicas, words.Count(want, "pod"))
		case s.Status.ReadyReplicas < want:
			state = fmt.Sprintf("%d of %s ready", s.Status.ReadyReplicas, words.Count(want, "pod"))
		default:
			return fmt.Sprintf("statefulset %s rolled out: %s ready", t.Name, words.Count(want, "pod")), true, nil
		}
	case "DaemonSet":
		d, err := c.AppsV1().DaemonSets(t.Namespace).Get(ctx, t.Name, metav1.GetOptions{})
		if err != nil {
			return "", false, err
		}
		st := d.Status
		switch {
		case st.ObservedGeneration < d.Generation:
			return "waiting for the daemonset's controller", false, nil
		case st.UpdatedNumberScheduled < st.DesiredNumberScheduled:
			state = fmt.Sprintf("%d of %s updated", st.UpdatedNumberScheduled, words.Count(st.DesiredNumberScheduled, "pod"))
		case st.NumberAvailable < st.DesiredNumberScheduled:
			state = fmt.Sprintf("%d of %d updated pods available", st.NumberAvailable, st.DesiredNumberScheduled)
		default:
			return fmt.Sprintf("daemonset %s rolled out: %s available", t.Name, words.Count(st.NumberAvailable, "pod")), true, nil
		}
	default:
		return fmt.Sprintf("%s has no rollout: its pods get the new values when they are next created", t), true, nil
	}
	if err := failedCreate(ctx, c, t, since); err != nil {
		return "", false, err
	}
	return state, false, nil
}

func deploymentState(d *appsv1.Deployment) (string, bool, error) {
	if d.Status.ObservedGeneration < d.Generation {
		return "waiting for the deployment's controller", false, nil
	}
	var refused error
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse && c.Reason == "ProgressDeadlineExceeded" {
			return "", false, fmt.Errorf("its progress deadline passed: %s", c.Message)
		}
		if c.Type == appsv1.DeploymentReplicaFailure && c.Status == corev1.ConditionTrue {
			refused = &refusedPods{why: c.Message}
		}
	}
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	st := d.Status
	state := ""
	switch {
	case st.UpdatedReplicas < want:
		state = fmt.Sprintf("%d of %d new replicas updated", st.UpdatedReplicas, want)
	case st.Replicas > st.UpdatedReplicas:
		state = fmt.Sprintf("%d old replicas are pending termination", st.Replicas-st.UpdatedReplicas)
	case st.AvailableReplicas < st.UpdatedReplicas:
		state = fmt.Sprintf("%d of %d updated replicas are available", st.AvailableReplicas, st.UpdatedReplicas)
	default:
		return fmt.Sprintf("deployment %s successfully rolled out: %d replicas available", d.Name, st.AvailableReplicas), true, nil
	}
	if refused != nil {
		return "", false, refused
	}
	return state, false, nil
}

// describePods reports the workload's pods: state, restarts, and any kill.
func describePods(ctx context.Context, c kubernetes.Interface, t ApplyTarget) ([]string, error) {
	var sel *metav1.LabelSelector
	switch t.Kind {
	case "Deployment":
		d, err := c.AppsV1().Deployments(t.Namespace).Get(ctx, t.Name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		sel = d.Spec.Selector
	case "StatefulSet":
		s, err := c.AppsV1().StatefulSets(t.Namespace).Get(ctx, t.Name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		sel = s.Spec.Selector
	case "DaemonSet":
		d, err := c.AppsV1().DaemonSets(t.Namespace).Get(ctx, t.Name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		sel = d.Spec.Selector
	default:
		return nil, nil
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return nil, err
	}
	pods, err := c.CoreV1().Pods(t.Namespace).List(ctx, metav1.ListOptions{LabelSelector: s.String()})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		line := fmt.Sprintf("pod %s: %s", p.Name, p.Status.Phase)
		for _, cs := range p.Status.ContainerStatuses {
			line += fmt.Sprintf("; %s restarts %d", cs.Name, cs.RestartCount)
			if lt := cs.LastTerminationState.Terminated; lt != nil {
				line += fmt.Sprintf(", last terminated %s (exit %d)", lt.Reason, lt.ExitCode)
			}
		}
		out = append(out, line)
	}
	sort.Strings(out)
	return out, nil
}
