package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"

	"github.com/oomdoctor/oomdoctor/internal/agent"
	"github.com/oomdoctor/oomdoctor/internal/cgroup"
)

// AgentOptions are the options of `oomdoctor agent`.
type AgentOptions struct {
	genericiooptions.IOStreams
	flags *genericclioptions.ConfigFlags

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

// NewAgentCommand builds `oomdoctor agent`.
func NewAgentCommand(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &AgentOptions{IOStreams: streams, flags: flags, NodeName: os.Getenv("NODE_NAME"), Root: "/", Proc: "/proc", Kmsg: "/dev/kmsg",
		Listen: ":9710", KubeletCgroupRoot: "/", Events: true, Retention: time.Hour, Log: "json"}
	cmd := &cobra.Command{
		Use:   "agent --node-name NODE",
		Short: "Run the node agent: catch every kernel OOM kill, tie it to its pod, export metrics and post Events",
		Long: `Run on every node (as a DaemonSet: deploy/helm/oomdoctor-agent or deploy/agent): watch every
container's memory cgroup for OOM kills (cgroup v1: an eventfd on memory.oom_control; v2:
inotify on memory.events), read the kernel's OOM reports from /dev/kmsg, and for every kill
(including a child process killed while the container's main process lives on, which the pod
status never shows):

  - count it in oomdoctor_oom_kills_total{node, namespace, pod, container, scope, main_process}
    on /metrics (scope: container, pod, node, system, unknown);
  - post a Warning Event on the pod: ContainerOOMKilled (its main process died) or
    ProcessOOMKilled (another process died), with the victim, its RSS, the limit and the scope;
  - write a JSON line to stdout.

It needs the host's PID namespace (to tell a container's main process), the host's cgroup
filesystem and /dev/kmsg (root, or CAP_SYSLOG when kernel.dmesg_restrict is 1), and get, list
and watch on pods and create and patch on events. /healthz and /readyz serve the probes.`,
		Example: `  oomdoctor agent --node-name "$NODE_NAME"
  oomdoctor agent --standalone --listen 127.0.0.1:9710     # no API server: metrics and log lines only`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return o.Run(cmd.Context()) },
	}
	f := cmd.Flags()
	f.StringVar(&o.NodeName, "node-name", o.NodeName, "This node's name (default $NODE_NAME).")
	f.StringVar(&o.Root, "root", o.Root, "The folder the host's / is mounted at (its sys/fs/cgroup is read).")
	f.StringVar(&o.Proc, "proc", o.Proc, "The host's /proc (with hostPID: /proc).")
	f.StringVar(&o.Kmsg, "kmsg", o.Kmsg, "The kernel log (empty: count from the cgroups alone, without victims).")
	f.StringVar(&o.Listen, "listen", o.Listen, "Address of /metrics, /healthz and /readyz.")
	f.StringVar(&o.KubeletCgroupRoot, "kubelet-cgroup-root", o.KubeletCgroupRoot, "The kubelet's --cgroup-root.")
	f.BoolVar(&o.Standalone, "standalone", false, "Run without an API server: no pod names, no Events.")
	f.BoolVar(&o.Events, "events", o.Events, "Post an Event on the pod for every kill.")
	f.DurationVar(&o.Retention, "metrics-retention", o.Retention, "How long a deleted pod's series stay on /metrics.")
	f.StringVar(&o.Log, "log", o.Log, "Log line format for each kill on stdout: json, text or none.")
	return cmd
}

// Run runs the agent until ctx ends.
func (o *AgentOptions) Run(ctx context.Context) error {
	if o.NodeName == "" && !o.Standalone {
		return usagef("give the node's name with --node-name (in a DaemonSet, from the downward API's spec.nodeName through $NODE_NAME)")
	}
	switch o.Log {
	case "json", "text", "none":
	default:
		return usagef("unknown --log format %q: valid formats are json, none, text", o.Log)
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

	warn := func(s string) { fmt.Fprintf(o.ErrOut, "warning: %s\n", s) }
	var informer *agent.Informer
	var events *agent.Events
	m := agent.NewMetrics()
	if !o.Standalone {
		rc, err := o.flags.ToRESTConfig()
		if err != nil {
			return asUsage(explainKubeconfig(o.flags, err))
		}
		client, err := kubernetes.NewForConfig(rc)
		if err != nil {
			return err
		}
		informer, err = agent.NewInformer(client, o.NodeName, func(p *agent.PodInfo) { m.Forget(p.UID, o.Retention) })
		if err != nil {
			return asUsage(err)
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
		enc := json.NewEncoder(o.Out)
		sinks = append(sinks, agent.SinkFunc(func(k *agent.Kill) {
			if o.Log == "json" {
				_ = enc.Encode(k)
			} else {
				fmt.Fprintln(o.Out, k.String()+": "+agent.Message(k))
			}
		}))
	}
	a, err := agent.New(agent.Config{Node: o.NodeName, Hierarchy: h, KubeletCgroupRoot: o.KubeletCgroupRoot, Proc: o.Proc, Kmsg: o.Kmsg,
		Pods: podIndex(informer), Sinks: sinks, Warn: warn})
	if err != nil {
		return err
	}
	m.Watch(a)
	errs := make(chan error, 2)
	go func() { errs <- a.Run(ctx) }()
	go func() {
		errs <- agent.Serve(ctx, ln, m, func() error {
			if !a.Ready() {
				return fmt.Errorf("not watching yet")
			}
			if informer != nil && !informer.Synced() {
				return fmt.Errorf("pods not listed yet")
			}
			return nil
		})
	}()
	fmt.Fprintf(o.ErrOut, "oomdoctor agent on node %s: cgroup %s at %s, metrics on %s\n", o.NodeName, h.Version, h.Dir, ln.Addr())
	err = <-errs
	cancel()
	return err
}

func podIndex(in *agent.Informer) agent.PodIndex {
	if in == nil {
		return agent.StaticPods{}
	}
	return in
}
