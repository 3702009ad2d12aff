package nodecheck

import (
	"fmt"
	"path/filepath"

	"github.com/oomdoctor/oomdoctor/internal/cgroup"
)

func detectCgroupVersion(h Host) int {
	v, err := cgroup.FSVersion(h.Root, h.StatFS)
	if err != nil {
		return 0
	}
	return int(v)
}

func init() {
	registerLocal("cgroup-version", func(l *local) []Result {
		base := l.path("/sys/fs/cgroup")
		switch l.cgroupVersion {
		case 2:
			return []Result{{Status: Pass, Summary: "cgroup v2 (unified hierarchy)",
				Evidence: []string{fmt.Sprintf("statfs %s: cgroup2 filesystem", base)}}}
		case 1:
			r := Result{Status: Warn, Summary: "cgroup v1",
				Evidence: []string{fmt.Sprintf("statfs %s: tmpfs of per-controller cgroup v1 mounts", base)},
				Advice: "On cgroup v1 an OOM kill takes only the chosen process, so a child can die while PID 1 runs on and the pod status shows nothing " +
					"(run the oomdoctor agent to see those kills); the kubelet sets memory.oom.group only on v2. Kubelets since 1.35 refuse to start on v1 unless " +
					"failCgroupV1 is false. Move the node to cgroup v2 (systemd.unified_cgroup_hierarchy=1 on the kernel command line, kernel 5.8+)."}
			if m, err := l.StatFS(filepath.Join(base, "unified")); err == nil && cgroup.IsCgroup2(m) {
				r.Summary = "cgroup v1 (hybrid: a v2 hierarchy at /sys/fs/cgroup/unified without the memory controller)"
				r.Evidence = append(r.Evidence, fmt.Sprintf("statfs %s: cgroup2 filesystem", filepath.Join(base, "unified")))
			}
			return []Result{r}
		}
		_, err := cgroup.FSVersion(l.Root, l.StatFS)
		return []Result{{Status: Fail, Summary: "no cgroup filesystem found", Evidence: []string{err.Error()},
			Advice: "Containers need the memory cgroup controller. When running in a pod, mount the host's /sys/fs/cgroup and pass its parent with --root."}}
	})
	registerLocal("memory-controller", func(l *local) []Result {
		h, err := cgroup.Detect(l.Root, l.StatFS)
		if err != nil {
			return []Result{{Status: Fail, Summary: "the memory controller is not available", Evidence: []string{err.Error()},
				Advice: "Without the memory controller no container memory limit is enforced. Enable it (cgroup_enable=memory on the kernel command line on some distributions, e.g. Raspberry Pi OS) and reboot."}}
		}
		ev := []string{"memory hierarchy at " + h.Dir}
		if h.Version == cgroup.V2 {
			if s, err := l.read("/sys/fs/cgroup/cgroup.subtree_control"); err == nil {
				ev = append(ev, "cgroup.subtree_control: "+s)
			}
		}
		return []Result{{Status: Pass, Summary: "memory controller " + h.Version.String() + " available", Evidence: ev}}
	})
}
