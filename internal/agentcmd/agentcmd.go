//go:build linux

// Package agentcmd is the node agent's command: flags, wiring of the
// watcher, the pod informer, metrics, Events and the log, and the HTTP
// server. It is used by `oomdoctor agent` and by the slim oomdoctor-agent
// binary the DaemonSet runs, which links only what the agent needs.
package agentcmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"

	"github.com/oomdoctor/oomdoctor/internal/agent"
	"github.com/oomdoctor/oomdoctor/internal/cgroup"
)

// UsageError is wrong input: the caller exits 2.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

func usagef(format string, args ...any) error {
	return &UsageError{fmt.Errorf(format, args...)}
}

// Options are the agent's options.
type Options struct {
	NodeName          string
	Root              string
	Proc              string
	Kmsg              string
	Listen            string
	KubeletCgroupRoot string
	Standalone        bool
	Events            bool
	Retention         time.Duration
	Log               string
}

// NewCommand builds the agent's command; restConfig gives the API
// server's config (kubeconfig flags, or in-cluster).
func NewCommand(use string, restConfig func() (*rest.Config, error), out, errOut io.Writer) *cobra.Command {
	o := &Options{NodeName: os.Getenv("NODE_NAME"), Root: "/", Proc: "/proc", Kmsg: "/dev/kmsg",
		Listen: ":9710", KubeletCgroupRoot: "/", Events: true, Retention: time.Hour, Log: "json"}
	cmd := &cobra.Command{
		Use:   use + " --node-name NODE",
		Short: "Run the node agent: catch every kernel OOM kill, tie it to its pod, export metrics and post Events",
		Long: `Run on every node (as a DaemonSet: deploy/helm/oomdoctor-agent or deploy/agent): watch every
container's memory cgroup for OOM kills (cgroup v1: an eventfd on memory.oom_control; v2:
inotify on memory.events), read the kernel's OOM reports from /dev/kmsg, and for every kill
(including a child process killed while the container's main process lives on, which the pod
status never shows):

  - count it in oomdoctor_oom_kills_total{node, namespace, pod, container, scope, main_process}
    on /metrics (scope: container, pod, node, system, unknown), and its time in
    oomdoctor_oom_last_kill_timestamp_seconds;
  - post a Warning Event on the pod: ContainerOOMKilled (its main process died) or
    ProcessOOMKilled (another process died), with the victim, its RSS, the limit and the scope;
  - write a JSON line to stdout.

It needs the host's PID namespace (to tell a container's main process), the host's cgroup
filesystem and /dev/kmsg (root, CAP_SYSLOG when kernel.dmesg_restrict is 1, and in a container
privileged: the runtime's device cgroup refuses host devices to any other), and get, list
and watch on pods and create and patch on events. /healthz and /readyz serve the probes.`,
		Example: `  ` + use + ` --node-name "$NODE_NAME"
  ` + use + ` --standalone --listen 127.0.0.1:9710     # no API server: metrics and log lines only`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("%s takes no arguments, got %q", cmd.CommandPath(), args)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.Run(cmd.Context(), restConfig, out, errOut)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.NodeName, "node-name", o.NodeName, "This node's name (default $NODE_NAME).")
	f.StringVar(&o.Root, "root", o.Root, "The folder the host's / is mounted at (its sys/fs/cgroup is read).")
	f.StringVar(&o.Proc, "proc", o.Proc, "The host's /proc (with hostPID: /proc).")
	f.StringVar(&o.Kmsg, "kmsg", o.Kmsg, "The kernel log: a device, or syslog to read it through the syslog(2) system call (needs CAP_SYSLOG, no device: a container need not be privileged); empty: count from the cgroups alone, without victims.")
	f.StringVar(&o.Listen, "listen", o.Listen, "Address of /metrics, /healthz and /readyz.")
	f.StringVar(&o.KubeletCgroupRoot, "kubelet-cgroup-root", o.KubeletCgroupRoot, "The kubelet's --cgroup-root.")
	f.BoolVar(&o.Standalone, "standalone", false, "Run without an API server: no pod names, no Events.")
	f.BoolVar(&o.Events, "events", o.Events, "Post an Event on the pod for every kill.")
	f.DurationVar(&o.Retention, "metrics-retention", o.Retention, "How long a deleted pod's series stay on /metrics.")
	f.StringVar(&o.Log, "log", o.Log, "Log line format for each kill on stdout: json, text or none.")
	return cmd
}

// Run runs the agent until ctx ends.
func (o *Options) Run(ctx context.Context, restConfig func() (*rest.Config, error), out, errOut io.Writer) error {
	if o.NodeName == "" && !o.Standalone {
		return usagef("give the node's name with --node-name (in a DaemonSet, from the downward API's spec.nodeName through $NODE_NAME)")
	}
	if o.NodeName == "" {
		// Standalone: the node label is this machine's name.
		if host, err := os.Hostname(); err == nil {
			o.NodeName = host
		}
	}
	switch o.Log {
	case "json", "text", "none":
	default:
		return usagef("unknown --log format %q: valid formats are json, none, text", o.Log)
	}
	if o.Retention < 0 {
		return usagef("--metrics-retention %s: give a duration of 0 or more (0 drops a deleted pod's series at once)", o.Retention)
	}
	if _, err := os.Stat(filepath.Join(o.Proc, "self", "cgroup")); err != nil {
		return usagef("--proc %s is not a proc filesystem (no self/cgroup in it): give the host's /proc, with hostPID", o.Proc)
	}
	h, err := cgroup.Detect(o.Root, cgroup.RealStatFS)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", o.Listen, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	warn := func(s string) { fmt.Fprintf(errOut, "warning: %s\n", s) }
	var informer *agent.Informer
	var events *agent.Events
	m := agent.NewMetrics()
	if !o.Standalone {
		rc, err := restConfig()
		if err != nil {
			return &UsageError{err}
		}
		client, err := agent.NewRESTClient(rc)
		if err != nil {
			return err
		}
		informer, err = agent.NewInformer(client, o.NodeName, func(p *agent.PodInfo) { m.Forget(p.UID, o.Retention) })
		if err != nil {
			return &UsageError{err}
		}
		informer.Start(ctx)
		if o.Events {
			events = agent.NewEvents(client, o.NodeName)
			defer events.Stop()
		}
	}
	sinks := []agent.Sink{m}
	if events != nil {
		sinks = append(sinks, events)
	}
	if o.Log != "none" {
		enc := json.NewEncoder(out)
		sinks = append(sinks, agent.SinkFunc(func(k *agent.Kill) {
			if o.Log == "json" {
				_ = enc.Encode(k)
			} else {
				fmt.Fprintln(out, k.String()+": "+agent.Message(k))
			}
		}))
	}
	var pods agent.PodIndex = agent.StaticPods{}
	if informer != nil {
		pods = informer
	}
	a, err := agent.New(agent.Config{Node: o.NodeName, Hierarchy: h, KubeletCgroupRoot: o.KubeletCgroupRoot, Proc: o.Proc, Kmsg: o.Kmsg,
		Pods: pods, Sinks: sinks, Warn: warn})
	if err != nil {
		return err
	}
	m.Watch(a)
	errs := make(chan error, 2)
	go func() { errs <- a.Run(ctx) }()
	go func() {
		errs <- agent.Serve(ctx, ln, m, func() error {
			if !a.Ready() {
				return errors.New("not watching yet")
			}
			if informer != nil && !informer.Synced() {
				return errors.New("pods not listed yet")
			}
			return nil
		})
	}()
	fmt.Fprintf(errOut, "oomdoctor agent on node %s: cgroup %s at %s, metrics on %s\n", o.NodeName, h.Version, h.Dir, ln.Addr())
	go func() {
		// Once watching, give back the binary's pages startup touched.
		for !a.Ready() || informer != nil && !informer.Synced() {
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
		if err := agent.ReleaseBinaryPages(); err != nil {
			warn(fmt.Sprintf("releasing the binary's startup pages: %v", err))
		}
	}()
	err = <-errs
	cancel()
	return err
}
