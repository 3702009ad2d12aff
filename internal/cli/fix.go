package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/oomdoctor/oomdoctor/internal/fix"
	"github.com/oomdoctor/oomdoctor/internal/lint"
	"github.com/oomdoctor/oomdoctor/internal/manifest"
	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/recommend"
	"github.com/oomdoctor/oomdoctor/internal/words"
)

// FixOptions are the options of `oomdoctor fix`.
type FixOptions struct {
	flags *genericclioptions.ConfigFlags
	genericiooptions.IOStreams

	Files           []string
	Objects         []string
	Selector        string
	AllNamespaces   bool
	Container       string
	MemoryRequest   string
	MemoryLimit     string
	FromPeak        string
	Average         string
	Factor          float64
	Recommendations string
	Strategy        string
	FromCluster     bool
	MinChange       float64
	prom            *promFlags
	Lint            bool
	ConfigFile      string
	Write           bool
	PatchDir        string
	Apply           bool
	Wait            bool
	PodCheck        bool
	ConfigMaps      bool
	Rollback        bool
	Output          string
	DryRun          string
	Timeout         time.Duration
	Observe         time.Duration
	Parallel        int
	Partial         bool
	chart           chartFlags
	Kustomize       string
	kustomizeHelm   kustomizeHelm

	values fix.Values
	// lintCfg is lint's config, for --lint and the checks of fix's output.
	lintCfg *lint.Config
	// recs are the values of --recommendations FILE, to say which matched nothing.
	recs *fix.FromRecommendations
}

// NewFixCommand builds `oomdoctor fix`.
func NewFixCommand(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &FixOptions{flags: flags, IOStreams: streams, Factor: 1.5, Wait: true, PodCheck: true, Timeout: 5 * time.Minute, Observe: 30 * time.Second, prom: newPromFlags(flags, streams.ErrOut), Strategy: recommend.Default, MinChange: recommend.MinChange}
	cmd := &cobra.Command{
		Use:   "fix (-f PATH... | -k DIR | --chart DIR [--values FILE]...) [TYPE[/NAME]...] [-l SELECTOR] (--memory-limit Q | --from-peak Q | --recommendations FILE | --lint) [--write | --patch-dir DIR | --apply]",
		Short: "Write memory requests, limits and heap flags into manifests (comments kept), or into the cluster",
		Long: `Write memory settings into manifests, keeping every comment, the key order, the
indentation, the quoting and the other documents: only the fields that change differ, and a
second run changes nothing. When a limit changes and the container's JVM, Node.js, .NET or Go
runtime has an explicit heap setting (-Xmx, MaxRAMPercentage, --max-old-space-size,
DOTNET_GCHeapHardLimit, GOMEMLIMIT) that no longer fits, the setting changes with it.

Values come from one of:
  --memory-request/--memory-limit   explicit quantities (for --container, or the only container)
  --from-peak PEAK [--average AVG]  the rule of thumb: limit = --factor (1.5) x peak, request = average
  --recommendations FILE            oomdoctor recommend -o json
  --prometheus-url URL              recommended live from the usage history in Prometheus (as
                                    oomdoctor recommend does; -n limits it to one namespace)
  --lint                            oomdoctor lint's automatic fixes (with --apply, of the live
                                    objects: a heap too big for the limit they have, GOMEMLIMIT)

By default fix prints a unified diff (for -f -, the whole fixed manifest, to pipe on). --write
changes the files in place (atomically, permissions kept). --patch-dir DIR writes
strategic-merge patches for a Kustomize base instead of touching it. Templates (Helm) are not
edited by -f: --chart DIR renders a chart (with --values FILE... and --release NAME, as helm
template), fixes the render, and writes each change into the values key that makes it.
--apply changes the objects in the cluster instead: a server-side dry run, then a patch of
only the memory fields (field manager oomdoctor), then it waits for the rollout.

-k DIR builds a kustomization as kubectl kustomize does, fixes the build, and writes each change
into the files of DIR: the value where DIR sets it (a patch, a resource, a generator's literal,
a helmCharts entry's values with --enable-helm), or a strategic-merge patch it adds and lists;
a base outside DIR, and a chart's own files, are never changed.

TYPE/NAME arguments (deployment/api) keep only those objects; a TYPE alone (deployments) keeps
every object of that kind, and with --apply, -l SELECTOR those whose labels match.`,
		Example: `  oomdoctor fix -f k8s/api.yaml --memory-limit 1Gi --memory-request 512Mi
  oomdoctor fix -f k8s/ --recommendations recs.json --write
  oomdoctor fix -f k8s/ --prometheus-url http://127.0.0.1:9090 -n shop --write
  oomdoctor fix -f k8s/ --lint --write
  oomdoctor fix -k overlays/prod deployment/prod-api --memory-limit 1Gi --write
  oomdoctor fix -f base/ --from-peak 700Mi --average 400Mi --patch-dir overlays/prod/patches
  oomdoctor fix --chart ./chart --values prod.yaml --release api -n shop --recommendations recs.json --write
  oomdoctor fix --apply deployment/api -n shop --memory-limit 1Gi
  oomdoctor fix --apply deployment/api -n shop --lint --configmaps`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(cmd, args); err != nil {
				return err
			}
			switch {
			case o.Apply:
				return o.RunApply(cmd)
			case o.chart.set():
				return o.RunChart(cmd)
			case o.Kustomize != "":
				return o.RunKustomize()
			}
			return o.Run()
		},
	}
	f := cmd.Flags()
	f.StringSliceVarP(&o.Files, "filename", "f", nil, "Manifests to fix: files, folders (recursive) or - for standard input.")
	f.StringVarP(&o.Kustomize, "kustomize", "k", "", "A kustomization's folder, as kubectl's -k: build it, fix the build, and write the changes into the folder's files (the value where it sets it, or a strategic-merge patch it lists); files outside it (a shared base) are never changed.")
	o.kustomizeHelm.addFlags(f)
	f.StringVarP(&o.Container, "container", "c", "", "The container to set (default: the workload's only container); with --lint, the one container whose fixes are made (default: all).")
	f.StringVar(&o.MemoryRequest, "memory-request", "", "Memory request to set, e.g. 512Mi.")
	f.StringVar(&o.MemoryLimit, "memory-limit", "", "Memory limit to set, e.g. 1Gi.")
	f.StringVar(&o.FromPeak, "from-peak", "", "Observed peak usage: the limit becomes --factor times it.")
	f.StringVar(&o.Average, "average", "", "With --from-peak: average usage, for the request (default: the peak).")
	f.Float64Var(&o.Factor, "factor", o.Factor, "With --from-peak: limit = factor x peak (the guide's rule: 1.5 to 2).")
	f.StringVar(&o.Recommendations, "recommendations", "", "A Recommendations document (oomdoctor recommend -o json), - for standard input; with --apply and no TYPE/NAME or -f, every workload it sizes is changed.")
	f.StringVar(&o.Strategy, "strategy", o.Strategy, "With --prometheus-url: the sizing strategy (see oomdoctor recommend).")
	f.BoolVar(&o.FromCluster, "from-cluster", false, fromClusterHelp+" Implied by --apply.")
	f.Var(percent{&o.MinChange}, "min-change", "With --prometheus-url: keep the current request or limit when the new one is within this much of it (0 changes every value).")
	o.prom.add(f)
	f.BoolVar(&o.Lint, "lint", false, "Apply oomdoctor lint's automatic fixes (with --apply: those of the live objects, with the ConfigMaps they read).")
	f.StringVar(&o.ConfigFile, "config", "", "lint's config file (LintConfig; default ./"+DefaultLintConfig+" when it exists): the rules it turns off or ignores are not fixed by --lint, and its settings hold for the checks of the new values (ResourceQuotas, HorizontalPodAutoscalers).")
	f.BoolVar(&o.Write, "write", false, "Write the changes into the files (atomically).")
	f.StringVar(&o.PatchDir, "patch-dir", "", "Write strategic-merge patches into this folder instead of editing the manifests (Kustomize).")
	f.StringVarP(&o.Selector, "selector", "l", "", "With --apply: change the objects of the TYPEs given (default: Deployments, StatefulSets, DaemonSets and CronJobs) whose labels match, as kubectl's -l (e.g. -l app=api,tier!=batch).")
	f.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "With --apply and a TYPE or -l: the objects of every namespace.")
	f.BoolVar(&o.Apply, "apply", false, "Change the objects in the cluster (TYPE/NAME arguments, or the objects of -f) and wait for the rollout.")
	f.BoolVar(&o.Wait, "wait", o.Wait, "With --apply: wait for the rollout to finish.")
	f.BoolVar(&o.PodCheck, "pod-check", o.PodCheck, "With --apply: create one pod of the new template in a dry run first, and change nothing when the namespace's LimitRanges, ResourceQuotas or admission policies refuse it or rewrite its memory (--pod-check=false: when you will resolve that after the change).")
	f.DurationVar(&o.Timeout, "timeout", o.Timeout, "With --apply: how long to wait for the rollout.")
	f.DurationVar(&o.Observe, "observe", o.Observe, "With --apply: after the rollout, watch its new pods this long; one OOM-killed or crashing in a loop fails the change (0: not at all).")
	f.BoolVar(&o.Partial, "partial", false, "With -k or --chart: when some planned changes cannot be traced to a file (a value), still write those that can; the others are said, and the exit code is 1.")
	f.IntVar(&o.Parallel, "parallel", 1, "With --apply: change and watch up to this many objects at once (their lines on stderr then begin with the object's name); after a failed change no other object is started.")
	f.StringVar(&o.DryRun, "dry-run", "none", "With --apply: none changes the cluster; server makes every check, the server's dry runs of the changes and of a new pod included, and prints what would change; client plans and prints it from what it reads, with no dry run on the server.")
	f.BoolVar(&o.ConfigMaps, "configmaps", false, "With --apply: also change the ConfigMaps the new limit needs changed (a heap flag or Redis maxmemory set there), first, when no other workload of the namespace reads them; without it such a change is refused and named.")
	f.BoolVar(&o.Rollback, "rollback-on-failure", false, "With --apply: when the rollout fails (a new pod OOM-killed or crashing in a loop, new pods refused, or --timeout passed), put back what was changed: the ConfigMaps, then the pod template as it was, and wait for that rollout.")
	o.chart.add(f, "write the changes into its values (the --values files, or its values.yaml), comments kept")
	f.StringVarP(&o.Output, "output", "o", "", "With --apply: json or yaml writes an ApplyReport (oomdoctor.io/v1alpha1) on stdout, what was done to each object, instead of the change lines.")
	return cmd
}

func parseQuantity(flag, v string) (*int64, error) {
	if v == "" {
		return nil, nil
	}
	q, err := resource.ParseQuantity(v)
	if err != nil {
		return nil, usagef("--%s %q: %v (write it like 512Mi or 2Gi)", flag, v, err)
	}
	if q.Sign() <= 0 {
		return nil, usagef("--%s must be positive, got %s", flag, v)
	}
	if q.Value() < 4<<20 {
		// A bare number is bytes and 512m millibytes: MiB were meant.
		if n := strings.TrimSuffix(v, "m"); strings.Trim(n, "0123456789.") == "" {
			return nil, usagef("--%s %s is %d bytes: too small for any container (did you mean %sMi?)", flag, v, q.Value(), n)
		}
		return nil, usagef("--%s %s is %d bytes: too small for any container, which needs at least 4Mi", flag, v, q.Value())
	}
	b := q.Value()
	return &b, nil
}

// Complete checks the flags and builds the value source.
func (o *FixOptions) Complete(cmd *cobra.Command, args []string) error {
	if err := o.prom.misused(cmd.Flags(), false); err != nil {
		return err
	}
	for _, a := range args {
		kind, _, named := strings.Cut(a, "/")
		if !named && o.Apply {
			// A TYPE alone: every object of that kind, as kubectl get TYPE.
			if _, err := fix.NormalizeKind(kind); err != nil {
				return usagef("%q is neither TYPE/NAME (deployment/api) nor a TYPE (deployments): %v", a, err)
			}
		}
		if named && o.Selector != "" {
			return usagef("%s names an object and -l selects them: give one or the other, as kubectl", a)
		}
	}
	if o.AllNamespaces {
		if !o.Apply {
			return usagef("-A lists live objects for --apply; without it fix edits the files of -f")
		}
		for _, a := range args {
			if strings.Contains(a, "/") {
				return usagef("%s names an object: -A lists every namespace's objects of a TYPE or -l, not one by name", a)
			}
		}
		if cmd.Flags().Changed("namespace") {
			return usagef("-A and -n exclude each other")
		}
		if len(args) == 0 && o.Selector == "" {
			return usagef("-A needs a TYPE (deployments) or -l SELECTOR to choose the objects of every namespace")
		}
	}
	if o.Selector != "" {
		if !o.Apply {
			return usagef("-l selects live objects for --apply; without it, TYPE/NAME arguments choose among the objects of -f")
		}
		if _, err := labels.Parse(o.Selector); err != nil {
			return usagef("-l %q: %v", o.Selector, err)
		}
	}
	o.Objects = args
	// lint's config matters to the files alone: --apply with TYPE/NAME
	// does not read ./.oomdoctor.yaml.
	o.lintCfg = lint.DefaultConfig()
	if len(o.Files) > 0 || o.chart.set() || o.Kustomize != "" || o.ConfigFile != "" {
		var err error
		if o.lintCfg, err = loadLintConfig(o.ConfigFile); err != nil {
			return err
		}
	}
	sources := 0
	for _, set := range []bool{o.MemoryRequest != "" || o.MemoryLimit != "", o.FromPeak != "", o.Recommendations != "", o.Lint, o.prom.set()} {
		if set {
			sources++
		}
	}
	if sources != 1 {
		return usagef("say what to set with exactly one of --memory-request/--memory-limit, --from-peak, --recommendations, --prometheus-url (or --prometheus-service) or --lint")
	}
	if !o.prom.set() {
		for _, name := range []string{"from-cluster", "min-change", "strategy"} {
			if cmd.Flags().Changed(name) {
				return usagef("--%s goes with --prometheus-url (the values then come from Prometheus' history)", name)
			}
		}
	}
	outputs := 0
	for _, set := range []bool{o.Write, o.PatchDir != "", o.Apply} {
		if set {
			outputs++
		}
	}
	if outputs > 1 {
		return usagef("--write, --patch-dir and --apply exclude each other")
	}
	switch o.DryRun {
	case "none", "server", "client":
	default:
		return usagef("--dry-run %q: want none, server or client", o.DryRun)
	}
	if o.DryRun != "none" && !o.Apply {
		return usagef("--dry-run goes with --apply: without it fix changes no cluster (it prints a diff, or writes the files with --write)")
	}
	if o.Observe < 0 {
		return usagef("--observe %s: want a duration of 0 or more (0 does not watch the new pods after the rollout)", o.Observe)
	}
	switch o.Output {
	case "", "json", "yaml":
	default:
		return usagef("-o %q: want json or yaml (without -o, fix prints a diff, or with --apply a line per change)", o.Output)
	}
	if o.Output != "" && !o.Apply {
		return usagef("-o %s goes with --apply: on files fix prints a diff (or the fixed manifest for -f -), or writes them with --write", o.Output)
	}
	if o.Rollback && !o.Apply {
		return usagef("--rollback-on-failure goes with --apply: it puts back a live object whose rollout fails")
	}
	if o.Rollback && !o.Wait {
		return usagef("--rollback-on-failure watches the rollout to know that it failed: drop --wait=false")
	}
	if o.ConfigMaps && !o.Apply {
		return usagef("--configmaps goes with --apply: in files, the ConfigMaps given with -f are changed already")
	}
	if o.Partial && o.Kustomize == "" && !o.chart.set() {
		return usagef("--partial goes with -k or --chart: it writes the changes traced to their files when others cannot be")
	}
	if o.Parallel < 1 {
		return usagef("--parallel %d: want 1 or more objects at once", o.Parallel)
	}
	if o.Parallel > 1 && !o.Apply {
		return usagef("--parallel goes with --apply: it changes live objects several at a time")
	}
	if o.Parallel > 1 && o.ConfigMaps {
		return usagef("--configmaps changes ConfigMaps in step with each object's rollout, and two objects may read one: give it without --parallel, one object at a time")
	}
	if err := o.chartFlags(cmd); err != nil {
		return err
	}
	if err := o.kustomizeFlags(); err != nil {
		return err
	}
	if err := o.kustomizeHelm.misused(cmd, o.Kustomize); err != nil {
		return err
	}
	if !o.Apply && len(o.Files) == 0 && !o.chart.set() && o.Kustomize == "" {
		return usagef("fix needs manifests (-f PATH, or -f - for standard input), a kustomization (-k DIR), a chart (--chart DIR), or --apply with TYPE/NAME")
	}
	if o.Write {
		for _, f := range o.Files {
			if f == "-" {
				return usagef("--write cannot write to standard input; without it fix prints the fixed manifest")
			}
		}
	}
	if o.FromPeak == "" && (o.Average != "" || cmd.Flags().Changed("factor")) {
		return usagef("--average and --factor go with --from-peak PEAK (the rule of thumb sizes from both)")
	}
	switch {
	case o.MemoryRequest != "" || o.MemoryLimit != "":
		req, err := parseQuantity("memory-request", o.MemoryRequest)
		if err != nil {
			return err
		}
		lim, err := parseQuantity("memory-limit", o.MemoryLimit)
		if err != nil {
			return err
		}
		if req != nil && lim != nil && *req > *lim {
			return usagef("--memory-request %s is above --memory-limit %s", o.MemoryRequest, o.MemoryLimit)
		}
		o.values = fix.Explicit{Container: o.Container, Target: fix.Target{Request: req, Limit: lim}}
	case o.FromPeak != "":
		peak, err := parseQuantity("from-peak", o.FromPeak)
		if err != nil {
			return err
		}
		avg, err := parseQuantity("average", o.Average)
		if err != nil {
			return err
		}
		if o.Factor < 1 {
			return usagef("--factor must be at least 1, got %g", o.Factor)
		}
		p := fix.FromPeak{Container: o.Container, Peak: *peak, Factor: o.Factor}
		if avg != nil {
			if *avg > *peak {
				return usagef("--average %s is above --from-peak %s: an average of the usage is at most its peak", o.Average, o.FromPeak)
			}
			p.Average = *avg
		}
		o.values = p
	case o.Recommendations == "-":
		// oomdoctor recommend -o json | oomdoctor fix --recommendations -
		if slices.Contains(o.Files, "-") {
			return usagef("--recommendations - and -f - both read standard input: give one of them a file")
		}
		data, err := io.ReadAll(o.In)
		if err != nil {
			return fmt.Errorf("reading the recommendations from standard input: %w", err)
		}
		r, err := fix.ParseRecommendations("standard input", data)
		if err != nil {
			return asUsage(err)
		}
		o.values, o.recs = r, r
	case o.Recommendations != "":
		r, err := fix.LoadRecommendations(o.Recommendations)
		if err != nil {
			return asUsage(err)
		}
		o.values, o.recs = r, r
	case o.prom.set():
		st, err := recommend.Lookup(o.Strategy)
		if err != nil {
			return asUsage(err)
		}
		if err := o.prom.stepFits(st); err != nil {
			return err
		}
		ns := ""
		if o.flags.Namespace != nil {
			ns = *o.flags.Namespace
		}
		sz := sizing{st: st, minChange: o.MinChange, maxRatio: model.MaxLimitRequestRatio, leaks: true}
		var specNotes []string
		if o.FromCluster || o.Apply {
			if sz.sp, specNotes, err = clusterSpecs(cmd.Context(), o.flags, ns); err != nil {
				return err
			}
		}
		doc, err := recommendPrometheus(cmd.Context(), o.prom, ns, nil, nil, false, sz, time.Now(), o.ErrOut)
		if err != nil {
			return err
		}
		for _, n := range append(specNotes, doc.Notes...) {
			fmt.Fprintln(o.ErrOut, "note:", n)
		}
		o.values = fix.NewFromRecommendations(doc)
	}
	return nil
}

// Run fixes the manifests.
func (o *FixOptions) Run() error {
	files, err := manifest.ExpandInputs(o.Files)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return usagef("cannot read %s: %v", pe.Path, pe.Err)
		}
		return asUsage(err)
	}
	// Every input is read first: a workload's ConfigMaps may be in
	// another file, and a heap flag or maxmemory set there moves with it.
	var inputs []fixInput
	cms := fix.ConfigMaps{}
	failed := false
	for _, f := range files {
		in := fixInput{name: f}
		var err error
		if f == "-" {
			in.name = manifest.StdinName
			in.data, err = io.ReadAll(o.In)
		} else {
			in.data, err = os.ReadFile(f)
		}
		if err != nil {
			fmt.Fprintf(o.ErrOut, "error: %v (left untouched)\n", err)
			failed = true
			continue
		}
		cms.Read(in.name, in.data)
		inputs = append(inputs, in)
	}
	results, planFailed, refused, err := o.plan(inputs, cms, false)
	if err != nil {
		return err
	}
	failed = failed || planFailed
	o.printPlan(results)
	if o.Write {
		// Every file is checked before any is written: a read-only one
		// would stop the run halfway.
		for _, r := range results {
			if !r.Changed() || r.File == manifest.StdinName {
				continue
			}
			if err := fix.Writable(r.File); err != nil {
				return fmt.Errorf("%w; no file was changed", err)
			}
		}
	}
	changed := 0
	for _, r := range results {
		if !r.Changed() {
			if r.File == manifest.StdinName {
				o.Out.Write(r.Fixed)
			}
			continue
		}
		changed++
		switch {
		case o.Write:
			if err := fix.WriteAtomic(r.File, r.Fixed); err != nil {
				return err
			}
		case o.PatchDir != "":
		case r.File == manifest.StdinName:
			o.Out.Write(r.Fixed)
		default:
			fmt.Fprint(o.Out, fix.Diff(r))
		}
	}
	if o.PatchDir != "" && changed > 0 {
		names, err := fix.WritePatches(o.PatchDir, results)
		if err != nil {
			return err
		}
		fmt.Fprintf(o.ErrOut, "Wrote %s to %s. Add them to kustomization.yaml:\npatches:\n", words.CountOf(len(names), "patch", "patches"), o.PatchDir)
		for _, n := range names {
			fmt.Fprintf(o.ErrOut, "- path: %s\n", n)
		}
	}
	o.planWarnings(results)
	switch {
	case changed == 0:
		fmt.Fprintln(o.ErrOut, "Nothing to change.")
	case o.Write:
		fmt.Fprintf(o.ErrOut, "Wrote %s.\n", words.Count(changed, "file"))
	case o.PatchDir == "" && !stdinOnly(files):
		fmt.Fprintf(o.ErrOut, "%s would change; run again with --write to change them.\n", words.Count(changed, "file"))
	}
	switch {
	case failed:
		return &exitStatus{code: ExitUsage}
	case refused:
		return &exitStatus{code: ExitFailure}
	}
	return nil
}

// fixInput is one manifest file and its text.
type fixInput struct {
	name string
	data []byte
}

// plan fixes the inputs' texts (lint's fixes, values outside a LimitRange
// of the files, the ConfigMap edits their workloads ask for); nothing is
// written. failed says a file could not be fixed (and is left out),
// refused that one is left as it was.
func (o *FixOptions) plan(inputs []fixInput, cms fix.ConfigMaps, rendered bool) (results []*fix.Result, failed, refused bool, err error) {
	var lintFixes []model.LintFinding
	if o.Lint {
		// Linted together, as lint -f lints them: a ConfigMap or
		// LimitRange of one file counts for the workloads of another.
		files := make([]lint.File, len(inputs))
		for i, in := range inputs {
			files[i] = lint.File{Name: in.name, Data: in.data}
		}
		if lintFixes, err = o.lintAll(files); err != nil {
			return nil, false, false, err
		}
		if o.Container != "" {
			lintFixes = slices.DeleteFunc(lintFixes, func(f model.LintFinding) bool { return f.Container != o.Container })
		}
	}
	// seen are the results and the files that failed: the workloads
	// TYPE/NAME arguments may name.
	var seen []*fix.Result
	for _, in := range inputs {
		r, err := fix.File(in.name, in.data, fix.Options{Values: o.values, Objects: o.Objects, ConfigMaps: cms, LintFixes: lintFixes, Rendered: rendered})
		if r != nil {
			seen = append(seen, r)
		}
		if err != nil {
			each := []error{err}
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				each = j.Unwrap()
			}
			for _, e := range each {
				fmt.Fprintf(o.ErrOut, "error: %v (left untouched)\n", e)
			}
			failed = true
			continue
		}
		results = append(results, r)
	}
	if missing := fix.Unmatched(seen, o.Objects); len(missing) > 0 {
		return nil, false, false, o.noSuchWorkload(missing, seen)
	}
	// Values outside a LimitRange of the files: the workload would be
	// taken and its every pod refused. Such a file is left untouched.
	outside := fix.Outside(results)
	for _, r := range results {
		why := outside[r]
		if len(why) == 0 {
			continue
		}
		for _, w := range why {
			fmt.Fprintf(o.ErrOut, "error: %s: %s (left untouched)\n", r.File, w)
		}
		r.Refuse()
		refused = true
	}
	fix.ApplyConfigMapEdits(results, cms)
	return results, failed, refused, nil
}

// noSuchWorkload is the error of TYPE/NAME arguments no workload of the
// inputs is, with the names they hold.
func (o *FixOptions) noSuchWorkload(missing []string, results []*fix.Result) error {
	where, names := "the files of -f", ""
	switch {
	case o.Kustomize != "":
		where, names = "the kustomization's build", ": names are as it builds them, with any namePrefix or nameSuffix"
	case o.chart.set():
		where, names = "the chart's render", ": names are as it renders them, often with the release's (--release "+o.chart.release+")"
	}
	var have []string
	for _, r := range results {
		for _, w := range r.Workloads {
			kind, name, _ := strings.Cut(w, "/")
			have = append(have, strings.ToLower(kind)+"/"+name)
		}
	}
	slices.Sort(have)
	have = slices.Compact(have)
	held := "none at all"
	if len(have) > 0 {
		held = strings.Join(have[:min(len(have), 8)], ", ")
		if len(have) > 8 {
			held += fmt.Sprintf(" and %d more", len(have)-8)
		}
	}
	what := "no workload of that name"
	if len(missing) > 1 {
		what = "no workloads of those names"
	}
	return usagef("%s: %s in %s (%s)%s; nothing was changed", strings.Join(missing, ", "), what, where, held, names)
}

// printPlan says the notes and changes of the results on stderr.
func (o *FixOptions) printPlan(results []*fix.Result) {
	for _, r := range results {
		for _, n := range r.Notes {
			fmt.Fprintf(o.ErrOut, "note: %s: %s\n", n.File, n.Message)
		}
		for _, c := range r.Changes {
			who := c.Object
			if c.Container != "" {
				who += " container " + c.Container
			}
			fmt.Fprintf(o.ErrOut, "%s: %s: %s\n", c.File, who, c.What)
		}
	}
}

// planWarnings are the warnings of what the results would write: quotas,
// HPAs, the recommendations' own, those that matched nothing.
func (o *FixOptions) planWarnings(results []*fix.Result) {
	quotaWarnings(o.ErrOut, results, o.lintCfg)
	hpaFileWarnings(o.ErrOut, results, o.lintCfg)
	recWarnings(o.ErrOut, o.values)
	if o.recs != nil && len(o.Objects) == 0 {
		if unused := o.recs.Unused(); len(unused) > 0 {
			var names []string
			for _, r := range unused[:min(len(unused), 5)] {
				names = append(names, fix.RecName(r))
			}
			if len(unused) > 5 {
				names = append(names, fmt.Sprintf("%d more", len(unused)-5))
			}
			check := "the files given with -f"
			if o.Kustomize != "" {
				check = "the names the kustomization builds (a namePrefix or nameSuffix changes them)"
			}
			if o.chart.set() {
				check = "the release's name (--release " + o.chart.release + ": workload names often hold it)"
			}
			fmt.Fprintf(o.ErrOut, "note: %d of the %d recommendations match no container in the files (%s): check %s, and the namespaces (a manifest without one matches the workload of any, when only one namespace has it)\n",
				len(unused), o.recs.Len(), strings.Join(names, ", "), check)
		}
	}
}

func stdinOnly(files []string) bool { return len(files) == 1 && files[0] == "-" }

// lintAll lints the files together and returns the findings. A file that
// does not parse is left out (fixing it reports it).
func (o *FixOptions) lintAll(files []lint.File) ([]model.LintFinding, error) {
	for len(files) > 0 {
		rep, err := lint.New(o.lintCfg).EditConfigMaps().RunFiles(files)
		if err == nil {
			return rep.Findings, nil
		}
		var pe *manifest.ParseError
		if !errors.As(err, &pe) {
			return nil, err
		}
		kept := files[:0:0]
		for _, f := range files {
			if f.Name != pe.File {
				kept = append(kept, f)
			}
		}
		if len(kept) == len(files) {
			return nil, err
		}
		files = kept
	}
	return nil, nil
}
