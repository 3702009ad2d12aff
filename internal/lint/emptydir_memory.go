package lint

import (
	"fmt"
	"strings"

	"github.com/oomdoctor/oomdoctor/internal/manifest"
)

const ruleEmptyDirMemory = "emptydir-memory-unbounded"

func init() {
	register(func(*Config) Rule {
		return &emptyDirMemory{rule{ruleEmptyDirMemory, "warning", "A memory-backed emptyDir has no sizeLimit, or one above the limit of a container that writes to it"}}
	})
}

type emptyDirMemory struct{ rule }

// CheckWorkload reports emptyDir volumes with medium Memory (tmpfs) that
// have no sizeLimit, or a sizeLimit above the memory limit of a container
// mounting them. Files there are memory charged to the container that
// writes them and cannot be reclaimed; they stay across container restarts,
// so a full tmpfs can kill every new start until the pod is deleted.
func (r *emptyDirMemory) CheckWorkload(ctx *Context, w *Workload) {
	for _, v := range w.Spec.Volumes {
		if !v.EmptyDirMemory {
			continue
		}
		var users []*manifest.Container
		for _, c := range w.Spec.AllContainers() {
			for _, m := range c.Mounts {
				if m.Name == v.Name {
					users = append(users, c)
				}
			}
		}
		// The smallest limit of a container that mounts it.
		var smallest *manifest.Container
		for _, c := range users {
			if limited(c) && (smallest == nil || c.Resources.MemoryLimit.Bytes() < smallest.Resources.MemoryLimit.Bytes()) {
				smallest = c
			}
		}
		path := v.Path + ".emptyDir.sizeLimit"
		switch {
		case v.SizeLimit == nil:
			msg := fmt.Sprintf("Volume %q of %s is a memory-backed emptyDir (tmpfs) without sizeLimit: it may grow to the pod's memory limit (or the node's memory when the pod has none), every byte charged to the container that writes it, never reclaimed, and kept across restarts.", v.Name, w.Object)
			f := Finding{Object: w.Object, Path: path}
			if smallest != nil {
				size := smallest.Resources.MemoryLimit.Bytes() / 2 >> 20 << 20
				msg += fmt.Sprintf(" Set sizeLimit below the limit of the containers that write it, e.g. %s (half of %s's %s).", mib(size), smallest.Name, smallest.Resources.MemoryLimit.Text)
				f.Fix = fix("set sizeLimit "+mib(size), set(path, mib(size)))
			} else {
				msg += " Set sizeLimit, and memory limits on the containers that mount it."
			}
			f.Message = msg
			ctx.Report(f)
		case smallest != nil && v.SizeLimit.Set() && v.SizeLimit.Bytes() >= smallest.Resources.MemoryLimit.Bytes():
			var names []string
			for _, c := range users {
				names = append(names, c.Name)
			}
			size := smallest.Resources.MemoryLimit.Bytes() / 2 >> 20 << 20
			ctx.Report(Finding{Object: w.Object, Path: path, Container: smallest.Name,
				Message: fmt.Sprintf("Volume %q of %s is a memory-backed emptyDir with sizeLimit %s, at or above the %s memory limit of %s, which mounts it (mounted by %s): the container is OOM-killed before the volume is full, and the files stay for its next start. Keep sizeLimit under it, e.g. %s.", v.Name, w.Object, v.SizeLimit.Text, smallest.Resources.MemoryLimit.Text, smallest.Describe(), strings.Join(names, ", "), mib(size)),
				Fix:     fix("set sizeLimit "+mib(size), set(path, mib(size)))})
		}
	}
}
