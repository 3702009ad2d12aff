package e2e

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/test/e2e/workloads"
)

// 7e. A limit lowered below what the container holds: the rollout's new
// pod is OOM-killed. A Deployment without minReadySeconds finishes its
// rollout before a kill that comes seconds after the start (the pod is
// ready as it starts; it allocates 5 MiB a second): fix --apply watches
// the new pods after it (--observe) and fails on the kill. With
// minReadySeconds the kill comes during the rollout: fix --apply says so
// as soon as the kubelet reports it, instead of waiting out --timeout as
// kubectl rollout status would, and with --rollback-on-failure puts the
// template back; the pod that ran before the change runs on, never
// restarted. A StatefulSet waits for its failing pod to be ready before
// it replaces it: the rollback deletes that pod, and the StatefulSet
// makes it again from the template put back.
func TestFixApplyStopsOnAKilledRollout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := namespace(t, "e2e-rollback")
	var before = map[string]string{} // Deployment: its running pod before the change
	for _, d := range []*appsv1.Deployment{workloads.Holder(ns, "kept", 0, 5), workloads.Holder(ns, "back", 10, 0)} {
		if _, err := node.Client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := node.Client.AppsV1().StatefulSets(ns).Create(ctx, workloads.HolderSet(ns, "db"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"kept", "back", "db"} {
		before[name] = waitPod(t, ns, "app="+name, 2*time.Minute, "running", func(p *corev1.Pod) bool {
			cs := workloads.Status(p, "app")
			return cs != nil && cs.State.Running != nil
		}).Name
	}
	fix := func(object string, flags ...string) (int, string, string) {
		return oomdoctor("fix", append([]string{"-n", ns, "--apply", object, "--memory-limit", "64Mi", "--memory-request", "32Mi", "--timeout", "3m"}, flags...)...)
	}

	// Without --rollback-on-failure: the kill after the rollout fails the
	// change, and the error gives the way back; the template keeps the new
	// values.
	code, out, stderr := fix("deployment/kept")
	if code != 1 || !strings.Contains(stderr, "the rollout of deployment/kept finished, but within 30s its new pod kept-") ||
		!strings.Contains(stderr, "was OOMKilled under its memory limit 64Mi (container app, ") ||
		!strings.Contains(stderr, "to go back: kubectl rollout undo deployment/kept -n "+ns) {
		t.Errorf("fix --apply exited %d\n%s%s", code, out, stderr)
	}
	if strings.Contains(stderr, "did not finish within") {
		t.Errorf("the wait ran out its timeout instead of stopping at the kill:\n%s", stderr)
	}
	if d, err := node.Client.AppsV1().Deployments(ns).Get(ctx, "kept", metav1.GetOptions{}); err != nil || templateLimit(d.Spec.Template) != "64Mi" {
		t.Errorf("deployment/kept's template after a failure without --rollback-on-failure: %v, want limit 64Mi (%v)", d, err)
	}

	// With it: the template is put back and rolls out; the changes are
	// said as put back.
	code, out, stderr = fix("deployment/back", "--rollback-on-failure")
	if code != 1 || !strings.Contains(stderr, "the rollout of deployment/back failed: its new pod back-") ||
		!strings.Contains(stderr, "was OOMKilled under its memory limit 64Mi") ||
		!strings.Contains(stderr, "put back deployment/back's pod template as it was (--rollback-on-failure), and it rolled out") ||
		strings.Contains(stderr, "kubectl rollout undo") {
		t.Errorf("fix --apply --rollback-on-failure exited %d\n%s%s", code, out, stderr)
	}
	want := "Deployment " + ns + "/back container app: memory request 128Mi → 32Mi (put back: the rollout failed)\n" +
		"Deployment " + ns + "/back container app: memory limit 256Mi → 64Mi (put back: the rollout failed)\n"
	if out != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", out, want)
	}
	if d, err := node.Client.AppsV1().Deployments(ns).Get(ctx, "back", metav1.GetOptions{}); err != nil || templateLimit(d.Spec.Template) != "256Mi" {
		t.Errorf("deployment/back's template after the rollback: %v, want limit 256Mi (%v)", d, err)
	}
	// The pod of before the change runs on, never restarted, and is the
	// only one left.
	list, err := node.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=back"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil {
			names = append(names, p.Name)
			if cs := workloads.Status(&p, "app"); p.Name == before["back"] && (cs == nil || cs.RestartCount != 0 || cs.State.Running == nil) {
				t.Errorf("the pod of before the change: %+v", cs)
			}
		}
	}
	if len(names) != 1 || names[0] != before["back"] {
		t.Errorf("pods after the rollback: %v, want only %s", names, before["back"])
	}

	// The StatefulSet: its new pod db-0 is killed, the template is put
	// back, and db-0 is deleted to be made again from it.
	// Told in an ApplyReport (-o yaml).
	code, out, stderr = fix("statefulset/db", "--rollback-on-failure", "-o", "yaml")
	if code != 1 || !strings.Contains(stderr, "its new pod db-0 was OOMKilled under its memory limit 64Mi") ||
		!strings.Contains(stderr, "put back statefulset/db's pod template as it was (--rollback-on-failure) and deleted its failing pod db-0, which it would wait for, and it rolled out") {
		t.Errorf("fix --apply statefulset/db --rollback-on-failure exited %d\n%s%s", code, out, stderr)
	}
	var rep model.ApplyReport
	if err := yaml.UnmarshalStrict([]byte(out), &rep); err != nil || len(rep.Objects) != 1 {
		t.Fatalf("-o yaml: %v\n%s", err, out)
	}
	db := rep.Objects[0]
	wantChanges := []model.ApplyChange{
		{Container: "app", Change: "memory request 128Mi → 32Mi", Setting: "memory request", From: "128Mi", To: "32Mi"},
		{Container: "app", Change: "memory limit 256Mi → 64Mi", Setting: "memory limit", From: "256Mi", To: "64Mi"},
	}
	if rep.Summary != (model.ApplySummary{Objects: 1, PutBack: 1}) || db.Outcome != "putBack" || !slices.Equal(db.Changes, wantChanges) ||
		!strings.Contains(db.Error, "its new pod db-0 was OOMKilled") || !slices.Contains(db.Rollout, "putting back statefulset/db's pod template as it was (--rollback-on-failure)") {
		t.Errorf("-o yaml:\n%s", out)
	}
	if s, err := node.Client.AppsV1().StatefulSets(ns).Get(ctx, "db", metav1.GetOptions{}); err != nil || templateLimit(s.Spec.Template) != "256Mi" {
		t.Errorf("statefulset/db's template after the rollback: %v, want limit 256Mi (%v)", s, err)
	}
	p, err := node.Client.CoreV1().Pods(ns).Get(ctx, "db-0", metav1.GetOptions{})
	if err != nil || p.Spec.Containers[0].Resources.Limits.Memory().String() != "256Mi" || p.Status.Phase != corev1.PodRunning {
		t.Errorf("db-0 after the rollback: %v (%v)", p, err)
	}
}

// templateLimit is a pod template's first container's memory limit.
func templateLimit(tmpl corev1.PodTemplateSpec) string {
	return tmpl.Spec.Containers[0].Resources.Limits.Memory().String()
}

// 7f. A request no node has free while the old pod runs (all of the
// node's allocatable memory but 1Mi): the new pod is not scheduled. The
// wait says why until --timeout runs out; --rollback-on-failure then
// puts the template back, and the pending pod goes.
func TestFixApplyRollsBackAnUnscheduledRollout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := namespace(t, "e2e-unscheduled")
	n, err := node.Client.CoreV1().Nodes().Get(ctx, "e2e-node", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	all := n.Status.Allocatable.Memory().Value() - 1<<20
	if _, err := node.Client.AppsV1().Deployments(ns).Create(ctx, workloads.Holder(ns, "big", 0, 0), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	old := waitPod(t, ns, "app=big", 2*time.Minute, "running", func(p *corev1.Pod) bool {
		cs := workloads.Status(p, "app")
		return cs != nil && cs.State.Running != nil
	}).Name
	q := strconv.FormatInt(all, 10)
	code, out, stderr := oomdoctor("fix", "-n", ns, "--apply", "deployment/big", "--memory-request", q, "--memory-limit", q, "--timeout", "20s", "--rollback-on-failure")
	if code != 1 || !strings.Contains(stderr, "note: no node has ") ||
		!strings.Contains(stderr, "the rollout of deployment/big did not finish within 20s (") ||
		!strings.Contains(stderr, "is not scheduled: 0/1 nodes are available: 1 Insufficient memory") ||
		!strings.Contains(stderr, "put back deployment/big's pod template as it was (--rollback-on-failure), and it rolled out") {
		t.Errorf("fix --apply exited %d\n%s%s", code, out, stderr)
	}
	d, err := node.Client.AppsV1().Deployments(ns).Get(ctx, "big", metav1.GetOptions{})
	if err != nil || templateLimit(d.Spec.Template) != "256Mi" {
		t.Errorf("deployment/big after the rollback: %v (%v)", d, err)
	}
	// Only the pod of before is left, never stopped.
	list, err := node.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=big"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil && p.Name != old {
			t.Errorf("pod %s is left: %+v", p.Name, p.Status)
		}
	}
}

// 7g. --rollback-on-failure after a change that lowered a ConfigMap's
// GOMEMLIMIT with the limit: the ConfigMap goes back first, then the
// template, and the pods the rollback makes read the GOMEMLIMIT of
// before.
func TestFixApplyRollsBackTheConfigMap(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := namespace(t, "e2e-rollback-cm")
	cm := startGoService(t, ns)
	code, out, stderr := oomdoctor("fix", "-n", ns, "--apply", "deployment/gosvc", "--memory-limit", "16Mi", "--memory-request", "16Mi", "--configmaps", "--rollback-on-failure", "--timeout", "2m")
	if code != 1 || !strings.Contains(stderr, "was OOMKilled under its memory limit 16Mi") ||
		!strings.Contains(stderr, "; put back as it was: ConfigMap gosvc-env key GOMEMLIMIT; put back deployment/gosvc's pod template as it was (--rollback-on-failure), and it rolled out") {
		t.Errorf("fix --apply exited %d\n%s%s", code, out, stderr)
	}
	if !strings.Contains(out, "GOMEMLIMIT=900MiB → GOMEMLIMIT=") || strings.Count(out, "(put back: the rollout failed)") != strings.Count(out, "\n") {
		t.Errorf("stdout:\n%s", out)
	}
	got, err := node.Client.CoreV1().ConfigMaps(ns).Get(ctx, cm.Name, metav1.GetOptions{})
	if err != nil || got.Data["GOMEMLIMIT"] != "900MiB" {
		t.Fatalf("ConfigMap after the rollback: %v %v", got.Data, err)
	}
	d, err := node.Client.AppsV1().Deployments(ns).Get(ctx, "gosvc", metav1.GetOptions{})
	if err != nil || templateLimit(d.Spec.Template) != "1Gi" {
		t.Fatalf("deployment/gosvc after the rollback: %v (%v)", d, err)
	}
	back := waitPod(t, ns, "app=gosvc", 30*time.Second, "running at 1Gi", func(p *corev1.Pod) bool {
		cs := workloads.Status(p, "svc")
		return p.DeletionTimestamp == nil && cs != nil && cs.State.Running != nil && p.Spec.Containers[0].Resources.Limits.Memory().String() == "1Gi"
	})
	if want := "GOMEMLIMIT 900MiB: the Go runtime's memory limit is 943718400 bytes"; !waitLog(ns, back.Name, "svc", want) {
		t.Errorf("the pod after the rollback: its log lacks %q:\n%s", want, podLog(ns, back.Name, "svc"))
	}
}

// 7h. The same for a DaemonSet, whose controller replaces its pod in
// place: the new pod is killed, the template is put back, and the pod it
// makes has the limit of before.
func TestFixApplyRollsBackADaemonSet(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := namespace(t, "e2e-rollback-ds")
	if _, err := node.Client.AppsV1().DaemonSets(ns).Create(ctx, workloads.HolderDaemon(ns, "agent"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPod(t, ns, "app=agent", 2*time.Minute, "running", func(p *corev1.Pod) bool {
		cs := workloads.Status(p, "app")
		return cs != nil && cs.State.Running != nil
	})
	code, out, stderr := oomdoctor("fix", "-n", ns, "--apply", "daemonset/agent", "--memory-limit", "64Mi", "--memory-request", "32Mi", "--rollback-on-failure", "--timeout", "2m")
	if code != 1 || !strings.Contains(stderr, "its new pod agent-") || !strings.Contains(stderr, "was OOMKilled under its memory limit 64Mi") ||
		!strings.Contains(stderr, "put back daemonset/agent's pod template as it was (--rollback-on-failure), and it rolled out") ||
		strings.Count(out, "(put back: the rollout failed)") != 2 {
		t.Errorf("fix --apply daemonset/agent exited %d\n%s%s", code, out, stderr)
	}
	ds, err := node.Client.AppsV1().DaemonSets(ns).Get(ctx, "agent", metav1.GetOptions{})
	if err != nil || templateLimit(ds.Spec.Template) != "256Mi" {
		t.Fatalf("daemonset/agent after the rollback: %v (%v)", ds, err)
	}
	waitPod(t, ns, "app=agent", time.Minute, "running at 256Mi", func(p *corev1.Pod) bool {
		cs := workloads.Status(p, "app")
		return p.DeletionTimestamp == nil && cs != nil && cs.State.Running != nil && p.Spec.Containers[0].Resources.Limits.Memory().String() == "256Mi"
	})
}
