// Command scan benchmarks `oomdoctor scan` against `kubectl get pods -A -o
// json` on the same real kube-apiserver in the same run: it loads a cluster
// of N pods (a mix of workloads, about 5% with OOM kills), then times both
// commands alternately and reports wall time, their ratio, peak RSS, and the
// API requests each made (counted by the API server itself). Then it runs
// `oomdoctor scan -A -w` and measures the watch: status updates without a
// kill (CPU), then kills one by one (kill to report, API requests per
// kill), and the watcher's peak RSS against the scan's.
//
//	go run ./bench/scan -pods 10000 -namespaces 200 -runs 5
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/oomdoctor/oomdoctor/test/cluster"
)

func main() {
	pods := flag.Int("pods", 10000, "pods to load")
	namespaces := flag.Int("namespaces", 200, "namespaces to spread them over")
	killed := flag.Float64("killed", 0.05, "share of pods with an OOM kill")
	runs := flag.Int("runs", 5, "timed runs of each command")
	workers := flag.Int("workers", 16, "parallel writers while loading")
	kills := flag.Int("watch-kills", 20, "kills told to scan -w, one by one (0: no watch phase)")
	churn := flag.Int("watch-churn", 1000, "status updates without a kill while scan -w watches")
	flag.Parse()
	if err := run(*pods, *namespaces, *killed, *runs, *workers, *kills, *churn); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type sample struct {
	wall     time.Duration
	maxRSSKB int64
	requests int
}

func run(pods, namespaces int, killed float64, runs, workers, kills, churn int) error {
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "oomdoctor-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "oomdoctor")
	build := exec.Command("go", "build", "-o", bin, "./cmd/oomdoctor")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building oomdoctor (run from the repository root): %w", err)
	}
	kubectl, err := cluster.Binary("kubectl")
	if err != nil {
		return err
	}

	cp, err := cluster.StartControlPlane(ctx, cluster.Options{})
	if err != nil {
		return err
	}
	defer cp.Stop()
	start := time.Now()
	stats, err := load(ctx, cp, pods, namespaces, killed, workers)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "loaded %d pods in %d namespaces (%d with kills, %d ReplicaSets, %d Jobs) in %v\n",
		stats.pods, namespaces, stats.killed, stats.replicaSets, stats.jobs, time.Since(start).Round(time.Second))

	commands := map[string][]string{
		"kubectl get pods -A -o json": {kubectl, "--kubeconfig", cp.Kubeconfig, "get", "pods", "-A", "-o", "json"},
		"oomdoctor scan -A -o json":   {bin, "--kubeconfig", cp.Kubeconfig, "scan", "-A", "-o", "json"},
	}
	order := []string{"kubectl get pods -A -o json", "oomdoctor scan -A -o json"}
	results := map[string][]sample{}
	// One untimed run each warms the API server's caches and the page cache.
	for _, name := range order {
		if _, err := measure(cp, commands[name]); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	for i := 0; i < runs; i++ {
		for _, name := range order {
			s, err := measure(cp, commands[name])
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			results[name] = append(results[name], s)
		}
	}
	k, o := median(results[order[0]]), median(results[order[1]])
	fmt.Printf("pods: %d in %d namespaces, %d with OOM kills; %d runs each, alternating; medians\n\n", stats.pods, namespaces, stats.killed, runs)
	fmt.Printf("| command | wall time | peak RSS | API requests |\n|---|---|---|---|\n")
	for _, name := range order {
		m := median(results[name])
		fmt.Printf("| `%s` | %.2f s | %d MiB | %d |\n", name, m.wall.Seconds(), m.maxRSSKB/1024, m.requests)
	}
	fmt.Printf("\nratio scan / kubectl wall time: %.2f (goal ≤ 1.2)\n", o.wall.Seconds()/k.wall.Seconds())
	fmt.Printf("scan peak RSS: %d MiB (goal ≤ 150 MiB)\n", o.maxRSSKB/1024)
	fmt.Printf("scan API requests: %d for %d pod pages of 500 (plus events and owner lists)\n", o.requests, (stats.pods+499)/500)
	fmt.Printf("all runs (wall s): kubectl %s; scan %s\n", walls(results[order[0]]), walls(results[order[1]]))
	if kills <= 0 {
		return nil
	}
	w, err := watchBench(ctx, cp, bin, kills, churn)
	if err != nil {
		return fmt.Errorf("scan -w: %w", err)
	}
	p50, max := durations(w.latencies)
	sort.Ints(w.requests)
	fmt.Printf("\n`oomdoctor scan -A -w -o json`: first report after %.2f s (scan alone: %.2f s, ratio %.2f)\n", w.firstReport.Seconds(), o.wall.Seconds(), w.firstReport.Seconds()/o.wall.Seconds())
	fmt.Printf("kill to report, %d kills one by one: p50 %.0f ms, max %.0f ms\n", len(w.latencies), float64(p50.Microseconds())/1000, float64(max.Microseconds())/1000)
	fmt.Printf("API requests per kill told: median %d, max %d\n", w.requests[len(w.requests)/2], w.requests[len(w.requests)-1])
	fmt.Printf("%d status updates without a kill: %.0f ms of CPU (%.2f ms each), nothing told\n", w.churned, float64(w.churnCPU.Microseconds())/1000, float64(w.churnCPU.Microseconds())/1000/float64(w.churned))
	fmt.Printf("watcher peak RSS: %d MiB (scan alone: %d MiB, ratio %.2f); RSS 30 s after the last kill: %d MiB\n", w.hwmKB/1024, o.maxRSSKB/1024, float64(w.hwmKB)/float64(o.maxRSSKB), w.rssKB/1024)
	return nil
}

// measure runs a command with its output discarded, as `> /dev/null` does.
func measure(cp *cluster.ControlPlane, argv []string) (sample, error) {
	before, byBefore, err := requestCount(cp)
	if err != nil {
		return sample{}, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return sample{}, err
	}
	defer devnull.Close()
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = devnull, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return sample{}, fmt.Errorf("%v: %s", err, stderr.String())
	}
	wall := time.Since(start)
	after, byAfter, err := requestCount(cp)
	if err != nil {
		return sample{}, err
	}
	if os.Getenv("BENCH_DEBUG") != "" { // which requests a command made
		for k, v := range byAfter {
			if v != byBefore[k] {
				fmt.Fprintf(os.Stderr, "  %s: %d\n", k, v-byBefore[k])
			}
		}
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return sample{wall: wall, maxRSSKB: ru.Maxrss, requests: after - before}, nil
}

func median(s []sample) sample {
	c := append([]sample(nil), s...)
	sort.Slice(c, func(i, j int) bool { return c[i].wall < c[j].wall })
	m := c[len(c)/2]
	rss := make([]int64, len(s))
	for i := range s {
		rss[i] = s[i].maxRSSKB
	}
	sort.Slice(rss, func(i, j int) bool { return rss[i] < rss[j] })
	m.maxRSSKB = rss[len(rss)/2]
	return m
}

func walls(s []sample) string {
	var out []string
	for _, x := range s {
		out = append(out, fmt.Sprintf("%.2f", x.wall.Seconds()))
	}
	return strings.Join(out, " ")
}
