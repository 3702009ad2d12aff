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
func quotaWarnings(w io.Writer, results []*fix.Result) {
	var files []lint.File
	quota, changed := false, false
	for _, r := range results {
		if bytes.Contains(r.Fixed, []byte("{{")) {
			continue // a template: fix leaves it, lint cannot read it
		}
		files = append(files, lint.File{Name: r.File, Data: r.Fixed})
		quota = quota || bytes.Contains(r.Fixed, []byte("ResourceQuota"))
		changed = changed || r.Changed()
	}
	if !quota || !changed {
		return
	}
	rep, err := lint.New(lint.OnlyRule(lint.OverQuotaRule)).RunFiles(files)
	if err != nil {
		fmt.Fprintf(w, "note: the files' ResourceQuotas were not checked against the new values: %v\n", err)
		return
	}
	for _, f := range rep.Findings {
		fmt.Fprintf(w, "warning: %s:%d: with the new values, %s [%s]\n", f.File, f.Line, f.Message, f.Rule)
	}
}
