package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime/debug"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/oomdoctor/oomdoctor/internal/lint"
	"github.com/oomdoctor/oomdoctor/internal/manifest"
	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/report"
)

// loadLintConfig reads the lint config at path, or at DefaultLintConfig
// when path is "" and that exists; with neither, the defaults.
func loadLintConfig(path string) (*lint.Config, error) {
	if path == "" {
		if _, err := os.Stat(DefaultLintConfig); err != nil {
			return lint.DefaultConfig(), nil
		}
		path = DefaultLintConfig
	}
	cfg, err := lint.LoadConfig(path)
	if err != nil {
		return nil, asUsage(fmt.Errorf("reading the lint config: %w", err))
	}
	return cfg, nil
}

// DefaultLintConfig is the config file lint reads from the current folder
// when --config is not given.
const DefaultLintConfig = ".oomdoctor.yaml"

// RulesDocURL is where each rule's page is published.
const RulesDocURL = "https://github.com/oomdoctor/oomdoctor/blob/main/docs/rules/"

// LintOptions are the options of `oomdoctor lint`.
type LintOptions struct {
	genericiooptions.IOStreams
	Files          []string
	Output         string
	FailOn         string
	ConfigFile     string
	ShowSuppressed bool
	ListRules      bool

	chart chartFlags
	// Kustomize is the kustomization folder of -k.
	Kustomize     string
	kustomizeHelm kustomizeHelm

	cfg    *lint.Config
	render report.LintRenderer
	cmd    *cobra.Command
}

// NewLintCommand builds `oomdoctor lint`.
func NewLintCommand(streams genericiooptions.IOStreams) *cobra.Command {
	o := &LintOptions{IOStreams: streams, Output: "text"}
	cmd := &cobra.Command{
		Use:   "lint (-f PATH... | -k DIR | --chart DIR [--values FILE]...)",
		Short: "Check manifests for what gets containers OOM-killed, before they are deployed",
		Long: `Check Kubernetes manifests for what gets containers OOM-killed: missing limits and
requests, JVM/Go/Node.js/.NET heap settings that do not fit the limit, memory-backed
emptyDirs without a size, memory quantities in the wrong unit, a VPA and an HPA fighting
over memory, and more (--list-rules; each rule has a page under docs/rules).

Reads files, folders (recursively: .yaml, .yml, .json) and - for standard input, so
"helm template CHART | oomdoctor lint -f -" works. -k DIR builds a kustomization as kubectl
kustomize does, each finding at the line of the file its object comes from. --chart DIR
renders a chart itself (with --values FILE... and --release NAME, as helm template), each
template's manifests named as helm names them. Every workload kind with a pod template is
checked, in multi-document YAML, JSON and List objects.

Silence rules for one object with the annotation oomdoctor.io/ignore: "rule-a,rule-b"
(or "all"), or for many in the config file (--config, default ./.oomdoctor.yaml).

Exit codes: 0 no finding at or above --fail-on; 1 findings at or above it; 2 usage or
input error (a file that does not parse is reported with its position, never skipped).`,
		Example: `  oomdoctor lint -f deploy/
  helm template ./chart | oomdoctor lint -f - -o sarif > oomdoctor.sarif
  oomdoctor lint --chart ./chart --values values-prod.yaml --release api -n shop
  oomdoctor lint -k overlays/prod -o sarif > oomdoctor.sarif
  oomdoctor lint -f k8s/ --fail-on error --show-suppressed`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Files = append(o.Files, args...)
			if err := o.Complete(cmd); err != nil {
				return err
			}
			o.cmd = cmd
			return o.Run()
		},
	}
	f := cmd.Flags()
	f.StringSliceVarP(&o.Files, "filename", "f", nil, "Files or folders to check, or - for standard input (repeat or separate with commas).")
	f.StringVarP(&o.Output, "output", "o", o.Output, "Output format: "+strings.Join(report.LintFormats(), "|")+".")
	f.StringVar(&o.FailOn, "fail-on", "", "Lowest severity that makes lint exit 1: error, warning, info or none (default warning, or failOn in the config file).")
	f.StringVar(&o.ConfigFile, "config", "", "Config file (LintConfig); default ./"+DefaultLintConfig+" when it exists.")
	f.BoolVar(&o.ShowSuppressed, "show-suppressed", false, "List the findings that annotations or the config file silenced, and why.")
	f.BoolVar(&o.ListRules, "list-rules", false, "List the rules with their severity and stop.")
	f.StringVarP(&o.Kustomize, "kustomize", "k", "", "A kustomization's folder, as kubectl's -k: build it as kubectl kustomize does and check the build, each object named by the file it comes from.")
	o.kustomizeHelm.addFlags(f)
	o.chart.add(f, "check its manifests (-n: the release's namespace)")
	return cmd
}

// Complete loads the config and checks the flags.
func (o *LintOptions) Complete(cmd *cobra.Command) error {
	r, err := report.LookupLint(o.Output)
	if err != nil {
		return asUsage(err)
	}
	o.render = r
	if o.cfg, err = loadLintConfig(o.ConfigFile); err != nil {
		return err
	}
	if o.FailOn != "" {
		o.cfg.FailOn = model.Severity(o.FailOn)
		if err := o.cfg.Validate(); err != nil {
			return usagef("--fail-on %q: want error, warning, info or none", o.FailOn)
		}
	}
	if err := o.kustomizeHelm.misused(cmd, o.Kustomize); err != nil {
		return err
	}
	if err := o.chart.misused(cmd); err != nil {
		return err
	}
	sources := 0
	for _, set := range []bool{len(o.Files) > 0, o.chart.set(), o.Kustomize != ""} {
		if set {
			sources++
		}
	}
	if sources > 1 {
		return usagef("-f, -k and --chart exclude each other: lint manifests, a kustomization's build, or a chart's render")
	}
	if !o.ListRules && sources == 0 {
		return usagef("lint needs manifests: -f PATH (a file or folder), -f - for standard input, a kustomization (-k DIR), or a Helm chart (--chart DIR)")
	}
	return nil
}

// Run lints and prints the findings.
func (o *LintOptions) Run() error {
	rules := lint.Rules(o.cfg)
	infos := make([]report.RuleInfo, len(rules))
	for i, r := range rules {
		infos[i] = report.RuleInfo{ID: r.ID(), Summary: r.Summary(), Severity: r.DefaultSeverity(), HelpURI: RulesDocURL + r.ID() + ".md"}
	}
	if o.ListRules {
		tw := tabwriter.NewWriter(o.Out, 0, 4, 3, ' ', 0)
		fmt.Fprintln(tw, "RULE\tSEVERITY\tFINDS")
		for _, r := range infos {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", r.ID, r.Severity, r.Summary)
		}
		return tw.Flush()
	}
	if o.chart.set() {
		return o.runChart(infos)
	}
	if o.Kustomize != "" {
		return o.runKustomize(infos)
	}
	files, err := manifest.ExpandInputs(o.Files)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return usagef("cannot read %s: %v", pe.Path, pe.Err)
		}
		return asUsage(err)
	}
	if len(files) == 0 {
		return usagef("no .yaml, .yml or .json files in %s", strings.Join(o.Files, ", "))
	}
	// lint streams: the live heap stays a few MiB, so the collector can
	// let garbage grow further before it runs, spending less CPU on it.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	rep, err := lint.New(o.cfg).Run(files, o.In)
	var unparsed lint.Unparsed
	if errors.As(err, &unparsed) {
		// The other files are linted and reported; those that do not
		// parse are said after, and make the exit code 2.
		var st *exitStatus
		if err := o.report(rep, infos); err != nil && !errors.As(err, &st) {
			return err
		}
		for _, e := range unparsed {
			fmt.Fprintf(o.ErrOut, "error: %v (not linted)\n", e)
		}
		return &exitStatus{code: ExitUsage}
	}
	if err != nil {
		var fe *fs.PathError
		if errors.As(err, &fe) {
			return usagef("cannot read %s: %v", fe.Path, fe.Err)
		}
		return err
	}
	return o.report(rep, infos)
}

// runChart lints a Helm chart's render, each template's manifests under
// the template's path (chart/templates/api.yaml), so that a SARIF upload
// points at the file; the lines are the render's.
func (o *LintOptions) runChart(infos []report.RuleInfo) error {
	_, ts, err := o.chart.render(o.cmd)
	if err != nil {
		return err
	}
	files := make([]lint.File, len(ts))
	for i, t := range ts {
		files[i] = lint.File{Name: o.chart.sourcePath(t.Name), Data: []byte(t.Text)}
	}
	rep, err := lint.New(o.cfg).RunFiles(files)
	if err != nil {
		return err
	}
	return o.report(rep, infos)
}

func (o *LintOptions) report(rep *model.LintReport, infos []report.RuleInfo) error {
	if err := o.render(o.Out, rep, infos, o.ShowSuppressed); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	fmt.Fprintln(o.ErrOut, report.LintSummary(rep))
	if lint.Failed(rep, o.cfg.FailOn) {
		return &exitStatus{code: ExitFailure}
	}
	return nil
}
