package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/replay"
	"github.com/oomdoctor/oomdoctor/test/promserver"
	"github.com/oomdoctor/oomdoctor/test/scenario"
)

const mi = 1 << 20

var (
	promOnce  sync.Once
	promSrv   *promserver.Server
	promKills promserver.Kills
	promErr   error
	promSim   *promserver.Sim
	promDir   string // removed when the package's tests end
)

// prometheusHistory starts one real Prometheus for the package's tests over
// three days of a small cluster's history ending now.
func prometheusHistory(t *testing.T) (*promserver.Server, promserver.Kills) {
	t.Helper()
	promOnce.Do(func() {
		dir, err := os.MkdirTemp("", "oomdoctor-prom-")
		if err != nil {
			promErr = err
			return
		}
		promDir = dir
		end := time.Now().Unix() / 60 * 60
		sim := promserver.Sim{Start: end - 3*86400, End: end, NodeAllocatable: 8 << 30}
		day := func(t int64) float64 { return math.Sin(2 * math.Pi * float64(t%86400) / 86400) }
		cart := promserver.Container{Name: "cart", Request: 128 * mi, Limit: 256 * mi, Usage: func(t, age int64) float64 {
			u := 200*mi + 20*mi*day(t) + 4*mi*promserver.Noise(t)
			if t%(9*3600) < 120 { // a burst every nine hours
				u += 60 * mi
			}
			return u
		}}
		web := promserver.Container{Name: "web", Request: 512 * mi, Limit: 1024 * mi, Usage: func(t, age int64) float64 { return 100*mi + 5*mi*promserver.Noise(t) }}
		ledger := promserver.Container{Name: "ledger", Request: 64 * mi, Limit: 128 * mi, Usage: func(t, age int64) float64 { return 50*mi + 2*mi*promserver.Noise(t) }}
		worker := promserver.Container{Name: "worker", Request: 256 * mi, Limit: 512 * mi, Usage: func(t, age int64) float64 { return 300*mi + 30*mi*day(t) + 5*mi*promserver.Noise(t+7) }}
		promSim = &sim
		sim.Pods = []promserver.Pod{
			{Namespace: "shop", Name: "cart-7c9d8f6b5-x2kqp", OwnerKind: "ReplicaSet", OwnerName: "cart-7c9d8f6b5", Deployment: "cart", Containers: []promserver.Container{cart}},
			{Namespace: "shop", Name: "cart-7c9d8f6b5-m8zvt", OwnerKind: "ReplicaSet", OwnerName: "cart-7c9d8f6b5", Deployment: "cart", Containers: []promserver.Container{cart}},
			{Namespace: "shop", Name: "web-6d5c9b8f4-h5xlp", OwnerKind: "ReplicaSet", OwnerName: "web-6d5c9b8f4", Deployment: "web", Containers: []promserver.Container{web}},
			{Namespace: "shop", Name: "ledger", Containers: []promserver.Container{ledger}},
			{Namespace: "batch", Name: "worker-0", OwnerKind: "StatefulSet", OwnerName: "worker", Containers: []promserver.Container{worker}},
		}
		// A container that needs more than the largest node (8Gi) has.
		etl := promserver.Container{Name: "etl", Request: 6 << 30, Limit: 12 << 30, Usage: func(t, age int64) float64 { return 10<<30 + 100*mi*promserver.Noise(t) }}
		sim.Pods = append(sim.Pods, promserver.Pod{Namespace: "bigdata", Name: "etl-0", OwnerKind: "StatefulSet", OwnerName: "etl", Containers: []promserver.Container{etl}})
		// A Deployment killed a minute after every start, never sampled by
		// cAdvisor: kube-state-metrics' series only, in a namespace of its own.
		boot := promserver.Container{Name: "boot", Request: 32 * mi, Limit: 64 * mi, Unseen: true, Usage: func(t, age int64) float64 { return 16*mi + float64(age)*mi }}
		sim.Pods = append(sim.Pods, promserver.Pod{Namespace: "crashloop", Name: "boot-5f7b9c6d8-q4wzn", OwnerKind: "ReplicaSet", OwnerName: "boot-5f7b9c6d8", Deployment: "boot", Containers: []promserver.Container{boot}})
		// A container whose child processes the node agent saw killed
		// twice, the agent restarting between the two (its counter
		// starts again from 0): in a namespace of its own.
		kid := promserver.Container{Name: "worker", Request: 128 * mi, Limit: 256 * mi, AgentKills: []int64{end - 2*86400, end - 86400},
			Usage: func(t, age int64) float64 { return 100*mi + 4*mi*promserver.Noise(t) }}
		sim.AgentRestart = end - 86400 - 6*3600
		sim.Pods = append(sim.Pods, promserver.Pod{Namespace: "agent", Name: "worker", Containers: []promserver.Container{kid}})
		// Kills the restart counter's rise does not show, in a namespace
		// of their own: a pod created six hours before the end and
		// OOM-killed at once, before kube-state-metrics' first scrape of
		// it (its restart counter is born at 1), and a Job's pod that
		// does not restart, killed when it reaches its limit.
		late := promserver.Container{Name: "app", Request: 64 * mi, Limit: 128 * mi, Usage: func(t, age int64) float64 {
			if age < 30 {
				return 200 * mi
			}
			return 50*mi + 2*mi*promserver.Noise(t)
		}}
		sim.Pods = append(sim.Pods, promserver.Pod{Namespace: "late", Name: "app-0", OwnerKind: "StatefulSet", OwnerName: "app", Created: end - 6*3600, Containers: []promserver.Container{late}})
		report := promserver.Container{Name: "report", Request: 64 * mi, Limit: 128 * mi, Never: true, Usage: func(t, age int64) float64 { return 20*mi + float64(age)*mi/60 }}
		// ...and a pod whose child process was killed as it started,
		// before cAdvisor's first scrape: its OOM event counter is born
		// at 1.
		quick := promserver.Container{Name: "worker", Request: 64 * mi, Limit: 128 * mi, OOMEvents: []int64{end - 3*3600},
			Usage: func(t, age int64) float64 { return 40*mi + 2*mi*promserver.Noise(t) }}
		sim.Pods = append(sim.Pods, promserver.Pod{Namespace: "late", Name: "worker-0", OwnerKind: "StatefulSet", OwnerName: "worker", Created: end - 3*3600, Containers: []promserver.Container{quick}})
		sim.Pods = append(sim.Pods, promserver.Pod{Namespace: "late", Name: "report-29001-x7k2p", OwnerKind: "Job", OwnerName: "report-29001", Created: end - 12*3600, Containers: []promserver.Container{report}})
		// A mild leak in two replicas, in a namespace of its own: from
		// 160Mi at a start to the 256Mi limit in 6 hours, no drop at a
		// restart sharp enough to show it (only the restart count does).
		mild := promserver.Container{Name: "app", Request: 128 * mi, Limit: 256 * mi, Usage: func(t, age int64) float64 { return 160*mi + 16*mi*float64(age)/3600 + mi*promserver.Noise(t) }}
		for _, p := range []string{"slow-5d8f7c6b9-a1b2c", "slow-5d8f7c6b9-d3e4f"} {
			sim.Pods = append(sim.Pods, promserver.Pod{Namespace: "leaks", Name: p, OwnerKind: "ReplicaSet", OwnerName: "slow-5d8f7c6b9", Deployment: "slow", Containers: []promserver.Container{mild}})
		}
		// A namespace whose LimitRanges (kube_limitrange) allow at most
		// 768Mi and at least 32Mi a container: api needs more, the sidecar
		// less.
		api := promserver.Container{Name: "api", Request: 512 * mi, Limit: 1024 * mi, Usage: func(t, age int64) float64 { return 560*mi + 2*mi*promserver.Noise(t) }}
		side := promserver.Container{Name: "sidecar", Request: 16 * mi, Limit: 64 * mi, Usage: func(t, age int64) float64 { return 10*mi + mi*promserver.Noise(t+3) }}
		sim.Pods = append(sim.Pods, promserver.Pod{Namespace: "bounded", Name: "api-7c8d9e6f5-k2j4h", OwnerKind: "ReplicaSet", OwnerName: "api-7c8d9e6f5", Deployment: "api", Containers: []promserver.Container{api, side}})
		sim.LimitRanges = []promserver.LimitRange{{Namespace: "bounded", Name: "mem", Max: 768 * mi}, {Namespace: "bounded", Name: "floor", Min: 32 * mi}}
		// Its ResourceQuota (kube_resourcequota) counts the api pod's
		// 528Mi of requests and 1,088Mi of limits; a Job's pod there has
		// ended (killed, restartPolicy Never: Failed), and no quota
		// counts it.
		migrate := promserver.Container{Name: "migrate", Request: 64 * mi, Limit: 128 * mi, Never: true, Usage: func(t, age int64) float64 { return 40*mi + float64(age)*mi/600 }}
		sim.Pods = append(sim.Pods, promserver.Pod{Namespace: "bounded", Name: "migrate-29001-k8s7d", OwnerKind: "Job", OwnerName: "migrate-29001", Created: end - 24*3600, Containers: []promserver.Container{migrate}})
		sim.MaxSurges = map[string]int{"bounded/api": 1}
		sim.ResourceQuotas = []promserver.ResourceQuota{{Namespace: "bounded", Name: "ksm", Hard: map[string]float64{"requests.memory": 540 * mi, "limits.memory": 2048 * mi}, Used: map[string]float64{"requests.memory": 528 * mi, "limits.memory": 1088 * mi}}}
		// A Deployment of two replicas that an HPA scales on memory (as
		// kube-state-metrics exports it): at 80% of the pod's requests
		// (web's 256Mi and proxy's 32Mi), and at an average of 1Gi of
		// web's, above any limit it will have.
		webC := promserver.Container{Name: "web", Request: 256 * mi, Limit: 512 * mi, Usage: func(t, age int64) float64 { return 380*mi + 4*mi*promserver.Noise(t) }}
		proxyC := promserver.Container{Name: "proxy", Request: 32 * mi, Limit: 64 * mi, Usage: func(t, age int64) float64 { return 20*mi + mi*promserver.Noise(t+5) }}
		for _, p := range []string{"web-6b7c8d9f4-p9q8r", "web-6b7c8d9f4-s7t6u"} {
			sim.Pods = append(sim.Pods, promserver.Pod{Namespace: "scaled", Name: p, OwnerKind: "ReplicaSet", OwnerName: "web-6b7c8d9f4", Deployment: "web", Containers: []promserver.Container{webC, proxyC}})
		}
		sim.HPAs = []promserver.HPA{{Namespace: "scaled", Name: "web", TargetKind: "Deployment", TargetName: "web", Targets: []promserver.HPATarget{
			{Metric: "cpu", Type: "utilization", Value: 70},
			{Metric: "memory", Type: "utilization", Value: 80},
			{Metric: "memory", Type: "average", Container: "web", Value: 1024 * mi},
		}}}
		// A pod killed every 3 hours, deleted 2 hours into a 6-hour step
		// (its series end there), and its replacement, which is not.
		churn := promserver.Container{Name: "app", Request: 128 * mi, Limit: 256 * mi, Usage: func(t, age int64) float64 { return 100*mi + 50*mi*float64(age)/3600 }}
		calm := promserver.Container{Name: "app", Request: 128 * mi, Limit: 256 * mi, Usage: func(t, age int64) float64 { return 90*mi + mi*promserver.Noise(t) }}
		sim.Pods = append(sim.Pods,
			promserver.Pod{Namespace: "gone", Name: "churn-5f6d7c8b9-a1b2c", OwnerKind: "ReplicaSet", OwnerName: "churn-5f6d7c8b9", Deployment: "churn", Deleted: end - 28*3600, Containers: []promserver.Container{churn}},
			promserver.Pod{Namespace: "gone", Name: "churn-5f6d7c8b9-d3e4f", OwnerKind: "ReplicaSet", OwnerName: "churn-5f6d7c8b9", Deployment: "churn", Created: end - 28*3600, Containers: []promserver.Container{calm}})
		// The diagnosis namespace's pods (test/scenario) have their history here too.
		sim.Pods = append(sim.Pods, scenario.DiagnosisPods()...)
		om := filepath.Join(dir, "history.om")
		promKills, promErr = sim.WriteFile(om)
		if promErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		promSrv, promErr = promserver.Start(ctx, dir, om)
	})
	if promErr != nil {
		t.Fatalf("the Prometheus tests need a real Prometheus: %v", promErr)
	}
	return promSrv, promKills
}

func recommendations(t *testing.T, r result) model.Recommendations {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("recommend failed: %s", r)
	}
	var doc model.Recommendations
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("recommend -o json: %v\n%s", err, r)
	}
	return doc
}

// From Prometheus alone, recommend reads the HPAs kube-state-metrics
// exports and says what the new values do to those that scale on memory:
// the pod's utilization point, said once (on the pod's first container),
// and a container's average above its new limit. With fix, the same
// warnings are printed.
func TestRecommendWarnsOfHPAsFromPrometheus(t *testing.T) {
	srv, _ := prometheusHistory(t)
	doc := recommendations(t, oomdoctor(t, "recommend", "--prometheus-url", srv.URL, "--history", "3d", "-n", "scaled", "-o", "json"))
	if len(doc.Items) != 2 || doc.Items[0].Container != "proxy" || doc.Items[1].Container != "web" {
		t.Fatalf("want proxy's and web's recommendations: %+v", doc.Items)
	}
	proxy, web := doc.Items[0], doc.Items[1]
	newReq := (*proxy.MemoryRequestBytes + *web.MemoryRequestBytes) >> 20
	moved := fmt.Sprintf("HorizontalPodAutoscaler scaled/web scales Deployment/web on memory at 80%% of the pod's requests (its containers together): the new requests (%dMi a pod, from 288Mi) move the point it adds replicas at from 230Mi to ", newReq)
	unreachable := fmt.Sprintf("HorizontalPodAutoscaler scaled/web scales Deployment/web on memory at an average of 1Gi a container, at or above the new limits (%dMi a container), which usage never passes", *web.MemoryLimitBytes>>20)
	if len(proxy.Warnings) != 1 || !strings.HasPrefix(proxy.Warnings[0], moved) {
		t.Errorf("proxy, the pod's first container: want the one warning %q..., got %q", moved, proxy.Warnings)
	}
	if len(web.Warnings) != 1 || !strings.HasPrefix(web.Warnings[0], unreachable) {
		t.Errorf("web: want the one warning %q..., got %q", unreachable, web.Warnings)
	}
	// Per pod, no HPA is looked up (its pods' owner is not known then).
	doc = recommendations(t, oomdoctor(t, "recommend", "--prometheus-url", srv.URL, "--history", "3d", "-n", "scaled", "--per-pod", "-o", "json"))
	for _, r := range doc.Items {
		if len(r.Warnings) > 0 {
			t.Errorf("--per-pod: %s/%s: %q", r.Workload.Name, r.Container, r.Warnings)
		}
	}
}

// The kills of a pod deleted within a step count, at the 6-hour step
// recommend reads by default: its series end before the step does.
func TestRecommendCountsKillsOfDeletedPods(t *testing.T) {
	srv, kills := prometheusHistory(t)
	want := len(kills["gone/churn-5f6d7c8b9-a1b2c/app"])
	doc := recommendations(t, oomdoctor(t, "recommend", "--prometheus-url", srv.URL, "--history", "3d", "-n", "gone", "-o", "json"))
	if want < 10 || len(doc.Items) != 1 || doc.Items[0].OOMKills != want {
		t.Errorf("want churn's %d kills: %+v", want, doc.Items)
	}
}

func TestRecommendFromPrometheus(t *testing.T) {
	srv, kills := prometheusHistory(t)
	// The diagnosis namespace's history is in this Prometheus too (and a
	// container bigger than the node): leave them out with an extra
	// matcher, as a multi-cluster server's users do.
	doc := recommendations(t, oomdoctor(t, "recommend", "--prometheus-url", srv.URL, "--history", "3d", "--prometheus-selector", `namespace!~"diag|bigdata|crashloop|agent|late|leaks|bounded|scaled|gone"`, "-o", "json"))
	if len(doc.Notes) > 0 {
		t.Errorf("notes on a complete history: %q", doc.Notes)
	}
	by := map[string]model.Recommendation{}
	for _, r := range doc.Items {
		by[r.Workload.Namespace+"/"+r.Workload.Kind+"/"+r.Workload.Name+"/"+r.Container] = r
	}
	if len(by) != 4 {
		t.Fatalf("want 4 workload containers (cart, web, ledger, worker), got %d: %+v", len(by), doc.Items)
	}
	cart, ok := by["shop/Deployment/cart/cart"]
	if !ok {
		t.Fatalf("no recommendation for Deployment cart (owners through kube_pod_owner and kube_replicaset_owner): %+v", doc.Items)
	}
	simKills := len(kills["shop/cart-7c9d8f6b5-x2kqp/cart"]) + len(kills["shop/cart-7c9d8f6b5-m8zvt/cart"])
	if simKills == 0 {
		t.Fatal("the simulated cart was never killed: the test's history is wrong")
	}
	if cart.Pods != 2 || cart.OOMKills != simKills {
		t.Errorf("cart: pods %d kills %d, want 2 pods (both replicas together) and the %d kills kube-state-metrics saw", cart.Pods, cart.OOMKills, simKills)
	}
	if cart.CurrentLimitBytes == nil || *cart.CurrentLimitBytes != 256*mi {
		t.Errorf("cart: current limit %v, want 256Mi", cart.CurrentLimitBytes)
	}
	// Killed at 256Mi: the demand was above it, so the new limit is too.
	if *cart.MemoryLimitBytes <= 256*mi {
		t.Errorf("cart: limit %d MiB after %d kills at 256Mi, want above 256Mi", *cart.MemoryLimitBytes/mi, simKills)
	}
	web := by["shop/Deployment/web/web"]
	if web.MemoryLimitBytes == nil || *web.MemoryLimitBytes >= 512*mi || *web.MemoryLimitBytes < 110*mi {
		t.Errorf("web uses 95-105Mi under a 1Gi limit: want a limit between 110Mi and 512Mi, got %+v", web)
	}
	if web.OOMKills != 0 {
		t.Errorf("web was never killed, got %d kills", web.OOMKills)
	}
	if _, ok := by["shop/Pod/ledger/ledger"]; !ok {
		t.Errorf("a pod without owner is its own workload: %+v", doc.Items)
	}
	if _, ok := by["batch/StatefulSet/worker/worker"]; !ok {
		t.Errorf("worker-0 belongs to StatefulSet worker: %+v", doc.Items)
	}

	// One workload of one namespace.
	one := recommendations(t, oomdoctor(t, "recommend", "--prometheus-url", srv.URL, "--history", "3d", "-n", "shop", "deploy/cart", "-o", "json"))
	if len(one.Items) != 1 || *one.Items[0].MemoryLimitBytes != *cart.MemoryLimitBytes {
		t.Errorf("recommend -n shop deploy/cart: %+v, want the same cart recommendation alone", one.Items)
	}
	// Per pod: each replica on its own.
	perPod := recommendations(t, oomdoctor(t, "recommend", "--prometheus-url", srv.URL, "--history", "3d", "-n", "shop", "--per-pod", "-o", "json"))
	pods := 0
	for _, r := range perPod.Items {
		if r.Workload.Kind == "Pod" && strings.HasPrefix(r.Workload.Name, "cart-") {
			pods++
		}
	}
	if pods != 2 {
		t.Errorf("--per-pod: want the 2 cart pods apart, got %+v", perPod.Items)
	}
	// The table.
	tab := oomdoctor(t, "recommend", "--prometheus-url", srv.URL, "--history", "3d", "-n", "shop")
	if tab.code != 0 || !strings.Contains(tab.stdout, "256Mi -> ") || !strings.Contains(tab.stdout, "shop/Deployment/cart") {
		t.Errorf("table: %s", tab)
	}
}

func TestRecommendFromPrometheusErrors(t *testing.T) {
	srv, _ := prometheusHistory(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--prometheus-url", "http://127.0.0.1:1"}, "cannot reach Prometheus"},
		{[]string{"--prometheus-url", "localhost:9090"}, "want http(s)://"},
		{[]string{"--prometheus-url", srv.URL, "--history", "3x"}, "--history"},
		{[]string{"--prometheus-url", srv.URL, "--prometheus-labels", "pod=pod name"}, "--prometheus-labels"},
		{[]string{"--prometheus-url", srv.URL, "--prometheus-selector", "cluster=prod"}, "quote each value"},
		{[]string{"--prometheus-url", srv.URL, "--history", "3d", "-n", "shop", "deploy/nope"}, "no history for Deployment/nope"},
		{[]string{"--prometheus-url", srv.URL, "--history", "3d", "--prometheus-selector", `cluster="elsewhere"`}, "no container_memory_working_set_bytes series"},
	} {
		r := oomdoctor(t, append([]string{"recommend"}, tc.args...)...)
		if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("recommend %q: want a failure saying %q, got %s", tc.args, tc.want, r)
		}
	}
	// A namespace without history is no failure, as kubectl's "No
	// resources found", but it is said.
	r := oomdoctor(t, "recommend", "--prometheus-url", srv.URL, "--history", "3d", "-n", "nowhere", "-o", "json")
	if doc := recommendations(t, r); len(doc.Items) != 0 || len(doc.Notes) != 1 || !strings.HasPrefix(doc.Notes[0], "no container of namespace nowhere has usage history between ") ||
		!strings.Contains(r.stderr, "note: no container of namespace nowhere") {
		t.Errorf("an empty namespace: %+v %s", doc, r)
	}
}

// fix computes the values live from Prometheus: into a manifest (comments
// kept), and into the cluster.
func TestFixFromPrometheus(t *testing.T) {
	srv, _ := prometheusHistory(t)
	doc := recommendations(t, oomdoctor(t, "recommend", "--prometheus-url", srv.URL, "--history", "3d", "-n", "shop", "deploy/cart", "-o", "json"))
	want := manifestQuantity(*doc.Items[0].MemoryLimitBytes)
	file := filepath.Join(t.TempDir(), "cart.yaml")
	src := `# the cart service
apiVersion: apps/v1
kind: Deployment
metadata:
  name: cart
  namespace: shop
spec:
  template:
    spec:
      containers:
        - name: cart # the shop's cart
          image: example/cart:1.4
          resources:
            requests:
              memory: 128Mi
            limits:
              memory: 256Mi # raised after the Black Friday kills
`
	if err := os.WriteFile(file, []byte(src), 0o640); err != nil {
		t.Fatal(err)
	}
	r := oomdoctor(t, "fix", "-f", file, "--prometheus-url", srv.URL, "--history", "3d", "-n", "shop", "--write")
	if r.code != 0 {
		t.Fatalf("%s", r)
	}
	got, _ := os.ReadFile(file)
	if !strings.Contains(string(got), "memory: "+want+" # raised after the Black Friday kills") || !strings.Contains(string(got), "# the shop's cart") {
		t.Errorf("want the limit %s with the comments kept, got:\n%s\n%s", want, got, r)
	}
	// The live Deployment, as field manager oomdoctor.
	r = oomdoctor(t, "fix", "--kubeconfig", cp.Kubeconfig, "-n", "shop", "--apply", "deployment/cart", "--prometheus-url", srv.URL, "--history", "3d", "--wait=false")
	if r.code != 0 {
		t.Fatalf("%s", r)
	}
	c := cartDeployment(t).Spec.Template.Spec.Containers[0]
	if c.Resources.Limits.Memory().Value() != *doc.Items[0].MemoryLimitBytes {
		t.Errorf("live cart limit %s, want %s\n%s", c.Resources.Limits.Memory(), want, r)
	}
}

func manifestQuantity(b int64) string {
	if b%(1<<30) == 0 {
		return strconv.FormatInt(b>>30, 10) + "Gi"
	}
	return strconv.FormatInt(b>>20, 10) + "Mi"
}

// replay on the cluster's own history: one series per workload container,
// the kills kube-state-metrics saw placed in it. Over three days (train 2d,
// replay 1d) only cart is killed (every nine hours, at 256Mi), so exactly
// one series is killed for real in the replayed day; every strategy sizes
// cart above 256Mi from its training kills, and the steady others fit.
func TestReplayFromPrometheus(t *testing.T) {
	srv, kills := prometheusHistory(t)
	replayDay := promSim.End - 86400 + 3600 // clear of the windows' edges
	for key, ts := range kills {
		killedLate := slices.ContainsFunc(ts, func(t int64) bool { return t > replayDay })
		switch {
		case strings.HasPrefix(key, "shop/cart-") && !killedLate:
			t.Fatalf("the simulated cart was not killed in the last day (%v): the test's history is wrong", ts)
		case strings.HasPrefix(key, "diag/"), strings.HasPrefix(key, "crashloop/"), strings.HasPrefix(key, "late/"), strings.HasPrefix(key, "leaks/"), strings.HasPrefix(key, "bounded/"), strings.HasPrefix(key, "gone/"):
		case !strings.HasPrefix(key, "shop/cart-"):
			t.Fatalf("only cart should be killed outside the diagnosis namespace, %s was: the test's history is wrong", key)
		}
	}
	args := []string{"replay", "--prometheus-url", srv.URL, "--history", "3d", "--train", "2d", "--test", "1d", "--prometheus-selector", `namespace!~"diag|bigdata|crashloop|agent|late|leaks|bounded|scaled|gone"`}
	r := oomdoctor(t, append(args, "-o", "json")...)
	if r.code != 0 {
		t.Fatalf("replay: %s", r)
	}
	var rep replay.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, r)
	}
	if rep.SeriesRead != 4 || rep.KilledSeries != 1 || len(rep.Notes) > 0 || rep.Samples < 4*3*288*9/10 {
		t.Errorf("want 4 workload containers (cart's two replicas as one), 1 killed for real, no notes and about %d samples: %s", 4*3*288, r.stdout)
	}
	for _, row := range rep.Rows {
		if row.Series != 4 || row.OOMSeries != 0 {
			t.Errorf("%s: %d series, %d with an OOM; want 4 and 0: %s", row.Strategy, row.Series, row.OOMSeries, r.stdout)
		}
	}
	// One namespace; the table says how many were killed, and which.
	r = oomdoctor(t, append(args, "-n", "shop", "--per-series")...)
	if r.code != 0 || !strings.Contains(r.stdout, "3 series read") || !strings.Contains(r.stdout, "1 series was OOM-killed for real") {
		t.Errorf("replay -n shop: %s", r)
	}
	killedRow := regexp.MustCompile(`(?m)^shop/Deployment/cart/cart +yes +\d+Mi`)
	if !killedRow.MatchString(r.stdout) || strings.Count(r.stdout, " yes ") != 1 {
		t.Errorf("replay -n shop --per-series: want cart's row alone marked killed: %s", r)
	}
	// Windows longer than the history, and an unreachable server.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"replay", "--prometheus-url", srv.URL, "--history", "3d"}, "--history 3d is shorter than the replayed windows (14d)"},
		{[]string{"replay", "--prometheus-url", srv.URL, "--prometheus-selector", `namespace!~"diag|bigdata|crashloop|agent|late|leaks|bounded|scaled|gone"`}, "none of the 4 series read covers the replayed windows (0 all zero in training, 4 too short)"},
		{[]string{"replay", "--prometheus-url", "http://127.0.0.1:1", "--history", "3d", "--train", "2d", "--test", "1d"}, "cannot reach Prometheus"},
		{[]string{"replay", "--prometheus-url", srv.URL, "--history", "3d", "--train", "2d", "--test", "1d", "-n", "nowhere"}, "no workload container has usage history in namespace nowhere between "},
		// A container killed before any sample has no usage to replay.
		{[]string{"replay", "--prometheus-url", srv.URL, "--history", "3d", "--train", "2d", "--test", "1d", "-n", "crashloop"}, "no series read has usage in its training window (1 all zero): nothing to size from\n"},
	} {
		if r := oomdoctor(t, tc.args...); r.code == 0 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%q: want a failure saying %q, got %s", tc.args, tc.want, r)
		}
	}
}

// A container that needs more than the largest node's allocatable memory
// (kube_node_status_allocatable, 8Gi) is never recommended more: its limit
// is capped there, with a warning that says what it needs.
func TestRecommendCapsAtAllocatable(t *testing.T) {
	srv, _ := prometheusHistory(t)
	doc := recommendations(t, oomdoctor(t, "recommend", "--prometheus-url", srv.URL, "--history", "3d", "-n", "bigdata", "-o", "json"))
	if len(doc.Items) != 1 {
		t.Fatalf("want the etl container alone: %+v", doc.Items)
	}
	etl := doc.Items[0]
	if *etl.MemoryLimitBytes != 8<<30 || *etl.MemoryRequestBytes > 8<<30 || len(etl.Warnings) != 1 ||
		!strings.HasPrefix(etl.Warnings[0], "capped the limit at 8192Mi, the largest node's allocatable memory 8192Mi (it needs ") {
		t.Errorf("etl: request %d, limit %d MiB, warnings %q", *etl.MemoryRequestBytes>>20, *etl.MemoryLimitBytes>>20, etl.Warnings)
	}
	tab := oomdoctor(t, "recommend", "--prometheus-url", srv.URL, "--history", "3d", "-n", "bigdata")
	if tab.code != 0 || !strings.Contains(tab.stdout, "12Gi -> 8Gi") || !strings.Contains(tab.stdout, "WARNING: capped the limit at 8192Mi") {
		t.Errorf("table:\n%s", tab)
	}
}

// A container killed before cAdvisor ever sampled it has no working set,
// only kube-state-metrics' restarts and termination reasons: its namespace
// and pod are still found, and its kills alone size it (the demand was
// above the 64Mi it was killed at).
func TestRecommendKilledBeforeAnySample(t *testing.T) {
	srv, kills := prometheusHistory(t)
	doc := recommendations(t, oomdoctor(t, "recommend", "--prometheus-url", srv.URL, "--history", "3d", "-o", "json"))
	var got []model.Recommendation
	for _, r := range doc.Items {
		if r.Workload.Namespace == "crashloop" {
			got = append(got, r)
		}
	}
	if len(got) != 1 {
		t.Fatalf("want one recommendation in namespace crashloop (found through kube-state-metrics alone), got %+v", got)
	}
	b := got[0]
	n := len(kills["crashloop/boot-5f7b9c6d8-q4wzn/boot"])
	if n < 1000 {
		t.Fatalf("the simulated boot container was killed %d times: the test's history is wrong", n)
	}
	// Killed every minute from the first: the first and the last may fall
	// just outside the 3 days read (they end at the last whole minute).
	if b.Workload.Kind != "Deployment" || b.Workload.Name != "boot" || b.Container != "boot" || b.OOMKills > n || b.OOMKills < n-2 {
		t.Errorf("boot: %s/%s container %s with %d kills, want Deployment/boot container boot with the %d kills kube-state-metrics counted (less the history's edges)", b.Workload.Kind, b.Workload.Name, b.Container, b.OOMKills, n)
	}
	// No usage: the request is the limit it was killed at, the limit
	// twice that (too few peaks for the tail).
	if *b.MemoryRequestBytes != 64*mi || *b.MemoryLimitBytes != 128*mi || b.CurrentLimitBytes == nil || *b.CurrentLimitBytes != 64*mi {
		t.Errorf("boot: request %d, limit %d MiB (current %v), want 64Mi and 128Mi, from 64Mi", *b.MemoryRequestBytes/mi, *b.MemoryLimitBytes/mi, b.CurrentLimitBytes)
	}
	if !slices.ContainsFunc(b.Reasons, func(r string) bool { return strings.Contains(r, "no usage in the history, only OOM kills") }) {
		t.Errorf("boot: the reasons do not say it has no usage: %q", b.Reasons)
	}
}

// Kills no counter's rise shows are counted: a pod killed before
// kube-state-metrics first scraped it has a restart counter born at 1 (the
// pod's start within the step counts it), a container that does not
// restart is terminated OOMKilled (the step the reason appears in counts),
// and a child process killed before cAdvisor's first scrape leaves an OOM
// event counter born at 1 (the container's start within the step counts
// it).
func TestRecommendCountsKillsWithoutRestartRise(t *testing.T) {
	srv, kills := prometheusHistory(t)
	if n := len(kills["late/report-29001-x7k2p/report"]); n != 1 {
		t.Fatalf("the simulated Job was killed %d times: the test's history is wrong", n)
	}
	doc := recommendations(t, oomdoctor(t, "recommend", "--prometheus-url", srv.URL, "--history", "3d", "--step", "5m", "-n", "late", "--oom-events", "-o", "json"))
	if len(doc.Items) != 3 {
		t.Fatalf("want app, the Job's report and worker: %+v", doc.Items)
	}
	for _, a := range doc.Items {
		if a.OOMKills != 1 || *a.MemoryLimitBytes <= 128*mi || !slices.ContainsFunc(a.Reasons, func(r string) bool { return strings.HasPrefix(r, "1 OOM kill in the history") }) {
			t.Errorf("%s/%s: %d kills, limit %d MiB, reasons %q; want its one kill, and a limit above 128Mi", a.Workload.Name, a.Container, a.OOMKills, *a.MemoryLimitBytes/mi, a.Reasons)
		}
	}
}

// The node agent's counter of child-process kills is counted exactly: once
// per kill (increase() would extrapolate), and not again when the agent
// restarts and its counter falls back to 0.
func TestRecommendCountsAgentKills(t *testing.T) {
	srv, _ := prometheusHistory(t)
	// At 5-minute steps the restart is hours from either kill.
	doc := recommendations(t, oomdoctor(t, "recommend", "--prometheus-url", srv.URL, "--history", "3d", "--step", "5m", "-n", "agent", "-o", "json"))
	if len(doc.Items) != 1 {
		t.Fatalf("want the worker alone: %+v", doc.Items)
	}
	w := doc.Items[0]
	if w.OOMKills != 2 || *w.MemoryLimitBytes <= 256*mi || !slices.ContainsFunc(w.Reasons, func(r string) bool { return strings.Contains(r, "taken as the current limit") }) {
		t.Errorf("worker: %d kills, limit %d MiB, reasons %q; want the agent's 2 kills, at the current 256Mi, and a limit above it", w.OOMKills, *w.MemoryLimitBytes/mi, w.Reasons)
	}
}

// A container that leaks is killed whatever its limit: recommend still
// sizes it, and warns with the growth it reads at 5-minute resolution
// (the sizing reads 6-hour peaks, in which the sawtooth is flat), its
// lifetimes told apart by the restart count where the working set does
// not drop much at a restart. Cart, killed by bursts at a flat level,
// gets no such warning.
func TestRecommendWarnsOfLeaks(t *testing.T) {
	srv, _ := prometheusHistory(t)
	doc := recommendations(t, oomdoctor(t, "recommend", "--prometheus-url", srv.URL, "--history", "3d", "-n", scenario.DiagnosisNamespace, "deploy/leaky", "-o", "json"))
	if len(doc.Items) != 1 || doc.Items[0].OOMKills == 0 {
		t.Fatalf("want leaky alone, killed: %+v", doc.Items)
	}
	leaky := doc.Items[0]
	// 100Mi at a restart, +26Mi an hour: the 256Mi limit in 6.0h.
	want := regexp.MustCompile(`^the working set grows 2[56]\.\dMi/h in each lifetime, a leak or an unbounded cache \(\d+ of \d+ lifetimes?, 1 of 1 pod; oomdoctor explain leaky-6f7d8c9b5-q2w4e -n ` + scenario.DiagnosisNamespace + ` --prometheus-url http://127\.0\.0\.1:\d+\): a higher limit only spaces the kills out; from 10\dMi at a restart it fills \d+Mi in about \d+\.\dh \(256Mi now: 5\.\dh\)$`)
	if len(leaky.Warnings) != 1 || !want.MatchString(leaky.Warnings[0]) {
		t.Errorf("leaky's warnings: %q, want one matching %s", leaky.Warnings, want)
	}
	// A mild leak, its restarts seen only in their count.
	slow := recommendations(t, oomdoctor(t, "recommend", "--prometheus-url", srv.URL, "--history", "3d", "-n", "leaks", "-o", "json"))
	want = regexp.MustCompile(`^the working set grows 1[56]\.\dMi/h in each lifetime, a leak or an unbounded cache \(\d+ of \d+ lifetimes?, 2 of 2 pods; oomdoctor explain slow-5d8f7c6b9-\w+ -n leaks --prometheus-url http://127\.0\.0\.1:\d+\): a higher limit only spaces the kills out; from 16\dMi at a restart it fills \d+Mi in about \d+\.\dh \(256Mi now: [56]\.\dh\)$`)
	if len(slow.Items) != 1 || slow.Items[0].OOMKills == 0 || len(slow.Items[0].Warnings) != 1 || !want.MatchString(slow.Items[0].Warnings[0]) {
		t.Errorf("slow, a mild leak: %+v, want kills and one warning matching %s", slow.Items, want)
	}
	shop := recommendations(t, oomdoctor(t, "recommend", "--prometheus-url", srv.URL, "--history", "3d", "-n", "shop", "deploy/cart", "-o", "json"))
	if len(shop.Items) != 1 || shop.Items[0].OOMKills == 0 || len(shop.Items[0].Warnings) != 0 {
		t.Errorf("cart, killed by bursts: want kills and no warning, got %+v", shop.Items)
	}
}

// Page cache that fills the limit is charged to the container and counted
// in the working set recommend sizes from: the indexer, whose RSS stays
// near 28% of its charge, gets a warning with the medians before its
// kills, read from Prometheus' RSS and page cache at 5-minute steps; the
// batch worker, killed by bursts of its own memory, gets none.
func TestRecommendWarnsOfPageCache(t *testing.T) {
	srv, _ := prometheusHistory(t)
	doc := recommendations(t, oomdoctor(t, "recommend", "--prometheus-url", srv.URL, "--history", "3d", "-n", scenario.DiagnosisNamespace, "-o", "json"))
	by := map[string]model.Recommendation{}
	for _, it := range doc.Items {
		by[it.Container] = it
	}
	ix := by["indexer"]
	want := regexp.MustCompile(`^page cache, not the processes' memory, filled the limit before (\d+) of (\d+) kills \(page cache 3\d\dMi, RSS 1[34]\dMi, medians; oomdoctor explain indexer-0 -n ` + scenario.DiagnosisNamespace + ` --prometheus-url http://127\.0\.0\.1:\d+\): the working set this limit is sized from counts the cache`)
	if ix.OOMKills == 0 || len(ix.Warnings) != 1 || !want.MatchString(ix.Warnings[0]) {
		t.Fatalf("indexer: %d kills, warnings %q; want kills and one warning matching %s", ix.OOMKills, ix.Warnings, want)
	}
	if m := want.FindStringSubmatch(ix.Warnings[0]); m[1] != m[2] || m[1] == "0" {
		t.Errorf("indexer: page cache filled the limit before %s of %s kills, want every one", m[1], m[2])
	}
	for _, c := range []string{"worker", "app"} {
		for _, w := range by[c].Warnings {
			if strings.Contains(w, "page cache") {
				t.Errorf("%s, killed by its own memory: %q", c, w)
			}
		}
	}
	if by["worker"].OOMKills == 0 {
		t.Errorf("the batch worker has no kills: %+v", by["worker"])
	}
	off := recommendations(t, oomdoctor(t, "recommend", "--prometheus-url", srv.URL, "--history", "3d", "-n", scenario.DiagnosisNamespace, "statefulset/indexer", "-o", "json", "--leak-check=false"))
	if len(off.Items) != 1 || len(off.Items[0].Warnings) != 0 {
		t.Errorf("--leak-check=false still warns: %+v", off.Items)
	}
}

// recommend keeps its values within the namespace's LimitRanges, from
// kube-state-metrics' kube_limitrange and, with --from-cluster, from the
// API server (the stricter holds): the API server refuses a pod outside
// them, and its rollout would stall.
func TestRecommendKeepsWithinLimitRanges(t *testing.T) {
	srv, _ := prometheusHistory(t)
	by := func(doc model.Recommendations) map[string]model.Recommendation {
		out := map[string]model.Recommendation{}
		for _, it := range doc.Items {
			out[it.Container] = it
		}
		return out
	}
	got := by(recommendations(t, oomdoctor(t, "recommend", "--prometheus-url", srv.URL, "--history", "3d", "-n", "bounded", "-o", "json")))
	api, side := got["api"], got["sidecar"]
	if api.MemoryLimitBytes == nil || *api.MemoryLimitBytes != 768*mi || len(api.Warnings) != 1 ||
		!strings.HasPrefix(api.Warnings[0], "capped the limit at 768Mi, the most LimitRange bounded/mem allows a container (it needs 8") {
		t.Errorf("api, which needs more than the LimitRange allows: %+v", api)
	}
	if side.MemoryLimitBytes == nil || *side.MemoryLimitBytes != 32*mi || *side.MemoryRequestBytes != 32*mi || len(side.Warnings) != 0 ||
		!strings.Contains(strings.Join(side.Reasons, "\n"), "raised the request from 12Mi to 32Mi, the least LimitRange bounded/floor allows a container") {
		t.Errorf("sidecar, which needs less than the LimitRange's minimum: %+v", side)
	}
	// The quota: the api pod's requests rise by its new request - 496Mi
	// (api's, from 512Mi; the sidecar's 16Mi -> 32Mi), past the 540Mi
	// allowed with 528Mi used; its limits fall by 256Mi + 32Mi. The
	// Failed pod of the Job is not counted: one pod changes. The
	// Deployment's rolling update adds one pod with the new values first
	// (kube-state-metrics' maxSurge, or the Deployment's default 25% of
	// 1 replica).
	quotas := func(doc model.Recommendations, name string, hardReq, usedReq, hardLim, usedLim, limDelta int64) {
		t.Helper()
		api := by(doc)["api"]
		reqDelta := *api.MemoryRequestBytes - 496*mi
		surgeReq, surgeLim := *api.MemoryRequestBytes+32*mi, *api.MemoryLimitBytes+32*mi
		dep := &model.WorkloadRef{Namespace: "bounded", Kind: "Deployment", Name: "api"}
		want := []model.QuotaCheck{
			{Namespace: "bounded", Name: name, Resource: "requests.memory", HardBytes: hardReq, UsedBytes: usedReq, ChangeBytes: reqDelta, Pods: 1, Fits: usedReq+reqDelta <= hardReq,
				SurgeBytes: surgeReq, SurgePods: 1, SurgeWorkload: dep, RolloutFits: usedReq+reqDelta+surgeReq <= hardReq},
			{Namespace: "bounded", Name: name, Resource: "limits.memory", HardBytes: hardLim, UsedBytes: usedLim, ChangeBytes: limDelta, Pods: 1, Fits: true,
				SurgeBytes: surgeLim, SurgePods: 1, SurgeWorkload: dep, RolloutFits: usedLim+surgeLim <= hardLim},
		}
		if !reflect.DeepEqual(doc.Quotas, want) {
			t.Errorf("quotas:\n%+v\nwant\n%+v", doc.Quotas, want)
		}
	}
	r := oomdoctor(t, "recommend", "--prometheus-url", srv.URL, "--history", "3d", "-n", "bounded", "-o", "json")
	doc := recommendations(t, r)
	if _, ok := by(doc)["migrate"]; !ok {
		t.Fatalf("no recommendation for the Job's container: %+v", doc.Items)
	}
	quotas(doc, "ksm", 540*mi, 528*mi, 2048*mi, 1088*mi, -288*mi)
	if len(doc.Quotas) == 0 || doc.Quotas[0].Fits || !strings.Contains(r.stderr, "warning: ResourceQuota bounded/ksm allows requests.memory up to 540Mi; these recommendations, applied to the 1 pod they change, take it to ") {
		t.Errorf("the requests' quota is not said to be short:\n%s", r.stderr)
	}

	// A stricter LimitRange in the API server: --from-cluster reads it.
	// So the quotas: the API server's, with the pod's spec there, take the
	// place of kube-state-metrics'.
	ctx := context.Background()
	if _, err := cp.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "bounded"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	yes := true
	labels := map[string]string{"app": "api"}
	// The Deployment, for its rollout (no controller runs here to make
	// pods of it).
	if _, err := cp.Client.AppsV1().Deployments("bounded").Create(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "api"},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "api", Image: "x"}}}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cp.Client.AppsV1().Deployments("bounded").Delete(ctx, "api", metav1.DeleteOptions{})
	})
	// The objects made here go when the test ends: the other tests count
	// the cluster's pods. (The namespace stays: without a namespace
	// controller it would never finish terminating.)
	rs, err := cp.Client.AppsV1().ReplicaSets("bounded").Create(ctx, &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "api-7c8d9e6f5", OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: "api", UID: "0f0c9d59-0000-4000-8000-000000000001", Controller: &yes}}},
		Spec:       appsv1.ReplicaSetSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "api", Image: "x"}}}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cp.Client.AppsV1().ReplicaSets("bounded").Delete(ctx, rs.Name, metav1.DeleteOptions{})
	})
	res := func(req, lim string) corev1.ResourceRequirements {
		return corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(req)}, Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(lim)}}
	}
	if _, err := cp.Client.CoreV1().Pods("bounded").Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "api-7c8d9e6f5-k2j4h", Labels: labels, OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs.Name, UID: rs.UID, Controller: &yes}}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "api", Image: "x", Resources: res("512Mi", "1Gi")}, {Name: "sidecar", Image: "x", Resources: res("16Mi", "64Mi")}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cp.Client.CoreV1().Pods("bounded").Delete(ctx, "api-7c8d9e6f5-k2j4h", metav1.DeleteOptions{}); err != nil {
			t.Errorf("deleting the pod the other tests must not count: %v", err)
		}
	})
	q, err := cp.Client.CoreV1().ResourceQuotas("bounded").Create(ctx, &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "api-quota"},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourceRequestsMemory: resource.MustParse("1Gi"), corev1.ResourceLimitsMemory: resource.MustParse("1088Mi")}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cp.Client.CoreV1().ResourceQuotas("bounded").Delete(ctx, q.Name, metav1.DeleteOptions{})
	})
	// No quota controller runs here: the status is set as it would.
	q.Status = corev1.ResourceQuotaStatus{Hard: q.Spec.Hard, Used: corev1.ResourceList{corev1.ResourceRequestsMemory: resource.MustParse("528Mi"), corev1.ResourceLimitsMemory: resource.MustParse("1088Mi")}}
	if _, err := cp.Client.CoreV1().ResourceQuotas("bounded").UpdateStatus(ctx, q, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cp.Client.CoreV1().LimitRanges("bounded").Create(ctx, &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: "tight"}, Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{
		{Type: corev1.LimitTypeContainer, Max: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("704Mi")}},
	}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	doc = recommendations(t, oomdoctor(t, "recommend", "--kubeconfig", cp.Kubeconfig, "--from-cluster", "--prometheus-url", srv.URL, "--history", "3d", "-n", "bounded", "-o", "json"))
	api = by(doc)["api"]
	if api.MemoryLimitBytes == nil || *api.MemoryLimitBytes != 704*mi || len(api.Warnings) != 1 || !strings.HasPrefix(api.Warnings[0], "capped the limit at 704Mi, the most LimitRange bounded/tight allows a container") {
		t.Errorf("api, with the cluster's stricter LimitRange: %+v", api)
	}
	quotas(doc, "api-quota", 1024*mi, 528*mi, 1088*mi, 1088*mi, -352*mi)
	// A snapshot of the namespace holds the same quota and pod.
	snap := filepath.Join(t.TempDir(), "snap")
	if r := oomdoctor(t, "snapshot", "--kubeconfig", cp.Kubeconfig, "-n", "bounded", "-o", snap); r.code != 0 {
		t.Fatal(r)
	}
	doc = recommendations(t, oomdoctor(t, "recommend", "--snapshot", snap, "--prometheus-url", srv.URL, "--history", "3d", "-n", "bounded", "-o", "json"))
	quotas(doc, "api-quota", 1024*mi, 528*mi, 1088*mi, 1088*mi, -352*mi)
}
