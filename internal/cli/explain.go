package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"

	"github.com/oomdoctor/oomdoctor/internal/detect"
	"github.com/oomdoctor/oomdoctor/internal/diagnose"
	"github.com/oomdoctor/oomdoctor/internal/explain"
	"github.com/oomdoctor/oomdoctor/internal/fix"
	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/scan"
	"github.com/oomdoctor/oomdoctor/internal/source"
	"github.com/oomdoctor/oomdoctor/internal/source/kube"
	"github.com/oomdoctor/oomdoctor/internal/usage/prom"
	"github.com/oomdoctor/oomdoctor/internal/workload"
)

// ExplainOptions are the options of `oomdoctor explain`.
type ExplainOptions struct {
	flags *genericclioptions.ConfigFlags
	genericiooptions.IOStreams

	Target    string
	Container string
	Snapshot  string
	Output    string
	HTML      string
	Logs      bool
	Now       func() time.Time
	prom      *promFlags

	namespace      string
	kind, name     string // the target: kind "Pod" or a workload kind
	nsFromDefaults bool
}

// NewExplainCommand builds `oomdoctor explain`.
func NewExplainCommand(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	return newExplainCommand(flags, streams, time.Now)
}

func newExplainCommand(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams, now func() time.Time) *cobra.Command {
	o := &ExplainOptions{flags: flags, IOStreams: streams, Output: "text", Logs: true, Now: now, prom: newPromFlags(flags, streams.ErrOut)}
	cmd := &cobra.Command{
		Use:   "explain (POD[/CONTAINER] | TYPE/NAME) [-n NAMESPACE]",
		Short: "Explain why a container was killed: timeline, memory chart, causes with evidence, and the fix",
		Long: `Explain one pod's (or every pod of a workload's) kills in depth: a timeline of the kills,
a chart of memory over time against the request and the limit with the kills marked, every
cause oomdoctor finds (limit-too-low, memory-leak, request-limit-gap, node-pressure,
extra-processes, runtime-heap, page-cache, tmpfs-volume, not-oom, runtime-oom) with its confidence, its
evidence in numbers and the fix, and what data would decide the causes it cannot.

A container of the target whose last run exited with an error its status does not
explain has its log's last lines read (kubectl logs --previous) for its runtime's own
out-of-memory error (runtime-oom); --logs=false reads none.

Usage history comes from --prometheus-url (working set, RSS, page cache, limits and kills, at
--step, 5m by default). --html FILE also writes a self-contained HTML page with the same
content and the chart drawn as SVG (no network fetches).`,
		Example: `  oomdoctor explain cart-7c9d8f6b5-x2kqp -n shop --prometheus-url http://127.0.0.1:9090
  oomdoctor explain cart-7c9d8f6b5-x2kqp/cart -n shop --html cart.html
  oomdoctor explain deploy/cart -n shop --snapshot ./snap -o yaml`,
		Args: oneArg("a pod (POD or POD/CONTAINER) or a workload (TYPE/NAME: deploy/cart)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Target = args[0]
			if err := o.Complete(cmd); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.Container, "container", "c", "", "Only this container of the pod.")
	f.StringVar(&o.Snapshot, "snapshot", "", "Read a snapshot folder or file instead of a live cluster.")
	f.StringVarP(&o.Output, "output", "o", o.Output, "Output format: text, json or yaml.")
	f.StringVar(&o.HTML, "html", "", "Also write a self-contained HTML report (chart as SVG) to this file.")
	f.BoolVar(&o.Logs, "logs", o.Logs, "Read the log of the target's containers that exited with an error, for their runtime's out-of-memory error (needs get on pods/log).")
	o.prom.add(f)
	return cmd
}

// Complete parses the target and the namespace.
func (o *ExplainOptions) Complete(cmd *cobra.Command) error {
	if err := o.prom.misused(cmd.Flags(), false); err != nil {
		return err
	}
	switch o.Output {
	case "text", "json", "yaml":
	default:
		return usagef("unknown output format %q: valid formats are text, json, yaml", o.Output)
	}
	parts := strings.Split(o.Target, "/")
	switch {
	case len(parts) == 1 && parts[0] != "":
		o.kind, o.name = "Pod", parts[0]
	case len(parts) == 2 && parts[0] != "" && parts[1] != "":
		if k, err := canonicalKind(parts[0]); err == nil {
			o.kind, o.name = k, parts[1]
		} else if isKindWord(parts[0]) {
			return usagef("%q: %v", o.Target, err)
		} else {
			o.kind, o.name = "Pod", parts[0]
			if o.Container != "" && o.Container != parts[1] {
				return usagef("%q names container %s but -c says %s", o.Target, parts[1], o.Container)
			}
			o.Container = parts[1]
		}
	case len(parts) == 3 && strings.EqualFold(parts[0], "pod") || len(parts) == 3 && strings.EqualFold(parts[0], "po"):
		o.kind, o.name, o.Container = "Pod", parts[1], parts[2]
	default:
		return usagef("%q: name a pod (POD or POD/CONTAINER) or a workload (deploy/NAME, sts/NAME, ds/NAME, job/NAME, cronjob/NAME)", o.Target)
	}
	if o.Snapshot != "" && cmd.Flags().Changed("logs") && o.Logs {
		return usagef("--logs reads the containers' logs from a live cluster; a snapshot holds none (a termination message is read without it)")
	}
	if o.Snapshot != "" {
		for _, name := range clusterFlags {
			if cmd.Flags().Changed(name) {
				return usagef("--%s selects a live cluster and cannot be used with --snapshot, which reads files", name)
			}
		}
	}
	if cmd.Flags().Changed("namespace") && o.flags.Namespace != nil {
		o.namespace = *o.flags.Namespace
	} else if o.Snapshot == "" {
		ns, _, err := o.flags.ToRawKubeConfigLoader().Namespace()
		if err == nil {
			o.namespace = ns
		}
		o.nsFromDefaults = true
	}
	return nil
}

func isKindWord(s string) bool {
	switch strings.ToLower(strings.TrimSuffix(s, "s")) {
	case "deploy", "deployment", "sts", "statefulset", "ds", "daemonset", "rs", "replicaset", "job", "cj", "cronjob", "po", "pod", "svc", "service", "node", "no":
		return true
	}
	return false
}

// Run explains.
func (o *ExplainOptions) Run(ctx context.Context) error {
	src, live, err := openSource(o.Snapshot, o.flags, kube.DefaultChunkSize)
	if err != nil {
		return err
	}
	now := o.Now()
	if a := src.AsOf(); !a.IsZero() {
		now = a
	}
	// Every namespace is read, so that the node's requests and limits add
	// up; the findings are then narrowed to the target.
	opts := scan.Options{Now: o.Now(), Diagnose: true, KubeFlags: kubeFlags(o.flags, live != nil)}
	var hists map[scan.Target]*diagnose.History
	var h scan.HistoryFunc
	switch files := prom.HistoryFiles(o.Snapshot); {
	case o.prom.set():
		h, err = promHistory(o.prom, at(now), prom.Query{Detail: true})
	case o.Snapshot != "" && len(files) > 0:
		h, err = filesHistory(files, o.prom, now)
	}
	if err != nil {
		return err
	}
	if h != nil {
		// Only the target's pods, and keep what was read for the chart.
		opts.History = func(ctx context.Context, ts []scan.Target) (map[scan.Target]*diagnose.History, []string, error) {
			var mine []scan.Target
			for _, t := range ts {
				if (o.namespace == "" || t.Namespace == o.namespace) && (o.kind != "Pod" || t.Pod == o.name) {
					mine = append(mine, t)
				}
			}
			if len(mine) == 0 {
				return nil, nil, nil
			}
			m, notes, err := h(ctx, mine)
			hists = m
			return m, notes, err
		}
	}
	if o.Logs && live != nil {
		opts.Logs = func(ctx context.Context, r scan.LogRequest) (string, error) {
			if !o.matches(&model.Finding{Namespace: r.Namespace, Pod: r.Pod, Container: r.Container, Workload: r.Workload}) {
				return "", nil
			}
			return live.Log(ctx, r.Namespace, r.Pod, r.Container, r.Previous, r.Lines, r.Bytes)
		}
	}
	rep, err := scan.Run(ctx, src, opts)
	if err != nil {
		if live != nil {
			return fmt.Errorf("%w (server %s)", err, live.Describe().Server)
		}
		return err
	}
	var found []model.Finding
	namespaces := map[string]bool{}
	for _, g := range rep.Workloads {
		for _, f := range g.Findings {
			if o.matches(&f) {
				found = append(found, f)
				namespaces[f.Namespace] = true
			}
		}
	}
	if len(namespaces) > 1 {
		var nss []string
		for ns := range namespaces {
			nss = append(nss, ns)
		}
		sort.Strings(nss)
		return usagef("%s is in several namespaces (%s): say which with -n", o.Target, strings.Join(nss, ", "))
	}
	target := fmt.Sprintf("pod %s", o.name)
	if o.kind != "Pod" {
		target = fmt.Sprintf("%s %s", o.kind, o.name)
	}
	if ns := o.namespace; ns != "" {
		target = strings.Replace(target, " ", " "+ns+"/", 1)
	} else if len(found) > 0 {
		target = strings.Replace(target, " ", " "+found[0].Namespace+"/", 1)
	}
	if o.Container != "" {
		target += ", container " + o.Container
	}
	if len(found) == 0 {
		if err := o.exists(ctx, src, target); err != nil {
			return err
		}
	}
	for _, w := range rep.Warnings {
		fmt.Fprintf(o.ErrOut, "warning: %s\n", w.Message)
	}
	e := explain.Build(target, rep.Metadata.AsOf, found, func(f *model.Finding) *diagnose.History {
		return hists[scan.Target{Namespace: f.Namespace, Pod: f.Pod, Container: f.Container}]
	}, rep.Warnings)
	if o.HTML != "" {
		var page bytes.Buffer
		if err := explain.WriteHTML(&page, e); err != nil {
			return err
		}
		if err := fix.WriteAtomic(o.HTML, page.Bytes()); err != nil {
			return err
		}
		fmt.Fprintf(o.ErrOut, "wrote %s\n", o.HTML)
	}
	switch o.Output {
	case "json":
		enc := json.NewEncoder(o.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(e)
	case "yaml":
		b, err := yaml.Marshal(e)
		if err != nil {
			return err
		}
		_, err = o.Out.Write(b)
		return err
	}
	if len(found) == 0 && o.nsFromDefaults {
		fmt.Fprintf(o.ErrOut, "looked in namespace %q (the kubeconfig's); say another with -n\n", o.namespace)
	}
	return explain.WriteText(o.Out, e)
}

// exists says, as an error, when the target explain found nothing for is
// not in the source at all (a typo, the wrong namespace), so that "no OOM
// kill found" is said only of something that exists.
func (o *ExplainOptions) exists(ctx context.Context, src source.Source, target string) error {
	var r *workload.Resolver
	if o.kind != "Pod" {
		var err error
		if r, err = ownerResolver(ctx, src, o.namespace); err != nil {
			return nil // cannot tell: say what was (not) found
		}
	}
	var pods int
	containers := map[string]bool{}
	errFound := errors.New("found")
	err := src.Pods(ctx, source.Scope{Namespace: o.namespace}, func(p *corev1.Pod) error {
		if o.kind == "Pod" && p.Name != o.name {
			return nil
		}
		if o.kind != "Pod" {
			if w := r.Resolve(p.Namespace, p.Name, metav1.GetControllerOfNoCopy(p)); w.Kind != o.kind || w.Name != o.name {
				return nil
			}
		}
		pods++
		for _, c := range detect.ContainerNames(p) {
			containers[c] = true
		}
		if o.Container == "" || containers[o.Container] {
			return errFound
		}
		return nil
	})
	switch {
	case err != nil: // found, or cannot tell
		return nil
	case pods == 0:
		where := "the cluster at " + src.Describe().Server
		if d := src.Describe(); d.Type == "snapshot" {
			where = "the snapshot " + d.Path
		}
		if o.namespace == "" {
			return usagef("%s not found in any namespace of %s: check the name", target, where)
		}
		return usagef("%s not found in %s: check the name, or the namespace (-n)", strings.SplitN(target, ",", 2)[0], where)
	}
	return usagef("%s: no such container (its containers: %s)", target, strings.Join(slices.Sorted(maps.Keys(containers)), ", "))
}

func (o *ExplainOptions) matches(f *model.Finding) bool {
	if o.Container != "" && f.Container != o.Container || o.namespace != "" && f.Namespace != o.namespace {
		return false
	}
	if o.kind == "Pod" {
		return f.Pod == o.name
	}
	return f.Workload.Kind == o.kind && f.Workload.Name == o.name
}
