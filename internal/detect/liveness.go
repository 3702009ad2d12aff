package detect

import (
	"fmt"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

const reasonUnhealthy = "Unhealthy"

// fieldPathContainerRe reads the container name out of an event's
// involvedObject.fieldPath: "spec.containers{app}", "spec.initContainers{init}".
var fieldPathContainerRe = regexp.MustCompile(`^spec\.(?:initContainers|containers|ephemeralContainers)\{(.+)\}$`)

// ProbeKill is a failed liveness probe on a container, which makes the
// kubelet kill it: a SIGKILL (exit 137) that is not an OOM kill.
type ProbeKill struct {
	Namespace, Pod, Container string
	Evidence                  string
}

// LivenessFailure reads a failed liveness probe out of an Unhealthy event.
func LivenessFailure(e *corev1.Event) (ProbeKill, bool) {
	if e.Reason != reasonUnhealthy || e.InvolvedObject.Kind != "Pod" || !strings.HasPrefix(e.Message, "Liveness probe failed") {
		return ProbeKill{}, false
	}
	m := fieldPathContainerRe.FindStringSubmatch(e.InvolvedObject.FieldPath)
	if m == nil {
		return ProbeKill{}, false
	}
	at := ""
	if t := EventTime(e); t != nil {
		at = ", last at " + t.Format("2006-01-02T15:04:05Z")
	}
	return ProbeKill{
		Namespace: e.InvolvedObject.Namespace,
		Pod:       e.InvolvedObject.Name,
		Container: m[1],
		Evidence:  fmt.Sprintf("liveness probe failed %d times%s: %s", eventCount(e), at, strings.TrimSpace(strings.TrimPrefix(e.Message, "Liveness probe failed:"))),
	}, true
}
