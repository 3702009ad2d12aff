package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"

	"github.com/oomdoctor/oomdoctor/internal/cgroup"
	"github.com/oomdoctor/oomdoctor/internal/manifest"
	"github.com/oomdoctor/oomdoctor/internal/nodecheck"
)

// NodeOptions are the options of `oomdoctor node`.
type NodeOptions struct {
	genericiooptions.IOStreams
	flags *genericclioptions.ConfigFlags
	now   func() time.Time

	Local            bool
	Root             string
	KubeletConfig    string
	Snapshot         string
	LimitsOvercommit float64
	Since            time.Duration
	Top              int
	Output           string
	FailOn           string
	ChunkSize        int64

	// statfs and version are replaced in tests.
	statfs  cgroup.StatFS
	version func(root string) func(string) (string, error)
}

// NodeReport is what `oomdoctor node -o json` prints.
type NodeReport struct {
	APIVersion string              `json:"apiVersion"`
	Kind       string              `json:"kind"`
	Root       string              `json:"root,omitempty"`
	Local      []nodecheck.Result  `json:"local,omitempty"`
	Nodes      []nodecheck.NodeRow `json:"nodes,omitempty"`
	Checks     []nodecheck.Result  `json:"checks,omitempty"`
}

func newNodeCommand(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams, now func() time.Time) *cobra.Command {
	o := &NodeOptions{IOStreams: streams, flags: flags, now: now, Root: "/", LimitsOvercommit: 1.5, Since: 24 * time.Hour, Top: 10,
		Output: "text", FailOn: "fail", ChunkSize: 500, statfs: cgroup.RealStatFS, version: nodecheck.HostVersion}
	cmd := &cobra.Command{
		Use:   "node [NODE] | node --local",
		Short: "Check nodes for what makes OOM kills likelier or invisible: overcommit, pressure, swap, cgroups, runtime, kubelet",
		Long: `Check nodes, through the API or on the node itself.

Through the API (the default; or --snapshot): for every node (or NODE), the sum of memory
requests and limits of its running pods against its allocatable memory, containers without a
memory limit, BestEffort pods, MemoryPressure, SystemOOM and OOMKilling events within --since,
and the kubelet's version; then a table of the most overcommitted nodes.

On the node (--local, as root; in a pod, mount the host's / and pass it with --root): swap and
what the kubelet does with it, the cgroup version (statfs magic) and the memory controller, the
kernel's version and features (memory.oom.group, memory.peak, PSI), containerd / CRI-O / runc /
crun versions against cgroup v2's needs, vm.overcommit_memory and vm.panic_on_oom, the kernel
log's timestamps (the node agent's syslog(2) reader needs them), and the
kubelet's config (eviction thresholds, reserved memory, node allocatable enforcement,
singleProcessOOMKill, failSwapOn, failCgroupV1).

Each check says pass, info, warn or fail, the evidence, and what to do. Exit code 1 when a
check is at or above --fail-on (default fail).`,
		Example: `  oomdoctor node                           # every node of the current context
  oomdoctor node worker-3 -o json
  oomdoctor node --snapshot examples/snapshot
  sudo oomdoctor node --local
  oomdoctor node --local --root /host --kubelet-config /host/var/lib/kubelet/config.yaml`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usagef("give at most one node name, got %q", strings.Join(args, " "))
			}
			if err := o.validate(cmd, args); err != nil {
				return err
			}
			return o.Run(cmd, args)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.Local, "local", false, "Check the machine oomdoctor runs on instead of the cluster.")
	f.StringVar(&o.Root, "root", o.Root, "With --local: the folder the node's / is mounted at.")
	f.StringVar(&o.KubeletConfig, "kubelet-config", "", "With --local: the kubelet's config file (default: the usual places under --root).")
	f.StringVar(&o.Snapshot, "snapshot", "", "Read a snapshot folder or file instead of a live cluster.")
	f.Float64Var(&o.LimitsOvercommit, "limits-overcommit", o.LimitsOvercommit, "Ratio of memory limits to allocatable above which a node is reported.")
	f.DurationVar(&o.Since, "since", o.Since, "How far back SystemOOM events count.")
	f.IntVar(&o.Top, "top", o.Top, "How many nodes the table shows, most overcommitted first (0: all).")
	f.StringVarP(&o.Output, "output", "o", o.Output, "Output format: text, json or yaml.")
	f.StringVar(&o.FailOn, "fail-on", o.FailOn, "Lowest status that makes node exit 1: fail, warn, info or none.")
	f.Int64Var(&o.ChunkSize, "chunk-size", o.ChunkSize, "Objects per list request.")
	return cmd
}

func (o *NodeOptions) validate(cmd *cobra.Command, args []string) error {
	switch o.Output {
	case "text", "json", "yaml":
	default:
		return usagef("unknown output format %q: valid formats are json, text, yaml", o.Output)
	}
	if _, err := nodecheck.ParseStatus(o.FailOn); err != nil {
		return usagef("--fail-on %v", err)
	}
	if o.LimitsOvercommit < 1 {
		return usagef("--limits-overcommit %g: give a ratio of at least 1, like 1.5", o.LimitsOvercommit)
	}
	if o.Since < 0 || o.Top < 0 {
		return usagef("--since and --top must not be negative")
	}
	if o.Local {
		if goos != "linux" {
			return notLinux("oomdoctor node --local", nodeWhere)
		}
		if len(args) > 0 {
			return usagef("--local checks this machine; drop the node name %q, or drop --local to check it through the API", args[0])
		}
		if o.Snapshot != "" {
			return usagef("--local reads this machine and --snapshot reads files: choose one")
		}
		if st, err := os.Stat(o.Root); err != nil || !st.IsDir() {
			return usagef("--root %s is not a folder: give the folder the node's / is mounted at (in a pod, a hostPath mount of /)", o.Root)
		}
		return nil
	}
	for _, name := range []string{"root", "kubelet-config"} {
		if cmd.Flags().Changed(name) {
			return usagef("--%s is for --local checks", name)
		}
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

// Run checks and prints.
func (o *NodeOptions) Run(cmd *cobra.Command, args []string) error {
	rep := NodeReport{APIVersion: "oomdoctor.io/v1alpha1", Kind: "NodeReport"}
	var all []nodecheck.Result
	if o.Local {
		rep.Root = o.Root
		rep.Local = nodecheck.RunLocal(nodecheck.Host{Root: o.Root, StatFS: o.statfs, Version: o.version(o.Root), KubeletConfig: o.KubeletConfig})
		all = rep.Local
	} else {
		var c nodecheck.Cluster
		var server string
		now := o.now()
		if o.Snapshot != "" {
			s, err := openSnapshot(o.Snapshot)
			if err != nil {
				return err
			}
			if t := s.AsOf(); !t.IsZero() {
				now = t
			}
			c = s
		} else {
			s, err := openCluster(o.flags, o.ChunkSize)
			if err != nil {
				return err
			}
			c, server = s, s.Describe().Server
		}
		opts := nodecheck.ClusterOptions{LimitsOvercommit: o.LimitsOvercommit, Since: o.Since, Now: now}
		if len(args) == 1 {
			opts.Node = args[0]
		}
		rows, results, err := nodecheck.RunCluster(cmd.Context(), c, opts)
		if err != nil {
			return unreachable(err, server)
		}
		if opts.Node != "" && len(rows) == 0 {
			return usagef("node %q not found", opts.Node)
		}
		rep.Nodes, rep.Checks = rows, results
		all = results
	}
	switch o.Output {
	case "json":
		enc := json.NewEncoder(o.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	case "yaml":
		b, err := yaml.Marshal(rep)
		if err != nil {
			return err
		}
		if _, err := o.Out.Write(b); err != nil {
			return err
		}
	default:
		o.writeText(o.Out, rep)
	}
	threshold, _ := nodecheck.ParseStatus(o.FailOn)
	if nodecheck.Worst(all) >= threshold {
		return &exitStatus{code: ExitFailure}
	}
	return nil
}

func (o *NodeOptions) writeText(w io.Writer, rep NodeReport) {
	if rep.Local != nil {
		fmt.Fprintf(w, "Checks of this machine (root %s):\n\n", rep.Root)
		writeResults(w, rep.Local, true)
		return
	}
	rows := rep.Nodes
	if o.Top > 0 && len(rows) > o.Top {
		rows = rows[:o.Top]
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tALLOCATABLE\tREQUESTS\tLIMITS\tPODS\tNO LIMIT\tPRESSURE\tSYSTEM OOMS\tKUBELET")
	for _, r := range rows {
		pressure := "no"
		if r.MemoryPressure {
			pressure = "YES"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s (%.0f%%)\t%s (%.0f%%)\t%d\t%d\t%s\t%d\t%s\n", r.Name, manifest.FormatBytes(r.AllocatableBytes),
			manifest.FormatBytes(r.RequestsBytes), 100*r.RequestsRatio, manifest.FormatBytes(r.LimitsBytes), 100*r.LimitsRatio,
			r.Pods, r.UnboundedContainers, pressure, r.SystemOOMs, r.KubeletVersion)
	}
	tw.Flush()
	if len(rep.Nodes) > len(rows) {
		fmt.Fprintf(w, "(%d more nodes; --top 0 shows all)\n", len(rep.Nodes)-len(rows))
	}
	var notable []nodecheck.Result
	for _, r := range rep.Checks {
		if r.Status != nodecheck.Pass {
			notable = append(notable, r)
		}
	}
	fmt.Fprintln(w)
	if len(notable) == 0 {
		fmt.Fprintf(w, "Every check passed on %d nodes.\n", len(rep.Nodes))
		return
	}
	writeResults(w, notable, false)
}

func writeResults(w io.Writer, results []nodecheck.Result, withPass bool) {
	counts := map[nodecheck.Status]int{}
	for _, r := range results {
		counts[r.Status]++
		if r.Status == nodecheck.Pass && !withPass {
			continue
		}
		where := r.ID
		if r.Node != "" {
			where = r.Node + " " + r.ID
		}
		fmt.Fprintf(w, "%-4s  %s: %s\n", strings.ToUpper(string(r.Status)), where, r.Summary)
		for _, e := range r.Evidence {
			fmt.Fprintf(w, "      evidence: %s\n", e)
		}
		if r.Advice != "" {
			fmt.Fprintf(w, "      what to do: %s\n", r.Advice)
		}
	}
	fmt.Fprintf(w, "\n%d fail, %d warn, %d info, %d pass\n", counts[nodecheck.Fail], counts[nodecheck.Warn], counts[nodecheck.Info], counts[nodecheck.Pass])
}
