package integration

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/oomdoctor/oomdoctor/internal/cli"
	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/scan"
	"github.com/oomdoctor/oomdoctor/internal/source"
	"github.com/oomdoctor/oomdoctor/internal/source/kube"
	"github.com/oomdoctor/oomdoctor/test/cluster"
)

// watching runs `oomdoctor args...` until the returned stop is called,
// which gives its exit code.
func watching(t *testing.T, args ...string) (out, errOut *cluster.SyncBuffer, stop func() int) {
	t.Helper()
	out, errOut = &cluster.SyncBuffer{}, &cluster.SyncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- cli.Main(ctx, "oomdoctor", args, genericiooptions.IOStreams{In: strings.NewReader(""), Out: out, ErrOut: errOut})
	}()
	stopped := false
	var code int
	stop = func() int {
		if !stopped {
			stopped = true
			cancel()
			select {
			case code = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("the watch did not end within 30 s of its context")
			}
		}
		return code
	}
	t.Cleanup(func() { stop() })
	return out, errOut, stop
}

// reports decodes the stream of ScanReports a watch wrote as JSON.
func reports(t *testing.T, s string) []model.ScanReport {
	t.Helper()
	var out []model.ScanReport
	dec := json.NewDecoder(strings.NewReader(s))
	for {
		var r model.ScanReport
		err := dec.Decode(&r)
		if err == io.EOF {
			return out
		}
		if err != nil {
			// The last report may be half written: read it next time.
			return out
		}
		out = append(out, r)
	}
}

// waitReports waits until the watch has written n reports.
func waitReports(t *testing.T, out, errOut *cluster.SyncBuffer, n int) []model.ScanReport {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		rs := reports(t, out.String())
		if len(rs) >= n {
			return rs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d reports after 30 s, want %d\nstdout:\n%s\nstderr:\n%s", len(rs), n, out.String(), errOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// statusWriter returns a function that changes the pod's first container
// status as the kubelet would write it (running since an hour ago at
// first).
func statusWriter(t *testing.T, c kubernetes.Interface, pod *corev1.Pod) func(func(*corev1.ContainerStatus)) {
	started := metav1.NewTime(time.Now().Add(-time.Hour).Truncate(time.Second))
	return func(mutate func(*corev1.ContainerStatus)) {
		t.Helper()
		ctx := context.Background()
		p, err := c.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Status.ContainerStatuses) == 0 {
			ctr := p.Spec.Containers[0]
			p.Status.Phase = corev1.PodRunning
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: ctr.Name, Image: ctr.Image, Ready: true,
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}}}}
		}
		mutate(&p.Status.ContainerStatuses[0])
		if _, err := c.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// killedAt makes a running container's status tell of an OOM kill at at,
// and of its restart a second later.
func killedAt(cs *corev1.ContainerStatus, at time.Time) {
	cs.LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "OOMKilled", ExitCode: 137,
		StartedAt: cs.State.Running.StartedAt, FinishedAt: metav1.NewTime(at)}}
	cs.State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(at.Add(time.Second))}}
	cs.RestartCount++
}

// scan -w prints the first report, then one report per new kill, as it
// happens: a container's OOM kill in its status, a second one after the
// restart, the node agent's kill of a child process, a node's SystemOOM.
// A status update that tells of no new kill, or the same kill again
// after the restart, prints nothing.
func TestScanWatch(t *testing.T) {
	ctx := context.Background()
	c := cp.Client
	const ns, node = "watch", "node-w"
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	lim := corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")}
	pod, err := c.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "api-0", Namespace: ns},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "api", Image: "registry.example/api:1",
			// A heap above the limit, in env the watch does not hold:
			// the diagnosis must read the pod whole.
			Env:       []corev1.EnvVar{{Name: "JAVA_TOOL_OPTIONS", Value: "-Xmx512m"}},
			Resources: corev1.ResourceRequirements{Requests: lim, Limits: lim}}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var events []*corev1.Event
	t.Cleanup(func() {
		zero := int64(0)
		_ = c.CoreV1().Pods(ns).Delete(ctx, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
		for _, e := range events {
			_ = c.CoreV1().Events(e.Namespace).Delete(ctx, e.Name, metav1.DeleteOptions{})
		}
	})
	setStatus := statusWriter(t, c, pod)
	setStatus(func(*corev1.ContainerStatus) {})

	// As a user with the shipped reader ClusterRole, and nothing more.
	b, err := os.ReadFile("../../deploy/rbac/oomdoctor-reader.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var role rbacv1.ClusterRole
	if err := yaml.Unmarshal(b, &role); err != nil {
		t.Fatal(err)
	}
	reader, err := cp.User(ctx, "rbac-test", "watch-reader", role.Rules)
	if err != nil {
		t.Fatal(err)
	}
	out, errOut, stop := watching(t, "scan", "--kubeconfig", reader, "-n", ns, "-w", "-o", "json")
	first := waitReports(t, out, errOut, 1)[0]
	if first.Summary.Findings != 0 {
		t.Fatalf("first report: %d findings, want none yet", first.Summary.Findings)
	}
	// The watch starts after the first report: give its lists a moment.
	time.Sleep(time.Second)

	kill1 := time.Now().Add(-2 * time.Second).Truncate(time.Second).UTC()
	setStatus(func(cs *corev1.ContainerStatus) { killedAt(cs, kill1) })
	rs := waitReports(t, out, errOut, 2)
	checkOne := func(r model.ScanReport, typ model.FindingType, pod string, at time.Time) {
		t.Helper()
		if r.Kind != model.ScanReportKind || r.Summary.Findings != 1 || len(r.Workloads) != 1 {
			t.Fatalf("report %+v, want one finding", r.Summary)
		}
		f := r.Workloads[0].Findings[0]
		if f.Type != typ || f.Pod != pod || f.LastKill == nil || !f.LastKill.Equal(at) {
			t.Errorf("finding %s %s/%s at %v, want %s %s at %v", f.Type, f.Namespace, f.Pod, f.LastKill, typ, pod, at)
		}
	}
	checkOne(rs[1], model.OOMKilled, "api-0", kill1)
	if f := rs[1].Workloads[0].Findings[0]; f.MemoryLimitBytes == nil || *f.MemoryLimitBytes != 256<<20 || f.Explanation == "" {
		t.Errorf("the new finding lacks what scan tells: limit %v, explanation %q", f.MemoryLimitBytes, f.Explanation)
	} else if c := f.TopCause(); c == nil || c.ID != model.CauseRuntimeHeap {
		t.Errorf("causes %+v, want runtime-heap first (-Xmx512m under 256Mi, from the pod's env)", f.Causes)
	}

	// Ready flips: the same kill, nothing new.
	setStatus(func(cs *corev1.ContainerStatus) { cs.Ready = false })
	// A second kill.
	kill2 := kill1.Add(time.Second * 30)
	setStatus(func(cs *corev1.ContainerStatus) { killedAt(cs, kill2) })
	rs = waitReports(t, out, errOut, 3)
	checkOne(rs[2], model.OOMKilled, "api-0", kill2)

	// The node agent's Event of a child process killed, then the node's
	// own SystemOOM.
	child := time.Now().Add(-time.Second).Truncate(time.Second).UTC()
	kk := model.KernelKill{Namespace: ns, Pod: pod.Name, Container: "api", Node: node, VictimName: "worker", VictimPID: 4242,
		MainProcess: "false", Scope: "container", LimitBytes: 256 << 20, At: child}
	raw, _ := json.Marshal(kk)
	ev, err := c.CoreV1().Events(ns).Create(ctx, &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{GenerateName: "api-0.", Namespace: ns, Annotations: map[string]string{model.KillAnnotation: string(raw)}},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: pod.Name, UID: pod.UID, FieldPath: "spec.containers{api}"},
		Type:           corev1.EventTypeWarning, Reason: "OOMKilled", Message: "worker (pid 4242) killed",
		Source: corev1.EventSource{Component: "oomdoctor-agent", Host: node}, Count: 1,
		FirstTimestamp: metav1.NewTime(child), LastTimestamp: metav1.NewTime(child),
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	events = append(events, ev)
	rs = waitReports(t, out, errOut, 4)
	checkOne(rs[3], model.KernelOOMKill, "api-0", child)
	if f := rs[3].Workloads[0].Findings[0]; f.Process != "worker" || f.Container != "api" {
		t.Errorf("child kill: process %q container %q", f.Process, f.Container)
	}

	// A node none of the namespace's pods runs on: not this watch's (as
	// scan -n keeps node events). Then the pod's node.
	sys := time.Now().Truncate(time.Second).UTC()
	for _, n := range []string{"node-elsewhere", node} {
		ev, err = c.CoreV1().Events(metav1.NamespaceDefault).Create(ctx, &corev1.Event{
			ObjectMeta:     metav1.ObjectMeta{GenerateName: n + ".", Namespace: metav1.NamespaceDefault},
			InvolvedObject: corev1.ObjectReference{Kind: "Node", Name: n, UID: types.UID(n)},
			Type:           corev1.EventTypeWarning, Reason: "SystemOOM", Message: "System OOM encountered, victim process: backup, pid: 999",
			Source: corev1.EventSource{Component: "kubelet", Host: n}, Count: 1,
			FirstTimestamp: metav1.NewTime(sys), LastTimestamp: metav1.NewTime(sys),
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, ev)
	}
	rs = waitReports(t, out, errOut, 5)
	checkOne(rs[4], model.SystemOOM, "", sys)
	if f := rs[4].Workloads[0].Findings[0]; f.Node != node {
		t.Errorf("system OOM of node %q, want %s's (node-elsewhere runs no pod of the namespace)", f.Node, node)
	}
	time.Sleep(time.Second) // anything more would come now

	if code := stop(); code != 0 {
		t.Errorf("exit %d after Ctrl-C, want 0; stderr %s", code, errOut.String())
	}
	if strings.Contains(errOut.String(), "warning") {
		t.Errorf("the reader ClusterRole lacks something scan -w reads:\n%s", errOut.String())
	}
	if rs := reports(t, out.String()); len(rs) != 5 {
		t.Errorf("%d reports, want 5 (nothing for the ready flip or the restarted kill):\n%s", len(rs), out.String())
	}
}

// In a table, the new kills are rows under the first table. Pages of two
// pods: the watch's own list is paged as the scan's is, and both agree.
func TestScanWatchTable(t *testing.T) {
	out, errOut, stop := watching(t, "scan", "--kubeconfig", cp.Kubeconfig, "-n", "shop", "-w", "--chunk-size", "2")
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(errOut.String(), "Watching for new kills") {
		if time.Now().After(deadline) {
			t.Fatalf("no watch after 30 s:\nstdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // the lists, and no kill: no row
	if code := stop(); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := scanJSON(t, "--kubeconfig", cp.Kubeconfig, "-n", "shop").Summary.Findings
	if !strings.HasPrefix(lines[0], "NAMESPACE") || len(lines) != want+1 {
		t.Errorf("want one header and the shop's %d rows, once:\n%s", want, out.String())
	}
	if !strings.Contains(errOut.String(), "findings in") {
		t.Errorf("no summary of the first table:\n%s", errOut.String())
	}
}

func TestScanWatchSnapshotRefused(t *testing.T) {
	r := oomdoctor(t, "scan", "--snapshot", "../../examples/snapshot", "-w")
	if r.code != cli.ExitUsage || !strings.Contains(r.stderr, "--watch follows a live cluster") {
		t.Errorf("%s", r)
	}
}

// A user who may list but not watch gets an error that names the verb to
// grant (before the report or after it, as the server's refusal comes),
// not a watch that never hears anything.
func TestScanWatchForbidden(t *testing.T) {
	listOnly, err := cp.User(context.Background(), "rbac-test", "list-only", []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"pods", "events"}, Verbs: []string{"list"}},
		{APIGroups: []string{"apps", "batch"}, Resources: []string{"replicasets", "jobs"}, Verbs: []string{"list"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := oomdoctor(t, "scan", "--kubeconfig", listOnly, "-n", "shop", "-w")
	if r.code != cli.ExitFailure || !strings.Contains(r.stderr, `needs the verb "watch" on pods and events`) || !regexp.MustCompile(`watching (pods|events): (pods|events) is forbidden`).MatchString(r.stderr) {
		t.Errorf("want exit 1 naming the watch verb: %s", r)
	}
	if strings.Contains(r.stderr, "retrying") {
		t.Errorf("the ended watch's cancelled requests were reported: %s", r.stderr)
	}
}

// A kill the scan's lists missed (it came between them and the watch's)
// is in the watch's first list and not in the scan's report: the watch
// tells it. One the report holds, it does not tell again.
func TestWatchTellsWhatTheScanMissed(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src, err := kube.New(cp.Config, kube.Options{})
	if err != nil {
		t.Fatal(err)
	}
	opts := scan.Options{Scope: source.Scope{Namespace: "shop"}, Now: time.Now(), Diagnose: true}
	full, err := scan.Run(ctx, src, opts)
	if err != nil {
		t.Fatal(err)
	}
	// The report as if the scan had listed before redis' kill.
	missed := *full
	missed.Workloads = nil
	for _, g := range full.Workloads {
		if g.Workload.Name != "redis" {
			missed.Workloads = append(missed.Workloads, g)
		}
	}
	if len(missed.Workloads) != len(full.Workloads)-1 {
		t.Fatalf("no redis workload in %+v", full.Workloads)
	}
	for _, tc := range []struct {
		already *model.ScanReport
		want    int
	}{{&missed, 1}, {full, 0}} {
		w, err := scan.StartWatch(ctx, src, opts, scan.Notify{Warn: func(err error) { t.Error(err) }})
		if err != nil {
			t.Fatal(err)
		}
		got := make(chan *model.ScanReport, 10)
		fctx, fcancel := context.WithTimeout(ctx, 3*time.Second)
		if err := w.Follow(fctx, tc.already, time.Now, func(r *model.ScanReport) error { got <- r; return nil }); err != nil {
			t.Fatal(err)
		}
		fcancel()
		close(got)
		var told []string
		for r := range got {
			for _, g := range r.Workloads {
				for _, f := range g.Findings {
					told = append(told, g.Workload.String()+" "+f.Pod)
				}
			}
		}
		if len(told) != tc.want || tc.want == 1 && told[0] != "StatefulSet/redis redis-0" {
			t.Errorf("with %d workloads already told: the watch told %v, want %d (redis)", len(tc.already.Workloads), told, tc.want)
		}
	}
}

// An API server that restarts (an upgrade) does not end the watch, nor
// make it tell the old kills again: it says once that it is retrying,
// then that it watches again, and tells the kill written while it was
// catching up, once. Its own control plane: the package's is not stopped.
func TestScanWatchSurvivesAPIServerRestart(t *testing.T) {
	ctx := context.Background()
	// Without a short watch grace the server waits on the open watches
	// and its stop ends in SIGKILL after the harness's grace.
	own, err := cluster.StartControlPlane(ctx, cluster.Options{ExtraAPIServerArgs: []string{"--shutdown-watch-termination-grace-period=2s"}})
	if err != nil {
		t.Fatalf("a control plane of its own: %v", err)
	}
	t.Cleanup(own.Stop)
	c := own.Client
	const ns = "restart"
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	lim := corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi")}
	pod, err := c.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: ns},
		Spec: corev1.PodSpec{NodeName: "node-r", Containers: []corev1.Container{{Name: "web", Image: "registry.example/web:1",
			Resources: corev1.ResourceRequirements{Requests: lim, Limits: lim}}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	setStatus := statusWriter(t, c, pod)
	setStatus(func(*corev1.ContainerStatus) {})

	out, errOut, stop := watching(t, "scan", "--kubeconfig", own.Kubeconfig, "-n", ns, "-w", "-o", "json")
	waitReports(t, out, errOut, 1)
	time.Sleep(time.Second)
	kill1 := time.Now().Add(-2 * time.Second).Truncate(time.Second).UTC()
	setStatus(func(cs *corev1.ContainerStatus) { killedAt(cs, kill1) })
	waitReports(t, out, errOut, 2)

	if err := own.RestartAPIServer(ctx, 3*time.Second); err != nil {
		t.Fatalf("restarting kube-apiserver: %v", err)
	}
	// At once, before the watch is back: it finds the kill as it resumes.
	kill2 := kill1.Add(time.Minute)
	setStatus(func(cs *corev1.ContainerStatus) { killedAt(cs, kill2) })
	deadline := time.Now().Add(90 * time.Second)
	for !strings.Contains(errOut.String(), "Watching again.") {
		if time.Now().After(deadline) {
			t.Fatalf("the watch did not say it resumed within 90 s of the restart:\nstderr:\n%s", errOut.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	rs := waitReports(t, out, errOut, 3)
	f := rs[2].Workloads[0].Findings[0]
	if rs[2].Summary.Findings != 1 || f.Pod != "web-0" || f.LastKill == nil || !f.LastKill.Equal(kill2) {
		t.Errorf("after the restart: %+v %s at %v, want web-0's kill at %v alone", rs[2].Summary, f.Pod, f.LastKill, kill2)
	}
	time.Sleep(2 * time.Second) // a repeat of the first kill would come now
	if code := stop(); code != 0 {
		t.Errorf("exit %d after Ctrl-C, want 0; stderr %s", code, errOut.String())
	}
	if rs := reports(t, out.String()); len(rs) != 3 {
		t.Errorf("%d reports, want 3 (the first, and each kill once):\n%s", len(rs), out.String())
	}
	stderr := errOut.String()
	warned := regexp.MustCompile(`(?m)^warning: watching (pods|events): .*; retrying$`).FindAllString(stderr, -1)
	if len(warned) != 1 || strings.Count(stderr, "Watching again.") != 1 {
		t.Errorf("want one warning of the outage and one line when it ended:\n%s", stderr)
	}
}
