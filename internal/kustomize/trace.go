package kustomize

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/oomdoctor/oomdoctor/internal/renderdiff"
	"github.com/oomdoctor/oomdoctor/internal/words"
)

// Planned is a build's text as fix would have it: the objects of a
// source, changed.
type Planned struct {
	Name, Text string
}

// FileChange is a file of the kustomization's folder, before and after.
type FileChange struct {
	// Path is the file, as a path from the working folder.
	Path string
	// Original is nil for a file that is new (a patch).
	Original, Fixed []byte
	// Fields are the planned changes it makes, for people.
	Fields []string
	// Lists are the new patches a kustomization file lists.
	Lists []string
	abs   string
}

// New tells a file that does not exist yet.
func (f FileChange) New() bool { return f.Original == nil }

// Unresolved is a planned change of the build no file of the folder makes.
type Unresolved struct {
	Field string
	Why   string
}

// TraceError is the planned changes no file of the kustomization's folder
// makes: nothing is written, unless the Kustomization is Partial.
type TraceError struct {
	Dir        string
	Unresolved []Unresolved
	// Traced is how many of the other planned changes the folder's files
	// make.
	Traced int
	// Partial says the files are changed for the Traced changes.
	Partial bool
}

func (e *TraceError) Error() string {
	var b strings.Builder
	n := words.CountOf(len(e.Unresolved), "planned change", "planned changes")
	switch {
	case e.Partial:
		fmt.Fprintf(&b, "no file of the kustomization %s makes %s, which stay as they are; the files are changed for the other %d (--partial)", e.Dir, n, e.Traced)
	case e.Traced > 0:
		fmt.Fprintf(&b, "no file of the kustomization %s makes %s, so no file was changed (the files make the other %d: choose their objects with TYPE/NAME arguments to make them alone, or give --partial to write those)", e.Dir, n, e.Traced)
	default:
		fmt.Fprintf(&b, "no file of the kustomization %s makes %s, so no file was changed", e.Dir, n)
	}
	b.WriteString(":")
	for _, u := range e.Unresolved {
		fmt.Fprintf(&b, "\n  %s: %s", u.Field, u.Why)
	}
	return b.String()
}

// tracer is the state of a trace: the files' texts so far, the build they
// make, and where it differs from the plan.
type tracer struct {
	k *Kustomization
	// objects are the build's, with their sources.
	objects []*Object
	want    renderdiff.Docs
	texts   map[string][]byte
	cur     *build
	diffs   []renderdiff.Difference
	fields  map[string][]string
	lists   map[string][]string
	// names are the generated objects' names in the build given, by
	// their normalized names.
	names map[string]string
	// volatile are the fields that change from one build to the next
	// with no file changed (a chart's random password), by Key: not
	// compared.
	volatile map[string]bool
	// planned counts the fields to change.
	planned int
	// defaults are the charts' default values (chartDefaults), by the
	// chart's folder, read once for all the fields traced to them.
	defaults map[string][]defaultScalar
}

// progress tells Progress how many planned fields the files make so
// far, and how many they do not yet.
func (t *tracer) progress() {
	if t.k.Progress != nil {
		t.k.Progress(t.planned-len(t.diffs), len(t.diffs))
	}
}

// diff is where a build differs from the plan, volatile fields left out.
func (t *tracer) diff(got renderdiff.Docs) []renderdiff.Difference {
	ds := renderdiff.Diff(got, t.want)
	return slices.DeleteFunc(ds, func(d renderdiff.Difference) bool { return t.volatile[d.Key()] })
}

// describe names a field of the build for people, generated objects by
// their names in the build as it is.
func (t *tracer) describe(ds renderdiff.Docs, f renderdiff.Field) string {
	s := renderdiff.Describe(ds, f)
	for norm, name := range t.names {
		s = strings.ReplaceAll(s, norm, name)
	}
	return s
}

// Trace finds the changes to the files of the kustomization's folder that
// make it build planned (the build, as fix would change it). Files outside
// the folder (a base other overlays share) are never changed. A field
// takes, in this order:
//
//   - the value that makes it, where a file of the folder sets it: a
//     resource, a patch (strategic-merge or JSON, in a file or inline), a
//     generator's literal or env file: its text, or the words of it that
//     change;
//   - the fields added to a strategic-merge patch of the folder for its
//     object, or to its resource file when that is in the folder;
//   - a new strategic-merge patch for its object, in the folder, listed
//     under the kustomization's patches.
//
// Each is tried by building again with it: it is kept only when the field
// becomes as planned and nothing fix did not plan changes.
func (k *Kustomization) Trace(planned []Planned) ([]FileChange, error) {
	// The Build that planned was made of, else a new one.
	first := k.built
	k.built = nil
	if first == nil {
		var err error
		if first, err = k.build(nil, true); err != nil {
			return nil, err
		}
	}
	t := &tracer{k: k, objects: first.objects, want: renderdiff.Docs{}, texts: map[string][]byte{}, cur: first, fields: map[string][]string{}, lists: map[string][]string{}, names: map[string]string{}}
	for name, base := range first.hashed {
		t.names[base+hashMark] = name
	}
	for _, p := range planned {
		ds := renderdiff.Docs{}
		if err := ds.Add(p.Name, p.Text); err != nil {
			return nil, err
		}
		for _, v := range ds[p.Name] {
			v = normalize(v, first.hashed)
			id := idOf(v)
			t.want[id] = append(t.want[id], v)
		}
	}
	// A chart's templates may make random values (a password): those
	// that differ in a second build are left out of every comparison.
	t.volatile = map[string]bool{}
	if k.Helm != "" {
		again, err := k.build(nil, false)
		if err != nil {
			return nil, err
		}
		for _, d := range renderdiff.Diff(first.docs, again.docs) {
			t.volatile[d.Key()] = true
		}
	}
	t.diffs = t.diff(first.docs)
	t.planned = len(t.diffs)
	tried := map[string]bool{}
	for {
		var d *renderdiff.Difference
		for i := range t.diffs {
			if !tried[t.diffs[i].Key()] {
				d = &t.diffs[i]
				break
			}
		}
		if d == nil {
			break
		}
		tried[d.Key()] = true
		t.replace(*d)
		t.progress()
	}
	var te TraceError
	te.Dir = k.Dir
	var ids []string
	for _, d := range t.diffs {
		if !slices.Contains(ids, d.Source) {
			ids = append(ids, d.Source)
		}
	}
	for _, id := range ids {
		if why := t.patch(id); why != "" {
			for _, d := range t.diffs {
				if d.Source == id {
					te.Unresolved = append(te.Unresolved, Unresolved{Field: t.describe(t.cur.docs, d.Field), Why: why})
				}
			}
		}
		t.progress()
	}
	if len(te.Unresolved) > 0 {
		te.Traced = t.planned - len(te.Unresolved)
		if !k.Partial || te.Traced == 0 {
			return nil, &te
		}
		changes, err := t.changes()
		if err != nil {
			return nil, err
		}
		te.Partial = true
		return changes, &te
	}
	return t.changes()
}

// try builds with files' texts changed, and keeps them when they make
// fields as planned (done says) and nothing fix did not plan changes. The
// fields made are said of the file main.
func (t *tracer) try(main string, changes map[string][]byte, done func([]renderdiff.Difference) bool) bool {
	trial := make(map[string][]byte, len(t.texts)+len(changes))
	for p, x := range t.texts {
		trial[p] = x
	}
	for p, x := range changes {
		trial[p] = x
	}
	b, err := t.k.build(trial, false)
	if err != nil {
		return false
	}
	ds := t.diff(b.docs)
	if !done(ds) || len(renderdiff.NewFields(ds, t.diffs)) > 0 {
		return false
	}
	for _, d := range renderdiff.NewFields(t.diffs, ds) {
		t.fields[main] = append(t.fields[main], t.describe(t.cur.docs, d.Field))
	}
	t.texts, t.cur, t.diffs = trial, b, ds
	return true
}

// text is a file's text so far.
func (t *tracer) text(path string) ([]byte, error) {
	if x, ok := t.texts[path]; ok {
		return x, nil
	}
	return os.ReadFile(path)
}

// replace tries the value's replacements in the files of the folder the
// build read.
func (t *tracer) replace(d renderdiff.Difference) {
	if !d.HasOld || !d.HasNew || !scalar(d.Old) || !scalar(d.New) {
		return
	}
	from, to := renderdiff.ScalarText(d.Old), renderdiff.ScalarText(d.New)
	pairs := [][2]string{{from, to}}
	if f, tt, ok := changedWords(from, to); ok {
		pairs = append(pairs, [2]string{f, tt})
	}
	// A number a chart writes a unit after, set where the kustomization
	// gives the chart its values: limitMi: 512 for memory:
	// {{ .Values.limitMi }}Mi, heapMb: 384 for -Xmx{{ .Values.heapMb }}m.
	for _, p := range pairs {
		if on, nn, ok := renderdiff.NumberFor(p[0], p[1]); ok && on != p[0] {
			pairs = append(pairs, [2]string{on, nn})
			break
		}
	}
	done := func(ds []renderdiff.Difference) bool { return !renderdiff.HasField(ds, d.Field) }
	// The files that name the object first: its patches, its resource.
	paths := slices.Clone(t.cur.read)
	if obj := t.object(d.Source); obj != nil {
		name := t.sourceName(obj, t.cur.docs[d.Source][0])
		names := func(p string) bool {
			text, err := t.text(p)
			return err == nil && len(occurrences(text, name)) > 0
		}
		slices.SortStableFunc(paths, func(a, b string) int {
			na, nb := names(a), names(b)
			switch {
			case na && !nb:
				return -1
			case nb && !na:
				return 1
			}
			return 0
		})
	}
	for _, pair := range pairs {
		for _, path := range paths {
			text, err := t.text(path)
			if err != nil {
				continue
			}
			for _, at := range occurrences(text, pair[0]) {
				trial := slices.Concat(text[:at], []byte(pair[1]), text[at+len(pair[0]):])
				if t.try(path, map[string][]byte{path: trial}, done) {
					return
				}
			}
		}
	}
	t.chartValue(d, pairs, done)
}

// occurrences are where s is in text as a whole word: not inside a longer
// number, quantity or name.
func occurrences(text []byte, s string) []int {
	if s == "" {
		return nil
	}
	var out []int
	for from := 0; ; {
		i := bytes.Index(text[from:], []byte(s))
		if i < 0 {
			return out
		}
		at := from + i
		end := at + len(s)
		if (at == 0 || !wordByte(text[at-1]) || !wordByte(s[0])) && (end == len(text) || !wordByte(text[end]) || !wordByte(s[len(s)-1])) {
			out = append(out, at)
		}
		from = at + 1
	}
}

func wordByte(b byte) bool {
	return b == '_' || b == '.' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

// changedWords are the words of from that change to make to (a heap flag
// among others: "-Xmx512m -XX:+UseG1GC" to "-Xmx384m -XX:+UseG1GC" is
// -Xmx512m to -Xmx384m), when that is less than the whole text.
func changedWords(from, to string) (string, string, bool) {
	a, b := strings.Fields(from), strings.Fields(to)
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	j := 0
	for j < len(a)-i && j < len(b)-i && a[len(a)-1-j] == b[len(b)-1-j] {
		j++
	}
	f, tt := strings.Join(a[i:len(a)-j], " "), strings.Join(b[i:len(b)-j], " ")
	if f == "" || tt == "" || f == from {
		return "", "", false
	}
	return f, tt, true
}

func scalar(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return false
	}
	return true
}

// changes are the files changed, with the build checked once more.
func (t *tracer) changes() ([]FileChange, error) {
	b, err := t.k.build(t.texts, false)
	if err != nil {
		return nil, err
	}
	// What differs from the plan is what the trace left (nothing, but
	// with Partial), as it was.
	if ds := t.diff(b.docs); !renderdiff.Same(ds, t.diffs) {
		f := renderdiff.FirstOf(ds, t.diffs)
		return nil, fmt.Errorf("with the files as they would be written, the kustomization builds %s differently from what fix planned; nothing was written (please report this)", t.describe(b.docs, f))
	}
	var paths []string
	for p := range t.texts {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	var out []FileChange
	for _, p := range paths {
		orig, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			return nil, err
		}
		if err == nil && orig == nil {
			orig = []byte{}
		}
		if bytes.Equal(orig, t.texts[p]) {
			continue
		}
		out = append(out, FileChange{Path: t.k.display(p), abs: p, Original: orig, Fixed: t.texts[p], Fields: t.fields[p], Lists: t.lists[p]})
	}
	return out, nil
}

// under tells a path in the kustomization's folder.
func (k *Kustomization) under(p string) bool {
	return strings.HasPrefix(p, k.root+string(filepath.Separator))
}
