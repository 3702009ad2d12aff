package prom

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fake is a Prometheus HTTP API that answers from functions (a unit-test
// fake: the real server is in test/integration).
type fake struct {
	mu     sync.Mutex
	ranges []url3
	// rangeFn answers a range query: the series (labels → values at each
	// step), or an error type and message.
	rangeFn func(q string, start, end, step int64) (map[string][]float64, string)
	pods    []string
	owners  []map[string]string
	killed  []map[string]string
	// killedAsked and ownersAsked say the killed pods and the owners
	// were looked up.
	killedAsked, ownersAsked bool
}

type url3 struct {
	q                string
	start, end, step int64
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	w.Header().Set("Content-Type", "application/json")
	ok := func(data any, warnings ...string) {
		json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": data, "warnings": warnings})
	}
	switch {
	case strings.HasPrefix(r.URL.Path, "/api/v1/label/namespace/values"):
		ok([]string{"shop"})
	case strings.HasPrefix(r.URL.Path, "/api/v1/label/"):
		ok(append([]string{}, f.pods...))
	case r.URL.Path == "/api/v1/series":
		if strings.HasPrefix(r.Form.Get("match[]"), "kube_pod_owner") {
			f.mu.Lock()
			f.ownersAsked = true
			f.mu.Unlock()
			ok(append([]map[string]string{}, f.owners...))
			return
		}
		if strings.HasPrefix(r.Form.Get("match[]"), "kube_pod_container_status_last_terminated_reason") {
			f.mu.Lock()
			f.killedAsked = true
			f.mu.Unlock()
			ok(append([]map[string]string{}, f.killed...))
			return
		}
		ok([]any{})
	case r.URL.Path == "/api/v1/query":
		if f.rangeFn != nil {
			if _, fail := f.rangeFn(r.Form.Get("query"), 0, 0, 1); fail != "" {
				w.WriteHeader(http.StatusServiceUnavailable)
				json.NewEncoder(w).Encode(map[string]any{"status": "error", "errorType": "timeout", "error": fail})
				return
			}
		}
		ok(map[string]any{"resultType": "vector", "result": []any{}})
	case r.URL.Path == "/api/v1/query_range":
		q := r.Form.Get("query")
		start, _ := strconv.ParseFloat(r.Form.Get("start"), 64)
		end, _ := strconv.ParseFloat(r.Form.Get("end"), 64)
		step, _ := strconv.ParseFloat(r.Form.Get("step"), 64)
		f.mu.Lock()
		f.ranges = append(f.ranges, url3{q, int64(start), int64(end), int64(step)})
		f.mu.Unlock()
		series, fail := f.rangeFn(q, int64(start), int64(end), int64(step))
		if fail != "" {
			w.WriteHeader(http.StatusServiceUnavailable)
			json.NewEncoder(w).Encode(map[string]any{"status": "error", "errorType": "timeout", "error": fail})
			return
		}
		result := []any{}
		for ls, vs := range series {
			metric := map[string]string{}
			for _, kv := range strings.Split(ls, ",") {
				k, v, _ := strings.Cut(kv, "=")
				metric[k] = v
			}
			values := [][2]any{}
			for i, v := range vs {
				values = append(values, [2]any{start + float64(i)*step, strconv.FormatFloat(v, 'f', -1, 64)})
			}
			result = append(result, map[string]any{"metric": metric, "values": values})
		}
		ok(map[string]any{"resultType": "matrix", "result": result}, "some store was down")
	default:
		http.NotFound(w, r)
	}
}

func newFake(t *testing.T, f *fake, cfg Config) *Client {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	cfg.URL = srv.URL
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestHistoryChunksLongRanges(t *testing.T) {
	f := &fake{pods: []string{"web-6d5c9b8f4-h5xlp"}, rangeFn: func(q string, start, end, step int64) (map[string][]float64, string) {
		if !strings.HasPrefix(q, "max by (namespace,pod,container) (max_over_time(container_memory_working_set_bytes") {
			return nil, ""
		}
		n := (end-start)/step + 1
		return map[string][]float64{"namespace=shop,pod=web-6d5c9b8f4-h5xlp,container=web": make([]float64, n)}, ""
	}}
	c := newFake(t, f, Config{})
	end := time.Unix(1_800_000_000, 0)
	start := end.Add(-14 * 24 * time.Hour)
	var got []*Container
	notes, st, err := c.History(context.Background(), Query{Start: start, End: end, Step: 30 * time.Second}, func(ns string, cs []*Container) error {
		got = append(got, cs...)
		return nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// 14 days at 30 s is 40,321 points: five queries of at most 10,000.
	var ws []url3
	for _, r := range f.ranges {
		if strings.Contains(r.q, "working_set") {
			ws = append(ws, r)
		}
	}
	if len(ws) != 5 {
		t.Fatalf("want 5 chunks, got %d: %+v", len(ws), ws)
	}
	next := start.Unix()
	for _, r := range ws {
		if r.start != next || (r.end-r.start)/r.step+1 > maxPoints {
			t.Errorf("chunk %+v: want it to start at %d and hold at most %d points", r, next, maxPoints)
		}
		next = r.end + r.step
	}
	if len(got) != 1 || len(got[0].WorkingSet) != 40321 || st.Points < 40321 {
		t.Errorf("want one container with 40,321 points, got %d containers, stats %+v", len(got), st)
	}
	if len(notes) != 2 || !strings.Contains(notes[0], "kube_pod_owner has no series") || !strings.Contains(notes[1], "some store was down") {
		t.Errorf("want a note on the guessed owners and one (not one per query) on Prometheus' warning: %q", notes)
	}
	if got[0].Workload.Kind != "Deployment" || got[0].Workload.Name != "web" || !got[0].WorkloadGuessed {
		t.Errorf("without kube_pod_owner the workload is guessed from the name: %+v", got[0].Workload)
	}
}

func TestHistoryFailedQueriesBecomeNotes(t *testing.T) {
	f := &fake{
		pods:   []string{"a-0", "b-0"},
		owners: []map[string]string{{"namespace": "shop", "pod": "a-0", "owner_kind": "StatefulSet", "owner_name": "a"}, {"namespace": "shop", "pod": "b-0", "owner_kind": "StatefulSet", "owner_name": "b"}},
		rangeFn: func(q string, start, end, step int64) (map[string][]float64, string) {
			if strings.Contains(q, "kube_pod_container_resource_limits") {
				return nil, "query timed out in expression evaluation"
			}
			if strings.Contains(q, "working_set") {
				if strings.Contains(q, `pod=~"b-0"`) {
					return nil, "query timed out in expression evaluation"
				}
				return map[string][]float64{"namespace=shop,pod=a-0,container=app": {1, 2, 3}}, ""
			}
			return nil, ""
		}}
	c := newFake(t, f, Config{})
	end := time.Unix(1_800_000_000, 0)
	var got []*Container
	notes, _, err := c.History(context.Background(), Query{Namespaces: []string{"shop"}, Start: end.Add(-10 * time.Minute), End: end, BatchPods: 1}, func(ns string, cs []*Container) error {
		got = append(got, cs...)
		return nil
	}, nil)
	if err != nil {
		t.Fatalf("a failed query is a note, not an error: %v", err)
	}
	if len(got) != 1 || got[0].Pod != "a-0" || got[0].Workload.Kind != "StatefulSet" || got[0].WorkloadGuessed {
		t.Fatalf("want a-0 of StatefulSet a, got %+v", got)
	}
	text := strings.Join(notes, "\n")
	for _, want := range []string{"1 pods from b-0: working set failed", "query timed out in expression evaluation; these pods are left out", "memory limits failed", "their limits are unknown"} {
		if !strings.Contains(text, want) {
			t.Errorf("notes lack %q:\n%s", want, text)
		}
	}
}

func TestRelabeledSeries(t *testing.T) {
	f := &fake{pods: []string{"x"}, rangeFn: func(q string, start, end, step int64) (map[string][]float64, string) {
		if strings.Contains(q, "working_set") {
			return map[string][]float64{"kubernetes_namespace=shop,pod_name=x,container_name=app": {5}}, ""
		}
		return nil, ""
	}}
	l, err := ParseLabels("namespace=kubernetes_namespace,pod=pod_name,container=container_name")
	if err != nil {
		t.Fatal(err)
	}
	c := newFake(t, f, Config{Labels: l, Selector: `cluster="prod"`})
	end := time.Unix(1_800_000_000, 0)
	var got []*Container
	if _, _, err := c.History(context.Background(), Query{Namespaces: []string{"shop"}, Start: end.Add(-time.Hour), End: end}, func(ns string, cs []*Container) error {
		got = append(got, cs...)
		return nil
	}, nil); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Pod != "x" || got[0].Name != "app" {
		t.Fatalf("relabeled series not read: %+v", got)
	}
	for _, r := range f.ranges {
		if !strings.Contains(r.q, "by (kubernetes_namespace,pod_name,container_name)") || !strings.Contains(r.q, `cluster="prod"`) || !strings.Contains(r.q, `kubernetes_namespace="shop"`) {
			t.Errorf("query does not use the configured labels and selector: %s", r.q)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{URL: "prometheus:9090"}, "want http(s)://"},
		{Config{URL: "http://p", Selector: "cluster=prod"}, "quote each value"},
		{Config{URL: "http://p", Selector: `cluster="prod" region="eu"`}, "separate matchers with commas"},
		{Config{URL: "http://p", Selector: `="prod"`}, "want label matchers"},
		{Config{URL: "http://p", BearerToken: "a", BearerTokenFile: "b"}, "not both"},
		{Config{URL: "http://p", BearerTokenFile: "/nonexistent/token"}, "--prometheus-token-file"},
		{Config{URL: "http://p", CertFile: "c.pem"}, "both --prometheus-cert-file and --prometheus-key-file"},
		{Config{URL: "http://p", CAFile: "/nonexistent/ca.pem"}, "--prometheus-ca-file"},
	} {
		_, err := New(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: want an error saying %q, got %v", tc.cfg, tc.want, err)
		}
	}
	if _, err := New(Config{URL: "https://p:9090/prom", Selector: `cluster="prod",region=~"eu-.*"`}); err != nil {
		t.Errorf("valid config refused: %v", err)
	}
	for _, bad := range []string{"pod", "pod=", "pod=a b", "node=x"} {
		if _, err := ParseLabels(bad); err == nil {
			t.Errorf("ParseLabels(%q) accepted", bad)
		}
	}
}

func TestBearerToken(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Get("Authorization")
		fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"8589934592"]}]}}`)
	}))
	defer srv.Close()
	c, err := New(Config{URL: srv.URL, BearerToken: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	v, err := c.MaxAllocatable(context.Background(), time.Now())
	if err != nil || v != 8<<30 || got != "Bearer s3cret" {
		t.Errorf("allocatable %v, err %v, Authorization %q", v, err, got)
	}
}

func TestGuessOwner(t *testing.T) {
	for pod, want := range map[string]string{
		"web-6d5c9b8f4-h5xlp":    "Deployment/web",
		"my-app-7c9d8f6b5-x2kqp": "Deployment/my-app",
		"db-0":                   "StatefulSet/db",
		"kafka-broker-12":        "StatefulSet/kafka-broker",
		"fluentd-abcde":          "Pod/fluentd-abcde",
		"standalone":             "Pod/standalone",
	} {
		o := guessOwner(pod)
		if got := o.Kind + "/" + o.Name; got != want || !o.guessed {
			t.Errorf("guessOwner(%s) = %s, want %s", pod, got, want)
		}
	}
}

func TestKills(t *testing.T) {
	pts := func(vs ...float64) []Point {
		out := make([]Point, len(vs))
		for i, v := range vs {
			out[i] = Point{T: int64(i) * 300, V: v}
		}
		return out
	}
	c := &Container{
		WorkingSet: pts(1, 2, 3, 4, 5, 6, 7, 8),
		// kube-state-metrics: one kill in step 2, two in step 4.
		kubeKills:  []Point{{T: 600, V: 1}, {T: 1200, V: 2}},
		killLimits: []Point{{T: 600, V: 256}, {T: 1200, V: 512}, {T: 2100, V: 512}},
		// cAdvisor saw step 2's kill (twice: increase over two steps) and
		// one at step 7 kube-state-metrics did not.
		oomEvents: []Point{{T: 600, V: 1}, {T: 900, V: 1}, {T: 2100, V: 1}},
		// The node agent saw step 2's kill too, and a child kill at step
		// 10 that nothing else did.
		agentKills: []Point{{T: 600, V: 1}, {T: 900, V: 1}, {T: 3000, V: 1}},
	}
	want := []Kill{{T: 600, Count: 1, Limit: 256}, {T: 1200, Count: 2, Limit: 512}, {T: 2100, Count: 1, Limit: 512}, {T: 3000, Count: 1, Limit: 512}}
	check := func(ks []Kill) {
		t.Helper()
		if len(ks) != len(want) {
			t.Fatalf("kills %+v, want %+v", ks, want)
		}
		for i := range want {
			if ks[i].T != want[i].T || ks[i].Count != want[i].Count || ks[i].Limit != want[i].Limit {
				t.Errorf("kill %d: %+v, want %+v", i, ks[i], want[i])
			}
		}
	}
	check(kills(c, 300))
	// A container killed before any sample has no working set: the same
	// kills, the counters' runs told apart by the query's step.
	c.WorkingSet = nil
	check(kills(c, 300))
}

func TestMergeTakesTheLargestReplica(t *testing.T) {
	a := &Container{Namespace: "shop", Pod: "web-1", Name: "web", WorkingSet: []Point{{T: 0, V: 10}, {T: 300, V: 30}}, Limit: []Point{{T: 0, V: 100}}, Kills: []Kill{{T: 300}}}
	a.Workload.Kind, a.Workload.Name = "Deployment", "web"
	b := &Container{Namespace: "shop", Pod: "web-2", Name: "web", WorkingSet: []Point{{T: 300, V: 20}, {T: 600, V: 40}}, Limit: []Point{{T: 300, V: 200}}}
	b.Workload = a.Workload
	gs := Merge([]*Container{a, b}, false)
	if len(gs) != 1 {
		t.Fatalf("want one group, got %d", len(gs))
	}
	g := gs[0]
	if fmt.Sprint(g.WorkingSet) != "[{0 10} {300 30} {600 40}]" || g.Limit != 200 || len(g.Pods) != 2 || len(g.Kills) != 1 {
		t.Errorf("merged %+v", g)
	}
	if gs := Merge([]*Container{a, b}, true); len(gs) != 2 || gs[0].Workload.Kind != "Pod" {
		t.Errorf("per pod: %+v", gs)
	}
}

// Kills are asked for only about the pods whose last termination reason
// was OOMKilled in the range (found in the index).
func TestKillQueriesOnlyForKilledPods(t *testing.T) {
	f := &fake{
		pods:   []string{"a-0", "b-0", "c-0"},
		killed: []map[string]string{{"namespace": "shop", "pod": "b-0", "container": "app", "reason": "OOMKilled"}},
		rangeFn: func(q string, start, end, step int64) (map[string][]float64, string) {
			switch {
			case strings.Contains(q, "working_set"):
				return map[string][]float64{"namespace=shop,pod=a-0,container=app": {1, 2}, "namespace=shop,pod=b-0,container=app": {1, 2}}, ""
			case strings.HasPrefix(q, "((max by (namespace,pod,container) (max_over_time(kube_pod_container_status_restarts_total"):
				return map[string][]float64{"namespace=shop,pod=b-0,container=app": {1}}, ""
			}
			return nil, ""
		}}
	c := newFake(t, f, Config{})
	end := time.Unix(1_800_000_000, 0)
	var got []*Container
	if _, _, err := c.History(context.Background(), Query{Namespaces: []string{"shop"}, Start: end.Add(-5 * time.Minute), End: end}, func(ns string, cs []*Container) error {
		got = append(got, cs...)
		return nil
	}, nil); err != nil {
		t.Fatal(err)
	}
	kq := 0
	for _, r := range f.ranges {
		if strings.Contains(r.q, "restarts_total") {
			kq++
			if !strings.Contains(r.q, `pod=~"b-0"`) {
				t.Errorf("kill query about pods never killed: %s", r.q)
			}
		}
		if strings.Contains(r.q, "container_oom_events_total") {
			t.Errorf("cAdvisor's OOM events read without being asked for: %s", r.q)
		}
	}
	if kq != 2 {
		t.Errorf("want 2 kill queries (kills, limits at kills) about b-0, got %d", kq)
	}
	if len(got) != 2 || got[1].Pod != "b-0" || len(got[1].Kills) != 1 || len(got[0].Kills) != 0 {
		t.Errorf("want b-0 killed once: %+v", got)
	}
}

// b0 is a fake Prometheus with b-0's working set and restart count (and
// a kill, to see whether it is looked up), and what History reads of
// b-0 with the query's options.
func b0(t *testing.T, opts Query) (*fake, []*Container) {
	t.Helper()
	f := &fake{
		pods:   []string{"b-0"},
		killed: []map[string]string{{"namespace": "shop", "pod": "b-0", "container": "app", "reason": "OOMKilled"}},
		rangeFn: func(q string, start, end, step int64) (map[string][]float64, string) {
			switch {
			case strings.Contains(q, "working_set"):
				return map[string][]float64{"namespace=shop,pod=b-0,container=app": {1, 2}}, ""
			case strings.Contains(q, "restarts_total"):
				return map[string][]float64{"namespace=shop,pod=b-0,container=app": {3, 4}}, ""
			case strings.Contains(q, "container_memory_rss"), strings.Contains(q, "container_memory_cache"):
				return map[string][]float64{"namespace=shop,pod=b-0,container=app": {5, 6}}, ""
			}
			return nil, ""
		}}
	c := newFake(t, f, Config{})
	end := time.Unix(1_800_000_000, 0)
	opts.Namespaces, opts.Pods, opts.Start, opts.End = []string{"shop"}, []string{"b-0"}, end.Add(-5*time.Minute), end
	var got []*Container
	if _, _, err := c.History(context.Background(), opts, func(ns string, cs []*Container) error {
		got = append(got, cs...)
		return nil
	}, nil); err != nil {
		t.Fatal(err)
	}
	return f, got
}

// UsageOnly reads the working set and the restart count over the range
// (and the current limit and request at the end): no kill query, no
// series lookup of the killed pods, no owners. CacheOnly reads RSS and
// page cache alone, with the same shortcuts.
func TestUsageOnly(t *testing.T) {
	f, got := b0(t, Query{UsageOnly: true})
	var qs []string
	for _, r := range f.ranges {
		qs = append(qs, r.q)
	}
	reads := func(qs []string, name string) bool {
		return slices.ContainsFunc(qs, func(q string) bool { return strings.Contains(q, name+"{") })
	}
	if len(qs) != 2 || !reads(qs, "container_memory_working_set_bytes") ||
		!slices.Contains(qs, `max by (namespace,pod,container) (kube_pod_container_status_restarts_total{namespace="shop",pod=~"b-0"})`) {
		t.Errorf("want the working set's and the restart count's range queries alone, got %q", qs)
	}
	fc, cached := b0(t, Query{CacheOnly: true})
	var cqs []string
	for _, r := range fc.ranges {
		cqs = append(cqs, r.q)
	}
	if len(cqs) != 2 || !reads(cqs, "container_memory_rss") || !reads(cqs, "container_memory_cache") || fc.killedAsked || fc.ownersAsked {
		t.Errorf("CacheOnly: want RSS's and page cache's range queries alone, got %q (killed pods looked up: %v, owners: %v)", cqs, fc.killedAsked, fc.ownersAsked)
	}
	if len(cached) != 1 || len(cached[0].RSS) == 0 || len(cached[0].Cache) == 0 || len(cached[0].WorkingSet) != 0 {
		t.Errorf("CacheOnly: want b-0's RSS and page cache alone: %+v", cached)
	}
	if f.killedAsked || f.ownersAsked {
		t.Errorf("the killed pods (%v) or the owners (%v) were looked up", f.killedAsked, f.ownersAsked)
	}
	if len(got) != 1 || len(got[0].WorkingSet) != 2 || len(got[0].Restarts) != 2 || got[0].Restarts[1].V != 4 || len(got[0].Kills) != 0 {
		t.Errorf("want b-0's working set and restart count, no kills: %+v", got)
	}
}

// A diagnosis' detail reads the restart count too: lifetimes end at
// restarts that were no OOM kill, or whose working set dropped too little
// to show them.
func TestDetailReadsRestarts(t *testing.T) {
	if _, got := b0(t, Query{Detail: true}); len(got) != 1 || len(got[0].Restarts) != 2 || got[0].Restarts[1].V != 4 {
		t.Errorf("want b-0's restart count in the detail: %+v", got)
	}
}

// TLS: the server's CA verifies it; without it the error says what to
// check; --prometheus-insecure-skip-tls-verify skips the check.
func TestTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"1073741824"]}]}}`)
	}))
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{URL: srv.URL, CAFile: ca}, ""},
		{Config{URL: srv.URL, InsecureSkipTLSVerify: true}, ""},
		{Config{URL: srv.URL}, "certificate"},
	} {
		c, err := New(tc.cfg)
		if err != nil {
			t.Fatal(err)
		}
		v, err := c.MaxAllocatable(context.Background(), time.Now())
		switch {
		case tc.want == "" && (err != nil || v != 1<<30):
			t.Errorf("%+v: %v %v", tc.cfg, v, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "cannot reach Prometheus")):
			t.Errorf("%+v: want an error about the %s, got %v", tc.cfg, tc.want, err)
		}
	}
}
