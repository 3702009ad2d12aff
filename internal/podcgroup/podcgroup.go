// Package podcgroup reads the kubelet's cgroup paths: which pod (by UID)
// and which container (by runtime ID) a memory cgroup belongs to, and at
// which level of the kubelet's tree it sits (node allocatable, QoS class,
// pod, container). Both cgroup drivers, every QoS class, and containerd,
// CRI-O and Docker naming:
//
//	cgroupfs: /kubepods/burstable/pod<uid>/<id>     (Guaranteed: /kubepods/pod<uid>/<id>)
//	systemd:  /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid_>.slice/cri-containerd-<id>.scope
//
// with crio-<id> or docker-<id> in place of the bare or cri-containerd ID,
// under any cgroup root the kubelet was given (--cgroup-root).
package podcgroup

import (
	"regexp"
	"strings"
)

// Level is where in the kubelet's tree a cgroup sits.
type Level int

const (
	// Outside: not under kubepods.
	Outside Level = iota
	// Kubepods is the node's allocatable: every pod is under it.
	Kubepods
	// QoS is a QoS class parent (burstable, besteffort).
	QoS
	Pod
	Container
)

func (l Level) String() string {
	return [...]string{"outside", "kubepods", "qos", "pod", "container"}[l]
}

// Ref says what a cgroup path is.
type Ref struct {
	Level Level
	// QoS is guaranteed, burstable or besteffort (pods and containers).
	QoS string
	// PodUID is the pod's UID, with dashes.
	PodUID string
	// ContainerID is the runtime's ID (64 hex digits, no prefix).
	ContainerID string
	// Runtime is containerd, crio or docker when the name says so ("" for
	// a bare ID under the cgroupfs driver).
	Runtime string
	// KubepodsPath, PodPath and ContainerPath are the paths of the
	// enclosing levels ("" above the cgroup's own level).
	KubepodsPath, PodPath, ContainerPath string
}

var (
	podCgroupfsRe = regexp.MustCompile(`^pod([0-9a-fA-F-]{36})$`)
	podSystemdRe  = regexp.MustCompile(`^kubepods(?:-(burstable|besteffort))?-pod([0-9a-fA-F_]{36})\.slice$`)
	containerRe   = regexp.MustCompile(`^(?:(cri-containerd|crio|docker)-)?([0-9a-f]{64})(?:\.scope)?$`)
)

// Parse reads a cgroup path (from the hierarchy's root, as /proc/PID/cgroup
// and the kernel's OOM report write it).
func Parse(path string) Ref {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	var r Ref
	i := 0
	for ; i < len(parts); i++ {
		if parts[i] == "kubepods" || parts[i] == "kubepods.slice" {
			break
		}
	}
	if i == len(parts) {
		return r
	}
	join := func(n int) string { return "/" + strings.Join(parts[:n+1], "/") }
	r.Level, r.KubepodsPath = Kubepods, join(i)
	systemd := parts[i] == "kubepods.slice"
	i++
	if i < len(parts) {
		switch parts[i] {
		case "burstable", "besteffort", "kubepods-burstable.slice", "kubepods-besteffort.slice":
			r.Level = QoS
			r.QoS = strings.TrimSuffix(strings.TrimPrefix(parts[i], "kubepods-"), ".slice")
			i++
		}
	}
	if i >= len(parts) {
		return r
	}
	var uid string
	if systemd {
		m := podSystemdRe.FindStringSubmatch(parts[i])
		if m == nil {
			return r
		}
		uid = strings.ReplaceAll(m[2], "_", "-")
	} else {
		m := podCgroupfsRe.FindStringSubmatch(parts[i])
		if m == nil {
			return r
		}
		uid = m[1]
	}
	if r.QoS == "" {
		r.QoS = "guaranteed"
	}
	r.Level, r.PodUID, r.PodPath = Pod, strings.ToLower(uid), join(i)
	i++
	if i >= len(parts) {
		return r
	}
	m := containerRe.FindStringSubmatch(parts[i])
	if m == nil {
		return r
	}
	r.Level, r.ContainerID, r.ContainerPath = Container, m[2], join(i)
	switch m[1] {
	case "cri-containerd":
		r.Runtime = "containerd"
	case "crio", "docker":
		r.Runtime = m[1]
	}
	return r
}

// Scope classifies an OOM kill by the cgroup whose limit was hit (oomMemcg)
// and the victim's cgroup: the container's own limit, the pod's, the node's
// allocatable (kubepods or a QoS parent), or "outside" when the limit hit
// was not the kubelet's (a cgroup above kubepods).
func Scope(oomMemcg string, victim Ref) string {
	o := Parse(oomMemcg)
	switch {
	case o.Level == Container && victim.Level == Container && o.ContainerID == victim.ContainerID:
		return "container"
	case o.Level == Pod && o.PodUID == victim.PodUID:
		return "pod"
	case o.Level == Kubepods || o.Level == QoS:
		return "node"
	case o.Level == Container:
		return "container"
	}
	return "outside"
}
