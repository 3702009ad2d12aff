// This file runs last (go test runs files in name order): it adds the
// diagnosis namespace, which the scan and snapshot tests do not expect.
package integration

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/utils/ptr"

	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/workload"
	"github.com/oomdoctor/oomdoctor/test/scenario"
)

var (
	diagOnce sync.Once
	diagErr  error
)

// diagnosis writes the diagnosis namespace into the API server, its
// history being in the package's Prometheus.
func diagnosis(t *testing.T) string {
	t.Helper()
	srv, _ := prometheusHistory(t)
	diagOnce.Do(func() { diagErr = scenario.PopulateDiagnosis(context.Background(), cp.Client, promSim) })
	if diagErr != nil {
		t.Fatalf("writing the diagnosis scenario: %v", diagErr)
	}
	return srv.URL
}

// scan with a real Prometheus finds each pod's cause.
func TestScanDiagnosesWithPrometheus(t *testing.T) {
	url := diagnosis(t)
	r := oomdoctor(t, "scan", "--kubeconfig", cp.Kubeconfig, "-n", scenario.DiagnosisNamespace, "--prometheus-url", url, "--history", "3d", "-o", "json")
	if r.code != 0 {
		t.Fatalf("%s", r)
	}
	var rep model.ScanReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	byPod := map[string]model.Finding{}
	for _, g := range rep.Workloads {
		for _, f := range g.Findings {
			byPod[f.Pod+"/"+f.Container] = f
		}
	}
	for _, c := range scenario.DiagnosisCases {
		f, ok := byPod[c.Pod+"/"+c.Container]
		if !ok {
			t.Errorf("%s/%s: no finding", c.Pod, c.Container)
			continue
		}
		var ids []string
		found := false
		for i, cause := range f.Causes {
			ids = append(ids, string(cause.ID)+":"+string(cause.Confidence))
			if cause.ID == c.Cause && (!c.Top || i == 0) {
				found = true
				if len(cause.Evidence) == 0 || cause.Fix.Text == "" {
					t.Errorf("%s: %s without evidence or fix", c.Pod, c.Cause)
				}
			}
		}
		if !found {
			t.Errorf("%s/%s: want %s (first: %v), got causes %v, undecided %+v", c.Pod, c.Container, c.Cause, c.Top, ids, f.Undecided)
		}
	}
	for _, w := range rep.Warnings {
		if w.Source == "usage history" {
			t.Errorf("warning about the history of a complete Prometheus: %s", w.Message)
		}
	}
	// The fix's command changes the StatefulSet on the cluster scanned.
	batch := byPod["batch-0/worker"]
	if len(batch.Causes) == 0 || !regexp.MustCompile(`^oomdoctor fix --apply statefulset/batch -n `+scenario.DiagnosisNamespace+` -c worker --memory-request \d+Mi --memory-limit \d+Mi --kubeconfig `+regexp.QuoteMeta(cp.Kubeconfig)+`$`).MatchString(batch.Causes[0].Fix.Command) {
		t.Errorf("batch-0's fix command: %+v", batch.Causes)
	}
	// The table's cause column.
	tab := oomdoctor(t, "scan", "--kubeconfig", cp.Kubeconfig, "-n", scenario.DiagnosisNamespace, "--prometheus-url", url, "--history", "3d")
	if !strings.Contains(tab.stdout, "memory-leak") || !strings.Contains(tab.stdout, "runtime-heap(jvm)") || !strings.Contains(tab.stdout, "CAUSE") {
		t.Errorf("table: %s", tab)
	}
}

// explain: text with the chart and the causes, and the HTML page.
func TestExplainWithPrometheus(t *testing.T) {
	url := diagnosis(t)
	page := filepath.Join(t.TempDir(), "leaky.html")
	r := oomdoctor(t, "explain", "--kubeconfig", cp.Kubeconfig, "-n", scenario.DiagnosisNamespace, "leaky-6f7d8c9b5-q2w4e", "--prometheus-url", url, "--history", "3d", "--html", page)
	if r.code != 0 {
		t.Fatalf("%s", r)
	}
	for _, want := range []string{"Pod diag/leaky-6f7d8c9b5-q2w4e, container app (Deployment/leaky) on node-a", "1. memory-leak, high confidence", "OOM kill at the limit 256Mi", " limit\n", "K"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("explain lacks %q:\n%s", want, r.stdout)
		}
	}
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(html), `<polyline class="ws"`) || strings.Count(string(html), `class="kill"`) < 5 {
		t.Errorf("the HTML page lacks the working set or the kills")
	}
	// By workload, and JSON.
	r = oomdoctor(t, "explain", "--kubeconfig", cp.Kubeconfig, "-n", scenario.DiagnosisNamespace, "deploy/billing", "--prometheus-url", url, "--history", "3d", "-o", "json")
	var e struct {
		Items []struct {
			Finding model.Finding `json:"finding"`
			History *struct {
				WorkingSet []model.Point `json:"workingSet"`
			} `json:"history"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &e); err != nil || len(e.Items) != 1 {
		t.Fatalf("explain deploy/billing -o json: %v\n%s", err, r)
	}
	it := e.Items[0]
	if c := it.Finding.TopCause(); c == nil || c.ID != model.CauseRuntimeHeap || c.Runtime != "jvm" || !strings.Contains(c.Fix.Flag, "-Xmx384m") {
		t.Errorf("billing: top cause %+v, want runtime-heap (jvm) with -Xmx384m", c)
	}
	if it.History == nil || len(it.History.WorkingSet) < 100 {
		t.Errorf("billing: no history in the JSON")
	}
	// Errors say what to do.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"explain", "--kubeconfig", cp.Kubeconfig, "-n", "diag", "svc/x"}, `"svc" is not a kind of workload: give a pod, deployment (deploy)`},
		{[]string{"explain", "--kubeconfig", cp.Kubeconfig, "-n", "diag", "a/b/c"}, "name a pod"},
		{[]string{"explain", "--kubeconfig", cp.Kubeconfig, "-n", "diag", "nope", "-o", "xml"}, "unknown output format"},
	} {
		r := oomdoctor(t, tc.args...)
		if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: want a failure saying %q, got %s", tc.args, tc.want, r)
		}
	}
	r = oomdoctor(t, "explain", "--kubeconfig", cp.Kubeconfig, "-n", "diag", "nope")
	if r.code != 2 || !strings.Contains(r.stderr, "pod diag/nope not found in the cluster at https://") {
		t.Errorf("a pod that does not exist: %s", r)
	}
}

// recommend --from-cluster reads the pods' specs (and the JVM's ConfigMap)
// from the API server: the heap flag that goes with the new limit.
func TestRecommendFromClusterSpecs(t *testing.T) {
	url := diagnosis(t)
	doc := recommendations(t, oomdoctor(t, "recommend", "--kubeconfig", cp.Kubeconfig, "--prometheus-url", url, "--history", "3d", "-n", scenario.DiagnosisNamespace, "--from-cluster", "-o", "json"))
	var billing *model.Recommendation
	for i := range doc.Items {
		if doc.Items[i].Workload.Name == "billing" {
			billing = &doc.Items[i]
		}
	}
	if billing == nil || billing.Runtime != "jvm" || len(billing.RuntimeFlags) != 1 || !strings.HasPrefix(billing.RuntimeFlags[0], "-Xmx") {
		t.Fatalf("billing: %+v (notes %q)", billing, doc.Notes)
	}
	if *billing.MemoryLimitBytes <= 512<<20 {
		t.Errorf("billing was killed at 512Mi: want a higher limit, got %d", *billing.MemoryLimitBytes)
	}
	// The pods' status and the node agent's events join Prometheus' kills:
	// leaky's last kill is one Prometheus has (counted once); the gateway's
	// the agent saw at the pod's limit (the sidecar's doing), so it is not
	// the app's demand.
	alone := recommendations(t, oomdoctor(t, "recommend", "--prometheus-url", url, "--history", "3d", "-n", scenario.DiagnosisNamespace, "-o", "json"))
	kills := func(d model.Recommendations, name, container string) *model.Recommendation {
		for i := range d.Items {
			if d.Items[i].Workload.Name == name && d.Items[i].Container == container {
				return &d.Items[i]
			}
		}
		t.Fatalf("no recommendation for %s/%s", name, container)
		return nil
	}
	if a, b := kills(alone, "leaky", "app"), kills(doc, "leaky", "app"); a.OOMKills == 0 || a.OOMKills != b.OOMKills {
		t.Errorf("leaky: %d kills from Prometheus, %d with the cluster's: the status' kill is one of Prometheus'", a.OOMKills, b.OOMKills)
	}
	gw := kills(doc, "gateway", "app")
	if gw.OOMKills != 0 || !strings.Contains(strings.Join(gw.Reasons, "\n"), "the node agent saw the pod's limit hit") || *gw.MemoryLimitBytes > *kills(alone, "gateway", "app").MemoryLimitBytes {
		t.Errorf("gateway/app: %+v", gw)
	}
	// -l picks the workloads of the pods whose labels match, in every
	// namespace the selector reaches, and only them.
	picked := recommendations(t, oomdoctor(t, "recommend", "--kubeconfig", cp.Kubeconfig, "--prometheus-url", url, "--history", "3d", "--from-cluster", "-l", "app in (billing,leaky)", "-o", "json"))
	var names []string
	for _, r := range picked.Items {
		names = append(names, r.Workload.Namespace+"/"+r.Workload.Name+"/"+r.Container)
	}
	if want := []string{scenario.DiagnosisNamespace + "/billing/billing", scenario.DiagnosisNamespace + "/leaky/app"}; !slices.Equal(names, want) {
		t.Errorf("-l 'app in (billing,leaky)': %q, want %q", names, want)
	}
	if b := kills(picked, "billing", "billing"); *b.MemoryLimitBytes != *billing.MemoryLimitBytes || b.Runtime != "jvm" {
		t.Errorf("-l: billing sized %d (%s), without -l %d", *b.MemoryLimitBytes, b.Runtime, *billing.MemoryLimitBytes)
	}
	if r := oomdoctor(t, "recommend", "--kubeconfig", cp.Kubeconfig, "--prometheus-url", url, "--from-cluster", "-l", "app=nowhere"); r.code != 2 || !strings.Contains(r.stderr, "no pod in any namespace matches -l app=nowhere") {
		t.Errorf("-l matching no pod: %s", r)
	}
	// A HorizontalPodAutoscaler that scales billing on memory at an
	// average no pod reaches under its limit: read from the cluster and
	// from a snapshot, it is named in billing's warnings.
	ctx := context.Background()
	hpas := cp.Client.AutoscalingV2().HorizontalPodAutoscalers(scenario.DiagnosisNamespace)
	_, err := hpas.Create(ctx, &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "billing"}, Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
		ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "billing"}, MaxReplicas: 4,
		Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceMemory,
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptr.To(resource.MustParse("100Gi"))}}}},
	}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hpas.Delete(context.Background(), "billing", metav1.DeleteOptions{}) })
	wantHPA := "HorizontalPodAutoscaler " + scenario.DiagnosisNamespace + "/billing scales Deployment/billing on memory at an average of 100Gi a pod, at or above the new limits"
	snap := filepath.Join(t.TempDir(), "snap")
	if r := oomdoctor(t, "snapshot", "--kubeconfig", cp.Kubeconfig, "-n", scenario.DiagnosisNamespace, "-o", snap); r.code != 0 || !strings.Contains(r.stderr, "1 horizontalpodautoscalers") {
		t.Fatalf("snapshot with an HPA: %s", r)
	}
	for _, from := range [][]string{{"--kubeconfig", cp.Kubeconfig, "--from-cluster"}, {"--snapshot", snap}} {
		d := recommendations(t, oomdoctor(t, append([]string{"recommend", "--prometheus-url", url, "--history", "3d", "-l", "app=billing", "-o", "json"}, from...)...))
		if b := kills(d, "billing", "billing"); !slices.ContainsFunc(b.Warnings, func(w string) bool { return strings.HasPrefix(w, wantHPA) }) {
			t.Errorf("%q: billing's warnings %q lack %q", from, b.Warnings, wantHPA)
		}
	}
	r := oomdoctor(t, "recommend", "--kubeconfig", cp.Kubeconfig, "--trace", "x.csv", "--from-cluster")
	if r.code != 2 || !strings.Contains(r.stderr, "--from-cluster goes with --prometheus-url") {
		t.Errorf("--from-cluster without Prometheus: %s", r)
	}
}

// fix --prometheus-url --from-cluster takes the kills only the cluster
// shows: a second indexer pod, killed at 1Gi an hour ago, that Prometheus
// never saw. Without --from-cluster the limit stays near the indexer's
// peak; with it, above the 1Gi it was killed at, as recommend says.
func TestFixFromPrometheusWithClusterKills(t *testing.T) {
	url := diagnosis(t)
	ctx := context.Background()
	ns := scenario.DiagnosisNamespace
	st, err := cp.Client.AppsV1().StatefulSets(ns).Get(ctx, "indexer", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "indexer-1", Namespace: ns, Labels: map[string]string{"app": "indexer"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "StatefulSet", Name: st.Name, UID: st.UID, Controller: ptr.To(true)}}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "indexer", Image: "registry.example/indexer:2.1", Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")}}}}},
	}
	pod, err = cp.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cp.Client.CoreV1().Pods(ns).Delete(ctx, "indexer-1", metav1.DeleteOptions{GracePeriodSeconds: ptr.To(int64(0))}); err != nil {
			t.Errorf("removing indexer-1: %v", err)
		}
	})
	killed := time.Unix(promSim.End, 0).Add(-time.Hour)
	pod.Status.Phase = corev1.PodRunning
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "indexer", Ready: true, RestartCount: 1, Image: "registry.example/indexer:2.1",
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(killed)}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "OOMKilled", ExitCode: 137,
			StartedAt: metav1.NewTime(killed.Add(-2 * time.Hour)), FinishedAt: metav1.NewTime(killed)}}}}
	if _, err := cp.Client.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	src := `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: indexer
  namespace: diag
spec:
  template:
    spec:
      containers:
        - name: indexer
          resources:
            limits:
              memory: 512Mi # page cache fills it
`
	limitOf := func(args ...string) int64 {
		t.Helper()
		file := filepath.Join(t.TempDir(), "indexer.yaml")
		if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		r := oomdoctor(t, append([]string{"fix", "-f", file, "--prometheus-url", url, "--history", "3d", "-n", ns, "--write"}, args...)...)
		got, _ := os.ReadFile(file)
		_, after, ok := strings.Cut(string(got), "memory: ")
		v, _, _ := strings.Cut(after, " ")
		q, err := resource.ParseQuantity(v)
		if r.code != 0 || !ok || err != nil || !strings.Contains(string(got), " # page cache fills it") {
			t.Fatalf("fix %q: %s\n%s", args, r, got)
		}
		return q.Value()
	}
	alone := limitOf()
	withCluster := limitOf("--kubeconfig", cp.Kubeconfig, "--from-cluster")
	if alone >= 1<<30 || withCluster <= 1<<30 {
		t.Errorf("indexer's limit: %dMi from Prometheus alone (want under 1Gi), %dMi with the cluster's kill (want above the 1Gi it was killed at)", alone>>20, withCluster>>20)
	}
	doc := recommendations(t, oomdoctor(t, "recommend", "--kubeconfig", cp.Kubeconfig, "--prometheus-url", url, "--history", "3d", "-n", ns, "statefulset/indexer", "--from-cluster", "-o", "json"))
	if len(doc.Items) != 1 || *doc.Items[0].MemoryLimitBytes != withCluster {
		t.Errorf("recommend --from-cluster says %+v; fix wrote %dMi", doc.Items, withCluster>>20)
	}
}

// An unreachable Prometheus leaves the report whole, says so, and the
// causes that need the history stay undecided.
func TestScanWithUnreachablePrometheus(t *testing.T) {
	diagnosis(t)
	r := oomdoctor(t, "scan", "--kubeconfig", cp.Kubeconfig, "-n", scenario.DiagnosisNamespace, "--prometheus-url", "http://127.0.0.1:1", "-o", "json")
	if r.code != 0 || strings.Count(r.stderr, "cannot reach Prometheus at http://127.0.0.1:1") != 1 {
		t.Fatalf("want the report and one warning that Prometheus cannot be reached: %s", r)
	}
	var rep model.ScanReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	for _, g := range rep.Workloads {
		for _, f := range g.Findings {
			if f.Pod != "leaky-6f7d8c9b5-q2w4e" {
				continue
			}
			undecided := false
			for _, u := range f.Undecided {
				undecided = undecided || u.ID == model.CauseMemoryLeak
			}
			if !undecided {
				t.Errorf("leaky without history: memory-leak should be undecided: %+v", f.Undecided)
			}
			return
		}
	}
	t.Error("no finding for leaky")
}

// A VerticalPodAutoscaler (its CRD installed in the real API server) that
// sets leaky's memory: snapshot saves it, and recommend says, from the
// cluster and from the snapshot, to give the values to the VPA.
func TestRecommendSaysWhenAVPASizes(t *testing.T) {
	url := diagnosis(t)
	ctx := context.Background()
	dyn, err := dynamic.NewForConfig(cp.Config)
	if err != nil {
		t.Fatal(err)
	}
	crds := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	crd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		// The VPA's own CRD carries the approval a *.k8s.io group needs.
		"metadata": map[string]any{"name": "verticalpodautoscalers.autoscaling.k8s.io", "annotations": map[string]any{"api-approved.kubernetes.io": "https://github.com/kubernetes/kubernetes/pull/63797"}},
		"spec": map[string]any{
			"group": "autoscaling.k8s.io", "scope": "Namespaced",
			"names": map[string]any{"plural": "verticalpodautoscalers", "singular": "verticalpodautoscaler", "kind": "VerticalPodAutoscaler", "listKind": "VerticalPodAutoscalerList", "shortNames": []any{"vpa"}},
			"versions": []any{map[string]any{"name": "v1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}},
		},
	}}
	if _, err := dyn.Resource(crds).Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dyn.Resource(crds).Delete(context.Background(), crd.GetName(), metav1.DeleteOptions{}) })
	vpa := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "autoscaling.k8s.io/v1", "kind": "VerticalPodAutoscaler",
		"metadata": map[string]any{"name": "leaky", "namespace": scenario.DiagnosisNamespace},
		"spec":     map[string]any{"targetRef": map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "name": "leaky"}, "updatePolicy": map[string]any{"updateMode": "Recreate"}},
	}}
	// The API server serves the new resource within seconds.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		_, err = dyn.Resource(workload.VPAResource).Namespace(scenario.DiagnosisNamespace).Create(ctx, vpa, metav1.CreateOptions{})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("creating a VPA: %v", err)
		}
	}
	const want = "VerticalPodAutoscaler diag/leaky (updateMode Recreate) sets this container's memory requests and limits in every new pod: values written into the Deployment would not take"
	says := func(d model.Recommendations, how string) {
		t.Helper()
		for _, it := range d.Items {
			has := strings.Contains(strings.Join(it.Warnings, "\n"), "VerticalPodAutoscaler")
			if it.Workload.Name == "leaky" && !strings.Contains(strings.Join(it.Warnings, "\n"), want) || it.Workload.Name != "leaky" && has {
				t.Errorf("%s: %s/%s warnings %q", how, it.Workload, it.Container, it.Warnings)
			}
		}
	}
	says(recommendations(t, oomdoctor(t, "recommend", "--kubeconfig", cp.Kubeconfig, "--prometheus-url", url, "--history", "3d", "-n", scenario.DiagnosisNamespace, "--from-cluster", "-o", "json")), "--from-cluster")
	dir := filepath.Join(t.TempDir(), "snap")
	if r := oomdoctor(t, "snapshot", "--kubeconfig", cp.Kubeconfig, "-n", scenario.DiagnosisNamespace, "-o", dir); r.code != 0 || !strings.Contains(r.stderr, "1 verticalpodautoscalers") {
		t.Fatalf("snapshot: %s", r)
	}
	says(recommendations(t, oomdoctor(t, "recommend", "--snapshot", dir, "--prometheus-url", url, "--history", "3d", "-o", "json")), "--snapshot")
	// scan reads the VPAs too (leaky's cause, a leak, is not a size: its
	// fix does not name the VPA), and says nothing of them.
	r := oomdoctor(t, "scan", "--kubeconfig", cp.Kubeconfig, "-n", scenario.DiagnosisNamespace, "--prometheus-url", url, "--history", "3d", "-o", "json")
	if r.code != 0 || strings.Contains(r.stderr, "verticalpodautoscalers") || strings.Contains(r.stdout, "verticalpodautoscalers") {
		t.Errorf("scan with a VPA: %s", r)
	}
}

// scan -w with a Prometheus diagnoses a kill it tells from the history,
// as scan does: the leaking pod killed again is a memory leak.
func TestScanWatchDiagnosesWithPrometheus(t *testing.T) {
	url := diagnosis(t)
	ns, pod := scenario.DiagnosisNamespace, scenario.DiagnosisCases[0].Pod
	out, errOut, stop := watching(t, "scan", "--kubeconfig", cp.Kubeconfig, "-n", ns, "--prometheus-url", url, "--history", "3d", "-w", "-o", "json")
	waitReports(t, out, errOut, 1)
	ctx := context.Background()
	p, err := cp.Client.CoreV1().Pods(ns).Get(ctx, pod, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var cs *corev1.ContainerStatus
	for i := range p.Status.ContainerStatuses {
		if p.Status.ContainerStatuses[i].Name == "app" {
			cs = &p.Status.ContainerStatuses[i]
		}
	}
	if cs == nil || cs.State.Running == nil {
		t.Fatalf("the leaking pod's app container does not run: %+v", p.Status.ContainerStatuses)
	}
	at := time.Now().Truncate(time.Second)
	cs.LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "OOMKilled", ExitCode: 137,
		StartedAt: cs.State.Running.StartedAt, FinishedAt: metav1.NewTime(at)}}
	cs.State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(at.Add(time.Second))}}
	cs.RestartCount++
	if _, err := cp.Client.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	rs := waitReports(t, out, errOut, 2)
	if code := stop(); code != 0 {
		t.Errorf("exit %d: %s", code, errOut.String())
	}
	if rs[1].Summary.Findings != 1 {
		t.Fatalf("report of the kill: %+v", rs[1].Summary)
	}
	f := rs[1].Workloads[0].Findings[0]
	if c := f.TopCause(); f.Pod != pod || c == nil || c.ID != model.CauseMemoryLeak || len(c.Evidence) == 0 {
		t.Errorf("%s: causes %+v, undecided %+v; want memory-leak first, from the history", f.Pod, f.Causes, f.Undecided)
	}
}

// scan, which reads Prometheus only for the causes, says once that a
// gateway in front of it refused the credentials, and reports the kills
// all the same; with them, it finds the causes it finds directly.
func TestScanThroughAGateway(t *testing.T) {
	url := diagnosis(t)
	gw, creds, _, _ := authGateway(t, url)
	sc := oomdoctor(t, "scan", "--kubeconfig", cp.Kubeconfig, "-n", scenario.DiagnosisNamespace, "--prometheus-url", gw, "--history", "3d")
	if sc.code != 0 || strings.Count(sc.stderr, "refused the query (401 Unauthorized: invalid credentials)") != 1 || !strings.Contains(sc.stdout, "leaky") {
		t.Errorf("scan through a gateway without credentials: want the report and one warning: %s", sc)
	}
	causes := func(r result) map[string][]string {
		t.Helper()
		var rep model.ScanReport
		if err := json.Unmarshal([]byte(r.stdout), &rep); r.code != 0 || err != nil {
			t.Fatalf("scan: %v %s", err, r)
		}
		out := map[string][]string{}
		for _, g := range rep.Workloads {
			for _, f := range g.Findings {
				for _, c := range f.Causes {
					out[f.Pod+"/"+f.Container] = append(out[f.Pod+"/"+f.Container], string(c.ID))
				}
			}
		}
		return out
	}
	scanArgs := []string{"scan", "--kubeconfig", cp.Kubeconfig, "-n", scenario.DiagnosisNamespace, "--history", "3d", "-o", "json"}
	directly := causes(oomdoctor(t, append(scanArgs, "--prometheus-url", url)...))
	if !slices.Contains(directly["leaky-6f7d8c9b5-q2w4e/app"], string(model.CauseMemoryLeak)) {
		t.Fatalf("read directly, leaky's causes are %q: want memory-leak", directly["leaky-6f7d8c9b5-q2w4e/app"])
	}
	if got := causes(oomdoctor(t, append(scanArgs, creds...)...)); !reflect.DeepEqual(got, directly) {
		t.Errorf("scan through the gateway with credentials: causes %q, want those read directly %q", got, directly)
	}
}
