package detect

import (
	"fmt"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/runtimes"
	"github.com/oomdoctor/oomdoctor/internal/words"
)

// Termination reasons the container runtimes and the kubelet write.
const (
	reasonOOMKilled              = "OOMKilled"
	reasonError                  = "Error"
	reasonContainerStatusUnknown = "ContainerStatusUnknown"
	reasonCrashLoopBackOff       = "CrashLoopBackOff"
)

// termination is one terminated state of a container and where it was read.
type termination struct {
	field string // "state" or "lastState"
	t     *corev1.ContainerStateTerminated
	// oom is the runtime's out-of-memory error of an error exit, read
	// from the termination message or the run's log (its From says).
	oom *runtimes.OutOfMemory
}

// ContainerFindings returns a finding for every container of the pod (regular,
// init, sidecar, ephemeral) whose current or last termination was an OOM kill
// (oom-killed), an error exit whose termination message shows the runtime's
// own out-of-memory error (runtime-oom), or a SIGKILL for another reason
// (not-oom). A container with several is reported once, as the first of
// those, with the other termination as evidence.
func ContainerFindings(pod *corev1.Pod) []model.Finding {
	specs := containerSpecs(pod)
	var out []model.Finding
	for _, cs := range containerStatuses(pod) {
		if f, ok := containerFinding(pod, specs, cs, ""); ok {
			out = append(out, f)
		}
	}
	return out
}

// containerStatuses are the statuses of the pod's init, regular and
// ephemeral containers, in that order.
func containerStatuses(pod *corev1.Pod) []*corev1.ContainerStatus {
	var out []*corev1.ContainerStatus
	for _, list := range [][]corev1.ContainerStatus{
		pod.Status.InitContainerStatuses,
		pod.Status.ContainerStatuses,
		pod.Status.EphemeralContainerStatuses,
	} {
		for i := range list {
			out = append(out, &list[i])
		}
	}
	return out
}

// LogTarget is a container whose last run ended in an error its status
// does not explain: the run's log may show the runtime's out-of-memory
// error, which the termination message holds only with
// terminationMessagePolicy FallbackToLogsOnError.
type LogTarget struct {
	Container string
	// Previous says the run is the container's previous one (kubectl
	// logs --previous): it has been restarted since.
	Previous bool
}

// LogTargets are the pod's containers whose latest run exited with an
// error (an exit code that is neither 0 nor SIGKILL's 137, no OOM kill)
// and whose status shows neither an OOM kill nor a runtime out-of-memory
// error.
func LogTargets(pod *corev1.Pod) []LogTarget {
	var out []LogTarget
	for _, cs := range containerStatuses(pod) {
		if t, previous := latestRun(cs); t != nil && errorExit(t) && !told(cs) {
			out = append(out, LogTarget{Container: cs.Name, Previous: previous})
		}
	}
	return out
}

// told tells whether a container's status already shows an OOM kill or
// its runtime's out-of-memory error: what makes its finding oom-killed or
// runtime-oom.
func told(cs *corev1.ContainerStatus) bool {
	for _, t := range []*corev1.ContainerStateTerminated{cs.State.Terminated, cs.LastTerminationState.Terminated} {
		switch {
		case t == nil:
		case t.Reason == reasonOOMKilled || killedStarting(t):
			return true
		case errorExit(t):
			if _, ok := runtimes.FindOutOfMemory(t.Message); ok {
				return true
			}
		}
	}
	return false
}

// LogFinding returns the runtime-oom finding of a container whose log, of
// the run LogTargets named, shows the runtime's out-of-memory error; false
// when it does not.
func LogFinding(pod *corev1.Pod, container, log string) (model.Finding, bool) {
	for _, cs := range containerStatuses(pod) {
		if cs.Name != container || log == "" {
			continue
		}
		if f, ok := containerFinding(pod, containerSpecs(pod), cs, log); ok && f.Type == model.RuntimeOOM {
			return f, true
		}
	}
	return model.Finding{}, false
}

// latestRun is the container's latest finished run, whose log the API
// keeps: the current state when it is terminated, else the last one
// (previous).
func latestRun(cs *corev1.ContainerStatus) (t *corev1.ContainerStateTerminated, previous bool) {
	if cs.State.Terminated != nil {
		return cs.State.Terminated, false
	}
	return cs.LastTerminationState.Terminated, true
}

// errorExit tells whether a run ended by exiting with an error on its own:
// not 0, not SIGKILL's 137, no OOM kill.
func errorExit(t *corev1.ContainerStateTerminated) bool {
	return t.ExitCode != 0 && t.ExitCode != sigkillExitCode && t.Reason != reasonOOMKilled && !killedStarting(t)
}

// containerFinding is the container's finding, if any; log, when given,
// is the log of its latest run (latestRun).
func containerFinding(pod *corev1.Pod, specs map[string]containerSpec, cs *corev1.ContainerStatus, log string) (model.Finding, bool) {
	var terms []termination
	if t := cs.State.Terminated; t != nil {
		terms = append(terms, termination{field: "state", t: t})
	}
	if t := cs.LastTerminationState.Terminated; t != nil {
		terms = append(terms, termination{field: "lastState", t: t})
	}
	logged, _ := latestRun(cs)
	var ooms, runtimeOOMs, sigkills []termination
	for i := range terms {
		t := &terms[i]
		switch {
		case t.t.Reason == reasonOOMKilled || killedStarting(t.t):
			ooms = append(ooms, *t)
		case t.t.ExitCode == sigkillExitCode:
			sigkills = append(sigkills, *t)
		case errorExit(t.t):
			if o, ok := runtimes.FindOutOfMemory(t.t.Message); ok {
				o.From = "termination message"
				t.oom = &o
			} else if o, ok := runtimes.FindOutOfMemory(log); ok && t.t == logged {
				o.From = "log"
				t.oom = &o
			}
			if t.oom != nil {
				runtimeOOMs = append(runtimeOOMs, *t)
			}
		}
	}
	if len(ooms) == 0 && len(runtimeOOMs) == 0 && len(sigkills) == 0 {
		return model.Finding{}, false
	}

	spec, known := specs[cs.Name]
	if !known {
		spec.kind = model.RegularContainer
	}
	f := model.Finding{
		Namespace:     pod.Namespace,
		Pod:           pod.Name,
		PodUID:        string(pod.UID),
		Container:     cs.Name,
		ContainerKind: spec.kind,
		Node:          pod.Spec.NodeName,
		Restarts:      cs.RestartCount,
		QOSClass:      qosClass(pod),
	}
	// The status reports what the kubelet actually applied (in-place resize);
	// the spec what was asked for.
	res := spec.resources
	if cs.Resources != nil {
		res = *cs.Resources
	}
	f.MemoryRequestBytes = MemoryBytes(res.Requests)
	f.MemoryLimitBytes = MemoryBytes(res.Limits)
	if pod.Spec.Resources != nil {
		f.PodMemoryLimitBytes = MemoryBytes(pod.Spec.Resources.Limits)
	}
	f.State, f.CrashLoop = stateOf(cs)

	main := ooms
	f.Type = model.OOMKilled
	switch {
	case len(ooms) > 0:
	case len(runtimeOOMs) > 0:
		main = runtimeOOMs
		f.Type = model.RuntimeOOM
	default:
		main = sigkills
		f.Type = model.NotOOM
	}
	latest := latestTermination(main)
	f.OutOfMemory = latest.oom
	f.Kills = int32(len(main))
	f.LastKill = timeOf(latest.t.FinishedAt)
	code := latest.t.ExitCode
	f.ExitCode = &code
	f.Reason = latest.t.Reason
	f.Message = strings.TrimSpace(latest.t.Message)

	for _, t := range terms {
		f.Evidence = append(f.Evidence, describeTermination(t))
	}
	if f.Restarts > 0 {
		f.Evidence = append(f.Evidence, fmt.Sprintf("restartCount=%d", f.Restarts))
	}
	if f.CrashLoop {
		f.Evidence = append(f.Evidence, "state.waiting.reason=CrashLoopBackOff")
	}
	switch f.Type {
	case model.OOMKilled:
		f.Explanation = explainOOM(pod, &f, latest)
	case model.RuntimeOOM:
		f.Explanation = explainRuntimeOOM(&f, latest)
	default:
		f.Explanation = explainNotOOM(&f)
	}
	return f, true
}

// startOOMRe matches runc's error when the kernel OOM-killed its init
// process while it started the container: "container init was OOM-killed
// (memory limit too low?)". The kubelet reports it as reason StartError,
// exit code 128, so the reason alone never says OOMKilled.
var startOOMRe = regexp.MustCompile(`(?i)init was OOM-killed|oom-kill`)

// killedStarting tells whether a termination is the OOM killer striking
// while the runtime started the container.
func killedStarting(t *corev1.ContainerStateTerminated) bool {
	return t.Reason != reasonOOMKilled && startOOMRe.MatchString(t.Message)
}

func latestTermination(ts []termination) termination {
	latest := ts[0]
	for _, t := range ts[1:] {
		if t.t.FinishedAt.After(latest.t.FinishedAt.Time) {
			latest = t
		}
	}
	return latest
}

func describeTermination(t termination) string {
	s := fmt.Sprintf("%s.terminated: reason=%s exitCode=%d", t.field, orNone(t.t.Reason), t.t.ExitCode)
	if t.t.Signal != 0 {
		s += fmt.Sprintf(" signal=%d", t.t.Signal)
	}
	if !t.t.FinishedAt.IsZero() {
		s += " finishedAt=" + t.t.FinishedAt.UTC().Format("2006-01-02T15:04:05Z")
	}
	switch {
	case t.oom != nil && t.oom.From == "log":
		s += "; its log: " + t.oom.Message
	case t.oom != nil:
		s += "; its message: " + t.oom.Message
	}
	return s
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// stateOf names the container's current state the way kubectl does.
func stateOf(cs *corev1.ContainerStatus) (state string, crashLoop bool) {
	switch {
	case cs.State.Running != nil:
		return "Running", false
	case cs.State.Waiting != nil:
		r := cs.State.Waiting.Reason
		if r == "" {
			r = "Waiting"
		}
		return r, r == reasonCrashLoopBackOff
	case cs.State.Terminated != nil:
		return "Terminated", false
	}
	return "", false
}

func explainOOM(pod *corev1.Pod, f *model.Finding, latest termination) string {
	var b strings.Builder
	switch {
	case f.MemoryLimitBytes != nil:
		fmt.Fprintf(&b, "The kernel OOM-killed the container: its memory (anon, page cache it could not reclaim, tmpfs) reached its limit of %s.", formatBytes(*f.MemoryLimitBytes))
	case f.PodMemoryLimitBytes != nil:
		fmt.Fprintf(&b, "The kernel OOM-killed the container. It has no memory limit of its own, so the pod's limit of %s was reached.", formatBytes(*f.PodMemoryLimitBytes))
	default:
		b.WriteString("The kernel OOM-killed the container although it has no memory limit: the node ran out of memory for pods (the kubelet's allocatable cgroup or the whole node). Check the node's SystemOOM events and MemoryPressure, and give the container a limit so it cannot take the node's memory.")
	}
	switch code := latest.t.ExitCode; {
	case killedStarting(latest.t):
		fmt.Fprintf(&b, " It was killed while starting (%s, exit code %d: runc's init process was OOM-killed), so its cgroup had no room even to start the process.", latest.t.Reason, code)
		if memoryVolume(pod) != "" {
			fmt.Fprintf(&b, " The pod has a memory-backed emptyDir (%s): files a previous run wrote there stay in memory across restarts and are charged to the pod, so every new start is killed until the pod is deleted.", memoryVolume(pod))
		} else {
			b.WriteString(" Memory still charged to the pod (a memory-backed emptyDir, page cache of an earlier run) or a limit too small to start the runtime are the usual reasons.")
		}
	case code != sigkillExitCode:
		fmt.Fprintf(&b, " The exit code is %d, not 137: the runtime saw an OOM kill in the container's cgroup, but the main process exited on its own; a child process was probably the one killed.", code)
	}
	switch f.ContainerKind {
	case model.InitContainer:
		b.WriteString(" It is an init container: the pod's other containers cannot start until it succeeds.")
	case model.SidecarContainer:
		b.WriteString(" It is a native sidecar (restartable init container): the kubelet restarts it while the main containers run.")
	case model.EphemeralContainer:
		b.WriteString(" It is an ephemeral (debug) container: it has no resources of its own and shares the pod's memory.")
	}
	if f.CrashLoop {
		fmt.Fprintf(&b, " It is in CrashLoopBackOff after %s: every start is killed again.", words.Count(f.Restarts, "restart"))
	}
	if pod.Spec.RestartPolicy == corev1.RestartPolicyNever && f.ContainerKind == model.RegularContainer {
		b.WriteString(" The pod's restartPolicy is Never, so it stays failed.")
	}
	return b.String()
}

// memoryVolume names the pod's first memory-backed emptyDir, or "".
func memoryVolume(pod *corev1.Pod) string {
	for _, v := range pod.Spec.Volumes {
		if v.EmptyDir != nil && v.EmptyDir.Medium == corev1.StorageMediumMemory {
			return v.Name
		}
	}
	return ""
}

func explainRuntimeOOM(f *model.Finding, latest termination) string {
	var b strings.Builder
	o := latest.oom
	name := o.Runtime.Name()
	if o.HeapLimited() {
		fmt.Fprintf(&b, "Not an OOM kill: %s ran out of memory inside the container (%s) and the process exited with code %d.", name, o.Message, latest.t.ExitCode)
		switch o.Kind {
		case runtimes.OOMHeap:
			fmt.Fprintf(&b, " The limit it reached is %s's own, below the container's memory limit", name)
			if f.MemoryLimitBytes != nil {
				fmt.Fprintf(&b, " of %s", formatBytes(*f.MemoryLimitBytes))
			}
			b.WriteString(", so a higher memory limit alone helps only where the runtime sizes its heap from it.")
		default:
			b.WriteString(" What ran out is not the container's memory limit, so raising it does not help.")
		}
	} else {
		fmt.Fprintf(&b, "Not an OOM kill: %s was refused memory (%s) and the process exited with code %d. It has no heap limit of its own, and a memory cgroup never refuses an allocation (it reclaims, then kills): the system refused it, a ulimit -v or the node's vm.overcommit_memory=2.", name, o.Message, latest.t.ExitCode)
	}
	fmt.Fprintf(&b, " To do: %s.", o.Advice())
	if f.CrashLoop {
		fmt.Fprintf(&b, " It is in CrashLoopBackOff after %s.", words.Count(f.Restarts, "restart"))
	}
	return b.String()
}

func explainNotOOM(f *model.Finding) string {
	var b strings.Builder
	b.WriteString("Exit code 137 means the process got SIGKILL, but the runtime did not report an OOM kill. Usual senders: a failed liveness probe (look for Unhealthy events), a termination grace period that ran out, kill -9 inside the container, or the node shutting down.")
	switch f.Reason {
	case reasonError:
		b.WriteString(" With reason Error this may still be an OOM kill: containerd had a race in which the exit event beat the OOM event and the reason became Error (containerd #8180); the kernel log or oomdoctor's node agent tells them apart.")
	case reasonContainerStatusUnknown:
		b.WriteString(" Reason ContainerStatusUnknown: the kubelet lost track of the container (node restart, pod deleted while running) and wrote 137 itself; the process may never have received a signal.")
	}
	return b.String()
}
