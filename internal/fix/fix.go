// Package fix writes memory settings into manifests and clusters: requests
// and limits, the runtime heap flags that must move with the limit, and
// lint's automatic fixes. Manifest edits go through package manifest's
// editor, so comments, key order, indentation, quoting and the other
// documents stay as they were; a second run changes nothing.
package fix

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/oomdoctor/oomdoctor/internal/lint"
	"github.com/oomdoctor/oomdoctor/internal/manifest"
	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/recommend"
)

// Target is the memory a container should get; nil fields stay as they are.
type Target struct {
	Request, Limit *int64
	// Why says where the values come from, for messages.
	Why string
}

// Values decides the target of each container of a workload.
type Values interface {
	// For returns the targets of a workload's containers, by container
	// name; an error when the choice is ambiguous (which container?).
	For(w *manifest.Workload) (map[string]Target, error)
}

// Change is one change to one object, described for people.
type Change struct {
	File      string
	Object    string
	Container string
	What      string
	// Setting, From and To say the change for machines, when known:
	// "memory request" or "memory limit" and the quantities (From "" when
	// there was none), or the variable or file that holds a heap or cache
	// size and the flags. Rule is lint's rule, for its fixes.
	Setting, From, To string
	Rule              string
	// ConfigMap and Key say where the change is made when not in the
	// object itself (--apply --configmaps).
	ConfigMap, Key string
	// raises says the change gives the runtime more room (a GOMEMLIMIT
	// that follows a higher limit): made in a ConfigMap, it must wait
	// for the new limit (limitFirst).
	raises bool
}

// Note is something fix could not do, or did with a caveat.
type Note struct {
	File, Object, Message string
}

// Result is what fixing one file gives.
type Result struct {
	File     string
	Original []byte
	Fixed    []byte
	Changes  []Change
	Notes    []Note
	// Objects are the edits made, per object, for patches.
	Objects []ObjectEdits
	// LimitRanges are the memory bounds of the file's LimitRanges, by
	// namespace as written (Outside checks the edits against those of
	// every file).
	LimitRanges map[string]recommend.Bounds
	// ConfigMapEdits are the edits the new limits ask of ConfigMaps of the
	// files (a heap flag in an env value, a Redis maxmemory in its config
	// file); ApplyConfigMapEdits makes them where the ConfigMaps are.
	ConfigMapEdits []ConfigMapEdit
	// Workloads are the file's workloads, as Kind/name, selected or not.
	Workloads []string
	refused   bool
}

// Refuse leaves the file as it was: nothing of it is written, nor the
// ConfigMap edits its workloads asked for.
func (r *Result) Refuse() {
	r.Fixed, r.Changes, r.Objects, r.ConfigMapEdits, r.refused = r.Original, nil, nil, nil, true
}

// ObjectEdits are the edits made to one object.
type ObjectEdits struct {
	Object *manifest.Object
	Edits  []manifest.Edit
}

// Changed tells whether the file would change.
func (r *Result) Changed() bool { return string(r.Original) != string(r.Fixed) }

// Options say what to fix.
type Options struct {
	// Values gives each container's request and limit (nil: none).
	Values Values
	// Objects keeps only these objects ("kind/name", lowercase kind, as
	// kubectl writes them); empty keeps every workload.
	Objects []string
	// LintFixes applies lint's automatic fixes too.
	LintFixes []model.LintFinding
	// ConfigMaps are those of all the files given (ConfigMaps.Read): env
	// values and config files read from them move with a new limit.
	ConfigMaps ConfigMaps
	// Rendered says the text is a chart's render (fix --chart), whose
	// values may hold "{{" (a ConfigMap of templates) without being a
	// template themselves.
	Rendered bool
}

// File fixes one file's text. Objects that are not workloads, and
// workloads not selected, are left alone. When a workload cannot be fixed,
// the error joins every such workload's, and the Result holds only the
// file's Workloads (what TYPE/NAME arguments may name).
func File(name string, data []byte, opts Options) (*Result, error) {
	res := &Result{File: name, Original: data, Fixed: data}
	if !opts.Rendered && strings.Contains(string(data), "{{") {
		res.Notes = append(res.Notes, Note{File: name, Message: "not edited: it is a template (Helm or Go); give the chart with --chart DIR (its values are changed), or fix the rendered output"})
		return res, nil
	}
	lintByObject := map[manifest.ObjectRef][]model.LintFinding{}
	for _, f := range opts.LintFixes {
		if f.File == name && f.Fix != nil {
			ref := manifest.ObjectRef{Doc: f.Document, Item: f.Item}
			lintByObject[ref] = append(lintByObject[ref], f)
		}
	}
	var stats manifest.Stats
	var failed []error
	err := manifest.ReadStream(name, strings.NewReader(string(data)), &stats, func(o *manifest.Object) error {
		if b, ok := lint.LimitRangeBounds(o); ok {
			if res.LimitRanges == nil {
				res.LimitRanges = map[string]recommend.Bounds{}
			}
			res.LimitRanges[o.Namespace] = res.LimitRanges[o.Namespace].Tighten(b)
		}
		w, ok := manifest.AsWorkload(o)
		if ok {
			res.Workloads = append(res.Workloads, o.Kind+"/"+o.Name)
		}
		if !ok || !selected(o, opts.Objects) {
			return nil
		}
		edits, changes, notes, cmEdits, err := planWorkload(w, opts.Values, opts.ConfigMaps)
		if err != nil {
			failed = append(failed, fmt.Errorf("%s: %s: %w", name, o, err))
			return nil
		}
		le, lc, lcm := lintEdits(w, lintByObject[manifest.ObjectRef{Doc: o.Doc, Item: o.Item}])
		edits, changes, cmEdits = append(edits, le...), append(changes, lc...), append(cmEdits, lcm...)
		res.Changes = append(res.Changes, changes...)
		res.Notes = append(res.Notes, notes...)
		res.ConfigMapEdits = append(res.ConfigMapEdits, cmEdits...)
		if len(edits) > 0 {
			res.Objects = append(res.Objects, ObjectEdits{Object: o, Edits: edits})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(failed) > 0 {
		return &Result{File: name, Workloads: res.Workloads}, errors.Join(failed...)
	}
	fixed := data
	for _, oe := range res.Objects {
		fixed, err = manifest.ApplyEdits(name, fixed, manifest.ObjectRef{Doc: oe.Object.Doc, Item: oe.Object.Item}, oe.Edits)
		if err != nil {
			// The workloads are still the file's: TYPE/NAME arguments
			// name them.
			return &Result{File: name, Workloads: res.Workloads}, err
		}
	}
	res.Fixed = fixed
	return res, nil
}

// lintEdits are the edits of lint's automatic fixes of a workload, with
// the changes that tell them; a value read from a ConfigMap of the files
// is fixed there.
func lintEdits(w *manifest.Workload, fs []model.LintFinding) (edits []manifest.Edit, changes []Change, cmEdits []ConfigMapEdit) {
	for _, f := range fs {
		if f.Fix == nil {
			continue
		}
		c := Change{File: w.File, Object: w.Object.String(), Container: f.Container, What: f.Fix.Description + " (" + f.Rule + ")", Rule: f.Rule}
		own := 0
		for _, e := range lint.Edits(f) {
			if cme, ok := intoConfigMap(w, e, c); ok {
				cme.Rule = f.Rule
				cmEdits = append(cmEdits, cme)
				continue
			}
			edits = append(edits, e)
			own++
		}
		if own > 0 {
			changes = append(changes, c)
		}
	}
	manifest.RewritesLast(edits)
	return edits, changes, cmEdits
}

// selected tells whether an object is among kind/name selections (a
// kind alone selects all of that kind).
func selected(o *manifest.Object, objects []string) bool {
	if len(objects) == 0 {
		return true
	}
	for _, s := range objects {
		if selects(s, o.Kind, o.Name) {
			return true
		}
	}
	return false
}

// selects tells whether a kind/name selection (or a kind alone) is of an
// object of that kind and name.
func selects(s, kind, name string) bool {
	k, n, named := strings.Cut(s, "/")
	return kindMatches(k, kind) && (!named || n == name)
}

// Unmatched are the objects named (kind/name) that no workload of the
// results is: a name mistyped, or not as the files write it.
func Unmatched(results []*Result, objects []string) []string {
	var out []string
	for _, s := range objects {
		if !strings.Contains(s, "/") {
			continue
		}
		found := false
		for _, r := range results {
			for _, w := range r.Workloads {
				kind, name, _ := strings.Cut(w, "/")
				found = found || selects(s, kind, name)
			}
		}
		if !found {
			out = append(out, s)
		}
	}
	return out
}

// kindMatches accepts kubectl's spellings: deployment, deployments, deploy.
func kindMatches(given, kind string) bool {
	g, k := strings.ToLower(given), strings.ToLower(kind)
	if g == k || g == k+"s" {
		return true
	}
	short := map[string]string{"deploy": "deployment", "sts": "statefulset", "ds": "daemonset", "rs": "replicaset", "po": "pod", "cj": "cronjob"}
	return short[g] == k
}

// planWorkload computes the edits that give a workload's containers their
// targets, with the heap flags that must follow a new limit; those that go
// into ConfigMaps of the files (cms) come apart.
func planWorkload(w *manifest.Workload, values Values, cms ConfigMaps) ([]manifest.Edit, []Change, []Note, []ConfigMapEdit, error) {
	if values == nil {
		return nil, nil, nil, nil, nil
	}
	targets, err := values.For(w)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	names := make([]string, 0, len(targets))
	for n := range targets {
		names = append(names, n)
	}
	sort.Strings(names)
	var edits []manifest.Edit
	var changes []Change
	var notes []Note
	var cmEdits []ConfigMapEdit
	for _, name := range names {
		c := findContainer(w.Spec, name)
		if c == nil {
			return nil, nil, nil, nil, fmt.Errorf("no container %q (containers: %s)", name, strings.Join(containerNames(w.Spec), ", "))
		}
		t := targets[name]
		req, lim := t.Request, t.Limit
		curReq, curLim := c.Resources.MemoryRequest, c.Resources.MemoryLimit
		// A request above the limit is invalid: lower it with the limit.
		if lim != nil && req == nil && curReq.Set() && curReq.Bytes() > *lim {
			req = lim
		}
		if req != nil && lim == nil && curLim.Set() && *req > curLim.Bytes() {
			return nil, nil, nil, nil, fmt.Errorf("%s: the request %s would exceed the current limit %s; give a limit too", c.Describe(), manifest.FormatBytes(*req), curLim.Text)
		}
		obj := w.Object.String()
		if req != nil && !sameQuantity(curReq, *req) {
			to := manifest.FormatBytes(*req)
			edits = append(edits, manifest.Edit{Op: manifest.OpSet, Path: c.Resources.Path + ".requests.memory", Value: to})
			changes = append(changes, Change{File: w.File, Object: obj, Container: c.Name, What: fmt.Sprintf("memory request %s → %s%s", textOr(curReq), to, because(t.Why)),
				Setting: "memory request", From: textOf(curReq), To: to})
		}
		if lim != nil && !sameQuantity(curLim, *lim) {
			to := manifest.FormatBytes(*lim)
			edits = append(edits, manifest.Edit{Op: manifest.OpSet, Path: c.Resources.Path + ".limits.memory", Value: to})
			changes = append(changes, Change{File: w.File, Object: obj, Container: c.Name, What: fmt.Sprintf("memory limit %s → %s%s", textOr(curLim), to, because(t.Why)),
				Setting: "memory limit", From: textOf(curLim), To: to})
			rc := runtimeContainer(w, c, cms)
			he, hc, hn := heapEdits(w, c, rc, *lim)
			se, sc, sn := serverEdits(w, c, rc, *lim)
			notes = append(append(notes, hn...), sn...)
			// Each gives at most one edit, told by one change.
			for _, p := range []struct {
				e []manifest.Edit
				c []Change
			}{{he, hc}, {se, sc}} {
				if len(p.e) == 1 {
					if ce, ok := intoConfigMap(w, p.e[0], p.c[0]); ok {
						cmEdits = append(cmEdits, ce)
						continue
					}
				}
				edits = append(edits, p.e...)
				changes = append(changes, p.c...)
			}
		}
	}
	return edits, changes, notes, cmEdits, nil
}

func because(why string) string {
	if why == "" {
		return ""
	}
	return " (" + why + ")"
}

func sameQuantity(q *manifest.Quantity, b int64) bool {
	return q != nil && q.Value != nil && q.Bytes() == b
}

func textOr(q *manifest.Quantity) string {
	if q == nil {
		return "none"
	}
	return q.Text
}

// textOf is a quantity as written ("": none).
func textOf(q *manifest.Quantity) string {
	if q == nil {
		return ""
	}
	return q.Text
}

func findContainer(s *manifest.PodSpec, name string) *manifest.Container {
	for _, c := range s.AllContainers() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func containerNames(s *manifest.PodSpec) []string {
	var out []string
	for _, c := range s.AllContainers() {
		out = append(out, c.Name)
	}
	return out
}
