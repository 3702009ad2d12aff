// Package renderdiff compares renders of manifests (a chart's templates,
// a kustomization's build) Field by Field: what fix planned against what
// a source edit makes. Scalars compare by their text, and quantities under
// resources by their amount.
package renderdiff

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/oomdoctor/oomdoctor/internal/manifest"
)

// Docs are a render's manifests, parsed: by source (a template, an
// object), its documents.
type Docs map[string][]any

// Add parses the documents of text into d under name.
func (d Docs) Add(name, text string) error {
	dec := yaml.NewDecoder(strings.NewReader(text))
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: the render is YAML that does not parse: %w", name, err)
		}
		if v != nil {
			d[name] = append(d[name], v)
		}
	}
}

// Field is a place in a render: a source (a template, an object), a document of it, a path of
// keys (string) and list indexes (int).
type Field struct {
	Source string
	Doc    int
	Path   []any
}

// Key identifies the field among a render's.
func (f Field) Key() string { return f.Source + "#" + strconv.Itoa(f.Doc) + "#" + PathString(f.Path) }

// Difference is a Field whose value is not the one fix planned.
type Difference struct {
	Field
	Old, New       any
	HasOld, HasNew bool
}

// Diff lists where got differs from want, in a stable order.
// Scalars compare by their text: a quantity 1 and "1" are the same to
// Kubernetes, and a source may hold either.
func Diff(got, want Docs) []Difference {
	var out []Difference
	names := map[string]bool{}
	for n := range got {
		names[n] = true
	}
	for n := range want {
		names[n] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		g, w := got[n], want[n]
		for i := 0; i < max(len(g), len(w)); i++ {
			f := Field{Source: n, Doc: i}
			switch {
			case i >= len(g):
				out = append(out, Difference{Field: f, New: w[i], HasNew: true})
			case i >= len(w):
				out = append(out, Difference{Field: f, Old: g[i], HasOld: true})
			default:
				out = diffValues(out, f, g[i], w[i])
			}
		}
	}
	return out
}

// Equal tells whether a and b, found at path, are the same as Diff
// compares them (quantities under resources by their amount).
func Equal(path []any, a, b any) bool {
	return len(diffValues(nil, Field{Path: path}, a, b)) == 0
}

func diffValues(out []Difference, f Field, a, b any) []Difference {
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok {
			break
		}
		keys := make([]string, 0, len(av)+len(bv))
		for k := range av {
			keys = append(keys, k)
		}
		for k := range bv {
			if _, ok := av[k]; !ok {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			x, hasX := av[k]
			y, hasY := bv[k]
			sub := Field{Source: f.Source, Doc: f.Doc, Path: AppendPath(f.Path, k)}
			if hasX && hasY {
				out = diffValues(out, sub, x, y)
			} else {
				out = append(out, Difference{Field: sub, Old: x, HasOld: hasX, New: y, HasNew: hasY})
			}
		}
		return out
	case []any:
		bv, ok := b.([]any)
		if !ok || len(av) != len(bv) {
			break
		}
		for i := range av {
			out = diffValues(out, Field{Source: f.Source, Doc: f.Doc, Path: AppendPath(f.Path, i)}, av[i], bv[i])
		}
		return out
	default:
		if _, isMap := b.(map[string]any); !isMap {
			if _, isList := b.([]any); !isList && SameScalar(f.Path, a, b) {
				return out
			}
		}
	}
	return append(out, Difference{Field: f, Old: a, HasOld: true, New: b, HasNew: true})
}

// SameScalar compares two scalars by their text, and under resources as
// quantities: a template that writes {{ .Values.limitMi }}Mi gives 1024Mi
// where fix planned 1Gi, the same memory.
func SameScalar(path []any, a, b any) bool {
	if ScalarText(a) == ScalarText(b) {
		return true
	}
	if !slices.Contains(path, any("resources")) {
		return false
	}
	qa, errA := resource.ParseQuantity(ScalarText(a))
	qb, errB := resource.ParseQuantity(ScalarText(b))
	return errA == nil && errB == nil && qa.Cmp(qb) == 0
}

// AppendPath is p with k after it, in a new slice (p is not changed).
func AppendPath(p []any, k any) []any {
	out := make([]any, len(p), len(p)+1)
	copy(out, p)
	return append(out, k)
}

// ScalarText is a scalar's text as YAML writes it plain.
func ScalarText(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// PathString writes a path as manifest paths are written:
// spec.template.spec.containers[0].resources.
func PathString(p []any) string {
	s := ""
	for _, part := range p {
		switch x := part.(type) {
		case int:
			s = manifest.IndexPath(s, x)
		case string:
			s = manifest.JoinPath(s, x)
		}
	}
	return s
}

// Lookup finds the value at path p of v.
func Lookup(v any, p []any) (any, bool) {
	for _, part := range p {
		switch x := part.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil, false
			}
			if v, ok = m[x]; !ok {
				return nil, false
			}
		case int:
			l, ok := v.([]any)
			if !ok || x >= len(l) {
				return nil, false
			}
			v = l[x]
		}
	}
	return v, true
}

// HasField tells whether f is among the differences.
func HasField(ds []Difference, f Field) bool {
	for _, d := range ds {
		if d.Key() == f.Key() {
			return true
		}
	}
	return false
}

// NewFields are the differences of after that before did not have: fields
// a trial changed that fix did not plan to change.
func NewFields(after, before []Difference) []Difference {
	had := map[string]bool{}
	for _, d := range before {
		had[d.Key()] = true
	}
	var out []Difference
	for _, d := range after {
		if !had[d.Key()] {
			out = append(out, d)
		}
	}
	return out
}

// Same tells whether two lists hold the same differences: the same
// fields, each with the same value on either side (a render checked
// against the differences a trace left, fix --partial's).
func Same(a, b []Difference) bool {
	if len(a) != len(b) {
		return false
	}
	had := make(map[string]Difference, len(b))
	for _, d := range b {
		had[d.Key()] = d
	}
	for _, d := range a {
		o, ok := had[d.Key()]
		if !ok || d.HasOld != o.HasOld || d.HasNew != o.HasNew || !reflect.DeepEqual(d.Old, o.Old) || !reflect.DeepEqual(d.New, o.New) {
			return false
		}
	}
	return true
}

// FirstOf is the field to name when a render's differences, got, are not
// Same as those expected, want: the first one want lacks, else the first
// of want.
func FirstOf(got, want []Difference) Field {
	if extra := NewFields(got, want); len(extra) > 0 {
		return extra[0].Field
	}
	if len(want) > 0 {
		return want[0].Field
	}
	return got[0].Field
}

// Describe names a Field of a render for people: the object, the
// container, the Field within it.
func Describe(ds Docs, f Field) string {
	obj := f.Source
	var doc any
	if f.Doc < len(ds[f.Source]) {
		doc = ds[f.Source][f.Doc]
	}
	kind, _ := Lookup(doc, []any{"kind"})
	name, _ := Lookup(doc, []any{"metadata", "name"})
	if kind != nil && name != nil {
		obj = fmt.Sprintf("%v %v", kind, name)
	}
	// The container the Field is in, by name.
	for i := len(f.Path) - 2; i >= 1; i-- {
		_, isIndex := f.Path[i].(int)
		list, _ := f.Path[i-1].(string)
		if !isIndex || (list != "containers" && list != "initContainers") {
			continue
		}
		c, _ := Lookup(doc, f.Path[:i+1])
		if n, ok := Lookup(c, []any{"name"}); ok {
			return fmt.Sprintf("%s container %v: %s", obj, n, PathString(f.Path[i+1:]))
		}
	}
	return fmt.Sprintf("%s: %s", obj, PathString(f.Path))
}

// Copy is a deep copy of a parsed document (maps and lists copied, scalars
// shared).
func Copy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = Copy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = Copy(e)
		}
		return out
	}
	return v
}
