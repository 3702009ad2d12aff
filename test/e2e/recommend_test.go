package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/utils/ptr"

	"github.com/oomdoctor/oomdoctor/internal/cli"
	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/test/cluster"
	"github.com/oomdoctor/oomdoctor/test/e2e/workloads"
	"github.com/oomdoctor/oomdoctor/test/promserver"
)

// 8. recommend from a Prometheus that scrapes this node's kubelet, as a
// cluster's Prometheus scrapes cAdvisor's /metrics/cadvisor: the series
// and labels of a real kubelet (pod-level and sandbox series beside the
// containers', explicit timestamps, samples every 10-15 s). A steady
// Deployment of two replicas is sized from its working set; the hog,
// OOM-killed within a second of every start, from the kills in its pods'
// status (--from-cluster; there is no kube-state-metrics here); a pod
// whose child process is killed while PID 1 lives on, from cAdvisor's
// container_oom_events_total (--oom-events), once, at the limit in its
// spec. The current values are the specs'.
func TestRecommendFromScrapedKubelet(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv, err := promserver.StartScraping(ctx, t.TempDir(), 2*time.Second, fmt.Sprintf(`- job_name: kubelet-cadvisor
  scheme: https
  metrics_path: /metrics/cadvisor
  tls_config: {insecure_skip_verify: true}
  static_configs:
  - targets: ['127.0.0.1:%d']`, node.KubeletPort))
	if err != nil {
		t.Fatalf("the test needs a real Prometheus: %v", err)
	}
	defer srv.Stop()

	ns := namespace(t, "e2e-recommend")
	labels := map[string]string{"app": "steady"}
	steady := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "steady"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					HostNetwork: true, TerminationGracePeriodSeconds: ptr.To[int64](1),
					Containers: []corev1.Container{{
						Name: "app", Image: cluster.TestImage, ImagePullPolicy: corev1.PullNever,
						Command: []string{"/testapp", "-alloc", "100"},
						Resources: corev1.ResourceRequirements{
							Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi"), corev1.ResourceCPU: resource.MustParse("10m")},
							Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")},
						},
					}},
				},
			},
		},
	}
	if _, err := node.Client.AppsV1().Deployments(ns).Create(ctx, steady, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := node.Client.AppsV1().Deployments(ns).Create(ctx, workloads.Hog(ns), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The child allocates 2 MiB/s: sampled on its way up, killed at 64Mi
	// about 30 s after the start.
	child := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "child"},
		Spec: corev1.PodSpec{
			HostNetwork: true, TerminationGracePeriodSeconds: ptr.To[int64](1),
			Containers: []corev1.Container{{
				Name: "worker", Image: cluster.TestImage, ImagePullPolicy: corev1.PullNever,
				Command: []string{"/testapp", "-child", "200", "-pace", "2"},
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("32Mi"), corev1.ResourceCPU: resource.MustParse("10m")},
					Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")},
				},
			}},
		},
	}
	if _, err := node.Client.CoreV1().Pods(ns).Create(ctx, child, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPod(t, ns, "app=hog", 2*time.Minute, "OOM-killed at least once", func(p *corev1.Pod) bool {
		cs := workloads.Status(p, "hog")
		return cs != nil && workloads.LastTerminated(cs) != nil && workloads.LastTerminated(cs).Reason == "OOMKilled"
	})

	// Until cAdvisor has sampled both replicas holding their 100 MiB a few
	// times, and counted the child's kill, and Prometheus has scraped it.
	sel := fmt.Sprintf(`container_memory_working_set_bytes{namespace=%q,container="app"}`, ns)
	events := fmt.Sprintf(`container_oom_events_total{namespace=%q,container="worker"}`, ns)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		v := promQuery(t, srv.URL, fmt.Sprintf(`count_over_time(%s[15m]) >= 3 and %s > 90e6`, sel, sel))
		e := promQuery(t, srv.URL, fmt.Sprintf(`%s >= 1`, events))
		if len(v) == 2 && len(e) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 2 minutes Prometheus has not 3 samples above 90 MB of both steady replicas (%v) and the child's OOM event (%v)",
				promQuery(t, srv.URL, sel), promQuery(t, srv.URL, events))
		}
		time.Sleep(2 * time.Second)
	}
	peaks := promQuery(t, srv.URL, fmt.Sprintf(`max(max_over_time(%s[15m]))`, sel))
	if len(peaks) != 1 {
		t.Fatalf("the steady peak: %v", peaks)
	}
	peak := peaks[0]

	// The history ends now (by default it ends at the last whole minute,
	// which may be before the pods started). A step of a minute: a
	// counter's rise is seen within two steps, and a counter first scraped
	// at 1 (the child killed before cAdvisor's series was scraped) counts
	// when its container started within two steps. At 20 s, a loaded
	// machine's scrape lag once left the child's kill uncounted.
	var out, errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	// To the nanosecond: the child's counter at 1 may be stamped within
	// the second just begun, and a history ending at that second's start
	// would leave its kill out (as it should: it came after --until).
	until := time.Now().UTC().Format(time.RFC3339Nano)
	code := cli.Main(ctx, "oomdoctor", []string{"recommend", "--prometheus-url", srv.URL, "--kubeconfig", node.Kubeconfig, "--from-cluster",
		"--oom-events", "-n", ns, "--history", "15m", "--step", "1m", "--until", until, "-o", "json"}, streams)
	if code != 0 {
		t.Fatalf("recommend exited %d: %s", code, errOut.String())
	}
	var doc model.Recommendations
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	by := map[string]model.Recommendation{}
	for _, r := range doc.Items {
		by[r.Workload.Kind+"/"+r.Workload.Name+"/"+r.Container] = r
	}
	if len(by) != 3 {
		t.Fatalf("want Deployment/steady/app, Deployment/hog/hog and Pod/child/worker alone (no pod-level or sandbox series), got %s", out.String())
	}
	for _, n := range doc.Notes {
		if strings.Contains(n, "kube_pod_owner") || strings.Contains(n, "allocatable") {
			t.Errorf("the owners and the node's allocatable memory come from the cluster, yet: %s", n)
		}
	}
	const mi = 1 << 20
	s, ok := by["Deployment/steady/app"]
	if !ok {
		t.Fatalf("no recommendation for the steady Deployment: %s", out.String())
	}
	// Fewer than 9 six-hour peaks: twice the peak, rounded up to 16Mi; the
	// request the (one) 6-hour peak.
	if s.Pods != 2 || s.OOMKills != 0 || float64(*s.MemoryLimitBytes) < 2*peak || float64(*s.MemoryLimitBytes) >= 2*peak+16*mi ||
		float64(*s.MemoryRequestBytes) < peak || float64(*s.MemoryRequestBytes) >= peak+16*mi {
		t.Errorf("steady (peak %.1f MiB): %d pods, %d kills, request %d MiB, limit %d MiB; want 2 pods, no kill, the peak and twice it, rounded up",
			peak/mi, s.Pods, s.OOMKills, *s.MemoryRequestBytes/mi, *s.MemoryLimitBytes/mi)
	}
	if s.CurrentLimitBytes == nil || *s.CurrentLimitBytes != 512*mi || s.CurrentRequestBytes == nil || *s.CurrentRequestBytes != 64*mi {
		t.Errorf("steady: current request %v and limit %v, want the spec's 64Mi and 512Mi", s.CurrentRequestBytes, s.CurrentLimitBytes)
	}
	h, ok := by["Deployment/hog/hog"]
	if !ok {
		t.Fatalf("no recommendation for the hog, OOM-killed at every start: %s", out.String())
	}
	// Killed at 64Mi: the demand was above it; twice that, with the
	// request at least the limit it was killed at. The kill comes from the
	// pod's status, or from the event of a node agent another test runs
	// meanwhile (the same kill, taken once).
	if h.OOMKills < 1 || *h.MemoryLimitBytes != 128*mi || *h.MemoryRequestBytes != 64*mi || h.CurrentLimitBytes == nil || *h.CurrentLimitBytes != 64*mi ||
		!strings.Contains(strings.Join(h.Reasons, "\n"), "that the history did not show") {
		t.Errorf("hog: %+v; want its kill from the status (or the node agent's event, when another test's agent runs), 64Mi -> 128Mi, request 64Mi", h)
	}
	c, ok := by["Pod/child/worker"]
	if !ok {
		t.Fatalf("no recommendation for the pod whose child was killed: %s", out.String())
	}
	t.Logf("DEBUG %s", promRaw(t, srv.URL, fmt.Sprintf(`{__name__=~"container_oom_events_total|container_start_time_seconds",namespace=%q,container="worker"}[20m]`, ns)))
	if c.OOMKills != 1 || *c.MemoryLimitBytes != 128*mi || *c.MemoryRequestBytes != 64*mi || c.CurrentLimitBytes == nil || *c.CurrentLimitBytes != 64*mi ||
		!strings.Contains(strings.Join(c.Reasons, "\n"), "taken as the limit in the pod's spec") || len(c.Warnings) != 0 {
		t.Errorf("child: %+v; want the one kill cAdvisor counted, at the spec's 64Mi: 64Mi -> 128Mi, request 64Mi\nwhat Prometheus holds of it (--until %s):\n%s", c, until,
			promRaw(t, srv.URL, fmt.Sprintf(`{__name__=~"container_oom_events_total|container_start_time_seconds",namespace=%q,container="worker"}[20m]`, ns)))
	}
}

// promRaw returns the raw answers of instant queries, for a failure's
// message.
func promRaw(t *testing.T, base string, queries ...string) string {
	t.Helper()
	var b strings.Builder
	for _, q := range queries {
		resp, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape(q))
		if err != nil {
			fmt.Fprintf(&b, "%s: %v\n", q, err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Fprintf(&b, "%s: %s\n", q, body)
	}
	return b.String()
}

// promQuery runs an instant query and returns the values of its vector.
func promQuery(t *testing.T, base, query string) []float64 {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape(query))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var r struct {
		Status string
		Data   struct {
			Result []struct {
				Value [2]any
			}
		}
	}
	if err := json.Unmarshal(body, &r); err != nil || r.Status != "success" {
		t.Fatalf("query %s: %v %s", query, err, body)
	}
	var out []float64
	for _, x := range r.Data.Result {
		s, _ := x.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("query %s: value %v", query, x.Value)
		}
		out = append(out, v)
	}
	return out
}
