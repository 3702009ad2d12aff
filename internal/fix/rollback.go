package fix

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// undoState is what --rollback-on-failure needs to put a workload back
// as it was: its pod template before the change, and the generation its
// patches made. A patch that moves the generation by more than one was
// not alone: someone changed the spec too, and putting the old template
// back would undo their change as well.
type undoState struct {
	before *corev1.PodTemplateSpec
	path   string // the template's JSON pointer in the object
	gen    int64  // the generation after oomdoctor's last patch
	alone  bool   // every patch moved the generation by one at most
}

// newUndoState keeps the template of obj, the live object the change is
// planned on.
func newUndoState(obj runtime.Object) *undoState {
	u := &undoState{path: "/spec/template", alone: true}
	if tmpl, _ := templateOf(obj); tmpl != nil {
		u.before = tmpl.DeepCopy()
	}
	if _, ok := obj.(*batchv1.CronJob); ok {
		u.path = "/spec/jobTemplate/spec/template"
	}
	if m, err := meta.Accessor(obj); err == nil {
		u.gen = m.GetGeneration()
	}
	return u
}

// patch makes a change of the workload (nil: none) and keeps the
// generation it made.
func (u *undoState) patch(ctx context.Context, c kubernetes.Interface, t ApplyTarget, patch []byte) error {
	obj, err := doPatch(ctx, c, t, patch, types.StrategicMergePatchType, false)
	if err != nil || obj == nil {
		return err
	}
	if m, err := meta.Accessor(obj); err == nil {
		if m.GetGeneration() > u.gen+1 {
			u.alone = false
		}
		u.gen = m.GetGeneration()
	}
	return nil
}

// rollBack puts back what a change made before its rollout failed (why):
// the ConfigMaps first, then the template (in one rollout: the pods it
// makes read the ConfigMaps as they were), and waits for that rollout. A
// StatefulSet waits for its failing pod to be ready before it replaces
// it, so that pod is deleted, as Kubernetes' documentation of a
// StatefulSet's rollback says to. It says what it did, to be added to
// the rollout's error; res.PutBack says whether all of it went back.
func rollBack(ctx context.Context, c kubernetes.Interface, t ApplyTarget, u *undoState, cms []cmPatch, why error, opts ApplyOptions, res *ApplyResult) string {
	msg := restoreConfigMaps(ctx, c, cms)
	cmsBack := !strings.Contains(msg, "NOT put back")
	by := func(what string) string {
		return fmt.Sprintf("%s; %s's pod template NOT put back: %s; to go back: %s", msg, t, what, undoCommand(t))
	}
	cur, err := getObject(ctx, c, t)
	if err != nil {
		return by(err.Error())
	}
	m, err := meta.Accessor(cur)
	if err != nil {
		return by(err.Error())
	}
	if !u.alone || m.GetGeneration() != u.gen {
		return by("someone else changed its spec meanwhile, and the old template would undo their change too")
	}
	// The test makes the server refuse the patch if the spec changed
	// since it was read.
	patch, err := json.Marshal([]map[string]any{
		{"op": "test", "path": "/metadata/generation", "value": u.gen},
		{"op": "replace", "path": u.path, "value": u.before},
	})
	if err != nil {
		return by(err.Error())
	}
	if _, err := doPatch(ctx, c, t, patch, types.JSONPatchType, false); err != nil {
		return by(err.Error())
	}
	if opts.Progress != nil {
		opts.Progress(fmt.Sprintf("putting back %s's pod template as it was (--rollback-on-failure)", t))
	}
	msg += fmt.Sprintf("; put back %s's pod template as it was (--rollback-on-failure)", t)
	var f *failingPods
	if t.Kind == "StatefulSet" && errors.As(why, &f) {
		// Its controller would wait for the pod to be ready.
		if err := c.CoreV1().Pods(t.Namespace).Delete(ctx, f.pod, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Sprintf("%s, but its failing pod %s was not deleted (%v), and the StatefulSet waits for it to be ready before it replaces it: kubectl delete pod %s -n %s", msg, f.pod, err, f.pod, t.Namespace)
		}
		msg += fmt.Sprintf(" and deleted its failing pod %s, which it would wait for", f.pod)
	}
	opts.Observe = 0 // the template is as it was: its pods are the user's, not the change's
	if err := waitRollout(ctx, c, t, opts, ""); err != nil {
		return fmt.Sprintf("%s, but its rollout back did not finish either: %v", msg, err)
	}
	res.PutBack = cmsBack
	return msg + ", and it rolled out"
}
