package cli

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/oomdoctor/oomdoctor/internal/scan"
	"github.com/oomdoctor/oomdoctor/internal/source"
	"github.com/oomdoctor/oomdoctor/internal/source/kube"
	"github.com/oomdoctor/oomdoctor/internal/source/snapshot"
	"github.com/oomdoctor/oomdoctor/internal/version"
)

// SnapshotOptions are the options of `oomdoctor snapshot`.
type SnapshotOptions struct {
	flags *genericclioptions.ConfigFlags
	genericiooptions.IOStreams

	Dir           string
	AllNamespaces bool
	ChunkSize     int64
	Now           func() time.Time

	namespace string
}

// NewSnapshotCommand builds `oomdoctor snapshot`.
func NewSnapshotCommand(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	return newSnapshotCommand(flags, streams, time.Now)
}

func newSnapshotCommand(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams, now func() time.Time) *cobra.Command {
	o := &SnapshotOptions{flags: flags, IOStreams: streams, AllNamespaces: true, ChunkSize: kube.DefaultChunkSize, Now: now}
	cmd := &cobra.Command{
		Use:   "snapshot -o DIR",
		Short: "Save what scan needs from a live cluster into a folder, to read offline or hand to someone",
		Long: `Write pods, events, nodes, deployments, replicasets, statefulsets, daemonsets, jobs
and cronjobs as "kubectl get -o json" Lists, one file per kind, plus ` + snapshot.InfoFile + `
(when, from which server). "oomdoctor scan --snapshot DIR" then answers as the cluster
would have at capture time.

Every namespace is captured unless -n is given. Each file is written whole or not at
all (temporary file and rename). DIR must be new, empty, or an earlier snapshot,
which is replaced. managedFields are left out. Pod specs include environment
variables: check a bundle before you share it.`,
		Example: `  oomdoctor snapshot -o ./bundle
  oomdoctor snapshot -n shop -o ./shop-bundle && oomdoctor scan --snapshot ./shop-bundle`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Complete(cmd); err != nil {
				return err
			}
			return o.Run(cmd)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.Dir, "output", "o", "", "Folder to write the snapshot to (required).")
	f.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", true, "Capture every namespace. This is the default; -n NAMESPACE captures one.")
	f.Int64Var(&o.ChunkSize, "chunk-size", o.ChunkSize, "Objects per list request.")
	return cmd
}

// Complete resolves the namespace and checks the flags.
func (o *SnapshotOptions) Complete(cmd *cobra.Command) error {
	if o.Dir == "" {
		return usagef("snapshot needs a folder to write: -o DIR")
	}
	if cmd.Flags().Changed("namespace") && !cmd.Flags().Changed("all-namespaces") {
		o.AllNamespaces = false
	}
	if !o.AllNamespaces && o.flags.Namespace != nil {
		o.namespace = *o.flags.Namespace
	}
	if o.ChunkSize <= 0 {
		return usagef("--chunk-size must be positive, got %d", o.ChunkSize)
	}
	return nil
}

// readError explains a failure to list resource for the snapshot.
func (o *SnapshotOptions) readError(resource string, err error) *scan.ReadError {
	return &scan.ReadError{Resource: resource, Where: scan.Where(o.namespace), Err: err, Capturing: true}
}

// Run captures the snapshot.
func (o *SnapshotOptions) Run(cmd *cobra.Command) error {
	ctx := cmd.Context()
	src, err := openClusterHint(o.flags, o.ChunkSize, "")
	if err != nil {
		return err
	}
	info := snapshot.Info{
		CapturedAt:       metav1.NewTime(o.Now().UTC().Truncate(time.Second)),
		Server:           src.Describe().Server,
		Context:          src.Describe().Context,
		Namespace:        o.namespace,
		OOMDoctorVersion: version.Get().Version,
	}
	if v, err := src.ServerVersion(); err == nil {
		info.ServerVersion = v
	} else {
		return &scan.ReadError{Resource: "version", Where: "from " + info.Server, Err: err, Capturing: true}
	}
	w, err := snapshot.NewWriter(o.Dir)
	if err != nil {
		return asUsage(err)
	}
	prog := newProgress(o.ErrOut)
	var counts []string
	cmRefs := map[source.ObjectKey]bool{}
	for _, k := range kube.SnapshotKinds {
		file := strings.SplitN(k.Resource, ".", 2)[0] + ".json"
		n, err := w.WriteList(file, func(emit func(runtime.Object) error) error {
			count := 0
			each := func(obj runtime.Object) error {
				if p, ok := obj.(*corev1.Pod); ok {
					for _, k := range source.ConfigMapRefs(p) {
						cmRefs[k] = true
					}
				}
				count++
				if count%500 == 0 {
					prog.Update(k.Resource, count)
				}
				return emit(obj)
			}
			if err := src.EachObject(ctx, k, o.namespace, each); err != nil {
				return err
			}
			if k.Resource == "events" && o.namespace != "" && o.namespace != metav1.NamespaceDefault {
				// Node events live in "default"; scan reads them for the
				// nodes of the namespace's pods.
				filter := source.EventFilter{Namespace: metav1.NamespaceDefault, InvolvedKind: "Node"}
				return src.Events(ctx, filter, func(e *corev1.Event) error {
					e.SetGroupVersionKind(k.GVK)
					return each(e)
				})
			}
			return nil
		})
		prog.Done()
		if err != nil {
			var status apierrors.APIStatus
			if k.Resource != "pods" && errors.As(err, &status) && (apierrors.IsForbidden(err) || apierrors.IsNotFound(err)) {
				msg := o.readError(k.Resource, err).Error()
				info.Warnings = append(info.Warnings, msg)
				fmt.Fprintf(o.ErrOut, "warning: %s; the snapshot has no %s.\n", strings.TrimSuffix(msg, "."), k.Resource)
				continue
			}
			return o.readError(k.Resource, err)
		}
		counts = append(counts, fmt.Sprintf("%d %s", n, strings.TrimSuffix(file, ".json")))
	}
	// VerticalPodAutoscalers, where the cluster has them: one in an
	// updating mode sets the memory of its target's new pods.
	n, err := w.WriteList("verticalpodautoscalers.json", func(emit func(runtime.Object) error) error {
		return src.VPAs(ctx, o.namespace, func(u *unstructured.Unstructured) error { return emit(u) })
	})
	if err != nil {
		var status apierrors.APIStatus
		if !errors.As(err, &status) || !apierrors.IsForbidden(err) {
			return o.readError("verticalpodautoscalers.autoscaling.k8s.io", err)
		}
		msg := o.readError("verticalpodautoscalers.autoscaling.k8s.io", err).Error()
		info.Warnings = append(info.Warnings, msg)
		fmt.Fprintf(o.ErrOut, "warning: %s; the snapshot has no verticalpodautoscalers.\n", strings.TrimSuffix(msg, "."))
	} else {
		counts = append(counts, fmt.Sprintf("%d verticalpodautoscalers", n))
	}
	// The ConfigMaps the pods' env comes from (heap flags live there), and
	// only those.
	keys := make([]source.ObjectKey, 0, len(cmRefs))
	for k := range cmRefs {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].Namespace+"/"+keys[i].Name < keys[j].Namespace+"/"+keys[j].Name })
	var cmErrs []string
	n, err = w.WriteList("configmaps.json", func(emit func(runtime.Object) error) error {
		for _, k := range keys {
			cm, err := src.ConfigMap(ctx, k.Namespace, k.Name)
			if err != nil {
				if !apierrors.IsNotFound(err) {
					cmErrs = append(cmErrs, k.Namespace+"/"+k.Name+": "+err.Error())
				}
				continue
			}
			cm.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ConfigMap"))
			if err := emit(cm); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(cmErrs) > 0 {
		msg := "reading the ConfigMaps the pods' env comes from: " + strings.Join(cmErrs, "; ")
		info.Warnings = append(info.Warnings, msg)
		fmt.Fprintf(o.ErrOut, "warning: %s; heap flags set through them are not in the snapshot.\n", msg)
	}
	counts = append(counts, fmt.Sprintf("%d configmaps", n))
	if err := w.Finish(info); err != nil {
		return err
	}
	fmt.Fprintf(o.ErrOut, "Wrote %s to %s.\n", strings.Join(counts, ", "), o.Dir)
	return nil
}
