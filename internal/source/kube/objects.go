package kube

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
)

// Kind is a kind of object the snapshot command captures.
type Kind struct {
	// Resource is the plural resource name with its group, as RBAC and
	// kubectl name it: "pods", "replicasets.apps".
	Resource   string
	GVK        schema.GroupVersionKind
	Namespaced bool
	list       func(c kubernetes.Interface, ns string) func(context.Context, metav1.ListOptions) (runtime.Object, error)
}

// SnapshotKinds are the kinds a snapshot holds, in the order they are written.
var SnapshotKinds = []Kind{
	{"pods", schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, true, func(c kubernetes.Interface, ns string) func(context.Context, metav1.ListOptions) (runtime.Object, error) {
		return func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.CoreV1().Pods(ns).List(ctx, o)
		}
	}},
	{"events", schema.GroupVersionKind{Version: "v1", Kind: "Event"}, true, func(c kubernetes.Interface, ns string) func(context.Context, metav1.ListOptions) (runtime.Object, error) {
		return func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.CoreV1().Events(ns).List(ctx, o)
		}
	}},
	{"nodes", schema.GroupVersionKind{Version: "v1", Kind: "Node"}, false, func(c kubernetes.Interface, _ string) func(context.Context, metav1.ListOptions) (runtime.Object, error) {
		return func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.CoreV1().Nodes().List(ctx, o)
		}
	}},
	{"limitranges", schema.GroupVersionKind{Version: "v1", Kind: "LimitRange"}, true, func(c kubernetes.Interface, ns string) func(context.Context, metav1.ListOptions) (runtime.Object, error) {
		return func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.CoreV1().LimitRanges(ns).List(ctx, o)
		}
	}},
	{"resourcequotas", schema.GroupVersionKind{Version: "v1", Kind: "ResourceQuota"}, true, func(c kubernetes.Interface, ns string) func(context.Context, metav1.ListOptions) (runtime.Object, error) {
		return func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.CoreV1().ResourceQuotas(ns).List(ctx, o)
		}
	}},
	{"deployments.apps", schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, true, func(c kubernetes.Interface, ns string) func(context.Context, metav1.ListOptions) (runtime.Object, error) {
		return func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.AppsV1().Deployments(ns).List(ctx, o)
		}
	}},
	{"replicasets.apps", schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "ReplicaSet"}, true, func(c kubernetes.Interface, ns string) func(context.Context, metav1.ListOptions) (runtime.Object, error) {
		return func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.AppsV1().ReplicaSets(ns).List(ctx, o)
		}
	}},
	{"statefulsets.apps", schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "StatefulSet"}, true, func(c kubernetes.Interface, ns string) func(context.Context, metav1.ListOptions) (runtime.Object, error) {
		return func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.AppsV1().StatefulSets(ns).List(ctx, o)
		}
	}},
	{"daemonsets.apps", schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "DaemonSet"}, true, func(c kubernetes.Interface, ns string) func(context.Context, metav1.ListOptions) (runtime.Object, error) {
		return func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.AppsV1().DaemonSets(ns).List(ctx, o)
		}
	}},
	{"jobs.batch", schema.GroupVersionKind{Group: "batch", Version: "v1", Kind: "Job"}, true, func(c kubernetes.Interface, ns string) func(context.Context, metav1.ListOptions) (runtime.Object, error) {
		return func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.BatchV1().Jobs(ns).List(ctx, o)
		}
	}},
	{"horizontalpodautoscalers.autoscaling", schema.GroupVersionKind{Group: "autoscaling", Version: "v2", Kind: "HorizontalPodAutoscaler"}, true, func(c kubernetes.Interface, ns string) func(context.Context, metav1.ListOptions) (runtime.Object, error) {
		return func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.AutoscalingV2().HorizontalPodAutoscalers(ns).List(ctx, o)
		}
	}},
	{"cronjobs.batch", schema.GroupVersionKind{Group: "batch", Version: "v1", Kind: "CronJob"}, true, func(c kubernetes.Interface, ns string) func(context.Context, metav1.ListOptions) (runtime.Object, error) {
		return func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.BatchV1().CronJobs(ns).List(ctx, o)
		}
	}},
}

// kindOf is the snapshot kind of a resource ("deployments.apps").
func kindOf(resource string) Kind {
	for _, k := range SnapshotKinds {
		if k.Resource == resource {
			return k
		}
	}
	return Kind{Resource: resource} // EachObject refuses it: it has no list
}

// EachObject calls fn for every object of the kind in the namespace (empty:
// all; ignored for cluster-scoped kinds), with apiVersion and kind set as
// `kubectl get -o json` prints them.
func (s *Source) EachObject(ctx context.Context, k Kind, namespace string, fn func(runtime.Object) error) error {
	if k.list == nil {
		return fmt.Errorf("kind %s cannot be listed", k.Resource)
	}
	if !k.Namespaced {
		namespace = ""
	}
	return s.each(ctx, metav1.ListOptions{}, k.list(s.client, namespace), func(obj runtime.Object) error {
		obj.GetObjectKind().SetGroupVersionKind(k.GVK)
		return fn(obj)
	})
}

// ServerVersion returns the API server's gitVersion.
func (s *Source) ServerVersion() (string, error) {
	v, err := s.client.Discovery().ServerVersion()
	if err != nil {
		return "", err
	}
	return v.GitVersion, nil
}
