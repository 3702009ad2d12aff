package scenario

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/test/promserver"
)

// DiagnosisNamespace holds one pod per cause, with a usage history that
// shows it.
const DiagnosisNamespace = "diag"

// DiagnosisCase is one pod of the diagnosis namespace and the cause
// oomdoctor must find for it.
type DiagnosisCase struct {
	Pod, Container string
	Cause          model.CauseID
	// Top says the cause must come first.
	Top bool
}

const mi = 1 << 20

func wobble(t int64) float64 { return promserver.Noise(t) * mi }

// DiagnosisPods are the diagnosis namespace's pods as the history
// simulation sees them (on node-a).
func DiagnosisPods() []promserver.Pod {
	ns := DiagnosisNamespace
	c := func(name string, req, lim float64, usage func(t, age int64) float64, cache float64) promserver.Container {
		return promserver.Container{Name: name, Request: req, Limit: lim, Usage: usage, CacheShare: cache}
	}
	return []promserver.Pod{
		// A leak: 100Mi at start, +26Mi an hour, killed at 256Mi.
		{Namespace: ns, Name: "leaky-6f7d8c9b5-q2w4e", OwnerKind: "ReplicaSet", OwnerName: "leaky-6f7d8c9b5", Deployment: "leaky",
			Containers: []promserver.Container{c("app", 128*mi, 256*mi, func(t, age int64) float64 { return 100*mi + 26*mi*float64(age)/3600 + wobble(t) }, 0.05)}},
		// Steady close to its limit; bursts every 9 hours kill it.
		{Namespace: ns, Name: "batch-0", OwnerKind: "StatefulSet", OwnerName: "batch",
			Containers: []promserver.Container{c("worker", 128*mi, 256*mi, func(t, age int64) float64 {
				u := 238*mi + 3*mi*math.Sin(float64(t)/5000) + wobble(t)
				if t%(9*3600) < 120 {
					u += 40 * mi
				}
				return u
			}, 0.05)}},
		// A JVM whose -Xmx480m (from a ConfigMap) leaves no room in 512Mi.
		{Namespace: ns, Name: "billing-5c6d7e8f9-k3l4m", OwnerKind: "ReplicaSet", OwnerName: "billing-5c6d7e8f9", Deployment: "billing",
			Containers: []promserver.Container{c("billing", 512*mi, 512*mi, func(t, age int64) float64 {
				return 420*mi + 60*mi*math.Sin(2*math.Pi*float64(t%86400)/86400) + 40*mi*math.Min(1, float64(age)/7200) + wobble(t)
			}, 0.05)}},
		// The pod's limit is hit: the sidecar holds most of it.
		{Namespace: ns, Name: "gateway-7b8c9d6f5-z9x8c", OwnerKind: "ReplicaSet", OwnerName: "gateway-7b8c9d6f5", Deployment: "gateway",
			Containers: []promserver.Container{
				c("app", 128*mi, 256*mi, func(t, age int64) float64 { return 190*mi + wobble(t) }, 0.05),
				c("log-shipper", 128*mi, 384*mi, func(t, age int64) float64 { return 330*mi + wobble(t+1) }, 0.05),
			}},
		// Page cache fills the limit: the process itself stays small.
		{Namespace: ns, Name: "indexer-0", OwnerKind: "StatefulSet", OwnerName: "indexer",
			Containers: []promserver.Container{c("indexer", 256*mi, 512*mi, func(t, age int64) float64 {
				u := 480*mi + 4*mi*math.Sin(float64(t)/3000) + wobble(t)
				if t%(8*3600) < 120 {
					u += 40 * mi
				}
				return u
			}, 0.72)}},
	}
}

// DiagnosisCases are what oomdoctor must say of them.
var DiagnosisCases = []DiagnosisCase{
	{Pod: "leaky-6f7d8c9b5-q2w4e", Container: "app", Cause: model.CauseMemoryLeak, Top: true},
	{Pod: "batch-0", Container: "worker", Cause: model.CauseLimitTooLow, Top: true},
	{Pod: "billing-5c6d7e8f9-k3l4m", Container: "billing", Cause: model.CauseRuntimeHeap, Top: true},
	{Pod: "gateway-7b8c9d6f5-z9x8c", Container: "app", Cause: model.CauseExtraProcesses, Top: true},
	{Pod: "indexer-0", Container: "indexer", Cause: model.CausePageCache, Top: true},
}

// PopulateDiagnosis writes the diagnosis namespace's objects: the pods
// (their last kill from the simulation's), the billing ConfigMap, and the
// node agent's record of the gateway kill.
func PopulateDiagnosis(ctx context.Context, c kubernetes.Interface, sim *promserver.Sim) error {
	at := time.Unix(sim.End, 0)
	w := &writer{ctx: ctx, c: c, at: at}
	ns := DiagnosisNamespace
	create(w, "namespace "+ns, func() (*corev1.Namespace, error) {
		return c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	})
	create(w, "configmap billing-jvm", func() (*corev1.ConfigMap, error) {
		return c.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "billing-jvm"}, Data: map[string]string{"opts": "-Xmx480m -XX:+UseG1GC"}}, metav1.CreateOptions{})
	})
	for _, p := range DiagnosisPods() {
		var cs []corev1.Container
		var inits []corev1.Container
		for _, sc := range p.Containers {
			k := container(sc.Name, "registry.example/diag/"+sc.Name+":1.0", res(fmt.Sprintf("%dMi", int(sc.Request/mi)), fmt.Sprintf("%dMi", int(sc.Limit/mi))))
			switch sc.Name {
			case "billing":
				k.Image = "eclipse-temurin:17-jre"
				k.Env = []corev1.EnvVar{{Name: "JAVA_TOOL_OPTIONS", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "billing-jvm"}, Key: "opts"}}}}
			case "log-shipper":
				k.RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
				inits = append(inits, k)
				continue
			}
			cs = append(cs, k)
		}
		spec := podSpec("node-a", cs...)
		spec.InitContainers = inits
		victim := p.Containers[0]
		kills := sim.KillTimes(victim)
		last := at.Add(-47 * time.Minute).Unix() // the gateway's kill: the pod's limit, which the simulation does not model
		if len(kills) > 0 {
			last = kills[len(kills)-1]
		} else if p.Name != "gateway-7b8c9d6f5-z9x8c" {
			return fmt.Errorf("the simulation never killed %s: fix the scenario", p.Name)
		}
		restarts := int32(max(1, len(kills)))
		killedAt := metav1.NewTime(time.Unix(last, 0).UTC())
		// The pod's owners, as its controllers made it.
		labels := map[string]string{"app": p.OwnerName}
		var owner []metav1.OwnerReference
		switch {
		case p.Deployment != "":
			labels = map[string]string{"app": p.Deployment}
			d := create(w, "deployment "+p.Deployment, func() (*appsv1.Deployment, error) {
				return c.AppsV1().Deployments(ns).Create(ctx, deployment(ns, p.Deployment, 1, labels, spec), metav1.CreateOptions{})
			})
			if d != nil {
				rs := create(w, "replicaset "+p.OwnerName, func() (*appsv1.ReplicaSet, error) {
					return c.AppsV1().ReplicaSets(ns).Create(ctx, replicaSet(d, strings.TrimPrefix(p.OwnerName, p.Deployment+"-")), metav1.CreateOptions{})
				})
				if rs != nil {
					owner, labels = controllerRef("apps/v1", "ReplicaSet", rs.Name, string(rs.UID)), rs.Spec.Template.Labels
				}
			}
		case p.OwnerKind == "StatefulSet":
			st := create(w, "statefulset "+p.OwnerName, func() (*appsv1.StatefulSet, error) {
				return c.AppsV1().StatefulSets(ns).Create(ctx, statefulSet(ns, p.OwnerName, 1, labels, spec), metav1.CreateOptions{})
			})
			if st != nil {
				owner = controllerRef("apps/v1", "StatefulSet", st.Name, string(st.UID))
			}
		}
		w.pod(ns, p.Name, labels, owner, spec, func(st *corev1.PodStatus) {
			s := containerStatus(st, victim.Name)
			s.State = running(killedAt)
			s.LastTerminationState = terminated("OOMKilled", 137, metav1.NewTime(killedAt.Add(-time.Hour)), killedAt)
			s.RestartCount = restarts
		})
		if p.Name == "gateway-7b8c9d6f5-z9x8c" {
			pod, err := c.CoreV1().Pods(ns).Get(ctx, p.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			k := model.KernelKill{At: killedAt.Time, Node: "node-a", Namespace: ns, Pod: p.Name, PodUID: string(pod.UID), Container: "app", Scope: "pod", MainProcess: "true",
				VictimPID: 4711, VictimName: "gateway", AnonRSSBytes: 180 * mi, LimitBytes: 640 * mi, UsageBytes: 640 * mi, AnonBytes: 560 * mi, FileBytes: 70 * mi, FromKernelLog: true, FromCounter: true}
			raw, _ := json.Marshal(k)
			w.event(ns, podRef(ns, p.Name, pod.UID, "app"), corev1.EventTypeWarning, "ContainerOOMKilled",
				"The kernel OOM-killed process gateway (pid 4711) in container app, its main process: the container ends. The pod reached its memory limit of 640Mi.",
				"oomdoctor-agent", "node-a", 1, killedAt, killedAt, map[string]string{model.KillAnnotation: string(raw)})
		}
	}
	return w.err
}
