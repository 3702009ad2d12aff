package cgroup

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// Notifier wakes when the kernel's OOM killer acts in a cgroup: v1 through
// an eventfd registered for memory.oom_control in cgroup.event_control
// (which also fires when the cgroup is removed), v2 through inotify on
// memory.events (which changes with every oom and oom_kill). It says "look
// now"; read the counters to know what happened.
type Notifier struct {
	g      *Group
	fd     int // eventfd (v1) or inotify (v2)
	oomFd  int // v1: memory.oom_control, held open
	wake   int // an eventfd Close writes to, to end a blocked Wait
	closed bool
	mu     sync.Mutex
}

// NewNotifier registers for the cgroup's OOM events.
func (g *Group) NewNotifier() (*Notifier, error) {
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	n, err := g.newNotifier()
	if err != nil {
		unix.Close(wake)
		return nil, err
	}
	n.wake = wake
	return n, nil
}

func (g *Group) newNotifier() (*Notifier, error) {
	n := &Notifier{g: g, oomFd: -1}
	if g.H.Version == V1 {
		oom, err := unix.Open(g.file("memory.oom_control"), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("opening %s: %w", g.file("memory.oom_control"), err)
		}
		efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
		if err != nil {
			unix.Close(oom)
			return nil, fmt.Errorf("eventfd: %w", err)
		}
		reg := fmt.Sprintf("%d %d", efd, oom)
		if err := os.WriteFile(g.file("cgroup.event_control"), []byte(reg), 0o644); err != nil {
			unix.Close(oom)
			unix.Close(efd)
			return nil, fmt.Errorf("registering for OOM events of %s: %w", g.Dir(), err)
		}
		n.fd, n.oomFd = efd, oom
		return n, nil
	}
	ifd, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	if _, err := unix.InotifyAddWatch(ifd, g.file("memory.events"), unix.IN_MODIFY); err != nil {
		unix.Close(ifd)
		return nil, fmt.Errorf("watching %s: %w", g.file("memory.events"), err)
	}
	n.fd = ifd
	return n, nil
}

// OOMEventFD registers a v1 cgroup for OOM notifications and returns the
// eventfd that becomes readable on each (and on the cgroup's removal), for
// callers that poll many cgroups at once. release closes both descriptors.
func (g *Group) OOMEventFD() (efd int, release func(), err error) {
	if g.H.Version != V1 {
		return -1, nil, fmt.Errorf("OOM eventfds are cgroup v1's; on v2 watch %s with inotify", g.File("memory.events"))
	}
	n, err := g.newNotifier()
	if err != nil {
		return -1, nil, err
	}
	return n.fd, func() { unix.Close(n.fd); unix.Close(n.oomFd) }, nil
}

// Wait blocks until the next OOM event (or, on v1, the cgroup's removal:
// check that it still exists). It returns ErrClosed once Close was called.
func (n *Notifier) Wait() error {
	buf := make([]byte, 4096)
	for {
		fds := []unix.PollFd{{Fd: int32(n.fd), Events: unix.POLLIN}, {Fd: int32(n.wake), Events: unix.POLLIN}}
		_, err := unix.Poll(fds, -1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return err
		}
		if fds[1].Revents != 0 {
			return ErrClosed
		}
		if fds[0].Revents&unix.POLLIN == 0 {
			if fds[0].Revents != 0 {
				return fmt.Errorf("waiting for OOM events of %s: poll revents %#x", n.g.Dir(), fds[0].Revents)
			}
			continue
		}
		if _, err := unix.Read(n.fd, buf); err != nil && !errors.Is(err, unix.EINTR) && !errors.Is(err, unix.EAGAIN) {
			return err
		}
		return nil
	}
}

// Close stops the notifier; a blocked Wait returns ErrClosed.
func (n *Notifier) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil
	}
	n.closed = true
	var one [8]byte
	binary.LittleEndian.PutUint64(one[:], 1)
	_, _ = unix.Write(n.wake, one[:])
	return nil
}

// Release frees the notifier's descriptors; call it after Wait returned.
func (n *Notifier) Release() {
	unix.Close(n.fd)
	unix.Close(n.wake)
	if n.oomFd >= 0 {
		unix.Close(n.oomFd)
	}
}
