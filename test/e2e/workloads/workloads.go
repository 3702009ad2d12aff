// Package workloads defines the pods the end-to-end tests run on a real
// kubelet to get containers killed for real, one function per scenario.
// The e2e tests and `make examples` share them.
package workloads

import (
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/oomdoctor/oomdoctor/test/cluster"
)

// memory gives a container a memory request and limit (and a small CPU
// request, so pods are Burstable as most are).
func memory(request, limit string) corev1.ResourceRequirements {
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(request), corev1.ResourceCPU: resource.MustParse("10m")},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(limit)},
	}
}

// app is a container running the test program with arguments.
func app(name string, res corev1.ResourceRequirements, args ...string) corev1.Container {
	return corev1.Container{
		Name: name, Image: cluster.TestImage, ImagePullPolicy: corev1.PullNever,
		Command: append([]string{"/testapp"}, args...), Resources: res,
	}
}

// spec is a pod spec for the test node: host network (the loopback CNI
// gives pods no IP) and a short grace period.
func spec(containers ...corev1.Container) corev1.PodSpec {
	return corev1.PodSpec{
		HostNetwork:                   true,
		TerminationGracePeriodSeconds: ptr.To[int64](1),
		Containers:                    containers,
	}
}

func pod(ns, name string, s corev1.PodSpec) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": name}}, Spec: s}
}

// Hog is a Deployment whose container allocates 200 MiB under a 64Mi
// limit: OOMKilled, restarted, then CrashLoopBackOff.
func Hog(ns string) *appsv1.Deployment {
	return deployment(ns, "hog", spec(app("hog", memory("32Mi", "64Mi"), "-alloc", "200", "-pace", "100")))
}

// deployment is a Deployment of one replica whose pods are labeled
// app=NAME.
func deployment(ns, name string, s corev1.PodSpec) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: s},
		},
	}
}

// InitHog is a pod whose init container allocates 200 MiB under a 64Mi
// limit: the pod never starts.
func InitHog(ns string) *corev1.Pod {
	s := spec(app("main", memory("16Mi", "32Mi")))
	s.InitContainers = []corev1.Container{app("migrate", memory("32Mi", "64Mi"), "-alloc", "200", "-pace", "100")}
	return pod(ns, "init-hog", s)
}

// ChildKill is a pod whose main process runs a child that allocates 200 MiB
// under a 64Mi limit. On cgroup v1 the kernel kills only the child; PID 1
// goes on and the pod status shows nothing.
func ChildKill(ns string) *corev1.Pod {
	return pod(ns, "child-kill", spec(app("worker", memory("32Mi", "64Mi"), "-child", "200", "-pace", "100")))
}

// SidecarHolder is a pod with a native sidecar that holds 40 MiB of its
// 64Mi, and an app container that allocates 200 MiB under its 64Mi limit:
// the app is the one killed.
func SidecarHolder(ns string) *corev1.Pod {
	sidecar := app("cache-sidecar", memory("48Mi", "64Mi"), "-alloc", "40")
	sidecar.RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
	s := spec(app("app", memory("32Mi", "64Mi"), "-alloc", "200", "-pace", "100"))
	s.InitContainers = []corev1.Container{sidecar}
	return pod(ns, "sidecar-holder", s)
}

// TmpfsFiller is a pod whose container writes 200 MiB into a memory-backed
// emptyDir (sizeLimit 256Mi) under a 64Mi limit: tmpfs pages are charged to
// the container, which is OOM-killed.
func TmpfsFiller(ns string) *corev1.Pod {
	c := app("writer", memory("32Mi", "64Mi"), "-tmpfs", "/scratch", "-tmpfs-mib", "200", "-pace", "100")
	c.VolumeMounts = []corev1.VolumeMount{{Name: "scratch", MountPath: "/scratch"}}
	s := spec(c)
	s.Volumes = []corev1.Volume{{Name: "scratch", VolumeSource: corev1.VolumeSource{
		EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory, SizeLimit: ptr.To(resource.MustParse("256Mi"))},
	}}}
	return pod(ns, "tmpfs-filler", s)
}

// ProbeKilled is a pod whose liveness probe always fails and whose process
// ignores SIGTERM: the kubelet kills it with SIGKILL (exit 137), which is
// not an OOM kill.
func ProbeKilled(ns string) *corev1.Pod {
	c := app("web", memory("16Mi", "64Mi"), "-ignore-sigterm")
	c.LivenessProbe = &corev1.Probe{
		ProbeHandler:     corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"/testapp", "-exit", "1"}}},
		PeriodSeconds:    2,
		FailureThreshold: 1,
	}
	return pod(ns, "probe-killed", spec(c))
}

// RuntimeOutOfMemory is a pod whose two containers' runtimes run out of
// their own memory, far under their 256Mi limits, and exit; no kernel
// kill. "jvm" runs the host's JDK (mounted read-only from /usr) on
// classes, a folder holding Hog.class, with -Xmx16m: an OutOfMemoryError,
// exit code 1, whose log's end the kubelet writes into its termination
// message (FallbackToLogsOnError). "go" is the test program refused
// memory 32 MiB on (RLIMIT_AS): the Go runtime's "out of memory", exit
// code 2, then the stacks of its 60 goroutines, which only its log keeps.
func RuntimeOutOfMemory(ns, classes string) *corev1.Pod {
	jvm := corev1.Container{
		Name: "jvm", Image: cluster.TestImage, ImagePullPolicy: corev1.PullNever, Resources: memory("32Mi", "256Mi"),
		Command:                  []string{JavaHome + "/bin/java", "-Xmx16m", "-Xshare:off", "-XX:TieredStopAtLevel=1", "-cp", "/classes", "Hog"},
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
		VolumeMounts: []corev1.VolumeMount{
			{Name: "usr", MountPath: "/usr", ReadOnly: true}, {Name: "lib", MountPath: "/lib", ReadOnly: true},
			{Name: "lib64", MountPath: "/lib64", ReadOnly: true}, {Name: "classes", MountPath: "/classes", ReadOnly: true},
		},
	}
	goApp := app("go", memory("32Mi", "256Mi"), "-goroutines", "60", "-refuse-after", "32", "-alloc", "200")
	s := spec(jvm, goApp)
	host := func(name, path string) corev1.Volume {
		return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: path}}}
	}
	s.Volumes = []corev1.Volume{host("usr", "/usr"), host("lib", "/usr/lib"), host("lib64", "/usr/lib64"), host("classes", classes)}
	return pod(ns, "runtime-oom", s)
}

// JavaHome is the host's JDK (make deps installs openjdk-17-jdk-headless).
const JavaHome = "/usr/lib/jvm/java-17-openjdk-amd64"

// GoService is a Deployment whose Go program takes GOMEMLIMIT from a
// ConfigMap (envFrom) under a 1Gi limit, and that ConfigMap: 900MiB, what
// a limit lowered to 512Mi leaves no room for.
func GoService(ns string) (*corev1.ConfigMap, *appsv1.Deployment) {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gosvc-env"}, Data: map[string]string{"GOMEMLIMIT": "900MiB", "LOG_LEVEL": "info"}}
	c := app("svc", memory("128Mi", "1Gi"), "-alloc", "20")
	c.EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: cm.Name}}}}
	return cm, deployment(ns, "gosvc", spec(c))
}

// GoUnbounded is a Deployment of the test program as a Go service run
// without GOMEMLIMIT (GOGC set, as lint tells Go by), under 1Gi.
func GoUnbounded(ns string) *appsv1.Deployment {
	c := app("svc", memory("128Mi", "1Gi"), "-alloc", "20")
	c.Env = []corev1.EnvVar{{Name: "GOGC", Value: "100"}, {Name: "LOG_LEVEL", Value: "info"}}
	return deployment(ns, "gounbounded", spec(c))
}

// Holder is a Deployment whose container holds 100 MiB under a 256Mi
// limit, and runs: a limit lowered to 64Mi kills its new pods, at once,
// or with pace (MiB a second) some seconds after they start. Its pods
// are available once ready for minReady seconds.
func Holder(ns, name string, minReady int32, pace int) *appsv1.Deployment {
	d := deployment(ns, name, spec(app("app", memory("128Mi", "256Mi"), "-alloc", "100", "-pace", strconv.Itoa(pace))))
	d.Spec.MinReadySeconds = minReady
	return d
}

// HolderSet is Holder as a StatefulSet of one replica.
func HolderSet(ns, name string) *appsv1.StatefulSet {
	d := Holder(ns, name, 0, 0)
	return &appsv1.StatefulSet{
		ObjectMeta: d.ObjectMeta,
		Spec:       appsv1.StatefulSetSpec{Replicas: d.Spec.Replicas, ServiceName: name, Selector: d.Spec.Selector, Template: d.Spec.Template},
	}
}

// HolderDaemon is Holder as a DaemonSet.
func HolderDaemon(ns, name string) *appsv1.DaemonSet {
	d := Holder(ns, name, 0, 0)
	return &appsv1.DaemonSet{ObjectMeta: d.ObjectMeta, Spec: appsv1.DaemonSetSpec{Selector: d.Spec.Selector, Template: d.Spec.Template}}
}
