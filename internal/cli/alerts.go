package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/oomdoctor/oomdoctor/internal/alerts"
	"github.com/oomdoctor/oomdoctor/internal/version"
)

// AlertsOptions are the options of `oomdoctor alerts`.
type AlertsOptions struct {
	genericiooptions.IOStreams
	flags *genericclioptions.ConfigFlags

	Rules      alerts.Options
	Output     string
	Name       string
	RuleLabels []string
	Labels     []string
	List       bool
}

// NewAlertsCommand builds `oomdoctor alerts`.
func NewAlertsCommand(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &AlertsOptions{IOStreams: streams, flags: flags, Rules: alerts.Defaults(), Output: "rules", Name: "oomdoctor"}
	cmd := &cobra.Command{
		Use:   "alerts [-o rules|prometheusrule]",
		Short: "Generate Prometheus alerting rules that warn before OOM kills and tell when they happen",
		Long: `Generate Prometheus alerting rules: working set near the limit, memory exhaustion
predicted by a linear fit, containers OOM-killed recently (restart counter and last
termination reason, so the alert resolves when the kills stop), processes OOM-killed inside a
running container and node-level OOM kills (from the oomdoctor node agent), node memory limits
overcommitted, node memory used beyond requests, and node memory pressure. Each alert carries a
runbook in its annotations.

The rules read cAdvisor (container_memory_working_set_bytes), kube-state-metrics and the node
agent (oomdoctor_oom_kills_total, and oomdoctor_oom_last_kill_timestamp_seconds: an agent that
does not export it yet never fires the two kill alerts). For clusters that relabel: --matchers
adds label matchers to every series, --cadvisor-matchers / --ksm-matchers / --agent-matchers to one source's,
--by keeps extra labels (a cluster label in a shared Prometheus), and --*-label rename the
namespace, pod, container and node labels.

-o rules (default) writes a rules file for Prometheus' rule_files; -o prometheusrule writes a
PrometheusRule object for the Prometheus operator (-n sets its namespace, --rule-label the
labels its ruleSelector matches).`,
		Example: `  oomdoctor alerts > oomdoctor-rules.yaml && promtool check rules oomdoctor-rules.yaml
  oomdoctor alerts -o prometheusrule -n monitoring --rule-label release=kube-prometheus-stack | kubectl apply -f -
  oomdoctor alerts --by cluster --ksm-matchers 'job="kube-state-metrics"' --label team=sre
  oomdoctor alerts --working-set-threshold 0.9 --for 30m --disable NodeMemoryLimitsOvercommitted`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return o.Run() },
	}
	f := cmd.Flags()
	r := &o.Rules
	f.StringVarP(&o.Output, "output", "o", o.Output, "Output format: "+strings.Join(alerts.Formats, "|")+".")
	f.StringVar(&o.Name, "name", o.Name, "Name of the PrometheusRule object.")
	f.StringArrayVar(&o.RuleLabels, "rule-label", nil, "Label of the PrometheusRule object, name=value (repeat), for the operator's ruleSelector.")
	f.StringVar(&r.GroupName, "group", r.GroupName, "Name of the rule group.")
	f.StringArrayVar(&o.Labels, "label", nil, "Label added to every alert, name=value (repeat), for routing.")
	f.Float64Var(&r.WorkingSetShare, "working-set-threshold", r.WorkingSetShare, "Share of the memory limit the working set may stay above before ContainerMemoryNearLimit fires.")
	f.DurationVar(&r.NearLimitFor, "for", r.NearLimitFor, "How long the working set stays above the threshold before ContainerMemoryNearLimit fires.")
	f.DurationVar(&r.OOMWindow, "oom-window", r.OOMWindow, "How long an OOM alert keeps firing after the last kill.")
	f.Float64Var(&r.PredictHours, "predict-hours", r.PredictHours, "Horizon of ContainerMemoryExhaustionPredicted, in hours.")
	f.DurationVar(&r.PredictWindow, "predict-window", r.PredictWindow, "Window of the linear fit of ContainerMemoryExhaustionPredicted.")
	f.Float64Var(&r.LimitsOvercommit, "limits-overcommit", r.LimitsOvercommit, "Ratio of the sum of memory limits to allocatable memory above which NodeMemoryLimitsOvercommitted fires.")
	f.Float64Var(&r.NodeUsageShare, "node-usage-threshold", r.NodeUsageShare, "Share of allocatable memory the pods of a node may use beyond their requests before NodeMemoryUsedBeyondRequests fires.")
	f.StringVar(&r.Selector, "matchers", "", `PromQL label matchers added to every series, e.g. 'cluster="prod"'.`)
	f.StringVar(&r.CadvisorSelector, "cadvisor-matchers", "", `Matchers added to cAdvisor's series, e.g. 'job="kubelet", metrics_path="/metrics/cadvisor"'.`)
	f.StringVar(&r.KSMSelector, "ksm-matchers", "", `Matchers added to kube-state-metrics' series, e.g. 'job="kube-state-metrics"'.`)
	f.StringVar(&r.AgentSelector, "agent-matchers", "", `Matchers added to the oomdoctor agent's series.`)
	f.StringSliceVar(&r.By, "by", nil, "Extra labels every aggregation keeps (e.g. cluster), comma-separated.")
	f.StringVar(&r.NamespaceLabel, "namespace-label", r.NamespaceLabel, "Name of the namespace label.")
	f.StringVar(&r.PodLabel, "pod-label", r.PodLabel, "Name of the pod label.")
	f.StringVar(&r.ContainerLabel, "container-label", r.ContainerLabel, "Name of the container label.")
	f.StringVar(&r.NodeLabel, "node-label", r.NodeLabel, "Name of the node label.")
	f.StringVar(&r.RunbookURL, "runbook-url", "", "Base URL of your runbooks: each alert gets runbook_url = URL + its name in lower case.")
	f.StringSliceVar(&r.Disable, "disable", nil, "Alerts not to generate, comma-separated (--list shows them).")
	f.BoolVar(&o.List, "list", false, "List the alerts and stop.")
	return cmd
}

// Run writes the rules.
func (o *AlertsOptions) Run() error {
	if o.List {
		w := tabwriter.NewWriter(o.Out, 0, 8, 3, ' ', 0)
		fmt.Fprintln(w, "ALERT\tFIRES WHEN")
		for _, a := range alerts.List() {
			fmt.Fprintf(w, "%s\t%s\n", a.Name, a.Summary)
		}
		return w.Flush()
	}
	if o.Output != "rules" && o.Output != "prometheusrule" {
		return usagef("unknown output format %q: valid formats are %s", o.Output, strings.Join(alerts.Formats, ", "))
	}
	var err error
	if o.Rules.Labels, err = alerts.ParseLabels("--label", o.Labels); err != nil {
		return usagef("%v", err)
	}
	ruleLabels, err := alerts.ParseLabels("--rule-label", o.RuleLabels)
	if err != nil {
		return usagef("%v", err)
	}
	g, err := alerts.Generate(o.Rules)
	if err != nil {
		return usagef("%v", err)
	}
	meta := alerts.RuleMeta{Name: o.Name, Labels: ruleLabels}
	if o.flags != nil && o.flags.Namespace != nil {
		meta.Namespace = *o.flags.Namespace
	}
	header := fmt.Sprintf("Generated by oomdoctor %s: oomdoctor alerts %s\nRegenerate rather than edit; each alert's runbook annotation says what to do.", version.Get().Version, o.describe())
	out, err := alerts.Render(g, o.Output, meta, header)
	if err != nil {
		return usagef("%v", err)
	}
	_, err = o.Out.Write(out)
	return err
}

// describe repeats the options that differ from the defaults, so the
// header says how to make the same file again.
func (o *AlertsOptions) describe() string {
	d := alerts.Defaults()
	r := o.Rules
	var parts []string
	add := func(cond bool, s string) {
		if cond {
			parts = append(parts, s)
		}
	}
	add(o.Output != "rules", "-o "+o.Output)
	if o.Output == "prometheusrule" && o.flags != nil && o.flags.Namespace != nil && *o.flags.Namespace != "" {
		parts = append(parts, "-n "+*o.flags.Namespace)
	}
	add(o.Name != "oomdoctor", "--name "+o.Name)
	for _, l := range o.RuleLabels {
		parts = append(parts, "--rule-label "+l)
	}
	add(r.GroupName != d.GroupName, "--group "+r.GroupName)
	for _, l := range o.Labels {
		parts = append(parts, "--label "+l)
	}
	add(r.WorkingSetShare != d.WorkingSetShare, fmt.Sprintf("--working-set-threshold %g", r.WorkingSetShare))
	add(r.NearLimitFor != d.NearLimitFor, "--for "+r.NearLimitFor.String())
	add(r.OOMWindow != d.OOMWindow, "--oom-window "+r.OOMWindow.String())
	add(r.PredictHours != d.PredictHours, fmt.Sprintf("--predict-hours %g", r.PredictHours))
	add(r.PredictWindow != d.PredictWindow, "--predict-window "+r.PredictWindow.String())
	add(r.LimitsOvercommit != d.LimitsOvercommit, fmt.Sprintf("--limits-overcommit %g", r.LimitsOvercommit))
	add(r.NodeUsageShare != d.NodeUsageShare, fmt.Sprintf("--node-usage-threshold %g", r.NodeUsageShare))
	add(len(r.By) > 0, "--by "+strings.Join(r.By, ","))
	add(len(r.Disable) > 0, "--disable "+strings.Join(r.Disable, ","))
	add(r.Selector != "", "--matchers '"+r.Selector+"'")
	add(r.CadvisorSelector != "", "--cadvisor-matchers '"+r.CadvisorSelector+"'")
	add(r.KSMSelector != "", "--ksm-matchers '"+r.KSMSelector+"'")
	add(r.AgentSelector != "", "--agent-matchers '"+r.AgentSelector+"'")
	add(r.NamespaceLabel != d.NamespaceLabel, "--namespace-label "+r.NamespaceLabel)
	add(r.PodLabel != d.PodLabel, "--pod-label "+r.PodLabel)
	add(r.ContainerLabel != d.ContainerLabel, "--container-label "+r.ContainerLabel)
	add(r.NodeLabel != d.NodeLabel, "--node-label "+r.NodeLabel)
	add(r.RunbookURL != "", "--runbook-url "+r.RunbookURL)
	if len(parts) == 0 {
		return "(defaults)"
	}
	return strings.Join(parts, " ")
}
