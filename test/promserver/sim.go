package promserver

import (
	"fmt"
	"os"
	"sort"
	"strings"
)

// Sim simulates a cluster's history as cAdvisor and kube-state-metrics
// would have scraped it: per container the working set, RSS and page
// cache, the request and limit, restarts and the last termination reason
// (an OOM kill when usage reaches the limit), and the pods' owners.
type Sim struct {
	Start, End int64 // unix seconds
	Scrape     int64 // seconds between scrapes (default 30)
	Pods       []Pod
	// NodeAllocatable is kube_node_status_allocatable of one node (0: none).
	NodeAllocatable float64
	// NoOwners leaves out kube_pod_owner and friends.
	NoOwners bool
	// AgentRestart is when the node agent restarted (0: never): its
	// counters start again from 0.
	AgentRestart int64
	// LimitRanges are kube-state-metrics' kube_limitrange series (type
	// Container, resource memory) over the whole history.
	LimitRanges []LimitRange
	// ResourceQuotas are kube-state-metrics' kube_resourcequota series
	// over the whole history.
	ResourceQuotas []ResourceQuota
	// MaxSurges are kube-state-metrics'
	// kube_deployment_spec_strategy_rollingupdate_max_surge (maxSurge
	// scaled to the replicas), by namespace/deployment.
	MaxSurges map[string]int
	// HPAs are kube-state-metrics' HorizontalPodAutoscaler series
	// (kube_horizontalpodautoscaler_info and the spec's target metrics)
	// over the whole history.
	HPAs []HPA
}

// HPA is one HorizontalPodAutoscaler as kube-state-metrics exports it:
// the workload it scales and its metrics' targets.
type HPA struct {
	Namespace, Name        string
	TargetKind, TargetName string
	Targets                []HPATarget
}

// HPATarget is one metric's target: Type is utilization (percent), average
// or value; Container set: a ContainerResource metric
// (kube_horizontalpodautoscaler_spec_target_container_metric).
type HPATarget struct {
	Metric, Type, Container string
	Value                   float64
}

// ResourceQuota is one ResourceQuota's hard and used values, by resource
// (requests.memory, limits.memory, ...).
type ResourceQuota struct {
	Namespace, Name string
	Hard, Used      map[string]float64
}

// LimitRange is one LimitRange's memory bounds on containers (0: not set).
type LimitRange struct {
	Namespace, Name    string
	Max, Min, MaxRatio float64
}

// Pod is one pod over the whole history.
type Pod struct {
	Namespace, Name string
	// OwnerKind/OwnerName own the pod (ReplicaSet → Deployment when
	// Deployment is set).
	OwnerKind, OwnerName string
	Deployment           string
	Containers           []Container
	// Created is when the pod was created and started (a multiple of 60
	// s after Start; 0: a day before Start): its series begin then.
	Created int64
	// Deleted is when the pod was deleted (0: never): its series end then.
	Deleted int64
}

// Container is one container; Usage gives its memory demand (bytes)
// age seconds after it (re)started, at time t.
type Container struct {
	Name           string
	Request, Limit float64
	Usage          func(t, age int64) float64
	// CacheShare is the part of the working set that is page cache.
	CacheShare float64
	// Unseen containers are killed within seconds of every start, before
	// cAdvisor samples them (every 10-15 s): no working set, RSS or cache
	// series, only kube-state-metrics' ones.
	Unseen bool
	// Never restarts (restartPolicy Never, as a Job's pod): its first kill
	// ends it, terminated with the reason OOMKilled; no restart is
	// counted and no sample follows.
	Never bool
	// OOMEvents are when cAdvisor counted an OOM kill in the container
	// that did not end it (a child process): container_oom_events_total,
	// with container_start_time_seconds. cAdvisor knows the container
	// from its start, so a kill before the first scrape makes the series'
	// first sample 1.
	OOMEvents []int64
	// AgentKills are when the node agent counted a child process of it
	// OOM-killed (oomdoctor_oom_kills_total, main_process="false"): the
	// container lives on, kube-state-metrics sees nothing.
	AgentKills []int64
}

type series struct {
	labels string
	pts    []pt
}

type pt struct {
	t int64
	v float64
}

// Kills are the OOM kills the simulation made, by namespace/pod/container.
type Kills map[string][]int64

// WriteFile writes the history as OpenMetrics into path and returns the
// kills it simulated.
func (s *Sim) WriteFile(path string) (Kills, error) {
	if s.Scrape == 0 {
		s.Scrape = 30
	}
	fam := map[string][]*series{}
	add := func(name string, l Labels) *series {
		x := &series{labels: l.String()}
		fam[name] = append(fam[name], x)
		return x
	}
	kills := Kills{}
	for _, p := range s.Pods {
		start, created := s.Start, s.Start-86400
		if p.Created > s.Start {
			start, created = p.Created, p.Created
		}
		end := s.End
		if p.Deleted > 0 {
			end = min(end, p.Deleted)
		}
		pc := add("kube_pod_start_time", Labels{"namespace": p.Namespace, "pod": p.Name})
		for t := start; t <= end; t += 60 {
			pc.pts = append(pc.pts, pt{t, float64(created)})
		}
		for _, c := range p.Containers {
			l := Labels{"namespace": p.Namespace, "pod": p.Name, "container": c.Name}
			cl := merge(l, Labels{"image": "example/" + c.Name, "id": "/kubepods/" + p.Name + "/" + c.Name})
			ws := add("container_memory_working_set_bytes", cl)
			if len(c.OOMEvents) > 0 {
				ev, st := add("container_oom_events_total", cl), add("container_start_time_seconds", cl)
				for t := start; t <= end; t += s.Scrape {
					n := 0
					for _, k := range c.OOMEvents {
						if k <= t {
							n++
						}
					}
					ev.pts = append(ev.pts, pt{t, float64(n)})
					st.pts = append(st.pts, pt{t, float64(start)})
				}
			}
			rss := add("container_memory_rss", l)
			cache := add("container_memory_cache", l)
			var req, lim, restarts, reason *series
			if c.Request > 0 {
				req = add("kube_pod_container_resource_requests", merge(l, Labels{"resource": "memory", "unit": "byte"}))
			}
			if c.Limit > 0 {
				lim = add("kube_pod_container_resource_limits", merge(l, Labels{"resource": "memory", "unit": "byte"}))
			}
			restarts = add("kube_pod_container_status_restarts_total", l)
			reason = add("kube_pod_container_status_last_terminated_reason", merge(l, Labels{"reason": "OOMKilled"}))
			terminated := add("kube_pod_container_status_terminated_reason", merge(l, Labels{"reason": "OOMKilled"}))
			born, n, oomLast, ended := start, 0, false, false
			key := p.Namespace + "/" + p.Name + "/" + c.Name
			for t := start; t <= end; t += s.Scrape {
				var u float64
				if !ended {
					u = c.Usage(t, t-born)
					if c.Never && c.Limit > 0 && u >= c.Limit {
						kills[key] = append(kills[key], t)
						ended = true
					}
				}
				if ended {
					if (t-s.Start)%60 == 0 {
						restarts.pts = append(restarts.pts, pt{t, 0})
						terminated.pts = append(terminated.pts, pt{t, 1})
					}
					continue
				}
				if c.Limit > 0 && u >= c.Limit {
					kills[key] = append(kills[key], t)
					n++
					oomLast = true
					born = t
					u = c.Usage(t, 0)
				}
				if c.Limit > 0 && u > c.Limit {
					u = c.Limit // restarted straight into the limit: killed again
				}
				if !c.Unseen {
					ws.pts = append(ws.pts, pt{t, u})
					rss.pts = append(rss.pts, pt{t, u * (1 - c.CacheShare)})
					cache.pts = append(cache.pts, pt{t, u * c.CacheShare})
				}
				if (t-s.Start)%60 == 0 {
					if req != nil {
						req.pts = append(req.pts, pt{t, c.Request})
					}
					if lim != nil {
						lim.pts = append(lim.pts, pt{t, c.Limit})
					}
					restarts.pts = append(restarts.pts, pt{t, float64(n)})
					if oomLast {
						reason.pts = append(reason.pts, pt{t, 1})
					}
				}
			}
		}
		// kube_pod_status_phase: Running, and Failed once every container
		// has ended (restartPolicy Never, killed), as kube-state-metrics
		// exports it: one series per phase, 1 for the pod's (Pending,
		// Succeeded and Unknown, always 0 here, left out).
		podEnded := int64(0)
		for _, c := range p.Containers {
			k := kills[p.Namespace+"/"+p.Name+"/"+c.Name]
			if !c.Never || len(k) == 0 {
				podEnded = 0
				break
			}
			podEnded = max(podEnded, k[0])
		}
		for _, phase := range []string{"Running", "Failed"} {
			x := add("kube_pod_status_phase", Labels{"namespace": p.Namespace, "pod": p.Name, "phase": phase})
			for t := start; t <= end; t += 60 {
				v := 0.0
				if failed := podEnded > 0 && t >= podEnded; phase == "Running" && !failed || phase == "Failed" && failed {
					v = 1
				}
				x.pts = append(x.pts, pt{t, v})
			}
		}
		if !s.NoOwners {
			if p.Deployment != "" {
				rs := add("kube_replicaset_owner", Labels{"namespace": p.Namespace, "replicaset": p.OwnerName, "owner_kind": "Deployment", "owner_name": p.Deployment, "owner_is_controller": "true"})
				sparse(rs, s.Start, end)
			}
			kind, name := p.OwnerKind, p.OwnerName
			if kind == "" {
				kind, name = "<none>", "<none>"
			}
			sparse(add("kube_pod_owner", Labels{"namespace": p.Namespace, "pod": p.Name, "owner_kind": kind, "owner_name": name, "owner_is_controller": "true"}), s.Start, end)
		}
	}
	for _, p := range s.Pods {
		for _, c := range p.Containers {
			if len(c.AgentKills) == 0 {
				continue
			}
			// As the agent exports them: the series is born at 1 at
			// the first kill (after a restart, at the first kill since),
			// beside the time of the last kill.
			l := Labels{"namespace": p.Namespace, "pod": p.Name, "container": c.Name, "node": "node-1", "scope": "container", "main_process": "false"}
			x, last := add("oomdoctor_oom_kills_total", l), add("oomdoctor_oom_last_kill_timestamp_seconds", l)
			for t := s.Start; t <= s.End; t += s.Scrape {
				n, at := 0, int64(0)
				for _, k := range c.AgentKills {
					if k <= t && (s.AgentRestart == 0 || t < s.AgentRestart || k >= s.AgentRestart) {
						n, at = n+1, max(at, k)
					}
				}
				if n > 0 {
					x.pts = append(x.pts, pt{t, float64(n)})
					last.pts = append(last.pts, pt{t, float64(at)})
				}
			}
		}
	}
	for _, lr := range s.LimitRanges {
		for _, c := range []struct {
			name string
			v    float64
		}{{"max", lr.Max}, {"min", lr.Min}, {"maxLimitRequestRatio", lr.MaxRatio}} {
			if c.v == 0 {
				continue
			}
			x := add("kube_limitrange", Labels{"namespace": lr.Namespace, "limitrange": lr.Name, "resource": "memory", "type": "Container", "constraint": c.name})
			for t := s.Start; t <= s.End; t += 60 {
				x.pts = append(x.pts, pt{t, c.v})
			}
		}
	}
	for _, q := range s.ResourceQuotas {
		for _, typ := range []struct {
			name string
			vs   map[string]float64
		}{{"hard", q.Hard}, {"used", q.Used}} {
			for r, v := range typ.vs {
				x := add("kube_resourcequota", Labels{"namespace": q.Namespace, "resourcequota": q.Name, "resource": r, "type": typ.name})
				for t := s.Start; t <= s.End; t += 60 {
					x.pts = append(x.pts, pt{t, v})
				}
			}
		}
	}
	for _, h := range s.HPAs {
		series := []*series{add("kube_horizontalpodautoscaler_info", Labels{"namespace": h.Namespace, "horizontalpodautoscaler": h.Name, "scaletargetref_api_version": "apps/v1", "scaletargetref_kind": h.TargetKind, "scaletargetref_name": h.TargetName})}
		vs := []float64{1}
		for _, m := range h.Targets {
			l := Labels{"namespace": h.Namespace, "horizontalpodautoscaler": h.Name, "metric_name": m.Metric, "metric_target_type": m.Type}
			name := "kube_horizontalpodautoscaler_spec_target_metric"
			if m.Container != "" {
				name, l["container_name"] = "kube_horizontalpodautoscaler_spec_target_container_metric", m.Container
			}
			series, vs = append(series, add(name, l)), append(vs, m.Value)
		}
		for i, x := range series {
			for t := s.Start; t <= s.End; t += 60 {
				x.pts = append(x.pts, pt{t, vs[i]})
			}
		}
	}
	for k, n := range s.MaxSurges {
		ns, name, _ := strings.Cut(k, "/")
		x := add("kube_deployment_spec_strategy_rollingupdate_max_surge", Labels{"namespace": ns, "deployment": name})
		for t := s.Start; t <= s.End; t += 60 {
			x.pts = append(x.pts, pt{t, float64(n)})
		}
	}
	if s.NodeAllocatable > 0 {
		n := add("kube_node_status_allocatable", Labels{"node": "node-1", "resource": "memory", "unit": "byte"})
		for t := s.Start; t <= s.End; t += 60 {
			n.pts = append(n.pts, pt{t, s.NodeAllocatable})
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	w := NewWriter(f)
	names := make([]string, 0, len(fam))
	for n := range fam {
		names = append(names, n)
	}
	sort.Strings(names)
	seen := map[string]bool{}
	for _, n := range names {
		w.Family(n)
		for _, x := range fam[n] {
			if seen[n+x.labels] {
				continue // replicas of one ReplicaSet share its owner series
			}
			seen[n+x.labels] = true
			for _, p := range x.pts {
				w.SampleLabels(x.labels, p.v, p.t)
			}
		}
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("writing %s: %w", path, err)
	}
	return kills, f.Close()
}

// KillTimes runs one container through the history as WriteFile does and
// returns when it was killed.
func (s *Sim) KillTimes(c Container) []int64 {
	scrape := s.Scrape
	if scrape == 0 {
		scrape = 30
	}
	var out []int64
	born := s.Start
	for t := s.Start; t <= s.End; t += scrape {
		if c.Limit > 0 && c.Usage(t, t-born) >= c.Limit {
			out = append(out, t)
			born = t
		}
	}
	return out
}

func sparse(x *series, start, end int64) {
	for t := start; t <= end; t += 600 {
		x.pts = append(x.pts, pt{t, 1})
	}
}

func merge(a, b Labels) Labels {
	out := Labels{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// Noise is a deterministic wobble in [-1, 1] for simulated usage.
func Noise(t int64) float64 {
	x := uint64(t) * 0x9E3779B97F4A7C15
	x ^= x >> 29
	return float64(x%2001)/1000 - 1
}
