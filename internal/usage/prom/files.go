package prom

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/usage"
)

// Files reads the same series as a Prometheus server from files, for
// offline diagnosis: OpenMetrics text as promtool reads it (*.om,
// *.openmetrics, optionally gzipped: cAdvisor's and kube-state-metrics'
// metric names and labels) and traces (*.csv, *.csv.gz:
// series,unix_seconds,usage_bytes[,provisioned_bytes] with series named
// namespace/pod/container; usage is the working set, provisioned the
// limit). Samples are put on the step grid as Prometheus' queries would:
// the highest value within each step for usage, the last for gauges.
type Files struct {
	Paths  []string
	Labels Labels
}

// HistoryFiles lists the series files in a snapshot folder (and its
// history/ subfolder); none is not an error.
func HistoryFiles(dir string) []string {
	var out []string
	for _, d := range []string{dir, filepath.Join(dir, "history")} {
		entries, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range entries {
			n := e.Name()
			base := strings.TrimSuffix(n, ".gz")
			if !e.IsDir() && (strings.HasSuffix(base, ".om") || strings.HasSuffix(base, ".openmetrics") || strings.HasSuffix(base, ".csv")) {
				out = append(out, filepath.Join(d, n))
			}
		}
	}
	sort.Strings(out)
	return out
}

// Read returns the containers of the given pods (namespace/pod) with their
// history between start and end at step, kills included.
func (f *Files) Read(pods map[string]bool, start, end time.Time, step time.Duration) ([]*Container, error) {
	if f.Labels == (Labels{}) {
		f.Labels = DefaultLabels
	}
	acc := map[[3]string]*raw{}
	get := func(ns, pod, c string) *raw {
		k := [3]string{ns, pod, c}
		r := acc[k]
		if r == nil {
			r = &raw{}
			acc[k] = r
		}
		return r
	}
	from, to := start.Unix(), end.Unix()
	podStart := map[[2]string]int64{} // kube_pod_start_time, by namespace and pod
	for _, p := range f.Paths {
		var err error
		if strings.HasSuffix(strings.TrimSuffix(p, ".gz"), ".csv") {
			err = usage.ReadTraceFile(p, func(s *usage.Series) error {
				parts := strings.Split(s.Name, "/")
				if len(parts) != 3 || !pods[parts[0]+"/"+parts[1]] {
					return nil
				}
				r := get(parts[0], parts[1], parts[2])
				for _, x := range s.Samples {
					if x.T < from || x.T > to {
						continue
					}
					r.ws = append(r.ws, model.Point{T: x.T, V: x.Usage})
					if x.Provisioned > 0 {
						r.limit = append(r.limit, model.Point{T: x.T, V: x.Provisioned})
					}
				}
				return nil
			})
		} else {
			err = f.readOpenMetrics(p, pods, from, to, get, podStart)
		}
		var empty *usage.NoRowsError
		if errors.As(err, &empty) {
			err = nil // a series file with no samples adds none
		}
		if err != nil {
			return nil, err
		}
	}
	var out []*Container
	for k, r := range acc {
		c := &Container{Namespace: k[0], Pod: k[1], Name: k[2]}
		g := grid{start: from, step: int64(step.Seconds())}
		c.WorkingSet = g.peak(r.ws)
		c.RSS, c.Cache, c.Swap = g.peak(r.rss), g.peak(r.cache), g.peak(r.swap)
		c.Limit, c.Request = g.last(r.limit), g.last(r.request)
		c.Restarts = g.last(r.restarts)
		c.kubeKills = fileKills(g, r, podStart[[2]string{k[0], k[1]}] >= from)
		c.terminations = g.began(r.terminated)
		c.killLimits = c.Limit
		c.oomEvents = g.rises(r.oomEvents, r.started >= from)
		c.eventLimits = c.Limit
		// Kills and no working set: killed before any sample.
		if c.Kills = kills(c, g.step); len(c.WorkingSet) == 0 && len(c.Kills) == 0 {
			continue
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		return a.Namespace+"/"+a.Pod+"/"+a.Name < b.Namespace+"/"+b.Pod+"/"+b.Name
	})
	return out, nil
}

type raw struct {
	ws, rss, cache, swap, limit, request, restarts, oomReason, oomEvents []model.Point
	terminated                                                           []model.Point // terminated with the reason OOMKilled
	started                                                              int64         // container_start_time_seconds
}

func (f *Files) readOpenMetrics(path string, pods map[string]bool, from, to int64, get func(ns, pod, c string) *raw, podStart map[[2]string]int64) error {
	r, err := usage.Open(path)
	if err != nil {
		return err
	}
	defer r.Close()
	br := bufio.NewReaderSize(r, 1<<20)
	L := f.Labels
	line := 0
	for {
		b, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return fmt.Errorf("%s:%d: a line longer than 1 MiB: not OpenMetrics", path, line+1)
		}
		if len(b) == 0 && err != nil {
			if err == io.EOF {
				return nil
			}
			return fmt.Errorf("%s: %w", path, err)
		}
		line++
		b = bytes.TrimRight(b, "\r\n")
		if len(b) == 0 || b[0] == '#' {
			if err == io.EOF {
				return nil
			}
			continue
		}
		name, labels, v, t, perr := parseSample(b)
		if perr != nil {
			return fmt.Errorf("%s:%d: %v (want OpenMetrics: name{label=\"value\",...} value unix_seconds)", path, line, perr)
		}
		if t < from || t > to {
			continue
		}
		ns, pod, c := labels[L.Namespace], labels[L.Pod], labels[L.Container]
		if name == "kube_pod_start_time" && pods[ns+"/"+pod] {
			podStart[[2]string{ns, pod}] = int64(v)
		}
		if !pods[ns+"/"+pod] || (c == "" || c == "POD") {
			continue
		}
		p := model.Point{T: t, V: v}
		rw := get(ns, pod, c)
		switch name {
		case "container_memory_working_set_bytes":
			rw.ws = append(rw.ws, p)
		case "container_memory_rss":
			rw.rss = append(rw.rss, p)
		case "container_memory_cache":
			rw.cache = append(rw.cache, p)
		case "container_memory_swap":
			rw.swap = append(rw.swap, p)
		case "container_oom_events_total":
			rw.oomEvents = append(rw.oomEvents, p)
		case "container_start_time_seconds":
			rw.started = max(rw.started, int64(v))
		case "kube_pod_container_resource_limits":
			if labels["resource"] == "memory" {
				rw.limit = append(rw.limit, p)
			}
		case "kube_pod_container_resource_requests":
			if labels["resource"] == "memory" {
				rw.request = append(rw.request, p)
			}
		case "kube_pod_container_status_restarts_total":
			rw.restarts = append(rw.restarts, p)
		case "kube_pod_container_status_last_terminated_reason":
			if labels["reason"] == "OOMKilled" && v > 0 {
				rw.oomReason = append(rw.oomReason, p)
			}
		case "kube_pod_container_status_terminated_reason":
			if labels["reason"] == "OOMKilled" && v > 0 {
				rw.terminated = append(rw.terminated, p)
			}
		}
		if err == io.EOF {
			return nil
		}
	}
}

// parseSample reads one OpenMetrics sample line; the timestamp is in
// seconds (OpenMetrics), a missing one is an error (history needs times).
func parseSample(b []byte) (name string, labels map[string]string, v float64, t int64, err error) {
	i := bytes.IndexAny(b, "{ ")
	if i <= 0 {
		return "", nil, 0, 0, errors.New("no metric name")
	}
	name = string(b[:i])
	rest := b[i:]
	labels = map[string]string{}
	if rest[0] == '{' {
		rest = rest[1:]
		for {
			rest = bytes.TrimLeft(rest, " ,")
			if len(rest) == 0 {
				return "", nil, 0, 0, errors.New("labels not closed")
			}
			if rest[0] == '}' {
				rest = rest[1:]
				break
			}
			eq := bytes.IndexByte(rest, '=')
			if eq <= 0 || len(rest) < eq+2 || rest[eq+1] != '"' {
				return "", nil, 0, 0, errors.New("bad label")
			}
			key := string(rest[:eq])
			rest = rest[eq+2:]
			var val strings.Builder
			j := 0
			for ; j < len(rest) && rest[j] != '"'; j++ {
				if rest[j] == '\\' && j+1 < len(rest) {
					j++
					switch rest[j] {
					case 'n':
						val.WriteByte('\n')
					default:
						val.WriteByte(rest[j])
					}
					continue
				}
				val.WriteByte(rest[j])
			}
			if j >= len(rest) {
				return "", nil, 0, 0, errors.New("label value not closed")
			}
			labels[key] = val.String()
			rest = rest[j+1:]
		}
	}
	fields := strings.Fields(string(rest))
	if len(fields) < 2 {
		return "", nil, 0, 0, errors.New("a sample needs a value and a timestamp")
	}
	v, err = strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return "", nil, 0, 0, fmt.Errorf("value %q", fields[0])
	}
	ts, err := strconv.ParseFloat(fields[1], 64)
	if err != nil || math.IsNaN(ts) {
		return "", nil, 0, 0, fmt.Errorf("timestamp %q", fields[1])
	}
	return name, labels, v, int64(ts), nil
}

// grid puts samples on the steps of a range query: the point at
// start+k*step stands for (start+(k-1)*step, start+k*step].
type grid struct{ start, step int64 }

func (g grid) slot(t int64) int64 {
	if t <= g.start {
		return g.start
	}
	return g.start + (t-g.start+g.step-1)/g.step*g.step
}

func sorted(ps []model.Point) []model.Point {
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].T < ps[j].T })
	return ps
}

func (g grid) peak(ps []model.Point) []model.Point {
	var out []model.Point
	for _, p := range sorted(ps) {
		s := g.slot(p.T)
		if n := len(out); n > 0 && out[n-1].T == s {
			out[n-1].V = math.Max(out[n-1].V, p.V)
			continue
		}
		out = append(out, model.Point{T: s, V: p.V})
	}
	return out
}

func (g grid) last(ps []model.Point) []model.Point {
	var out []model.Point
	for _, p := range sorted(ps) {
		s := g.slot(p.T)
		if n := len(out); n > 0 && out[n-1].T == s {
			out[n-1].V = p.V
			continue
		}
		out = append(out, model.Point{T: s, V: p.V})
	}
	return out
}

// increase gives, per step, how much a counter grew (resets counted as
// growth from zero); steps without growth are left out.
func (g grid) increase(ps []model.Point) []model.Point {
	var out []model.Point
	ps = sorted(ps)
	for i := 1; i < len(ps); i++ {
		d := ps[i].V - ps[i-1].V
		if d < 0 {
			d = ps[i].V
		}
		if d <= 0 {
			continue
		}
		s := g.slot(ps[i].T)
		if n := len(out); n > 0 && out[n-1].T == s {
			out[n-1].V += d
			continue
		}
		out = append(out, model.Point{T: s, V: d})
	}
	return out
}

// fileKills is the server-side kill query's answer computed here: steps
// where the restart count grew while the last termination reason was
// OOMKilled. A pod started within the history counts its first sample
// whole (killed before the first scrape, its counter is born at 1).
func fileKills(g grid, r *raw, startedWithin bool) []model.Point {
	reason := map[int64]bool{}
	for _, p := range g.last(r.oomReason) {
		reason[p.T] = true
	}
	var out []model.Point
	for _, p := range g.rises(r.restarts, startedWithin) {
		// kube-state-metrics updates both in the same scrape; allow the
		// reason one step late.
		if reason[p.T] || reason[p.T+g.step] {
			out = append(out, p)
		}
	}
	return out
}

// rises is increase, and with bornWithin (the counter's pod or container
// started within the history) the first sample whole: a counter born
// above 0 rose from nothing before its first scrape.
func (g grid) rises(ps []model.Point, bornWithin bool) []model.Point {
	out := g.increase(ps)
	if s := sorted(ps); bornWithin && len(s) > 0 && s[0].V > 0 {
		first := model.Point{T: g.slot(s[0].T), V: s[0].V}
		if len(out) > 0 && out[0].T == first.T {
			out[0].V += first.V
		} else {
			out = append([]model.Point{first}, out...)
		}
	}
	return out
}

// began is the steps in which a series appears after a step without it:
// the steps a container became terminated OOMKilled in. One there from the
// first step may have begun before the history: not counted.
func (g grid) began(ps []model.Point) []model.Point {
	var out []model.Point
	prev := g.start - g.step
	for _, p := range g.last(ps) {
		if p.T-prev > g.step {
			out = append(out, model.Point{T: p.T, V: 1})
		}
		prev = p.T
	}
	return out
}

// GridPeaks puts samples on the steps of a range query from start, each
// point the highest sample of its step (max_over_time), as the history
// reader does.
func GridPeaks(ps []model.Point, start int64, step time.Duration) []model.Point {
	return grid{start: start, step: int64(step.Seconds())}.peak(ps)
}
