package prom

import (
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oomdoctor/oomdoctor/test/promserver"
)

// Series files give what Prometheus gives: the same sim written as
// OpenMetrics reads back with its kills, limits and peaks on the grid.
func TestFilesOpenMetrics(t *testing.T) {
	dir := t.TempDir()
	end := int64(1_800_000_000)
	leak := promserver.Container{Name: "app", Request: 128 << 20, Limit: 256 << 20, CacheShare: 0.1,
		Usage: func(t, age int64) float64 { return 100<<20 + 26<<20*float64(age)/3600 }}
	sim := promserver.Sim{Start: end - 86400, End: end, Pods: []promserver.Pod{
		{Namespace: "shop", Name: "leaky-1", Containers: []promserver.Container{leak}},
		{Namespace: "shop", Name: "other", Containers: []promserver.Container{leak}},
	}}
	if _, err := sim.WriteFile(filepath.Join(dir, "history.om")); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "pods.json"), []byte("{}"), 0o644)
	os.MkdirAll(filepath.Join(dir, "history"), 0o755)
	os.WriteFile(filepath.Join(dir, "history", "trace.csv"), []byte("series,t,usage,provisioned\nshop/tracey/app,1799990000,1048576,2097152\nshop/tracey/app,1799990300,3145728,2097152\n"), 0o644)
	// A series file with a header and no samples adds nothing, and is no
	// error.
	os.WriteFile(filepath.Join(dir, "history", "empty.csv"), []byte("series,t,usage,provisioned\n"), 0o644)
	paths := HistoryFiles(dir)
	if len(paths) != 3 {
		t.Fatalf("want the .om and the two history/*.csv, got %v", paths)
	}
	f := &Files{Paths: paths}
	cs, err := f.Read(map[string]bool{"shop/leaky-1": true, "shop/tracey": true}, time.Unix(end-86400, 0), time.Unix(end, 0), 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0].Pod != "leaky-1" || cs[1].Pod != "tracey" {
		t.Fatalf("want leaky-1 and tracey only, got %d containers", len(cs))
	}
	c := cs[0]
	want := sim.KillTimes(leak)
	n := 0
	for _, k := range c.Kills {
		n += k.Count
		if k.Limit != 256<<20 {
			t.Errorf("kill at %d: limit %v, want 256Mi", k.T, k.Limit)
		}
	}
	if n != len(want) || len(want) < 3 {
		t.Errorf("%d kills read, the sim made %d", n, len(want))
	}
	if len(c.WorkingSet) != 289 || peakOf(c.WorkingSet) < 250<<20 {
		t.Errorf("working set: %d points on the 5m grid, peak %.0f", len(c.WorkingSet), peakOf(c.WorkingSet))
	}
	if len(c.Cache) == 0 || len(c.RSS) == 0 || len(c.Request) == 0 {
		t.Error("RSS, cache or requests missing")
	}
	// The restart count, which tells lifetimes apart, rises once a kill.
	if len(c.Restarts) == 0 || c.Restarts[len(c.Restarts)-1].V-c.Restarts[0].V != float64(len(want)) {
		t.Errorf("restarts: %v, want a rise of %d", c.Restarts, len(want))
	}
	if cs[1].WorkingSet[len(cs[1].WorkingSet)-1].V != 3<<20 || cs[1].Limit[0].V != 2<<20 {
		t.Errorf("the trace's usage and provisioned: %+v %+v", cs[1].WorkingSet, cs[1].Limit)
	}
}

// Series files count the kills no counter's rise shows, as the Prometheus
// queries do: a pod started within the history and killed before the
// first scrape (its restart counter born at 1), a container that does not
// restart, terminated OOMKilled, and a child killed before cAdvisor's first
// scrape (its OOM event counter born at 1). One already terminated when
// the history starts is not counted.
func TestFilesKillsWithoutRestartRise(t *testing.T) {
	dir := t.TempDir()
	end := int64(1_800_000_000)
	atOnce := promserver.Container{Name: "app", Request: 64 << 20, Limit: 128 << 20, Usage: func(t, age int64) float64 {
		if age < 30 {
			return 200 << 20
		}
		return 50 << 20
	}}
	job := promserver.Container{Name: "job", Request: 64 << 20, Limit: 128 << 20, Never: true, Usage: func(t, age int64) float64 { return 20<<20 + float64(age)*(1<<20)/60 }}
	quick := promserver.Container{Name: "worker", Request: 64 << 20, Limit: 128 << 20, OOMEvents: []int64{end - 3*3600}, Usage: func(t, age int64) float64 { return 40 << 20 }}
	sim := promserver.Sim{Start: end - 86400, End: end, Pods: []promserver.Pod{
		{Namespace: "shop", Name: "late", Created: end - 6*3600, Containers: []promserver.Container{atOnce}},
		{Namespace: "shop", Name: "quick", Created: end - 3*3600, Containers: []promserver.Container{quick}},
		{Namespace: "batch", Name: "job-1", Created: end - 12*3600, Containers: []promserver.Container{job}},
		{Namespace: "batch", Name: "job-0", Containers: []promserver.Container{job}},
	}}
	kills, err := sim.WriteFile(filepath.Join(dir, "history.om"))
	if err != nil {
		t.Fatal(err)
	}
	cs, err := (&Files{Paths: HistoryFiles(dir)}).Read(map[string]bool{"shop/late": true, "shop/quick": true, "batch/job-1": true, "batch/job-0": true}, time.Unix(end-86400, 0), time.Unix(end, 0), 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]Kill{}
	for _, c := range cs {
		got[c.Pod] = c.Kills
	}
	for pod, want := range map[string]int64{"late": end - 6*3600, "quick": end - 3*3600, "job-1": kills["batch/job-1/job"][0], "job-0": kills["batch/job-0/job"][0]} {
		k := got[pod]
		if len(k) != 1 || k[0].Count != 1 || k[0].T < want || k[0].T > want+300 || k[0].Limit != 128<<20 {
			t.Errorf("%s: kills %+v, want one at %d (within its 5-minute step) at 128Mi", pod, k, want)
		}
	}
	// The same job, its history starting after it ended: nothing to count.
	cs, err = (&Files{Paths: HistoryFiles(dir)}).Read(map[string]bool{"batch/job-0": true}, time.Unix(kills["batch/job-0/job"][0]+3600, 0), time.Unix(end, 0), 5*time.Minute)
	if err != nil || len(cs) != 0 {
		t.Errorf("a container terminated before the history: %+v %v", cs, err)
	}
}

func peakOf(ps []Point) float64 {
	m := 0.0
	for _, p := range ps {
		m = max(m, p.V)
	}
	return m
}

func TestFilesErrorsNameTheLine(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "bad.om")
	os.WriteFile(p, []byte("# TYPE x gauge\ncontainer_memory_working_set_bytes{namespace=\"a\",pod=\"b\",container=\"c\"} 12\n"), 0o644)
	_, err := (&Files{Paths: []string{p}}).Read(map[string]bool{"a/b": true}, time.Unix(0, 0), time.Unix(2e9, 0), time.Minute)
	if err == nil || !strings.Contains(err.Error(), "bad.om:2") || !strings.Contains(err.Error(), "timestamp") {
		t.Errorf("want an error naming bad.om:2 and the missing timestamp, got %v", err)
	}
}

// parseSample takes any line without panicking, and reads back what an
// OpenMetrics writer writes: the name, every label value (quotes,
// backslashes and newlines escaped), the value and the timestamp.
func FuzzParseSample(f *testing.F) {
	f.Add(`kube_pod_container_status_restarts_total{namespace="shop",pod="cart-1",container="cart"} 3 1700000000`, "container_memory_working_set_bytes", "pod", `a "quoted" \ value`+"\n", 1.5e9, int64(1700000000))
	f.Add(`x{a="b`+"\\", "up", "job", "", math.Inf(1), int64(-5))
	f.Fuzz(func(t *testing.T, line, name, key, val string, v float64, ts int64) {
		parseSample([]byte(line))
		if !validName(name) || !validName(key) || ts > 1<<53 || ts < -1<<53 {
			return
		}
		esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(val)
		text := fmt.Sprintf(`%s{%s="%s",le="0.5"} %s %d`, name, key, esc, strconv.FormatFloat(v, 'g', -1, 64), ts)
		gotName, labels, gotV, gotT, err := parseSample([]byte(text))
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		wantLabels := map[string]string{key: val, "le": "0.5"}
		if key == "le" {
			wantLabels = map[string]string{"le": "0.5"}
		}
		sameV := gotV == v || math.IsNaN(gotV) && math.IsNaN(v)
		if gotName != name || !maps.Equal(labels, wantLabels) || !sameV || gotT != ts {
			t.Fatalf("%s: got %s %v %v %d", text, gotName, labels, gotV, gotT)
		}
	})
}

// validName is a metric or label name as OpenMetrics writes them.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
