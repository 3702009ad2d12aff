// Command prometheus benchmarks `oomdoctor recommend --prometheus-url`, and
// `oomdoctor replay --prometheus-url` after it, against a real Prometheus (the Debian package) holding a large cluster's
// history, backfilled with promtool tsdb create-blocks-from openmetrics:
//
//   - the history: -containers containers (one per pod, -replicas pods per
//     Deployment, -namespaces namespaces) over -days at -scrape, cAdvisor's
//     working set at every scrape, kube-state-metrics' requests, limits,
//     restarts and termination reasons every 5 minutes, owners; steady,
//     daily-cycle, spiky and leaking (killed at the limit) containers,
//     the leaking ones with their RSS and page cache at every scrape
//     (every other one mostly page cache).
//     Written as one OpenMetrics file per 2 hours (promtool re-reads its
//     whole input for every 2-hour block it makes), each turned into a
//     block;
//
//   - the run: oomdoctor recommend over every namespace as a separate
//     process: its wall time and peak RSS, and Prometheus' RSS (anonymous
//     and file-backed, sampled every 100 ms) before and during it;
//
//   - the baseline, in the same run: one instant query that reads every
//     working-set sample once (count_over_time over the whole range), the
//     least any tool that looks at all the history asks of Prometheus;
//
//   - recommend again with --leak-check=false: the sizing alone;
//
//   - then replay, every strategy trained on the first half of the days
//     and replayed on the second at 5-minute resolution: its wall time and
//     peak RSS, and Prometheus' peak RSS.
//
//     go run ./bench/prometheus -containers 5000 -days 14
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/oomdoctor/oomdoctor/test/promserver"
)

var (
	containers = flag.Int("containers", 5000, "containers (one per pod)")
	namespaces = flag.Int("namespaces", 50, "namespaces")
	replicas   = flag.Int("replicas", 4, "pods per Deployment")
	days       = flag.Float64("days", 14, "days of history")
	scrape     = flag.Duration("scrape", 30*time.Second, "scrape interval of the working set")
	dir        = flag.String("dir", "", "work folder (default: a temporary one, removed at the end)")
	keep       = flag.Bool("keep", false, "keep the work folder")
	workers    = flag.Int("promtool-workers", runtime.NumCPU(), "promtool processes at once")
	reuse      = flag.Bool("reuse", false, "with -dir: reuse the TSDB an earlier run with -dir and -keep left there (its history ends when that run's did)")
)

const mi = 1 << 20

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

type ctr struct {
	ns, pod, rs, deploy string
	wsLabels, ksmLabels string
	base, amp, leak     float64 // bytes, bytes, bytes per second
	spikeEvery          int64
	request, limit      float64
	born                int64
	restarts            int
	oomLast             bool
	phase               int64
	// cacheShare is the page cache's share of the working set (written
	// for the leaking containers alone).
	cacheShare float64
}

func run() error {
	for _, bin := range []string{"prometheus", "promtool"} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Errorf("%s is not installed: make deps (apt-get install -y prometheus)", bin)
		}
	}
	work := *dir
	if work == "" {
		var err error
		if work, err = os.MkdirTemp("", "oomdoctor-bench-prom-"); err != nil {
			return err
		}
	}
	if !*keep {
		defer os.RemoveAll(work)
	}
	data := filepath.Join(work, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return err
	}
	step := int64(scrape.Seconds())
	// The history ends now, as a live Prometheus' does.
	end := time.Now().Unix() / step * step
	start := end - int64(*days*86400)/7200*7200
	cs := cluster(start)

	endFile := filepath.Join(work, "end")
	reused := false
	if *reuse {
		if b, err := os.ReadFile(endFile); err == nil {
			if e, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil {
				end, start, reused = e, e-int64(*days*86400)/7200*7200, true
				fmt.Printf("history: reusing the TSDB in %s (ending %s)\n", work, time.Unix(end, 0).UTC().Format(time.RFC3339))
			}
		}
	}
	if !reused {
		// Backfill, 2 hours per file.
		t0 := time.Now()
		type job struct{ file string }
		jobs := make(chan job, *workers)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var firstErr error
		for w := 0; w < *workers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for j := range jobs {
					out := filepath.Join(work, fmt.Sprintf("blocks-%d", w))
					if b, err := exec.Command("promtool", "tsdb", "create-blocks-from", "openmetrics", "-q", j.file, out).CombinedOutput(); err != nil {
						mu.Lock()
						if firstErr == nil {
							firstErr = fmt.Errorf("promtool on %s: %v: %s", j.file, err, b)
						}
						mu.Unlock()
					}
					os.Remove(j.file)
				}
			}(w)
		}
		var samples int64
		// Files on promtool's 2-hour block boundaries: a file that straddles
		// one is read once per block.
		var windows [][2]int64
		for from := start; from <= end; {
			to := min((from/7200+1)*7200, end+1)
			windows = append(windows, [2]int64{from, to})
			from = to
		}
		nFiles := len(windows)
		for i, win := range windows {
			file := filepath.Join(work, fmt.Sprintf("h-%04d.om", i))
			n, err := writeWindow(file, cs, win[0], win[1], step)
			if err != nil {
				return err
			}
			samples += n
			jobs <- job{file}
			if term() {
				fmt.Fprintf(os.Stderr, "\rbackfilling: %d/%d two-hour blocks", i+1, nFiles)
			}
		}
		close(jobs)
		wg.Wait()
		if term() {
			fmt.Fprint(os.Stderr, "\r\033[K")
		}
		if firstErr != nil {
			return firstErr
		}
		for w := 0; w < *workers; w++ {
			blocks, _ := filepath.Glob(filepath.Join(work, fmt.Sprintf("blocks-%d", w), "*"))
			for _, b := range blocks {
				if err := os.Rename(b, filepath.Join(data, filepath.Base(b))); err != nil {
					return err
				}
			}
		}
		fmt.Printf("history: %d containers in %d namespaces, %.0f days, working set every %s: %d samples in %d blocks, backfilled in %s\n",
			len(cs), *namespaces, *days, *scrape, samples, nFiles, time.Since(t0).Round(time.Second))
		if err := os.WriteFile(endFile, []byte(strconv.FormatInt(end, 10)), 0o644); err != nil {
			return err
		}
	}

	// Prometheus over the blocks, with its default 15-day retention; it
	// first compacts the 2-hour blocks (to 18 hours at most: a tenth of
	// the retention), as a Prometheus that scraped these 14 days would
	// have. The measurement starts once the blocks stop changing.
	qlog := filepath.Join(work, "queries.log")
	t3 := time.Now()
	srv, err := promserver.StartDir(context.Background(), work, data, "query_log_file: "+qlog, "--storage.tsdb.retention.time=15d")
	if err != nil {
		return err
	}
	defer srv.Stop()
	blocks := settle(data)
	fmt.Printf("Prometheus compacted them into %d blocks in %s\n", blocks, time.Since(t3).Round(time.Second))
	before, err := memOf(srv)
	if err != nil {
		return err
	}

	// The run, as its own process.
	bin := filepath.Join(work, "oomdoctor")
	if b, err := exec.Command("go", "build", "-o", bin, "./cmd/oomdoctor").CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v: %s", err, b)
	}
	hist := fmt.Sprintf("%dh", int64(*days*24))
	cmd := exec.Command(bin, "recommend", "--prometheus-url", srv.URL, "--history", hist, "--until", time.Unix(end, 0).UTC().Format(time.RFC3339), "-o", "json")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	took, during, err := measure(srv, cmd.Run)
	if err != nil {
		return fmt.Errorf("oomdoctor recommend: %v", err)
	}
	byKind := queryLog(qlog)
	var doc struct {
		Items []struct {
			Workload struct {
				Name string `json:"name"`
			} `json:"workload"`
			Pods     int      `json:"pods"`
			OOMKills int      `json:"oomKills"`
			Warnings []string `json:"warnings"`
		} `json:"items"`
		Notes []string `json:"notes"`
	}
	if err := json.Unmarshal([]byte(out.String()), &doc); err != nil {
		return fmt.Errorf("recommend -o json: %v", err)
	}
	pods, kills := 0, 0
	// tally counts the workloads that should warn (want), those of them
	// that did, and the others that did: a warning starts with prefix.
	type tally struct{ want, warned, wrong int }
	count := func(t *tally, should bool, warnings []string, prefix string) {
		warned := slices.ContainsFunc(warnings, func(w string) bool { return strings.HasPrefix(w, prefix) })
		switch {
		case should:
			t.want++
			if warned {
				t.warned++
			}
		case warned:
			t.wrong++
		}
	}
	var leaks, caches tally
	for _, it := range doc.Items {
		pods += it.Pods
		kills += it.OOMKills
		var d int
		fmt.Sscanf(it.Workload.Name, "svc-%d", &d)
		// The leaking workloads are every fifth from the fourth, and
		// every other one of them is mostly page cache (cluster).
		count(&leaks, d%5 == 3, it.Warnings, "the working set grows")
		count(&caches, d%10 == 8, it.Warnings, "page cache, not the processes' memory")
	}
	clientRSS := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10

	// The baseline: every working-set sample read once.
	q := fmt.Sprintf(`count(count_over_time(container_memory_working_set_bytes[%s]))`, hist)
	base, basePeak, err := measure(srv, func() error { return instant(srv.URL, q, end) })
	if err != nil {
		return fmt.Errorf("baseline query: %v", err)
	}

	// The same without the leak check (--leak-check=false): the sizing
	// alone, and no leak warning.
	ncmd := exec.Command(bin, "recommend", "--prometheus-url", srv.URL, "--history", hist, "--until", time.Unix(end, 0).UTC().Format(time.RFC3339), "-o", "json", "--leak-check=false")
	var nout strings.Builder
	ncmd.Stdout, ncmd.Stderr = &nout, os.Stderr
	ntook, nduring, err := measure(srv, ncmd.Run)
	if err != nil {
		return fmt.Errorf("oomdoctor recommend --leak-check=false: %v", err)
	}
	nwarned := strings.Count(nout.String(), `"the working set grows`)

	fmt.Printf("recommend: %d recommendations (%d pods, %d OOM kills), %d notes, in %s; its own peak RSS %s\n",
		len(doc.Items), pods, kills, len(doc.Notes), took.Round(10*time.Millisecond), mib(float64(clientRSS)))
	fmt.Printf("leak warnings: %d of the %d leaking workloads, %d of the others\n", leaks.warned, leaks.want, leaks.wrong)
	fmt.Printf("page-cache warnings: %d of the %d workloads mostly page cache, %d of the others\n", caches.warned, caches.want, caches.wrong)
	fmt.Printf("Prometheus RSS before: %s (anon %s, file %s); peak during recommend: %s (anon %s, file %s): grew %s\n",
		mib(before.rss), mib(before.anon), mib(before.file), mib(during.rss), mib(during.anon), mib(during.file), mib(during.rss-before.rss))
	fmt.Printf("baseline (one query reading every working-set sample once): %s, Prometheus peak RSS %s\n", base.Round(10*time.Millisecond), mib(basePeak.rss))
	fmt.Printf("ratio recommend / baseline: time %.2f\n", took.Seconds()/base.Seconds())
	fmt.Printf("recommend --leak-check=false: %s, ratio %.2f, Prometheus peak RSS %s (grew %s), %d leak warnings\n",
		ntook.Round(10*time.Millisecond), ntook.Seconds()/base.Seconds(), mib(nduring.rss), mib(nduring.rss-before.rss), nwarned)
	fmt.Println("Prometheus' own evaluation time during recommend, by query (from its query log):")
	for _, k := range byKind {
		fmt.Printf("  %-60s %4d queries %8.2fs\n", k.name, k.n, k.secs)
	}
	for _, n := range doc.Notes {
		fmt.Println("note:", n)
	}

	// replay on the same history: every strategy, train on the first
	// half, replay the second, at the 5-minute resolution they replay at.
	half := fmt.Sprintf("%dh", int64(*days*12))
	rcmd := exec.Command(bin, "replay", "--prometheus-url", srv.URL, "--history", hist, "--train", half, "--test", half, "--until", time.Unix(end, 0).UTC().Format(time.RFC3339), "-o", "json")
	var rout strings.Builder
	rcmd.Stdout, rcmd.Stderr = &rout, os.Stderr
	rtook, rpeak, err := measure(srv, rcmd.Run)
	if err != nil {
		return fmt.Errorf("oomdoctor replay: %v", err)
	}
	var rrep struct {
		Samples      int `json:"samples"`
		SeriesRead   int `json:"seriesRead"`
		KilledSeries int `json:"killedSeries"`
	}
	if err := json.Unmarshal([]byte(rout.String()), &rrep); err != nil {
		return fmt.Errorf("replay -o json: %v", err)
	}
	fmt.Printf("replay: %d series, %d samples at 5m (%d killed for real in the replayed half), every strategy, in %s; its own peak RSS %s; Prometheus peak RSS %s (grew %s from before recommend)\n",
		rrep.SeriesRead, rrep.Samples, rrep.KilledSeries, rtook.Round(10*time.Millisecond), mib(float64(rcmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss<<10)), mib(rpeak.rss), mib(rpeak.rss-before.rss))
	fmt.Printf("ratio replay / baseline: time %.2f\n", rtook.Seconds()/base.Seconds())
	return nil
}

// settle waits until the folder's blocks have not changed for a minute
// and a half (Prometheus looks for blocks to compact once a minute) and
// returns their number.
func settle(data string) int {
	last, same := "", 0
	for {
		bs, _ := filepath.Glob(filepath.Join(data, "01*"))
		now := strings.Join(bs, ",")
		if now == last {
			same++
		} else {
			same, last = 0, now
		}
		if same >= 90 {
			return len(bs)
		}
		time.Sleep(time.Second)
	}
}

func term() bool {
	fi, err := os.Stderr.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func mib(b float64) string { return fmt.Sprintf("%.0f MiB", b/mi) }

// cluster lays out the containers: Deployments of -replicas pods in
// -namespaces namespaces, a fifth each steady, daily-cycle, spiky,
// leaking, and large.
func cluster(start int64) []*ctr {
	var cs []*ctr
	for i := 0; i < *containers; i++ {
		ns := fmt.Sprintf("team-%02d", i%*namespaces)
		d := i / *namespaces / *replicas
		deploy := fmt.Sprintf("svc-%03d", d)
		rs := deploy + "-7c9d8f6b5"
		pod := fmt.Sprintf("%s-%05d", rs, i)
		c := &ctr{ns: ns, pod: pod, rs: rs, deploy: deploy, born: start, phase: int64(i * 7919 % 86400)}
		r := rnd(uint64(i))
		c.base = (64 + 700*r) * mi
		c.request = math.Ceil(c.base*0.8/mi) * mi
		c.limit = math.Ceil(c.base*1.6/mi) * mi
		switch d % 5 {
		case 1:
			c.amp = c.base * 0.3
		case 2:
			c.spikeEvery = 3600 * int64(3+i%9)
		case 3:
			c.leak = c.base * 0.6 / (36 * 3600) // reaches the limit in ~36 h
			// Every other leaking workload's working set is mostly page
			// cache: recommend warns of it too.
			c.cacheShare = 0.15
			if d%10 == 8 {
				c.cacheShare = 0.7
			}
		case 4:
			c.base *= 3
			c.limit *= 3
		}
		lbl := fmt.Sprintf(`{container="app",namespace="%s",pod="%s"}`, ns, pod)
		c.ksmLabels = lbl
		c.wsLabels = fmt.Sprintf(`{container="app",id="/kubepods/burstable/pod%d/app",image="example/svc:1",namespace="%s",pod="%s"}`, i, ns, pod)
		cs = append(cs, c)
	}
	return cs
}

func rnd(x uint64) float64 {
	x = (x + 1) * 0x9E3779B97F4A7C15
	x ^= x >> 31
	x *= 0xBF58476D1CE4E5B9
	x ^= x >> 29
	return float64(x%1_000_000) / 1_000_000
}

func (c *ctr) usage(t int64) float64 {
	u := c.base + c.amp*math.Sin(2*math.Pi*float64((t+c.phase)%86400)/86400)
	u += c.base * 0.03 * (rnd(uint64(t)^uint64(c.phase)) - 0.5)
	if c.spikeEvery > 0 && (t+c.phase)%c.spikeEvery < 90 {
		u += c.base * 0.4
	}
	if c.leak > 0 {
		u += c.leak * float64(t-c.born)
	}
	return u
}

// writeWindow writes [from, to) as one OpenMetrics file and returns the
// number of samples.
func writeWindow(path string, cs []*ctr, from, to, step int64) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 4<<20)
	var n int64
	var buf []byte
	line := func(w *bufio.Writer, name, labels string, v float64, t int64) {
		buf = append(buf[:0], name...)
		buf = append(buf, labels...)
		buf = append(buf, ' ')
		buf = strconv.AppendInt(buf, int64(v), 10)
		buf = append(buf, ' ')
		buf = strconv.AppendInt(buf, t, 10)
		buf = append(buf, '\n')
		w.Write(buf)
		n++
	}
	const ksmStep = 300
	type ksm struct {
		restarts int
		oom      bool
	}
	state := make([][]ksm, len(cs))
	// cAdvisor's RSS and page cache of the leaking containers, the ones
	// recommend's second look reads (pod-selected queries touch no other
	// series), written beside the working set and copied after it: an
	// OpenMetrics family is one run of lines.
	parts := map[string]*os.File{}
	for _, name := range []string{"container_memory_rss", "container_memory_cache"} {
		pf, err := os.Create(path + "." + name)
		if err != nil {
			return 0, err
		}
		defer os.Remove(pf.Name())
		defer pf.Close()
		parts[name] = pf
	}
	rssW, cacheW := bufio.NewWriterSize(parts["container_memory_rss"], 1<<20), bufio.NewWriterSize(parts["container_memory_cache"], 1<<20)
	w.WriteString("# TYPE container_memory_working_set_bytes gauge\n")
	for i, c := range cs {
		for t := from; t < to; t += step {
			u := c.usage(t)
			if u >= c.limit {
				c.restarts++
				c.oomLast = true
				c.born = t
				u = c.usage(t)
			}
			line(w, "container_memory_working_set_bytes", c.wsLabels, u, t)
			if c.leak > 0 {
				line(rssW, "container_memory_rss", c.wsLabels, u*(1-c.cacheShare), t)
				line(cacheW, "container_memory_cache", c.wsLabels, u*c.cacheShare, t)
			}
			if (t-from)%ksmStep == 0 {
				state[i] = append(state[i], ksm{c.restarts, c.oomLast})
			}
		}
	}
	for _, x := range []struct {
		name string
		b    *bufio.Writer
	}{{"container_memory_rss", rssW}, {"container_memory_cache", cacheW}} {
		if err := x.b.Flush(); err != nil {
			return 0, err
		}
		if _, err := parts[x.name].Seek(0, io.SeekStart); err != nil {
			return 0, err
		}
		w.WriteString("# TYPE " + x.name + " gauge\n")
		if _, err := io.Copy(w, parts[x.name]); err != nil {
			return 0, err
		}
	}
	family := func(name, extra string, val func(i int, k ksm) (float64, bool)) {
		w.WriteString("# TYPE " + name + " gauge\n")
		for i, c := range cs {
			labels := c.ksmLabels
			if extra != "" {
				labels = labels[:len(labels)-1] + "," + extra + "}"
			}
			for j, k := range state[i] {
				if v, ok := val(i, k); ok {
					line(w, name, labels, v, from+int64(j)*ksmStep)
				}
			}
		}
	}
	family("kube_pod_container_resource_limits", `resource="memory",unit="byte"`, func(i int, _ ksm) (float64, bool) { return cs[i].limit, true })
	family("kube_pod_container_resource_requests", `resource="memory",unit="byte"`, func(i int, _ ksm) (float64, bool) { return cs[i].request, true })
	family("kube_pod_container_status_restarts_total", "", func(_ int, k ksm) (float64, bool) { return float64(k.restarts), true })
	family("kube_pod_container_status_last_terminated_reason", `reason="OOMKilled"`, func(_ int, k ksm) (float64, bool) { return 1, k.oom })
	// Owners every 30 minutes: the series API needs them in the range.
	w.WriteString("# TYPE kube_pod_owner gauge\n")
	for _, c := range cs {
		for t := from; t < to; t += 1800 {
			line(w, "kube_pod_owner", fmt.Sprintf(`{namespace="%s",owner_is_controller="true",owner_kind="ReplicaSet",owner_name="%s",pod="%s"}`, c.ns, c.rs, c.pod), 1, t)
		}
	}
	w.WriteString("# TYPE kube_replicaset_owner gauge\n")
	seen := map[string]bool{}
	for _, c := range cs {
		if seen[c.ns+c.rs] {
			continue
		}
		seen[c.ns+c.rs] = true
		for t := from; t < to; t += 1800 {
			line(w, "kube_replicaset_owner", fmt.Sprintf(`{namespace="%s",owner_is_controller="true",owner_kind="Deployment",owner_name="%s",replicaset="%s"}`, c.ns, c.deploy, c.rs), 1, t)
		}
	}
	w.WriteString("# TYPE kube_node_status_allocatable gauge\n")
	for t := from; t < to; t += 60 {
		line(w, "kube_node_status_allocatable", `{node="node-1",resource="memory",unit="byte"}`, 64<<30, t)
	}
	w.WriteString("# EOF\n")
	if err := w.Flush(); err != nil {
		return 0, err
	}
	return n, f.Close()
}

type mem struct{ rss, anon, file float64 }

// measure runs fn and returns how long it took and Prometheus' peak
// memory meanwhile.
func measure(srv *promserver.Server, fn func() error) (time.Duration, mem, error) {
	stop := make(chan struct{})
	peak := make(chan mem)
	go sample(srv, stop, peak)
	t := time.Now()
	err := fn()
	took := time.Since(t)
	close(stop)
	return took, <-peak, err
}

func memOf(s *promserver.Server) (mem, error) {
	st, err := s.Status()
	if err != nil {
		return mem{}, err
	}
	return mem{rss: float64(st["VmRSS:"]), anon: float64(st["RssAnon:"]), file: float64(st["RssFile:"])}, nil
}

// sample keeps Prometheus' highest RSS until stop.
func sample(s *promserver.Server, stop chan struct{}, out chan mem) {
	var hi mem
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if m, err := memOf(s); err == nil && m.rss > hi.rss {
			hi = m
		}
		select {
		case <-stop:
			out <- hi
			return
		case <-tick.C:
		}
	}
}

func instant(base, q string, at int64) error {
	resp, err := http.PostForm(base+"/api/v1/query", url.Values{"query": {q}, "time": {strconv.FormatInt(at, 10)}})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: %s", resp.Status, b)
	}
	return nil
}

type kind struct {
	name string
	n    int
	secs float64
}

// queryLog sums Prometheus' query log by the query's first metric name.
func queryLog(path string) []kind {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	sums := map[string]*kind{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var e struct {
			Params struct {
				Query string `json:"query"`
				Step  int    `json:"step"`
			} `json:"params"`
			Stats struct {
				Timings struct {
					Eval float64 `json:"evalTotalTime"`
				} `json:"timings"`
			} `json:"stats"`
		}
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue
		}
		name := e.Params.Query
		for _, m := range []string{"container_memory_working_set_bytes", "container_memory_rss", "container_memory_cache", "kube_pod_container_status_restarts_total", "kube_pod_container_resource_limits", "kube_pod_container_resource_requests", "kube_node_status_allocatable", "kube_pod_container_status_terminated_reason", "oomdoctor_oom_kills_total", "container_oom_events_total", "count_over_time"} {
			if strings.Contains(name, m) {
				name = m
				break
			}
		}
		if e.Params.Step > 0 {
			name += " (range)"
		}
		k := sums[name]
		if k == nil {
			k = &kind{name: name}
			sums[name] = k
		}
		k.n++
		k.secs += e.Stats.Timings.Eval
	}
	var out []kind
	for _, k := range sums {
		out = append(out, *k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].secs > out[j].secs })
	return out
}
