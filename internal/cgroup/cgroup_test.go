package cgroup

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The test binary doubles as an allocator: OOMDOCTOR_TEST_ALLOC=N makes it
// touch N MiB and sleep.
func TestMain(m *testing.M) {
	if n := os.Getenv("OOMDOCTOR_TEST_ALLOC"); n != "" {
		var mib int
		fmt.Sscan(n, &mib)
		var keep [][]byte
		for i := 0; i < mib; i++ {
			b := make([]byte, 1<<20)
			for j := 0; j < len(b); j += 4096 {
				b[j] = 1
			}
			keep = append(keep, b)
		}
		time.Sleep(time.Hour)
		_ = keep
		return
	}
	os.Exit(m.Run())
}

func TestDetect(t *testing.T) {
	v2root, _ := filepath.Abs("testdata/v2")
	h, err := Detect(v2root, func(string) (int64, error) { return cgroup2Magic, nil })
	if err != nil || h.Version != V2 || h.Dir != filepath.Join(v2root, "sys/fs/cgroup") {
		t.Errorf("v2 fixture: %+v %v", h, err)
	}
	if _, err := Detect(v2root, func(string) (int64, error) { return 0xef53, nil }); err == nil || !strings.Contains(err.Error(), "neither") {
		t.Errorf("ext4: %v", err)
	}
	// The machine itself: cgroup v1 with a memory controller.
	h, err = Detect("/", RealStatFS)
	if err != nil || h.Version != V1 {
		t.Fatalf("this machine: %+v %v (the tests need the cgroup v1 memory controller at /sys/fs/cgroup/memory)", h, err)
	}
}

func TestReadV2Fixture(t *testing.T) {
	v2root, _ := filepath.Abs("testdata/v2")
	h := Hierarchy{Version: V2, Dir: filepath.Join(v2root, "sys/fs/cgroup")}
	g := h.Open("/kubepods.slice/pod")
	lim, _ := g.Limit()
	use, _ := g.Usage()
	peak, _ := g.Peak()
	kills, err := g.OOMKills()
	if lim != 256<<20 || use != 192<<20 || peak != 256<<20 || kills != 2 || err != nil {
		t.Errorf("limit %d usage %d peak %d kills %d %v", lim, use, peak, kills, err)
	}
	st, err := g.Stat()
	if err != nil || st.Anon != 144<<20 || st.Shmem != 32<<20 || st.File != 8<<20 || st.Kernel != 8<<20 || st.InactiveFile != 4<<20 {
		t.Errorf("stat %+v %v", st, err)
	}
}

// The v2 notifier wakes when memory.events changes (inotify works on the
// fixture's regular file as on cgroupfs).
func TestNotifierV2OnFixture(t *testing.T) {
	dir := t.TempDir()
	g := Hierarchy{Version: V2, Dir: dir}.Open("/c")
	os.MkdirAll(g.Dir(), 0o755)
	os.WriteFile(g.file("memory.events"), []byte("oom 0\noom_kill 0\n"), 0o644)
	n, err := g.NewNotifier()
	if err != nil {
		t.Fatal(err)
	}
	defer n.Release()
	got := make(chan error, 1)
	go func() { got <- n.Wait() }()
	time.Sleep(50 * time.Millisecond)
	// One write in place, as the kernel updates it: os.WriteFile would
	// truncate first, two events, and the second could wake the next Wait
	// before Close.
	f, err := os.OpenFile(g.file("memory.events"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("oom 1\noom_kill 1\n"), 0); err != nil {
		t.Fatal(err)
	}
	f.Close()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no wake-up for a memory.events change")
	}
	if k, _ := g.OOMKills(); k != 1 {
		t.Errorf("oom_kill %d", k)
	}
	go func() { got <- n.Wait() }()
	n.Close()
	if err := <-got; err != ErrClosed {
		t.Errorf("after Close: %v", err)
	}
}

// A real kernel OOM kill in a real v1 cgroup: the eventfd fires, the
// counter counts it, the stats show the anon memory.
func TestRealOOMKillV1(t *testing.T) {
	h, err := Detect("/", RealStatFS)
	if err != nil {
		t.Fatal(err)
	}
	g, err := h.Create(fmt.Sprintf("oomdoctor-cgtest-%d", os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := g.Remove(); err != nil {
			t.Error(err)
		}
	}()
	if err := g.SetLimit(32 << 20); err != nil {
		t.Fatal(err)
	}
	n, err := g.NewNotifier()
	if err != nil {
		t.Fatal(err)
	}
	defer n.Release()
	woke := make(chan time.Time, 1)
	go func() {
		if n.Wait() == nil {
			woke <- time.Now()
		}
	}()
	cmd := g.Command(os.Args[0], "-test.run=XXX")
	cmd.Env = append(os.Environ(), "OOMDOCTOR_TEST_ALLOC=200")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitErr := cmd.Wait()
	exited := time.Now()
	if cmd.ProcessState.ExitCode() != -1 || !strings.Contains(waitErr.Error(), "killed") {
		t.Fatalf("the allocator was not killed: %v", waitErr)
	}
	select {
	case at := <-woke:
		if d := exited.Sub(at); d < -time.Second {
			t.Errorf("the OOM event came %v after the exit", -d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no OOM event")
	}
	kills, err := g.OOMKills()
	if err != nil || kills != 1 {
		t.Errorf("oom_kill %d %v", kills, err)
	}
	peak, _ := g.Peak()
	// v1's max_usage_in_bytes may pass the limit by a few pages while
	// the charge that failed is being undone.
	if peak < 30<<20 || peak > 32<<20+64<<10 {
		t.Errorf("peak %d, want about the 32 MiB limit", peak)
	}
	n.Close()
}

// memory.stat of either version: never a panic, never a negative size, and
// totals win over the local v1 values when both are there.
func FuzzParseStat(f *testing.F) {
	f.Add([]byte("cache 4096\nrss 8192\nshmem 0\ntotal_cache 8192\ntotal_rss 16384\ntotal_shmem 4096\n"), 1)
	f.Add([]byte("anon 1048576\nfile 2097152\nkernel 65536\nshmem 0\nfile_dirty 0\n"), 2)
	f.Add([]byte("anon\nfile x\n\n  \nrss -5\n"), 1)
	f.Fuzz(func(t *testing.T, data []byte, v int) {
		ver := V1
		if v%2 == 0 {
			ver = V2
		}
		st, err := ParseStat(bytes.NewReader(data), ver)
		if err != nil {
			return
		}
		if st.Anon < 0 || st.File < 0 || st.Shmem < 0 {
			t.Errorf("negative size from %q: %+v", data, st)
		}
	})
}

func TestOfPID(t *testing.T) {
	dir := t.TempDir()
	write := func(pid, content string) {
		if err := os.MkdirAll(filepath.Join(dir, pid), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, pid, "cgroup"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("10", "12:pids:/kubepods/x\n5:memory:/kubepods/burstable/podA/abc\n1:name=systemd:/\n0::/\n")
	write("11", "0::/kubepods.slice/kubepods-pod1.slice/cri-containerd-abc.scope\n")
	write("12", "4:cpu,cpuacct:/\n")
	if p, err := OfPID(dir, 10, V1); err != nil || p != "/kubepods/burstable/podA/abc" {
		t.Errorf("v1: %q %v", p, err)
	}
	if p, err := OfPID(dir, 11, V2); err != nil || p != "/kubepods.slice/kubepods-pod1.slice/cri-containerd-abc.scope" {
		t.Errorf("v2: %q %v", p, err)
	}
	if _, err := OfPID(dir, 12, V1); err == nil {
		t.Error("no memory line, yet a path")
	}
	if _, err := OfPID(dir, 13, V1); err == nil {
		t.Error("no such process, yet a path")
	}
	// This very process, for real.
	h, err := Detect("/", RealStatFS)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := OfPID("/proc", os.Getpid(), h.Version); err != nil || !strings.HasPrefix(p, "/") {
		t.Errorf("self: %q %v", p, err)
	}
}
