package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/oomdoctor/oomdoctor/internal/cgroup"
	"github.com/oomdoctor/oomdoctor/internal/cli"
	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/test/alloc"
	"github.com/oomdoctor/oomdoctor/test/cluster"
	"github.com/oomdoctor/oomdoctor/test/promserver"
)

// agentRules are the ClusterRole rules deploy/agent ships.
func agentRules(t *testing.T) []rbacv1.PolicyRule {
	t.Helper()
	data, err := os.ReadFile("../../deploy/agent/oomdoctor-agent.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range strings.Split(string(data), "\n---") {
		var role rbacv1.ClusterRole
		if err := yaml.Unmarshal([]byte(d), &role); err == nil && role.Kind == "ClusterRole" {
			return role.Rules
		}
	}
	t.Fatal("deploy/agent/oomdoctor-agent.yaml has no ClusterRole")
	return nil
}

// The shipped manifests are valid for a real API server.
func TestAgentManifestsApply(t *testing.T) {
	// A server-side dry run does not create the namespace the other
	// objects go in.
	_, err := cp.Client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "oomdoctor"}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	out, err := exec.Command(kubectlBinary(t), "--kubeconfig", cp.Kubeconfig, "apply", "--dry-run=server", "-f", "../../deploy/agent/oomdoctor-agent.yaml").CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl apply --dry-run=server: %v\n%s", err, out)
	}
	for _, want := range []string{"daemonset.apps/oomdoctor-agent created (server dry run)", "serviceaccount/oomdoctor-agent created (server dry run)", "clusterrole.rbac.authorization.k8s.io/oomdoctor-agent created (server dry run)"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("kubectl said:\n%s\nwant %q", out, want)
		}
	}
}

// The agent, with exactly the shipped RBAC, against a real API server: real
// kernel kills in cgroups laid out like the kubelet's, tied to pods whose
// statuses carry the container IDs, told as metrics and Events.
func TestAgentPostsEventsForRealKills(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("the agent test needs root: it makes memory cgroups and reads /dev/kmsg")
	}
	ctx := context.Background()
	h, err := cgroup.Detect("/", cgroup.RealStatFS)
	if err != nil {
		t.Fatal(err)
	}
	const ns, node = "agent-test", "agent-node"
	if _, err := cp.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	defer func() {
		// No kubelet runs here: delete at once so that other tests see
		// only the scenario's pods, and the agent's events (a child kill is
		// a finding of its own).
		_ = cp.Client.CoreV1().Events(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
		_ = cp.Client.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}, metav1.ListOptions{})
		_ = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
			l, err := cp.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			return err == nil && len(l.Items) == 0, nil
		})
	}()

	type podSpec struct{ name, container, qos string }
	specs := []podSpec{{"api", "app", "guaranteed"}, {"worker", "worker", "burstable"}, {"batch", "job", "besteffort"}}
	root := fmt.Sprintf("/oomdoctor-agent-it-%d", os.Getpid())
	var made []*cgroup.Group
	mk := func(p string) *cgroup.Group {
		g, err := h.Create(root + p)
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, g)
		return g
	}
	defer func() {
		for i := len(made) - 1; i >= 0; i-- {
			if err := made[i].Remove(); err != nil {
				t.Errorf("removing %s: %v", made[i].Path, err)
			}
		}
	}()
	mk("")
	kubepods := mk("/kubepods")
	mk("/kubepods/burstable")
	mk("/kubepods/besteffort")
	containers := map[string]*cgroup.Group{}
	for i, s := range specs {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: s.name, Namespace: ns},
			Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: s.container, Image: "registry.invalid/app:1"}}}}
		pod, err := cp.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprintf("%064x", 0xabc000+i)
		pod.Status.Phase = corev1.PodRunning
		pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: s.container, ContainerID: "containerd://" + id, Ready: true, Image: "registry.invalid/app:1",
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}}}
		if _, err := cp.Client.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		dir := "/kubepods/pod" + string(pod.UID)
		if s.qos != "guaranteed" {
			dir = "/kubepods/" + s.qos + "/pod" + string(pod.UID)
		}
		mk(dir)
		c := mk(dir + "/" + id)
		if s.qos != "besteffort" {
			if err := c.SetLimit(48 << 20); err != nil {
				t.Fatal(err)
			}
		}
		containers[s.name] = c
	}

	kubeconfig, err := cp.User(ctx, "oomdoctor", "agent", agentRules(t))
	if err != nil {
		t.Fatal(err)
	}
	actx, cancel := context.WithCancel(ctx)
	var stdout, stderr cluster.SyncBuffer
	done := make(chan int)
	go func() {
		done <- cli.Main(actx, "oomdoctor", []string{"agent", "--node-name", node, "--kubeconfig", kubeconfig, "--kubelet-cgroup-root", root, "--listen", "127.0.0.1:0"},
			genericStreams(&stdout, &stderr))
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("the agent exited %d: %s", code, stderr.String())
		}
	}()
	addr, err := cluster.AgentReady(ctx, &stderr, 10*time.Second)
	if err != nil {
		t.Fatalf("the agent did not get ready: %v\n%s", err, stderr.String())
	}
	// A real Prometheus scrapes the agent and evaluates the rules
	// oomdoctor alerts writes, every second.
	var rules, rulesErr strings.Builder
	if code := cli.Main(ctx, "oomdoctor", []string{"alerts"}, genericStreams(&rules, &rulesErr)); code != 0 {
		t.Fatalf("oomdoctor alerts: %d %s", code, rulesErr.String())
	}
	prom, err := promserver.StartScraping(ctx, t.TempDir(), time.Second, fmt.Sprintf("- job_name: agent\n  static_configs:\n  - targets: [%q]\n", addr), rules.String())
	if err != nil {
		t.Fatal(err)
	}
	defer prom.Stop()

	run := func(g *cgroup.Group, argv ...string) {
		cmd := g.Command(argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(), alloc.Env+"=300")
		_ = cmd.Run()
	}
	self := os.Args[0]
	// api: the main process at its own limit.
	run(containers["api"], self)
	// worker: a child process; the container's shell lives on.
	run(containers["worker"], "/bin/sh", "-c", self+"; sleep 0.5")
	// batch: BestEffort, no limit of its own; the node's allocatable
	// (kubepods) runs out.
	if err := kubepods.SetLimit(64 << 20); err != nil {
		t.Fatal(err)
	}
	run(containers["batch"], self)
	if err := kubepods.SetLimit(-1); err != nil {
		t.Fatal(err)
	}

	want := map[string]struct{ reason, text string }{
		"api":    {"ContainerOOMKilled", "its main process: the container ends. The container reached its own memory limit of 48Mi"},
		"worker": {"ProcessOOMKilled", "not its main process: the container runs on"},
		"batch":  {"ContainerOOMKilled", "node-level OOM"},
	}
	var events []corev1.Event
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 15*time.Second, true, func(ctx context.Context) (bool, error) {
		l, err := cp.Client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		events = l.Items
		return len(events) >= 3, nil
	})
	if err != nil {
		t.Fatalf("%d events after 15s: %+v\nagent log:\n%s\n%s", len(events), events, stdout.String(), stderr.String())
	}
	for _, e := range events {
		w, ok := want[e.InvolvedObject.Name]
		if !ok {
			t.Errorf("an event for %s: %+v", e.InvolvedObject.Name, e)
			continue
		}
		if e.Reason != w.reason || !strings.Contains(e.Message, w.text) || e.Type != corev1.EventTypeWarning ||
			e.Source.Component != "oomdoctor-agent" || e.Source.Host != node || e.InvolvedObject.UID == "" || !strings.HasPrefix(e.InvolvedObject.FieldPath, "spec.containers{") {
			t.Errorf("event for %s: reason %s, message %q, source %+v, object %+v", e.InvolvedObject.Name, e.Reason, e.Message, e.Source, e.InvolvedObject)
		}
		// The record rides along for scan and explain.
		var k model.KernelKill
		if err := json.Unmarshal([]byte(e.Annotations[model.KillAnnotation]), &k); err != nil || k.Pod != e.InvolvedObject.Name || k.Scope == "" || k.VictimPID == 0 {
			t.Errorf("event for %s: annotation %s = %q (%v)", e.InvolvedObject.Name, model.KillAnnotation, e.Annotations[model.KillAnnotation], err)
		}
		delete(want, e.InvolvedObject.Name)
	}
	if len(want) > 0 {
		t.Errorf("no event for %v", want)
	}

	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, line := range []string{
		`oomdoctor_oom_kills_total{container="app",main_process="true",namespace="agent-test",node="agent-node",pod="api",scope="container"} 1`,
		`oomdoctor_oom_kills_total{container="worker",main_process="false",namespace="agent-test",node="agent-node",pod="worker",scope="container"} 1`,
		`oomdoctor_oom_kills_total{container="job",main_process="true",namespace="agent-test",node="agent-node",pod="batch",scope="node"} 1`,
	} {
		if !strings.Contains(string(body), line) {
			t.Errorf("/metrics lacks %s", line)
		}
	}
	if n := strings.Count(stdout.String(), `"scope"`); n != 3 {
		t.Errorf("%d JSON kill lines on stdout, want 3:\n%s", n, stdout.String())
	}

	// The alerts on the agent's counter fire on a first kill: its series
	// is born at 1, with no 0 before it for increase() to rise from.
	wantAlerts := map[string]string{"worker": "ContainerProcessOOMKilled", "batch": "NodeLevelOOMKill"}
	var firing []promserver.Alert
	err = wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		all, err := prom.Alerts()
		if err != nil {
			return false, err
		}
		firing = firing[:0]
		got := 0
		for _, a := range all {
			if a.State == "firing" {
				firing = append(firing, a)
				if wantAlerts[a.Labels["pod"]] == a.Labels["alertname"] {
					got++
				}
			}
		}
		return got == len(wantAlerts), nil
	})
	if err != nil {
		t.Errorf("want %v firing from a real scrape of the agent; firing after 30s: %+v", wantAlerts, firing)
	}
	for _, a := range firing {
		if wantAlerts[a.Labels["pod"]] != a.Labels["alertname"] || a.Value != "1e+00" {
			t.Errorf("firing: %+v (want one kill of %v only)", a, wantAlerts)
		}
	}
}

func genericStreams(out, errOut io.Writer) genericiooptions.IOStreams {
	return genericiooptions.IOStreams{In: strings.NewReader(""), Out: out, ErrOut: errOut}
}
