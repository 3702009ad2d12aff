package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/oomdoctor/oomdoctor/internal/cli"

	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/test/e2e/workloads"
)

// start runs a scenario in its own namespace and waits until the kubelet
// reports it done; it returns the namespace and the pod.
func start(t *testing.T, name string, timeout time.Duration) (string, *corev1.Pod) {
	t.Helper()
	sc := workloads.Find(name)
	ns := namespace(t, "e2e-"+name)
	if err := sc.Create(context.Background(), node.Client, ns); err != nil {
		t.Fatal(err)
	}
	return ns, waitPod(t, ns, sc.Selector(), timeout, sc.Reached, sc.Done)
}

// 1. A Deployment whose container exceeds its limit: OOMKilled in
// lastState, restarts counting, CrashLoopBackOff; scan names the Deployment.
func TestDeploymentOOMKilledCrashLoop(t *testing.T) {
	t.Parallel()
	ns, p := start(t, "hog", 3*time.Minute)
	rep := scan(t, "-n", ns)
	fs := findings(rep)
	if len(fs) != 1 {
		t.Fatalf("findings %+v", fs)
	}
	f := fs[0]
	if f.Type != model.OOMKilled || f.Workload.String() != "Deployment/hog" || f.Pod != p.Name || f.Container != "hog" ||
		f.Restarts < 2 || *f.MemoryLimitBytes != 64<<20 || f.QOSClass != "Burstable" || f.Node != "e2e-node" {
		t.Errorf("finding %+v", f)
	}
}

// 2. An init container that exceeds its limit: the pod never starts; scan
// reports the init container.
func TestInitContainerOOMKilled(t *testing.T) {
	t.Parallel()
	ns, _ := start(t, "init-hog", 2*time.Minute)
	fs := findings(scan(t, "-n", ns))
	if len(fs) != 1 || fs[0].Container != "migrate" || fs[0].ContainerKind != model.InitContainer || fs[0].Workload.String() != "Pod/init-hog" {
		t.Errorf("findings %+v", fs)
	}
}

// 3. A child process killed by the kernel while PID 1 keeps running: the pod
// status shows nothing; only the cgroup's oom_kill counter does, and the
// oomdoctor agent running beside the kubelet, which tells it.
func TestChildProcessKillIsInvisibleToTheAPI(t *testing.T) {
	t.Parallel()
	addr, agentLog := startAgent(t)
	ns, p := start(t, "child-kill", time.Minute)
	cgroup := node.ContainerCgroup(p, workloads.Status(p, "worker").ContainerID)
	deadline := time.Now().Add(time.Minute)
	kills := 0
	for time.Now().Before(deadline) && kills == 0 {
		kills = oomKills(t, cgroup)
		time.Sleep(200 * time.Millisecond)
	}
	if kills == 0 {
		t.Fatalf("the kernel never killed the child: %s memory.oom_control has oom_kill 0", cgroup)
	}
	// Give the kubelet time to notice anything it would notice (it reports a
	// kill within about a second).
	time.Sleep(3 * time.Second)
	p, err := node.Client.CoreV1().Pods(ns).Get(context.Background(), p.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cs := workloads.Status(p, "worker")
	if cs.RestartCount != 0 || cs.State.Running == nil || cs.LastTerminationState.Terminated != nil {
		t.Errorf("the pod status shows the kill: %+v", cs)
	}
	if n := oomKills(t, cgroup); n < 1 {
		t.Errorf("oom_kill = %d", n)
	}
	for _, f := range findings(scan(t, "-n", ns)) {
		if f.Type != model.KernelOOMKill {
			t.Errorf("scan found something in the pod status: %+v", f)
		}
	}

	// The agent saw it: an Event on the pod and the counter.
	var msg string
	err = wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		l, err := node.Client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, e := range l.Items {
			if e.InvolvedObject.Name == p.Name && e.Reason == "ProcessOOMKilled" {
				msg = e.Message
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("no ProcessOOMKilled event on %s/%s: %v\nagent log:\n%s", ns, p.Name, err, agentLog.String())
	}
	if !strings.Contains(msg, "in container worker, not its main process") || !strings.Contains(msg, "own memory limit of 64Mi") {
		t.Errorf("event message: %s", msg)
	}
	want := `oomdoctor_oom_kills_total{container="worker",main_process="false",namespace="` + ns + `",node="e2e-node",pod="` + p.Name + `",scope="container"}`
	if m := metrics(t, addr); !strings.Contains(m, want) {
		t.Errorf("/metrics lacks %s", want)
	}
	// scan reads the agent's record off the Event: a finding the pod
	// status never had, its cause a child process.
	fs := findings(scan(t, "-n", ns))
	if len(fs) != 1 || fs[0].Type != model.KernelOOMKill || fs[0].Container != "worker" || fs[0].Pod != p.Name {
		t.Fatalf("want the agent's child kill as a finding: %+v", fs)
	}
	if c := fs[0].TopCause(); c == nil || c.ID != model.CauseExtraProcesses || c.Confidence != model.High {
		t.Errorf("child kill: top cause %+v, want extra-processes, high", c)
	}
}

// oomKills reads oom_kill from a v1 memory cgroup's memory.oom_control.
func oomKills(t *testing.T, cgroup string) int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(cgroup, "memory.oom_control"))
	if err != nil {
		t.Fatalf("reading the container's cgroup: %v", err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "oom_kill "); ok {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	t.Fatalf("no oom_kill in %s (kernel older than 4.13?)", cgroup)
	return 0
}

// 4. Two containers, a native sidecar holding memory and an app exceeding
// its limit: the app is reported, not the sidecar.
func TestSidecarHoldingMemory(t *testing.T) {
	t.Parallel()
	ns, _ := start(t, "sidecar-holder", 2*time.Minute)
	fs := findings(scan(t, "-n", ns))
	if len(fs) != 1 || fs[0].Container != "app" || fs[0].ContainerKind != model.RegularContainer {
		t.Errorf("findings %+v", fs)
	}
}

// 5. A container writing into a memory-backed emptyDir until killed. The
// file stays in the tmpfs, charged to the pod, so every restart is killed
// while runc starts it: StartError, exit 128, "container init was
// OOM-killed". scan reports both as oom-killed.
func TestMemoryBackedEmptyDir(t *testing.T) {
	t.Parallel()
	ns, _ := start(t, "tmpfs-filler", 2*time.Minute)
	fs := findings(scan(t, "-n", ns))
	if len(fs) != 1 || fs[0].Container != "writer" || fs[0].Type != model.OOMKilled {
		t.Errorf("findings %+v", fs)
	}
	waitPod(t, ns, "app=tmpfs-filler", 2*time.Minute, "a restart killed while starting", func(p *corev1.Pod) bool {
		last := workloads.LastTerminated(workloads.Status(p, "writer"))
		return last != nil && last.Reason == "StartError" && strings.Contains(last.Message, "OOM-killed")
	})
	fs = findings(scan(t, "-n", ns))
	if len(fs) != 1 || fs[0].Type != model.OOMKilled || fs[0].Reason != "StartError" || !strings.Contains(fs[0].Explanation, "memory-backed emptyDir (scratch)") {
		t.Fatalf("a start killed by the OOM killer must be oom-killed, blaming the emptyDir: %+v", fs)
	}
	if c := fs[0].TopCause(); c == nil || c.ID != model.CauseTmpfsVolume || c.Confidence != model.High || !strings.Contains(c.Fix.YAML, "sizeLimit") {
		t.Errorf("tmpfs-filler: top cause %+v, want tmpfs-volume, high, with a sizeLimit fix", c)
	}
	// explain says the same in words.
	var out, errOut bytes.Buffer
	code := cli.Main(context.Background(), "oomdoctor", []string{"explain", "--kubeconfig", node.Kubeconfig, "-n", ns, fs[0].Pod}, genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	if code != 0 || !strings.Contains(out.String(), "1. tmpfs-volume, high confidence") || !strings.Contains(out.String(), "sizeLimit") {
		t.Errorf("explain %s: exit %d\n%s\n%s", fs[0].Pod, code, out.String(), errOut.String())
	}
}

// 6. A container killed by its failing liveness probe: exit 137 with a
// reason that is not OOMKilled; scan says not-oom and blames the probe.
func TestLivenessProbeKillIsNotOOM(t *testing.T) {
	t.Parallel()
	ns, _ := start(t, "probe-killed", 2*time.Minute)
	fs := findings(scan(t, "-n", ns))
	if len(fs) != 1 || fs[0].Type != model.NotOOM || fs[0].Container != "web" || !strings.Contains(fs[0].Explanation, "liveness probe") {
		t.Fatalf("findings %+v", fs)
	}
	if c := fs[0].TopCause(); c == nil || c.ID != model.CauseNotOOM || c.Confidence != model.High {
		t.Errorf("probe-killed: top cause %+v, want not-oom, high (the probe's failures)", c)
	}
}

// 6b. A runtime out of memory is not a kill: a JVM whose heap (-Xmx16m)
// fills exits with code 1 (OutOfMemoryError), a Go program refused
// memory exits with code 2 ("out of memory"), both far under their
// limits, no OOMKilled. The JVM's termination message holds its log's end
// (FallbackToLogsOnError): runtime-oom in a plain scan. The Go program's
// error comes before the stacks of its 60 goroutines, past the 2KB the
// kubelet keeps and past the 200 lines scan --logs reads first: --logs
// reads its previous run's log further back, through the API server and
// the kubelet. explain reads it by itself.
func TestRuntimeOutOfMemoryIsNotAKill(t *testing.T) {
	t.Parallel()
	sc := workloads.RuntimeOutOfMemoryScenario(javaClasses(t))
	ns := namespace(t, "e2e-"+sc.Name)
	if err := sc.Create(context.Background(), node.Client, ns); err != nil {
		t.Fatal(err)
	}
	waitPod(t, ns, sc.Selector(), 3*time.Minute, sc.Reached, sc.Done)
	check := func(f model.Finding, container, runtime, kind, message, from, fix string, code int32) {
		t.Helper()
		o := f.OutOfMemory
		if f.Type != model.RuntimeOOM || f.Container != container || o == nil || string(o.Runtime) != runtime || string(o.Kind) != kind ||
			o.From != from || !strings.HasPrefix(o.Message, message) || f.ExitCode == nil || *f.ExitCode != code {
			t.Errorf("%s: finding %+v, out of memory %+v", container, f, o)
		}
		if c := f.TopCause(); c == nil || c.ID != model.CauseRuntimeOOM || len(f.Causes) != 1 || !strings.Contains(c.Fix.Text+c.Fix.Flag, fix) {
			t.Errorf("%s: causes %+v, want runtime-oom alone, with %q in its fix", container, f.Causes, fix)
		}
	}
	const javaHeap, goRefused = "java.lang.OutOfMemoryError: Java heap space", "runtime: out of memory: cannot allocate"
	fs := findings(scan(t, "-n", ns))
	if len(fs) != 1 {
		t.Fatalf("scan without --logs: %+v, want the JVM's runtime-oom alone", fs)
	}
	// -Xmx16m under 256Mi: the heap that fits is 128Mi.
	check(fs[0], "jvm", "jvm", "heap", javaHeap, "termination message", "-Xmx128m", 1)
	rep := scan(t, "-n", ns, "--logs")
	if fs = findings(rep); len(fs) != 2 || len(rep.Warnings) != 0 {
		t.Fatalf("scan --logs: %+v, warnings %+v; want both containers", fs, rep.Warnings)
	}
	byName := map[string]model.Finding{fs[0].Container: fs[0], fs[1].Container: fs[1]}
	check(byName["jvm"], "jvm", "jvm", "heap", javaHeap, "termination message", "-Xmx128m", 1)
	check(byName["go"], "go", "go", "refused", goRefused, "log", "ulimit -v", 2)
	code, out, errOut := oomdoctor("explain", "-n", ns, "runtime-oom/go")
	if code != 0 || !strings.Contains(out, "runtime-oom") || !strings.Contains(out, goRefused) {
		t.Errorf("explain runtime-oom/go: exit %d\n%s\n%s", code, out, errOut)
	}
}

// javaClasses compiles Hog, which fills the JVM's heap, into a folder of
// its own and returns it.
func javaClasses(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src := "public class Hog { public static void main(String[] a) { java.util.List<byte[]> l = new java.util.ArrayList<>(); while (true) l.add(new byte[1 << 20]); } }\n"
	if err := os.WriteFile(filepath.Join(dir, "Hog.java"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(workloads.JavaHome+"/bin/javac", "-d", dir, filepath.Join(dir, "Hog.java")).CombinedOutput(); err != nil {
		t.Fatalf("javac (make deps installs openjdk-17-jdk-headless): %v\n%s", err, out)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// 7. The whole loop: a Deployment OOM-killed in a loop is fixed with
// `oomdoctor fix --apply`; the rollout finishes and the new pod runs a
// minute without a kill.
func TestFixApplyEndsTheKills(t *testing.T) {
	t.Parallel()
	sc := workloads.Find("hog")
	ns := namespace(t, "e2e-fix")
	if err := sc.Create(context.Background(), node.Client, ns); err != nil {
		t.Fatal(err)
	}
	waitPod(t, ns, sc.Selector(), 2*time.Minute, "OOM-killed at least once", func(p *corev1.Pod) bool {
		cs := workloads.Status(p, "hog")
		return cs != nil && cs.RestartCount >= 1 && workloads.LastTerminated(cs) != nil && workloads.LastTerminated(cs).Reason == "OOMKilled"
	})

	var out, errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	code := cli.Main(context.Background(), "oomdoctor", []string{"fix", "--kubeconfig", node.Kubeconfig, "-n", ns,
		"--apply", "deployment/hog", "--memory-limit", "384Mi", "--memory-request", "256Mi", "--timeout", "2m"}, streams)
	if code != 0 || !strings.Contains(errOut.String(), "successfully rolled out") {
		t.Fatalf("fix --apply exited %d\n%s%s", code, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "memory limit 64Mi → 384Mi") {
		t.Errorf("fix did not say what it changed: %s", out.String())
	}

	// The new pod holds its 200 MiB under the 384Mi limit for a minute.
	list, err := node.Client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: sc.Selector()})
	if err != nil {
		t.Fatal(err)
	}
	var fixed string
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil && p.Spec.Containers[0].Resources.Limits.Memory().String() == "384Mi" {
			fixed = p.Name
		}
	}
	if fixed == "" {
		t.Fatalf("no pod with the new limit: %+v", list.Items)
	}
	time.Sleep(time.Minute)
	p, err := node.Client.CoreV1().Pods(ns).Get(context.Background(), fixed, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cs := workloads.Status(p, "hog")
	if cs.RestartCount != 0 || cs.State.Running == nil || cs.LastTerminationState.Terminated != nil {
		t.Errorf("the fixed pod was killed again: %+v", cs)
	}
	if fs := findings(scan(t, "-n", ns, "--since", "50s")); len(fs) != 0 {
		t.Errorf("scan still finds kills in the last 50 s: %+v", fs)
	}
}

// 7b. A limit lowered under the GOMEMLIMIT a ConfigMap gives the Go
// program: fix --apply --configmaps changes the ConfigMap first, then the
// limit; the rollout's new pod starts with the new GOMEMLIMIT (the Go
// runtime says so in its log).
// --parallel rolls two Deployments out at once on the real kubelet: both
// are under way before either is done, each line says whose it is, and
// both end with their pods holding their memory under the new limit.
func TestFixApplyParallelRollouts(t *testing.T) {
	t.Parallel()
	ns := namespace(t, "e2e-parallel")
	for _, name := range []string{"hog-a", "hog-b"} {
		d := workloads.Hog(ns)
		labels := map[string]string{"app": name}
		d.Name, d.Labels, d.Spec.Selector.MatchLabels, d.Spec.Template.Labels = name, labels, labels, labels
		if _, err := node.Client.AppsV1().Deployments(ns).Create(context.Background(), d, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var out, errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	code := cli.Main(context.Background(), "oomdoctor", []string{"fix", "--kubeconfig", node.Kubeconfig, "-n", ns,
		"--apply", "deployment/hog-a", "deployment/hog-b", "--parallel", "2", "--memory-limit", "384Mi", "--memory-request", "256Mi", "--timeout", "2m", "--observe", "10s"}, streams)
	stderr := errOut.String()
	if code != 0 {
		t.Fatalf("fix --apply --parallel 2 exited %d\n%s%s", code, out.String(), stderr)
	}
	firstDone := strings.Index(stderr, "successfully rolled out")
	for _, name := range []string{"hog-a", "hog-b"} {
		prefix := "[" + ns + "/deployment/" + name + "] "
		if i := strings.Index(stderr, prefix+"deployment/"+name+" (namespace "+ns+"):"); i < 0 || i > firstDone {
			t.Errorf("deployment/%s was not under way before the first rollout was done:\n%s", name, stderr)
		}
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(prefix) + `.*successfully rolled out`).MatchString(stderr) {
			t.Errorf("no rollout of deployment/%s said done:\n%s", name, stderr)
		}
		if !strings.Contains(out.String(), "Deployment "+ns+"/"+name+" container hog: memory limit 64Mi → 384Mi") {
			t.Errorf("deployment/%s's change not said on stdout: %s", name, out.String())
		}
	}
	list, err := node.Client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	running := 0
	for _, p := range list.Items {
		if cs := workloads.Status(&p, "hog"); p.DeletionTimestamp == nil && cs != nil && cs.State.Running != nil && p.Spec.Containers[0].Resources.Limits.Memory().String() == "384Mi" {
			running++
		}
	}
	if running != 2 {
		t.Errorf("%d pods run at the new limit, want 2: %+v", running, list.Items)
	}
}

func TestFixApplyChangesTheConfigMap(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := namespace(t, "e2e-fix-cm")
	cm := startGoService(t, ns)

	var out, errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	code := cli.Main(ctx, "oomdoctor", []string{"fix", "--kubeconfig", node.Kubeconfig, "-n", ns,
		"--apply", "deployment/gosvc", "--memory-limit", "512Mi", "--configmaps", "--timeout", "2m"}, streams)
	if code != 0 || !strings.Contains(errOut.String(), "successfully rolled out") {
		t.Fatalf("fix --apply --configmaps exited %d\n%s%s", code, out.String(), errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "GOMEMLIMIT=900MiB → GOMEMLIMIT=460MiB") || !strings.Contains(lines[1], "memory limit 1Gi → 512Mi") {
		t.Errorf("fix did not say the ConfigMap's change, then the limit's: %s", out.String())
	}
	got, err := node.Client.CoreV1().ConfigMaps(ns).Get(ctx, cm.Name, metav1.GetOptions{})
	if err != nil || got.Data["GOMEMLIMIT"] != "460MiB" || got.Data["LOG_LEVEL"] != "info" {
		t.Fatalf("ConfigMap after the fix: %v %v", got.Data, err)
	}

	// The new pod's program took the new GOMEMLIMIT: 460MiB is 482344960 bytes.
	list, err := node.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=gosvc"})
	if err != nil {
		t.Fatal(err)
	}
	var fixed *corev1.Pod
	for i, p := range list.Items {
		if p.DeletionTimestamp == nil && p.Spec.Containers[0].Resources.Limits.Memory().String() == "512Mi" {
			fixed = &list.Items[i]
		}
	}
	if fixed == nil {
		t.Fatalf("no pod with the new limit: %+v", list.Items)
	}
	if want := "GOMEMLIMIT 460MiB: the Go runtime's memory limit is 482344960 bytes"; !waitLog(ns, fixed.Name, "svc", want) {
		t.Errorf("the new pod's log lacks %q:\n%s", want, podLog(ns, fixed.Name, "svc"))
	}
}

// startGoService runs workloads.GoService in ns until its pod runs, and
// returns its ConfigMap.
func startGoService(t *testing.T, ns string) *corev1.ConfigMap {
	t.Helper()
	ctx := context.Background()
	cm, d := workloads.GoService(ns)
	if _, err := node.Client.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := node.Client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPod(t, ns, "app=gosvc", 2*time.Minute, "running", func(p *corev1.Pod) bool {
		cs := workloads.Status(p, "svc")
		return cs != nil && cs.State.Running != nil
	})
	return cm
}

// waitLog waits up to 30 s for a pod's container to write want.
func waitLog(ns, pod, container, want string) bool {
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		if strings.Contains(podLog(ns, pod, container), want) {
			return true
		}
	}
	return false
}

// 7d. fix --apply --lint on a Go service without GOMEMLIMIT: lint's fix
// adds it to the live Deployment's env, after the variables it has; the
// new pod's Go runtime takes it.
func TestFixApplyLintAddsGOMEMLIMIT(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := namespace(t, "e2e-fix-lint")
	d := workloads.GoUnbounded(ns)
	if _, err := node.Client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPod(t, ns, "app=gounbounded", 2*time.Minute, "running", func(p *corev1.Pod) bool {
		cs := workloads.Status(p, "svc")
		return cs != nil && cs.State.Running != nil
	})
	var out, errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	code := cli.Main(ctx, "oomdoctor", []string{"fix", "--kubeconfig", node.Kubeconfig, "-n", ns, "--apply", "deployment/gounbounded", "--lint", "--timeout", "2m"}, streams)
	if code != 0 || strings.TrimSpace(out.String()) != "Deployment "+ns+"/gounbounded container svc: set GOMEMLIMIT=921MiB (go-memlimit-missing)" || !strings.Contains(errOut.String(), "successfully rolled out") {
		t.Fatalf("fix --apply --lint exited %d\n%s%s", code, out.String(), errOut.String())
	}
	fixed := waitPod(t, ns, "app=gounbounded", 30*time.Second, "with GOMEMLIMIT", func(p *corev1.Pod) bool {
		return p.DeletionTimestamp == nil && len(p.Spec.Containers[0].Env) == 3
	})
	var env []string
	for _, e := range fixed.Spec.Containers[0].Env {
		env = append(env, e.Name+"="+e.Value)
	}
	if got := strings.Join(env, " "); got != "GOGC=100 LOG_LEVEL=info GOMEMLIMIT=921MiB" {
		t.Errorf("the new pod's env: %s", got)
	}
	if want := "GOMEMLIMIT 921MiB: the Go runtime's memory limit is 965738496 bytes"; !waitLog(ns, fixed.Name, "svc", want) {
		t.Errorf("the new pod's log lacks %q:\n%s", want, podLog(ns, fixed.Name, "svc"))
	}
	// Nothing is left to fix.
	out.Reset()
	errOut.Reset()
	if code := cli.Main(ctx, "oomdoctor", []string{"fix", "--kubeconfig", node.Kubeconfig, "-n", ns, "--apply", "deployment/gounbounded", "--lint"}, streams); code != 0 || out.String() != "" || !strings.Contains(errOut.String(), "nothing to change") {
		t.Errorf("a second run: exit %d\n%s%s", code, out.String(), errOut.String())
	}
}

// podLog is what a pod's container wrote, from the kubelet's log files.
func podLog(ns, pod, container string) string {
	files, _ := filepath.Glob("/var/log/pods/" + ns + "_" + pod + "_*/" + container + "/*.log")
	var logs string
	for _, f := range files {
		b, _ := os.ReadFile(f)
		logs += string(b)
	}
	return logs
}

// 7c. A limit raised above the GOMEMLIMIT a ConfigMap gives the Go
// program: GOMEMLIMIT rises with it, so fix --apply --configmaps rolls
// the new limit out first, under the old GOMEMLIMIT, then changes the
// ConfigMap and restarts the pods to read it. Watched while it runs: the
// ConfigMap never says the new GOMEMLIMIT while a pod at the old limit
// runs (one that restarted would take 1843MiB under 1Gi).
func TestFixApplyRaisesGOMEMLIMITAfterTheLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := namespace(t, "e2e-fix-cm-up")
	cm := startGoService(t, ns)

	var out, errOut bytes.Buffer
	done := make(chan int)
	go func() {
		streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
		done <- cli.Main(ctx, "oomdoctor", []string{"fix", "--kubeconfig", node.Kubeconfig, "-n", ns,
			"--apply", "deployment/gosvc", "--memory-limit", "2Gi", "--configmaps", "--timeout", "2m"}, streams)
	}()
	const oldSetting, newSetting = "GOMEMLIMIT 900MiB: the Go runtime's memory limit is 943718400 bytes", "GOMEMLIMIT 1843MiB: the Go runtime's memory limit is 1932525568 bytes"
	var unsafe []string
	interim := map[string]string{} // pods at the new limit before the restart: their logs
	code := -1
	for code < 0 {
		select {
		case code = <-done:
		case <-time.After(200 * time.Millisecond):
		}
		got, err := node.Client.CoreV1().ConfigMaps(ns).Get(ctx, cm.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pods, err := node.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=gosvc"})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pods.Items {
			if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning {
				continue
			}
			limit := p.Spec.Containers[0].Resources.Limits.Memory().String()
			if limit == "1Gi" && got.Data["GOMEMLIMIT"] != "900MiB" {
				unsafe = append(unsafe, fmt.Sprintf("pod %s at 1Gi while the ConfigMap says %s", p.Name, got.Data["GOMEMLIMIT"]))
			}
			if _, restarted := p.Annotations["kubectl.kubernetes.io/restartedAt"]; limit == "2Gi" && !restarted && !strings.Contains(interim[p.Name], oldSetting) {
				interim[p.Name] = podLog(ns, p.Name, "svc")
			}
		}
	}
	if code != 0 || strings.Count(errOut.String(), "successfully rolled out") != 2 || !strings.Contains(errOut.String(), "restarting the pods to read it") {
		t.Fatalf("fix --apply --configmaps exited %d\n%s%s", code, out.String(), errOut.String())
	}
	if len(unsafe) > 0 {
		t.Errorf("the ConfigMap changed before the new limit rolled out: %s", strings.Join(unsafe, "; "))
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "memory limit 1Gi → 2Gi") || !strings.Contains(lines[1], "GOMEMLIMIT=900MiB → GOMEMLIMIT=1843MiB") {
		t.Errorf("fix did not say the limit's change, then the ConfigMap's: %s", out.String())
	}
	sawOld := false
	for _, logs := range interim {
		sawOld = sawOld || strings.Contains(logs, oldSetting)
	}
	if !sawOld {
		t.Errorf("no pod ran the new limit under the old GOMEMLIMIT (%q) before the restart: %q", oldSetting, interim)
	}
	restarted := waitPod(t, ns, "app=gosvc", 30*time.Second, "restarted to read the ConfigMap", func(p *corev1.Pod) bool {
		_, ok := p.Annotations["kubectl.kubernetes.io/restartedAt"]
		return ok && p.DeletionTimestamp == nil && p.Spec.Containers[0].Resources.Limits.Memory().String() == "2Gi"
	})
	if !waitLog(ns, restarted.Name, "svc", newSetting) {
		t.Errorf("the restarted pod's log lacks %q:\n%s", newSetting, podLog(ns, restarted.Name, "svc"))
	}
}

// 8. A rollout whose new pods the API server refuses (a LimitRange here),
// by a user who may not create pods, so that fix cannot ask the server
// first: the wait ends with the refusal, from the Deployment's
// ReplicaFailure condition, instead of running out its timeout.
func TestFixApplyStopsOnRefusedPods(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := namespace(t, "e2e-refused")
	if _, err := node.Client.CoreV1().LimitRanges(ns).Create(ctx, &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: "mem"}, Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{
		{Type: corev1.LimitTypeContainer, Max: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi")}},
	}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	sc := workloads.Find("hog")
	if err := sc.Create(ctx, node.Client, ns); err != nil {
		t.Fatal(err)
	}
	waitPod(t, ns, sc.Selector(), 2*time.Minute, "created", func(p *corev1.Pod) bool { return p.Status.Phase != "" })
	patcher, err := node.User(ctx, ns, "patcher", []rbacv1.PolicyRule{
		{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"get", "patch"}},
		{APIGroups: []string{""}, Resources: []string{"nodes"}, Verbs: []string{"list"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	code := cli.Main(ctx, "oomdoctor", []string{"fix", "--kubeconfig", patcher, "-n", ns,
		"--apply", "deployment/hog", "--memory-limit", "256Mi", "--timeout", "4m"}, streams)
	stderr := errOut.String()
	if code != 1 || !strings.Contains(stderr, "the new pods were not checked") ||
		!strings.Contains(stderr, "the rollout of deployment/hog cannot go on: its new pods are refused: ") ||
		!strings.Contains(stderr, "maximum memory usage per Container is 128Mi, but limit is 256Mi") ||
		!strings.Contains(stderr, "kubectl rollout undo deployment/hog -n "+ns) {
		t.Errorf("fix --apply exited %d\n%s%s", code, out.String(), stderr)
	}
	// The note comes before the change, once.
	if n := strings.Index(stderr, "note: the new pods were not checked"); n < 0 || n > strings.Index(stderr, "its new pods are refused") || strings.Count(stderr, "note: the new pods were not checked") != 1 {
		t.Errorf("want the note once, before the rollout:\n%s", stderr)
	}
}
