package nodecheck

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oomdoctor/oomdoctor/internal/cgroup"
)

// fakeStatFS answers statfs from a table of paths relative to root.
func fakeStatFS(root string, magics map[string]int64) func(string) (int64, error) {
	return func(p string) (int64, error) {
		rel, _ := filepath.Rel(root, p)
		if m, ok := magics["/"+rel]; ok {
			return m, nil
		}
		return 0, fmt.Errorf("statfs %s: no such file or directory", p)
	}
}

func fakeVersions(outputs map[string]string) func(string) (string, error) {
	return func(p string) (string, error) {
		if out, ok := outputs[p]; ok {
			return out, nil
		}
		return "", fmt.Errorf("%s not found", p)
	}
}

type want struct {
	status  Status
	summary string // a substring of the summary
}

func TestLocalChecksOnFixtureHosts(t *testing.T) {
	v2 := map[string]int64{"/sys/fs/cgroup": cgroup.MagicCgroup2}
	v1 := map[string]int64{"/sys/fs/cgroup": cgroup.MagicTmpfs, "/sys/fs/cgroup/unified": cgroup.MagicCgroup2}
	cases := []struct {
		host     string
		magics   map[string]int64
		versions map[string]string
		kubelet  string
		want     map[string]want
		advice   map[string]string // id -> a substring of the advice
	}{
		{
			host: "v2-good", magics: v2,
			versions: map[string]string{
				"containerd": "containerd github.com/containerd/containerd/v2 v2.1.4 75cb2b7193e4e490e9fbdc236c0e811ccaba3376\n",
				"runc":       "runc version 1.3.0\ncommit: v1.3.0-0-g4ca628d1\nspec: 1.2.1\n",
			},
			want: map[string]want{
				"cgroup-version":        {Pass, "cgroup v2"},
				"memory-controller":     {Pass, "memory controller v2"},
				"kernel":                {Pass, "kernel 6.8.0"},
				"psi":                   {Pass, "PSI"},
				"swap":                  {Pass, "no swap"},
				"vm-overcommit":         {Pass, "is 1"},
				"vm-panic-on-oom":       {Pass, "is 0"},
				"container-runtime":     {Info, "containerd 2.1.4"},
				"kubelet-eviction":      {Pass, "memory.available<500Mi"},
				"kubelet-eviction-soft": {Pass, "memory.available<1Gi"},
				"kubelet-reserved":      {Pass, "system 500Mi, kube 1Gi"},
				"kernel-log":            {Pass, "carry their times"},
			},
		},
		{
			host: "v1-risky", magics: v1, kubelet: "etc/kubelet.yaml",
			versions: map[string]string{"containerd": "containerd containerd.io 1.6.33 d2d58213f83a351ca8f528a95fbd145f5654e957\n"},
			want: map[string]want{
				"cgroup-version":           {Warn, "hybrid"},
				"memory-controller":        {Pass, "memory controller v1"},
				"kernel":                   {Warn, "kernel 4.9.0"},
				"psi":                      {Info, "off"},
				"swap":                     {Warn, "LimitedSwap"},
				"vm-overcommit":            {Warn, "strict accounting"},
				"vm-panic-on-oom":          {Fail, "even a container's own limit"},
				"container-runtime":        {Info, "containerd 1.6.33"},
				"kubelet-eviction":         {Warn, "disabled (0%)"},
				"kubelet-reserved":         {Warn, "no memory reserved"},
				"kubelet-node-allocatable": {Warn, "not enforced"},
				"kubelet-cgroup-v1":        {Fail, "refuse cgroup v1"},
				"kernel-log":               {Warn, "carry no times"},
			},
			advice: map[string]string{"kernel": "oom_kill counter", "cgroup-version": "only the chosen process", "kernel-log": "kernelLogSource=device"},
		},
		{
			host: "v2-old-runtime", magics: v2,
			versions: map[string]string{
				"containerd": "containerd github.com/containerd/containerd v1.3.9 ea765aba0d05254012b0b9e595e995c09186427f\n",
				"runc":       "runc version 1.0.0-rc10\ncommit: dc9208a3303feef5b3839f4323d9beb36df0a9dd\n",
				"crun":       "crun version 1.14.1\ncommit: de537a7965bfbe9992e2cfae0baeb56a08128171\n",
			},
			want: map[string]want{
				"cgroup-version":                  {Pass, "cgroup v2"},
				"kernel":                          {Warn, "kernel 5.4.0"},
				"swap":                            {Fail, "set to refuse it"},
				"vm-overcommit":                   {Info, "heuristic"},
				"vm-panic-on-oom":                 {Fail, "system-wide OOM panics"},
				"container-runtime":               {Fail, "containerd 1.3.9"},
				"kubelet-eviction":                {Warn, "no hard eviction threshold on memory.available"},
				"kubelet-single-process-oom-kill": {Warn, "one process"},
			},
			advice: map[string]string{"container-runtime": "containerd 1.4.0 or later", "kernel": "5.8 or later"},
		},
		{
			host: "v2-no-memory", magics: v2,
			want: map[string]want{
				"cgroup-version":    {Pass, "cgroup v2"},
				"memory-controller": {Fail, "not available"},
				"kubelet-config":    {Warn, "could not be read"},
				"container-runtime": {Info, "no container runtime found"},
			},
		},
		{
			host: "v2-good", magics: map[string]int64{},
			want: map[string]want{"cgroup-version": {Fail, "no cgroup filesystem"}, "memory-controller": {Fail, "not available"}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.host, func(t *testing.T) {
			root := filepath.Join("testdata/hosts", tc.host)
			h := Host{Root: root, StatFS: fakeStatFS(root, tc.magics), Version: fakeVersions(tc.versions)}
			if tc.kubelet != "" {
				h.KubeletConfig = filepath.Join(root, tc.kubelet)
			}
			got := map[string][]Result{}
			for _, r := range RunLocal(h) {
				got[r.ID] = append(got[r.ID], r)
				if len(r.Evidence) == 0 {
					t.Errorf("%s: no evidence", r.ID)
				}
				if (r.Status == Warn || r.Status == Fail) && r.Advice == "" {
					t.Errorf("%s is %s without advice", r.ID, r.Status)
				}
			}
			for id, w := range tc.want {
				found := false
				for _, r := range got[id] {
					if r.Status == w.status && strings.Contains(r.Summary, w.summary) {
						found = true
					}
				}
				if !found {
					t.Errorf("%s: got %+v, want %s with %q", id, got[id], w.status, w.summary)
				}
			}
			for id, a := range tc.advice {
				if len(got[id]) == 0 || !strings.Contains(got[id][0].Advice, a) {
					t.Errorf("%s advice %+v lacks %q", id, got[id], a)
				}
			}
		})
	}
}

func TestKubeletConfigErrors(t *testing.T) {
	h := Host{Root: "testdata/hosts/v2-good", KubeletConfig: "testdata/hosts/none.yaml"}
	if _, err := readKubeletConfig(h); err == nil || !strings.Contains(err.Error(), "none.yaml") {
		t.Errorf("a named missing file: %v", err)
	}
	h.KubeletConfig = "testdata/hosts/v2-good/proc/swaps"
	if _, err := readKubeletConfig(h); err == nil {
		t.Error("a file that is not YAML was read as a kubelet config")
	}
}

func TestSemver(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		less bool
	}{
		{"1.0.0-rc10", "1.0.0-rc91", true},
		{"1.0.0-rc91", "1.0.0", true},
		{"1.0.0", "1.0.0-rc91", false},
		{"1.3.9", "1.4.0", true},
		{"2.0.0", "1.20.0", false},
	} {
		a, _ := parseSemver(tc.a)
		b, _ := parseSemver(tc.b)
		if a.less(b) != tc.less {
			t.Errorf("%s < %s: %v, want %v", tc.a, tc.b, a.less(b), tc.less)
		}
	}
}

func TestParseStatus(t *testing.T) {
	for s, rank := range map[string]int{"fail": 3, "warn": 2, "info": 1, "none": 99} {
		if r, err := ParseStatus(s); err != nil || r != rank {
			t.Errorf("%s: %d %v", s, r, err)
		}
	}
	if _, err := ParseStatus("error"); err == nil {
		t.Error("error accepted")
	}
}
