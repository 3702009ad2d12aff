package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/oomdoctor/oomdoctor/test/cluster"
	"github.com/oomdoctor/oomdoctor/test/e2e/workloads"
)

// TestAgentDaemonSet runs the node agent the way users deploy it: the image
// the Dockerfile describes, and the Namespace, ServiceAccount, RBAC and
// DaemonSet of deploy/agent/oomdoctor-agent.yaml (then the chart rendered
// with kernelLog=false, and with a writable cgroup mount), on the real kubelet, containerd and runc. Only
// what this one-node cluster lacks is changed: hostNetwork (no pod network
// here), the API server's address (no kube-proxy routes the kubernetes
// Service) and the kubelet's cgroup root. The security context, mounts,
// probes and RBAC are the shipped ones: the agent must open /dev/kmsg
// through the runtime's device cgroup (or do without it), watch the host's
// cgroups, get Ready, and report a child process the kernel kills.
//
// It is not parallel: the other tests, which count the findings and Events
// in their namespaces, start only after it has removed the agent.
func TestAgentDaemonSet(t *testing.T) {
	shipped := manifestObjects(t, "../../deploy/agent/oomdoctor-agent.yaml")
	ds := daemonSet(t, shipped)

	// The image, built as the Dockerfile says from the binary make build
	// makes (bin/oomdoctor-agent, static), under the DaemonSet's image name.
	dir := t.TempDir()
	exe, err := cluster.BuildStatic(dir, "oomdoctor-agent", "github.com/oomdoctor/oomdoctor/cmd/oomdoctor-agent", "-ldflags", "-s -w")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "context", "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "context", "bin", "oomdoctor-agent"), exe, 0o755); err != nil {
		t.Fatal(err)
	}
	im, err := cluster.FromDockerfile("../../Dockerfile", filepath.Join(dir, "context"), dockerReference(ds.Spec.Template.Spec.Containers[0].Image))
	if err != nil {
		t.Fatal(err)
	}
	tarball, err := im.Write(filepath.Join(dir, "agent-image.tar"))
	if err != nil {
		t.Fatal(err)
	}
	if err := node.ImportImage(tarball); err != nil {
		t.Fatal(err)
	}

	// As shipped: the kernel log through syslog(2), with CAP_SYSLOG alone.
	t.Run("shipped manifests", func(t *testing.T) { runAgentDaemonSet(t, shipped, "e2e-agent-ds-syslog", true) })
	// The chart's switches, rendered by a real helm: the kernel log from
	// /dev/kmsg (privileged), the counters alone, and the cgroup mount
	// recursively read-only where the runtime can (no v1 eventfds then).
	for _, v := range []struct{ set, ns string }{
		{"kernelLogSource=device", "e2e-agent-ds-kmsg"},
		{"kernelLog=false", "e2e-agent-ds-counters"},
		{"cgroup.recursiveReadOnly=IfPossible", "e2e-agent-ds-rro"},
	} {
		t.Run("chart with "+v.set, func(t *testing.T) {
			bin, err := cluster.Helm()
			if err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(bin, "template", "oomdoctor-agent", "../../deploy/helm/oomdoctor-agent", "--namespace", ds.Namespace, "--set", v.set).CombinedOutput()
			if err != nil {
				t.Fatalf("helm template: %v\n%s", err, out)
			}
			objs := append([]runtime.Object{&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ds.Namespace}}}, decodeObjects(t, "helm template", out)...)
			runAgentDaemonSet(t, objs, v.ns, v.set != "kernelLog=false")
		})
	}
}

func daemonSet(t *testing.T, objs []runtime.Object) *appsv1.DaemonSet {
	t.Helper()
	for _, o := range objs {
		if d, ok := o.(*appsv1.DaemonSet); ok && len(d.Spec.Template.Spec.Containers) == 1 {
			return d
		}
	}
	t.Fatal("the agent's manifests have no DaemonSet of one container")
	return nil
}

// runAgentDaemonSet creates objs (the agent's), waits until the agent is
// Ready, has the kernel kill a child process in namespace ns and checks
// what the agent made of it: with the kernel log, the victim too.
func runAgentDaemonSet(t *testing.T, objs []runtime.Object, ns string, kernelLog bool) {
	ds := daemonSet(t, objs)
	c := &ds.Spec.Template.Spec.Containers[0]
	// What this cluster lacks.
	ds.Spec.Template.Spec.HostNetwork = true
	host, port, ok := strings.Cut(strings.TrimPrefix(node.URL, "https://"), ":")
	if !ok {
		t.Fatalf("API server URL %s", node.URL)
	}
	c.Env = append(c.Env, corev1.EnvVar{Name: "KUBERNETES_SERVICE_HOST", Value: host}, corev1.EnvVar{Name: "KUBERNETES_SERVICE_PORT", Value: port})
	root := false
	for i, a := range c.Args {
		if strings.HasPrefix(a, "--kubelet-cgroup-root=") {
			c.Args[i], root = "--kubelet-cgroup-root=/"+node.CgroupRoot, true
		}
	}
	if !root {
		t.Fatalf("the DaemonSet's args %v do not set --kubelet-cgroup-root", c.Args)
	}
	metricsPort := 0
	for _, p := range c.Ports {
		if p.Name == "metrics" {
			metricsPort = int(p.ContainerPort)
		}
	}

	ctx := context.Background()
	t.Cleanup(func() { removeManifestObjects(t, objs, ds.Namespace) })
	for _, o := range objs {
		if err := createObject(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	sel := metav1.FormatLabelSelector(ds.Spec.Selector)
	// Ready: watching the cgroups, the node's pods listed. A container
	// that exits on the way fails the test at once, with what it said.
	var agent *corev1.Pod
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		l, err := node.Client.CoreV1().Pods(ds.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return false, err
		}
		for i, p := range l.Items {
			for _, cs := range p.Status.ContainerStatuses {
				if x := cs.LastTerminationState.Terminated; x != nil {
					return false, fmt.Errorf("the agent's container exited %d (%s)", x.ExitCode, x.Reason)
				}
			}
			for _, cond := range p.Status.Conditions {
				if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue {
					agent = &l.Items[i]
					return true, nil
				}
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("the agent did not get Ready: %v\nits log:\n%s", err, agentLog(ds.Namespace))
	}

	// A child process killed at its container's limit while PID 1 lives on:
	// the API shows nothing; the agent in its pod must tell.
	namespace(t, ns)
	sc := workloads.Find("child-kill")
	if err := sc.Create(ctx, node.Client, ns); err != nil {
		t.Fatal(err)
	}
	p := waitPod(t, ns, sc.Selector(), time.Minute, sc.Reached, sc.Done)
	// Without the kernel log nor eventfds (a recursively read-only v1
	// mount) the counters are read at each rescan, every 30 s.
	var ev corev1.Event
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 90*time.Second, true, func(ctx context.Context) (bool, error) {
		l, err := node.Client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, e := range l.Items {
			if e.InvolvedObject.Name == p.Name && e.Reason == "ProcessOOMKilled" {
				ev = e
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("the agent's pod posted no ProcessOOMKilled event on %s/%s: %v\nagent log:\n%s", ns, p.Name, err, agentLog(ds.Namespace))
	}
	// Without the kernel's report no victim is named, but the main
	// process running on says it was another.
	if ev.Source.Component != "oomdoctor-agent" || ev.Source.Host != cluster.NodeName || !strings.Contains(ev.Message, "in container worker, not its main process") {
		t.Errorf("event %s from %+v: %s", ev.Reason, ev.Source, ev.Message)
	}
	// The kernel's report (victim, RSS) comes through /dev/kmsg only.
	if victim := strings.Contains(ev.Message, "anon-rss"); victim != kernelLog {
		t.Errorf("kernel log %v, the victim told %v: %s", kernelLog, victim, ev.Message)
	}
	resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(metricsPort) + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// A read-only mount is not recursive: the v1 controllers under it stay
	// writable and every watched cgroup has its eventfd, unless the mount
	// was made recursively read-only, which the kubelet does only where
	// the runtime says it can.
	watched, notified := gauge(string(body), "oomdoctor_agent_watched_cgroups"), gauge(string(body), "oomdoctor_agent_notified_cgroups")
	wantNotified := watched
	if rro := recursiveReadOnly(ds); rro != "" && rro != string(corev1.RecursiveReadOnlyDisabled) && runtimeRRO(t) {
		wantNotified = 0
	}
	if watched < 1 || notified != wantNotified {
		t.Errorf("the agent watches %v cgroups, %v of them notifying; want %v notifying", watched, notified, wantNotified)
	}
	want := `oomdoctor_oom_kills_total{container="worker",main_process="false",namespace="` + ns + `",node="` + cluster.NodeName + `",pod="` + p.Name + `",scope="container"} 1`
	if !strings.Contains(string(body), want) {
		t.Errorf("the agent's /metrics lacks %s:\n%s", want, grepLines(string(body), "oomdoctor_oom_kills_total"))
	}
	agent, err = node.Client.CoreV1().Pods(ds.Namespace).Get(ctx, agent.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := agent.Status.ContainerStatuses[0].RestartCount; n != 0 {
		t.Errorf("the agent restarted %d times:\n%s", n, agentLog(ds.Namespace))
	}
}

// gauge is the value of one of the agent's own metrics, labelled with the
// node alone, in a /metrics body (-1 when it is missing).
func gauge(body, name string) float64 {
	m := regexp.MustCompile(`(?m)^` + name + `\{node="` + cluster.NodeName + `"\} (\S+)$`).FindStringSubmatch(body)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return -1
	}
	return v
}

// recursiveReadOnly is the DaemonSet's setting for the cgroup mount.
func recursiveReadOnly(ds *appsv1.DaemonSet) string {
	for _, m := range ds.Spec.Template.Spec.Containers[0].VolumeMounts {
		if m.Name == "cgroup" && m.RecursiveReadOnly != nil {
			return string(*m.RecursiveReadOnly)
		}
	}
	return ""
}

// runtimeRRO tells whether the node's runtime makes recursively read-only
// mounts, as the kubelet reports it in the node's status.
func runtimeRRO(t *testing.T) bool {
	n, err := node.Client.CoreV1().Nodes().Get(context.Background(), cluster.NodeName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range n.Status.RuntimeHandlers {
		if h.Name == "" && h.Features != nil && h.Features.RecursiveReadOnlyMounts != nil {
			return *h.Features.RecursiveReadOnlyMounts
		}
	}
	return false
}

// dockerReference names an image as containerd's CRI does: a name without
// a registry is Docker Hub's.
func dockerReference(image string) string {
	first, _, ok := strings.Cut(image, "/")
	if !ok {
		return "docker.io/library/" + image
	}
	if strings.ContainsAny(first, ".:") || first == "localhost" {
		return image
	}
	return "docker.io/" + image
}

// manifestObjects decodes a multi-document YAML file into typed objects.
func manifestObjects(t *testing.T, path string) []runtime.Object {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return decodeObjects(t, path, data)
}

func decodeObjects(t *testing.T, from string, data []byte) []runtime.Object {
	t.Helper()
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out []runtime.Object
	for {
		doc, err := r.Read()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(stripComments(string(doc))) == "" {
			continue
		}
		o, _, err := scheme.Codecs.UniversalDeserializer().Decode(doc, nil, nil)
		if err != nil {
			t.Fatalf("%s: %v", from, err)
		}
		out = append(out, o)
	}
}

func stripComments(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

func createObject(ctx context.Context, o runtime.Object) error {
	var err error
	cs := node.Client
	switch o := o.(type) {
	case *corev1.Namespace:
		_, err = cs.CoreV1().Namespaces().Create(ctx, o, metav1.CreateOptions{})
	case *corev1.ServiceAccount:
		_, err = cs.CoreV1().ServiceAccounts(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
	case *rbacv1.ClusterRole:
		_, err = cs.RbacV1().ClusterRoles().Create(ctx, o, metav1.CreateOptions{})
	case *rbacv1.ClusterRoleBinding:
		_, err = cs.RbacV1().ClusterRoleBindings().Create(ctx, o, metav1.CreateOptions{})
	case *appsv1.DaemonSet:
		_, err = cs.AppsV1().DaemonSets(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
	default:
		return fmt.Errorf("the agent's manifests hold a %T this test does not create", o)
	}
	return err
}

// removeManifestObjects deletes what createObject made and waits until the
// agent's pods are gone, so that no agent reports the other tests' kills.
func removeManifestObjects(t *testing.T, objs []runtime.Object, ns string) {
	ctx := context.Background()
	cs := node.Client
	fg := metav1.DeletePropagationForeground
	opts := metav1.DeleteOptions{PropagationPolicy: &fg}
	for _, o := range objs {
		var err error
		switch o := o.(type) {
		case *appsv1.DaemonSet:
			err = cs.AppsV1().DaemonSets(o.Namespace).Delete(ctx, o.Name, opts)
		case *rbacv1.ClusterRole:
			err = cs.RbacV1().ClusterRoles().Delete(ctx, o.Name, opts)
		case *rbacv1.ClusterRoleBinding:
			err = cs.RbacV1().ClusterRoleBindings().Delete(ctx, o.Name, opts)
		}
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("removing %T: %v", o, err)
		}
	}
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		l, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		return err == nil && len(l.Items) == 0, nil
	})
	if err != nil {
		t.Errorf("the agent's pods did not go: %v", err)
	}
	if err := cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("removing namespace %s: %v", ns, err)
	}
	err = wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		t.Errorf("namespace %s did not go: %v", ns, err)
	}
}

// agentLog is what the agent's containers wrote, from the kubelet's log
// files (this node's API server cannot reach the kubelet for logs).
func agentLog(ns string) string {
	files, _ := filepath.Glob("/var/log/pods/" + ns + "_*/agent/*.log")
	var b strings.Builder
	for _, f := range files {
		data, _ := os.ReadFile(f)
		fmt.Fprintf(&b, "%s:\n%s\n", f, data)
	}
	return b.String()
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
