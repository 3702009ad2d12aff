package source

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The ConfigMaps a diagnosis reads: those env comes from, and those
// mounted where Redis reads a config file (which may set maxmemory); not
// every mounted one (a projected volume's ConfigMaps too).
func TestConfigMapRefs(t *testing.T) {
	vol := func(name, cm string) corev1.Volume {
		return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: cm}}}}
	}
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop"}, Spec: corev1.PodSpec{
		Containers: []corev1.Container{
			{Name: "redis", Image: "redis:7.4", Command: []string{"redis-server", "/conf/redis.conf"}, VolumeMounts: []corev1.VolumeMount{{Name: "conf", MountPath: "/conf"}}},
			{Name: "app", Image: "example/app", EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "app-env"}}}},
				VolumeMounts: []corev1.VolumeMount{{Name: "dashboards", MountPath: "/d"}}},
			{Name: "plain-redis", Image: "redis:7.4", Args: []string{"--maxmemory", "1gb"}, VolumeMounts: []corev1.VolumeMount{{Name: "dashboards", MountPath: "/d"}}},
			{Name: "replica", Image: "redis:7.4", Command: []string{"redis-server", "/all/replica.conf"}, VolumeMounts: []corev1.VolumeMount{{Name: "all", MountPath: "/all"}}},
		},
		Volumes: []corev1.Volume{vol("conf", "redis-conf"), vol("dashboards", "dashboards"), {Name: "all", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
			{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "replica-conf"}}},
		}}}}},
	}}
	var got []string
	for _, k := range ConfigMapRefs(p) {
		got = append(got, k.Namespace+"/"+k.Name)
	}
	if want := []string{"shop/redis-conf", "shop/app-env", "shop/replica-conf"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
