package kmsg

import (
	"bufio"
	"os"
	"strings"
	"testing"
	"time"
)

// replay feeds a fixture of raw records (one per line, as /dev/kmsg gives
// them) to an assembler.
func replay(t *testing.T, path string) []*Report {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var a Assembler
	var out []*Report
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	for sc.Scan() {
		rec, err := ParseRecord(sc.Bytes())
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if r, ok := a.Add(rec); ok {
			out = append(out, r)
		}
	}
	return out
}

func TestReportsOfSeveralKernels(t *testing.T) {
	const mi = 1 << 20
	cases := []struct {
		file                string
		scope               Scope
		oomMemcg, taskMemcg string
		victim              string
		pid                 int
		anonRSS             int64
		limit               int64
		anon, shmem         int64
		trigger             string
	}{
		{"linux-6.18-cgroupv1-container-limit.kmsg", ScopeCgroup,
			"/oomdoctor-e2e-20059/kubepods/burstable/pod57acd75a-3fa4-47cc-b837-a6a51a2b253f/126094f7e44a728c2b9625bc08d7ceed3f6278dce138a8814f32fce66ab34f41",
			"/oomdoctor-e2e-20059/kubepods/burstable/pod57acd75a-3fa4-47cc-b837-a6a51a2b253f/126094f7e44a728c2b9625bc08d7ceed3f6278dce138a8814f32fce66ab34f41",
			"testapp", 20980, 65024 * 1024, 64 * mi, -1, 0, "testapp"},
		// A child process (the e2e child-kill pod): its pod's limit equals
		// its container's, and the pod cgroup, which also holds the
		// sandbox, reaches it first.
		{"linux-6.18-cgroupv1-pod-limit.kmsg", ScopeCgroup,
			"/oomdoctor-e2e-20059/kubepods/burstable/pod01ae33d6-1f65-4a31-a9c9-b674cf546db9",
			"/oomdoctor-e2e-20059/kubepods/burstable/pod01ae33d6-1f65-4a31-a9c9-b674cf546db9/988e0ae042eef229a50011022f36272ec02b568c0234514badb1816b299c193a",
			"exe", 21127, 64749568, 64 * mi, 66129920, 0, "exe"},
		{"linux-4.14-cgroupv1-container-limit.kmsg", ScopeCgroup,
			"/kubepods/pod0f2b8c4e-1d1b-11ea-9d7a-0a58ac100004/5c0e8c8a3c2f",
			"/kubepods/pod0f2b8c4e-1d1b-11ea-9d7a-0a58ac100004/5c0e8c8a3c2f",
			"java", 31337, 521064 * 1024, 512 * mi, 521064 * 1024, 0, "java"},
		{"linux-5.10-cgroupv2-container-limit.kmsg", ScopeCgroup,
			"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod7a1c3e2b_9f4d_4e5a_8b6c_1d2e3f4a5b6c.slice/cri-containerd-a1b2c3d4e5f6.scope",
			"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod7a1c3e2b_9f4d_4e5a_8b6c_1d2e3f4a5b6c.slice/cri-containerd-a1b2c3d4e5f6.scope",
			"node", 4242, 259744 * 1024, 256 * mi, 265977856, 0, "node"},
		{"linux-5.15-global-oom.kmsg", ScopeSystem, "",
			"/kubepods/besteffort/pod2c5d7a9e-3b1f-4d6a-9e8c-7f6a5b4c3d2e/0123456789ab",
			"stress", 7777, 7960000 * 1024, 0, -1, -1, "stress"},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			reps := replay(t, "testdata/"+tc.file)
			if len(reps) != 1 {
				t.Fatalf("%d reports", len(reps))
			}
			r := reps[0]
			if r.Scope != tc.scope || r.OOMMemcg != tc.oomMemcg || r.TaskMemcg != tc.taskMemcg || r.Victim.Name != tc.victim ||
				r.Victim.PID != tc.pid || r.Victim.AnonRSS != tc.anonRSS || r.Limit != tc.limit || r.Trigger != tc.trigger {
				t.Errorf("report %+v", r)
			}
			b := r.Breakdown()
			if tc.anon >= 0 && b.Anon != tc.anon {
				t.Errorf("anon %d, want %d (stats %v)", b.Anon, tc.anon, r.Stats)
			}
			if tc.shmem >= 0 && b.Shmem != tc.shmem {
				t.Errorf("shmem %d, want %d", b.Shmem, tc.shmem)
			}
			if r.Since <= 0 {
				t.Error("no time")
			}
		})
	}
}

func TestParseRecord(t *testing.T) {
	r, err := ParseRecord([]byte("6,339,5140900,-;NET: Registered protocol family 10\n SUBSYSTEM=net\n DEVICE=+net:lo\n"))
	if err != nil || r.Level != 6 || r.Facility != 0 || r.Seq != 339 || r.Since != 5140900*time.Microsecond || r.Message != "NET: Registered protocol family 10" {
		t.Errorf("%+v %v", r, err)
	}
	r, err = ParseRecord([]byte(`12,1,2,c;tab\x09here`))
	if err != nil || r.Facility != 1 || r.Level != 4 || !r.Continuation || r.Message != "tab\there" {
		t.Errorf("%+v %v", r, err)
	}
	for _, bad := range []string{"", "no semicolon", "a,b,c,-;x", "6,1;x"} {
		if _, err := ParseRecord([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// A kill whose header was overwritten (or read from the middle) still
// names its victim.
func TestKillLineAlone(t *testing.T) {
	var a Assembler
	rec, _ := ParseRecord([]byte("3,5,100,-;Memory cgroup out of memory: Killed process 9 (worker) total-vm:1kB, anon-rss:2kB, file-rss:3kB, shmem-rss:4kB, UID:0 pgtables:5kB oom_score_adj:-997"))
	r, ok := a.Add(rec)
	if !ok || r.Victim.PID != 9 || r.Victim.Name != "worker" || r.Victim.ShmemRSS != 4096 || r.Victim.OOMScoreAdj != -997 || r.Scope != ScopeCgroup {
		t.Errorf("%v %+v", ok, r)
	}
}

func FuzzAssembler(f *testing.F) {
	for _, name := range []string{"linux-6.18-cgroupv1-container-limit.kmsg", "linux-4.14-cgroupv1-container-limit.kmsg", "linux-5.10-cgroupv2-container-limit.kmsg", "linux-5.15-global-oom.kmsg"} {
		data, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var a Assembler
		for _, line := range strings.Split(string(data), "\n") {
			rec, err := ParseRecord([]byte(line))
			if err != nil {
				continue
			}
			if r, ok := a.Add(rec); ok {
				_ = r.Breakdown()
				if r.Victim.PID < 0 {
					t.Fatalf("negative pid from %q", line)
				}
			}
		}
	})
}
