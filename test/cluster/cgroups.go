package cluster

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cgroupRootPrefix names the cgroup under which a test node puts everything
// it runs (containerd, shims, kubelet, pods), in every v1 hierarchy; the
// suffix is the test process's PID, so a later run can tell a stale tree
// (its PID is gone) from a running one.
const cgroupRootPrefix = "oomdoctor-e2e-"

// cgroupFS is the cgroup v1 mount folder.
const cgroupFS = "/sys/fs/cgroup"

// hierarchies returns the folders of the mounted cgroup hierarchies.
func hierarchies() ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, x := range fields {
			if x == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+1 >= len(fields) {
			continue
		}
		if t := fields[sep+1]; t == "cgroup" || t == "cgroup2" {
			out = append(out, unescapeMount(fields[4]))
		}
	}
	return out, sc.Err()
}

func unescapeMount(s string) string {
	return strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`).Replace(s)
}

// checkMemoryCgroup fails unless the memory controller is usable: v1 at
// /sys/fs/cgroup/memory, writable.
func checkMemoryCgroup() error {
	mem := filepath.Join(cgroupFS, "memory")
	if _, err := os.Stat(filepath.Join(mem, "memory.limit_in_bytes")); err != nil {
		if _, err2 := os.Stat(filepath.Join(cgroupFS, "memory.max")); err2 == nil {
			return errors.New("this machine has cgroup v2; the node harness supports the v1 memory controller at /sys/fs/cgroup/memory that this project's machines have")
		}
		return fmt.Errorf("no cgroup v1 memory controller at %s: the kubelet cannot limit memory here", mem)
	}
	probe := filepath.Join(mem, cgroupRootPrefix+"probe-"+strconv.Itoa(os.Getpid()))
	if err := os.Mkdir(probe, 0o755); err != nil {
		return fmt.Errorf("cannot create a memory cgroup (%v): run the tests as root on a machine with a writable /sys/fs/cgroup/memory", err)
	}
	return os.Remove(probe)
}

// makeCgroupRoot creates name in every hierarchy, with the cpuset values of
// its parent so that children can hold tasks.
func makeCgroupRoot(name string) error {
	hs, err := hierarchies()
	if err != nil {
		return err
	}
	for _, h := range hs {
		dir := filepath.Join(h, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("creating cgroup %s: %w", dir, err)
		}
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			if v, err := os.ReadFile(filepath.Join(h, f)); err == nil {
				if err := os.WriteFile(filepath.Join(dir, f), v, 0o644); err != nil {
					return fmt.Errorf("initialising %s/%s: %w", dir, f, err)
				}
			}
		}
	}
	return nil
}

// cgroupPIDs lists the processes in a memory cgroup tree.
func cgroupPIDs(root string) []int {
	var pids []int
	_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		data, err := os.ReadFile(filepath.Join(p, "cgroup.procs"))
		if err != nil {
			return nil
		}
		for _, l := range strings.Fields(string(data)) {
			if pid, err := strconv.Atoi(l); err == nil {
				pids = append(pids, pid)
			}
		}
		return nil
	})
	return pids
}

// killCgroupTree SIGKILLs every process in the memory cgroup tree until it
// is empty (processes may fork while it runs).
func killCgroupTree(name string) error {
	root := filepath.Join(cgroupFS, "memory", name)
	deadline := time.Now().Add(20 * time.Second)
	for {
		pids := cgroupPIDs(root)
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v in %s would not die", pids, root)
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// removeCgroupRoot removes name and everything below it in every hierarchy,
// deepest first; cgroups are busy for a moment after their last process died.
func removeCgroupRoot(name string) error {
	hs, err := hierarchies()
	if err != nil {
		return err
	}
	var errs []error
	for _, h := range hs {
		root := filepath.Join(h, name)
		var dirs []string
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
		for _, d := range dirs {
			var err error
			for try := 0; try < 50; try++ {
				if err = syscall.Rmdir(d); err == nil || errors.Is(err, syscall.ENOENT) {
					err = nil
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("removing cgroup %s: %w", d, err))
			}
		}
	}
	return errors.Join(errs...)
}

// unmountUnder detaches every mount below dir, deepest first.
func unmountUnder(dir string) error {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	var mounts []string
	for _, l := range strings.Split(string(data), "\n") {
		fields := strings.Fields(l)
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMount(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			mounts = append(mounts, mp)
		}
	}
	sort.Slice(mounts, func(i, j int) bool { return len(mounts[i]) > len(mounts[j]) })
	var errs []error
	for _, m := range mounts {
		if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("unmounting %s: %w", m, err))
		}
	}
	return errors.Join(errs...)
}

// cleanStaleNodes removes what test nodes of runs that died without
// cleaning up left behind: their processes, mounts, cgroups and folders.
func cleanStaleNodes() error {
	entries, err := os.ReadDir(filepath.Join(cgroupFS, "memory"))
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || !strings.HasPrefix(name, cgroupRootPrefix) {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimPrefix(name, cgroupRootPrefix))
		if err == nil && syscall.Kill(pid, 0) == nil {
			continue // a run in progress
		}
		errs = append(errs, killCgroupTree(name))
		dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), nodeDirPrefix+strings.TrimPrefix(name, cgroupRootPrefix)+"-*"))
		for _, d := range dirs {
			errs = append(errs, unmountUnder(d), os.RemoveAll(d))
		}
		errs = append(errs, removeCgroupRoot(name))
	}
	return errors.Join(errs...)
}
