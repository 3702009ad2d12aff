package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/oomdoctor/oomdoctor/test/cluster"
)

type loadStats struct{ pods, killed, replicaSets, jobs int }

// group is a set of pods with one owner.
type group struct {
	ns, kind, name string
	owner          metav1.OwnerReference
	size           int
}

// load writes namespaces, workloads and pods that look like what a kubelet
// and the controllers leave in a real cluster: pod specs with a service
// account volume, probes, env and tolerations, statuses with container
// states, and managedFields from the status writes.
func load(ctx context.Context, cp *cluster.ControlPlane, pods, namespaces int, killed float64, workers int) (loadStats, error) {
	c := cp.Client
	var st loadStats
	perNS := pods / namespaces
	var groups []group
	for i := 0; i < namespaces; i++ {
		ns := fmt.Sprintf("team-%03d", i)
		if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			return st, err
		}
		// Per namespace: two Deployments (40% and 30% of the pods), a
		// StatefulSet (15%), a CronJob's Jobs (10%), bare pods (the rest).
		sizes := []int{perNS * 40 / 100, perNS * 30 / 100, perNS * 15 / 100, perNS * 10 / 100}
		rest := perNS - sizes[0] - sizes[1] - sizes[2] - sizes[3]
		for j, kind := range []string{"Deployment", "Deployment", "StatefulSet", "CronJob"} {
			name := fmt.Sprintf("%s-%d", strings.ToLower(kind), j)
			g, n, err := owner(ctx, c, ns, kind, name, sizes[j])
			if err != nil {
				return st, err
			}
			st.replicaSets += n.replicaSets
			st.jobs += n.jobs
			groups = append(groups, g...)
		}
		for k := 0; k < rest; k++ {
			groups = append(groups, group{ns: ns, kind: "Pod", name: fmt.Sprintf("tool-%d", k), size: 1})
		}
	}
	type job struct {
		g     group
		index int
		kill  bool
	}
	jobs := make(chan job)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if err := writePod(ctx, c, j.g, j.index, j.kill); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	every := int(1 / killed)
	n := 0
feed:
	for _, g := range groups {
		for i := 0; i < g.size; i++ {
			kill := n%every == every/2
			if kill {
				st.killed++
			}
			select {
			case jobs <- job{g, i, kill}:
			case err := <-errs:
				close(jobs)
				wg.Wait()
				return st, err
			}
			n++
			if n%1000 == 0 {
				fmt.Printf("\r%d pods", n)
			}
			if n >= pods {
				break feed
			}
		}
	}
	close(jobs)
	wg.Wait()
	fmt.Println()
	select {
	case err := <-errs:
		return st, err
	default:
	}
	st.pods = n
	return st, nil
}

type ownerCounts struct{ replicaSets, jobs int }

func owner(ctx context.Context, c kubernetes.Interface, ns, kind, name string, size int) ([]group, ownerCounts, error) {
	var oc ownerCounts
	labels := map[string]string{"app": name}
	tmpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: podSpec(name)}
	ref := func(apiVersion, kind, name string, uid types.UID) metav1.OwnerReference {
		return metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: name, UID: uid, Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}
	}
	switch kind {
	case "Deployment":
		d, err := c.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       appsv1.DeploymentSpec{Replicas: ptr.To(int32(size)), Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: tmpl},
		}, metav1.CreateOptions{})
		if err != nil {
			return nil, oc, err
		}
		// An old revision with no pods and the current one, as a
		// Deployment keeps them.
		var out []group
		for i, hash := range []string{"5d8f7c6b9", "7b9c8d6f5"} {
			rsLabels := map[string]string{"app": name, "pod-template-hash": hash}
			rt := *tmpl.DeepCopy()
			rt.Labels = rsLabels
			rs, err := c.AppsV1().ReplicaSets(ns).Create(ctx, &appsv1.ReplicaSet{
				ObjectMeta: metav1.ObjectMeta{Name: name + "-" + hash, Labels: rsLabels, OwnerReferences: []metav1.OwnerReference{ref("apps/v1", "Deployment", name, d.UID)}},
				Spec:       appsv1.ReplicaSetSpec{Replicas: ptr.To(int32(size * i)), Selector: &metav1.LabelSelector{MatchLabels: rsLabels}, Template: rt},
			}, metav1.CreateOptions{})
			if err != nil {
				return nil, oc, err
			}
			oc.replicaSets++
			if i == 1 {
				out = append(out, group{ns: ns, kind: "ReplicaSet", name: rs.Name, owner: ref("apps/v1", "ReplicaSet", rs.Name, rs.UID), size: size})
			}
		}
		return out, oc, nil
	case "StatefulSet":
		s, err := c.AppsV1().StatefulSets(ns).Create(ctx, &appsv1.StatefulSet{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       appsv1.StatefulSetSpec{Replicas: ptr.To(int32(size)), ServiceName: name, Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: tmpl},
		}, metav1.CreateOptions{})
		if err != nil {
			return nil, oc, err
		}
		return []group{{ns: ns, kind: "StatefulSet", name: name, owner: ref("apps/v1", "StatefulSet", name, s.UID), size: size}}, oc, nil
	case "CronJob":
		jt := tmpl
		jt.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
		cj, err := c.BatchV1().CronJobs(ns).Create(ctx, &batchv1.CronJob{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       batchv1.CronJobSpec{Schedule: "*/30 * * * *", JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: jt}}},
		}, metav1.CreateOptions{})
		if err != nil {
			return nil, oc, err
		}
		var out []group
		for i := 0; i < size; i++ {
			jobName := fmt.Sprintf("%s-%d", name, 29400000+i*30)
			jt := *jt.DeepCopy()
			jt.Labels = map[string]string{"app": name, "batch.kubernetes.io/job-name": jobName}
			j, err := c.BatchV1().Jobs(ns).Create(ctx, &batchv1.Job{
				ObjectMeta: metav1.ObjectMeta{Name: jobName, OwnerReferences: []metav1.OwnerReference{ref("batch/v1", "CronJob", name, cj.UID)}},
				Spec:       batchv1.JobSpec{Template: jt, ManualSelector: ptr.To(false)},
			}, metav1.CreateOptions{})
			if err != nil {
				return nil, oc, err
			}
			oc.jobs++
			out = append(out, group{ns: ns, kind: "Job", name: jobName, owner: ref("batch/v1", "Job", jobName, j.UID), size: 1})
		}
		return out, oc, nil
	}
	return nil, oc, fmt.Errorf("unknown kind %s", kind)
}

func podSpec(app string) corev1.PodSpec {
	r := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")},
	}
	probe := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}}, PeriodSeconds: 10}
	return corev1.PodSpec{
		ServiceAccountName: "default",
		Containers: []corev1.Container{
			{Name: "app", Image: "registry.example/" + app + ":1.2.3", Resources: r, LivenessProbe: probe, ReadinessProbe: probe,
				Ports:        []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
				Env:          []corev1.EnvVar{{Name: "LOG_LEVEL", Value: "info"}, {Name: "GOMEMLIMIT", Value: "450MiB"}, {Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}},
				VolumeMounts: []corev1.VolumeMount{{Name: "kube-api-access", MountPath: "/var/run/secrets/kubernetes.io/serviceaccount", ReadOnly: true}}},
			{Name: "proxy", Image: "registry.example/envoy:1.31", Resources: r},
		},
		Volumes: []corev1.Volume{{Name: "kube-api-access", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr.To[int64](3607)}},
			{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"}, Items: []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}},
		}}}}},
		Tolerations: []corev1.Toleration{
			{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](300)},
			{Key: "node.kubernetes.io/unreachable", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](300)},
		},
	}
}

func writePod(ctx context.Context, c kubernetes.Interface, g group, i int, kill bool) error {
	name := g.name
	switch g.kind {
	case "ReplicaSet":
		name = fmt.Sprintf("%s-%05x", g.name, i)
	case "StatefulSet":
		name = fmt.Sprintf("%s-%d", g.name, i)
	case "Job":
		name = g.name + "-x7k2p"
	}
	spec := podSpec(g.name)
	spec.NodeName = fmt.Sprintf("node-%02d", len(name)%40)
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: g.ns, Name: name, Labels: map[string]string{"app": g.name}}, Spec: spec}
	if g.kind != "Pod" {
		p.OwnerReferences = []metav1.OwnerReference{g.owner}
	}
	created, err := c.CoreV1().Pods(g.ns).Create(ctx, p, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("creating pod %s/%s: %w", g.ns, name, err)
	}
	started := metav1.NewTime(time.Now().Add(-3 * time.Hour).Truncate(time.Second))
	st := &created.Status
	st.Phase, st.HostIP, st.PodIP, st.StartTime = corev1.PodRunning, "10.0.0.7", "10.244.3.17", &started
	st.HostIPs, st.PodIPs = []corev1.HostIP{{IP: "10.0.0.7"}}, []corev1.PodIP{{IP: "10.244.3.17"}}
	for _, t := range []corev1.PodConditionType{corev1.PodReadyToStartContainers, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady, corev1.PodScheduled} {
		st.Conditions = append(st.Conditions, corev1.PodCondition{Type: t, Status: corev1.ConditionTrue, LastTransitionTime: started})
	}
	for _, ctr := range spec.Containers {
		cs := corev1.ContainerStatus{
			Name: ctr.Name, Image: ctr.Image, ImageID: ctr.Image + "@sha256:" + strings.Repeat("ab", 32),
			ContainerID: "containerd://" + strings.Repeat("cd", 32), Ready: true, Started: ptr.To(true),
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}},
		}
		if kill && ctr.Name == "app" {
			cs.RestartCount = 3
			cs.LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				Reason: "OOMKilled", ExitCode: 137, StartedAt: started, FinishedAt: metav1.NewTime(started.Add(2 * time.Hour)),
				ContainerID: "containerd://" + strings.Repeat("ef", 32),
			}}
		}
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
	}
	if _, err := c.CoreV1().Pods(g.ns).UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("writing the status of %s/%s: %w", g.ns, name, err)
	}
	return nil
}
