package diagnose

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/oomdoctor/oomdoctor/internal/lint"
	"github.com/oomdoctor/oomdoctor/internal/model"
)

// A runtime-heap cause carries the command that makes lint's fix on the
// live workload (fix --apply --lint, --configmaps when the setting is
// held in one) exactly when lint has an automatic fix for it: the
// command is checked against lint on the same spec.
func TestRuntimeHeapFixCommand(t *testing.T) {
	const base = "oomdoctor fix --apply deployment/cart -n shop --lint"
	envFrom := func(name string) []corev1.EnvFromSource {
		return []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}}}}
	}
	confVolume := corev1.Volume{Name: "conf", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "conf"}}}}
	cms := map[string]*corev1.ConfigMap{
		"jvm":   {ObjectMeta: metav1.ObjectMeta{Name: "jvm"}, Data: map[string]string{"JAVA_TOOL_OPTIONS": "-Xmx900m -XX:+UseG1GC"}},
		"opts":  {ObjectMeta: metav1.ObjectMeta{Name: "opts"}, Data: map[string]string{"JAVA_TOOL_OPTIONS": "-XX:+UseG1GC"}},
		"go":    {ObjectMeta: metav1.ObjectMeta{Name: "go"}, Data: map[string]string{"GOMEMLIMIT": "600MiB"}},
		"conf":  {ObjectMeta: metav1.ObjectMeta{Name: "conf"}, Data: map[string]string{"redis.conf": "maxmemory 1gb\n"}},
		"other": {ObjectMeta: metav1.ObjectMeta{Name: "other"}, Data: map[string]string{"LOG": "info"}},
	}
	for _, tc := range []struct {
		name  string
		limit string
		c     corev1.Container
		vols  []corev1.Volume
		kind  string
		want  string // the command; "" none
	}{
		{"jvm tight", "512Mi", corev1.Container{Image: "eclipse-temurin:17", Args: []string{"java", "-Xmx400m", "-jar", "app.jar"}}, nil, "", base},
		{"jvm Xmx in a ConfigMap", "512Mi", corev1.Container{Image: "eclipse-temurin:17-jre", EnvFrom: envFrom("jvm")}, nil, "", base + " --configmaps"},
		{"a Job cannot change", "512Mi", corev1.Container{Image: "eclipse-temurin:17", Args: []string{"java", "-Xmx400m", "-jar", "app.jar"}}, nil, "Job", ""},
		{"old jdk", "512Mi", corev1.Container{Image: "openjdk:8u151-jre", Command: []string{"java", "-jar", "app.jar"}}, nil, "", base},
		{"old jdk, options in a ConfigMap", "512Mi", corev1.Container{Image: "openjdk:8u151-jre", EnvFrom: envFrom("opts")}, nil, "", base + " --configmaps"},
		{"jvm thread stacks: no rule", "512Mi", corev1.Container{Image: "eclipse-temurin:17", Args: []string{"java", "-Xmx256m", "-Xss4m", "-jar", "app.jar"}}, nil, "", ""},
		{"GOMEMLIMIT above 95%", "512Mi", corev1.Container{Image: "example/api", EnvFrom: envFrom("go")}, nil, "", base + " --configmaps"},
		{"GOMEMLIMIT at 92%: lint lets it be", "512Mi", corev1.Container{Image: "example/api", Env: []corev1.EnvVar{{Name: "GOMEMLIMIT", Value: "470MiB"}}}, nil, "", ""},
		{"no GOMEMLIMIT", "1Gi", corev1.Container{Image: "example/api", Env: []corev1.EnvVar{{Name: "GOGC", Value: "200"}}}, nil, "", base},
		{"no GOMEMLIMIT, small limit", "256Mi", corev1.Container{Image: "example/api", Env: []corev1.EnvVar{{Name: "GOGC", Value: "200"}}}, nil, "", ""},
		{"node heap", "512Mi", corev1.Container{Image: "node:20", Args: []string{"node", "--max-old-space-size=500", "server.js"}}, nil, "", base},
		{"redis maxmemory", "1Gi", corev1.Container{Image: "redis:7.4", Args: []string{"--maxmemory", "1gb"}}, nil, "", base},
		{"redis.conf in a ConfigMap", "1Gi", corev1.Container{Image: "redis:7.4", Args: []string{"/etc/redis/redis.conf"}, VolumeMounts: []corev1.VolumeMount{{Name: "conf", MountPath: "/etc/redis"}}}, []corev1.Volume{confVolume}, "", base + " --configmaps"},
	} {
		c := tc.c
		c.Resources = limits(tc.limit)
		p := pod(c, tc.vols...)
		kind := tc.kind
		if kind == "" {
			kind = "Deployment"
		}
		lim := p.Spec.Containers[0].Resources.Limits.Memory().Value()
		in := &Input{Finding: finding(model.OOMKilled, 128*mi, lim), Pod: p, ConfigMaps: cms, Workload: model.WorkloadRef{Namespace: "shop", Kind: kind, Name: "cart"}}
		cause, _ := runtimeHeap{}.Detect(in)
		if cause == nil {
			t.Errorf("%s: no cause", tc.name)
			continue
		}
		if cause.Fix.Command != tc.want {
			t.Errorf("%s: command %q, want %q", tc.name, cause.Fix.Command, tc.want)
		}
		if kind != "Deployment" {
			continue
		}
		// What fix --apply --lint would do: lint's fixes of the same spec.
		d := appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"}, ObjectMeta: metav1.ObjectMeta{Name: "cart", Namespace: "shop"},
			Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: p.Spec}}}
		docs := []string{}
		for _, obj := range []any{d} {
			b, _ := yaml.Marshal(obj)
			docs = append(docs, string(b))
		}
		for _, cm := range cms {
			cm := cm.DeepCopy()
			cm.APIVersion, cm.Kind, cm.Namespace = "v1", "ConfigMap", "shop"
			b, _ := yaml.Marshal(cm)
			docs = append(docs, string(b))
		}
		rep, err := lint.New(lint.DefaultConfig()).EditConfigMaps().RunFiles([]lint.File{{Name: "cart.yaml", Data: []byte(strings.Join(docs, "---\n"))}})
		if err != nil {
			t.Fatal(err)
		}
		var fixes []string
		for _, f := range rep.Findings {
			if f.Fix != nil {
				fixes = append(fixes, f.Rule)
			}
		}
		if (len(fixes) > 0) != (tc.want != "") {
			t.Errorf("%s: the command is %q, and lint's fixes of the spec are %q", tc.name, tc.want, fixes)
		}
	}
}
