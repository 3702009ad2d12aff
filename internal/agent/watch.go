//go:build linux

package agent

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/oomdoctor/oomdoctor/internal/cgroup"
	"github.com/oomdoctor/oomdoctor/internal/podcgroup"
)

// watched is one container cgroup the agent watches.
type watched struct {
	path string // from the hierarchy's root
	ref  podcgroup.Ref
	g    *cgroup.Group
	// v1: the eventfd and its release; v2: the inotify watch on
	// memory.events.
	efd     int
	release func()
	wd      int
	// last is the oom_kill counter last read; lastOOM v2's oom counter,
	// or v1's failcnt (no oom counter there): both grow when the
	// cgroup's own limit is hit.
	last, lastOOM int64
	// up are the enclosing levels whose limit a kill may reach: the pod,
	// the QoS class and kubepods (the node's allocatable).
	up []level
	// mainPID is the container's main process, as last seen: the process
	// of the cgroup whose parent is outside it.
	mainPID int
	// unclaimed are kills in the starting counter of a cgroup found while
	// the agent ran: their reports may still come, and tell them.
	unclaimed int64
	gone      bool
	// names are the command names (the kernel's comm) of the processes
	// seen in the cgroup and of its victims, up to maxNames: a victim the
	// kernel names only by PID and name, its process gone, is placed by
	// them when kills outside the watched cgroups are about.
	names map[string]bool
}

// maxNames bounds a cgroup's names.
const maxNames = 64

// saw notes a command name seen in the cgroup.
func (c *watched) saw(name string) {
	if name == "" || c.names[name] {
		return
	}
	if c.names == nil {
		c.names = map[string]bool{}
	}
	if len(c.names) < maxNames {
		c.names[name] = true
	}
}

// level is an enclosing cgroup of a container and its counter of its own
// limit (cgroup.AtLimit) as last read.
type level struct {
	scope string // pod or node
	g     *cgroup.Group
	last  int64
}

// limitHit is the limit the counters say a kill reached: its scope
// (container, pod, node; "" unknown) and size.
type limitHit struct {
	scope string
	limit int64
}

// event is what the watcher's poller saw.
type event struct {
	// efd: a v1 eventfd fired.
	efd int
	// An inotify event: watch, mask, name.
	wd   int
	mask uint32
	name string
}

// watcher finds container cgroups under the kubelet's tree and watches
// them: one epoll for every v1 eventfd, one inotify for the folders (new
// and removed cgroups) and v2's memory.events files.
type watcher struct {
	h        cgroup.Hierarchy
	kubepods []string // kubepods folders (from the hierarchy's root) to watch
	proc     string
	epfd     int
	ifd      int
	wake     int
	dirs     map[int]string   // inotify watch -> folder (from the hierarchy's root)
	dirWDs   map[string]int   // folder -> watch
	files    map[int]*watched // inotify watch on memory.events (v2)
	byEfd    map[int]*watched
	byPath   map[string]*watched
	events   chan []event
	warnings func(string)
	// noEventfd is set when v1 eventfds cannot be registered.
	noEventfd bool
}

func newWatcher(h cgroup.Hierarchy, kubeletCgroupRoot, proc string, warn func(string)) (*watcher, error) {
	w := &watcher{h: h, proc: proc, dirs: map[int]string{}, dirWDs: map[string]int{}, files: map[int]*watched{},
		byEfd: map[int]*watched{}, byPath: map[string]*watched{}, events: make(chan []event, 64), warnings: warn}
	root := "/" + strings.Trim(kubeletCgroupRoot, "/")
	for _, name := range []string{"kubepods", "kubepods.slice"} {
		w.kubepods = append(w.kubepods, filepath.Join(root, name))
	}
	var err error
	if w.epfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return nil, fmt.Errorf("epoll: %w", err)
	}
	if w.ifd, err = unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK); err != nil {
		unix.Close(w.epfd)
		return nil, fmt.Errorf("inotify: %w", err)
	}
	if w.wake, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		unix.Close(w.epfd)
		unix.Close(w.ifd)
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	for _, fd := range []int{w.ifd, w.wake} {
		if err := unix.EpollCtl(w.epfd, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}); err != nil {
			return nil, fmt.Errorf("epoll_ctl: %w", err)
		}
	}
	return w, nil
}

// poll runs the epoll loop until stop; it only reads and forwards.
func (w *watcher) poll() {
	evs := make([]unix.EpollEvent, 64)
	buf := make([]byte, 64*1024)
	var eight [8]byte
	for {
		n, err := unix.EpollWait(w.epfd, evs, -1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			close(w.events)
			return
		}
		var batch []event
		for _, ev := range evs[:n] {
			fd := int(ev.Fd)
			switch fd {
			case w.wake:
				close(w.events)
				return
			case w.ifd:
				for {
					m, err := unix.Read(w.ifd, buf)
					if m <= 0 || err != nil {
						break
					}
					batch = append(batch, parseInotify(buf[:m])...)
				}
			default:
				_, _ = unix.Read(fd, eight[:])
				batch = append(batch, event{efd: fd, wd: -1})
			}
		}
		if len(batch) > 0 {
			w.events <- batch
		}
	}
}

func parseInotify(b []byte) []event {
	var out []event
	for len(b) >= unix.SizeofInotifyEvent {
		raw := (*unix.InotifyEvent)(unsafe.Pointer(&b[0]))
		size := unix.SizeofInotifyEvent + int(raw.Len)
		if size > len(b) {
			break
		}
		name := strings.TrimRight(string(b[unix.SizeofInotifyEvent:size]), "\x00")
		out = append(out, event{efd: -1, wd: int(raw.Wd), mask: raw.Mask, name: name})
		b = b[size:]
	}
	return out
}

// stop ends poll.
func (w *watcher) stop() {
	var one [8]byte
	binary.LittleEndian.PutUint64(one[:], 1)
	_, _ = unix.Write(w.wake, one[:])
}

// close frees every descriptor (after poll returned).
func (w *watcher) close() {
	for _, c := range w.byPath {
		w.unwatch(c)
	}
	unix.Close(w.ifd)
	unix.Close(w.epfd)
	unix.Close(w.wake)
}

// scan walks the kubelet's tree and watches what is new; it returns the
// cgroups it started to watch.
func (w *watcher) scan() []*watched {
	var added []*watched
	for _, kp := range w.kubepods {
		if _, err := os.Stat(filepath.Join(w.h.Dir, kp)); err != nil {
			continue
		}
		added = append(added, w.walk(kp)...)
	}
	return added
}

func (w *watcher) walk(dir string) []*watched {
	ref := podcgroup.Parse(dir)
	if ref.Level == podcgroup.Container {
		if c := w.watch(dir, ref); c != nil {
			return []*watched{c}
		}
		return nil
	}
	if ref.Level == podcgroup.Outside {
		return nil
	}
	w.watchDir(dir)
	entries, err := os.ReadDir(filepath.Join(w.h.Dir, dir))
	if err != nil {
		return nil
	}
	var added []*watched
	for _, e := range entries {
		if e.IsDir() {
			added = append(added, w.walk(filepath.Join(dir, e.Name()))...)
		}
	}
	return added
}

func (w *watcher) watchDir(dir string) {
	if _, ok := w.dirWDs[dir]; ok {
		return
	}
	wd, err := unix.InotifyAddWatch(w.ifd, filepath.Join(w.h.Dir, dir), unix.IN_CREATE|unix.IN_MOVED_TO|unix.IN_DELETE|unix.IN_MOVED_FROM|unix.IN_ONLYDIR)
	if err != nil {
		w.warnings(fmt.Sprintf("watching %s: %v", dir, err))
		return
	}
	w.dirs[wd], w.dirWDs[dir] = dir, wd
}

// watch starts watching one container cgroup, reading its counters first
// so that kills from before are not counted.
func (w *watcher) watch(path string, ref podcgroup.Ref) *watched {
	if c := w.byPath[path]; c != nil {
		return nil
	}
	c := &watched{path: path, ref: ref, g: w.h.Open(path), efd: -1, wd: -1}
	ev, err := c.g.Events()
	if err != nil {
		return nil // gone already, or not a memory cgroup
	}
	c.last, c.lastOOM = ev["oom_kill"], ownCount(c.g, ev)
	if ref.Level == podcgroup.Container && ref.PodPath != "" {
		c.up = append(c.up, level{scope: "pod", g: w.h.Open(ref.PodPath)})
		for p := filepath.Dir(ref.PodPath); ref.KubepodsPath != "" && strings.HasPrefix(p, ref.KubepodsPath); p = filepath.Dir(p) {
			c.up = append(c.up, level{scope: "node", g: w.h.Open(p)})
		}
		for i := range c.up {
			c.up[i].last, _ = c.up[i].g.AtLimit()
		}
	}
	if w.h.Version == cgroup.V1 {
		efd, release, err := c.g.OOMEventFD()
		switch {
		case err != nil:
			// The controller's own mount is read-only (the chart's
			// cgroup.recursiveReadOnly; a plain read-only mount of
			// /sys/fs/cgroup leaves it writable): no eventfd. The counters
			// are read on each kernel report and every rescan instead.
			if !w.noEventfd {
				w.noEventfd = true
				w.warnings(fmt.Sprintf("no OOM eventfds (%v): counting from the kernel log and the counters read at each report and rescan; for eventfds the memory controller's mount must be writable (the chart: leave cgroup.recursiveReadOnly unset)", err))
			}
		default:
			if err := unix.EpollCtl(w.epfd, unix.EPOLL_CTL_ADD, efd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(efd)}); err != nil {
				release()
				w.warnings(fmt.Sprintf("epoll_ctl: %v", err))
				return nil
			}
			c.efd, c.release = efd, release
			w.byEfd[efd] = c
		}
	} else {
		wd, err := unix.InotifyAddWatch(w.ifd, c.g.File("memory.events"), unix.IN_MODIFY)
		if err != nil {
			return nil
		}
		c.wd = wd
		w.files[wd] = c
	}
	c.mainPID = w.mainPID(c)
	w.byPath[path] = c
	return c
}

func (w *watcher) unwatch(c *watched) {
	if c.gone {
		return
	}
	c.gone = true
	if c.efd >= 0 {
		_ = unix.EpollCtl(w.epfd, unix.EPOLL_CTL_DEL, c.efd, nil)
		delete(w.byEfd, c.efd)
		c.release()
	}
	if c.wd >= 0 {
		_, _ = unix.InotifyRmWatch(w.ifd, uint32(c.wd))
		delete(w.files, c.wd)
	}
	delete(w.byPath, c.path)
}

// removed forgets a folder and everything under it.
func (w *watcher) removed(dir string) []*watched {
	var gone []*watched
	for p, c := range w.byPath {
		if p == dir || strings.HasPrefix(p, dir+"/") {
			gone = append(gone, c)
			w.unwatch(c)
		}
	}
	for d, wd := range w.dirWDs {
		if d == dir || strings.HasPrefix(d, dir+"/") {
			_, _ = unix.InotifyRmWatch(w.ifd, uint32(wd))
			delete(w.dirWDs, d)
			delete(w.dirs, wd)
		}
	}
	return gone
}

// read reads a cgroup's counters; it returns the new kills and the limit
// the counters say was reached since the last kill: "container" (its own,
// or on v2 a child's), "pod", or "" (unknown: the node's, or the pod's
// without a counter). The kernel's report says which when it is printed
// whole; this is for the reports past its rate limit.
func (w *watcher) read(c *watched) (kills int64, hit limitHit, err error) {
	ev, err := c.g.Events()
	if err != nil {
		return 0, hit, err
	}
	k, ok := ev["oom_kill"]
	if !ok {
		// Read while it was being written (files in tests), or a kernel
		// without the counter (before 4.13): the kernel log counts.
		return 0, hit, fmt.Errorf("%s: no oom_kill counter", c.path)
	}
	switch {
	case k < c.last: // a new cgroup under the same path
		c.last, c.lastOOM = k, ownCount(c.g, ev)
		return 0, hit, nil
	case k == c.last:
		// No kill yet: the limits' counters may already have moved for
		// the kill to come (read at the notification); keep them for then.
		return 0, hit, nil
	}
	kills = k - c.last
	o := ownCount(c.g, ev)
	if o > c.lastOOM {
		hit = limitHit{scope: "container", limit: limitOf(c.g)}
	}
	for i := range c.up {
		u := &c.up[i]
		n, _ := u.g.AtLimit()
		if n > u.last && hit.scope == "" {
			hit = limitHit{scope: u.scope, limit: limitOf(u.g)}
		}
		u.last = n
	}
	c.last, c.lastOOM = k, o
	return kills, hit, nil
}

func limitOf(g *cgroup.Group) int64 {
	if l, err := g.Limit(); err == nil && l > 0 {
		return l
	}
	return 0
}

// ownCount is the counter that grows when the cgroup's own limit is hit:
// v2's oom event; v1 has none, its failcnt grows at the limit (reclaim may
// still have saved the charge, so it says the limit was reached, which is
// what a kill's scope needs when the kernel's report was rate-limited).
func ownCount(g *cgroup.Group, ev map[string]int64) int64 {
	if g.H.Version == cgroup.V2 {
		return ev["oom"]
	}
	n, _ := g.AtLimit()
	return n
}

// mainPID finds the container's main process: the one whose parent is
// not in the cgroup (the runtime's shim is outside). 0 when none.
func (w *watcher) mainPID(c *watched) int {
	pids, err := c.g.Procs()
	if err != nil {
		return 0
	}
	return w.look(c, pids)
}

// maxNamesRead bounds the processes whose names are read at once.
const maxNamesRead = 256

// look reads the parents and command names of a cgroup's processes (pids,
// sorted in place): it notes the names of the first maxNamesRead, and
// returns the main process (mainPID), 0 when none.
func (w *watcher) look(c *watched, pids []int) (main int) {
	in := map[int]bool{}
	for _, p := range pids {
		in[p] = true
	}
	sort.Ints(pids)
	for i, p := range pids {
		if main != 0 && (i >= maxNamesRead || len(c.names) == maxNames) {
			break
		}
		pp, name := w.stat(p)
		if i < maxNamesRead {
			c.saw(name)
		}
		if main == 0 && pp > 0 && !in[pp] {
			main = p
		}
	}
	return main
}

// stat reads a process's parent and command name from /proc/PID/stat.
func (w *watcher) stat(pid int) (ppid int, name string) {
	b, err := os.ReadFile(filepath.Join(w.proc, strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, ""
	}
	s := string(b)
	// The command name is in parentheses and may hold spaces and
	// parentheses itself.
	open, i := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || i < open {
		return 0, ""
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0, s[open+1 : i]
	}
	pp, _ := strconv.Atoi(f[1])
	return pp, s[open+1 : i]
}
