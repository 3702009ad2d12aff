//go:build !linux

package cgroup

import (
	"fmt"
	"runtime"
)

// ErrNotLinux says that memory cgroups, and so what reads or drives them,
// are Linux's alone.
var ErrNotLinux = fmt.Errorf("memory cgroups are Linux's, and this is %s: run this on a Linux machine or node", runtime.GOOS)

// RealStatFS is statfs(2), which tells cgroup filesystems apart on Linux
// alone.
func RealStatFS(path string) (int64, error) { return 0, ErrNotLinux }

// Notifier wakes when the kernel's OOM killer acts in a cgroup; on Linux
// alone.
type Notifier struct{}

// NewNotifier registers for the cgroup's OOM events; on Linux alone.
func (g *Group) NewNotifier() (*Notifier, error) { return nil, ErrNotLinux }

// OOMEventFD registers a v1 cgroup for OOM notifications; on Linux alone.
func (g *Group) OOMEventFD() (efd int, release func(), err error) { return -1, nil, ErrNotLinux }

// Wait blocks until the next OOM event; on Linux alone.
func (n *Notifier) Wait() error { return ErrNotLinux }

// Close stops the notifier.
func (n *Notifier) Close() error { return nil }

// Release frees the notifier's descriptors.
func (n *Notifier) Release() {}
