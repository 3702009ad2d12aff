// Package kube reads a live cluster through client-go: paged lists in
// protobuf for pods and events, metadata-only lists for the owners of pods.
// One list call per kind and page, never one call per pod.
package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/pager"

	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/source"
	"github.com/oomdoctor/oomdoctor/internal/workload"
)

// DefaultChunkSize is kubectl's page size for lists.
const DefaultChunkSize = 500

// Source reads a live cluster.
type Source struct {
	client    kubernetes.Interface
	meta      metadata.Interface
	dyn       dynamic.Interface
	server    string
	context   string
	chunkSize int64
	requests  atomic.Int64
}

// Options configure a Source.
type Options struct {
	// Context is the kubeconfig context in use, for reports.
	Context string
	// ChunkSize is the page size of list calls; 0 means DefaultChunkSize.
	ChunkSize int64
}

// New makes a Source from a REST config. The config is copied; pods and
// events are read in protobuf, which the API server encodes and oomdoctor
// decodes several times faster than JSON.
func New(cfg *rest.Config, opts Options) (*Source, error) {
	s := &Source{server: cfg.Host, context: opts.Context, chunkSize: opts.ChunkSize}
	if s.chunkSize <= 0 {
		s.chunkSize = DefaultChunkSize
	}
	cfg = rest.CopyConfig(cfg)
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 50, 100
	}
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return countingTransport{next: rt, n: &s.requests}
	})
	metaCfg := rest.CopyConfig(cfg)
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	var err error
	if s.client, err = kubernetes.NewForConfig(cfg); err != nil {
		return nil, fmt.Errorf("creating a client for %s: %w", cfg.Host, err)
	}
	if s.meta, err = metadata.NewForConfig(metaCfg); err != nil {
		return nil, fmt.Errorf("creating a metadata client for %s: %w", cfg.Host, err)
	}
	if s.dyn, err = dynamic.NewForConfig(metaCfg); err != nil {
		return nil, fmt.Errorf("creating a dynamic client for %s: %w", cfg.Host, err)
	}
	return s, nil
}

// Client is the typed clientset the source reads through.
func (s *Source) Client() kubernetes.Interface { return s.client }

// Requests is the number of HTTP requests sent to the API server so far.
func (s *Source) Requests() int64 { return s.requests.Load() }

// Describe implements source.Source.
func (s *Source) Describe() model.Source {
	return model.Source{Type: "cluster", Server: s.server, Context: s.context}
}

// ChunkSize is the page size of its lists.
func (s *Source) ChunkSize() int64 { return s.chunkSize }

// AsOf implements source.Source: a live cluster is read now.
func (s *Source) AsOf() time.Time { return time.Time{} }

// each lists page by page through the pager, which falls back to one full
// list when a continue token expires. One page is fetched ahead while the
// previous one is processed.
func (s *Source) each(ctx context.Context, opts metav1.ListOptions, list func(context.Context, metav1.ListOptions) (runtime.Object, error), fn func(runtime.Object) error) error {
	p := pager.New(pager.SimplePageFunc(func(o metav1.ListOptions) (runtime.Object, error) {
		return list(ctx, o)
	}))
	p.PageSize = s.chunkSize
	p.PageBufferSize = 1
	return p.EachListItem(ctx, opts, fn)
}

// Pods implements source.Source.
func (s *Source) Pods(ctx context.Context, scope source.Scope, fn func(*corev1.Pod) error) error {
	pods := s.client.CoreV1().Pods(scope.Namespace)
	opts := metav1.ListOptions{LabelSelector: scope.LabelSelector}
	return s.each(ctx, opts, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
		return pods.List(ctx, o)
	}, func(obj runtime.Object) error {
		return fn(obj.(*corev1.Pod))
	})
}

// Nodes implements source.NodeSource.
func (s *Source) Nodes(ctx context.Context, fn func(*corev1.Node) error) error {
	nodes := s.client.CoreV1().Nodes()
	return s.each(ctx, metav1.ListOptions{}, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
		return nodes.List(ctx, o)
	}, func(obj runtime.Object) error {
		return fn(obj.(*corev1.Node))
	})
}

// LimitRanges implements source.LimitRangeSource.
func (s *Source) LimitRanges(ctx context.Context, namespace string, fn func(*corev1.LimitRange) error) error {
	return s.EachObject(ctx, kindOf("limitranges"), namespace, func(o runtime.Object) error { return fn(o.(*corev1.LimitRange)) })
}

// ResourceQuotas implements source.ResourceQuotaSource.
func (s *Source) ResourceQuotas(ctx context.Context, namespace string, fn func(*corev1.ResourceQuota) error) error {
	return s.EachObject(ctx, kindOf("resourcequotas"), namespace, func(o runtime.Object) error { return fn(o.(*corev1.ResourceQuota)) })
}

// Rollouts implements source.RolloutSource.
func (s *Source) Rollouts(ctx context.Context, namespace string, fn func(runtime.Object) error) error {
	for _, r := range []string{"deployments.apps", "daemonsets.apps"} {
		if err := s.EachObject(ctx, kindOf(r), namespace, fn); err != nil {
			return err
		}
	}
	return nil
}

// HPAs implements source.HPASource.
func (s *Source) HPAs(ctx context.Context, namespace string, fn func(*autoscalingv2.HorizontalPodAutoscaler) error) error {
	return s.EachObject(ctx, kindOf("horizontalpodautoscalers.autoscaling"), namespace, func(o runtime.Object) error {
		return fn(o.(*autoscalingv2.HorizontalPodAutoscaler))
	})
}

// VPAs implements source.VPASource: none when the cluster has no
// VerticalPodAutoscaler CRD.
func (s *Source) VPAs(ctx context.Context, namespace string, fn func(*unstructured.Unstructured) error) error {
	// Discovery first (every user may read it): a cluster without the
	// CRD has nothing to list, and a user without the right to list it
	// there is not told so.
	s.requests.Add(1)
	rs, err := s.client.Discovery().ServerResourcesForGroupVersion(workload.VPAResource.GroupVersion().String())
	if apierrors.IsNotFound(err) || err == nil && !slices.ContainsFunc(rs.APIResources, func(r metav1.APIResource) bool { return r.Name == workload.VPAResource.Resource }) {
		return nil
	}
	if err != nil {
		return err
	}
	vpas := s.dyn.Resource(workload.VPAResource).Namespace(namespace)
	err = s.each(ctx, metav1.ListOptions{}, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
		return vpas.List(ctx, o)
	}, func(obj runtime.Object) error {
		return fn(obj.(*unstructured.Unstructured))
	})
	if apierrors.IsNotFound(err) {
		return nil // the CRD went away
	}
	return err
}

// Events implements source.Source; the filter becomes a field selector.
func (s *Source) Events(ctx context.Context, filter source.EventFilter, fn func(*corev1.Event) error) error {
	set := fields.Set{}
	if filter.InvolvedKind != "" {
		set["involvedObject.kind"] = filter.InvolvedKind
	}
	if filter.WarningOnly {
		set["type"] = corev1.EventTypeWarning
	}
	events := s.client.CoreV1().Events(filter.Namespace)
	opts := metav1.ListOptions{FieldSelector: fields.SelectorFromSet(set).String()}
	return s.each(ctx, opts, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
		return events.List(ctx, o)
	}, func(obj runtime.Object) error {
		return fn(obj.(*corev1.Event))
	})
}

var ownerResources = map[source.OwnerKind]schema.GroupVersionResource{
	source.ReplicaSets: {Group: "apps", Version: "v1", Resource: "replicasets"},
	source.Jobs:        {Group: "batch", Version: "v1", Resource: "jobs"},
}

// ControllerOwners implements source.Source with metadata-only lists: the
// server sends names and owner references, not whole objects.
func (s *Source) ControllerOwners(ctx context.Context, kind source.OwnerKind, namespace string) (map[source.ObjectKey]metav1.OwnerReference, error) {
	gvr, ok := ownerResources[kind]
	if !ok {
		return nil, fmt.Errorf("unknown owner kind %q", kind)
	}
	res := s.meta.Resource(gvr).Namespace(namespace)
	out := map[source.ObjectKey]metav1.OwnerReference{}
	err := s.each(ctx, metav1.ListOptions{}, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
		return res.List(ctx, o)
	}, func(obj runtime.Object) error {
		m := obj.(*metav1.PartialObjectMetadata)
		if ref := metav1.GetControllerOfNoCopy(m); ref != nil {
			out[source.ObjectKey{Namespace: m.Namespace, Name: m.Name}] = *ref
		}
		return nil
	})
	return out, err
}

type countingTransport struct {
	next http.RoundTripper
	n    *atomic.Int64
}

// WrappedRoundTripper lets client-go reach the transport below, to cancel
// requests that time out.
func (t countingTransport) WrappedRoundTripper() http.RoundTripper { return t.next }

func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.n.Add(1)
	return t.next.RoundTrip(r)
}

// Log reads the end of a container's log: its last lines, at most
// maxBytes from the first of them; of its previous run (kubectl logs
// --previous), or of its current one.
func (s *Source) Log(ctx context.Context, namespace, pod, container string, previous bool, lines, maxBytes int64) (string, error) {
	s.requests.Add(1)
	b, err := s.client.CoreV1().Pods(namespace).GetLogs(pod, &corev1.PodLogOptions{Container: container, Previous: previous, TailLines: &lines, LimitBytes: &maxBytes}).DoRaw(ctx)
	if err != nil {
		// The API server's reason is in the body ("no preferred addresses
		// found", the kubelet unreachable); the error says "unknown".
		var st metav1.Status
		if json.Unmarshal(b, &st) == nil && st.Kind == "Status" && st.Message != "" && !apierrors.IsForbidden(err) && !apierrors.IsNotFound(err) {
			return "", fmt.Errorf("reading the log of %s/%s container %s: %s", namespace, pod, container, st.Message)
		}
		return "", err
	}
	return string(b), nil
}

// ConfigMap reads one ConfigMap (for env that comes from it).
func (s *Source) ConfigMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error) {
	s.requests.Add(1)
	return s.client.CoreV1().ConfigMaps(namespace).Get(ctx, name, metav1.GetOptions{})
}
