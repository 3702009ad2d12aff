package lint

import (
	"slices"

	"github.com/oomdoctor/oomdoctor/internal/manifest"
	"github.com/oomdoctor/oomdoctor/internal/model"
)

// ApplyFixes makes the fixes of findings (all from the file named file,
// whose text is data) and returns the new text. Findings without a fix are
// left out. Each object's edits are made in finding order, on the text the
// previous ones left.
func ApplyFixes(file string, data []byte, findings []model.LintFinding) ([]byte, error) {
	// A fix that rewrites part of a field holds on whatever text it
	// finds; one that sets a whole field does not: those go first.
	findings = slices.Clone(findings)
	slices.SortStableFunc(findings, func(a, b model.LintFinding) int { return manifest.RewritesAfter(rewrites(a), rewrites(b)) })
	for _, f := range findings {
		if f.Fix == nil || f.File != file {
			continue
		}
		var err error
		data, err = manifest.ApplyEdits(file, data, manifest.ObjectRef{Doc: f.Document, Item: f.Item}, Edits(f))
		if err != nil {
			return nil, err
		}
	}
	return data, nil
}

// Edits are a finding's fix as manifest edits.
func Edits(f model.LintFinding) []manifest.Edit {
	if f.Fix == nil {
		return nil
	}
	edits := make([]manifest.Edit, len(f.Fix.Edits))
	for i, e := range f.Fix.Edits {
		edits[i] = manifest.Edit{Op: manifest.EditOp(e.Op), Path: e.Path, Value: e.Value, From: e.From, To: e.To}
		for _, kv := range e.Item {
			edits[i].Item = append(edits[i].Item, manifest.KV{Key: kv.Key, Value: kv.Value})
		}
	}
	return edits
}

// rewrites tells whether a finding's fix rewrites part of a field.
func rewrites(f model.LintFinding) bool {
	return f.Fix != nil && slices.ContainsFunc(f.Fix.Edits, func(e model.LintEdit) bool { return e.From != "" })
}
