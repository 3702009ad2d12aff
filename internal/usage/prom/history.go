package prom

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	pmodel "github.com/prometheus/common/model"

	"github.com/oomdoctor/oomdoctor/internal/model"
)

// Point is one value of a series: T in unix seconds.
type Point = model.Point

// Kill is an OOM kill seen in the history.
type Kill struct {
	// T is when it was seen (unix seconds): within one step before.
	T int64
	// Count is how many kills that step saw.
	Count int
	// Limit is the container's memory limit then (0: unknown).
	Limit float64
	// Source names the series it was seen in.
	Source string
	// Pod is whose it was (set by Merge).
	Pod string
}

// Container is one container of one pod, with its history.
type Container struct {
	Namespace, Pod, Name string
	// Workload is the pod's owner, from kube-state-metrics' kube_pod_owner
	// (and kube_replicaset_owner, kube_job_owner); WorkloadGuessed says it
	// was guessed from the pod's name because those series are missing.
	Workload        model.WorkloadRef
	WorkloadGuessed bool
	// WorkingSet is the highest working set within each step; RSS, Cache
	// and Swap are there when asked for (Query.Detail).
	WorkingSet, RSS, Cache, Swap []Point
	// Request and Limit are the memory request and limit (from
	// kube-state-metrics; empty when it is missing): over time with
	// Query.Detail, else only the last value.
	Request, Limit []Point
	Kills          []Kill
	// Restarts is the container's restart count at each step, whatever
	// the reason (kube-state-metrics; Query.UsageOnly and Detail read it,
	// and the series files, to tell the container's lifetimes apart).
	Restarts []Point

	// the series kills are made from: restarts in steps with an OOM kill,
	// cAdvisor's OOM events, the limit in those steps
	kubeKills, oomEvents, killLimits, eventLimits, agentKills []Point
	// terminations: steps a container became terminated OOMKilled in (one
	// that does not restart: restartPolicy Never).
	terminations []Point
}

// At returns the value of a step series at or before t (0, false when none).
func At(ps []Point, t int64) (float64, bool) {
	i := sort.Search(len(ps), func(i int) bool { return ps[i].T > t })
	if i == 0 {
		return 0, false
	}
	return ps[i-1].V, true
}

// Query says what history to read.
type Query struct {
	// Namespaces to read; empty reads every namespace that has container
	// series.
	Namespaces []string
	// Pods, when set, reads only these pods (of the one namespace given).
	Pods       []string
	Start, End time.Time
	// Step is the resolution; each point is the highest value within its
	// step. 0 means 5m.
	Step time.Duration
	// Detail reads RSS, cache and swap too, the request and limit over
	// time, and cAdvisor's OOM events.
	Detail bool
	// UsageOnly reads the working set, the restart count and the current
	// request and limit alone, no kills: for a second look, at a finer
	// step, at containers whose kills are known already (the kill queries
	// cost Prometheus the most).
	UsageOnly bool
	// CacheOnly reads RSS and page cache alone (with UsageOnly's
	// shortcuts: no kills, no owners): for a look at the charge before
	// kills known already.
	CacheOnly bool
	// OOMEvents reads cAdvisor's container_oom_events_total (kills of a
	// container's child processes that kube-state-metrics never sees);
	// it reads every container's counter, as much work for Prometheus as
	// the working set.
	OOMEvents bool
	// BatchPods is how many pods one query covers at most; 0 means 100.
	BatchPods int
	// Owners are the workloads of pods known for certain (from the
	// cluster or a snapshot), by namespace/pod: kube-state-metrics'
	// owner series are read only for the other pods.
	Owners map[string]model.WorkloadRef
}

// Stats count the work done.
type Stats struct {
	Namespaces, Pods, Containers, Queries int
	Points                                int64
}

// maxPoints is below Prometheus' 11,000 points per series of a range query.
const maxPoints = 10000

var podNameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)

// History reads the memory history of the containers q names, one
// namespace at a time, and calls fn with each namespace's containers
// (workloads whole: all the replicas of a workload come in one call).
// Failed or partial queries become notes; the error is for when
// Prometheus cannot be asked at all (or fn fails).
func (c *Client) History(ctx context.Context, q Query, fn func(ns string, cs []*Container) error, progress func(done, total int)) (notes []string, st Stats, err error) {
	if q.Step <= 0 {
		q.Step = 5 * time.Minute
	}
	if q.BatchPods <= 0 {
		q.BatchPods = 100
	}
	if !q.End.After(q.Start) {
		return nil, st, fmt.Errorf("the history's end %s is not after its start %s", q.End.Format(time.RFC3339), q.Start.Format(time.RFC3339))
	}
	if len(q.Pods) > 0 && len(q.Namespaces) != 1 {
		return nil, st, fmt.Errorf("reading given pods needs exactly one namespace")
	}
	for _, p := range q.Pods {
		if !podNameRE.MatchString(p) {
			return nil, st, fmt.Errorf("%q is not a pod name", p)
		}
	}
	r := &run{c: c, q: q, sem: make(chan struct{}, c.cfg.Concurrency)}
	nss := q.Namespaces
	if len(nss) == 0 {
		nss, err = r.namespaces(ctx)
		if err != nil {
			return nil, st, err
		}
	} else if len(q.Pods) == 0 {
		// Check Prometheus answers before going on.
		if _, err := r.labelValues(ctx, c.cfg.Labels.Namespace, r.wsMatcher("")); err != nil {
			return nil, st, err
		}
	}
	st.Namespaces = len(nss)
	// Namespaces overlap (one's listing while another's range queries
	// run); the queries in flight stay within Concurrency, and fn is
	// called for one namespace at a time.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan string)
	var fnMu sync.Mutex
	var fnErr error
	done := 0
	var wg sync.WaitGroup
	for w := 0; w < min(r.c.cfg.Concurrency, len(nss)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ns := range next {
				cs := r.namespace(ctx, ns)
				fnMu.Lock()
				if fnErr == nil && ctx.Err() == nil && len(cs) > 0 {
					if err := fn(ns, cs); err != nil {
						fnErr = err
						cancel()
					}
				}
				done++
				if progress != nil && fnErr == nil {
					progress(done, len(nss))
				}
				fnMu.Unlock()
			}
		}()
	}
	for _, ns := range nss {
		select {
		case next <- ns:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(next)
	wg.Wait()
	if fnErr != nil {
		return r.notes, r.stats(st), fnErr
	}
	return r.notes, r.stats(st), ctx.Err()
}

type run struct {
	c *Client
	q Query

	mu                  sync.Mutex
	notes               []string
	queries, pods, ctrs int
	points              int64
	ownersMissing       bool
	warnings            map[string]bool
	sem                 chan struct{}
}

func (r *run) stats(st Stats) Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	st.Queries, st.Pods, st.Containers, st.Points = r.queries, r.pods, r.ctrs, r.points
	return st
}

func (r *run) note(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

func (r *run) warn(ws v1.Warnings) {
	if len(ws) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.warnings == nil {
		r.warnings = map[string]bool{}
	}
	for _, w := range ws {
		if !r.warnings[w] {
			r.warnings[w] = true
			r.notes = append(r.notes, "Prometheus warned: "+w+" (the data may be partial)")
		}
	}
}

// reach turns a transport error into one that says what to check.
func (r *run) reach(err error) error {
	var pe *v1.Error
	if errors.As(err, &pe) {
		msg := pe.Msg
		var body struct {
			Error string `json:"error"`
		}
		if json.Unmarshal([]byte(pe.Detail), &body) == nil && body.Error != "" {
			msg = body.Error // a 503's reason is in the body: a timeout, the sample limit
		}
		if code := refusedCode(pe); code != 0 {
			return r.c.credentials(code, pe.Detail)
		}
		switch {
		case pe.Type == v1.ErrClient && strings.HasPrefix(pe.Msg, "client error: 404"):
			return fmt.Errorf("no Prometheus query API at %s (404 Not Found for its /api/v1/ paths): check %s: the address, and the path when Prometheus is served under a prefix (--web.route-prefix, say http://HOST:9090/prometheus); a Grafana URL is not one, its Prometheus data source's URL is", r.c.url, r.c.flag())
		case pe.Type == v1.ErrBadResponse && strings.Contains(pe.Msg, "found <"):
			return fmt.Errorf("the server at %s answered with a web page, not Prometheus' API (a login page, a proxy's or a load balancer's error, a Grafana?): check %s", r.c.url, r.c.flag())
		}
		return fmt.Errorf("the query was refused by Prometheus at %s: %s", r.c.url, msg)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("no answer from Prometheus at %s within %s: check %s, or raise --prometheus-timeout", r.c.url, r.c.flag(), r.c.cfg.Timeout)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		if r.c.cfg.Transport != nil {
			return fmt.Errorf("cannot reach Prometheus at %s: %v (check --prometheus-service and the API server)", r.c.url, ue.Err)
		}
		return fmt.Errorf("cannot reach Prometheus at %s: %v (check --prometheus-url and the network; behind kubectl port-forward use http://127.0.0.1:PORT)", r.c.url, ue.Err)
	}
	return fmt.Errorf("asking Prometheus at %s: %v", r.c.url, err)
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// sel builds the matchers for a namespace and optionally some pods.
func (r *run) sel(ns string, pods []string) string {
	L := r.c.cfg.Labels
	var parts []string
	if ns != "" {
		parts = append(parts, L.Namespace+"="+quote(ns))
	}
	if len(pods) > 0 {
		q := make([]string, len(pods))
		for i, p := range pods {
			q[i] = regexp.QuoteMeta(p)
		}
		parts = append(parts, L.Pod+"=~"+quote(strings.Join(q, "|")))
	}
	if r.c.cfg.Selector != "" {
		parts = append(parts, r.c.cfg.Selector)
	}
	return strings.Join(parts, ",")
}

func (r *run) wsMatcher(sel string) string {
	C := r.c.cfg.Labels.Container
	s := fmt.Sprintf(`container_memory_working_set_bytes{%s!="",%s!="POD"`, C, C)
	if sel != "" {
		s += "," + sel
	}
	return s + "}"
}

// ask runs one API call within the query budget (Concurrency) and the
// timeout, counts it, and passes Prometheus' warnings on; the error says
// what to check.
func (r *run) ask(ctx context.Context, call func(ctx context.Context) (v1.Warnings, error)) error {
	r.sem <- struct{}{}
	defer func() { <-r.sem }()
	cctx, cancel := r.c.ctx(ctx)
	defer cancel()
	r.mu.Lock()
	r.queries++
	r.mu.Unlock()
	ws, err := call(cctx)
	if err != nil {
		return r.reach(err)
	}
	r.warn(ws)
	return nil
}

// labelValues lists the values of label in the series any of matches
// selects.
func (r *run) labelValues(ctx context.Context, label string, matches ...string) ([]string, error) {
	var vals pmodel.LabelValues
	err := r.ask(ctx, func(ctx context.Context) (ws v1.Warnings, err error) {
		vals, ws, err = r.c.api.LabelValues(ctx, label, matches, r.q.Start, r.q.End)
		return ws, err
	})
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(vals))
	for _, v := range vals {
		out = append(out, string(v))
	}
	sort.Strings(out)
	return out, nil
}

// killedMatchers select kube-state-metrics' series of the containers
// whose last termination was an OOM kill, or that are terminated by one
// (restartPolicy Never: no restart, no last termination). A container
// killed within seconds of every start has no working set at all
// (cAdvisor samples a container every 10-15 s), only these: its pod and
// namespace are listed through them.
func (r *run) killedMatchers(sel string) []string {
	if sel != "" {
		sel = "," + sel
	}
	return []string{
		`kube_pod_container_status_last_terminated_reason{reason="OOMKilled"` + sel + "}",
		`kube_pod_container_status_terminated_reason{reason="OOMKilled"` + sel + "}",
	}
}

func (r *run) namespaces(ctx context.Context) ([]string, error) {
	all := r.sel("", nil)
	nss, err := r.labelValues(ctx, r.c.cfg.Labels.Namespace, append([]string{r.wsMatcher(all)}, r.killedMatchers(all)...)...)
	if err != nil {
		return nil, err
	}
	if len(nss) == 0 {
		return nil, fmt.Errorf("no container_memory_working_set_bytes series with a %q label in Prometheus at %s between %s and %s: is it scraping the kubelets' cAdvisor endpoint (/metrics/cadvisor)? If the series are relabeled, set --prometheus-labels",
			r.c.cfg.Labels.Namespace, r.c.url, r.q.Start.Format(time.RFC3339), r.q.End.Format(time.RFC3339))
	}
	return nss, nil
}

// namespace reads one namespace's history.
func (r *run) namespace(ctx context.Context, ns string) []*Container {
	pods := r.q.Pods
	var killed map[string]bool
	if !r.q.UsageOnly && !r.q.CacheOnly {
		killed = r.killedPods(ctx, ns)
	}
	if len(pods) == 0 {
		var err error
		pods, err = r.labelValues(ctx, r.c.cfg.Labels.Pod, r.wsMatcher(r.sel(ns, nil)))
		if err != nil {
			r.note("namespace %s: listing its pods failed: %v; it is left out", ns, err)
			return nil
		}
		// A pod whose container was killed before any sample is listed
		// through its kills (cheaper than a second matcher above: label
		// values with matchers read every matching series).
		listed := make(map[string]bool, len(pods))
		for _, p := range pods {
			listed[p] = true
		}
		for _, p := range slices.Sorted(maps.Keys(killed)) {
			if !listed[p] {
				pods = append(pods, p)
			}
		}
	}
	owners := map[string]owner{}
	if !r.q.UsageOnly && !r.q.CacheOnly { // a second look needs no owners (nor a note on them)
		owners = r.owners(ctx, ns, pods)
	}
	// Batches of whole workloads, so that a workload's replicas come in
	// the same queries when they fit.
	sort.SliceStable(pods, func(i, j int) bool {
		a, b := owners[pods[i]], owners[pods[j]]
		if a.Kind+a.Name != b.Kind+b.Name {
			return a.Kind+"/"+a.Name < b.Kind+"/"+b.Name
		}
		return pods[i] < pods[j]
	})
	ctrs := map[[2]string]*Container{}
	get := func(pod, name string) *Container {
		k := [2]string{pod, name}
		c := ctrs[k]
		if c == nil {
			w := owners[pod]
			c = &Container{Namespace: ns, Pod: pod, Name: name, Workload: model.WorkloadRef{Namespace: ns, Kind: w.Kind, Name: w.Name}, WorkloadGuessed: w.guessed}
			ctrs[k] = c
		}
		return c
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for start := 0; start < len(pods); start += r.q.BatchPods {
		all := pods[start:min(start+r.q.BatchPods, len(pods))]
		var someKilled []string
		for _, p := range all {
			if killed == nil || killed[p] {
				someKilled = append(someKilled, p)
			}
		}
		for _, m := range r.metrics() {
			batch := all
			if m.killedOnly {
				if batch = someKilled; len(batch) == 0 {
					continue
				}
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				query := r.rangeQuery
				if m.instant {
					query = r.instantQuery
				}
				sel := r.sel(ns, batch)
				if len(batch) == len(pods) && len(r.q.Pods) == 0 {
					sel = r.sel(ns, nil) // the whole namespace: no pod matcher to evaluate
				}
				series, err := query(ctx, m.query(r, sel))
				if err != nil {
					r.note("namespace %s, %d pods from %s: %s failed: %v; %s", ns, len(batch), batch[0], m.name, err, m.without)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				for key, ps := range series {
					m.set(get(key[0], key[1]), ps)
				}
			}()
		}
	}
	wg.Wait()
	out := make([]*Container, 0, len(ctrs))
	podSeen := map[string]bool{}
	for _, c := range ctrs {
		// A container with kills and no working set was killed before
		// cAdvisor ever sampled it: its kills alone size it. A look at
		// the charge alone keeps what it read.
		c.Kills = kills(c, int64(r.q.Step.Seconds()))
		if len(c.WorkingSet) == 0 && len(c.Kills) == 0 && (!r.q.CacheOnly || len(c.RSS)+len(c.Cache) == 0) {
			continue
		}
		out = append(out, c)
		podSeen[c.Pod] = true
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Workload != b.Workload {
			return a.Workload.Kind+"/"+a.Workload.Name < b.Workload.Kind+"/"+b.Workload.Name
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Pod < b.Pod
	})
	r.mu.Lock()
	r.pods += len(podSeen)
	r.ctrs += len(out)
	r.mu.Unlock()
	return out
}

// metric is one range query per batch and what it fills in.
type metric struct {
	name    string
	query   func(r *run, sel string) string
	set     func(c *Container, ps []Point)
	without string
	// instant asks for one value at the end of the history.
	instant bool
	// killedOnly asks only about the pods kube-state-metrics saw
	// OOM-killed.
	killedOnly bool
}

// killedPods lists the pods of a namespace whose last termination reason
// (or termination reason) was OOMKilled at some time in the history:
// kube-state-metrics exports those series only then, so the series API
// (the index, no samples) finds them. nil means it could not tell (ask
// about every pod).
func (r *run) killedPods(ctx context.Context, ns string) map[string]bool {
	var sets []pmodel.LabelSet
	err := r.ask(ctx, func(ctx context.Context) (ws v1.Warnings, err error) {
		sets, ws, err = r.c.api.Series(ctx, r.killedMatchers(r.sel(ns, r.q.Pods)), r.q.Start, r.q.End)
		return ws, err
	})
	if err != nil {
		return nil
	}
	out := map[string]bool{}
	for _, ls := range sets {
		out[string(ls[pmodel.LabelName(r.c.cfg.Labels.Pod)])] = true
	}
	return out
}

func (r *run) metrics() []metric {
	L := r.c.cfg.Labels
	by := L.Namespace + "," + L.Pod + "," + L.Container
	step := pmodel.Duration(r.q.Step).String()
	peak := func(name string) func(r *run, sel string) string {
		return func(r *run, sel string) string {
			return fmt.Sprintf(`max by (%s) (max_over_time(%s{%s!="",%s!="POD",%s}[%s]))`, by, name, L.Container, L.Container, sel, step)
		}
	}
	gauge := func(expr string) func(r *run, sel string) string {
		return func(r *run, sel string) string { return fmt.Sprintf(`max by (%s) (%s)`, by, fmt.Sprintf(expr, sel)) }
	}
	// The kills are found on the server, so that only the steps with a
	// kill come back: the restart count grew within the step while the
	// last termination reason was OOMKilled...
	// A pod started within the step counts all its restarts: killed
	// before the first scrape, its counter is born at 1, with nothing a
	// step before to differ from.
	// Each series is read over the step (max_over_time: the count only
	// grows), not at its end: a pod deleted within the step has no
	// sample there, and its last kills would be lost.
	pod := L.Namespace + "," + L.Pod
	kubeKills := func(sel string) string {
		restarts := fmt.Sprintf(`max by (%s) (max_over_time(kube_pod_container_status_restarts_total{%s}[%s]))`, by, sel, step)
		return fmt.Sprintf(`((%[3]s - max by (%[1]s) (max_over_time(kube_pod_container_status_restarts_total{%[2]s}[%[4]s] offset %[4]s))) or (%[3]s and on (%[5]s) (max by (%[5]s) (max_over_time(kube_pod_start_time{%[2]s}[%[4]s])) > time() - %[6]d))) > 0 and on (%[1]s) (max by (%[1]s) (max_over_time(kube_pod_container_status_last_terminated_reason{reason="OOMKilled",%[2]s}[%[4]s])) > 0)`,
			by, sel, restarts, step, pod, int64(r.q.Step.Seconds()))
	}
	// ...or cAdvisor counted an OOM event (over two steps: the counter
	// of a container that dies is seldom scraped twice). The count is
	// each series' highest value less its lowest in the window: increase()
	// extrapolates to the window's edges, and one kill between samples
	// 10-20 s apart reads as 1.5 of them. Only a window where the counter
	// was reset (the agent or the kubelet restarted) takes increase(),
	// which sees through resets.
	counted := func(name, matchers string) string {
		x := fmt.Sprintf("%s{%s}[%s]", name, matchers, pmodel.Duration(2*r.q.Step))
		return fmt.Sprintf(`(((max_over_time(%[1]s) - min_over_time(%[1]s)) unless resets(%[1]s) > 0) or increase(%[1]s))`, x)
	}
	// cAdvisor knows a container from its start: a child killed before
	// the first scrape makes the counter's first sample 1. A series absent
	// two steps before, of a container started within them
	// (container_start_time_seconds, same labels), counts whole.
	oomEvents := func(sel string) string {
		m := fmt.Sprintf(`%s!="",%s!="POD",%s`, L.Container, L.Container, sel)
		w := 2 * r.q.Step
		e := fmt.Sprintf("container_oom_events_total{%s}", m)
		born := fmt.Sprintf(`((%[1]s unless %[1]s offset %[2]s) and (container_start_time_seconds{%[3]s} > time() - %[4]d))`, e, pmodel.Duration(w), m, int64(w.Seconds()))
		return fmt.Sprintf(`max by (%s) (%s or %s) > 0`, by, born, counted("container_oom_events_total", m))
	}
	ws := metric{name: "working set", query: peak("container_memory_working_set_bytes"), set: func(c *Container, ps []Point) { c.WorkingSet = ps }, without: "these pods are left out"}
	// Only the current request and limit (of the pods running at the
	// end): one value per container, a few samples read.
	current := []metric{
		{name: "memory limits", instant: true, query: gauge(`kube_pod_container_resource_limits{resource="memory",%s}`), set: func(c *Container, ps []Point) { c.Limit = ps }, without: "their limits are unknown"},
		{name: "memory requests", instant: true, query: gauge(`kube_pod_container_resource_requests{resource="memory",%s}`), set: func(c *Container, ps []Point) { c.Request = ps }, without: "their requests are unknown"},
	}
	// The restart count tells lifetimes apart where the working set drops
	// too little at a restart to show it (a mild leak), or a restart that
	// was not an OOM kill (a liveness probe).
	restarts := metric{name: "restarts", query: gauge(`kube_pod_container_status_restarts_total{%s}`), set: func(c *Container, ps []Point) { c.Restarts = ps }, without: "their restarts are unknown"}
	rss := metric{name: "rss", query: peak("container_memory_rss"), set: func(c *Container, ps []Point) { c.RSS = ps }, without: "their RSS is unknown"}
	cache := metric{name: "page cache", query: peak("container_memory_cache"), set: func(c *Container, ps []Point) { c.Cache = ps }, without: "their page cache is unknown"}
	if r.q.CacheOnly {
		return []metric{rss, cache}
	}
	if r.q.UsageOnly {
		return append([]metric{ws, restarts}, current...)
	}
	ms := []metric{
		ws,
		{name: "OOM kills (kube-state-metrics)", killedOnly: true, query: func(r *run, sel string) string { return kubeKills(sel) }, set: func(c *Container, ps []Point) { c.kubeKills = ps }, without: "kills seen by kube-state-metrics are missing"},
		{name: "OOM terminations (kube-state-metrics)", killedOnly: true, query: func(r *run, sel string) string {
			reason := func(offset string) string {
				return fmt.Sprintf(`max by (%s) (kube_pod_container_status_terminated_reason{reason="OOMKilled",%s}%s)`, by, sel, offset)
			}
			return fmt.Sprintf(`(%s == 1) unless (%s == 1)`, reason(""), reason(" offset "+step))
		}, set: func(c *Container, ps []Point) { c.terminations = ps }, without: "kills of containers that do not restart are missing"},
		{name: "limits at the kills", killedOnly: true, query: func(r *run, sel string) string {
			return fmt.Sprintf(`max by (%[1]s) (kube_pod_container_resource_limits{resource="memory",%[2]s}) and on (%[1]s) (%[3]s)`, by, sel, kubeKills(sel))
		}, set: func(c *Container, ps []Point) { c.killLimits = ps }, without: "the limits at their kills are unknown"},
	}
	// The node agent's counter exists only for containers it saw killed
	// (child processes too, and kills whose container restarted before a
	// scrape): cheap to read everywhere. The agent labels its series
	// namespace, pod and container. Its series are born at 1 at a first
	// kill (and at the first kill after the agent restarted), a rise
	// neither max - min nor increase() sees: a series absent at the
	// window's start whose last kill (its timestamp gauge) falls in the
	// window counts whole. The gauge keeps a series that reappeared after
	// a scrape gap from counting again.
	ms = append(ms, metric{name: "OOM kills (node agent)", query: func(r *run, sel string) string {
		w := 2 * r.q.Step
		s := fmt.Sprintf("oomdoctor_oom_kills_total{%s}", sel)
		born := fmt.Sprintf(`((%[1]s unless %[1]s offset %[2]s) and (oomdoctor_oom_last_kill_timestamp_seconds{%[3]s} > time() - %[4]d))`, s, pmodel.Duration(w), sel, int64(w.Seconds()))
		return fmt.Sprintf(`sum by (%s) (%s or %s) > 0`, by, born, counted("oomdoctor_oom_kills_total", sel))
	}, set: func(c *Container, ps []Point) { c.agentKills = ps }, without: "kills seen by the node agent are missing"})
	if r.q.OOMEvents || r.q.Detail {
		// Every container's counter is read: as much work for Prometheus
		// as the working set.
		ms = append(ms,
			metric{name: "OOM events (cAdvisor)", query: func(r *run, sel string) string { return oomEvents(sel) }, set: func(c *Container, ps []Point) { c.oomEvents = ps }, without: "kills seen by cAdvisor are missing"},
			metric{name: "limits at the OOM events", query: func(r *run, sel string) string {
				return fmt.Sprintf(`max by (%[1]s) (kube_pod_container_resource_limits{resource="memory",%[2]s}) and on (%[1]s) (%[3]s)`, by, sel, oomEvents(sel))
			}, set: func(c *Container, ps []Point) { c.eventLimits = ps }, without: "the limits at their OOM events are unknown"},
		)
	}
	if r.q.Detail {
		ms = append(ms,
			metric{name: "memory limits", query: gauge(`kube_pod_container_resource_limits{resource="memory",%s}`), set: func(c *Container, ps []Point) { c.Limit = ps }, without: "their limits are unknown"},
			metric{name: "memory requests", query: gauge(`kube_pod_container_resource_requests{resource="memory",%s}`), set: func(c *Container, ps []Point) { c.Request = ps }, without: "their requests are unknown"},
			rss, cache,
			metric{name: "swap", query: peak("container_memory_swap"), set: func(c *Container, ps []Point) { c.Swap = ps }, without: "their swap is unknown"},
			restarts,
		)
	} else {
		ms = append(ms, current...)
	}
	return ms
}

// rangeQuery runs a range query over the whole history, in chunks of at
// most maxPoints steps, and returns the series by (pod, container).
func (r *run) rangeQuery(ctx context.Context, query string) (map[[2]string][]Point, error) {
	L := r.c.cfg.Labels
	out := map[[2]string][]Point{}
	step := r.q.Step
	for s := r.q.Start; !s.After(r.q.End); s = s.Add(maxPoints * step) {
		e := s.Add((maxPoints - 1) * step)
		if e.After(r.q.End) {
			e = r.q.End
		}
		var val pmodel.Value
		err := r.ask(ctx, func(ctx context.Context) (ws v1.Warnings, err error) {
			val, ws, err = r.c.api.QueryRange(ctx, query, v1.Range{Start: s, End: e, Step: step}, v1.WithTimeout(r.c.cfg.Timeout))
			return ws, err
		})
		if err != nil {
			return nil, err
		}
		m, ok := val.(pmodel.Matrix)
		if !ok {
			return nil, fmt.Errorf("the answer is a %s, not a matrix", val.Type())
		}
		var n int64
		for _, ss := range m {
			k := [2]string{string(ss.Metric[pmodel.LabelName(L.Pod)]), string(ss.Metric[pmodel.LabelName(L.Container)])}
			ps := out[k]
			for _, v := range ss.Values {
				if math.IsNaN(float64(v.Value)) {
					continue
				}
				ps = append(ps, Point{T: int64(v.Timestamp) / 1000, V: float64(v.Value)})
			}
			n += int64(len(ss.Values))
			out[k] = ps
		}
		r.mu.Lock()
		r.points += n
		r.mu.Unlock()
	}
	return out, nil
}

// instantQuery asks for the value at the end of the history, by (pod,
// container).
func (r *run) instantQuery(ctx context.Context, query string) (map[[2]string][]Point, error) {
	L := r.c.cfg.Labels
	var val pmodel.Value
	err := r.ask(ctx, func(ctx context.Context) (ws v1.Warnings, err error) {
		val, ws, err = r.c.api.Query(ctx, query, r.q.End, v1.WithTimeout(r.c.cfg.Timeout))
		return ws, err
	})
	if err != nil {
		return nil, err
	}
	v, ok := val.(pmodel.Vector)
	if !ok {
		return nil, fmt.Errorf("the answer is a %s, not a vector", val.Type())
	}
	out := map[[2]string][]Point{}
	for _, s := range v {
		k := [2]string{string(s.Metric[pmodel.LabelName(L.Pod)]), string(s.Metric[pmodel.LabelName(L.Container)])}
		out[k] = []Point{{T: int64(s.Timestamp) / 1000, V: float64(s.Value)}}
	}
	return out, nil
}
