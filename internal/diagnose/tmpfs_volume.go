package diagnose

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/oomdoctor/oomdoctor/internal/model"
)

// tmpfsVolume fires when the container mounts a memory-backed emptyDir
// (tmpfs) with no sizeLimit, or one above the container's limit: what is
// written there is charged to the container's memory and cannot be
// reclaimed, so files fill the limit like a leak. Usage history or the
// kernel's breakdown (shmem at the kill) makes it certain.
type tmpfsVolume struct{}

func init() { register(tmpfsVolume{}) }

func (tmpfsVolume) ID() model.CauseID { return model.CauseTmpfsVolume }

func (d tmpfsVolume) Detect(in *Input) (*model.Cause, string) {
	f := in.Finding
	if f.Type == model.NotOOM {
		return nil, ""
	}
	c := in.container()
	if c == nil {
		if in.Pod == nil {
			return nil, "the pod's spec (its volumes)"
		}
		return nil, ""
	}
	limit := in.limit()
	var ev []model.Evidence
	var names []string
	for _, v := range in.Pod.Spec.Volumes {
		if v.EmptyDir == nil || v.EmptyDir.Medium != corev1.StorageMediumMemory {
			continue
		}
		mount := ""
		for _, m := range c.VolumeMounts {
			if m.Name == v.Name {
				mount = m.MountPath
			}
		}
		if mount == "" {
			continue
		}
		switch {
		case v.EmptyDir.SizeLimit == nil:
			ev = append(ev, model.Evidence{What: "memory-backed emptyDir " + v.Name, Value: fmt.Sprintf("mounted at %s, no sizeLimit: it may grow to the pod's memory limit", mount), Source: "pod spec"})
		case limit > 0 && float64(v.EmptyDir.SizeLimit.Value()) >= limit:
			ev = append(ev, model.Evidence{What: "memory-backed emptyDir " + v.Name, Value: fmt.Sprintf("mounted at %s, sizeLimit %s: at or above the %s limit", mount, v.EmptyDir.SizeLimit.String(), size(limit)), Source: "pod spec"})
		default:
			continue
		}
		names = append(names, v.Name)
	}
	if len(names) == 0 {
		return nil, ""
	}
	cause := &model.Cause{Evidence: ev, Confidence: model.Medium, ConfidenceWhy: "the volume can fill the limit; usage history or the kernel's shmem figure at the kill would show that it did",
		Summary: fmt.Sprintf("The container writes to tmpfs (%s) without a size cap under its limit: files there are charged as memory the kernel cannot reclaim.", strings.Join(names, ", "))}
	for _, k := range in.KernelKills {
		if k.ShmemStat > 0 && float64(k.ShmemStat) >= 0.3*float64(k.UsageBytes) {
			cause.Confidence, cause.ConfidenceWhy = model.High, "the kernel's breakdown at the kill shows shmem/tmpfs holding much of the charge"
			cause.Evidence = append(cause.Evidence, model.Evidence{What: "shmem/tmpfs at the kill", Value: fmt.Sprintf("%s of %s (%s)", size(float64(k.ShmemStat)), size(float64(k.UsageBytes)), pct(float64(k.ShmemStat), float64(k.UsageBytes))), At: &k.At, Source: "node agent (kernel OOM report)"})
		}
	}
	if strings.Contains(f.Message, "container init was OOM-killed") {
		cause.Confidence, cause.ConfidenceWhy = model.High, "the runtime's init process was killed at start: the tmpfs was already full from the last run"
		cause.Evidence = append(cause.Evidence, model.Evidence{What: "start failed", Value: f.Message, At: f.LastKill, Source: "pod status"})
	}
	if in.History != nil && len(in.History.Cache) > 0 && limit > 0 {
		for _, k := range in.kills() {
			cache := peak(window(in.History.Cache, k.T-in.preKill(), k.T))
			if cache >= 0.3*limit {
				if cause.Confidence != model.High {
					cause.Confidence, cause.ConfidenceWhy = model.High, "page cache (which holds tmpfs) was a large part of the limit at the kill"
				}
				cause.Evidence = append(cause.Evidence, model.Evidence{What: "page cache and tmpfs before the kill", Value: fmt.Sprintf("%s (%s of the limit)", size(cache), pct(cache, limit)), At: ts(k.T), Source: in.History.Source})
				break
			}
		}
	}
	capTo := "64Mi"
	if limit > 0 {
		capTo = quantity(int64(limit / 4))
	}
	cause.Fix = model.Fix{Text: "Cap the volume well below the limit with sizeLimit (the tmpfs is mounted with that size: writes past it fail with 'no space left on device' instead of the kernel killing the container), keep the limit above the processes' memory plus the cap, or use a disk-backed emptyDir.",
		YAML: fmt.Sprintf("volumes:\n- name: %s\n  emptyDir:\n    medium: Memory\n    sizeLimit: %s\n", names[0], capTo)}
	return cause, ""
}
