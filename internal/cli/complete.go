package cli

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/clientcmd/api"

	"github.com/spf13/cobra"

	"github.com/oomdoctor/oomdoctor/internal/alerts"
	"github.com/oomdoctor/oomdoctor/internal/detect"
	"github.com/oomdoctor/oomdoctor/internal/manifest"
	"github.com/oomdoctor/oomdoctor/internal/recommend"
	"github.com/oomdoctor/oomdoctor/internal/report"
	"github.com/oomdoctor/oomdoctor/internal/source/snapshot"
	"github.com/oomdoctor/oomdoctor/internal/usage/prom"
)

// Shell completion: what Tab offers after a flag or as an argument, read
// from the kubeconfig, from the snapshot the command reads (--snapshot),
// from the files it fixes (-f) or from the cluster, as kubectl's own
// completion reads it. `oomdoctor completion SHELL` writes the script;
// run as kubectl_complete-oomdoctor, the binary answers kubectl's
// completion of the plugin.

// completeTimeout bounds a completion's requests to the API server, unless
// --request-timeout says otherwise: a shell waits for them.
const completeTimeout = 5 * time.Second

// outputFormats are the -o values of each command.
var outputFormats = map[string][]string{
	"scan":      report.Formats(),
	"explain":   {"text", "json", "yaml"},
	"lint":      report.LintFormats(),
	"fix":       {"json", "yaml"},
	"node":      {"text", "json", "yaml"},
	"recommend": {"table", "wide", "json", "yaml"},
	"replay":    {"table", "json", "yaml"},
	"alerts":    alerts.Formats,
	"profile":   {"text", "json"},
	"version":   {"json"},
}

// workloadKinds are the kinds of TYPE/NAME arguments, by the word that
// names them, in the order offered.
var workloadKinds = []string{"deployment", "statefulset", "daemonset", "cronjob", "job", "replicaset"}

// addCompletions registers the completions of every command of root.
func addCompletions(root *cobra.Command, flags *genericclioptions.ConfigFlags) {
	kubeconfig := func(pick func(*api.Config) []string) cobra.CompletionFunc {
		return func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			raw, err := flags.ToRawKubeConfigLoader().RawConfig()
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			names := pick(&raw)
			slices.Sort(names)
			return startingWith(toComplete, names), cobra.ShellCompDirectiveNoFileComp
		}
	}
	must(root.RegisterFlagCompletionFunc("context", kubeconfig(func(c *api.Config) []string { return slices.Collect(maps.Keys(c.Contexts)) })))
	must(root.RegisterFlagCompletionFunc("cluster", kubeconfig(func(c *api.Config) []string { return slices.Collect(maps.Keys(c.Clusters)) })))
	must(root.RegisterFlagCompletionFunc("user", kubeconfig(func(c *api.Config) []string { return slices.Collect(maps.Keys(c.AuthInfos)) })))
	namespaces := func(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return listed(cmd, flags, toComplete, func(ctx context.Context, l lister) ([]string, error) { return l.namespaces(ctx) })
	}
	must(root.RegisterFlagCompletionFunc("namespace", namespaces))
	for _, cmd := range root.Commands() {
		name := cmd.Name()
		if cmd.LocalNonPersistentFlags().Lookup("namespace") != nil {
			// Its own -n (recommend's, replay's: Prometheus' namespace).
			must(cmd.RegisterFlagCompletionFunc("namespace", namespaces))
		}
		if formats, ok := outputFormats[name]; ok && cmd.Flags().Lookup("output") != nil {
			must(cmd.RegisterFlagCompletionFunc("output", fixed(formats)))
		}
		if cmd.Flags().Lookup("strategy") != nil {
			must(cmd.RegisterFlagCompletionFunc("strategy", fixed(recommend.Names())))
		}
		if cmd.Flags().Lookup("prometheus-service") != nil {
			must(cmd.RegisterFlagCompletionFunc("prometheus-service", func(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
				found, _ := listed(cmd, flags, "", func(ctx context.Context, l lister) ([]string, error) {
					c, ok := l.(*clusterLister)
					if !ok {
						return nil, nil
					}
					return prom.Candidates(ctx, c.client)
				})
				return startingWith(toComplete, append([]string{"auto"}, found...)), cobra.ShellCompDirectiveNoFileComp
			}))
		}
		switch name {
		case "snapshot":
			must(cmd.MarkFlagDirname("output"))
		case "explain":
			cmd.ValidArgsFunction = func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
				if len(args) > 0 {
					return nil, cobra.ShellCompDirectiveNoFileComp
				}
				return listed(cmd, flags, toComplete, func(ctx context.Context, l lister) ([]string, error) { return podOrWorkload(ctx, l, toComplete) })
			}
			must(cmd.RegisterFlagCompletionFunc("container", func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
				if len(args) == 0 || strings.Contains(args[0], "/") {
					return nil, cobra.ShellCompDirectiveNoFileComp
				}
				return listed(cmd, flags, toComplete, func(ctx context.Context, l lister) ([]string, error) { return l.containers(ctx, args[0]) })
			}))
		case "node":
			cmd.ValidArgsFunction = func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
				if len(args) > 0 {
					return nil, cobra.ShellCompDirectiveNoFileComp
				}
				return listed(cmd, flags, toComplete, func(ctx context.Context, l lister) ([]string, error) { return l.names(ctx, "Node") })
			}
		case "recommend":
			cmd.ValidArgsFunction = func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
				if len(args) > 0 {
					return nil, cobra.ShellCompDirectiveNoFileComp
				}
				return workloadArg(cmd, flags, toComplete, nil)
			}
		case "fix":
			cmd.ValidArgsFunction = func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
				return workloadArg(cmd, flags, toComplete, args)
			}
		}
	}
}

// podOrWorkload completes explain's argument: a pod, POD/CONTAINER, or
// TYPE/NAME.
func podOrWorkload(ctx context.Context, l lister, toComplete string) ([]string, error) {
	before, _, named := strings.Cut(toComplete, "/")
	if !named {
		return l.names(ctx, "Pod")
	}
	kind, err := canonicalKind(before)
	switch {
	case err != nil && isKindWord(before):
		return nil, nil // a kind explain does not take
	case err != nil:
		cs, err := l.containers(ctx, before)
		return prefixed(before+"/", cs, ""), err
	}
	if kind == "Pod" {
		// pod/NAME, and pod/NAME/CONTAINER.
		rest := strings.TrimPrefix(toComplete, before+"/")
		if pod, _, ok := strings.Cut(rest, "/"); ok {
			cs, err := l.containers(ctx, pod)
			return prefixed(before+"/"+pod+"/", cs, ""), err
		}
	}
	names, err := l.names(ctx, kind)
	return prefixed(before+"/", names, ""), err
}

// workloadArg completes a TYPE/NAME argument of fix or recommend: the
// kinds first (TYPE/, the space held back), then the names of the kind
// typed, from the files of -f when fix has them (not --apply), else from
// the snapshot or the cluster. Those given already are left out.
func workloadArg(cmd *cobra.Command, flags *genericclioptions.ConfigFlags, toComplete string, given []string) ([]cobra.Completion, cobra.ShellCompDirective) {
	before, _, named := strings.Cut(toComplete, "/")
	if !named {
		return startingWith(toComplete, prefixed("", workloadKinds, "/")), cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	}
	kind, err := canonicalKind(before)
	if err != nil || kind == "Pod" {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var names []string
	files, _ := cmd.Flags().GetStringSlice("filename")
	apply, _ := cmd.Flags().GetBool("apply")
	rendered := flagSet(cmd, "kustomize") || flagSet(cmd, "chart")
	switch {
	case rendered && !apply:
		// A build or a render names them: too slow for a Tab.
	case len(files) > 0 && !apply:
		names = fileWorkloads(files, kind)
	default:
		names, _ = listed(cmd, flags, "", func(ctx context.Context, l lister) ([]string, error) { return l.names(ctx, kind) })
	}
	out := slices.DeleteFunc(startingWith(toComplete, prefixed(before+"/", names, "")), func(s string) bool { return slices.Contains(given, s) })
	return out, cobra.ShellCompDirectiveNoFileComp
}

// flagSet tells whether the command has the flag and it was given.
func flagSet(cmd *cobra.Command, name string) bool {
	f := cmd.Flags().Lookup(name)
	return f != nil && f.Changed
}

// fileWorkloads are the names of the workloads of a kind in the files (of
// every namespace: -n does not choose among a file's objects).
func fileWorkloads(inputs []string, kind string) []string {
	files, err := manifest.ExpandInputs(slices.DeleteFunc(slices.Clone(inputs), func(s string) bool { return s == "-" }))
	if err != nil {
		return nil
	}
	var names []string
	_ = manifest.Read(files, nil, nil, func(obj *manifest.Object) error {
		if obj.Kind == kind && !slices.Contains(names, obj.Name) {
			names = append(names, obj.Name)
		}
		return nil
	})
	slices.Sort(names)
	return names
}

// listed runs list against the command's snapshot (--snapshot) or the
// cluster of the kubeconfig flags; an error offers nothing, as kubectl's
// completion does (cobra's debug log, BASH_COMP_DEBUG_FILE, has it).
func listed(cmd *cobra.Command, flags *genericclioptions.ConfigFlags, toComplete string, list func(context.Context, lister) ([]string, error)) ([]cobra.Completion, cobra.ShellCompDirective) {
	l, err := newLister(cmd, flags)
	if err != nil {
		cobra.CompDebugln("oomdoctor completion: "+err.Error(), false)
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), completeTimeout)
	defer cancel()
	out, err := list(ctx, l)
	if err != nil {
		cobra.CompDebugln("oomdoctor completion: "+err.Error(), false)
	}
	return startingWith(toComplete, out), cobra.ShellCompDirectiveNoFileComp
}

// fixed offers the names that begin with what is typed.
func fixed(names []string) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return startingWith(toComplete, slices.Clone(names)), cobra.ShellCompDirectiveNoFileComp
	}
}

// startingWith keeps the names that begin with what is typed.
func startingWith(typed string, names []string) []string {
	return slices.DeleteFunc(names, func(n string) bool { return !strings.HasPrefix(n, typed) })
}

// lister reads the names completion offers.
type lister interface {
	namespaces(ctx context.Context) ([]string, error)
	// names of a kind (Pod, Deployment, ..., Node) in the namespace.
	names(ctx context.Context, kind string) ([]string, error)
	// containers of a pod of the namespace: init, regular and ephemeral.
	containers(ctx context.Context, pod string) ([]string, error)
}

func newLister(cmd *cobra.Command, flags *genericclioptions.ConfigFlags) (lister, error) {
	ns := ""
	if f := cmd.Flags().Lookup("namespace"); f != nil {
		ns = f.Value.String() // the kubeconfig flags' -n, or the command's own
	}
	if f := cmd.Flags().Lookup("snapshot"); f != nil && f.Value.String() != "" {
		s, err := snapshot.Load(f.Value.String())
		if err != nil {
			return nil, err
		}
		return &snapshotLister{objects: &s.Objects, ns: ns}, nil
	}
	cfg, err := restConfig(flags, "")
	if err != nil {
		return nil, err
	}
	if flags.Timeout == nil || *flags.Timeout == "0" {
		cfg.Timeout = completeTimeout
	}
	if ns == "" {
		ns, _, _ = flags.ToRawKubeConfigLoader().Namespace()
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	meta, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &clusterLister{client: client, meta: meta, ns: ns}, nil
}

// clusterLister lists names with metadata-only requests.
type clusterLister struct {
	client kubernetes.Interface
	meta   metadata.Interface
	ns     string
}

var kindResources = map[string]schema.GroupVersionResource{
	"Pod":         {Version: "v1", Resource: "pods"},
	"Node":        {Version: "v1", Resource: "nodes"},
	"Namespace":   {Version: "v1", Resource: "namespaces"},
	"Deployment":  {Group: "apps", Version: "v1", Resource: "deployments"},
	"StatefulSet": {Group: "apps", Version: "v1", Resource: "statefulsets"},
	"DaemonSet":   {Group: "apps", Version: "v1", Resource: "daemonsets"},
	"ReplicaSet":  {Group: "apps", Version: "v1", Resource: "replicasets"},
	"Job":         {Group: "batch", Version: "v1", Resource: "jobs"},
	"CronJob":     {Group: "batch", Version: "v1", Resource: "cronjobs"},
}

func (c *clusterLister) namespaces(ctx context.Context) ([]string, error) {
	return c.list(ctx, "Namespace", "")
}

func (c *clusterLister) names(ctx context.Context, kind string) ([]string, error) {
	ns := c.ns
	if kind == "Node" {
		ns = ""
	}
	return c.list(ctx, kind, ns)
}

func (c *clusterLister) list(ctx context.Context, kind, ns string) ([]string, error) {
	gvr, ok := kindResources[kind]
	if !ok {
		return nil, nil
	}
	var res metadata.ResourceInterface = c.meta.Resource(gvr)
	if ns != "" {
		res = c.meta.Resource(gvr).Namespace(ns)
	}
	list, err := res.List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := make([]string, len(list.Items))
	for i, it := range list.Items {
		out[i] = it.Name
	}
	slices.Sort(out)
	return out, nil
}

func (c *clusterLister) containers(ctx context.Context, pod string) ([]string, error) {
	p, err := c.client.CoreV1().Pods(c.ns).Get(ctx, pod, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return detect.ContainerNames(p), nil
}

// snapshotLister lists the names of a snapshot's objects.
type snapshotLister struct {
	objects *snapshot.Objects
	ns      string
}

func (s *snapshotLister) namespaces(context.Context) ([]string, error) {
	var out []string
	for _, p := range s.objects.Pods {
		if !slices.Contains(out, p.Namespace) {
			out = append(out, p.Namespace)
		}
	}
	slices.Sort(out)
	return out, nil
}

func (s *snapshotLister) names(_ context.Context, kind string) ([]string, error) {
	o := s.objects
	var metas []metav1.ObjectMeta
	switch kind {
	case "Pod":
		metas = objectMetas(o.Pods, func(x corev1.Pod) metav1.ObjectMeta { return x.ObjectMeta })
	case "Node":
		metas = objectMetas(o.Nodes, func(x corev1.Node) metav1.ObjectMeta { return x.ObjectMeta })
	case "Deployment":
		metas = objectMetas(o.Deployments, func(x appsv1.Deployment) metav1.ObjectMeta { return x.ObjectMeta })
	case "StatefulSet":
		metas = objectMetas(o.StatefulSets, func(x appsv1.StatefulSet) metav1.ObjectMeta { return x.ObjectMeta })
	case "DaemonSet":
		metas = objectMetas(o.DaemonSets, func(x appsv1.DaemonSet) metav1.ObjectMeta { return x.ObjectMeta })
	case "ReplicaSet":
		metas = objectMetas(o.ReplicaSets, func(x appsv1.ReplicaSet) metav1.ObjectMeta { return x.ObjectMeta })
	case "Job":
		metas = objectMetas(o.Jobs, func(x batchv1.Job) metav1.ObjectMeta { return x.ObjectMeta })
	case "CronJob":
		metas = objectMetas(o.CronJobs, func(x batchv1.CronJob) metav1.ObjectMeta { return x.ObjectMeta })
	}
	var out []string
	for _, m := range metas {
		if (kind == "Node" || s.ns == "" || m.Namespace == s.ns) && !slices.Contains(out, m.Name) {
			out = append(out, m.Name)
		}
	}
	slices.Sort(out)
	return out, nil
}

// objectMetas are the metadata of a snapshot's objects of one kind.
func objectMetas[T any](items []T, meta func(T) metav1.ObjectMeta) []metav1.ObjectMeta {
	out := make([]metav1.ObjectMeta, len(items))
	for i, it := range items {
		out[i] = meta(it)
	}
	return out
}

func (s *snapshotLister) containers(_ context.Context, pod string) ([]string, error) {
	for i := range s.objects.Pods {
		if p := &s.objects.Pods[i]; p.Name == pod && (s.ns == "" || p.Namespace == s.ns) {
			return detect.ContainerNames(p), nil
		}
	}
	return nil, nil
}

// prefixed puts p before every name and after it suffix.
func prefixed(p string, names []string, suffix string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = p + n + suffix
	}
	return out
}

// must panics on an error that only a wrong flag name in this file makes.
func must(err error) {
	if err != nil {
		panic(err)
	}
}
