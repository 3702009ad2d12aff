// Package nodecheck checks nodes for what makes OOM kills likelier or harder
// to see: on the node itself (swap, cgroup version and memory controller,
// kernel features, container runtime versions, the kubelet's config, the
// kernel's overcommit and panic settings), read under a root folder so the
// checks run against fixture trees too; and across the cluster through the
// API (memory requests and limits against allocatable, memory pressure,
// SystemOOM events, kubelet versions). One file per check.
package nodecheck

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Status is a check's verdict.
type Status string

const (
	Pass Status = "pass"
	Info Status = "info"
	Warn Status = "warn"
	Fail Status = "fail"
)

// Rank orders statuses: pass < info < warn < fail.
func (s Status) Rank() int {
	switch s {
	case Info:
		return 1
	case Warn:
		return 2
	case Fail:
		return 3
	}
	return 0
}

// ParseStatus reads a status name (as --fail-on takes it); "none" is -1.
func ParseStatus(s string) (int, error) {
	switch s {
	case "none":
		return 99, nil
	case "pass", "info", "warn", "fail":
		return Status(s).Rank(), nil
	}
	return 0, fmt.Errorf("%q: valid levels are fail, warn, info, none", s)
}

// Result is one check's outcome.
type Result struct {
	// ID names the check (swap, cgroup-version, ...).
	ID string `json:"id"`
	// Node is the node the result is about (cluster checks).
	Node   string `json:"node,omitempty"`
	Status Status `json:"status"`
	// Summary says what was found, in one sentence.
	Summary string `json:"summary"`
	// Evidence lists what the verdict rests on: files and values read.
	Evidence []string `json:"evidence,omitempty"`
	// Advice says what to do (empty when nothing needs doing).
	Advice string `json:"advice,omitempty"`
}

// Host is the machine the local checks read.
type Host struct {
	// Root is the folder the machine's / is under ("/" on the node, the
	// host mount in a pod, a fixture tree in tests).
	Root string
	// StatFS returns the filesystem magic of a path.
	StatFS func(path string) (int64, error)
	// Version runs a program with --version (or its equivalent) and
	// returns the output; an error when it is not installed.
	Version func(program string) (string, error)
	// KubeletConfig is the kubelet's config file ("" for the usual place
	// under Root).
	KubeletConfig string
}

func (h Host) path(p string) string { return filepath.Join(h.Root, p) }

func (h Host) read(p string) (string, error) {
	b, err := os.ReadFile(h.path(p))
	return strings.TrimSpace(string(b)), err
}

func (h Host) exists(p string) bool {
	_, err := os.Stat(h.path(p))
	return err == nil
}

// local is the state the local checks share: read once, used by several.
type local struct {
	Host
	cgroupVersion int // 1, 2, or 0 when unknown
	kubelet       *kubeletConfig
	kubeletErr    error
}

// localCheck is one local check.
type localCheck struct {
	id  string
	run func(l *local) []Result
}

var localChecks []localCheck

func registerLocal(id string, run func(l *local) []Result) {
	localChecks = append(localChecks, localCheck{id, run})
}

// RunLocal runs every local check in a fixed order.
func RunLocal(h Host) []Result {
	l := &local{Host: h}
	l.cgroupVersion = detectCgroupVersion(h)
	l.kubelet, l.kubeletErr = readKubeletConfig(h)
	var out []Result
	for _, id := range []string{"cgroup-version", "memory-controller", "kernel", "swap", "vm-overcommit", "kernel-log", "container-runtime", "kubelet-config"} {
		for _, c := range localChecks {
			if c.id == id {
				for _, r := range c.run(l) {
					if r.ID == "" {
						r.ID = id
					}
					out = append(out, r)
				}
			}
		}
	}
	return out
}

// Worst returns the highest status rank among results.
func Worst(results []Result) int {
	w := 0
	for _, r := range results {
		if r.Status.Rank() > w {
			w = r.Status.Rank()
		}
	}
	return w
}
