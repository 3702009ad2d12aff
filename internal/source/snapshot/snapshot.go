// Package snapshot reads and writes offline support bundles: folders (or
// single files) of Kubernetes objects as `kubectl get -o json|yaml` prints
// them. A snapshot answers every question a live cluster would, as of the
// moment it was captured.
package snapshot

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/source"
)

// Objects are the Kubernetes objects of a snapshot, by kind.
type Objects struct {
	Pods         []corev1.Pod
	Events       []corev1.Event
	Nodes        []corev1.Node
	Deployments  []appsv1.Deployment
	ReplicaSets  []appsv1.ReplicaSet
	StatefulSets []appsv1.StatefulSet
	DaemonSets   []appsv1.DaemonSet
	Jobs         []batchv1.Job
	CronJobs     []batchv1.CronJob
	ConfigMaps   []corev1.ConfigMap
	LimitRanges  []corev1.LimitRange
	Quotas       []corev1.ResourceQuota
	// VPAs are VerticalPodAutoscalers (a CRD), as read.
	VPAs []unstructured.Unstructured
	// HPAs are the HorizontalPodAutoscalers of autoscaling/v2 (v1 has
	// no memory metrics).
	HPAs []autoscalingv2.HorizontalPodAutoscaler
}

// Snapshot is a loaded snapshot; it implements source.Source.
type Snapshot struct {
	Objects Objects
	// Info is the snapshot's description, when it has one (snapshots
	// written by `oomdoctor snapshot`); zero for plain kubectl files.
	Info Info
	// Path is the file or folder it was loaded from.
	Path string
	// Ignored counts objects of kinds scan does not use, by kind.
	Ignored map[string]int
	// Duplicates counts objects seen in more than one file.
	Duplicates int
}

// Load reads a snapshot folder (every .json, .yaml and .yml file in it and
// below) or a single file. Any file that is not valid Kubernetes JSON or YAML
// is an error with its position; nothing is skipped silently.
func Load(path string) (*Snapshot, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("reading snapshot: %w", err)
	}
	s := &Snapshot{Path: path, Ignored: map[string]int{}}
	l := loader{s: s, seen: map[string]bool{}}
	if !st.IsDir() {
		if err := l.loadFile(path); err != nil {
			return nil, err
		}
		return s, nil
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != path && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if !d.IsDir() && isObjectFile(d.Name()) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading snapshot folder: %w", err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("snapshot folder %s has no .json, .yaml or .yml files; write one with `oomdoctor snapshot -o %s` or `kubectl get pods,events -A -o json > %s/cluster.json`", path, path, path)
	}
	sort.Strings(files)
	for _, f := range files {
		if err := l.loadFile(f); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func isObjectFile(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return (ext == ".json" || ext == ".yaml" || ext == ".yml") && !strings.HasPrefix(name, ".")
}

type loader struct {
	s    *Snapshot
	seen map[string]bool
}

func (l *loader) loadFile(file string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("reading snapshot: %w", err)
	}
	objs, err := splitFile(file, data)
	if err != nil {
		return err
	}
	for _, o := range objs {
		if err := l.add(file, data, o); err != nil {
			return err
		}
	}
	return nil
}

// decodeInto decodes an object into its type and appends it, unless an
// object of the same kind, namespace, name and UID was seen before.
func decodeInto[T any](l *loader, file string, data []byte, o rawObject, tm typeMeta, list *[]T, meta func(*T) *metav1.ObjectMeta) error {
	var v T
	if err := json.Unmarshal(o.data, &v); err != nil {
		return objectError(file, data, o, tm, err)
	}
	m := meta(&v)
	key := tm.Kind + "/" + m.Namespace + "/" + m.Name + "/" + string(m.UID)
	if l.seen[key] {
		l.s.Duplicates++
		return nil
	}
	l.seen[key] = true
	*list = append(*list, v)
	return nil
}

func (l *loader) add(file string, data []byte, o rawObject) error {
	var tm typeMeta
	if err := json.Unmarshal(o.data, &tm); err != nil {
		return objectError(file, data, o, tm, err)
	}
	if tm.Kind == "" {
		tm.Metadata.Name = ""
		return objectError(file, data, o, tm, fmt.Errorf("object has no \"kind\": expected Kubernetes objects or a List as `kubectl get -o json` writes them"))
	}
	group, _, _ := strings.Cut(tm.APIVersion, "/")
	if !strings.Contains(tm.APIVersion, "/") {
		group = ""
	}
	s := l.s
	switch group + "/" + tm.Kind {
	case "/Pod":
		return decodeInto(l, file, data, o, tm, &s.Objects.Pods, func(p *corev1.Pod) *metav1.ObjectMeta { return &p.ObjectMeta })
	case "/Event":
		return decodeInto(l, file, data, o, tm, &s.Objects.Events, func(p *corev1.Event) *metav1.ObjectMeta { return &p.ObjectMeta })
	case "events.k8s.io/Event":
		var ev eventsv1.Event
		if err := json.Unmarshal(o.data, &ev); err != nil {
			return objectError(file, data, o, tm, err)
		}
		s.Objects.Events = append(s.Objects.Events, fromEventsV1(&ev))
		return nil
	case "/ConfigMap":
		return decodeInto(l, file, data, o, tm, &s.Objects.ConfigMaps, func(p *corev1.ConfigMap) *metav1.ObjectMeta { return &p.ObjectMeta })
	case "autoscaling.k8s.io/VerticalPodAutoscaler":
		var u unstructured.Unstructured
		if err := u.UnmarshalJSON(o.data); err != nil {
			return objectError(file, data, o, tm, err)
		}
		s.Objects.VPAs = append(s.Objects.VPAs, u)
		return nil
	case "autoscaling/HorizontalPodAutoscaler":
		if tm.APIVersion == "autoscaling/v1" {
			break // CPU only: nothing about memory
		}
		return decodeInto(l, file, data, o, tm, &s.Objects.HPAs, func(p *autoscalingv2.HorizontalPodAutoscaler) *metav1.ObjectMeta { return &p.ObjectMeta })
	case "/LimitRange":
		return decodeInto(l, file, data, o, tm, &s.Objects.LimitRanges, func(p *corev1.LimitRange) *metav1.ObjectMeta { return &p.ObjectMeta })
	case "/ResourceQuota":
		return decodeInto(l, file, data, o, tm, &s.Objects.Quotas, func(p *corev1.ResourceQuota) *metav1.ObjectMeta { return &p.ObjectMeta })
	case "/Node":
		return decodeInto(l, file, data, o, tm, &s.Objects.Nodes, func(p *corev1.Node) *metav1.ObjectMeta { return &p.ObjectMeta })
	case "apps/Deployment":
		return decodeInto(l, file, data, o, tm, &s.Objects.Deployments, func(p *appsv1.Deployment) *metav1.ObjectMeta { return &p.ObjectMeta })
	case "apps/ReplicaSet":
		return decodeInto(l, file, data, o, tm, &s.Objects.ReplicaSets, func(p *appsv1.ReplicaSet) *metav1.ObjectMeta { return &p.ObjectMeta })
	case "apps/StatefulSet":
		return decodeInto(l, file, data, o, tm, &s.Objects.StatefulSets, func(p *appsv1.StatefulSet) *metav1.ObjectMeta { return &p.ObjectMeta })
	case "apps/DaemonSet":
		return decodeInto(l, file, data, o, tm, &s.Objects.DaemonSets, func(p *appsv1.DaemonSet) *metav1.ObjectMeta { return &p.ObjectMeta })
	case "batch/Job":
		return decodeInto(l, file, data, o, tm, &s.Objects.Jobs, func(p *batchv1.Job) *metav1.ObjectMeta { return &p.ObjectMeta })
	case "batch/CronJob":
		return decodeInto(l, file, data, o, tm, &s.Objects.CronJobs, func(p *batchv1.CronJob) *metav1.ObjectMeta { return &p.ObjectMeta })
	case "oomdoctor.io/" + InfoKind:
		if err := json.Unmarshal(o.data, &s.Info); err != nil {
			return objectError(file, data, o, tm, err)
		}
		return nil
	}
	s.Ignored[tm.Kind]++
	return nil
}

// fromEventsV1 converts an events.k8s.io/v1 Event to the core/v1 shape scan reads.
func fromEventsV1(e *eventsv1.Event) corev1.Event {
	out := corev1.Event{
		ObjectMeta:          e.ObjectMeta,
		InvolvedObject:      e.Regarding,
		Reason:              e.Reason,
		Message:             e.Note,
		Type:                e.Type,
		EventTime:           e.EventTime,
		ReportingController: e.ReportingController,
		ReportingInstance:   e.ReportingInstance,
		Source:              e.DeprecatedSource,
		FirstTimestamp:      e.DeprecatedFirstTimestamp,
		LastTimestamp:       e.DeprecatedLastTimestamp,
		Count:               e.DeprecatedCount,
	}
	if e.Series != nil {
		out.Series = &corev1.EventSeries{Count: e.Series.Count, LastObservedTime: e.Series.LastObservedTime}
	}
	return out
}

// Describe implements source.Source.
func (s *Snapshot) Describe() model.Source {
	return model.Source{Type: "snapshot", Path: s.Path, Server: s.Info.Server, Context: s.Info.Context}
}

// AsOf implements source.Source: the capture time, or zero (now) for plain
// kubectl files that do not record one.
func (s *Snapshot) AsOf() time.Time {
	if s.Info.CapturedAt.IsZero() {
		return time.Time{}
	}
	return s.Info.CapturedAt.Time
}

// Pods implements source.Source.
func (s *Snapshot) Pods(_ context.Context, scope source.Scope, fn func(*corev1.Pod) error) error {
	sel, err := labels.Parse(scope.LabelSelector)
	if err != nil {
		return fmt.Errorf("invalid label selector %q: %w", scope.LabelSelector, err)
	}
	for i := range s.Objects.Pods {
		p := &s.Objects.Pods[i]
		if scope.Namespace != "" && p.Namespace != scope.Namespace {
			continue
		}
		if !sel.Matches(labels.Set(p.Labels)) {
			continue
		}
		if err := fn(p); err != nil {
			return err
		}
	}
	return nil
}

// Nodes implements source.NodeSource.
func (s *Snapshot) Nodes(_ context.Context, fn func(*corev1.Node) error) error {
	for i := range s.Objects.Nodes {
		if err := fn(&s.Objects.Nodes[i]); err != nil {
			return err
		}
	}
	return nil
}

// inNamespace calls fn for every item of the namespace ("": all), by
// pointer into the snapshot's slice.
func inNamespace[T any, P interface {
	*T
	GetNamespace() string
}](items []T, namespace string, fn func(P) error) error {
	for i := range items {
		if p := P(&items[i]); namespace == "" || p.GetNamespace() == namespace {
			if err := fn(p); err != nil {
				return err
			}
		}
	}
	return nil
}

// LimitRanges implements source.LimitRangeSource.
func (s *Snapshot) LimitRanges(_ context.Context, namespace string, fn func(*corev1.LimitRange) error) error {
	return inNamespace(s.Objects.LimitRanges, namespace, fn)
}

// ResourceQuotas implements source.ResourceQuotaSource.
func (s *Snapshot) ResourceQuotas(_ context.Context, namespace string, fn func(*corev1.ResourceQuota) error) error {
	return inNamespace(s.Objects.Quotas, namespace, fn)
}

// Rollouts implements source.RolloutSource.
func (s *Snapshot) Rollouts(_ context.Context, namespace string, fn func(runtime.Object) error) error {
	if err := inNamespace(s.Objects.Deployments, namespace, func(d *appsv1.Deployment) error { return fn(d) }); err != nil {
		return err
	}
	return inNamespace(s.Objects.DaemonSets, namespace, func(d *appsv1.DaemonSet) error { return fn(d) })
}

// HPAs implements source.HPASource.
func (s *Snapshot) HPAs(_ context.Context, namespace string, fn func(*autoscalingv2.HorizontalPodAutoscaler) error) error {
	return inNamespace(s.Objects.HPAs, namespace, fn)
}

// VPAs implements source.VPASource.
func (s *Snapshot) VPAs(_ context.Context, namespace string, fn func(*unstructured.Unstructured) error) error {
	return inNamespace(s.Objects.VPAs, namespace, fn)
}

// ConfigMap returns a ConfigMap the snapshot holds.
func (s *Snapshot) ConfigMap(_ context.Context, namespace, name string) (*corev1.ConfigMap, error) {
	for i := range s.Objects.ConfigMaps {
		if c := &s.Objects.ConfigMaps[i]; c.Namespace == namespace && c.Name == name {
			return c, nil
		}
	}
	return nil, fmt.Errorf("configmap %s/%s is not in the snapshot (oomdoctor snapshot keeps the ConfigMaps the pods' env refers to)", namespace, name)
}

// Events implements source.Source.
func (s *Snapshot) Events(_ context.Context, filter source.EventFilter, fn func(*corev1.Event) error) error {
	for i := range s.Objects.Events {
		if filter.Matches(&s.Objects.Events[i]) {
			if err := fn(&s.Objects.Events[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// ControllerOwners implements source.Source.
func (s *Snapshot) ControllerOwners(_ context.Context, kind source.OwnerKind, namespace string) (map[source.ObjectKey]metav1.OwnerReference, error) {
	out := map[source.ObjectKey]metav1.OwnerReference{}
	add := func(m *metav1.ObjectMeta) {
		if namespace != "" && m.Namespace != namespace {
			return
		}
		if ref := metav1.GetControllerOfNoCopy(m); ref != nil {
			out[source.ObjectKey{Namespace: m.Namespace, Name: m.Name}] = *ref
		}
	}
	switch kind {
	case source.ReplicaSets:
		for i := range s.Objects.ReplicaSets {
			add(&s.Objects.ReplicaSets[i].ObjectMeta)
		}
	case source.Jobs:
		for i := range s.Objects.Jobs {
			add(&s.Objects.Jobs[i].ObjectMeta)
		}
	default:
		return nil, fmt.Errorf("unknown owner kind %q", kind)
	}
	return out, nil
}
