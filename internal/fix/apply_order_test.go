package fix

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/oomdoctor/oomdoctor/internal/manifest"
)

// perContainer gives each named container its own target.
type perContainer map[string]Target

func (p perContainer) For(*manifest.Workload) (map[string]Target, error) { return p, nil }

// limits is a container's resources of a memory limit q.
func limits(q string) corev1.ResourceRequirements {
	return corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(q)}}
}

// from is a container's envFrom of one ConfigMap.
func from(name string) []corev1.EnvFromSource {
	return []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}}}}
}

// Apply changes a setting that falls before the workload, and one that
// rises (GOMEMLIMIT after a higher limit) only once the new limit has
// rolled out, then restarts the pods to read it.
func TestApplyOrdersConfigMapChanges(t *testing.T) {
	ctx := context.Background()
	objects := func() []runtime.Object {
		return []runtime.Object{
			&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: "shop"}, Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](1),
				Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{
					{Name: "go", Image: "api", EnvFrom: from("go-env"), Resources: limits("1Gi")},
					{Name: "jvm", Image: "eclipse-temurin:21", EnvFrom: from("jvm-env"), Resources: limits("2Gi")},
				}}}},
				Status: appsv1.DeploymentStatus{Replicas: 1, UpdatedReplicas: 1, AvailableReplicas: 1}},
			&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "go-env", Namespace: "shop"}, Data: map[string]string{"GOMEMLIMIT": "900MiB"}},
			&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "jvm-env", Namespace: "shop"}, Data: map[string]string{"JAVA_TOOL_OPTIONS": "-Xmx1800m"}},
		}
	}
	bytes := func(q string) *int64 { v := resource.MustParse(q); return ptr.To(v.Value()) }
	target := ApplyTarget{Kind: "Deployment", Namespace: "shop", Name: "api"}
	run := func(values Values, opts ApplyOptions) ([]string, *ApplyResult, error) {
		c := fake.NewClientset(objects()...)
		var made []string
		c.PrependReactor("patch", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
			p := a.(k8stesting.PatchActionImpl)
			if len(p.PatchOptions.DryRun) > 0 {
				return true, nil, nil // the server's check: nothing changes
			}
			what := p.GetResource().Resource + "/" + p.Name
			if strings.Contains(string(p.Patch), restartedAt) {
				what += " restart"
			}
			made = append(made, what)
			return false, nil, nil
		})
		opts.SkipPodCheck, opts.ConfigMaps, opts.Timeout = true, true, 10*time.Second
		res, err := Apply(ctx, c, target, values, opts)
		return made, res, err
	}

	// Both: the JVM's heap falls with its limit, GOMEMLIMIT rises.
	both := perContainer{"go": {Limit: bytes("2Gi")}, "jvm": {Limit: bytes("1Gi")}}
	made, res, err := run(both, ApplyOptions{Wait: true})
	if want := "configmaps/jvm-env, deployments/api, configmaps/go-env, deployments/api restart"; err != nil || strings.Join(made, ", ") != want {
		t.Fatalf("changes made: %q, want %q (%v)", made, want, err)
	}
	var told []string
	for _, c := range res.Changes {
		told = append(told, c.Container+": "+c.What)
	}
	if got := strings.Join(told, "\n"); !strings.HasPrefix(got, "jvm: -Xmx1800m → ") || !strings.HasSuffix(got, "go: GOMEMLIMIT=900MiB → GOMEMLIMIT=1843MiB in GOMEMLIMIT, so the heap fits the new limit (in ConfigMap go-env key GOMEMLIMIT)") || len(told) != 4 {
		t.Errorf("changes told, in the order made:\n%s", got)
	}
	last := res.Changes[len(res.Changes)-1]
	if last.ConfigMap != "go-env" || last.Key != "GOMEMLIMIT" || last.Setting != "GOMEMLIMIT" || last.From != "GOMEMLIMIT=900MiB" || last.To != "GOMEMLIMIT=1843MiB" {
		t.Errorf("the ConfigMap's change for machines: %+v", last)
	}
	if !strings.Contains(strings.Join(res.Notes, "\n"), "the new limit rolls out first, under the old settings; then ConfigMap shop/go-env key GOMEMLIMIT") {
		t.Errorf("notes: %q", res.Notes)
	}

	// Lowered only: the ConfigMap first, no restart.
	made, _, err = run(perContainer{"go": {Limit: bytes("512Mi")}}, ApplyOptions{Wait: true})
	if want := "configmaps/go-env, deployments/api"; err != nil || strings.Join(made, ", ") != want {
		t.Errorf("lowered: changes made %q, want %q (%v)", made, want, err)
	}

	// A rise cannot go without waiting for the rollout: nothing changes.
	made, res, err = run(both, ApplyOptions{})
	if len(made) != 0 || res != nil || err == nil || !strings.Contains(err.Error(), "the new limit raises a setting held in a ConfigMap (ConfigMap shop/go-env key GOMEMLIMIT: GOMEMLIMIT=900MiB → GOMEMLIMIT=1843MiB in GOMEMLIMIT, so the heap fits the new limit), so nothing was changed") {
		t.Errorf("--wait=false: made %q, %v", made, err)
	}
}
