package report

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/words"
)

// RuleInfo describes a lint rule for renderers.
type RuleInfo struct {
	ID       string
	Summary  string
	Severity model.Severity
	HelpURI  string
}

// LintRenderer writes a lint report in one format.
type LintRenderer func(w io.Writer, rep *model.LintReport, rules []RuleInfo, showSuppressed bool) error

var lintRenderers = map[string]LintRenderer{
	"text":  writeLintText,
	"json":  writeLintJSON,
	"sarif": writeSARIF,
}

// LintFormats lists the valid -o values of lint.
func LintFormats() []string {
	out := make([]string, 0, len(lintRenderers))
	for k := range lintRenderers {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// LookupLint returns the lint renderer for -o name.
func LookupLint(name string) (LintRenderer, error) {
	r, ok := lintRenderers[name]
	if !ok {
		return nil, fmt.Errorf("unknown output format %q: valid formats are %s", name, strings.Join(LintFormats(), ", "))
	}
	return r, nil
}

// writeLintText prints one finding per line, file:line:column first, as
// compilers do, so editors and CI annotate the line; the fix goes on the
// next line.
func writeLintText(w io.Writer, rep *model.LintReport, _ []RuleInfo, showSuppressed bool) error {
	line := func(f model.LintFinding, suffix string) {
		fmt.Fprintf(w, "%s:%d:%d: %s: %s [%s]%s\n", f.File, f.Line, f.Column, f.Severity, f.Message, f.Rule, suffix)
		if f.Fix != nil && suffix == "" {
			fmt.Fprintf(w, "    fix: %s (oomdoctor fix applies it)\n", f.Fix.Description)
		}
	}
	for _, f := range rep.Findings {
		line(f, "")
	}
	if showSuppressed {
		for _, f := range rep.Suppressed {
			line(f, fmt.Sprintf(" (suppressed by %s: %s)", f.Suppression.Kind, f.Suppression.Reason))
		}
	}
	return nil
}

func writeLintJSON(w io.Writer, rep *model.LintReport, _ []RuleInfo, showSuppressed bool) error {
	out := *rep
	if !showSuppressed {
		out.Suppressed = nil
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(&out)
}

// LintSummary says in one line what lint found, for people.
func LintSummary(rep *model.LintReport) string {
	s := rep.Summary
	var parts []string
	for _, sev := range []model.Severity{model.SeverityError, model.SeverityWarning, model.SeverityInfo} {
		if n := s.BySeverity[sev]; n > 0 {
			if sev == model.SeverityInfo {
				parts = append(parts, fmt.Sprintf("%d info", n))
			} else {
				parts = append(parts, words.Count(n, string(sev)))
			}
		}
	}
	found := "no findings"
	if len(parts) > 0 {
		found = fmt.Sprintf("%s (%s)", words.Count(s.Findings, "finding"), strings.Join(parts, ", "))
	}
	msg := fmt.Sprintf("%s in %s among %s from %s", found, words.Count(s.Workloads, "workload"), words.Count(s.Objects, "object"), words.Count(s.Files, "file"))
	if s.Suppressed > 0 {
		msg += fmt.Sprintf("; %d suppressed (--show-suppressed lists them)", s.Suppressed)
	}
	if n := s.NotObjects; n == 1 {
		msg += "; 1 YAML document was not a Kubernetes object"
	} else if n > 1 {
		msg += fmt.Sprintf("; %d YAML documents were not Kubernetes objects", n)
	}
	return msg + "."
}
