package fix

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"

	"github.com/oomdoctor/oomdoctor/internal/words"
	"github.com/oomdoctor/oomdoctor/internal/workload"
)

// waitRollout waits like `kubectl rollout status`, and gives up sooner
// when the new pods are refused for refusedFor on end (a quota, a limit
// range, a webhook: the rollout cannot go on until someone acts) or when
// they fail (OOM-killed, or crashing in a loop: the new values do not
// work). undo is the way back the errors give ("": none, since the caller
// goes back itself).
func waitRollout(parent context.Context, c kubernetes.Interface, t ApplyTarget, opts ApplyOptions, undo string) error {
	ctx, cancel := context.WithTimeout(parent, opts.Timeout)
	defer cancel()
	back := func(prefix string) string {
		if undo == "" {
			return ""
		}
		return prefix + undo
	}
	if obj, err := getObject(ctx, c, t); err == nil && noRollout(obj) != "" {
		return nil // nothing rolls out: Apply noted why
	}
	since := time.Now().Add(-5 * time.Second) // events and pods of this rollout; a little slack for clocks
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
				return fmt.Errorf("the rollout of %s cannot go on: %v; %s until the cause is fixed%s", t, err, left, back(" or the change undone: "))
			}
			state, err = err.Error(), nil
		default:
			refusedSince = time.Time{}
		}
		if undo == "" {
			goesBack(err)
		}
		if err != nil {
			return fmt.Errorf("the rollout of %s failed: %w%s", t, err, back("; to go back: "))
		}
		if done {
			if opts.Progress != nil {
				opts.Progress(state)
			}
			if err := observe(parent, c, t, opts, since, undo == ""); err != nil {
				return fmt.Errorf("the rollout of %s finished, but %w%s", t, err, back("; to go back: "))
			}
			return nil
		}
		if state != last && opts.Progress != nil {
			opts.Progress(state)
			last = state
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the rollout of %s did not finish within %s (%s); look at its pods (oomdoctor scan -n %s)%s", t, opts.Timeout, state, t.Namespace, back(", and to go back: "))
		case <-time.After(time.Second):
		}
	}
}

// observe watches a finished rollout's new pods for opts.Observe: a
// container killed or crashing soon after it starts (a heap that grows
// past the new limit as the program warms up) fails the change as a
// failed rollout does. A pod is ready, and a rollout done, long before
// its memory is.
func observe(ctx context.Context, c kubernetes.Interface, t ApplyTarget, opts ApplyOptions, since time.Time, rollback bool) error {
	if opts.Observe <= 0 || !rolls(t.Kind) {
		return nil
	}
	obj, err := getObject(ctx, c, t)
	if err != nil {
		return err
	}
	if wantsNoPods(obj) {
		return nil
	}
	if opts.Progress != nil {
		opts.Progress(fmt.Sprintf("watching the new pods for %s (--observe)", opts.Observe))
	}
	end := time.Now().Add(opts.Observe)
	for {
		if _, err := newPods(ctx, c, obj, since); err != nil {
			if rollback {
				goesBack(err)
			}
			return fmt.Errorf("within %s %w", opts.Observe, err)
		}
		left := time.Until(end)
		if left <= 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(min(left, time.Second)):
		}
		if obj, err = getObject(ctx, c, t); err != nil {
			return err
		}
	}
}

// goesBack drops where to look further from a failing pod's error: the
// rollback deletes the pod.
func goesBack(err error) {
	var f *failingPods
	if errors.As(err, &f) {
		f.look = ""
	}
}

// wantsNoPods says whether a workload runs no pod now (scaled to zero, a
// DaemonSet no node takes): its change has no pod to watch.
func wantsNoPods(obj runtime.Object) bool {
	pods, _, ok := workload.Rollout(obj)
	return ok && pods == 0
}

// noRollout says why a workload's controller does not roll its pods
// out when its template changes ("": it does): a paused Deployment, an
// OnDelete update strategy.
func noRollout(obj runtime.Object) string {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		if o.Spec.Paused {
			return fmt.Sprintf("deployment %s is paused: its pods get the new values when it is resumed (kubectl rollout resume deployment/%s -n %s)", o.Name, o.Name, o.Namespace)
		}
	case *appsv1.StatefulSet:
		if o.Spec.UpdateStrategy.Type == appsv1.OnDeleteStatefulSetStrategyType {
			return fmt.Sprintf("statefulset %s updates its pods OnDelete: each gets the new values when it is deleted (kubectl delete pod -n %s ...), one at a time", o.Name, o.Namespace)
		}
	case *appsv1.DaemonSet:
		if o.Spec.UpdateStrategy.Type == appsv1.OnDeleteDaemonSetStrategyType {
			return fmt.Sprintf("daemonset %s updates its pods OnDelete: each gets the new values when it is deleted (kubectl delete pod -n %s ...)", o.Name, o.Namespace)
		}
	}
	return ""
}

// undoCommand is kubectl's way back from a rollout.
func undoCommand(t ApplyTarget) string {
	return fmt.Sprintf("kubectl rollout undo %s -n %s", t, t.Namespace)
}

// rolloutState says where a rollout is, and whether it is done.
// A *refusedPods error says the controller cannot create the new pods,
// a *failingPods one that those it created fail.
func rolloutState(ctx context.Context, c kubernetes.Interface, t ApplyTarget, since time.Time) (string, bool, error) {
	obj, err := getObject(ctx, c, t)
	if err != nil {
		return "", false, err
	}
	var state string
	switch o := obj.(type) {
	case *appsv1.Deployment:
		var done bool
		if state, done, err = deploymentState(o); err != nil || done || o.Status.ObservedGeneration < o.Generation {
			return state, done, err
		}
	case *appsv1.StatefulSet:
		if o.Status.ObservedGeneration < o.Generation {
			return "waiting for the statefulset's controller", false, nil
		}
		var done bool
		if state, done = statefulSetState(o); done {
			return state, true, nil
		}
		if err := failedCreate(ctx, c, t, since); err != nil {
			return "", false, err
		}
	case *appsv1.DaemonSet:
		st := o.Status
		switch {
		case st.ObservedGeneration < o.Generation:
			return "waiting for the daemonset's controller", false, nil
		case st.UpdatedNumberScheduled < st.DesiredNumberScheduled:
			state = fmt.Sprintf("%d of %s updated", st.UpdatedNumberScheduled, words.Count(st.DesiredNumberScheduled, "pod"))
		case st.NumberAvailable < st.DesiredNumberScheduled:
			state = fmt.Sprintf("%d of %d updated pods available", st.NumberAvailable, st.DesiredNumberScheduled)
		default:
			return fmt.Sprintf("daemonset %s rolled out: %s available", t.Name, words.Count(st.NumberAvailable, "pod")), true, nil
		}
		if err := failedCreate(ctx, c, t, since); err != nil {
			return "", false, err
		}
	default:
		return fmt.Sprintf("%s has no rollout: its pods get the new values when they are next created", t), true, nil
	}
	pending, err := newPods(ctx, c, obj, since)
	if err != nil {
		return "", false, err
	}
	if pending != "" {
		state += "; " + pending
	}
	return state, false, nil
}

// statefulSetState says where a StatefulSet's rollout is, once its
// controller has seen the change. With a partition only the pods from
// its ordinal up are updated, and counted, as kubectl rollout status
// counts them.
func statefulSetState(o *appsv1.StatefulSet) (string, bool) {
	want := int32(1)
	if o.Spec.Replicas != nil {
		want = *o.Spec.Replicas
	}
	if ru := o.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.Partition != nil && *ru.Partition > 0 {
		p := *ru.Partition
		updating := max(want-p, 0)
		switch {
		case o.Status.UpdatedReplicas < updating:
			return fmt.Sprintf("%d of %s updated (partition %d: the pods from ordinal %d)", o.Status.UpdatedReplicas, words.Count(updating, "pod"), p, p), false
		case o.Status.ReadyReplicas < want:
			return fmt.Sprintf("%d of %s ready", o.Status.ReadyReplicas, words.Count(want, "pod")), false
		}
		return fmt.Sprintf("statefulset %s rolled out its partition: %s from ordinal %d updated; those below keep their values until the partition is lowered", o.Name, words.Count(updating, "pod"), p), true
	}
	switch {
	case o.Status.UpdatedReplicas < want || o.Status.CurrentRevision != o.Status.UpdateRevision && o.Status.UpdateRevision != "":
		return fmt.Sprintf("%d of %s updated", o.Status.UpdatedReplicas, words.Count(want, "pod")), false
	case o.Status.ReadyReplicas < want:
		return fmt.Sprintf("%d of %s ready", o.Status.ReadyReplicas, words.Count(want, "pod")), false
	}
	return fmt.Sprintf("statefulset %s rolled out: %s ready", o.Name, words.Count(want, "pod")), true
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
	obj, err := getObject(ctx, c, t)
	if err != nil {
		return nil, err
	}
	if !rolls(t.Kind) {
		return nil, nil
	}
	pods, err := podsOf(ctx, c, obj)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range pods {
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
