package fix

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/oomdoctor/oomdoctor/internal/manifest"
	"github.com/oomdoctor/oomdoctor/internal/workload"
)

// checkHPAs warns of what the new values do to the namespace's
// HorizontalPodAutoscalers (autoscaling/v2) that scale the workload on
// memory, as recommend --from-cluster does: new requests move a
// utilization target's point (the warning gives the target that keeps
// it); a point at or above the new limits is never reached. Nothing
// stops the change: the HPA is its own object, the user's to adjust.
func checkHPAs(ctx context.Context, c kubernetes.Interface, t ApplyTarget, w *manifest.Workload, edits []manifest.Edit, res *ApplyResult) {
	list, err := c.AutoscalingV2().HorizontalPodAutoscalers(t.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		why := err.Error()
		if apierrors.IsForbidden(err) {
			why = "that needs the right to list horizontalpodautoscalers.autoscaling in " + t.Namespace
		}
		res.Notes = append(res.Notes, fmt.Sprintf("the HorizontalPodAutoscalers were not checked (%s): one that scales %s/%s on memory takes its point from the requests", why, t.Kind, t.Name))
		return
	}
	for i := range list.Items {
		h := workload.HPAOf(&list.Items[i])
		if h.Target.Kind != t.Kind || h.Target.Name != t.Name {
			continue
		}
		for _, m := range h.Memory {
			if msg := h.Warning(m, memoryChange(w, edits, m.Container)); msg != "" {
				res.Warnings = append(res.Warnings, msg)
			}
		}
	}
}

// memoryChange is what an HPA's memory metric reads of the pod template
// before and after the edits: the containers' requests together (or the
// one container's, when container is set) and their new limits. A
// request left unset is the limit's, as the API defaults it in each pod.
func memoryChange(w *manifest.Workload, edits []manifest.Edit, container string) workload.MemoryChange {
	edited := map[string]int64{}
	for _, e := range edits {
		if strings.HasSuffix(e.Path, ".memory") {
			edited[e.Path] = mustBytes(e.Value)
		}
	}
	ch := workload.MemoryChange{Limited: true}
	for _, ct := range w.Spec.Containers {
		if container != "" && ct.Name != container {
			continue
		}
		r := ct.Resources
		oldLim, oldReq := r.MemoryLimit.Bytes(), r.MemoryRequest.Bytes()
		if !r.MemoryRequest.Set() {
			oldReq = oldLim
		}
		newLim, ok := edited[r.Path+".limits.memory"]
		if !ok {
			newLim = oldLim
		}
		newReq, ok := edited[r.Path+".requests.memory"]
		if !ok {
			newReq = oldReq
			if !r.MemoryRequest.Set() {
				newReq = newLim
			}
		}
		ch.OldRequest += float64(oldReq)
		ch.NewRequest += float64(newReq)
		ch.NewLimit += float64(newLim)
		ch.Limited = ch.Limited && newLim > 0
	}
	return ch
}
