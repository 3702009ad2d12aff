//go:build linux

package agent

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sys/unix"
)

// Metrics is the agent's Prometheus registry.
type Metrics struct {
	Registry *prometheus.Registry
	kills    *prometheus.CounterVec
	lastKill *prometheus.GaugeVec
	latency  prometheus.Histogram

	mu sync.Mutex
	// labels of each pod's series, to drop them some time after the pod
	// is gone: the counter's cardinality stays that of the node's pods.
	byPod map[string][]prometheus.Labels
}

// KillsMetric is the name of the kills counter. Its series are born at a
// container's first kill of a kind (scope, main process), with the value 1:
// increase() alone, which only sees differences between samples, never
// counts that first kill. LastKillMetric, the time of the last kill of the
// same series, tells a born series (and a kill in a scrape gap) from a
// series that only reappeared after one.
const (
	KillsMetric    = "oomdoctor_oom_kills_total"
	LastKillMetric = "oomdoctor_oom_last_kill_timestamp_seconds"
)

// NewMetrics makes the registry with the kills counter; Watch adds the
// agent's own state.
func NewMetrics() *Metrics {
	m := &Metrics{Registry: prometheus.NewRegistry(), byPod: map[string][]prometheus.Labels{}}
	m.kills = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: KillsMetric,
		Help: "Processes the kernel's OOM killer killed in pod cgroups on this node, by pod, container, scope (container, pod, node, system, unknown) and whether the victim was the container's main process (true, false, unknown).",
	}, []string{"node", "namespace", "pod", "container", "scope", "main_process"})
	m.lastKill = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: LastKillMetric,
		Help: "When the agent learned of the last kill of " + KillsMetric + "'s series with the same labels (Unix seconds).",
	}, []string{"node", "namespace", "pod", "container", "scope", "main_process"})
	m.latency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "oomdoctor_agent_kill_detection_seconds",
		Help:    "Time from the kernel's OOM report to the kill being counted (approximate: the kernel log's clock against CLOCK_MONOTONIC).",
		Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5},
	})
	m.Registry.MustRegister(m.kills, m.lastKill, m.latency,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Watch registers the agent's state: cgroups watched and notifying, kernel
// log records lost; each with the node's name, for alerts to say where.
func (m *Metrics) Watch(a *Agent) {
	node := prometheus.Labels{"node": a.cfg.Node}
	m.Registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "oomdoctor_agent_watched_cgroups", Help: "Container memory cgroups the agent watches.", ConstLabels: node},
			func() float64 { return float64(a.Watching()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "oomdoctor_agent_notified_cgroups", Help: "Watched cgroups whose OOMs wake the agent at once (v1: an OOM eventfd, which needs cgroup.event_control writable; v2: memory.events watched). The others are read on each kernel report and every rescan.", ConstLabels: node},
			func() float64 { return float64(a.Notified()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "oomdoctor_agent_kmsg_overwritten_total", Help: "Times the kernel log overwrote records before the agent read them.", ConstLabels: node},
			func() float64 { return float64(a.KmsgLost()) }),
	)
}

// Kill implements Sink.
func (m *Metrics) Kill(k *Kill) {
	l := prometheus.Labels{"node": k.Node, "namespace": k.Namespace, "pod": k.Pod, "container": k.Container, "scope": k.Scope, "main_process": k.MainProcess}
	m.kills.With(l).Inc()
	at := k.At
	if at.IsZero() {
		at = time.Now()
	}
	m.lastKill.With(l).Set(float64(at.UnixNano()) / 1e9)
	if k.KernelSince > 0 {
		var ts unix.Timespec
		if unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts) == nil {
			if d := time.Duration(ts.Nano()) - k.KernelSince; d >= 0 {
				m.latency.Observe(d.Seconds())
			}
		}
	}
	if k.PodUID != "" {
		m.mu.Lock()
		m.byPod[k.PodUID] = append(m.byPod[k.PodUID], l)
		m.mu.Unlock()
	}
}

// Forget drops a pod's series after keep (so that a last kill is still
// scraped).
func (m *Metrics) Forget(uid string, keep time.Duration) {
	time.AfterFunc(keep, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		for _, l := range m.byPod[uid] {
			m.kills.Delete(l)
			m.lastKill.Delete(l)
		}
		delete(m.byPod, uid)
	})
}
