package cli

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/oomdoctor/oomdoctor/internal/fix"
	"github.com/oomdoctor/oomdoctor/internal/kustomize"
	"github.com/oomdoctor/oomdoctor/internal/lint"
	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/report"
	"github.com/oomdoctor/oomdoctor/internal/words"
)

// kustomizeBuild builds a kustomization as kubectl kustomize does, its
// objects grouped by the file each comes from (a resource file, or the
// kustomization that generates it), in the build's order.
func kustomizeBuild(dir string) (*kustomize.Kustomization, []*kustomize.Object, []lint.File, error) {
	k, err := kustomize.Load(dir)
	if err != nil {
		return nil, nil, nil, usagef("%v", err)
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
	k, _, files, err := kustomizeBuild(o.Kustomize)
	if err != nil {
		return err
	}
	inputs := make([]fixInput, len(files))
	cms := fix.ConfigMaps{}
	for i, f := range files {
		inputs[i] = fixInput{name: f.Name, data: f.Data}
		cms.Read(f.Name, f.Data)
	}
	results, failed, refused, err := o.plan(inputs, cms, true)
	if err != nil {
		return err
	}
	o.printPlan(results)
	o.planWarnings(results)
	if failed || refused {
		fmt.Fprintln(o.ErrOut, "No file was changed.")
		if failed {
			return &exitStatus{code: ExitUsage}
		}
		return &exitStatus{code: ExitFailure}
	}
	planned := make([]kustomize.Planned, len(results))
	changed := false
	for i, r := range results {
		planned[i] = kustomize.Planned{Name: r.File, Text: string(r.Fixed)}
		changed = changed || r.Changed()
	}
	if !changed {
		fmt.Fprintln(o.ErrOut, "Nothing to change.")
		return nil
	}
	changes, err := k.Trace(planned)
	var te *kustomize.TraceError
	if errors.As(err, &te) {
		fmt.Fprintln(o.ErrOut, "error:", te)
		return &exitStatus{code: ExitFailure}
	}
	if err != nil {
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
	for _, c := range changes {
		if o.Write {
			if err := fix.WriteAtomic(c.Path, c.Fixed); err != nil {
				return fmt.Errorf("writing %s: %w", c.Path, err)
			}
			continue
		}
		if c.New() {
			fmt.Fprint(o.Out, newFileDiff(c.Path, c.Fixed))
			continue
		}
		fmt.Fprint(o.Out, fix.Diff(&fix.Result{File: c.Path, Original: c.Original, Fixed: c.Fixed}))
	}
	if o.Write {
		fmt.Fprintf(o.ErrOut, "Wrote %s.\n", words.Count(len(changes), "file"))
	} else {
		fmt.Fprintf(o.ErrOut, "%s would change; run again with --write to change them.\n", words.Count(len(changes), "file"))
	}
	return nil
}

// newFileDiff is a unified diff that makes a file, as git writes one.
func newFileDiff(path string, text []byte) string {
	lines := strings.SplitAfter(string(text), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	var b strings.Builder
	fmt.Fprintf(&b, "--- /dev/null\n+++ b/%s\n@@ -0,0 +1,%d @@\n", filepath.ToSlash(path), len(lines))
	for _, l := range lines {
		b.WriteString("+" + l)
	}
	if !strings.HasSuffix(b.String(), "\n") {
		b.WriteString("\n\\ No newline at end of file\n")
	}
	return b.String()
}

// runKustomize lints a kustomization's build, each finding at the line of
// the file its object comes from (overlays/prod/../../base/api.yaml
// cleaned to base/api.yaml), so that a SARIF upload points at it: the
// field's line, or its nearest enclosing field's when a patch sets it. A
// generated object's findings name the kustomization that generates it,
// at the lines of the build.
func (o *LintOptions) runKustomize(infos []report.RuleInfo) error {
	_, objs, files, err := kustomizeBuild(o.Kustomize)
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
	return o.report(rep, infos)
}
