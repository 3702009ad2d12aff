// Package cgroup reads and drives memory cgroups of both versions: it
// detects the version, creates and removes cgroups, sets limits, reads
// usage, peak, memory.stat and OOM counters, and waits for OOM events (v1:
// an eventfd registered in cgroup.event_control; v2: inotify on
// memory.events). Every path starts at a root passed in, so the same code
// runs against /sys/fs/cgroup and against fixture trees.
package cgroup

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Version is a cgroup version.
type Version int

const (
	V1 Version = 1
	V2 Version = 2
)

func (v Version) String() string { return "v" + strconv.Itoa(int(v)) }

// Hierarchy is where memory cgroups live: /sys/fs/cgroup/memory (v1) or
// /sys/fs/cgroup (v2), under a root folder.
type Hierarchy struct {
	Version Version
	// Dir is the memory hierarchy's folder.
	Dir string
}

// ErrClosed is returned by a Notifier's Wait after Close.
var ErrClosed = errors.New("notifier closed")

// Magic numbers of statfs(2).
const (
	cgroup2Magic = 0x63677270
	tmpfsMagic   = 0x01021994
	cgroupMagic  = 0x27e0eb
)

// StatFS returns the filesystem magic of a path; tests replace it.
type StatFS func(path string) (int64, error)

// FSVersion tells the cgroup version of root's /sys/fs/cgroup by its
// filesystem magic alone: 2 for cgroup2, 1 for a tmpfs of v1 controllers.
func FSVersion(root string, statfs StatFS) (Version, error) {
	base := filepath.Join(root, "sys", "fs", "cgroup")
	magic, err := statfs(base)
	if err != nil {
		return 0, fmt.Errorf("no cgroup filesystem at %s: %w", base, err)
	}
	switch magic {
	case cgroup2Magic:
		return V2, nil
	case tmpfsMagic:
		return V1, nil
	}
	return 0, fmt.Errorf("%s is neither cgroup v2 nor a cgroup v1 tmpfs (filesystem magic %#x)", base, magic)
}

// IsCgroup2 tells whether a filesystem magic is cgroup2's.
func IsCgroup2(magic int64) bool { return magic == cgroup2Magic }

// Magic numbers for tests that fake statfs.
const (
	MagicCgroup2 = cgroup2Magic
	MagicTmpfs   = tmpfsMagic
)

// Detect finds the memory hierarchy under root ("/" on a machine): cgroup v2
// when /sys/fs/cgroup is a cgroup2 filesystem with the memory controller,
// v1 when it is a tmpfs of per-controller mounts with memory among them.
func Detect(root string, statfs StatFS) (Hierarchy, error) {
	base := filepath.Join(root, "sys", "fs", "cgroup")
	magic, err := statfs(base)
	if err != nil {
		return Hierarchy{}, fmt.Errorf("no cgroup filesystem at %s: %w", base, err)
	}
	switch magic {
	case cgroup2Magic:
		data, err := os.ReadFile(filepath.Join(base, "cgroup.controllers"))
		if err != nil || !hasWord(string(data), "memory") {
			return Hierarchy{}, fmt.Errorf("cgroup v2 at %s has no memory controller (cgroup.controllers: %q)", base, strings.TrimSpace(string(data)))
		}
		return Hierarchy{Version: V2, Dir: base}, nil
	case tmpfsMagic:
		mem := filepath.Join(base, "memory")
		if _, err := os.Stat(filepath.Join(mem, "memory.limit_in_bytes")); err != nil {
			return Hierarchy{}, fmt.Errorf("cgroup v1 at %s has no memory controller mounted (%s)", base, mem)
		}
		return Hierarchy{Version: V1, Dir: mem}, nil
	}
	return Hierarchy{}, fmt.Errorf("%s is neither cgroup v2 nor a cgroup v1 tmpfs (filesystem magic %#x)", base, magic)
}

func hasWord(s, w string) bool {
	for _, f := range strings.Fields(s) {
		if f == w {
			return true
		}
	}
	return false
}

// Group is one memory cgroup.
type Group struct {
	H Hierarchy
	// Path is the cgroup's path within the hierarchy, from "/".
	Path string
}

// Open names an existing cgroup.
func (h Hierarchy) Open(path string) *Group {
	return &Group{H: h, Path: "/" + strings.TrimPrefix(path, "/")}
}

// Create makes a cgroup (and, on v2, enables the memory controller in its
// parent's subtree_control when it is not).
func (h Hierarchy) Create(path string) (*Group, error) {
	g := h.Open(path)
	if h.Version == V2 {
		parent := filepath.Dir(g.Dir())
		ctl := filepath.Join(parent, "cgroup.subtree_control")
		if data, err := os.ReadFile(ctl); err == nil && !hasWord(string(data), "memory") {
			if err := os.WriteFile(ctl, []byte("+memory"), 0o644); err != nil {
				return nil, fmt.Errorf("enabling the memory controller under %s: %w", parent, err)
			}
		}
	}
	if err := os.Mkdir(g.Dir(), 0o755); err != nil {
		return nil, fmt.Errorf("creating cgroup %s: %w (this needs root and a writable cgroup filesystem)", g.Dir(), err)
	}
	return g, nil
}

// Dir is the cgroup's folder.
func (g *Group) Dir() string { return filepath.Join(g.H.Dir, g.Path) }

func (g *Group) file(name string) string { return filepath.Join(g.Dir(), name) }

// File is the path of one of the cgroup's files.
func (g *Group) File(name string) string { return g.file(name) }

// Events reads the OOM counters: memory.oom_control (v1: oom_kill,
// under_oom) or memory.events (v2: oom, oom_kill, max, high, ...).
func (g *Group) Events() (map[string]int64, error) {
	name := "memory.oom_control"
	if g.H.Version == V2 {
		name = "memory.events"
	}
	data, err := os.ReadFile(g.file(name))
	if err != nil {
		return nil, err
	}
	return ParseKeyed(data), nil
}

func (g *Group) readInt(name string) (int64, error) {
	data, err := os.ReadFile(g.file(name))
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(string(data))
	if s == "max" {
		return -1, nil
	}
	return strconv.ParseInt(s, 10, 64)
}

// SetLimit sets the memory limit in bytes (memory.limit_in_bytes or
// memory.max).
func (g *Group) SetLimit(bytes int64) error {
	name := "memory.limit_in_bytes"
	if g.H.Version == V2 {
		name = "memory.max"
	}
	return os.WriteFile(g.file(name), []byte(strconv.FormatInt(bytes, 10)), 0o644)
}

// Limit is the memory limit in bytes, -1 for none.
func (g *Group) Limit() (int64, error) {
	if g.H.Version == V2 {
		return g.readInt("memory.max")
	}
	v, err := g.readInt("memory.limit_in_bytes")
	if err == nil && v >= 1<<62 {
		v = -1 // v1's "no limit" is a page-rounded huge number
	}
	return v, err
}

// AtLimit counts the times the cgroup's own limit stopped a charge: v1's
// memory.failcnt, v2's "max" event. A charge stopped higher up (at a pod's
// limit) counts there, not here.
func (g *Group) AtLimit() (int64, error) {
	if g.H.Version == V2 {
		ev, err := g.Events()
		return ev["max"], err
	}
	return g.readInt("memory.failcnt")
}

// Usage is the memory charged now (memory.usage_in_bytes or memory.current).
func (g *Group) Usage() (int64, error) {
	if g.H.Version == V2 {
		return g.readInt("memory.current")
	}
	return g.readInt("memory.usage_in_bytes")
}

// Peak is the highest charge since the cgroup was made
// (memory.max_usage_in_bytes, or memory.peak from kernel 5.19 on v2).
func (g *Group) Peak() (int64, error) {
	if g.H.Version == V2 {
		return g.readInt("memory.peak")
	}
	return g.readInt("memory.max_usage_in_bytes")
}

// Stat reads memory.stat.
func (g *Group) Stat() (Stat, error) {
	f, err := os.Open(g.file("memory.stat"))
	if err != nil {
		return Stat{}, err
	}
	defer f.Close()
	return ParseStat(f, g.H.Version)
}

// OOMKills is the number of processes the OOM killer killed in this cgroup
// (memory.oom_control's oom_kill on v1, kernel 4.13+; memory.events'
// oom_kill on v2, which counts the subtree).
func (g *Group) OOMKills() (int64, error) {
	name := "memory.oom_control"
	if g.H.Version == V2 {
		name = "memory.events"
	}
	data, err := os.ReadFile(g.file(name))
	if err != nil {
		return 0, err
	}
	v, ok := ParseKeyed(data)["oom_kill"]
	if !ok {
		return 0, fmt.Errorf("%s has no oom_kill counter (kernel older than 4.13?)", g.file(name))
	}
	return v, nil
}

// Enter moves a process into the cgroup.
func (g *Group) Enter(pid int) error {
	return os.WriteFile(g.file("cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644)
}

// Procs lists the processes in the cgroup (not its children).
func (g *Group) Procs() ([]int, error) {
	data, err := os.ReadFile(g.file("cgroup.procs"))
	if err != nil {
		return nil, err
	}
	var out []int
	for _, f := range strings.Fields(string(data)) {
		if pid, err := strconv.Atoi(f); err == nil {
			out = append(out, pid)
		}
	}
	return out, nil
}

// Remove kills what is left in the cgroup and removes it, waiting for
// the kernel to let go of it.
func (g *Group) Remove() error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		pids, _ := g.Procs()
		for _, p := range pids {
			if proc, err := os.FindProcess(p); err == nil {
				_ = proc.Kill()
				_ = proc.Release()
			}
		}
		err := os.Remove(g.Dir())
		if err == nil || errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("removing cgroup %s: %w", g.Dir(), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stat is memory.stat: the charge of the cgroup and its children by kind,
// in bytes, whatever the version.
type Stat struct {
	// Anon is anonymous memory (heaps, stacks).
	Anon int64
	// File is page cache, without shmem.
	File int64
	// Shmem is tmpfs and shared memory, which cannot be reclaimed
	// without swap.
	Shmem int64
	// Kernel is kernel memory (v2: kernel_stack, slab, sock, percpu...).
	Kernel int64
	// InactiveFile is the page cache the kernel reclaims first; the
	// working set is usage minus it.
	InactiveFile int64
	Raw          map[string]int64
}

// ParseStat parses memory.stat of either version; v1 totals (total_*)
// are used when present, since they include child cgroups.
func ParseStat(r io.Reader, v Version) (Stat, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return Stat{}, err
	}
	raw := ParseKeyed(data)
	get := func(keys ...string) int64 {
		for _, k := range keys {
			if x, ok := raw[k]; ok {
				return x
			}
		}
		return 0
	}
	s := Stat{Raw: raw}
	if v == V2 {
		s.Anon = get("anon")
		s.File = max(get("file")-get("shmem"), 0)
		s.Shmem = get("shmem")
		s.Kernel = get("kernel")
		if s.Kernel == 0 {
			s.Kernel = get("kernel_stack") + get("slab") + get("sock") + get("percpu") + get("pagetables")
		}
		s.InactiveFile = get("inactive_file")
		return s, nil
	}
	// rss already holds transparent huge pages (rss_huge is a part).
	s.Anon = get("total_rss", "rss")
	s.Shmem = get("total_shmem", "shmem")
	s.File = max(get("total_cache", "cache")-s.Shmem, 0)
	s.InactiveFile = get("total_inactive_file", "inactive_file")
	return s, nil
}

// ParseKeyed parses "key value" lines (memory.stat, memory.events,
// memory.oom_control); lines that do not parse are skipped.
func ParseKeyed(data []byte) map[string]int64 {
	out := map[string]int64{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		if !ok {
			continue
		}
		// Counters and sizes are unsigned; anything else is not one.
		if n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 63); err == nil {
			out[k] = int64(n)
		}
	}
	return out
}

// Command makes a command that runs inside the cgroup from its first
// instruction: a shell writes its own PID into cgroup.procs, then execs the
// command, so nothing it allocates or forks escapes the cgroup.
func (g *Group) Command(name string, args ...string) *exec.Cmd {
	script := `echo $$ > "$1/cgroup.procs" && shift && exec "$@"`
	return exec.Command("/bin/sh", append([]string{"-c", script, "sh", g.Dir(), name}, args...)...)
}

// OfPID reads a process's memory cgroup from /proc/PID/cgroup (proc is
// the /proc to read): the v1 line of the memory controller, or the v2
// unified line. Paths are from the reader's cgroup namespace root; under a
// namespace other than the host's they start with "/..".
func OfPID(proc string, pid int, v Version) (string, error) {
	data, err := os.ReadFile(filepath.Join(proc, strconv.Itoa(pid), "cgroup"))
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(data), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case v == V2 && parts[0] == "0" && parts[1] == "":
			return parts[2], nil
		case v == V1:
			for _, c := range strings.Split(parts[1], ",") {
				if c == "memory" {
					return parts[2], nil
				}
			}
		}
	}
	return "", fmt.Errorf("process %d has no memory cgroup in %s", pid, filepath.Join(proc, strconv.Itoa(pid), "cgroup"))
}
