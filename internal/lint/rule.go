package lint

import (
	"fmt"
	"regexp"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/oomdoctor/oomdoctor/internal/manifest"
	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/runtimes"
)

// rule carries the parts every rule has.
type rule struct {
	id       string
	severity model.Severity
	summary  string
}

func (r rule) ID() string                      { return r.id }
func (r rule) DefaultSeverity() model.Severity { return r.severity }
func (r rule) Summary() string                 { return r.summary }

// fix builds a LintFix.
func fix(description string, edits ...model.LintEdit) *model.LintFix {
	return &model.LintFix{Description: description, Edits: edits}
}

func set(path, value string) model.LintEdit {
	return model.LintEdit{Op: string(manifest.OpSet), Path: path, Value: value}
}

func remove(path string) model.LintEdit {
	return model.LintEdit{Op: string(manifest.OpRemove), Path: path}
}

func appendItem(path string, kv ...string) model.LintEdit {
	e := model.LintEdit{Op: string(manifest.OpAppend), Path: path}
	for i := 0; i+1 < len(kv); i += 2 {
		e.Item = append(e.Item, model.KeyVal{Key: kv[i], Value: kv[i+1]})
	}
	return e
}

// limited tells whether a container has a memory limit.
func limited(c *manifest.Container) bool { return c.Resources.MemoryLimit.Set() }

// memoryQuantities calls check with each memory quantity of a workload
// (each container's request and limit, the pod's, each volume's
// sizeLimit), the container it belongs to ("" for none) and its name in
// words.
func memoryQuantities(w *Workload, check func(q *manifest.Quantity, container, what string)) {
	for _, c := range w.Spec.AllContainers() {
		check(c.Resources.MemoryRequest, c.Name, fmt.Sprintf("the memory request of %s", c.Describe()))
		check(c.Resources.MemoryLimit, c.Name, fmt.Sprintf("the memory limit of %s", c.Describe()))
	}
	if w.Spec.Resources != nil {
		check(w.Spec.Resources.MemoryRequest, "", "the pod's memory request")
		check(w.Spec.Resources.MemoryLimit, "", "the pod's memory limit")
	}
	for _, v := range w.Spec.Volumes {
		check(v.SizeLimit, "", fmt.Sprintf("the sizeLimit of volume %q", v.Name))
	}
}

// mib writes bytes as a quantity.
func mib(b int64) string { return manifest.FormatBytes(b) }

// about writes a computed size for reading: a quantity when it is a whole
// MiB or MB, else in MiB with one decimal (972.8Mi, not 1020054732).
func about(b int64) string {
	switch {
	case b%(1<<20) == 0 || b%1_000_000 == 0 || b < 1<<20:
		return mib(b)
	case b >= 10<<30:
		return fmt.Sprintf("%.1fGi", float64(b)/(1<<30))
	}
	return fmt.Sprintf("%.1fMi", float64(b)/(1<<20))
}

// percent writes a share as "78%".
func percent(part, whole int64) string {
	if whole == 0 {
		return "?"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(part)/float64(whole))
}

// limitedContainers are the containers whose memory a limit can bound:
// regular and sidecar containers (and init containers when withInit).
func runningContainers(s *manifest.PodSpec) []*manifest.Container {
	out := make([]*manifest.Container, 0, len(s.Containers)+len(s.InitContainers))
	for _, c := range s.InitContainers {
		if c.Kind == manifest.SidecarContainer {
			out = append(out, c)
		}
	}
	return append(out, s.Containers...)
}

// replaceFlag is the edit that swaps one flag for another in the field that
// holds it, when that field can be edited (not a ConfigMap's).
func replaceFlag(s *runtimes.Setting, newFlag string) (model.LintEdit, bool) {
	if s == nil || s.Path == "" {
		return model.LintEdit{}, false
	}
	e := set(s.Path, strings.Replace(s.Value, s.Flag, newFlag, 1))
	e.From, e.To = s.Flag, newFlag // another flag of the field may be fixed too
	return e, true
}

// rewriteBadFlag adds to a finding about a runtime flag the runtime
// refuses (s) what it means and the fix that writes it: a flag whose
// value is the next word of an options variable (spaced's groups: both
// words, the flag, the value) is joined to it with join; another is
// rewritten as meant reads it, when it can.
func rewriteBadFlag(f *Finding, s *runtimes.Setting, spaced *regexp.Regexp, join string, meant func(string) (string, bool)) {
	for _, m := range spaced.FindAllStringSubmatch(s.Value, -1) {
		if m[2] != s.Flag || s.Path == "" {
			continue
		}
		to := s.Flag + join + m[3]
		f.Message += " It means " + to + "."
		e := set(s.Path, strings.Replace(s.Value, m[1], to, 1))
		e.From, e.To = m[1], to
		f.Fix = fix(fmt.Sprintf("replace %s with %s %s", m[1], to, where(s)), e)
		return
	}
	to, ok := meant(s.Flag)
	if !ok {
		return
	}
	f.Message += " It means " + to + "."
	if e, ok := replaceFlag(s, to); ok {
		f.Fix = fix(fmt.Sprintf("replace %s with %s %s", s.Flag, to, where(s)), e)
	}
}

// where says where a setting is written, for messages.
func where(s *runtimes.Setting) string {
	switch s.Source {
	case "args", "command":
		return "in " + s.Source
	}
	if s.Path == "" {
		return "in " + s.Source + " (from a ConfigMap)"
	}
	return "in " + s.Source
}

// envEdit sets an env variable of a container: the value of an entry
// written in the manifest, or a new entry.
func envEdit(c *manifest.Container, name, value string) (model.LintEdit, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			if e.ConfigMap != "" || e.FromOther {
				return model.LintEdit{}, false
			}
			return set(e.Path+".value", value), true
		}
	}
	return appendItem(c.Path+".env", "name", name, "value", value), true
}

// yamlNode is a manifest node.
type yamlNode = yaml.Node
