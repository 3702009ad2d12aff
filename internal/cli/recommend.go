package cli

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"

	"github.com/oomdoctor/oomdoctor/internal/manifest"
	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/recommend"
	"github.com/oomdoctor/oomdoctor/internal/usage"
)

// RecommendOptions are the options of `oomdoctor recommend`.
type RecommendOptions struct {
	genericiooptions.IOStreams
	Trace    string
	Strategy string
	Output   string
}

// NewRecommendCommand builds `oomdoctor recommend`.
func NewRecommendCommand(streams genericiooptions.IOStreams) *cobra.Command {
	o := &RecommendOptions{IOStreams: streams, Strategy: recommend.Default, Output: "table"}
	cmd := &cobra.Command{
		Use:   "recommend --trace FILE",
		Short: "Recommend memory requests and limits from usage history",
		Long: `Recommend a memory request and limit per series of usage history, with the reasons in
numbers. The default strategy, tail, sizes the limit for the rare peak: it models the upper
tail of the 6-hour peaks of the last 28 days and takes the level a week's peaks exceed with
probability 1e-4, at least 1.1x the highest peak; OOM kills count as peaks at least as high as
the limit they happened at. Other strategies (` + fmt.Sprint(recommend.Names()) + `) are the peers'
and the rule of thumb; oomdoctor replay compares them on a trace.

-o json writes a Recommendations document that oomdoctor fix --recommendations reads.`,
		Example: `  oomdoctor recommend --trace usage.csv
  oomdoctor recommend --trace usage.csv -o json > recs.json && oomdoctor fix -f k8s/ --recommendations recs.json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return o.Run() },
	}
	f := cmd.Flags()
	f.StringVar(&o.Trace, "trace", "", "Usage history: CSV series,unix_seconds,usage_bytes[,provisioned_bytes] (gzip or not); a series is named namespace/kind/name/container or anything.")
	f.StringVar(&o.Strategy, "strategy", o.Strategy, "Sizing strategy.")
	f.StringVarP(&o.Output, "output", "o", o.Output, "Output format: table, json or yaml.")
	return cmd
}

// Run recommends.
func (o *RecommendOptions) Run() error {
	if o.Trace == "" {
		return usagef("give the usage history: --trace FILE")
	}
	switch o.Output {
	case "table", "json", "yaml":
	default:
		return usagef("unknown output format %q: valid formats are json, table, yaml", o.Output)
	}
	st, err := recommend.Lookup(o.Strategy)
	if err != nil {
		return asUsage(err)
	}
	doc := model.Recommendations{APIVersion: "oomdoctor.io/v1alpha1", Kind: model.RecommendationsKind}
	guard := recommend.Guardrails{Floor: 4 << 20, FloorWhy: "the smallest a container runs in"}
	err = usage.ReadTraceFile(o.Trace, func(s *usage.Series) error {
		e := st.New()
		for _, x := range s.Samples {
			e.Add(x.T, x.Usage)
		}
		v := e.Recommend()
		if v.Limit <= 0 {
			return nil
		}
		req, lim, notes := guard.Apply(v)
		r := model.Recommendation{Workload: workloadOf(s.Name), Container: containerOf(s.Name), MemoryRequestBytes: &req, MemoryLimitBytes: &lim}
		r.Reasons = append(e.Explain(), notes...)
		doc.Items = append(doc.Items, r)
		return nil
	})
	if err != nil {
		return asUsage(err)
	}
	switch o.Output {
	case "json":
		enc := json.NewEncoder(o.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(doc)
	case "yaml":
		b, err := yaml.Marshal(doc)
		if err != nil {
			return err
		}
		_, err = o.Out.Write(b)
		return err
	}
	tw := tabwriter.NewWriter(o.Out, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "WORKLOAD\tCONTAINER\tREQUEST\tLIMIT\tWHY")
	for _, r := range doc.Items {
		why := ""
		if len(r.Reasons) > 0 {
			why = r.Reasons[len(r.Reasons)-1]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", workloadName(r.Workload), r.Container, manifest.FormatBytes(*r.MemoryRequestBytes), manifest.FormatBytes(*r.MemoryLimitBytes), why)
	}
	return tw.Flush()
}

// A series named namespace/kind/name/container names a workload's
// container; anything else is a series of its own.
func workloadOf(series string) model.WorkloadRef {
	if p := splitSeries(series); p != nil {
		return model.WorkloadRef{Namespace: p[0], Kind: p[1], Name: p[2]}
	}
	return model.WorkloadRef{Kind: "Series", Name: series}
}

func containerOf(series string) string {
	if p := splitSeries(series); p != nil {
		return p[3]
	}
	return ""
}

func splitSeries(s string) []string {
	var parts []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '/' {
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	if len(parts) == 4 && parts[0] != "" && parts[1] != "" && parts[2] != "" && parts[3] != "" {
		return parts
	}
	return nil
}

func workloadName(w model.WorkloadRef) string {
	if w.Namespace == "" {
		return w.Kind + "/" + w.Name
	}
	return w.Namespace + "/" + w.Kind + "/" + w.Name
}
