package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/report"
	"github.com/oomdoctor/oomdoctor/internal/scan"
	"github.com/oomdoctor/oomdoctor/internal/source"
	"github.com/oomdoctor/oomdoctor/internal/source/kube"
	"github.com/oomdoctor/oomdoctor/internal/usage/prom"
)

// ScanOptions are the options of `oomdoctor scan`.
type ScanOptions struct {
	flags *genericclioptions.ConfigFlags
	genericiooptions.IOStreams

	AllNamespaces bool
	Selector      string
	Output        string
	Since         time.Duration
	Snapshot      string
	ChunkSize     int64
	Watch         bool
	Logs          bool
	prom          *promFlags
	// Now gives the current time; tests set it.
	Now func() time.Time

	namespace string
	render    report.Renderer
}

// NewScanOptions returns scan's options with their defaults.
func NewScanOptions(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *ScanOptions {
	return &ScanOptions{flags: flags, IOStreams: streams, Output: "table", ChunkSize: kube.DefaultChunkSize, Now: time.Now, prom: newPromFlags(flags, streams.ErrOut)}
}

// NewScanCommand builds `oomdoctor scan`.
func NewScanCommand(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	return newScanCommand(flags, streams, time.Now)
}

func newScanCommand(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams, now func() time.Time) *cobra.Command {
	o := NewScanOptions(flags, streams)
	o.Now = now
	cmd := &cobra.Command{
		Use:   "scan",
		Short: "List every OOM-killed container, newest first, grouped by workload",
		Long: `List every container that was OOM-killed, newest first, grouped by the workload
that owns it (Deployment, StatefulSet, DaemonSet, CronJob, Job, or bare Pod).

scan reads the state and last state of regular, init, native sidecar and ephemeral
containers, pods evicted for memory pressure, and the node events SystemOOM (kubelet)
and OOMKilling (node-problem-detector). A container killed by SIGKILL (exit code 137)
without an OOM reason is reported as not-oom: a liveness probe or another sender
killed it, or containerd misreported an OOM kill as Error. A container whose runtime
ran out of its own memory and exited (a Java OutOfMemoryError, V8's heap limit, Go or
Python refused memory) is runtime-oom, read from its termination message (which holds
its log's last lines with terminationMessagePolicy: FallbackToLogsOnError) or, with
--logs, from its log.

scan reads every namespace unless -n is given (-A is the default; the namespace of
your kubeconfig context is not used). It works offline on a snapshot folder written
by "oomdoctor snapshot", or on files from "kubectl get pods,events -A -o json".

With -w scan then watches the cluster (pods and Warning events) and prints every new kill
as it happens, diagnosed, until Ctrl-C: table rows, or with -o json|yaml one ScanReport per
new kill after the first report.

Findings are not errors: scan exits 0 when it could read the cluster, whatever it found.`,
		Example: `  # every OOM kill in the cluster of the current context
  oomdoctor scan

  # one namespace, kills of the last 24 hours, with more columns
  oomdoctor scan -n shop --since 24h -o wide

  # then every new kill as it happens, until Ctrl-C
  oomdoctor scan -w

  # a support bundle or kubectl output, offline
  oomdoctor scan --snapshot examples/snapshot
  kubectl get pods,events -A -o json > cluster.json && oomdoctor scan --snapshot cluster.json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(cmd); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd)
		},
	}
	o.AddFlags(cmd)
	return cmd
}

// AddFlags binds scan's own flags; the kubeconfig flags (--kubeconfig,
// --context, -n, --request-timeout, ...) come from the root command.
func (o *ScanOptions) AddFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", true, "Scan every namespace. This is the default; -n NAMESPACE scans one.")
	f.StringVarP(&o.Selector, "selector", "l", "", "Label selector for pods (e.g. -l app=web,tier!=cache), as kubectl takes it.")
	f.StringVarP(&o.Output, "output", "o", o.Output, "Output format: "+strings.Join(report.Formats(), "|")+". json and yaml follow the ScanReport schema (oomdoctor.io/v1alpha1).")
	f.DurationVar(&o.Since, "since", 0, "Only kills within this long before now (or before a snapshot's capture), e.g. 30m, 24h. 0 means every kill the API still shows.")
	f.StringVar(&o.Snapshot, "snapshot", "", "Read a snapshot folder or file instead of a live cluster.")
	f.Int64Var(&o.ChunkSize, "chunk-size", o.ChunkSize, "Objects per list request (paged lists, as kubectl's --chunk-size).")
	f.BoolVarP(&o.Watch, "watch", "w", false, "After the report, watch the cluster and print every new kill as it happens, until Ctrl-C.")
	f.BoolVar(&o.Logs, "logs", false, "Also read the last lines of the log of every container whose last run exited with an error its status does not explain, for its runtime's out-of-memory error (runtime-oom): one request each; needs get on pods/log.")
	o.prom.add(f)
}

// Complete resolves the namespace to scan.
func (o *ScanOptions) Complete(cmd *cobra.Command) error {
	if err := o.prom.misused(cmd.Flags(), false); err != nil {
		return err
	}
	nsChanged := cmd.Flags().Changed("namespace")
	if nsChanged && !cmd.Flags().Changed("all-namespaces") {
		o.AllNamespaces = false
	}
	if !o.AllNamespaces && o.flags.Namespace != nil {
		o.namespace = *o.flags.Namespace
	}
	if o.Snapshot != "" && o.Watch {
		return usagef("--watch follows a live cluster; a snapshot does not change")
	}
	if o.Snapshot != "" && o.Logs {
		return usagef("--logs reads the containers' logs from a live cluster; a snapshot holds none (a termination message is read without it)")
	}
	if o.Snapshot != "" {
		for _, name := range clusterFlags {
			if cmd.Flags().Changed(name) {
				return usagef("--%s selects a live cluster and cannot be used with --snapshot, which reads files", name)
			}
		}
	}
	return nil
}

// Validate checks the options before anything is read.
func (o *ScanOptions) Validate() error {
	r, err := report.Lookup(o.Output)
	if err != nil {
		return asUsage(err)
	}
	o.render = r
	if o.Since < 0 {
		return usagef("--since must not be negative, got %s", o.Since)
	}
	if o.ChunkSize <= 0 {
		return usagef("--chunk-size must be positive, got %d", o.ChunkSize)
	}
	if _, err := labels.Parse(o.Selector); err != nil {
		return usagef("invalid --selector %q: %v", o.Selector, err)
	}
	if !o.AllNamespaces && o.namespace == "" {
		return usagef("-n needs a namespace name")
	}
	return nil
}

// Run scans and prints the report.
func (o *ScanOptions) Run(cmd *cobra.Command) error {
	src, live, err := openSource(o.Snapshot, o.flags, o.ChunkSize)
	if err != nil {
		return err
	}
	opts := scan.Options{
		Scope:     source.Scope{Namespace: o.namespace, LabelSelector: o.Selector},
		Since:     o.Since,
		Now:       o.Now(),
		Diagnose:  true,
		KubeFlags: kubeFlags(o.flags, live != nil),
	}
	if o.Logs && live != nil {
		opts.Logs = func(ctx context.Context, r scan.LogRequest) (string, error) {
			return live.Log(ctx, r.Namespace, r.Pod, r.Container, r.Previous, r.Lines, r.Bytes)
		}
	}
	if o.prom.set() {
		now := o.Now // live: up to each read (scan -w's kills told later)
		if a := src.AsOf(); !a.IsZero() && o.prom.Until == "" {
			now = at(a) // a snapshot: the history up to its capture
		}
		h, err := promHistory(o.prom, now, prom.Query{Detail: true})
		if err != nil {
			return err
		}
		opts.History = h
	} else if files := prom.HistoryFiles(o.Snapshot); o.Snapshot != "" && len(files) > 0 {
		h, err := filesHistory(files, o.prom, src.AsOf())
		if err != nil {
			return err
		}
		opts.History = h
	}
	var watcher *scan.Watcher
	if o.Watch {
		// Before the scan: a kill its lists miss reaches the watch. Its
		// first lists run beside the scan's pods; the scan's events wait
		// for them.
		notify := scan.Notify{
			Warn:    func(err error) { fmt.Fprintf(o.ErrOut, "warning: %v\n", err) },
			Resumed: func() { fmt.Fprintln(o.ErrOut, "Watching again.") },
		}
		if watcher, err = scan.StartWatch(cmd.Context(), live, opts, notify); err != nil {
			return fmt.Errorf("%w (server %s)", err, live.Describe().Server)
		}
		defer watcher.Close()
		opts.BeforeEvents = watcher.Synced
		src = watcher.Source() // its events, not listed twice
	}
	prog := newProgress(o.ErrOut)
	opts.Progress = prog.callback()
	rep, err := scan.Run(cmd.Context(), src, opts)
	prog.Done()
	if err != nil {
		if watcher != nil && cmd.Context().Err() != nil {
			return nil // Ctrl-C before the first report
		}
		if live != nil {
			return fmt.Errorf("%w (server %s)", err, live.Describe().Server)
		}
		return err
	}
	for _, w := range rep.Warnings {
		fmt.Fprintf(o.ErrOut, "warning: %s\n", w.Message)
	}
	if err := o.render(o.Out, rep); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	if o.Output == "table" || o.Output == "wide" {
		fmt.Fprintln(o.ErrOut, report.Summary(rep))
	}
	if watcher == nil {
		return nil
	}
	return o.follow(cmd, live, watcher, rep)
}

// follow prints every kill after the first report, as it happens.
func (o *ScanOptions) follow(cmd *cobra.Command, live *kube.Source, watcher *scan.Watcher, first *model.ScanReport) error {
	table := o.Output == "table" || o.Output == "wide"
	if table {
		fmt.Fprintln(o.ErrOut, "Watching for new kills (Ctrl-C to stop)...")
	}
	rows := report.NewRows(o.Output == "wide")
	rows.Measure(first)
	said := map[string]bool{}
	for _, w := range first.Warnings {
		said[w.Message] = true
	}
	err := watcher.Follow(cmd.Context(), first, o.Now, func(rep *model.ScanReport) error {
		for _, w := range rep.Warnings {
			if !said[w.Message] {
				said[w.Message] = true
				fmt.Fprintf(o.ErrOut, "warning: %s\n", w.Message)
			}
		}
		var err error
		switch {
		case table:
			err = rows.Write(o.Out, rep)
		case o.Output == "yaml":
			if _, err = fmt.Fprintln(o.Out, "---"); err == nil {
				err = o.render(o.Out, rep)
			}
		default:
			err = o.render(o.Out, rep)
		}
		if err != nil {
			return fmt.Errorf("writing the report: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%w (server %s)", err, live.Describe().Server)
	}
	return nil
}
