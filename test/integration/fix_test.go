package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/oomdoctor/oomdoctor/internal/fix"
	"github.com/oomdoctor/oomdoctor/internal/model"
)

// oneContainer is a Deployment of one replica whose container app has a
// memory limit.
func oneContainer(name, limit string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](1), Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "app", Image: "app:1", Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(limit)}},
			}}}}},
	}
}

// policyInEffect waits until a new admission policy acts (within a few
// seconds of its creation): effective probes for it.
func policyInEffect(t *testing.T, what string, effective func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !effective(); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s never took effect", what)
		}
	}
}

func cartDeployment(t *testing.T) *appsv1.Deployment {
	t.Helper()
	d, err := cp.Client.AppsV1().Deployments("shop").Get(context.Background(), "cart", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestFixApplyPatchesOnlyMemoryFields(t *testing.T) {
	before := cartDeployment(t)
	r := oomdoctor(t, "fix", "--kubeconfig", cp.Kubeconfig, "-n", "shop", "--apply", "deployment/cart", "-c", "cart", "--memory-limit", "512Mi", "--wait=false")
	if r.code != 0 || !strings.Contains(r.stdout, "memory limit 256Mi → 512Mi") {
		t.Fatalf("%s", r)
	}
	after := cartDeployment(t)
	c := after.Spec.Template.Spec.Containers
	if c[0].Resources.Limits.Memory().String() != "512Mi" || c[0].Resources.Requests.Memory().String() != "128Mi" {
		t.Errorf("cart resources: %+v", c[0].Resources)
	}
	if c[1].Resources.Limits.Memory().String() != "128Mi" || c[0].Image != before.Spec.Template.Spec.Containers[0].Image {
		t.Errorf("fields other than the limit changed: %+v", c)
	}
	var owned string
	for _, mf := range after.ManagedFields {
		if mf.Manager == "oomdoctor" {
			owned = mf.FieldsV1.GetRawString()
		}
	}
	if owned == "" {
		t.Fatalf("no managed fields of oomdoctor: %+v", after.ManagedFields)
	}
	if !strings.Contains(owned, `"f:limits":{"f:memory":{}}`) || strings.Contains(owned, "f:image") || strings.Contains(owned, "f:replicas") {
		t.Errorf("oomdoctor owns more than the memory limit: %s", owned)
	}
	// Again: nothing to change.
	r = oomdoctor(t, "fix", "--kubeconfig", cp.Kubeconfig, "-n", "shop", "--apply", "deployment/cart", "-c", "cart", "--memory-limit", "512Mi", "--wait=false")
	if r.code != 0 || !strings.Contains(r.stderr, "nothing to change") {
		t.Errorf("second run: %s", r)
	}
	// The objects of manifests: the same Deployment named in a file.
	file := filepath.Join(t.TempDir(), "cart.yaml")
	os.WriteFile(file, []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: cart, namespace: shop}\nspec:\n  template:\n    spec:\n      containers: [{name: cart, image: x}]\n"), 0o600)
	r = oomdoctor(t, "fix", "--kubeconfig", cp.Kubeconfig, "--apply", "-f", file, "-c", "cart", "--memory-limit", "600Mi", "--wait=false")
	if got := cartDeployment(t).Spec.Template.Spec.Containers[0].Resources.Limits.Memory().String(); r.code != 0 || got != "600Mi" {
		t.Errorf("--apply -f: limit %s\n%s", got, r)
	}
}

func TestFixApplyRefusals(t *testing.T) {
	ctx := context.Background()
	// Larger than every node (the scenario's nodes have 8Gi and 16Gi).
	r := oomdoctor(t, "fix", "--kubeconfig", cp.Kubeconfig, "-n", "shop", "--apply", "deployment/cart", "-c", "cart", "--memory-limit", "64Gi", "--wait=false")
	if r.code != 1 || !strings.Contains(r.stderr, "the largest node (node-b) has 16Gi allocatable") {
		t.Errorf("a limit above every node: %s", r)
	}
	if got := cartDeployment(t).Spec.Template.Spec.Containers[0].Resources.Limits.Memory().String(); got == "64Gi" {
		t.Error("the refused limit was applied")
	}

	// An admission policy the server enforces on Deployments: the dry run
	// meets it, and nothing changes.
	ns := "fix-policy"
	if _, err := cp.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"memory-policy": "strict"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := cp.Client.AdmissionregistrationV1().ValidatingAdmissionPolicies().Create(ctx, &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "max-memory"},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionv1.Fail),
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{{RuleWithOperations: admissionv1.RuleWithOperations{
				Operations: []admissionv1.OperationType{admissionv1.Create, admissionv1.Update},
				Rule:       admissionv1.Rule{APIGroups: []string{"apps"}, APIVersions: []string{"v1"}, Resources: []string{"deployments"}},
			}}}},
			Validations: []admissionv1.Validation{{
				Expression: "object.spec.template.spec.containers.all(c, !has(c.resources.limits) || !('memory' in c.resources.limits) || quantity(c.resources.limits['memory']).compareTo(quantity('1Gi')) <= 0)",
				Message:    "memory limits above 1Gi need approval",
			}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = cp.Client.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Create(ctx, &admissionv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "max-memory"},
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        "max-memory",
			ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny},
			MatchResources:    &admissionv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"memory-policy": "strict"}}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	capped := oneContainer("capped", "512Mi")
	if _, err := cp.Client.AppsV1().Deployments(ns).Create(ctx, capped, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	policyInEffect(t, "the admission policy", func() bool {
		probe := capped.DeepCopy()
		probe.Name = "probe"
		probe.Spec.Template.Spec.Containers[0].Resources.Limits[corev1.ResourceMemory] = resource.MustParse("2Gi")
		_, err := cp.Client.AppsV1().Deployments(ns).Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err != nil
	})
	r = oomdoctor(t, "fix", "--kubeconfig", cp.Kubeconfig, "-n", ns, "--apply", "deployment/capped", "--memory-limit", "2Gi", "--wait=false")
	if r.code != 1 || !strings.Contains(r.stderr, "dry run, nothing was changed") || !strings.Contains(r.stderr, "need approval") {
		t.Errorf("an admission policy: %s", r)
	}
	d, _ := cp.Client.AppsV1().Deployments(ns).Get(ctx, "capped", metav1.GetOptions{})
	if got := d.Spec.Template.Spec.Containers[0].Resources.Limits.Memory().String(); got != "512Mi" {
		t.Errorf("the refused change was made: %s", got)
	}
	if r := oomdoctor(t, "fix", "--kubeconfig", cp.Kubeconfig, "-n", ns, "--apply", "deployment/capped", "--memory-limit", "1Gi", "--wait=false"); r.code != 0 {
		t.Errorf("an allowed change: %s", r)
	}

	r = oomdoctor(t, "fix", "--kubeconfig", cp.Kubeconfig, "-n", "shop", "--apply", "deployment/nope", "--memory-limit", "1Gi")
	if r.code != 1 || !strings.Contains(r.stderr, "deployment/nope") {
		t.Errorf("a missing deployment: %s", r)
	}
	r = oomdoctor(t, "fix", "--kubeconfig", cp.Kubeconfig, "-n", "tools", "--apply", "pod/schema-migration", "--memory-limit", "1Gi")
	if r.code != 2 || !strings.Contains(r.stderr, "bare pod") {
		t.Errorf("a bare pod: %s", r)
	}
}

// fix --apply with recommendations says their warnings (a leak here)
// under the object's line, before it changes the object.
func TestFixApplySaysWarningsFirst(t *testing.T) {
	ctx := context.Background()
	ns := "fix-warnings"
	if _, err := cp.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cp.Client.AppsV1().Deployments(ns).Create(ctx, oneContainer("leaky", "256Mi"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	recs := filepath.Join(t.TempDir(), "recs.json")
	doc := `{"apiVersion": "oomdoctor.io/v1alpha1", "kind": "Recommendations", "items": [
  {"workload": {"kind": "Deployment", "name": "leaky", "namespace": "` + ns + `"}, "container": "app", "memoryLimitBytes": 402653184,
   "warnings": ["the working set grows 18.0Mi/h in each lifetime"], "reasons": ["limit: the limit 256Mi it was OOM-killed at x 1.5"]},
  {"workload": {"kind": "Deployment", "name": "other", "namespace": "` + ns + `"}, "container": "app", "memoryLimitBytes": 402653184,
   "warnings": ["not this one"]}]}`
	if err := os.WriteFile(recs, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	r := oomdoctor(t, "fix", "--kubeconfig", cp.Kubeconfig, "-n", ns, "--apply", "deployment/leaky", "--recommendations", recs, "--wait=false")
	want := "deployment/leaky (namespace " + ns + "):\n  warning: Deployment " + ns + "/leaky container app: the working set grows 18.0Mi/h in each lifetime\n"
	if r.code != 0 || !strings.Contains(r.stderr, want) || strings.Contains(r.stderr, "not this one") || !strings.Contains(r.stdout, "memory limit 256Mi → 384Mi") {
		t.Errorf("want the change and, first, the one warning:\n%s", r)
	}
}

// fix --apply says, before the change, what the new values do to the
// HorizontalPodAutoscalers that scale the workload on memory (the live
// ones, read from the API server), and still makes the change: one on 80%
// of the requests whose point moves as the request follows the new limit,
// one on an average above the new limit. A recommendation that already
// carries the same warning has it said once.
func TestFixApplyWarnsOfHPAs(t *testing.T) {
	ctx := context.Background()
	ns := "fix-hpa"
	if _, err := cp.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cp.Client.AppsV1().Deployments(ns).Create(ctx, oneContainer("scaled", "256Mi"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	memory := func(target autoscalingv2.MetricTarget) autoscalingv2.MetricSpec {
		return autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceMemory, Target: target}}
	}
	hpa := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "scaled"}, Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
		ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "scaled"}, MaxReplicas: 5,
		Metrics: []autoscalingv2.MetricSpec{
			memory(autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](80)}),
			memory(autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptr.To(resource.MustParse("600Mi"))}),
		}}}
	if _, err := cp.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, hpa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	moved := "HorizontalPodAutoscaler " + ns + "/scaled scales Deployment/scaled on memory at 80% of the pod's requests (its containers together): the new requests (512Mi a pod, from 256Mi) move the point it adds replicas at from 205Mi to 410Mi a pod, so at today's usage it runs fewer replicas, each under more load; to keep the point, set its averageUtilization to 40%"
	unreachable := "HorizontalPodAutoscaler " + ns + "/scaled scales Deployment/scaled on memory at an average of 600Mi a pod, at or above the new limits (512Mi a pod), which usage never passes: the containers are killed first, and it never adds replicas for memory; give it an averageValue under 512Mi"
	r := oomdoctor(t, "fix", "--kubeconfig", cp.Kubeconfig, "-n", ns, "--apply", "deployment/scaled", "--memory-limit", "512Mi", "--wait=false")
	for _, want := range []string{"  warning: " + moved + "\n", "  warning: " + unreachable + "\n"} {
		if r.code != 0 || !strings.Contains(r.stderr, want) || !strings.Contains(r.stdout, "memory limit 256Mi → 512Mi") {
			t.Errorf("want the change and the warning %q:\n%s", want, r)
		}
	}

	// Back to 384Mi from a recommendation that carries the first warning
	// already (as recommend --from-cluster gives it): said once, on the
	// recommendation; the second one with the new limit.
	moved = "HorizontalPodAutoscaler " + ns + "/scaled scales Deployment/scaled on memory at 80% of the pod's requests (its containers together): the new requests (384Mi a pod, from 512Mi) move the point it adds replicas at from 410Mi to 307Mi a pod, so at today's usage it runs more replicas; to keep the point, set its averageUtilization to 107%"
	unreachable = strings.ReplaceAll(unreachable, "512Mi", "384Mi")
	recs := filepath.Join(t.TempDir(), "recs.json")
	doc := `{"apiVersion": "oomdoctor.io/v1alpha1", "kind": "Recommendations", "items": [
  {"workload": {"kind": "Deployment", "name": "scaled", "namespace": "` + ns + `"}, "container": "app", "memoryLimitBytes": 402653184, "warnings": ["` + moved + `"]}]}`
	if err := os.WriteFile(recs, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	r = oomdoctor(t, "fix", "--kubeconfig", cp.Kubeconfig, "-n", ns, "--apply", "deployment/scaled", "--recommendations", recs, "--wait=false")
	if r.code != 0 || !strings.Contains(r.stdout, "memory limit 512Mi → 384Mi") || strings.Count(r.stderr, moved) != 1 ||
		!strings.Contains(r.stderr, "  warning: Deployment "+ns+"/scaled container app: "+moved+"\n") || !strings.Contains(r.stderr, "  warning: "+unreachable+"\n") {
		t.Errorf("want the change, the recommendation's warning once and the other one:\n%s", r)
	}
}

// A LimitRange or a ResourceQuota refuses pods, not the Deployment: the
// patch's own dry run passes, and the rollout would stall. fix --apply
// asks the API server about a pod of the new template first.
func TestFixApplyChecksTheNewPods(t *testing.T) {
	ctx := context.Background()
	mk := func(ns string) {
		t.Helper()
		if _, err := cp.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	limitOf := func(ns, name string) string {
		t.Helper()
		d, err := cp.Client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return d.Spec.Template.Spec.Containers[0].Resources.Limits.Memory().String()
	}

	// A LimitRange: at most 256Mi per container.
	ns := "fix-limitrange"
	mk(ns)
	if _, err := cp.Client.CoreV1().LimitRanges(ns).Create(ctx, &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: "mem"}, Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{
		{Type: corev1.LimitTypeContainer, Max: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")}},
	}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	small := oneContainer("small", "128Mi")
	if _, err := cp.Client.AppsV1().Deployments(ns).Create(ctx, small, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The premise: the API server takes a Deployment above the LimitRange.
	big := oneContainer("big", "512Mi")
	if _, err := cp.Client.AppsV1().Deployments(ns).Create(ctx, big, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Fatalf("the API server refused a Deployment above the LimitRange, which this test assumes it takes: %v", err)
	}
	r := oomdoctor(t, "fix", "--kubeconfig", cp.Kubeconfig, "-n", ns, "--apply", "deployment/small", "--memory-limit", "512Mi", "--wait=false")
	if r.code != 1 || !strings.Contains(r.stderr, "would refuse the new pods of deployment/small") || !strings.Contains(r.stderr, "maximum memory usage per Container is 256Mi, but limit is 512Mi") ||
		!strings.Contains(r.stderr, "nothing was changed") || !strings.Contains(r.stderr, "kubectl describe limitrange -n "+ns) {
		t.Errorf("a limit above the LimitRange: %s", r)
	}
	if got := limitOf(ns, "small"); got != "128Mi" {
		t.Errorf("the refused change was made: %s", got)
	}
	if r := oomdoctor(t, "fix", "--kubeconfig", cp.Kubeconfig, "-n", ns, "--apply", "deployment/small", "--memory-limit", "256Mi", "--wait=false"); r.code != 0 || limitOf(ns, "small") != "256Mi" {
		t.Errorf("a limit the LimitRange allows: %s", r)
	}
	// --pod-check=false: the user means to raise the LimitRange next.
	r = oomdoctor(t, "fix", "--kubeconfig", cp.Kubeconfig, "-n", ns, "--apply", "deployment/small", "--memory-limit", "384Mi", "--wait=false", "--pod-check=false")
	if r.code != 0 || limitOf(ns, "small") != "384Mi" || !strings.Contains(r.stderr, "note: the new pods were not checked against the namespace's LimitRanges, ResourceQuotas and admission policies (--pod-check=false)") {
		t.Errorf("--pod-check=false: %s", r)
	}
	// A StatefulSet's pods mount the volumes of its claim templates: the
	// pod checked has them, as the controller's do.
	db := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "db"}, Spec: appsv1.StatefulSetSpec{
		Replicas: ptr.To[int32](1), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "db"}}, Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "db", Image: "db:1", VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}},
			Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi")}},
		}}}},
		VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"}, Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		}}},
	}}
	if _, err := cp.Client.AppsV1().StatefulSets(ns).Create(ctx, db, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r = oomdoctor(t, "fix", "--kubeconfig", cp.Kubeconfig, "-n", ns, "--apply", "statefulset/db", "--memory-limit", "192Mi", "--wait=false")
	if r.code != 0 || strings.Contains(r.stderr, "not checked") {
		t.Errorf("a StatefulSet with claim templates, within the LimitRange: %s", r)
	}
	r = oomdoctor(t, "fix", "--kubeconfig", cp.Kubeconfig, "-n", ns, "--apply", "statefulset/db", "--memory-limit", "384Mi", "--wait=false")
	if r.code != 1 || !strings.Contains(r.stderr, "maximum memory usage per Container is 256Mi, but limit is 384Mi") {
		t.Errorf("a StatefulSet above the LimitRange: %s", r)
	}
	// A Deployment made before the LimitRange, above it: its current pods
	// would be refused too, so the check cannot tell the new values' part;
	// it says so, and the change is made (the rollout's wait would stop
	// on the refused pods).
	old := oneContainer("old", "512Mi")
	if _, err := cp.Client.AppsV1().Deployments(ns).Create(ctx, old, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r = oomdoctor(t, "fix", "--kubeconfig", cp.Kubeconfig, "-n", ns, "--apply", "deployment/old", "--memory-limit", "384Mi", "--wait=false")
	if r.code != 0 || !strings.Contains(r.stderr, "a pod of the current template is refused as well (pods \"old-") || !strings.Contains(r.stderr, "but limit is 512Mi") || limitOf(ns, "old") != "384Mi" {
		t.Errorf("a Deployment already outside the LimitRange: %s", r)
	}
	// Without the right to create pods, nothing is checked, and it says so.
	patcher, err := cp.User(ctx, ns, "patcher", []rbacv1.PolicyRule{{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"get", "patch"}}})
	if err != nil {
		t.Fatal(err)
	}
	r = oomdoctor(t, "fix", "--kubeconfig", patcher, "-n", ns, "--apply", "deployment/small", "--memory-limit", "240Mi", "--wait=false")
	if r.code != 0 || !strings.Contains(r.stderr, "the new pods were not checked against the namespace's LimitRanges, ResourceQuotas and admission policies (that needs the right to create pods in "+ns+", in a dry run)") ||
		!strings.Contains(r.stderr, "note: the HorizontalPodAutoscalers were not checked (that needs the right to list horizontalpodautoscalers.autoscaling in "+ns+"): one that scales Deployment/small on memory takes its point from the requests\n") {
		t.Errorf("a user who may not create pods: %s", r)
	}

	// A ResourceQuota of 1Gi of limits, two pods of 384Mi in it. Without
	// kube-controller-manager the test writes the quota's status.
	ns = "fix-quota"
	mk(ns)
	q, err := cp.Client.CoreV1().ResourceQuotas(ns).Create(ctx, &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "mem"},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourceLimitsMemory: resource.MustParse("1Gi")}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	q.Status = corev1.ResourceQuotaStatus{Hard: q.Spec.Hard, Used: corev1.ResourceList{corev1.ResourceLimitsMemory: resource.MustParse("768Mi")}}
	if _, err := cp.Client.CoreV1().ResourceQuotas(ns).UpdateStatus(ctx, q, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// A quota of the namespace's Jobs (scope Terminating: pods with a
	// deadline) has no room at all, and does not count the Deployment's
	// pods.
	jobs, err := cp.Client.CoreV1().ResourceQuotas(ns).Create(ctx, &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "jobs"},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourceLimitsMemory: resource.MustParse("1Mi")}, Scopes: []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeTerminating}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	jobs.Status = corev1.ResourceQuotaStatus{Hard: jobs.Spec.Hard, Used: corev1.ResourceList{corev1.ResourceLimitsMemory: resource.MustParse("0")}}
	if _, err := cp.Client.CoreV1().ResourceQuotas(ns).UpdateStatus(ctx, jobs, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	pair := oneContainer("pair", "384Mi")
	pair.Spec.Replicas = ptr.To[int32](2)
	if _, err := cp.Client.AppsV1().Deployments(ns).Create(ctx, pair, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// 448Mi: two such pods fit (896Mi), but not a third beside the two
	// old ones (1216Mi), and a rolling update adds one first.
	r = oomdoctor(t, "fix", "--kubeconfig", cp.Kubeconfig, "-n", ns, "--apply", "deployment/pair", "--memory-limit", "448Mi", "--wait=false")
	if r.code != 1 || !strings.Contains(r.stderr, "creates each new pod before an old one goes, and the namespace's ResourceQuota has no room for one") ||
		!strings.Contains(r.stderr, "maxSurge: 0") || !strings.Contains(r.stderr, "exceeded quota: mem") || limitOf(ns, "pair") != "384Mi" {
		t.Errorf("a rollout the quota has no room for: %s", r)
	}
	// Old pods first: it fits, and a note says why.
	surge := []byte(`{"spec":{"strategy":{"rollingUpdate":{"maxSurge":0,"maxUnavailable":1}}}}`)
	if _, err := cp.Client.AppsV1().Deployments(ns).Patch(ctx, "pair", types.StrategicMergePatchType, surge, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	r = oomdoctor(t, "fix", "--kubeconfig", cp.Kubeconfig, "-n", ns, "--apply", "deployment/pair", "--memory-limit", "448Mi", "--wait=false")
	if r.code != 0 || !strings.Contains(r.stderr, "replaces each pod after the old one goes, and the quota holds all 2 with the new values") || limitOf(ns, "pair") != "448Mi" {
		t.Errorf("a rollout that frees the room first: %s", r)
	}
	// 640Mi: two pods would not fit at all (the status still counts
	// 768Mi for the two: 768Mi + 2 x 192Mi).
	r = oomdoctor(t, "fix", "--kubeconfig", cp.Kubeconfig, "-n", ns, "--apply", "deployment/pair", "--memory-limit", "640Mi", "--wait=false")
	if r.code != 1 || !strings.Contains(r.stderr, "the 2 pods of deployment/pair would need 1152Mi of limits.memory in ResourceQuota mem, which allows 1Gi (768Mi used now)") || limitOf(ns, "pair") != "448Mi" {
		t.Errorf("values the quota cannot hold: %s", r)
	}
}

// A mutating admission webhook or policy that sets the pods' memory (as a
// VerticalPodAutoscaler's admission controller does) would undo the
// change in every new pod: fix --apply sees it in the pod it creates in a
// dry run, and changes nothing. The policy here plays the VPA: it sets
// the first container's limit to 768Mi in the namespace.
func TestFixApplySeesMutatedPods(t *testing.T) {
	ctx := context.Background()
	ns := "fix-mutated"
	if _, err := cp.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"vpa-like": "yes"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := cp.Client.AdmissionregistrationV1().MutatingAdmissionPolicies().Create(ctx, &admissionv1.MutatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "vpa-like"},
		Spec: admissionv1.MutatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionv1.Fail),
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{{RuleWithOperations: admissionv1.RuleWithOperations{
				Operations: []admissionv1.OperationType{admissionv1.Create},
				Rule:       admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
			}}}},
			ReinvocationPolicy: admissionv1.NeverReinvocationPolicy,
			Mutations: []admissionv1.Mutation{{PatchType: admissionv1.PatchTypeJSONPatch, JSONPatch: &admissionv1.JSONPatch{
				Expression: `[JSONPatch{op: "add", path: "/spec/containers/0/resources/limits/memory", value: "768Mi"}]`,
			}}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = cp.Client.AdmissionregistrationV1().MutatingAdmissionPolicyBindings().Create(ctx, &admissionv1.MutatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "vpa-like"},
		Spec: admissionv1.MutatingAdmissionPolicyBindingSpec{
			PolicyName:     "vpa-like",
			MatchResources: &admissionv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"vpa-like": "yes"}}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tuned := oneContainer("tuned", "512Mi")
	if _, err := cp.Client.AppsV1().Deployments(ns).Create(ctx, tuned, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	policyInEffect(t, "the mutating policy", func() bool {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "probe-"}, Spec: tuned.Spec.Template.Spec}
		got, err := cp.Client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err == nil && got.Spec.Containers[0].Resources.Limits.Memory().String() == "768Mi"
	})
	r := oomdoctor(t, "fix", "--kubeconfig", cp.Kubeconfig, "-n", ns, "--apply", "deployment/tuned", "--memory-limit", "640Mi", "--wait=false")
	if r.code != 1 || !strings.Contains(r.stderr, "the API server changes the memory of the new pods of deployment/tuned as it admits them (container app: limit 768Mi, not the 640Mi set)") ||
		!strings.Contains(r.stderr, "kubectl get vpa -n "+ns) || !strings.Contains(r.stderr, "nothing was changed") {
		t.Errorf("a mutated limit: %s", r)
	}
	d, err := cp.Client.AppsV1().Deployments(ns).Get(ctx, "tuned", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Spec.Template.Spec.Containers[0].Resources.Limits.Memory().String(); got != "512Mi" {
		t.Errorf("the change was made: %s", got)
	}
	// The value the policy sets takes: nothing to refuse.
	if r := oomdoctor(t, "fix", "--kubeconfig", cp.Kubeconfig, "-n", ns, "--apply", "deployment/tuned", "--memory-limit", "768Mi", "--wait=false"); r.code != 0 {
		t.Errorf("a value admission keeps: %s", r)
	}
}

// fix --apply changes a Redis whose maxmemory lives in a mounted
// ConfigMap: without --configmaps it changes nothing and names the
// ConfigMap change; with it, it changes the ConfigMap first (its one
// line), unless another workload reads it too; once the ConfigMap says
// a size that fits, the limit alone changes.
func TestFixApplyChangesTheConfigMapFirst(t *testing.T) {
	ctx := context.Background()
	ns := "fix-configmap"
	if _, err := cp.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	conf := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cache-conf"}, Data: map[string]string{"redis.conf": "# sessions\nmaxmemory 900mb\nsave \"\"\n", "other.conf": "x"}}
	if _, err := cp.Client.CoreV1().ConfigMaps(ns).Create(ctx, conf, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	redis := func(name string) *appsv1.Deployment {
		d := oneContainer(name, "1Gi")
		pod := &d.Spec.Template.Spec
		pod.Containers[0].Image = "redis:7.4"
		pod.Containers[0].Command = []string{"redis-server", "/etc/redis/redis.conf"}
		pod.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "conf", MountPath: "/etc/redis"}}
		pod.Volumes = []corev1.Volume{{Name: "conf", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cache-conf"}}}}}
		return d
	}
	for _, name := range []string{"cache", "replica"} {
		if _, err := cp.Client.AppsV1().Deployments(ns).Create(ctx, redis(name), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	limit := func() string {
		got, err := cp.Client.AppsV1().Deployments(ns).Get(ctx, "cache", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return got.Spec.Template.Spec.Containers[0].Resources.Limits.Memory().String()
	}
	data := func() map[string]string {
		got, err := cp.Client.CoreV1().ConfigMaps(ns).Get(ctx, "cache-conf", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return got.Data
	}
	unchanged := func(what string) {
		t.Helper()
		if got := limit(); got != "1Gi" {
			t.Fatalf("%s: the limit was changed all the same: %s", what, got)
		}
		if got := data(); !reflect.DeepEqual(got, conf.Data) {
			t.Fatalf("%s: the ConfigMap was changed: %q", what, got)
		}
	}
	args := []string{"fix", "--kubeconfig", cp.Kubeconfig, "-n", ns, "--apply", "deployment/cache", "--memory-limit", "768Mi", "--wait=false"}
	change := "ConfigMap " + ns + "/cache-conf key redis.conf: maxmemory 900mb → maxmemory 576mb"
	r := oomdoctor(t, args...)
	if r.code != 1 || !strings.Contains(r.stderr, change) || !strings.Contains(r.stderr, "nothing was changed") || !strings.Contains(r.stderr, "give --configmaps to change it with deployment/cache") {
		t.Errorf("a maxmemory the new limit leaves no room: want %q\n%s", change, r)
	}
	unchanged("without --configmaps")

	// Another Redis mounts the same file: its maxmemory would move too.
	withCMs := append(append([]string(nil), args...), "--configmaps")
	r = oomdoctor(t, withCMs...)
	if want := "ConfigMap " + ns + "/cache-conf key redis.conf is read by deployment/replica too, whose limits do not change with it, so nothing was changed: deployment/cache container app needs maxmemory 900mb → maxmemory 576mb"; r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Errorf("another reader: want %q\n%s", want, r)
	}
	unchanged("with another reader")
	if err := cp.Client.AppsV1().Deployments(ns).Delete(ctx, "replica", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}

	// A pod that reads only another key is no obstacle.
	other := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "reads-other"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox",
		Env: []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cache-conf"}, Key: "other.conf"}}}}}}}}
	if _, err := cp.Client.CoreV1().Pods(ns).Create(ctx, other, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Never scheduled, it goes at once: scan's tests count the pods.
	t.Cleanup(func() { _ = cp.Client.CoreV1().Pods(ns).Delete(ctx, other.Name, metav1.DeleteOptions{}) })
	r = oomdoctor(t, withCMs...)
	if want := "Deployment " + ns + "/cache container app: maxmemory 900mb → maxmemory 576mb in configmap cache-conf key redis.conf, so redis keeps room under the new limit\nDeployment " + ns + "/cache container app: memory limit 1Gi → 768Mi\n"; r.code != 0 || r.stdout != want {
		t.Errorf("with --configmaps: want the ConfigMap changed, then the limit:\n%s\nwant stdout:\n%s", r, want)
	}
	if got := limit(); got != "768Mi" {
		t.Errorf("limit %s, want 768Mi", got)
	}
	want := map[string]string{"redis.conf": "# sessions\nmaxmemory 576mb\nsave \"\"\n", "other.conf": "x"}
	if got := data(); !reflect.DeepEqual(got, want) {
		t.Errorf("ConfigMap data %q, want only the maxmemory line changed: %q", got, want)
	}

	// Now the ConfigMap fits: the next change needs no --configmaps.
	r = oomdoctor(t, "fix", "--kubeconfig", cp.Kubeconfig, "-n", ns, "--apply", "deployment/cache", "--memory-limit", "900Mi", "--wait=false")
	if r.code != 0 || !strings.Contains(r.stdout, "memory limit 768Mi → 900Mi") || strings.Contains(r.stdout, "ConfigMap") {
		t.Errorf("a limit the ConfigMap fits: %s", r)
	}
	// What happens between the checks and the change (the Note hook runs
	// right before it): a ConfigMap edited meanwhile is not overwritten,
	// and one changed for a workload that then cannot be is put back.
	lim := int64(768 << 20)
	for _, tc := range []struct {
		name, want string
		meanwhile  func(cm *corev1.ConfigMap) error
		data       func(before string) string
	}{
		{"edited", `changing ConfigMap edited-conf: Operation cannot be fulfilled on configmaps "edited-conf": the object has been modified`,
			func(cm *corev1.ConfigMap) error {
				cm.Data["redis.conf"] += "# edited meanwhile\n"
				_, err := cp.Client.CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{})
				return err
			},
			func(before string) string { return before + "# edited meanwhile\n" }},
		{"deleted", `patching deployment/deleted: deployments.apps "deleted" not found; put back as it was: ConfigMap deleted-conf key redis.conf`,
			func(*corev1.ConfigMap) error {
				return cp.Client.AppsV1().Deployments(ns).Delete(ctx, "deleted", metav1.DeleteOptions{})
			},
			func(before string) string { return before }},
	} {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: tc.name + "-conf"}, Data: map[string]string{"redis.conf": conf.Data["redis.conf"]}}
		var err error
		if cm, err = cp.Client.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		d := redis(tc.name)
		d.Spec.Template.Spec.Volumes[0].ConfigMap.Name = cm.Name
		if _, err := cp.Client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		once := false
		_, err = fix.Apply(ctx, cp.Client, fix.ApplyTarget{Kind: "Deployment", Namespace: ns, Name: tc.name}, fix.Explicit{Target: fix.Target{Limit: &lim}},
			fix.ApplyOptions{ConfigMaps: true, SkipPodCheck: true, Note: func(string) {
				if !once {
					once = true
					if err := tc.meanwhile(cm.DeepCopy()); err != nil {
						t.Fatal(err)
					}
				}
			}})
		if !once || err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: want an error saying %q, got %v", tc.name, tc.want, err)
		}
		got, gerr := cp.Client.CoreV1().ConfigMaps(ns).Get(ctx, cm.Name, metav1.GetOptions{})
		if gerr != nil || got.Data["redis.conf"] != tc.data(conf.Data["redis.conf"]) {
			t.Errorf("%s: ConfigMap %q (%v), want %q", tc.name, got.Data["redis.conf"], gerr, tc.data(conf.Data["redis.conf"]))
		}
		if d, err := cp.Client.AppsV1().Deployments(ns).Get(ctx, tc.name, metav1.GetOptions{}); err == nil && d.Spec.Template.Spec.Containers[0].Resources.Limits.Memory().String() != "1Gi" {
			t.Errorf("%s: the limit was changed", tc.name)
		}
	}

	// Two Redis of one run that read the same file and ask the same
	// size: the ConfigMap changes once, with the first, and both limits.
	two := "fix-configmap-two"
	if _, err := cp.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: two}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cp.Client.CoreV1().ConfigMaps(two).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cache-conf"}, Data: map[string]string{"redis.conf": conf.Data["redis.conf"]}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"primary", "replica"} {
		if _, err := cp.Client.AppsV1().Deployments(two).Create(ctx, redis(name), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	r = oomdoctor(t, "fix", "--kubeconfig", cp.Kubeconfig, "-n", two, "--apply", "deployment/primary", "deployment/replica", "--memory-limit", "768Mi", "--configmaps", "--wait=false")
	if want := "Deployment " + two + "/primary container app: maxmemory 900mb → maxmemory 576mb in configmap cache-conf key redis.conf, so redis keeps room under the new limit\nDeployment " + two + "/primary container app: memory limit 1Gi → 768Mi\nDeployment " + two + "/replica container app: memory limit 1Gi → 768Mi\n"; r.code != 0 || r.stdout != want {
		t.Errorf("two targets reading one ConfigMap: want\n%s%s", want, r)
	}
	if got, err := cp.Client.CoreV1().ConfigMaps(two).Get(ctx, "cache-conf", metav1.GetOptions{}); err != nil || !strings.Contains(got.Data["redis.conf"], "maxmemory 576mb") {
		t.Errorf("the ConfigMap read by both: %v %v", got, err)
	}

	if r := oomdoctor(t, "fix", "-f", "-", "--memory-limit", "1Gi", "--configmaps"); r.code != 2 || !strings.Contains(r.stderr, "--configmaps goes with --apply") {
		t.Errorf("--configmaps without --apply: %s", r)
	}
}

// fix --apply says, before it changes anything, that a tool deploying
// the object from its own manifests will put the old memory back.
func TestFixApplyWarnsOfGitOps(t *testing.T) {
	ctx := context.Background()
	ns := "fix-gitops"
	if _, err := cp.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	d := oneContainer("api", "256Mi")
	d.Annotations = map[string]string{"argocd.argoproj.io/tracking-id": "shop-api:apps/Deployment:" + ns + "/api"}
	if _, err := cp.Client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r := oomdoctor(t, "fix", "--kubeconfig", cp.Kubeconfig, "-n", ns, "--apply", "deployment/api", "--memory-limit", "512Mi", "--wait=false")
	want := "warning: deployment/api is deployed by Argo CD (application shop-api): with automated sync and self-heal it puts its manifest back"
	if r.code != 0 || !strings.Contains(r.stderr, want) || !strings.Contains(r.stdout, "memory limit 256Mi → 512Mi") {
		t.Errorf("want the change and a warning saying %q: %s", want, r)
	}
	// A Deployment kubectl applied gets none.
	plain := oneContainer("web", "256Mi")
	if _, err := cp.Client.AppsV1().Deployments(ns).Create(ctx, plain, metav1.CreateOptions{FieldManager: "kubectl-client-side-apply"}); err != nil {
		t.Fatal(err)
	}
	r = oomdoctor(t, "fix", "--kubeconfig", cp.Kubeconfig, "-n", ns, "--apply", "deployment/web", "--memory-limit", "512Mi", "--wait=false")
	if r.code != 0 || strings.Contains(r.stderr, "warning") {
		t.Errorf("a Deployment no tool deploys: %s", r)
	}
}

// fix --apply --dry-run changes nothing: server makes every check (a
// LimitRange's refusal of the new pods included) and prints what would
// change; client prints it from the plan alone.
func TestFixApplyDryRun(t *testing.T) {
	ctx := context.Background()
	ns := "fix-dry-run"
	if _, err := cp.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cp.Client.CoreV1().LimitRanges(ns).Create(ctx, &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: "mem"}, Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{
		{Type: corev1.LimitTypeContainer, Max: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")}},
	}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	helm := map[string]string{"meta.helm.sh/release-name": "api", "meta.helm.sh/release-namespace": ns}
	conf := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "api-env", Annotations: helm}, Data: map[string]string{"GOMEMLIMIT": "900MiB"}}
	if _, err := cp.Client.CoreV1().ConfigMaps(ns).Create(ctx, conf, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	d := oneContainer("api", "1Gi")
	d.Annotations = helm
	d.Spec.Template.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "api-env"}}}}
	created, err := cp.Client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	unchanged := func(what string) {
		t.Helper()
		got, err := cp.Client.AppsV1().Deployments(ns).Get(ctx, "api", metav1.GetOptions{})
		if err != nil || got.ResourceVersion != created.ResourceVersion {
			t.Errorf("%s: the Deployment changed (%v)", what, err)
		}
		cm, err := cp.Client.CoreV1().ConfigMaps(ns).Get(ctx, "api-env", metav1.GetOptions{})
		if err != nil || cm.Data["GOMEMLIMIT"] != "900MiB" {
			t.Errorf("%s: the ConfigMap changed: %v %v", what, cm.Data, err)
		}
	}
	args := []string{"fix", "--kubeconfig", cp.Kubeconfig, "-n", ns, "--apply", "deployment/api", "--configmaps"}
	for _, mode := range []string{"server", "client"} {
		r := oomdoctor(t, append(args, "--memory-limit", "512Mi", "--dry-run", mode)...)
		want := "Deployment " + ns + "/api container app: GOMEMLIMIT=900MiB → GOMEMLIMIT=460MiB"
		if r.code != 0 || !strings.Contains(r.stdout, want) || !strings.Contains(r.stdout, "memory limit 1Gi → 512Mi ("+mode+" dry run)\n") || strings.Count(r.stdout, "("+mode+" dry run)") != 2 {
			t.Errorf("--dry-run %s: want %q and the limit, each marked: %s", mode, want, r)
		}
		if !strings.Contains(r.stderr, "warning: deployment/api belongs to Helm release api") || !strings.Contains(r.stderr, "warning: ConfigMap "+ns+"/api-env belongs to Helm release api (namespace "+ns+"): the next helm upgrade puts the chart's values back; set the new GOMEMLIMIT in the release's values as well") {
			t.Errorf("--dry-run %s: the warnings are said too, the ConfigMap's with the Deployment's: %s", mode, r)
		}
		unchanged("--dry-run " + mode)
	}
	// A raised GOMEMLIMIT waits for the new limit's rollout: said first,
	// told in that order, and refused without the wait.
	r := oomdoctor(t, append(args, "--memory-limit", "1536Mi", "--dry-run", "client")...)
	if r.code != 0 || !strings.Contains(r.stdout, "memory limit 1Gi → 1536Mi (client dry run)\nDeployment "+ns+"/api container app: GOMEMLIMIT=900MiB → GOMEMLIMIT=1382MiB") ||
		!strings.Contains(r.stderr, "note: the new limit rolls out first, under the old settings; then ConfigMap "+ns+"/api-env key GOMEMLIMIT") || !strings.Contains(r.stderr, "deployment/api's pods are restarted to read it") {
		t.Errorf("a raised GOMEMLIMIT: want the limit, then the ConfigMap, and the note: %s", r)
	}
	r = oomdoctor(t, append(args, "--memory-limit", "1536Mi", "--wait=false")...)
	if r.code != 1 || !strings.Contains(r.stderr, "the new limit raises a setting held in a ConfigMap (ConfigMap "+ns+"/api-env key GOMEMLIMIT: GOMEMLIMIT=900MiB → GOMEMLIMIT=1382MiB") || !strings.Contains(r.stderr, "drop --wait=false") {
		t.Errorf("a raised GOMEMLIMIT with --wait=false: %s", r)
	}
	unchanged("a raise refused without the wait")
	// Only the server's dry run sees the LimitRange refuse the new pods.
	r = oomdoctor(t, append(args, "--memory-limit", "2Gi", "--dry-run", "server")...)
	if r.code != 1 || !strings.Contains(r.stderr, "maximum memory usage per Container is 1Gi, but limit is 2Gi") {
		t.Errorf("--dry-run server above the LimitRange: %s", r)
	}
	if r := oomdoctor(t, append(args, "--memory-limit", "2Gi", "--dry-run", "client")...); r.code != 0 || !strings.Contains(r.stdout, "memory limit 1Gi → 2Gi (client dry run)") {
		t.Errorf("--dry-run client above the LimitRange: %s", r)
	}
	unchanged("after the dry runs above the LimitRange")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"fix", "-f", "-", "--memory-limit", "1Gi", "--dry-run", "server"}, "--dry-run goes with --apply"},
		{append(args, "--memory-limit", "1Gi", "--dry-run", "true"), `--dry-run "true": want none, server or client`},
		{[]string{"fix", "-f", "-", "--memory-limit", "1Gi", "--rollback-on-failure"}, "--rollback-on-failure goes with --apply"},
		{append(args, "--memory-limit", "1Gi", "--rollback-on-failure", "--wait=false"), "--rollback-on-failure watches the rollout to know that it failed: drop --wait=false"},
		{append(args, "--memory-limit", "1Gi", "--observe", "-1s"), "--observe -1s: want a duration of 0 or more"},
	} {
		if r := oomdoctor(t, tc.args...); r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%q: want usage error %q: %s", tc.args, tc.want, r)
		}
	}
}

// oomdoctor recommend -o json | oomdoctor fix --apply --recommendations -:
// with no TYPE/NAME or -f, every workload the document sizes is changed
// (in -n's namespace, when given); a kind fix cannot change is named.
func TestFixApplyFromRecommendationsOnStdin(t *testing.T) {
	ctx := context.Background()
	for _, ns := range []string{"fix-recs", "fix-recs-b"} {
		if _, err := cp.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"api", "web"} {
			if _, err := cp.Client.AppsV1().Deployments(ns).Create(ctx, oneContainer(name, "256Mi"), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	item := func(ns, kind, name string, limit int) string {
		return fmt.Sprintf(`{"workload": {"namespace": %q, "kind": %q, "name": %q}, "container": "app", "memoryRequestBytes": %d, "memoryLimitBytes": %d}`, ns, kind, name, limit<<20, limit<<20)
	}
	doc := `{"apiVersion": "oomdoctor.io/v1alpha1", "kind": "Recommendations", "items": [` +
		strings.Join([]string{item("fix-recs", "Deployment", "api", 384), item("fix-recs", "Deployment", "web", 320), item("fix-recs", "Pod", "debug", 128), item("fix-recs-b", "Deployment", "api", 512)}, ", ") + `]}`
	limit := func(ns, name string) string {
		d, err := cp.Client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return d.Spec.Template.Spec.Containers[0].Resources.Limits.Memory().String()
	}
	r := oomdoctorIn(t, doc, "fix", "--kubeconfig", cp.Kubeconfig, "-n", "fix-recs", "--apply", "--recommendations", "-", "--wait=false")
	if r.code != 0 || !strings.Contains(r.stdout, "Deployment fix-recs/api container app: memory limit 256Mi → 384Mi (recommended)") || !strings.Contains(r.stdout, "Deployment fix-recs/web container app: memory limit 256Mi → 320Mi (recommended)") ||
		!strings.Contains(r.stderr, "note: Pod/debug (namespace fix-recs) left alone: a bare pod's resources cannot be patched") {
		t.Errorf("-n fix-recs: %s", r)
	}
	if got := []string{limit("fix-recs", "api"), limit("fix-recs", "web"), limit("fix-recs-b", "api")}; !slices.Equal(got, []string{"384Mi", "320Mi", "256Mi"}) {
		t.Errorf("limits %v, want fix-recs changed and fix-recs-b (not in -n) as it was", got)
	}
	for _, tc := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{doc, []string{"--recommendations", "-", "-f", "-"}, "--recommendations - and -f - both read standard input"},
		{"{}", []string{"--recommendations", "-"}, `standard input: kind is "", want Recommendations`},
		{doc, []string{"-n", "elsewhere", "--recommendations", "-"}, "the recommendations size no workload fix can change in namespace elsewhere"},
	} {
		r := oomdoctorIn(t, tc.stdin, append([]string{"fix", "--kubeconfig", cp.Kubeconfig, "--apply", "--wait=false"}, tc.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%q: want usage error %q: %s", tc.args, tc.want, r)
		}
	}
}

// fix --apply --lint makes lint's automatic fixes on live workloads: a
// heap flag too big for the limit, a GOMEMLIMIT missing (an env item the
// server merges in by name), one too high in a ConfigMap (with
// --configmaps); a workload lint finds nothing to fix in stays as it is.
func TestFixApplyLint(t *testing.T) {
	ctx := context.Background()
	ns := "fix-lint"
	if _, err := cp.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ledger := oneContainer("ledger", "1Gi")
	ledger.Spec.Template.Spec.Containers[0].Image = "eclipse-temurin:17-jre"
	ledger.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "JAVA_TOOL_OPTIONS", Value: "-XX:+UseG1GC -Xmx1536m -Dfile.encoding=UTF-8"}, {Name: "TZ", Value: "UTC"}}
	ingest := oneContainer("ingest", "2Gi")
	ingest.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "GOGC", Value: "200"}}
	report := oneContainer("report", "1Gi")
	report.Spec.Template.Spec.Containers[0].Image = "eclipse-temurin:21-jre"
	report.Spec.Template.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "report-env"}}}}
	if _, err := cp.Client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "report-env"}, Data: map[string]string{"JAVA_TOOL_OPTIONS": "-Xmx2g"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pair := ledger.DeepCopy() // a JVM and a Go program: -c picks one
	pair.Name = "pair"
	pair.Spec.Template.Spec.Containers[0].Name = "jvm"
	gosc := ingest.Spec.Template.Spec.Containers[0]
	gosc.Name = "ingest"
	pair.Spec.Template.Spec.Containers = append(pair.Spec.Template.Spec.Containers, gosc)
	quiet := ledger.DeepCopy() // the rule is suppressed on it
	quiet.Name, quiet.Annotations = "quiet", map[string]string{"oomdoctor.io/ignore": "jvm-heap-exceeds-limit"}
	for _, d := range []*appsv1.Deployment{ledger, ingest, report, quiet, pair, oneContainer("plain", "256Mi")} {
		if _, err := cp.Client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	container := func(name string) corev1.Container {
		d, err := cp.Client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return d.Spec.Template.Spec.Containers[0]
	}
	apply := func(args ...string) result {
		return oomdoctor(t, append([]string{"fix", "--kubeconfig", cp.Kubeconfig, "-n", ns, "--apply", "--lint", "--wait=false"}, args...)...)
	}

	r := apply("deployment/ledger", "deployment/ingest")
	if r.code != 0 || !strings.Contains(r.stdout, "Deployment "+ns+"/ledger container app: ") || !strings.Contains(r.stdout, "(jvm-heap-exceeds-limit)") ||
		!strings.Contains(r.stdout, "Deployment "+ns+"/ingest container app: ") || !strings.Contains(r.stdout, "(go-memlimit-missing)") {
		t.Fatalf("fix --apply --lint: %s", r)
	}
	if env := container("ledger").Env; len(env) != 2 || env[0].Value != "-XX:+UseG1GC -Xmx768m -Dfile.encoding=UTF-8" || env[1] != (corev1.EnvVar{Name: "TZ", Value: "UTC"}) {
		t.Errorf("ledger's env after the fix: %+v", env)
	}
	if env := container("ingest").Env; len(env) != 2 || env[0] != (corev1.EnvVar{Name: "GOGC", Value: "200"}) || env[1].Name != "GOMEMLIMIT" || env[1].Value != "1843MiB" {
		t.Errorf("ingest's env after the fix: want GOGC kept and GOMEMLIMIT added: %+v", env)
	}
	if got := container("ledger").Resources.Limits[corev1.ResourceMemory]; got.String() != "1Gi" {
		t.Errorf("the limit changed: %s", got.String())
	}
	// Again: lint finds nothing left to fix; nor where its rule is off.
	if r := apply("deployment/ledger", "deployment/ingest", "deployment/plain", "deployment/quiet"); r.code != 0 || r.stdout != "" || strings.Count(r.stderr, "nothing to change") != 4 {
		t.Errorf("a second run: %s", r)
	}
	if env := container("quiet").Env; env[0].Value != "-XX:+UseG1GC -Xmx1536m -Dfile.encoding=UTF-8" {
		t.Errorf("the suppressed rule's fix was made: %+v", env)
	}

	// -c: that container's fixes only; a container it does not have is
	// refused.
	if r := apply("deployment/pair", "-c", "nope"); r.code != 1 || !strings.Contains(r.stderr, `no container "nope" (containers: jvm, ingest)`) {
		t.Errorf("-c nope: %s", r)
	}
	if r := apply("deployment/pair", "-c", "jvm"); r.code != 0 || !strings.Contains(r.stdout, "container jvm: ") || strings.Contains(r.stdout, "container ingest") {
		t.Errorf("-c jvm: %s", r)
	}
	p, err := cp.Client.AppsV1().Deployments(ns).Get(ctx, "pair", metav1.GetOptions{})
	if err != nil || p.Spec.Template.Spec.Containers[0].Env[0].Value != "-XX:+UseG1GC -Xmx768m -Dfile.encoding=UTF-8" || len(p.Spec.Template.Spec.Containers[1].Env) != 1 {
		t.Errorf("-c jvm changed: %+v (%v)", p.Spec.Template.Spec.Containers, err)
	}

	// A heap flag held in a ConfigMap is fixed there, with --configmaps.
	// Without, that object is refused and the next one still looked at.
	r = apply("deployment/report", "deployment/plain")
	if r.code != 1 || !strings.Contains(r.stderr, "ConfigMap "+ns+"/report-env key JAVA_TOOL_OPTIONS") || !strings.Contains(r.stderr, "give --configmaps") ||
		!strings.Contains(r.stderr, "deployment/plain (namespace "+ns+"):\n  note: nothing to change") || !strings.Contains(r.stderr, "error: 1 object of 2 not changed (said above): deployment/report") {
		t.Errorf("a fix in a ConfigMap without --configmaps: %s", r)
	}
	r = apply("deployment/report", "--configmaps")
	cm, err := cp.Client.CoreV1().ConfigMaps(ns).Get(ctx, "report-env", metav1.GetOptions{})
	if r.code != 0 || err != nil || cm.Data["JAVA_TOOL_OPTIONS"] != "-Xmx768m" || !strings.Contains(r.stdout, "(jvm-heap-exceeds-limit)") {
		t.Errorf("a fix in a ConfigMap with --configmaps: %v %v\n%s", cm.Data, err, r)
	}
	// The template did not change: the pods are restarted to read it.
	d, err := cp.Client.AppsV1().Deployments(ns).Get(ctx, "report", metav1.GetOptions{})
	if err != nil || d.Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"] == "" || !strings.Contains(r.stderr, "note: only ConfigMaps change: deployment/report's pods are restarted to read them") {
		t.Errorf("the pods are not restarted to read the ConfigMap (%v): %v\n%s", err, d.Spec.Template.Annotations, r)
	}
}

// fix --apply with a TYPE alone or -l changes every object of the
// namespace that matches, as kubectl get TYPE -l does (listed in pages);
// one a controller owns is named and left alone.
func TestFixApplySelects(t *testing.T) {
	ctx := context.Background()
	ns := "fix-select"
	if _, err := cp.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tier := func(d *appsv1.Deployment, v string) *appsv1.Deployment {
		d.Labels = map[string]string{"tier": v}
		return d
	}
	var web *appsv1.Deployment
	for _, d := range []*appsv1.Deployment{tier(oneContainer("a", "256Mi"), "web"), tier(oneContainer("b", "256Mi"), "web"), tier(oneContainer("c", "256Mi"), "batch")} {
		created, err := cp.Client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if d.Name == "a" {
			web = created
		}
	}
	d := oneContainer("s", "256Mi")
	sts := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "s", Labels: map[string]string{"tier": "web"}}, Spec: appsv1.StatefulSetSpec{Selector: d.Spec.Selector, Template: d.Spec.Template}}
	if _, err := cp.Client.AppsV1().StatefulSets(ns).Create(ctx, sts, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	owned := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "a-5d", Labels: map[string]string{"tier": "web"},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: "a", UID: web.UID, Controller: ptr.To(true)}}},
		Spec: appsv1.ReplicaSetSpec{Selector: web.Spec.Selector, Template: web.Spec.Template}}
	if _, err := cp.Client.AppsV1().ReplicaSets(ns).Create(ctx, owned, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	fix := func(args ...string) result {
		return oomdoctor(t, append([]string{"fix", "--kubeconfig", cp.Kubeconfig, "-n", ns, "--wait=false"}, args...)...)
	}
	changed := func(r result) []string {
		var out []string
		for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
			if obj, _, ok := strings.Cut(line, " container "); ok {
				out = append(out, obj)
			}
		}
		return out
	}

	r := fix("--apply", "deployments", "--memory-limit", "384Mi", "--dry-run=client")
	if got := changed(r); r.code != 0 || !slices.Equal(got, []string{"Deployment " + ns + "/a", "Deployment " + ns + "/b", "Deployment " + ns + "/c"}) {
		t.Errorf("deployments: %q\n%s", got, r)
	}
	r = fix("--apply", "-l", "tier=web", "--memory-limit", "384Mi")
	if got := changed(r); r.code != 0 || !slices.Equal(got, []string{"Deployment " + ns + "/a", "Deployment " + ns + "/b", "StatefulSet " + ns + "/s"}) {
		t.Errorf("-l tier=web: %q\n%s", got, r)
	}
	for name, want := range map[string]string{"a": "384Mi", "b": "384Mi", "c": "256Mi"} {
		got, err := cp.Client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil || got.Spec.Template.Spec.Containers[0].Resources.Limits.Memory().String() != want {
			t.Errorf("deployment/%s after -l tier=web: want %s (%v)", name, want, err)
		}
	}
	if r := fix("--apply", "cronjobs", "-l", "tier=web", "--memory-limit", "384Mi", "-o", "json"); r.code != 0 || !strings.Contains(r.stdout, `"objects": []`) || !strings.Contains(r.stdout, `"objects": 0,`) {
		t.Errorf("-o json, no object matching: %s", r)
	}
	r = fix("--apply", "replicasets", "-l", "tier=web", "--memory-limit", "384Mi")
	if r.code != 0 || r.stdout != "" || !strings.Contains(r.stderr, "note: left alone, since a controller owns them and would put their template back (change the owner): replicaset/a-5d (owned by Deployment a)") ||
		!strings.Contains(r.stderr, "no ReplicaSets matching -l tier=web in namespace "+ns+": nothing to change") {
		t.Errorf("an owned ReplicaSet: %s", r)
	}
	// -o yaml: an ApplyReport of every object, one refused (there is no
	// deployment/gone) while the others go on.
	r = fix("--apply", "deployment/a", "deployment/gone", "statefulset/s", "--memory-limit", "448Mi", "--dry-run=server", "-o", "yaml")
	var rep model.ApplyReport
	if err := yaml.UnmarshalStrict([]byte(r.stdout), &rep); err != nil || r.code != 1 {
		t.Fatalf("-o yaml: exit %d, %v\n%s", r.code, err, r)
	}
	wantSummary := model.ApplySummary{Objects: 3, DryRun: 2, Refused: 1}
	if rep.Kind != "ApplyReport" || rep.APIVersion != "oomdoctor.io/v1alpha1" || rep.Metadata.DryRun != "server" || rep.Metadata.Source.Server == "" || rep.Summary != wantSummary {
		t.Errorf("-o yaml: %+v", rep)
	}
	if len(rep.Objects) == 3 {
		a, gone := rep.Objects[0], rep.Objects[1]
		want := model.ApplyChange{Container: "app", Change: "memory limit 384Mi → 448Mi", Setting: "memory limit", From: "384Mi", To: "448Mi"}
		if a.Name != "a" || a.Outcome != "dryRun" || len(a.Changes) != 1 || a.Changes[0] != want || a.Error != "" {
			t.Errorf("-o yaml: deployment/a: %+v", a)
		}
		if gone.Name != "gone" || gone.Outcome != "refused" || !strings.Contains(gone.Error, `deployments.apps "gone" not found`) || len(gone.Changes) != 0 {
			t.Errorf("-o yaml: deployment/gone: %+v", gone)
		}
		if s := rep.Objects[2]; s.Kind != "StatefulSet" || s.Outcome != "dryRun" {
			t.Errorf("-o yaml: statefulset/s: %+v", s)
		}
	}
	if r := oomdoctor(t, "fix", "--kubeconfig", cp.Kubeconfig, "--apply", "-A", "--memory-limit", "384Mi"); r.code != 2 || !strings.Contains(r.stderr, "-A needs a TYPE (deployments) or -l SELECTOR") {
		t.Errorf("-A alone: %s", r)
	}
	// Every namespace's, with -A (the other tests label nothing tier=web).
	r = oomdoctor(t, "fix", "--kubeconfig", cp.Kubeconfig, "--apply", "-A", "-l", "tier=web", "--memory-limit", "320Mi", "--dry-run=client")
	if got := changed(r); r.code != 0 || !slices.Equal(got, []string{"Deployment " + ns + "/a", "Deployment " + ns + "/b", "StatefulSet " + ns + "/s"}) {
		t.Errorf("-A -l tier=web: %q\n%s", got, r)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--apply", "-A", "deployment/a", "--memory-limit", "384Mi"}, "deployment/a names an object: -A lists every namespace's objects of a TYPE or -l"},
		{[]string{"--apply", "-A", "deployments", "--memory-limit", "384Mi"}, "-A and -n exclude each other"},
		{[]string{"-f", "-", "-A", "--memory-limit", "384Mi"}, "-A lists live objects for --apply"},
		{[]string{"--apply", "deployment/a", "-l", "tier=web", "--memory-limit", "384Mi"}, "deployment/a names an object and -l selects them"},
		{[]string{"-f", "-", "-l", "tier=web", "--memory-limit", "384Mi"}, "-l selects live objects for --apply"},
		{[]string{"-f", "-", "--memory-limit", "384Mi", "-o", "json"}, "-o json goes with --apply"},
		{[]string{"--apply", "deployment/a", "--memory-limit", "384Mi", "-o", "wide"}, `-o "wide": want json or yaml`},
		{[]string{"--apply", "-l", "tier in ((", "--memory-limit", "384Mi"}, `-l "tier in ((":`},
		{[]string{"--apply", "pods", "--memory-limit", "384Mi"}, `"pods" is neither TYPE/NAME (deployment/api) nor a TYPE (deployments): a bare pod's resources cannot be patched`},
	} {
		if r := fix(tc.args...); r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%q: want usage error %q: %s", tc.args, tc.want, r)
		}
	}
}

// --parallel changes several objects at once, each of its lines on stderr
// begun by the object's name; one refused does not stop the others, and
// after a change whose rollout fails (here no controller rolls anything
// out, so --timeout passes) no other object is started.
func TestFixApplyParallel(t *testing.T) {
	ctx := context.Background()
	ns := "fix-parallel"
	if _, err := cp.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b", "c", "d"} {
		if _, err := cp.Client.AppsV1().Deployments(ns).Create(ctx, oneContainer(name, "256Mi"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	fix := func(args ...string) result {
		return oomdoctor(t, append([]string{"fix", "--kubeconfig", cp.Kubeconfig, "-n", ns, "--apply"}, args...)...)
	}
	r := fix("--parallel", "3", "--wait=false", "--memory-limit", "384Mi", "deployment/a", "deployment/gone", "deployment/b", "deployment/c", "-o", "json")
	var rep model.ApplyReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || r.code != 1 {
		t.Fatalf("exit %d, %v\n%s", r.code, err, r)
	}
	if want := (model.ApplySummary{Objects: 4, Changed: 3, Refused: 1}); rep.Summary != want {
		t.Errorf("summary %+v, want %+v\n%s", rep.Summary, want, r)
	}
	for i, name := range []string{"a", "gone", "b", "c"} {
		if rep.Objects[i].Name != name {
			t.Errorf("object %d is %s, want %s: the report keeps the order given", i, rep.Objects[i].Name, name)
		}
	}
	if !strings.Contains(r.stderr, "["+ns+"/deployment/gone]   error: ") || !strings.Contains(r.stderr, "1 object of 4 not changed (said above): deployment/gone") {
		t.Errorf("the refused object:\n%s", r.stderr)
	}
	for _, line := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		if !strings.HasPrefix(line, "["+ns+"/deployment/") && !strings.HasPrefix(line, "error: ") {
			t.Errorf("a line not begun by its object's name: %q", line)
		}
	}
	for _, name := range []string{"a", "b", "c"} {
		got, err := cp.Client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil || got.Spec.Template.Spec.Containers[0].Resources.Limits.Memory().String() != "384Mi" {
			t.Errorf("deployment/%s: want 384Mi (%v)", name, err)
		}
	}

	// From recommendations, which every object reads at once.
	item := func(name string, limit int) string {
		return fmt.Sprintf(`{"workload": {"namespace": %q, "kind": "Deployment", "name": %q}, "container": "app", "memoryRequestBytes": %d, "memoryLimitBytes": %d}`, ns, name, limit<<20, limit<<20)
	}
	doc := `{"apiVersion": "oomdoctor.io/v1alpha1", "kind": "Recommendations", "items": [` + item("a", 400) + ", " + item("b", 400) + ", " + item("c", 400) + `]}`
	r = oomdoctorIn(t, doc, "fix", "--kubeconfig", cp.Kubeconfig, "-n", ns, "--apply", "--parallel", "3", "--recommendations", "-", "--wait=false")
	if r.code != 0 || strings.Count(r.stdout, "memory limit 384Mi → 400Mi (recommended)") != 3 {
		t.Errorf("from recommendations: %s", r)
	}

	// Two at once, both rollouts time out: the other two are never
	// started, and the error names them.
	r = fix("--parallel", "2", "--timeout", "2s", "--observe", "0", "--memory-limit", "448Mi", "deployment/a", "deployment/b", "deployment/c", "deployment/d")
	// a and b went from 400Mi.
	if r.code != 1 || strings.Count(r.stderr, "did not finish within 2s") != 2 || r.stdout != "Deployment "+ns+"/a container app: memory limit 400Mi → 448Mi\nDeployment "+ns+"/b container app: memory limit 400Mi → 448Mi\n" && r.stdout != "Deployment "+ns+"/b container app: memory limit 400Mi → 448Mi\nDeployment "+ns+"/a container app: memory limit 400Mi → 448Mi\n" ||
		!strings.Contains(r.stderr, "(stopped: 2 objects not looked at: deployment/c, deployment/d)") {
		t.Errorf("failed rollouts:\n%s", r)
	}
	for name, want := range map[string]string{"a": "448Mi", "b": "448Mi", "c": "400Mi", "d": "256Mi"} {
		got, err := cp.Client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil || got.Spec.Template.Spec.Containers[0].Resources.Limits.Memory().String() != want {
			t.Errorf("deployment/%s after the failed rollouts: want %s (%v)", name, want, err)
		}
	}
}
