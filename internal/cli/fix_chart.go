package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/oomdoctor/oomdoctor/internal/helmvalues"
)

// chartFlags checks the flags of fix --chart.
func (o *FixOptions) chartFlags(cmd *cobra.Command) error {
	if err := o.chart.misused(cmd); err != nil || !o.chart.set() {
		return err
	}
	switch {
	case len(o.Files) > 0:
		return usagef("--chart and -f exclude each other: fix changes the chart's values, or the manifests of -f (a chart's values files are given with --values)")
	case o.Apply:
		return usagef("--chart changes a chart's values files; to change the live release, run helm upgrade with them after, or fix --apply the objects")
	case o.PatchDir != "":
		return usagef("--patch-dir writes patches for a Kustomize base; with --chart the values files are changed (a diff, or --write)")
	}
	return nil
}

// RunChart fixes a Helm chart through its values: the chart is rendered,
// the render is fixed as -f fixes manifests, and the values that make the
// planned changes are written (a diff, or --write).
func (o *FixOptions) RunChart(cmd *cobra.Command) error {
	c, ts, err := o.chart.render(cmd)
	if err != nil {
		return err
	}
	inputs := make([]fixInput, len(ts))
	for i, t := range ts {
		inputs[i] = fixInput{name: t.Name, data: []byte(t.Text)}
	}
	fixes, err := o.planRender(inputs, "values file")
	if err != nil || fixes == nil {
		return err
	}
	planned := make([]helmvalues.Template, len(fixes))
	for i, f := range fixes {
		planned[i] = helmvalues.Template{Name: f.name, Text: f.text}
	}
	bar := newProgress(o.ErrOut)
	c.Progress = bar.counts("tracing the changes to the chart's values: %d found, %d left")
	c.Partial = o.Partial
	edits, err := c.Trace(planned)
	bar.Done()
	var te *helmvalues.TraceError
	if errors.As(err, &te) {
		fmt.Fprintln(o.ErrOut, "error:", te)
		if !te.Partial {
			return &exitStatus{code: ExitFailure}
		}
	} else if err != nil {
		return err
	}
	files, err := c.Write(edits, planned)
	if err != nil {
		return err
	}
	for _, e := range edits {
		for _, a := range e.Assignments {
			from := a.From
			if !a.HadFrom {
				from = "(none)"
			}
			fmt.Fprintf(o.ErrOut, "%s: %s: %s → %s (for %s)\n", fileOf(files, a), a.Key(), from, a.To, strings.Join(e.Fields, "; "))
		}
	}
	changes := make([]sourceChange, len(files))
	for i, f := range files {
		changes[i] = sourceChange{path: f.Path, original: f.Original, fixed: f.Fixed}
	}
	return partly(o.writeChanges(changes, "values file"), te != nil)
}

// fileOf is the values file an assignment is written in.
func fileOf(files []helmvalues.FileChange, a helmvalues.Assignment) string {
	for _, f := range files {
		for _, b := range f.Assignments {
			if b.Key() == a.Key() {
				return f.Path
			}
		}
	}
	return "?"
}
