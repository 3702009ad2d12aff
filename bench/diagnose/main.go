// Command diagnose benchmarks the cause detectors over a large history
// read from files: -containers containers x -days at -scrape, written as a
// CSV trace (series,unix_seconds,usage_bytes,provisioned_bytes; steady,
// daily-cycle, spiky, leaking and tmpfs-filling containers), then streamed
// back one series at a time, put on the 5-minute grid the history reader
// uses (the highest sample of each step) and diagnosed with the pod's spec
// and its kill, as scan and explain do. Memory stays that of one series.
//
// The baseline, in the same process over the same file: reading and
// parsing it alone. Reported: time, ratio to the baseline, microseconds
// per container, the peak RSS, and the causes found.
//
//	go run ./bench/diagnose -containers 5000 -days 14
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/oomdoctor/oomdoctor/internal/diagnose"
	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/usage"
	"github.com/oomdoctor/oomdoctor/internal/usage/prom"
	"github.com/oomdoctor/oomdoctor/test/procstat"
)

var (
	containers = flag.Int("containers", 5000, "containers")
	days       = flag.Float64("days", 14, "days of history")
	scrape     = flag.Int64("scrape", 30, "seconds between samples")
	dir        = flag.String("dir", "", "work folder (default: a temporary one, removed at the end)")
)

const mi = 1 << 20

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run() error {
	work := *dir
	if work == "" {
		var err error
		if work, err = os.MkdirTemp("", "oomdoctor-bench-diagnose-"); err != nil {
			return err
		}
		defer os.RemoveAll(work)
	}
	end := int64(1_800_000_000)
	start := end - int64(*days*86400)
	path := filepath.Join(work, "history.csv")
	t0 := time.Now()
	rows, err := write(path, start, end)
	if err != nil {
		return err
	}
	fi, _ := os.Stat(path)
	fmt.Printf("history: %d containers, %.0f days every %ds: %d samples, %.1f GiB of CSV, written in %s\n",
		*containers, *days, *scrape, rows, float64(fi.Size())/(1<<30), time.Since(t0).Round(time.Second))

	// Baseline: read and parse the file, nothing else.
	runtime.GC()
	t1 := time.Now()
	var n int64
	if err := usage.ReadTraceFile(path, func(s *usage.Series) error { n += int64(len(s.Samples)); return nil }); err != nil {
		return err
	}
	base := time.Since(t1)

	// The detectors: each series on the grid, diagnosed with its pod.
	runtime.GC()
	causes := map[string]int{}
	var detect time.Duration
	step := 5 * time.Minute
	t2 := time.Now()
	diagnosed := 0
	err = usage.ReadTraceFile(path, func(s *usage.Series) error {
		d0 := time.Now()
		ps := make([]model.Point, len(s.Samples))
		for i, x := range s.Samples {
			ps[i] = model.Point{T: x.T, V: x.Usage}
		}
		i, _ := strconv.Atoi(strings.TrimPrefix(s.Name, "bench/pod-"))
		limit := s.Samples[0].Provisioned
		h := &diagnose.History{Source: "files", Step: step, WorkingSet: prom.GridPeaks(ps, start, step), Limit: []model.Point{{T: start, V: limit}}}
		f, pod := finding(i, limit, s.Samples[len(s.Samples)-1].T)
		cs, _ := diagnose.Diagnose(&diagnose.Input{Finding: f, Pod: pod, History: h, Now: time.Unix(end, 0)})
		top := "none"
		if len(cs) > 0 {
			top = string(cs[0].ID)
		}
		causes[top]++
		diagnosed++
		detect += time.Since(d0)
		return nil
	})
	if err != nil {
		return err
	}
	total := time.Since(t2)
	var ru struct{ hwm int64 }
	ru.hwm = hwm()
	fmt.Printf("baseline (read and parse only): %s for %d samples\n", base.Round(10*time.Millisecond), n)
	fmt.Printf("read + grid + detectors: %s for %d containers (detectors and grid alone %s, %.0f µs a container); ratio to the baseline %.2f\n",
		total.Round(10*time.Millisecond), diagnosed, detect.Round(10*time.Millisecond), float64(detect.Microseconds())/float64(diagnosed), total.Seconds()/base.Seconds())
	fmt.Printf("peak RSS of this process: %.0f MiB\n", float64(ru.hwm)/mi)
	var keys []string
	for k := range causes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Printf("  top cause %-16s %d\n", k, causes[k])
	}
	return nil
}

// kinds: 0 steady near its limit, 1 daily cycle, 2 spiky, 3 leak, 4 tmpfs.
func usageAt(i int, t, start int64) float64 {
	base := float64(128+(i*37)%512) * mi
	phase := float64((i * 7919) % 86400)
	switch i % 5 {
	case 0:
		return base*0.95 + 0.01*base*math.Sin(float64(t)/600)
	case 1:
		return base*0.7 + 0.25*base*math.Sin(2*math.Pi*(float64(t)+phase)/86400)
	case 2:
		if (t+int64(phase))%(6*3600) < 60 {
			return base
		}
		return base * 0.5
	case 3:
		life := int64(8 * 3600)
		age := (t - start) % life
		return base*0.4 + base*0.6*float64(age)/float64(life)
	}
	return base*0.3 + base*0.65*float64((t-start)%(12*3600))/(12*3600)
}

func write(path string, start, end int64) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 4<<20)
	var rows int64
	var buf []byte
	for i := 0; i < *containers; i++ {
		name := fmt.Sprintf("bench/pod-%05d,", i)
		limit := strconv.FormatInt(int64(128+(i*37)%512)<<20, 10)
		for t := start; t <= end; t += *scrape {
			buf = append(buf[:0], name...)
			buf = strconv.AppendInt(buf, t, 10)
			buf = append(buf, ',')
			buf = strconv.AppendInt(buf, int64(usageAt(i, t, start)), 10)
			buf = append(buf, ',')
			buf = append(buf, limit...)
			buf = append(buf, '\n')
			w.Write(buf)
			rows++
		}
	}
	if err := w.Flush(); err != nil {
		return 0, err
	}
	return rows, f.Close()
}

// finding is the kill scan would report for the container, and its pod.
func finding(i int, limit float64, last int64) (*model.Finding, *corev1.Pod) {
	l := int64(limit)
	r := l / 2
	at := time.Unix(last, 0).UTC()
	f := &model.Finding{Type: model.OOMKilled, Namespace: "bench", Pod: fmt.Sprintf("pod-%05d", i), Container: "app", LastKill: &at, MemoryLimitBytes: &l, MemoryRequestBytes: &r}
	c := corev1.Container{Name: "app", Image: "example/app:1", Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: *resource.NewQuantity(l, resource.BinarySI)}}}
	pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{c}}}
	if i%5 == 4 {
		pod.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "scratch", MountPath: "/scratch"}}
		pod.Spec.Volumes = []corev1.Volume{{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}}}
	}
	if i%7 == 0 {
		pod.Spec.Containers[0].Image = "eclipse-temurin:17-jre"
		pod.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "JAVA_TOOL_OPTIONS", Value: fmt.Sprintf("-Xmx%dm", l*95/100>>20)}}
	}
	return f, pod
}

func hwm() int64 {
	st, _ := procstat.Status(0)
	return st["VmHWM:"]
}
