package integration

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// lint's memory-over-quota says what the API server's quota admission
// does with the pods of the workloads it reads: the same ResourceQuota,
// the pods lint counts are created one by one in the real API server,
// and it refuses the pod lint says lacks the value the quota counts and
// the pod past the quota lint says the workload needs.
func TestLintQuotaMatchesTheAPIServer(t *testing.T) {
	ctx := context.Background()
	ns := "lint-quota"
	if _, err := cp.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	hard := corev1.ResourceList{corev1.ResourceRequestsMemory: resource.MustParse("1Gi"), corev1.ResourceLimitsMemory: resource.MustParse("2Gi")}
	q, err := cp.Client.CoreV1().ResourceQuotas(ns).Create(ctx, &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "compute"}, Spec: corev1.ResourceQuotaSpec{Hard: hard}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// No quota controller runs here: the status starts as it would set it.
	q.Status = corev1.ResourceQuotaStatus{Hard: hard, Used: corev1.ResourceList{corev1.ResourceRequestsMemory: resource.MustParse("0"), corev1.ResourceLimitsMemory: resource.MustParse("0")}}
	if _, err := cp.Client.CoreV1().ResourceQuotas(ns).UpdateStatus(ctx, q, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	var created []string
	t.Cleanup(func() {
		for _, p := range created {
			_ = cp.Client.CoreV1().Pods(ns).Delete(ctx, p, metav1.DeleteOptions{})
		}
	})
	pod := func(name string, res corev1.ResourceRequirements) error {
		_, err := cp.Client.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:1", Resources: res}}}}, metav1.CreateOptions{})
		if err == nil {
			created = append(created, name)
		}
		return err
	}
	files := t.TempDir()
	lint := func(doc string) string {
		t.Helper()
		path := filepath.Join(files, "m.yaml")
		quota := "apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: compute, namespace: " + ns + "}\nspec:\n  hard: {requests.memory: 1Gi, limits.memory: 2Gi}\n---\n"
		if err := os.WriteFile(path, []byte(quota+doc), 0o600); err != nil {
			t.Fatal(err)
		}
		r := oomdoctor(t, "lint", "-f", path, "--fail-on", "none")
		if r.code != 0 {
			t.Fatalf("lint: %s", r)
		}
		return r.stdout
	}
	deployment := func(replicas, resources string) string {
		return "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app, namespace: " + ns + "}\nspec:\n  replicas: " + replicas + "\n  strategy: {type: Recreate}\n  selector: {matchLabels: {app: app}}\n  template:\n    metadata: {labels: {app: app}}\n    spec:\n      containers:\n      - name: app\n        image: app:1\n        resources: " + resources + "\n"
	}

	// A request without a limit, under a limits.memory quota.
	out := lint(deployment("1", "{requests: {memory: 256Mi}}"))
	err = pod("no-limit", corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")}})
	if err == nil || !strings.Contains(err.Error(), "must specify limits.memory for: app") {
		t.Fatalf("the API server took a pod without the limit the quota counts: %v", err)
	}
	if !strings.Contains(out, "(failed quota: compute: must specify limits.memory for: app)") {
		t.Errorf("lint does not say what the API server says (%v):\n%s", err, out)
	}

	// 3 replicas of 400Mi: lint says they need 1200Mi of requests; the
	// API server takes two pods and refuses the third.
	out = lint(deployment("3", "{requests: {memory: 400Mi}, limits: {memory: 400Mi}}"))
	if !strings.Contains(out, "allows requests.memory up to 1Gi, and the workloads of these files in its namespace alone need 1200Mi at their replicas (Deployment "+ns+"/app 3 x 400Mi)") {
		t.Errorf("lint on 3 x 400Mi:\n%s", out)
	}
	res := corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("400Mi")}, Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("400Mi")}}
	for i, name := range []string{"app-1", "app-2", "app-3"} {
		err := pod(name, res)
		if refused := err != nil; refused != (i == 2) || refused && !strings.Contains(err.Error(), "exceeded quota: compute") {
			t.Errorf("pod %d of 400Mi under a 1Gi quota: %v", i+1, err)
		}
	}
	// 2 replicas fit, and lint says nothing.
	if out = lint(deployment("2", "{requests: {memory: 400Mi}, limits: {memory: 400Mi}}")); strings.Contains(out, "memory-over-quota") {
		t.Errorf("lint on 2 x 400Mi, which the API server took:\n%s", out)
	}
}
