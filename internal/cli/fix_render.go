package cli

import (
	"fmt"
	"strings"

	"github.com/oomdoctor/oomdoctor/internal/fix"
	"github.com/oomdoctor/oomdoctor/internal/words"
)

// renderedFix is the fixed text of one file of a render (a chart's
// template, an object of a kustomization's build).
type renderedFix struct {
	name, text string
}

// planRender plans the fix of a render as -f plans manifests (with the
// render's ConfigMaps), and prints the plan. It returns every rendered
// file's fixed text, or none when nothing is to change; a plan that
// failed or was refused is an exitStatus, after saying that no file
// (noun) was changed.
func (o *FixOptions) planRender(inputs []fixInput, noun string) ([]renderedFix, error) {
	cms := fix.ConfigMaps{}
	for _, in := range inputs {
		cms.Read(in.name, in.data)
	}
	results, failed, refused, err := o.plan(inputs, cms, true)
	if err != nil {
		return nil, err
	}
	o.printPlan(results)
	o.planWarnings(results)
	if failed || refused {
		fmt.Fprintf(o.ErrOut, "No %s was changed.\n", noun)
		if failed {
			return nil, &exitStatus{code: ExitUsage}
		}
		return nil, &exitStatus{code: ExitFailure}
	}
	planned := make([]renderedFix, len(results))
	changed := false
	for i, r := range results {
		planned[i] = renderedFix{name: r.File, text: string(r.Fixed)}
		changed = changed || r.Changed()
	}
	if !changed {
		fmt.Fprintln(o.ErrOut, "Nothing to change.")
		return nil, nil
	}
	return planned, nil
}

// sourceChange is a file of the user's that a render's fix changes; one
// with no original is new.
type sourceChange struct {
	path            string
	original, fixed []byte
}

// writeChanges writes the changed files with --write, each atomically,
// and otherwise prints their unified diff; then says how many (of noun).
func (o *FixOptions) writeChanges(changes []sourceChange, noun string) error {
	if o.Write {
		for _, c := range changes {
			if err := fix.Writable(c.path); err != nil {
				return fmt.Errorf("%w; no %s was changed", err, noun)
			}
		}
	}
	for _, c := range changes {
		switch {
		case o.Write:
			if err := fix.WriteAtomic(c.path, c.fixed); err != nil {
				return err
			}
		case c.original == nil:
			fmt.Fprint(o.Out, newFileDiff(c.path, c.fixed))
		default:
			fmt.Fprint(o.Out, fix.Diff(&fix.Result{File: c.path, Original: c.original, Fixed: c.fixed}))
		}
	}
	if o.Write {
		fmt.Fprintf(o.ErrOut, "Wrote %s.\n", words.Count(len(changes), noun))
	} else {
		fmt.Fprintf(o.ErrOut, "%s would change; run again with --write to change them.\n", words.Count(len(changes), noun))
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
	fmt.Fprintf(&b, "--- /dev/null\n+++ b/%s\n@@ -0,0 +1,%d @@\n", fix.DiffPath(path), len(lines))
	for _, l := range lines {
		b.WriteString("+" + l)
	}
	if !strings.HasSuffix(b.String(), "\n") {
		b.WriteString("\n\\ No newline at end of file\n")
	}
	return b.String()
}
