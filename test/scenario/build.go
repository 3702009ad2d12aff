package scenario

import (
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// res builds requirements: memory request and limit ("" leaves one out),
// with a CPU request so pods are Burstable unless guaranteed is set.
func res(memReq, memLim string) corev1.ResourceRequirements {
	r := corev1.ResourceRequirements{Requests: corev1.ResourceList{}, Limits: corev1.ResourceList{}}
	r.Requests[corev1.ResourceCPU] = resource.MustParse("100m")
	if memReq != "" {
		r.Requests[corev1.ResourceMemory] = resource.MustParse(memReq)
	}
	if memLim != "" {
		r.Limits[corev1.ResourceMemory] = resource.MustParse(memLim)
	}
	return r
}

// guaranteed builds requirements with requests equal to limits.
func guaranteed(cpu, mem string) corev1.ResourceRequirements {
	l := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)}
	return corev1.ResourceRequirements{Requests: l.DeepCopy(), Limits: l}
}

func container(name, image string, r corev1.ResourceRequirements) corev1.Container {
	return corev1.Container{Name: name, Image: image, Resources: r}
}

func podSpec(node string, containers ...corev1.Container) corev1.PodSpec {
	return corev1.PodSpec{NodeName: node, Containers: containers}
}

func controllerRef(apiVersion, kind, name string, uid string) []metav1.OwnerReference {
	return []metav1.OwnerReference{{APIVersion: apiVersion, Kind: kind, Name: name, UID: typesUID(uid), Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}}
}

func template(labels map[string]string, spec corev1.PodSpec) corev1.PodTemplateSpec {
	spec.NodeName = ""
	return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec}
}

func deployment(ns, name string, replicas int32, labels map[string]string, spec corev1.PodSpec) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: template(labels, spec),
		},
	}
}

func replicaSet(d *appsv1.Deployment, hash string) *appsv1.ReplicaSet {
	labels := map[string]string{"pod-template-hash": hash}
	for k, v := range d.Spec.Template.Labels {
		labels[k] = v
	}
	tmpl := *d.Spec.Template.DeepCopy()
	tmpl.Labels = labels
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: d.Namespace, Name: d.Name + "-" + hash, Labels: labels,
			OwnerReferences: controllerRef("apps/v1", "Deployment", d.Name, string(d.UID)),
		},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: d.Spec.Replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: tmpl,
		},
	}
}

func statefulSet(ns, name string, replicas int32, labels map[string]string, spec corev1.PodSpec) *appsv1.StatefulSet {
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec: appsv1.StatefulSetSpec{
			Replicas:    ptr.To(replicas),
			ServiceName: name,
			Selector:    &metav1.LabelSelector{MatchLabels: labels},
			Template:    template(labels, spec),
		},
	}
}

func daemonSet(ns, name string, labels map[string]string, spec corev1.PodSpec) *appsv1.DaemonSet {
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: template(labels, spec),
		},
	}
}

func cronJob(ns, name, schedule string, labels map[string]string, spec corev1.PodSpec) *batchv1.CronJob {
	spec.RestartPolicy = corev1.RestartPolicyOnFailure
	return &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: batchv1.CronJobSpec{
			Schedule: schedule,
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{
				Template: template(labels, spec),
			}},
		},
	}
}

func jobFor(cj *batchv1.CronJob, suffix string) *batchv1.Job {
	tmpl := *cj.Spec.JobTemplate.Spec.Template.DeepCopy()
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: cj.Namespace, Name: cj.Name + "-" + suffix,
			OwnerReferences: controllerRef("batch/v1", "CronJob", cj.Name, string(cj.UID)),
		},
		Spec: batchv1.JobSpec{Template: tmpl, ManualSelector: ptr.To(false)},
	}
}

func running(at metav1.Time) corev1.ContainerState {
	return corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: at}}
}

func waiting(reason, msg string) corev1.ContainerState {
	return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}
}

func terminated(reason string, code int32, started, finished metav1.Time) corev1.ContainerState {
	return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
		Reason: reason, ExitCode: code, StartedAt: started, FinishedAt: finished, ContainerID: "containerd://" + fakeID(reason, finished),
	}}
}

func intstrFromInt(i int) intstr.IntOrString { return intstr.FromInt32(int32(i)) }
