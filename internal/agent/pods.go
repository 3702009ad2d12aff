//go:build linux

package agent

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// PodInfo is what the agent keeps of a pod: its name, and its containers by
// runtime ID.
type PodInfo struct {
	Namespace, Name, UID string
	// Containers maps runtime container IDs (current and last
	// terminated) to container names.
	Containers map[string]string
	// Ref is the pod as an object reference, for Events.
	Ref *corev1.ObjectReference
	// Deleted is set when the pod is gone.
	Deleted time.Time
}

// PodIndex finds pods by UID.
type PodIndex interface {
	Lookup(uid string) *PodInfo
}

// StaticPods is a PodIndex of fixed pods, for tests and for running without
// an API server.
type StaticPods map[string]*PodInfo

// Lookup implements PodIndex.
func (s StaticPods) Lookup(uid string) *PodInfo { return s[uid] }

// Informer keeps the pods of one node from the API server, through a
// watch limited to spec.nodeName; objects are cut down to what the agent
// needs as they arrive.
type Informer struct {
	mu     sync.RWMutex
	pods   map[string]*PodInfo
	onGone func(*PodInfo)
	inf    cache.SharedIndexInformer
}

// NewInformer watches the pods of node through a core/v1 REST client
// (NewRESTClient).
func NewInformer(rc rest.Interface, node string, onGone func(*PodInfo)) (*Informer, error) {
	if node == "" {
		return nil, fmt.Errorf("the agent needs its node's name (--node-name, usually from the downward API: spec.nodeName)")
	}
	in := &Informer{pods: map[string]*PodInfo{}, onGone: onGone}
	inf := cache.NewSharedIndexInformer(podListWatch(rc, node), &corev1.Pod{}, 0, cache.Indexers{})
	if err := inf.SetTransform(func(obj any) (any, error) {
		if p, ok := obj.(*corev1.Pod); ok {
			return trim(p), nil
		}
		return obj, nil
	}); err != nil {
		return nil, err
	}
	in.inf = inf
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { in.put(obj) },
		UpdateFunc: func(_, obj any) { in.put(obj) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if pod, ok := obj.(*corev1.Pod); ok {
				in.mu.Lock()
				cur := in.pods[string(pod.UID)]
				if cur != nil {
					cur.Deleted = time.Now()
				}
				in.mu.Unlock()
				if cur != nil && in.onGone != nil {
					in.onGone(cur)
				}
			}
		},
	}); err != nil {
		return nil, err
	}
	return in, nil
}

// Start runs the watch until ctx ends.
func (in *Informer) Start(ctx context.Context) { go in.inf.RunWithContext(ctx) }

// Synced tells whether the first list arrived.
func (in *Informer) Synced() bool { return in.inf.HasSynced() }

// WaitSynced waits for the first list.
func (in *Informer) WaitSynced(ctx context.Context) bool {
	return cache.WaitForCacheSync(ctx.Done(), in.inf.HasSynced)
}

func (in *Informer) put(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	p := infoOf(pod)
	in.mu.Lock()
	defer in.mu.Unlock()
	// Keep the IDs of containers that ran before: a kill is often looked
	// up after the kubelet has already recorded the restart.
	if old := in.pods[p.UID]; old != nil {
		for id, name := range old.Containers {
			if _, ok := p.Containers[id]; !ok {
				p.Containers[id] = name
			}
		}
	}
	in.pods[p.UID] = p
}

// Lookup implements PodIndex.
func (in *Informer) Lookup(uid string) *PodInfo {
	in.mu.RLock()
	defer in.mu.RUnlock()
	return in.pods[uid]
}

// Forget drops pods deleted more than age ago.
func (in *Informer) Forget(age time.Duration) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for uid, p := range in.pods {
		if !p.Deleted.IsZero() && time.Since(p.Deleted) > age {
			delete(in.pods, uid)
		}
	}
}

// trim keeps of a pod only what the agent reads, so the cache of a node
// with hundreds of pods stays small.
func trim(p *corev1.Pod) *corev1.Pod {
	t := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace, UID: p.UID, ResourceVersion: p.ResourceVersion}}
	keep := func(in []corev1.ContainerStatus) []corev1.ContainerStatus {
		out := make([]corev1.ContainerStatus, 0, len(in))
		for _, s := range in {
			c := corev1.ContainerStatus{Name: s.Name, ContainerID: s.ContainerID}
			if s.LastTerminationState.Terminated != nil {
				c.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{ContainerID: s.LastTerminationState.Terminated.ContainerID}
			}
			out = append(out, c)
		}
		return out
	}
	t.Status.InitContainerStatuses = keep(p.Status.InitContainerStatuses)
	t.Status.ContainerStatuses = keep(p.Status.ContainerStatuses)
	t.Status.EphemeralContainerStatuses = keep(p.Status.EphemeralContainerStatuses)
	return t
}

// infoOf cuts a pod down to a PodInfo.
func infoOf(p *corev1.Pod) *PodInfo {
	info := &PodInfo{Namespace: p.Namespace, Name: p.Name, UID: string(p.UID), Containers: map[string]string{},
		Ref: &corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: p.Namespace, Name: p.Name, UID: p.UID, ResourceVersion: p.ResourceVersion}}
	add := func(statuses []corev1.ContainerStatus) {
		for _, s := range statuses {
			if id := runtimeID(s.ContainerID); id != "" {
				info.Containers[id] = s.Name
			}
			if t := s.LastTerminationState.Terminated; t != nil {
				if id := runtimeID(t.ContainerID); id != "" {
					info.Containers[id] = s.Name
				}
			}
		}
	}
	add(p.Status.InitContainerStatuses)
	add(p.Status.ContainerStatuses)
	add(p.Status.EphemeralContainerStatuses)
	return info
}

// runtimeID strips the runtime prefix: containerd://ID -> ID.
func runtimeID(s string) string {
	if i := strings.Index(s, "://"); i >= 0 {
		return s[i+3:]
	}
	return s
}
