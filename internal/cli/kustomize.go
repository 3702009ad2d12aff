package cli

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/oomdoctor/oomdoctor/internal/kustomize"
	"github.com/oomdoctor/oomdoctor/internal/lint"
	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/report"
)

// kustomizeBuild builds a kustomization as kubectl kustomize does, its
// objects grouped by the file each comes from (a resource file, or the
// kustomization that generates it), in the build's order.
func kustomizeBuild(dir string, helm kustomizeHelm) (*kustomize.Kustomization, []*kustomize.Object, []lint.File, error) {
	k, err := kustomize.Load(dir)
	if err != nil {
		return nil, nil, nil, usagef("%v", err)
	}
	if helm.enable {
		if _, err := exec.LookPath(helm.command); err != nil {
			return nil, nil, nil, usagef("--enable-helm: cannot run the helm program %q (%v): install helm 3, or give its path with --helm-command", helm.command, errors.Unwrap(err))
		}
		k.Helm = helm.command
	}
	objs, err := k.Build()
	if err != nil {
		return nil, nil, nil, usagef("%v", err)
	}
	var files []lint.File
	at := map[string]int{}
	for _, o := range objs {
		i, ok := at[o.Source]
		if !ok {
			i = len(files)
			at[o.Source] = i
			files = append(files, lint.File{Name: o.Source})
		}
		if len(files[i].Data) > 0 {
			files[i].Data = append(files[i].Data, "---\n"...)
		}
		files[i].Data = append(files[i].Data, o.Text...)
	}
	return k, objs, files, nil
}

// kustomizeHelm are kubectl kustomize's flags for a kustomization's
// helmCharts.
type kustomizeHelm struct {
	enable  bool
	command string
}

func (h *kustomizeHelm) addFlags(f *pflag.FlagSet) {
	f.BoolVar(&h.enable, "enable-helm", false, "With -k: inflate the kustomization's helmCharts with the helm program, as kubectl kustomize --enable-helm.")
	f.StringVar(&h.command, "helm-command", "helm", "With -k and --enable-helm: the helm program (a path, or a name on PATH).")
}

// misused says the helm flags without -k.
func (h *kustomizeHelm) misused(cmd *cobra.Command, dir string) error {
	for _, name := range []string{"enable-helm", "helm-command"} {
		if cmd.Flags().Changed(name) && dir == "" {
			return usagef("--%s goes with -k: it inflates a kustomization's helmCharts (a chart alone is given with --chart)", name)
		}
	}
	if cmd.Flags().Changed("helm-command") && !h.enable {
		return usagef("--helm-command goes with --enable-helm")
	}
	return nil
}

// kustomizeFlags checks the flags of fix -k.
func (o *FixOptions) kustomizeFlags() error {
	if o.Kustomize == "" {
		return nil
	}
	switch {
	case len(o.Files) > 0:
		return usagef("-k and -f exclude each other: fix changes the kustomization's files, or the manifests of -f")
	case o.chart.set():
		return usagef("-k and --chart exclude each other")
	case o.Apply:
		return usagef("-k changes a kustomization's files; to change the live objects, kubectl apply -k it after, or fix --apply them")
	case o.PatchDir != "":
		return usagef("-k writes its patches into the kustomization's folder itself (and lists them under its patches); --patch-dir is for -f")
	}
	return nil
}

// RunKustomize fixes a kustomization through its files: it is built, the
// build is fixed as -f fixes manifests, and the files of its folder that
// make the planned changes are changed (a diff, or --write).
func (o *FixOptions) RunKustomize() error {
	k, _, files, err := kustomizeBuild(o.Kustomize, o.kustomizeHelm)
	if err != nil {
		return err
	}
	inputs := make([]fixInput, len(files))
	for i, f := range files {
		inputs[i] = fixInput{name: f.Name, data: f.Data}
	}
	fixes, err := o.planRender(inputs, "file")
	if err != nil || fixes == nil {
		return err
	}
	planned := make([]kustomize.Planned, len(fixes))
	for i, f := range fixes {
		planned[i] = kustomize.Planned{Name: f.name, Text: f.text}
	}
	bar := newProgress(o.ErrOut)
	k.Progress = bar.counts("tracing the changes to the kustomization's files: %d made, %d left")
	k.Partial = o.Partial
	changes, err := k.Trace(planned)
	bar.Done()
	var te *kustomize.TraceError
	if errors.As(err, &te) {
		fmt.Fprintln(o.ErrOut, "error:", te)
		if !te.Partial {
			return &exitStatus{code: ExitFailure}
		}
	} else if err != nil {
		return err
	}
	for _, c := range changes {
		if len(c.Fields) > 0 {
			what := "makes"
			if c.New() {
				what = "a new patch, makes"
			}
			fmt.Fprintf(o.ErrOut, "%s: %s %s\n", c.Path, what, strings.Join(c.Fields, "; "))
		}
		for _, l := range c.Lists {
			fmt.Fprintf(o.ErrOut, "%s: lists %s under patches\n", c.Path, l)
		}
	}
	out := make([]sourceChange, len(changes))
	for i, c := range changes {
		out[i] = sourceChange{path: c.Path, original: c.Original, fixed: c.Fixed}
	}
	return partly(o.writeChanges(out, "file"), te != nil)
}

// partly is the outcome of writing changes: with untraced (--partial
// wrote what it traced, and the rest is said above) a failure still,
// since planned changes are not made.
func partly(err error, untraced bool) error {
	if err == nil && untraced {
		return &exitStatus{code: ExitFailure}
	}
	return err
}

// runKustomize lints a kustomization's build, each finding at the line of
// the file its object comes from (overlays/prod/../../base/api.yaml
// cleaned to base/api.yaml), so that a SARIF upload points at it: the
// field's line, or its nearest enclosing field's when a patch sets it. A
// generated object's findings name the kustomization that generates it,
// at the lines of the build.
func (o *LintOptions) runKustomize(infos []report.RuleInfo) error {
	_, objs, files, err := kustomizeBuild(o.Kustomize, o.kustomizeHelm)
	if err != nil {
		return err
	}
	rep, err := lint.New(o.cfg).RunFiles(files)
	if err != nil {
		return err
	}
	byRef := map[string]*kustomize.Object{}
	for _, obj := range objs {
		byRef[obj.Kind+"/"+obj.Namespace+"/"+obj.Name] = obj
	}
	for _, list := range [][]model.LintFinding{rep.Findings, rep.Suppressed} {
		for i := range list {
			f := &list[i]
			obj := byRef[f.Object.Kind+"/"+f.Object.Namespace+"/"+f.Object.Name]
			if obj == nil {
				continue
			}
			if line, col, ok := obj.Locate(f.Field); ok {
				f.Line, f.Column = line, col
			}
		}
	}
	lint.Sort(rep)
	return o.report(rep, infos)
}
