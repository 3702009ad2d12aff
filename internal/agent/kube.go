//go:build linux

package agent

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// The agent talks to the API server through a REST client that knows core/v1
// only (pods to read, events to write): client-go's typed clientset would
// link every API group into the binary, which triples the agent's memory.

// Scheme holds core/v1.
var Scheme = runtime.NewScheme()

func init() {
	if err := corev1.AddToScheme(Scheme); err != nil {
		panic(err)
	}
}

// NewRESTClient makes a core/v1 client from a config.
func NewRESTClient(cfg *rest.Config) (*rest.RESTClient, error) {
	c := rest.CopyConfig(cfg)
	c.GroupVersion = &corev1.SchemeGroupVersion
	c.APIPath = "/api"
	c.NegotiatedSerializer = serializer.NewCodecFactory(Scheme).WithoutConversion()
	if c.UserAgent == "" {
		c.UserAgent = "oomdoctor-agent"
	}
	return rest.RESTClientFor(c)
}

// podListWatch lists and watches the pods of one node.
func podListWatch(rc rest.Interface, node string) *cache.ListWatch {
	sel := fields.OneTermEqualSelector("spec.nodeName", node).String()
	return cache.NewFilteredListWatchFromClient(rc, "pods", metav1.NamespaceAll, func(o *metav1.ListOptions) { o.FieldSelector = sel })
}

// eventSink writes Events for client-go's recorder.
type eventSink struct{ rc rest.Interface }

func (s eventSink) Create(e *corev1.Event) (*corev1.Event, error) {
	out := &corev1.Event{}
	err := s.rc.Post().Namespace(e.Namespace).Resource("events").Body(e).Do(context.Background()).Into(out)
	return out, err
}

func (s eventSink) Update(e *corev1.Event) (*corev1.Event, error) {
	out := &corev1.Event{}
	err := s.rc.Put().Namespace(e.Namespace).Resource("events").Name(e.Name).Body(e).Do(context.Background()).Into(out)
	return out, err
}

func (s eventSink) Patch(e *corev1.Event, data []byte) (*corev1.Event, error) {
	out := &corev1.Event{}
	err := s.rc.Patch(types.StrategicMergePatchType).Namespace(e.Namespace).Resource("events").Name(e.Name).Body(data).Do(context.Background()).Into(out)
	return out, err
}
