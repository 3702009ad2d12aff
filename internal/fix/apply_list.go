package fix

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/pager"
)

// ControllerKinds are the kinds --apply changes when a selector is given
// without a TYPE: the workloads that own their pods' template.
var ControllerKinds = []string{"Deployment", "StatefulSet", "DaemonSet", "CronJob"}

// eachObject calls fn with every object of a kind (one of applyKinds, or
// Pod) in namespace ns ("": all) that the list options select, listed in
// pages as kubectl lists: a namespace of thousands of pods is not one
// answer held whole.
func eachObject(ctx context.Context, c kubernetes.Interface, ns, kind string, opts metav1.ListOptions, fn func(runtime.Object, metav1.Object) error) error {
	var list func(context.Context, metav1.ListOptions) (runtime.Object, error)
	switch kind {
	case "Deployment":
		list = func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.AppsV1().Deployments(ns).List(ctx, o)
		}
	case "StatefulSet":
		list = func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.AppsV1().StatefulSets(ns).List(ctx, o)
		}
	case "DaemonSet":
		list = func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.AppsV1().DaemonSets(ns).List(ctx, o)
		}
	case "ReplicaSet":
		list = func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.AppsV1().ReplicaSets(ns).List(ctx, o)
		}
	case "Job":
		list = func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.BatchV1().Jobs(ns).List(ctx, o)
		}
	case "CronJob":
		list = func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.BatchV1().CronJobs(ns).List(ctx, o)
		}
	case "Pod":
		list = func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.CoreV1().Pods(ns).List(ctx, o)
		}
	default:
		return fmt.Errorf("cannot list %s", kind)
	}
	err := pager.New(list).EachListItem(ctx, opts, func(obj runtime.Object) error {
		m, err := meta.Accessor(obj)
		if err != nil {
			return err
		}
		return fn(obj, m)
	})
	if err != nil {
		where := "namespace " + ns
		if ns == metav1.NamespaceAll {
			where = "all namespaces"
		}
		return fmt.Errorf("listing %ss in %s: %w", strings.ToLower(kind), where, err)
	}
	return nil
}

// ListTargets lists the objects of the kinds given in namespace ns ("":
// every namespace) that match the label selector ("": all), as kubectl
// get TYPE -l does. An object a controller owns is left out, and told in
// skipped ("replicaset/api-5d (owned by Deployment api)"): its owner is
// the one to change (a ReplicaSet's Deployment, a Job's CronJob, an
// operator's resource), and would put its template back.
func ListTargets(ctx context.Context, c kubernetes.Interface, ns string, kinds []string, selector string) (targets []ApplyTarget, skipped []string, err error) {
	for _, kind := range kinds {
		var found []ApplyTarget
		err := eachObject(ctx, c, ns, kind, metav1.ListOptions{LabelSelector: selector}, func(_ runtime.Object, m metav1.Object) error {
			if ref := metav1.GetControllerOf(m); ref != nil {
				skipped = append(skipped, fmt.Sprintf("%s (owned by %s %s)", ApplyTarget{Kind: kind, Name: m.GetName()}, ref.Kind, ref.Name))
				return nil
			}
			found = append(found, ApplyTarget{Kind: kind, Namespace: m.GetNamespace(), Name: m.GetName()})
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
		sort.Slice(found, func(i, j int) bool {
			return found[i].Namespace < found[j].Namespace || found[i].Namespace == found[j].Namespace && found[i].Name < found[j].Name
		})
		targets = append(targets, found...)
	}
	return targets, skipped, nil
}
