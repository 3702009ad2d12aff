package fix

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
)

// refusedFor is how long the new pods must be refused on end before the
// wait gives up: a controller retries, and a quota freed by an old pod's
// end lets the next try through.
var refusedFor = 30 * time.Second

// refusalLasts is how long a FailedCreate event counts after its last
// renewal: the controller's retries renew it while they fail.
const refusalLasts = time.Minute

// refusedPods is a rollout whose controller cannot create the new pods:
// the API server refuses them (a quota, a limit range, a webhook).
type refusedPods struct{ why string }

func (r *refusedPods) Error() string { return "its new pods are refused: " + r.why }

// failedCreate looks for the controller's FailedCreate events about the
// object since the patch, the latest within refusalLasts (StatefulSets and
// DaemonSets have no condition that says it; their controllers retry, and
// each retry renews the event). Without the right to read events it says
// nothing.
func failedCreate(ctx context.Context, c kubernetes.Interface, t ApplyTarget, since time.Time) error {
	sel := fields.Set{"involvedObject.kind": t.Kind, "involvedObject.name": t.Name, "reason": "FailedCreate"}.AsSelector().String()
	evs, err := c.CoreV1().Events(t.Namespace).List(ctx, metav1.ListOptions{FieldSelector: sel})
	if err != nil {
		return nil
	}
	var latest time.Time
	why := ""
	for _, e := range evs.Items {
		if e.InvolvedObject.Kind != t.Kind || e.InvolvedObject.Name != t.Name || e.Reason != "FailedCreate" {
			continue
		}
		at := e.LastTimestamp.Time
		if e.Series != nil && e.Series.LastObservedTime.After(at) {
			at = e.Series.LastObservedTime.Time
		}
		if e.EventTime.After(at) {
			at = e.EventTime.Time
		}
		if at.Before(since) || !at.After(latest) {
			continue
		}
		latest, why = at, e.Message
	}
	if why == "" || time.Since(latest) > refusalLasts {
		return nil
	}
	return &refusedPods{why: fmt.Sprintf("%s (%s)", why, latest.UTC().Format(time.RFC3339))}
}
