// Package scenario writes a realistic cluster state with every kind of OOM
// finding into a real API server: workloads and their owners, pods whose
// statuses say what a kubelet would have written, node and pod events. The
// integration tests assert scan's answer on it, and `make examples` captures
// it as the bundled example snapshot.
package scenario

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// Expected is one finding scan must report on the scenario.
type Expected struct {
	Type      string // finding type
	Namespace string
	Workload  string // Kind/name
	Pod       string // "" for node findings
	Container string
}

// Namespaces the scenario writes into.
var Namespaces = []string{"shop", "payments", "monitoring", "tools"}

func typesUID(s string) types.UID { return types.UID(s) }

func fakeID(parts ...any) string {
	h := sha256.Sum256([]byte(fmt.Sprint(parts...)))
	return hex.EncodeToString(h[:])
}

type writer struct {
	ctx context.Context
	c   kubernetes.Interface
	at  time.Time
	err error
}

// ago is a time before the scenario's moment.
func (w *writer) ago(d time.Duration) metav1.Time {
	return metav1.NewTime(w.at.Add(-d).UTC().Truncate(time.Second))
}

// pod creates a pod, then writes its status as the kubelet would.
func (w *writer) pod(ns, name string, labels map[string]string, owner []metav1.OwnerReference, spec corev1.PodSpec, status func(*corev1.PodStatus)) {
	if w.err != nil {
		return
	}
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels, OwnerReferences: owner}, Spec: spec}
	created, err := w.c.CoreV1().Pods(ns).Create(w.ctx, p, metav1.CreateOptions{})
	if err != nil {
		w.err = fmt.Errorf("creating pod %s/%s: %w", ns, name, err)
		return
	}
	st := &created.Status
	st.Phase = corev1.PodRunning
	st.HostIP = "10.0.0.1"
	st.StartTime = ptr.To(w.ago(6 * time.Hour))
	st.Conditions = []corev1.PodCondition{
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: w.ago(6 * time.Hour)},
		{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: w.ago(6 * time.Hour)},
		{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: w.ago(5 * time.Hour)},
		{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: w.ago(5 * time.Hour)},
	}
	for _, c := range spec.Containers {
		st.ContainerStatuses = append(st.ContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: c.Image, Ready: true, Started: ptr.To(true),
			ContainerID: "containerd://" + fakeID(ns, name, c.Name),
			State:       running(w.ago(6 * time.Hour)),
		})
	}
	for _, c := range spec.InitContainers {
		cs := corev1.ContainerStatus{Name: c.Name, Image: c.Image, ImageID: c.Image, ContainerID: "containerd://" + fakeID(ns, name, c.Name)}
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			cs.State, cs.Ready, cs.Started = running(w.ago(6*time.Hour)), true, ptr.To(true)
		} else {
			cs.State = terminated("Completed", 0, w.ago(6*time.Hour), w.ago(6*time.Hour-5*time.Second))
		}
		st.InitContainerStatuses = append(st.InitContainerStatuses, cs)
	}
	if status != nil {
		status(st)
	}
	if _, err := w.c.CoreV1().Pods(ns).UpdateStatus(w.ctx, created, metav1.UpdateOptions{}); err != nil {
		w.err = fmt.Errorf("writing the status of pod %s/%s: %w", ns, name, err)
	}
}

// event records an event as its source component would.
func (w *writer) event(ns string, obj corev1.ObjectReference, typ, reason, msg, component, host string, count int32, first, last metav1.Time, annotations map[string]string) {
	if w.err != nil {
		return
	}
	e := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("%s.%x", obj.Name, fakeID(reason, msg, last)[:16]), Annotations: annotations},
		InvolvedObject: obj, Type: typ, Reason: reason, Message: msg,
		Source: corev1.EventSource{Component: component, Host: host}, Count: count,
		FirstTimestamp: first, LastTimestamp: last,
	}
	if _, err := w.c.CoreV1().Events(ns).Create(w.ctx, e, metav1.CreateOptions{}); err != nil {
		w.err = fmt.Errorf("creating event %s: %w", e.Name, err)
	}
}

func create[T any](w *writer, what string, fn func() (T, error)) T {
	var zero T
	if w.err != nil {
		return zero
	}
	v, err := fn()
	if err != nil {
		w.err = fmt.Errorf("creating %s: %w", what, err)
		return zero
	}
	return v
}

// containerStatus finds a container's status in a pod status.
func containerStatus(st *corev1.PodStatus, name string) *corev1.ContainerStatus {
	for _, list := range [][]corev1.ContainerStatus{st.ContainerStatuses, st.InitContainerStatuses, st.EphemeralContainerStatuses} {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
	}
	return nil
}

func podRef(ns, name string, uid types.UID, container string) corev1.ObjectReference {
	r := corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: name, UID: uid, APIVersion: "v1"}
	if container != "" {
		r.FieldPath = "spec.containers{" + container + "}"
	}
	return r
}

func nodeRef(name string) corev1.ObjectReference {
	return corev1.ObjectReference{Kind: "Node", Name: name, UID: types.UID(name), APIVersion: "v1"}
}

// Populate writes the scenario as of the moment at and returns what scan
// must find in it.
func Populate(ctx context.Context, c kubernetes.Interface, at time.Time) ([]Expected, error) {
	w := &writer{ctx: ctx, c: c, at: at}
	for _, ns := range Namespaces {
		create(w, "namespace "+ns, func() (*corev1.Namespace, error) {
			return c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		})
	}
	for _, n := range []struct{ name, mem string }{{"node-a", "8Gi"}, {"node-b", "16Gi"}} {
		node := create(w, "node "+n.name, func() (*corev1.Node, error) {
			return c.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.name, Labels: map[string]string{"kubernetes.io/hostname": n.name}}}, metav1.CreateOptions{})
		})
		if node != nil {
			mem := resource.MustParse(n.mem)
			node.Status.Capacity = corev1.ResourceList{corev1.ResourceMemory: mem, corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourcePods: resource.MustParse("110")}
			node.Status.Allocatable = node.Status.Capacity.DeepCopy()
			node.Status.Conditions = []corev1.NodeCondition{
				{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", LastHeartbeatTime: w.ago(10 * time.Second), LastTransitionTime: w.ago(30 * 24 * time.Hour)},
				{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientMemory", LastHeartbeatTime: w.ago(10 * time.Second), LastTransitionTime: w.ago(20 * time.Minute)},
			}
			node.Status.NodeInfo = corev1.NodeSystemInfo{KubeletVersion: "v1.36.3", ContainerRuntimeVersion: "containerd://1.7.27", KernelVersion: "6.1.0-31-amd64", OSImage: "Debian GNU/Linux 12 (bookworm)", OperatingSystem: "linux", Architecture: "amd64"}
			create(w, "node status "+n.name, func() (*corev1.Node, error) {
				return c.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
			})
		}
	}
	var exp []Expected
	exp = append(exp, w.shop()...)
	exp = append(exp, w.payments()...)
	exp = append(exp, w.monitoring()...)
	exp = append(exp, w.tools()...)
	return exp, w.err
}

// shop: a web shop. cart is OOM-killed in a crash loop; redis hit its
// Guaranteed limit once; search's native sidecar is killed; web is killed by
// its liveness probe (not an OOM); frontend is healthy.
func (w *writer) shop() []Expected {
	ctx, c, ns := w.ctx, w.c, "shop"

	cartLabels := map[string]string{"app": "cart"}
	cartSpec := podSpec("node-a",
		container("cart", "registry.example/shop/cart:2.14.1", res("128Mi", "256Mi")),
		container("envoy", "registry.example/envoy:1.31", res("64Mi", "128Mi")))
	cart := create(w, "deployment cart", func() (*appsv1.Deployment, error) {
		return c.AppsV1().Deployments(ns).Create(ctx, deployment(ns, "cart", 2, cartLabels, cartSpec), metav1.CreateOptions{})
	})
	var cartRS *appsv1.ReplicaSet
	if cart != nil {
		cartRS = create(w, "replicaset cart", func() (*appsv1.ReplicaSet, error) {
			return c.AppsV1().ReplicaSets(ns).Create(ctx, replicaSet(cart, "7c9d8f6b5"), metav1.CreateOptions{})
		})
	}
	if cartRS != nil {
		owner := controllerRef("apps/v1", "ReplicaSet", cartRS.Name, string(cartRS.UID))
		w.pod(ns, "cart-7c9d8f6b5-x2kqp", cartRS.Spec.Template.Labels, owner, cartSpec, func(st *corev1.PodStatus) {
			cs := containerStatus(st, "cart")
			cs.State = waiting("CrashLoopBackOff", "back-off 5m0s restarting failed container=cart pod=cart-7c9d8f6b5-x2kqp_shop")
			cs.LastTerminationState = terminated("OOMKilled", 137, w.ago(3*time.Minute+40*time.Second), w.ago(3*time.Minute))
			cs.RestartCount, cs.Ready, cs.Started = 14, false, ptr.To(false)
			st.Conditions[2].Status, st.Conditions[3].Status = corev1.ConditionFalse, corev1.ConditionFalse
		})
		w.pod(ns, "cart-7c9d8f6b5-m8zvt", cartRS.Spec.Template.Labels, owner, cartSpec, func(st *corev1.PodStatus) {
			cs := containerStatus(st, "cart")
			cs.State = running(w.ago(41 * time.Minute))
			cs.LastTerminationState = terminated("OOMKilled", 137, w.ago(52*time.Minute), w.ago(41*time.Minute+10*time.Second))
			cs.RestartCount = 3
		})
	}

	redisLabels := map[string]string{"app": "redis"}
	redisSpec := podSpec("node-b", container("redis", "registry.example/redis:7.4", guaranteed("500m", "1Gi")))
	redis := create(w, "statefulset redis", func() (*appsv1.StatefulSet, error) {
		return c.AppsV1().StatefulSets(ns).Create(ctx, statefulSet(ns, "redis", 2, redisLabels, redisSpec), metav1.CreateOptions{})
	})
	if redis != nil {
		owner := controllerRef("apps/v1", "StatefulSet", "redis", string(redis.UID))
		w.pod(ns, "redis-0", redisLabels, owner, redisSpec, func(st *corev1.PodStatus) {
			cs := containerStatus(st, "redis")
			cs.State = running(w.ago(2*time.Hour + 10*time.Minute))
			cs.LastTerminationState = terminated("OOMKilled", 137, w.ago(5*time.Hour), w.ago(2*time.Hour+10*time.Minute+2*time.Second))
			cs.RestartCount = 1
		})
		w.pod(ns, "redis-1", redisLabels, owner, redisSpec, nil)
	}

	searchLabels := map[string]string{"app": "search"}
	searchSpec := podSpec("node-b", container("search", "registry.example/shop/search:5.2.0", res("1Gi", "2Gi")))
	searchSpec.InitContainers = []corev1.Container{{
		Name: "log-shipper", Image: "registry.example/fluent-bit:3.2", Resources: res("32Mi", "64Mi"),
		RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways),
	}}
	search := create(w, "deployment search", func() (*appsv1.Deployment, error) {
		return c.AppsV1().Deployments(ns).Create(ctx, deployment(ns, "search", 1, searchLabels, searchSpec), metav1.CreateOptions{})
	})
	if search != nil {
		rs := create(w, "replicaset search", func() (*appsv1.ReplicaSet, error) {
			return c.AppsV1().ReplicaSets(ns).Create(ctx, replicaSet(search, "5f4b8c7d9"), metav1.CreateOptions{})
		})
		if rs != nil {
			w.pod(ns, "search-5f4b8c7d9-qwj7d", rs.Spec.Template.Labels, controllerRef("apps/v1", "ReplicaSet", rs.Name, string(rs.UID)), searchSpec, func(st *corev1.PodStatus) {
				cs := containerStatus(st, "log-shipper")
				cs.State = running(w.ago(17 * time.Minute))
				cs.LastTerminationState = terminated("OOMKilled", 137, w.ago(2*time.Hour), w.ago(17*time.Minute+3*time.Second))
				cs.RestartCount = 6
			})
		}
	}

	webLabels := map[string]string{"app": "web"}
	webSpec := podSpec("node-a", container("web", "registry.example/shop/web:9.0.3", res("256Mi", "512Mi")))
	webSpec.Containers[0].LivenessProbe = &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstrFromInt(8080)}},
		PeriodSeconds: 10, FailureThreshold: 3, TimeoutSeconds: 1,
	}
	web := create(w, "deployment web", func() (*appsv1.Deployment, error) {
		return c.AppsV1().Deployments(ns).Create(ctx, deployment(ns, "web", 1, webLabels, webSpec), metav1.CreateOptions{})
	})
	if web != nil {
		rs := create(w, "replicaset web", func() (*appsv1.ReplicaSet, error) {
			return c.AppsV1().ReplicaSets(ns).Create(ctx, replicaSet(web, "6d5c9b8f4"), metav1.CreateOptions{})
		})
		if rs != nil {
			name := "web-6d5c9b8f4-h5xlp"
			var uid types.UID
			w.pod(ns, name, rs.Spec.Template.Labels, controllerRef("apps/v1", "ReplicaSet", rs.Name, string(rs.UID)), webSpec, func(st *corev1.PodStatus) {
				cs := containerStatus(st, "web")
				cs.State = running(w.ago(8 * time.Minute))
				cs.LastTerminationState = terminated("Error", 137, w.ago(70*time.Minute), w.ago(8*time.Minute+1*time.Second))
				cs.RestartCount = 2
			})
			if p, err := c.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{}); err == nil {
				uid = p.UID
			}
			w.event(ns, podRef(ns, name, uid, "web"), corev1.EventTypeWarning, "Unhealthy",
				"Liveness probe failed: Get \"http://10.0.0.1:8080/healthz\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
				"kubelet", "node-a", 3, w.ago(8*time.Minute+30*time.Second), w.ago(8*time.Minute+10*time.Second), nil)
		}
	}

	frontendLabels := map[string]string{"app": "frontend"}
	frontendSpec := podSpec("node-a", container("nginx", "registry.example/nginx:1.27", res("64Mi", "128Mi")))
	frontendSpec.InitContainers = []corev1.Container{{Name: "copy-assets", Image: "registry.example/shop/assets:9.0.3", Resources: res("32Mi", "64Mi")}}
	frontend := create(w, "deployment frontend", func() (*appsv1.Deployment, error) {
		return c.AppsV1().Deployments(ns).Create(ctx, deployment(ns, "frontend", 2, frontendLabels, frontendSpec), metav1.CreateOptions{})
	})
	if frontend != nil {
		rs := create(w, "replicaset frontend", func() (*appsv1.ReplicaSet, error) {
			return c.AppsV1().ReplicaSets(ns).Create(ctx, replicaSet(frontend, "84d7f6c5b"), metav1.CreateOptions{})
		})
		if rs != nil {
			for _, name := range []string{"frontend-84d7f6c5b-4nq8r", "frontend-84d7f6c5b-zt6wk"} {
				w.pod(ns, name, rs.Spec.Template.Labels, controllerRef("apps/v1", "ReplicaSet", rs.Name, string(rs.UID)), frontendSpec, nil)
			}
		}
	}

	// node-problem-detector saw the kernel kill the cart container.
	w.event("default", nodeRef("node-a"), corev1.EventTypeWarning, "OOMKilling",
		"Memory cgroup out of memory: Killed process 48213 (node) total-vm:1345208kB, anon-rss:259876kB, file-rss:31208kB, shmem-rss:0kB, UID:1000 pgtables:1088kB oom_score_adj:984",
		"kernel-monitor", "node-a", 1, w.ago(3*time.Minute+1*time.Second), w.ago(3*time.Minute+1*time.Second), nil)

	return []Expected{
		{"oom-killed", ns, "Deployment/cart", "cart-7c9d8f6b5-x2kqp", "cart"},
		{"not-oom", ns, "Deployment/web", "web-6d5c9b8f4-h5xlp", "web"},
		{"oom-killed", ns, "Deployment/search", "search-5f4b8c7d9-qwj7d", "log-shipper"},
		{"oom-killed", ns, "Deployment/cart", "cart-7c9d8f6b5-m8zvt", "cart"},
		{"oom-killed", ns, "StatefulSet/redis", "redis-0", "redis"},
	}
}

// payments: the ledger (JVM) was evicted when node-b ran short of memory; a
// fraud-scorer pod evicted earlier is gone but its event remains; the nightly
// reconcile CronJob's init container is OOM-killed, so its pod never starts.
func (w *writer) payments() []Expected {
	ctx, c, ns := w.ctx, w.c, "payments"

	ledgerLabels := map[string]string{"app": "ledger"}
	ledgerSpec := podSpec("node-b", container("ledger", "registry.example/payments/ledger:4.1.0", res("512Mi", "2Gi")))
	ledgerSpec.Containers[0].Env = []corev1.EnvVar{{Name: "JAVA_TOOL_OPTIONS", Value: "-Xmx1536m"}}
	ledger := create(w, "deployment ledger", func() (*appsv1.Deployment, error) {
		return c.AppsV1().Deployments(ns).Create(ctx, deployment(ns, "ledger", 1, ledgerLabels, ledgerSpec), metav1.CreateOptions{})
	})
	if ledger != nil {
		rs := create(w, "replicaset ledger", func() (*appsv1.ReplicaSet, error) {
			return c.AppsV1().ReplicaSets(ns).Create(ctx, replicaSet(ledger, "b7f9d6c48"), metav1.CreateOptions{})
		})
		if rs != nil {
			owner := controllerRef("apps/v1", "ReplicaSet", rs.Name, string(rs.UID))
			msg := "The node was low on resource: memory. Threshold quantity: 100Mi, available: 87Mi. Container ledger was using 1843Mi, request is 512Mi, has larger consumption of memory. "
			w.pod(ns, "ledger-b7f9d6c48-5tqzn", rs.Spec.Template.Labels, owner, ledgerSpec, func(st *corev1.PodStatus) {
				st.Phase, st.Reason, st.Message = corev1.PodFailed, "Evicted", msg
				st.Conditions = append(st.Conditions, corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: "TerminationByKubelet", Message: msg, LastTransitionTime: w.ago(26 * time.Minute)})
				cs := containerStatus(st, "ledger")
				cs.State = terminated("ContainerStatusUnknown", 137, w.ago(6*time.Hour), w.ago(26*time.Minute))
				cs.State.Terminated.Message = "The container could not be located when the pod was terminated"
				cs.Ready = false
			})
			w.pod(ns, "ledger-b7f9d6c48-r2m4k", rs.Spec.Template.Labels, owner, ledgerSpec, nil)
			w.event(ns, podRef(ns, "ledger-b7f9d6c48-5tqzn", "", ""), corev1.EventTypeWarning, "Evicted", msg, "kubelet", "node-b", 1,
				w.ago(26*time.Minute), w.ago(26*time.Minute),
				map[string]string{"offending_containers": "ledger", "offending_containers_usage": "1843Mi", "starved_resource": "memory"})
		}
	}
	// A pod evicted earlier and since deleted: only its event tells.
	w.event(ns, podRef(ns, "fraud-scorer-6c8d5f7b9-kq2xz", "3b1f7a52-9d0e-4c1b-8f6a-2e5d4c3b2a10", ""), corev1.EventTypeWarning, "Evicted",
		"The node was low on resource: memory. Threshold quantity: 100Mi, available: 64Mi. Container scorer was using 3012Mi, request is 1Gi, has larger consumption of memory. ",
		"kubelet", "node-b", 1, w.ago(29*time.Minute), w.ago(29*time.Minute),
		map[string]string{"offending_containers": "scorer", "offending_containers_usage": "3012Mi", "starved_resource": "memory"})
	// An eviction for disk is not memory trouble: scan must not report it.
	w.event(ns, podRef(ns, "report-builder-7d9c5b6f8-wx4lm", "", ""), corev1.EventTypeWarning, "Evicted",
		"The node was low on resource: ephemeral-storage. Threshold quantity: 10Gi, available: 9Gi. Container builder was using 12Gi, request is 0, has larger consumption of ephemeral-storage. ",
		"kubelet", "node-a", 1, w.ago(4*time.Hour), w.ago(4*time.Hour), map[string]string{"starved_resource": "ephemeral-storage"})

	recLabels := map[string]string{"app": "reconcile"}
	recSpec := podSpec("node-a", container("reconcile", "registry.example/payments/reconcile:1.8.2", res("256Mi", "512Mi")))
	recSpec.InitContainers = []corev1.Container{{Name: "fetch-ledger", Image: "registry.example/payments/fetch:1.8.2", Resources: res("64Mi", "128Mi")}}
	cj := create(w, "cronjob nightly-reconcile", func() (*batchv1.CronJob, error) {
		return c.BatchV1().CronJobs(ns).Create(ctx, cronJob(ns, "nightly-reconcile", "0 2 * * *", recLabels, recSpec), metav1.CreateOptions{})
	})
	if cj != nil {
		job := jobFor(cj, "29401560")
		job.Spec.Template.Labels = map[string]string{"app": "reconcile", "batch.kubernetes.io/job-name": job.Name}
		created := create(w, "job", func() (*batchv1.Job, error) {
			return c.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{})
		})
		if created != nil {
			spec := created.Spec.Template.Spec
			spec.NodeName = "node-a"
			w.pod(ns, created.Name+"-8mzq4", created.Spec.Template.Labels, controllerRef("batch/v1", "Job", created.Name, string(created.UID)), spec, func(st *corev1.PodStatus) {
				st.Phase = corev1.PodPending
				st.Conditions[1].Status, st.Conditions[1].Reason = corev1.ConditionFalse, "ContainersNotInitialized"
				st.Conditions[2].Status, st.Conditions[3].Status = corev1.ConditionFalse, corev1.ConditionFalse
				ic := containerStatus(st, "fetch-ledger")
				ic.State = waiting("CrashLoopBackOff", "back-off 2m40s restarting failed container=fetch-ledger")
				ic.LastTerminationState = terminated("OOMKilled", 137, w.ago(2*time.Hour+4*time.Minute), w.ago(2*time.Hour+3*time.Minute))
				ic.RestartCount = 5
				mc := containerStatus(st, "reconcile")
				mc.State, mc.Ready, mc.Started = waiting("PodInitializing", ""), false, ptr.To(false)
			})
		}
	}
	return []Expected{
		{"eviction", ns, "Deployment/ledger", "ledger-b7f9d6c48-5tqzn", "ledger"},
		{"eviction", ns, "Pod/fraud-scorer-6c8d5f7b9-kq2xz", "fraud-scorer-6c8d5f7b9-kq2xz", "scorer"},
		{"oom-killed", ns, "CronJob/nightly-reconcile", "nightly-reconcile-29401560-8mzq4", "fetch-ledger"},
	}
}

// monitoring: fluent-bit has no memory limit and was killed when node-b
// itself ran out of memory (the kubelet's SystemOOM event); a postgres
// backup's pg_dump child was killed inside a container whose main process
// survived, which only the kernel log shows.
func (w *writer) monitoring() []Expected {
	ctx, c, ns := w.ctx, w.c, "monitoring"
	fbLabels := map[string]string{"app": "fluent-bit"}
	fbSpec := podSpec("", container("fluent-bit", "registry.example/fluent-bit:3.2", res("", "")))
	fbSpec.Containers[0].Resources = corev1.ResourceRequirements{}
	ds := create(w, "daemonset fluent-bit", func() (*appsv1.DaemonSet, error) {
		return c.AppsV1().DaemonSets(ns).Create(ctx, daemonSet(ns, "fluent-bit", fbLabels, fbSpec), metav1.CreateOptions{})
	})
	if ds != nil {
		owner := controllerRef("apps/v1", "DaemonSet", "fluent-bit", string(ds.UID))
		for _, node := range []string{"node-a", "node-b"} {
			spec := fbSpec
			spec.NodeName = node
			w.pod(ns, "fluent-bit-"+node[len(node)-1:]+"x7k2p", fbLabels, owner, spec, func(st *corev1.PodStatus) {
				if node != "node-b" {
					return
				}
				cs := containerStatus(st, "fluent-bit")
				cs.State = running(w.ago(96 * time.Minute))
				cs.LastTerminationState = terminated("OOMKilled", 137, w.ago(6*time.Hour), w.ago(96*time.Minute+1*time.Second))
				cs.RestartCount = 1
			})
		}
	}
	w.event("default", nodeRef("node-b"), corev1.EventTypeWarning, "SystemOOM",
		"System OOM encountered, victim process: fluent-bit, pid: 31337", "kubelet", "node-b", 1,
		w.ago(96*time.Minute+2*time.Second), w.ago(96*time.Minute+2*time.Second), nil)

	pgLabels := map[string]string{"app": "postgres"}
	pgSpec := podSpec("node-b", container("postgres", "registry.example/postgres:16.4", res("2Gi", "4Gi")))
	pg := create(w, "statefulset postgres", func() (*appsv1.StatefulSet, error) {
		return c.AppsV1().StatefulSets(ns).Create(ctx, statefulSet(ns, "postgres", 1, pgLabels, pgSpec), metav1.CreateOptions{})
	})
	if pg != nil {
		w.pod(ns, "postgres-0", pgLabels, controllerRef("apps/v1", "StatefulSet", "postgres", string(pg.UID)), pgSpec, nil)
	}
	w.event("default", nodeRef("node-b"), corev1.EventTypeWarning, "OOMKilling",
		"Memory cgroup out of memory: Killed process 77012 (pg_dump) total-vm:4501236kB, anon-rss:4182016kB, file-rss:2048kB, shmem-rss:0kB, UID:999 pgtables:8312kB oom_score_adj:936",
		"kernel-monitor", "node-b", 1, w.ago(47*time.Minute), w.ago(47*time.Minute), nil)
	return []Expected{
		{"kernel-oom-kill", "", "Node/node-b", "", ""},
		{"oom-killed", ns, "DaemonSet/fluent-bit", "fluent-bit-bx7k2p", "fluent-bit"},
		{"system-oom", "", "Node/node-b", "", ""},
	}
}

// tools: a one-off migration pod (no controller, restartPolicy Never) was
// OOM-killed; a debug session's ephemeral container ran a heap dump and was
// killed too.
func (w *writer) tools() []Expected {
	ctx, c, ns := w.ctx, w.c, "tools"
	migSpec := podSpec("node-a", container("migrate", "registry.example/shop/migrate:2.14.1", res("128Mi", "128Mi")))
	migSpec.RestartPolicy = corev1.RestartPolicyNever
	w.pod(ns, "schema-migration", map[string]string{"run": "schema-migration"}, nil, migSpec, func(st *corev1.PodStatus) {
		st.Phase = corev1.PodFailed
		cs := containerStatus(st, "migrate")
		cs.State = terminated("OOMKilled", 137, w.ago(5*time.Hour+30*time.Minute), w.ago(5*time.Hour+12*time.Minute))
		cs.Ready, cs.Started = false, ptr.To(false)
	})

	apiSpec := podSpec("node-a", container("api", "registry.example/tools/api:0.9.1", res("256Mi", "512Mi")))
	w.pod(ns, "api-debug", map[string]string{"run": "api-debug"}, nil, apiSpec, nil)
	if w.err == nil {
		p, err := c.CoreV1().Pods(ns).Get(ctx, "api-debug", metav1.GetOptions{})
		if err != nil {
			w.err = err
			return nil
		}
		p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{
			EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debugger-7xk2q", Image: "registry.example/tools/jdk-debug:21", Stdin: true, TTY: true},
			TargetContainerName:      "api",
		}}
		p, err = c.CoreV1().Pods(ns).UpdateEphemeralContainers(ctx, "api-debug", p, metav1.UpdateOptions{})
		if err != nil {
			w.err = fmt.Errorf("adding an ephemeral container: %w", err)
			return nil
		}
		p.Status.EphemeralContainerStatuses = []corev1.ContainerStatus{{
			Name: "debugger-7xk2q", Image: "registry.example/tools/jdk-debug:21", ImageID: "registry.example/tools/jdk-debug:21",
			ContainerID: "containerd://" + fakeID(ns, "api-debug", "debugger"),
			State:       terminated("OOMKilled", 137, w.ago(34*time.Minute), w.ago(31*time.Minute)),
		}}
		if _, err := c.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
			w.err = fmt.Errorf("writing the ephemeral container's status: %w", err)
		}
	}
	return []Expected{
		{"oom-killed", ns, "Pod/api-debug", "api-debug", "debugger-7xk2q"},
		{"oom-killed", ns, "Pod/schema-migration", "schema-migration", "migrate"},
	}
}
