//go:build linux

package agent

import (
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/record"

	"github.com/oomdoctor/oomdoctor/internal/model"
)

// Event reasons.
const (
	// ReasonContainerKill: the container's main process was killed; the
	// container ends and restarts.
	ReasonContainerKill = "ContainerOOMKilled"
	// ReasonProcessKill: another process was killed; the container lives
	// on and its status shows nothing.
	ReasonProcessKill = "ProcessOOMKilled"
	// ReasonKill: the agent could not tell which.
	ReasonKill = "OOMKilled"
)

// Events posts a Kubernetes Event on the pod for every kill, through
// client-go's recorder: similar events are aggregated and each pod's are
// rate-limited (a burst of 25, then one every 5 minutes), so a crash loop
// does not flood the API server.
type Events struct {
	b   record.EventBroadcaster
	rec record.EventRecorder
}

// NewEvents starts the recorder, writing through a core/v1 REST client
// (NewRESTClient).
func NewEvents(rc rest.Interface, node string) *Events {
	b := record.NewBroadcaster()
	b.StartRecordingToSink(eventSink{rc})
	return &Events{b: b, rec: b.NewRecorder(Scheme, corev1.EventSource{Component: "oomdoctor-agent", Host: node})}
}

// Stop flushes and stops the recorder.
func (e *Events) Stop() { e.b.Shutdown() }

// Kill implements Sink.
func (e *Events) Kill(k *Kill) {
	if k.Pod == "" {
		return
	}
	ref := &corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: k.Namespace, Name: k.Pod, UID: types.UID(k.PodUID)}
	if k.Container != "" {
		ref.FieldPath = fmt.Sprintf("spec.containers{%s}", k.Container)
	}
	reason := ReasonKill
	switch k.MainProcess {
	case "true":
		reason = ReasonContainerKill
	case "false":
		reason = ReasonProcessKill
	}
	// The record itself rides along as an annotation, so that oomdoctor
	// scan and explain read the scope and the breakdown, not the prose.
	ann := map[string]string{}
	if b, err := json.Marshal(k); err == nil {
		ann[model.KillAnnotation] = string(b)
	}
	e.rec.AnnotatedEventf(ref, ann, corev1.EventTypeWarning, reason, "%s", Message(k))
}

// Message tells a kill in one sentence.
func Message(k *Kill) string {
	var b strings.Builder
	victim := "a process"
	if k.VictimName != "" {
		victim = fmt.Sprintf("process %s (pid %d; anon-rss %s, file-rss %s, shmem-rss %s)", k.VictimName, k.VictimPID,
			size(k.AnonRSSBytes), size(k.FileRSSBytes), size(k.ShmemBytes))
	}
	where := "in the pod"
	if k.Container != "" {
		where = fmt.Sprintf("in container %s", k.Container)
	}
	fmt.Fprintf(&b, "The kernel OOM-killed %s %s", victim, where)
	switch k.MainProcess {
	case "true":
		b.WriteString(", its main process: the container ends")
	case "false":
		b.WriteString(", not its main process: the container runs on and its status does not show this")
	}
	limit := ""
	if k.LimitBytes > 0 {
		limit = " of " + size(k.LimitBytes)
	}
	switch k.Scope {
	case "container":
		fmt.Fprintf(&b, ". The container reached its own memory limit%s", limit)
	case "pod":
		fmt.Fprintf(&b, ". The pod reached its memory limit%s", limit)
	case "node":
		fmt.Fprintf(&b, ". The node's pods together reached its allocatable memory%s (node-level OOM; the container may have been under its own limit)", limit)
	case "system":
		b.WriteString(". The whole node ran out of memory (system OOM)")
	}
	if k.AnonBytes+k.FileBytes+k.ShmemStat > 0 {
		fmt.Fprintf(&b, "; at the kill: anon %s, page cache %s, shmem/tmpfs %s", size(k.AnonBytes), size(k.FileBytes), size(k.ShmemStat))
	}
	b.WriteString(".")
	return b.String()
}

func size(b int64) string {
	if b <= 0 {
		return "0"
	}
	switch {
	case b%(1<<20) == 0:
		return resource.NewQuantity(b, resource.BinarySI).String()
	case b < 1<<20:
		return fmt.Sprintf("%.0fKi", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%.1fMi", float64(b)/(1<<20))
}
