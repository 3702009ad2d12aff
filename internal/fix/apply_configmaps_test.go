package fix

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/oomdoctor/oomdoctor/internal/manifest"
)

// planConfigMapPatches finds the other readers of a key among the
// namespace's workloads and ownerless pods, and refuses two texts for one
// key.
func TestPlanConfigMapPatches(t *testing.T) {
	ctx := context.Background()
	target := ApplyTarget{Kind: "Deployment", Namespace: "shop", Name: "api"}
	cms := ConfigMaps{"shop/jvm": {Object: &manifest.Object{Kind: "ConfigMap", Name: "jvm", Namespace: "shop"}, Data: map[string]string{"JAVA_TOOL_OPTIONS": "-Xmx900m", "OTHER": "x"}, Version: "7"}}
	edit := func(container, value string) ConfigMapEdit {
		return ConfigMapEdit{ConfigMap: "shop/jvm", Key: "JAVA_TOOL_OPTIONS", Edit: manifest.Edit{Op: manifest.OpSet, Path: `data["JAVA_TOOL_OPTIONS"]`, Value: value},
			Change: Change{Container: container, What: "-Xmx900m → " + value}}
	}
	env := func(key string) []corev1.EnvVar {
		return []corev1.EnvVar{{Name: "JAVA_TOOL_OPTIONS", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "jvm"}, Key: key}}}}
	}
	deploy := func(name string, e []corev1.EnvVar, from []corev1.EnvFromSource) *appsv1.Deployment {
		return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop"}, Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app", Env: e, EnvFrom: from}}}}}}
	}
	owned := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "api-1", Namespace: "shop", OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "api-5d", Controller: ptr.To(true)}}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Env: env("JAVA_TOOL_OPTIONS")}}}}
	bare := owned.DeepCopy()
	bare.Name, bare.OwnerReferences = "debug", nil

	for _, tc := range []struct {
		name    string
		objects []runtime.Object
		edits   []ConfigMapEdit
		also    ConfigMapAsks
		want    string // error; "" for success
	}{
		{"alone, its own pods and a reader of another key", []runtime.Object{deploy("api", env("JAVA_TOOL_OPTIONS"), nil), owned, deploy("web", env("OTHER"), nil)}, []ConfigMapEdit{edit("app", "-Xmx600m"), edit("sidecar", "-Xmx600m")}, nil, ""},
		{"another target of the run asks the same", []runtime.Object{deploy("web", env("JAVA_TOOL_OPTIONS"), nil)}, []ConfigMapEdit{edit("app", "-Xmx600m"), edit("sidecar", "-Xmx600m")},
			ConfigMapAsks{"shop/jvm/JAVA_TOOL_OPTIONS": {"-Xmx600m": {"deployment/api", "deployment/web"}}}, ""},
		{"another target of the run asks another text", []runtime.Object{deploy("web", env("JAVA_TOOL_OPTIONS"), nil)}, []ConfigMapEdit{edit("app", "-Xmx600m")},
			ConfigMapAsks{"shop/jvm/JAVA_TOOL_OPTIONS": {"-Xmx600m": {"deployment/api"}, "-Xmx700m": {"deployment/web"}}}, "is read by deployment/web too"},
		{"a bare pod reads it", []runtime.Object{owned, bare}, []ConfigMapEdit{edit("app", "-Xmx600m")}, nil, "ConfigMap shop/jvm key JAVA_TOOL_OPTIONS is read by pod/debug too"},
		{"envFrom reads every key", []runtime.Object{deploy("web", nil, []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "jvm"}}}})}, []ConfigMapEdit{edit("app", "-Xmx600m")}, nil, "is read by deployment/web too"},
		{"a projected volume reads it", []runtime.Object{func() *appsv1.Deployment {
			d := deploy("conf", nil, nil)
			d.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: "all", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "jvm"}}}}}}}}
			return d
		}()}, []ConfigMapEdit{edit("app", "-Xmx600m")}, nil, "is read by deployment/conf too"},
		{"two texts", nil, []ConfigMapEdit{edit("app", "-Xmx600m"), edit("sidecar", "-Xmx500m")}, nil, "read by two containers of deployment/api that need it to say different things"},
	} {
		c := fake.NewClientset(tc.objects...)
		got, err := planConfigMapPatches(ctx, c, target, tc.edits, cms, tc.also)
		switch {
		case tc.want == "" && (err != nil || len(got) != 1 || got[0].new != "-Xmx600m" || got[0].old != "-Xmx900m" || got[0].version != "7" || len(got[0].changes) != 2):
			t.Errorf("%s: %+v, %v", tc.name, got, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: want an error saying %q, got %v", tc.name, tc.want, err)
		}
	}

	// Readers it may not list: nothing is changed.
	c := fake.NewClientset()
	c.PrependReactor("list", "cronjobs", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "batch", Resource: "cronjobs"}, "", nil)
	})
	if _, err := planConfigMapPatches(ctx, c, target, []ConfigMapEdit{edit("app", "-Xmx600m")}, cms, nil); err == nil || !strings.Contains(err.Error(), "cannot tell whether other workloads read the ConfigMaps the new limit needs changed (listing cronjobs in namespace shop: cronjobs.batch is forbidden") {
		t.Errorf("cronjobs forbidden: %v", err)
	}
}
