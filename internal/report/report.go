// Package report renders oomdoctor's reports for people (table, wide) and
// for machines (json, yaml). One file per format; the machine formats are the
// documented, versioned schema of package model.
package report

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/words"
)

// Renderer writes a scan report in one format. asOf is the moment the data
// describes, from which ages are counted.
type Renderer func(w io.Writer, rep *model.ScanReport) error

var renderers = map[string]Renderer{}

func register(name string, r Renderer) { renderers[name] = r }

// Formats lists the valid -o values, sorted.
func Formats() []string {
	out := make([]string, 0, len(renderers))
	for name := range renderers {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Lookup returns the renderer for -o name, or an error listing the valid ones.
func Lookup(name string) (Renderer, error) {
	r, ok := renderers[name]
	if !ok {
		return nil, fmt.Errorf("unknown output format %q: valid formats are %s", name, strings.Join(Formats(), ", "))
	}
	return r, nil
}

// Summary says in one line what a report found, for people.
func Summary(rep *model.ScanReport) string {
	s := rep.Summary
	if s.Findings == 0 {
		return fmt.Sprintf("No OOM kills found in %s%s.", words.Count(s.Pods, "pod"), scopeText(rep.Metadata.Scope))
	}
	var parts []string
	for _, t := range model.FindingTypes {
		if n := s.ByType[t]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, t))
		}
	}
	return fmt.Sprintf("%s in %s (%s) among %s%s.",
		words.Count(s.Findings, "finding"), words.Count(s.Workloads, "workload"), strings.Join(parts, ", "), words.Count(s.Pods, "pod"), scopeText(rep.Metadata.Scope))
}

func scopeText(sc model.Scope) string {
	var b strings.Builder
	if sc.Namespace != "" {
		fmt.Fprintf(&b, " in namespace %s", sc.Namespace)
	}
	if sc.Selector != "" {
		fmt.Fprintf(&b, " matching %s", sc.Selector)
	}
	if sc.Since != "" {
		d, err := time.ParseDuration(sc.Since)
		if err == nil {
			fmt.Fprintf(&b, " within the last %s", shortDuration(d))
		}
	}
	return b.String()
}

// shortDuration prints 24h0m0s as 24h and 1h30m0s as 1h30m.
func shortDuration(d time.Duration) string {
	s := d.String()
	s = strings.TrimSuffix(s, "0s")
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	if s == "" {
		return "0s"
	}
	return s
}
