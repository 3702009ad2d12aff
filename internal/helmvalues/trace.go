package helmvalues

import (
	"fmt"
	"io"
	"log"
	"sort"
	"strings"
	"unicode"

	"helm.sh/helm/v4/pkg/chart/common/util"

	"github.com/oomdoctor/oomdoctor/internal/renderdiff"
	"github.com/oomdoctor/oomdoctor/internal/words"
)

// Assignment sets one values key (Path, from the values' root) to a text.
type Assignment struct {
	Path []any
	// From is the value in effect before (HadFrom false: the key was not
	// set anywhere).
	From    string
	HadFrom bool
	To      string
	// value is To as the values hold it, when not a string: a number.
	value any
}

// plain tells a value that is not a string: written as YAML reads it, a
// number stays a number.
func (a Assignment) plain() bool { return a.value != nil && !isString(a.value) }

// Value is what the key is set to in the values helm renders with.
func (a Assignment) Value() any {
	if a.value != nil {
		return a.value
	}
	return a.To
}

// Key is the assignment's key as `--set` writes it: resources.limits.memory.
func (a Assignment) Key() string { return renderdiff.PathString(a.Path) }

// Edit is one change to the values that makes some of the planned
// changes of the render; Fields says which, for people.
type Edit struct {
	Assignments []Assignment
	Fields      []string
}

// Unresolved is a planned change of the render no values key makes.
type Unresolved struct {
	Field string
	Why   string
}

// TraceError is the planned changes no values key makes: nothing is
// written.
type TraceError struct {
	Unresolved []Unresolved
	// Traced is how many values edits were found for the other changes.
	Traced int
	// Partial says those edits are written (Chart.Partial).
	Partial bool
}

func (e *TraceError) Error() string {
	var b strings.Builder
	n := words.CountOf(len(e.Unresolved), "planned change", "planned changes")
	switch {
	case e.Partial:
		fmt.Fprintf(&b, "no value of the chart makes %s, which stay as they are; the values files get the %s found for the others (--partial)", n, words.CountOf(e.Traced, "values edit", "values edits"))
	case e.Traced > 0:
		fmt.Fprintf(&b, "no value of the chart makes %s, so no values file was changed (%s found for the others: choose their objects with TYPE/NAME arguments to make them alone, or give --partial to write those)", n, words.CountOf(e.Traced, "values edit was", "values edits were"))
	default:
		fmt.Fprintf(&b, "no value of the chart makes %s, so no values file was changed", n)
	}
	b.WriteString(":")
	for _, u := range e.Unresolved {
		fmt.Fprintf(&b, "\n  %s: %s", u.Field, u.Why)
	}
	return b.String()
}

// maxCandidates bounds the renders tried for one field.
const maxCandidates = 200

// Trace finds the values edits that make the chart render planned (the
// render fix planned, template by template): for each field that differs,
// a values key whose value holds the field's old text (a quantity, a heap
// flag among others), or a mapping the field's mapping is written from
// (`toYaml .Values.resources`, an empty `resources: {}`), tried by
// rendering again with it changed. An edit is kept only when it makes the
// field as planned and changes nothing else fix did not plan: a key two
// workloads share is changed only when both need the same.
func (c *Chart) Trace(planned []Template) ([]Edit, error) {
	want, err := parseRender(planned)
	if err != nil {
		return nil, err
	}
	// Helm's coalescing logs what it skips: the trials' values are not
	// the user's, and their warnings are noise.
	defer log.SetOutput(log.Writer())
	log.SetOutput(io.Discard)
	cur := renderdiff.Copy(c.user).(map[string]any)
	got, err := c.renderDocs(cur)
	if err == nil {
		err = c.volatileFields(got)
	}
	if err != nil {
		return nil, fmt.Errorf("rendering the chart: %w", err)
	}
	c.left = nil
	diffs := c.diff(got, want)
	var edits []Edit
	failed := map[string]string{}
	for {
		var d *renderdiff.Difference
		left := 0
		for i := range diffs {
			if _, ok := failed[diffs[i].Key()]; !ok {
				if d == nil {
					d = &diffs[i]
				}
				left++
			}
		}
		if d == nil {
			break
		}
		if c.Progress != nil {
			c.Progress(len(edits), left)
		}
		cv, err := util.CoalesceValues(c.chart, cur)
		if err != nil {
			return nil, err
		}
		coal := map[string]any(cv)
		why := "the chart's templates do not take it from a value (change the template, or fix the rendered output with fix -f)"
		accepted := false
		for i, cand := range candidates(*d, coal, got, want) {
			if i == maxCandidates {
				break
			}
			trial := renderdiff.Copy(cur).(map[string]any)
			ok := true
			for _, a := range cand {
				ok = ok && setPath(trial, coal, a.Path, a.Value())
			}
			if !ok {
				continue
			}
			// The field's own template first, alone: most candidates do
			// not change it, and the whole chart is rendered only for
			// those that do.
			one, err := c.renderOne(trial, d.Source)
			if err != nil {
				continue
			}
			oneDocs, err := parseRender(one)
			if err != nil || renderdiff.HasField(c.diff(oneDocs, renderdiff.Docs{d.Source: want[d.Source]}), d.Field) {
				continue
			}
			g, err := c.renderDocs(trial)
			if err != nil {
				continue
			}
			ds := c.diff(g, want)
			if renderdiff.HasField(ds, d.Field) {
				continue
			}
			if extra := renderdiff.NewFields(ds, diffs); len(extra) > 0 {
				why = fmt.Sprintf("%s it, but %s too, which is to stay as it is or to get another value: give each its own value in the chart, or fix the rendered output", keys(cand), renderdiff.Describe(g, extra[0].Field))
				continue
			}
			fixed := fixedFields(diffs, ds, got)
			for j := range cand {
				if v, ok := renderdiff.Lookup(coal, cand[j].Path); ok {
					cand[j].From, cand[j].HadFrom = renderdiff.ScalarText(v), true
				}
			}
			edits = append(edits, Edit{Assignments: cand, Fields: fixed})
			cur, got, diffs = trial, g, ds
			accepted = true
			break
		}
		if !accepted {
			failed[d.Key()] = why
		}
	}
	if len(diffs) > 0 {
		te := &TraceError{Traced: len(edits)}
		for _, d := range diffs {
			te.Unresolved = append(te.Unresolved, Unresolved{Field: renderdiff.Describe(got, d.Field), Why: failed[d.Key()]})
		}
		if c.Partial && len(edits) > 0 {
			te.Partial, c.left = true, diffs
		}
		return edits, te
	}
	return edits, nil
}

func (c *Chart) renderDocs(user map[string]any) (renderdiff.Docs, error) {
	ts, err := c.Render(user)
	if err != nil {
		return nil, err
	}
	return parseRender(ts)
}

func keys(as []Assignment) string {
	var ks []string
	for _, a := range as {
		ks = append(ks, a.Key())
	}
	if len(ks) == 1 {
		return "the value " + ks[0] + " sets"
	}
	return "the values " + strings.Join(ks, ", ") + " set"
}

func fixedFields(before, after []renderdiff.Difference, got renderdiff.Docs) []string {
	var out []string
	for _, d := range renderdiff.NewFields(before, after) {
		out = append(out, renderdiff.Describe(got, d.Field))
	}
	return out
}

// candidates are the values edits that may make the field d as planned,
// the likeliest first.
func candidates(d renderdiff.Difference, coal map[string]any, got, want renderdiff.Docs) [][]Assignment {
	var out [][]Assignment
	// A values key that holds the field's old text: the whole of it
	// (memory: 512Mi), or the words of it that change (JAVA_OPTS:
	// "-Xmx384m -XX:+UseG1GC" from javaOpts: -Xmx384m).
	if d.HasOld && d.HasNew && isScalar(d.Old) && isScalar(d.New) {
		oldText, newText := renderdiff.ScalarText(d.Old), renderdiff.ScalarText(d.New)
		pairs := changedWords(oldText, newText)
		var exact, within [][]Assignment
		walkValues(coal, nil, func(p []any, v any) {
			if !isScalar(v) {
				return
			}
			s := renderdiff.ScalarText(v)
			switch {
			case s == oldText:
				a := Assignment{Path: p, To: newText}
				if !isString(v) {
					a.value = typedLike(v, newText)
				}
				exact = append(exact, []Assignment{a})
			case len(pairs) > 0 && isString(v):
				to, ok := replaceWords(s, pairs)
				if ok {
					within = append(within, []Assignment{{Path: p, To: to}})
				}
			}
		})
		out = append(append(out, exact...), within...)
		if len(pairs) == 0 && !strings.ContainsAny(oldText, " \t") {
			pairs = [][2]string{{oldText, newText}}
		}
		// A number the template writes a unit after: memory:
		// {{ .Values.memoryMi }}Mi, -Xmx{{ .Values.heapMb }}m.
		out = append(out, numberCandidates(coal, pairs)...)
	}
	// A mapping the field's mapping is written from: one equal to it, or
	// an empty one the template leaves out (resources: {}). Its leaves are
	// set to the planned ones, from the field's parent up to the list item
	// it is in (a container).
	for k := len(d.Path); k >= 1; k-- {
		anc := d.Path[:k]
		if _, isIndex := anc[k-1].(int); isIndex {
			break
		}
		newSub, ok := lookupDoc(want, d.Source, d.Doc, anc)
		nm, isMap := newSub.(map[string]any)
		if !ok || !isMap {
			continue
		}
		oldSub, hasOld := lookupDoc(got, d.Source, d.Doc, anc)
		name, _ := anc[len(anc)-1].(string)
		var named, others [][]Assignment
		walkValues(coal, nil, func(p []any, v any) {
			m, ok := v.(map[string]any)
			if !ok || len(p) == 0 {
				return
			}
			if len(m) > 0 && (!hasOld || !sameTree(m, oldSub)) {
				return
			}
			as := mapAssignments(p, m, nm)
			if len(as) == 0 {
				return
			}
			if last, _ := p[len(p)-1].(string); last == name {
				named = append(named, as)
			} else {
				others = append(others, as)
			}
		})
		out = append(append(out, named...), others...)
	}
	return out
}

func lookupDoc(ds renderdiff.Docs, template string, doc int, p []any) (any, bool) {
	if doc >= len(ds[template]) {
		return nil, false
	}
	return renderdiff.Lookup(ds[template][doc], p)
}

// mapAssignments set the values mapping at p (now m) to want's leaves.
func mapAssignments(p []any, m map[string]any, want map[string]any) []Assignment {
	var out []Assignment
	walkValues(want, nil, func(rel []any, v any) {
		if !isScalar(v) || len(rel) == 0 {
			return
		}
		if cur, ok := renderdiff.Lookup(m, rel); ok && isScalar(cur) && renderdiff.ScalarText(cur) == renderdiff.ScalarText(v) {
			return
		}
		full := append(append([]any{}, p...), rel...)
		a := Assignment{Path: full, To: renderdiff.ScalarText(v)}
		if !isString(v) {
			a.value = v // cpu: 1 stays a number
		}
		out = append(out, a)
	})
	return out
}

func isScalar(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return false
	}
	return true
}

func isString(v any) bool { _, ok := v.(string); return ok }

// sameTree compares two trees, scalars by their text.
func sameTree(a, b any) bool {
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok || len(av) != len(bv) {
			return false
		}
		for k, x := range av {
			y, ok := bv[k]
			if !ok || !sameTree(x, y) {
				return false
			}
		}
		return true
	case []any:
		bv, ok := b.([]any)
		if !ok || len(av) != len(bv) {
			return false
		}
		for i := range av {
			if !sameTree(av[i], bv[i]) {
				return false
			}
		}
		return true
	}
	return isScalar(b) && renderdiff.ScalarText(a) == renderdiff.ScalarText(b)
}

// walkValues calls fn for every node of v, parents first, keys in order.
func walkValues(v any, p []any, fn func([]any, any)) {
	fn(p, v)
	switch x := v.(type) {
	case map[string]any:
		ks := make([]string, 0, len(x))
		for k := range x {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		for _, k := range ks {
			walkValues(x[k], renderdiff.AppendPath(p, k), fn)
		}
	case []any:
		for i, e := range x {
			walkValues(e, renderdiff.AppendPath(p, i), fn)
		}
	}
}

// changedWords pairs the words of old that change with those of new, when
// both have as many words; nil otherwise, or when nothing changes.
func changedWords(old, new string) [][2]string {
	ow, nw := strings.Fields(old), strings.Fields(new)
	if len(ow) != len(nw) {
		return nil
	}
	var out [][2]string
	for i := range ow {
		if ow[i] != nw[i] {
			out = append(out, [2]string{ow[i], nw[i]})
		}
	}
	return out
}

// replaceWords replaces each changing word in s, which must hold at least
// one of them, each as a whole word; the spaces and line breaks between
// the words stay (a config file in a block scalar).
func replaceWords(s string, pairs [][2]string) (string, bool) {
	var b strings.Builder
	hit := false
	for i := 0; i < len(s); {
		if unicode.IsSpace(rune(s[i])) {
			b.WriteByte(s[i])
			i++
			continue
		}
		j := i
		for j < len(s) && !unicode.IsSpace(rune(s[j])) {
			j++
		}
		w := s[i:j]
		for _, p := range pairs {
			if w == p[0] {
				w, hit = p[1], true
				break
			}
		}
		b.WriteString(w)
		i = j
	}
	return b.String(), hit
}

// setPath sets the values key p of user (the values given) to val,
// creating mappings; a list on the way is copied whole from coal (the
// values in effect), since helm replaces lists rather than merging them.
func setPath(user, coal map[string]any, p []any, val any) bool {
	var node, cnode any = user, coal
	for i, part := range p {
		last := i == len(p)-1
		switch x := part.(type) {
		case string:
			m, ok := node.(map[string]any)
			if !ok {
				return false
			}
			if last {
				m[x] = val
				return true
			}
			var cchild any
			if cm, ok := cnode.(map[string]any); ok {
				cchild = cm[x]
			}
			if _, isIndex := p[i+1].(int); isIndex {
				l, ok := cchild.([]any)
				if !ok {
					return false
				}
				cp := renderdiff.Copy(l)
				m[x] = cp
				node, cnode = cp, cchild
				continue
			}
			child, ok := m[x].(map[string]any)
			if !ok {
				child = map[string]any{}
				m[x] = child
			}
			node, cnode = child, cchild
		case int:
			l, ok := node.([]any)
			if !ok || x >= len(l) {
				return false
			}
			if last {
				l[x] = val
				return true
			}
			node = l[x]
			if cl, ok := cnode.([]any); ok && x < len(cl) {
				cnode = cl[x]
			} else {
				cnode = nil
			}
		}
	}
	return false
}
