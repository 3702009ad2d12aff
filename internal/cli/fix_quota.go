package cli

import (
	"bytes"
	"fmt"
	"io"

	"github.com/oomdoctor/oomdoctor/internal/fix"
	"github.com/oomdoctor/oomdoctor/internal/lint"
)

// quotaWarnings checks the files' ResourceQuotas against their workloads
// with the new values (lint's memory-over-quota over fix's output): a
// quota is the namespace's, so a breach is a warning about the change as
// a whole, not a file left untouched as a LimitRange's is.
func quotaWarnings(w io.Writer, results []*fix.Result, cfg *lint.Config) {
	_, after, changed := lintable(results)
	if !changed || !holds(after, "ResourceQuota") {
		return
	}
	warnWithNewValues(w, after, cfg.Only(lint.OverQuotaRule), "ResourceQuotas")
}

// lintable are the files fix read and their fixed contents, as lint
// reads them (templates left out: fix leaves them, lint cannot read
// them), and whether any changed.
func lintable(results []*fix.Result) (before, after []lint.File, changed bool) {
	for _, r := range results {
		if bytes.Contains(r.Fixed, []byte("{{")) {
			continue
		}
		before = append(before, lint.File{Name: r.File, Data: r.Original})
		after = append(after, lint.File{Name: r.File, Data: r.Fixed})
		changed = changed || r.Changed()
	}
	return before, after, changed
}

// holds says whether any of the files mentions kind.
func holds(files []lint.File, kind string) bool {
	for _, f := range files {
		if bytes.Contains(f.Data, []byte(kind)) {
			return true
		}
	}
	return false
}

// warnWithNewValues runs one lint rule (cfg runs it alone) over fix's
// output and prints its findings as warnings about the new values; what
// names the objects the rule checks, for the note when it cannot run.
func warnWithNewValues(w io.Writer, files []lint.File, cfg *lint.Config, what string) {
	rep, err := lint.New(cfg).RunFiles(files)
	if err != nil {
		fmt.Fprintf(w, "note: the files' %s were not checked against the new values: %v\n", what, err)
		return
	}
	for _, f := range rep.Findings {
		fmt.Fprintf(w, "warning: %s:%d: with the new values, %s [%s]\n", f.File, f.Line, f.Message, f.Rule)
	}
}
