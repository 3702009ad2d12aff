package helmvalues

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	yaml "go.yaml.in/yaml/v3"

	"github.com/oomdoctor/oomdoctor/internal/manifest"
)

// docs are a render's manifests, parsed: by template name, its documents.
type docs map[string][]any

func parseRender(ts []Template) (docs, error) {
	out := docs{}
	for _, t := range ts {
		d := yaml.NewDecoder(strings.NewReader(t.Text))
		for {
			var v any
			err := d.Decode(&v)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("%s: the chart renders YAML that does not parse: %w", t.Name, err)
			}
			if v != nil {
				out[t.Name] = append(out[t.Name], v)
			}
		}
	}
	return out, nil
}

// volatileFields finds the fields of the render that differ from one
// render to the next with the same values (a password made up with
// randAlphaNum, a certificate from genCA), once: first is a render of the
// values given, and one more is made to compare. They are left out of
// every comparison.
func (c *Chart) volatileFields(first docs) error {
	if c.volatile != nil {
		return nil
	}
	again, err := c.renderDocs(c.user)
	if err != nil {
		return err
	}
	c.volatile = map[string]bool{}
	for _, d := range diffRenders(first, again) {
		c.volatile[d.key()] = true
	}
	return nil
}

// diff is diffRenders without the volatile fields (volatileFields must
// have been called).
func (c *Chart) diff(got, want docs) []difference {
	ds := diffRenders(got, want)
	if len(c.volatile) == 0 {
		return ds
	}
	out := ds[:0]
	for _, d := range ds {
		if !c.volatile[d.key()] {
			out = append(out, d)
		}
	}
	return out
}

// field is a place in a render: a template, a document of it, a path of
// keys (string) and list indexes (int).
type field struct {
	Template string
	Doc      int
	Path     []any
}

func (f field) key() string { return f.Template + "#" + strconv.Itoa(f.Doc) + "#" + pathString(f.Path) }

// difference is a field whose value is not the one fix planned.
type difference struct {
	field
	Old, New       any
	HasOld, HasNew bool
}

// diffRenders lists where got differs from want, in a stable order.
// Scalars compare by their text: a quantity 1 and "1" are the same to
// Kubernetes, and a values file may hold either.
func diffRenders(got, want docs) []difference {
	var out []difference
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
			f := field{Template: n, Doc: i}
			switch {
			case i >= len(g):
				out = append(out, difference{field: f, New: w[i], HasNew: true})
			case i >= len(w):
				out = append(out, difference{field: f, Old: g[i], HasOld: true})
			default:
				out = diffValues(out, f, g[i], w[i])
			}
		}
	}
	return out
}

func diffValues(out []difference, f field, a, b any) []difference {
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
			sub := field{Template: f.Template, Doc: f.Doc, Path: appendPath(f.Path, k)}
			if hasX && hasY {
				out = diffValues(out, sub, x, y)
			} else {
				out = append(out, difference{field: sub, Old: x, HasOld: hasX, New: y, HasNew: hasY})
			}
		}
		return out
	case []any:
		bv, ok := b.([]any)
		if !ok || len(av) != len(bv) {
			break
		}
		for i := range av {
			out = diffValues(out, field{Template: f.Template, Doc: f.Doc, Path: appendPath(f.Path, i)}, av[i], bv[i])
		}
		return out
	default:
		if _, isMap := b.(map[string]any); !isMap {
			if _, isList := b.([]any); !isList && sameScalar(f.Path, a, b) {
				return out
			}
		}
	}
	return append(out, difference{field: f, Old: a, HasOld: true, New: b, HasNew: true})
}

// sameScalar compares two scalars by their text, and under resources as
// quantities: a template that writes {{ .Values.limitMi }}Mi gives 1024Mi
// where fix planned 1Gi, the same memory.
func sameScalar(path []any, a, b any) bool {
	if scalarText(a) == scalarText(b) {
		return true
	}
	if !slices.Contains(path, any("resources")) {
		return false
	}
	qa, errA := resource.ParseQuantity(scalarText(a))
	qb, errB := resource.ParseQuantity(scalarText(b))
	return errA == nil && errB == nil && qa.Cmp(qb) == 0
}

func appendPath(p []any, k any) []any {
	out := make([]any, len(p), len(p)+1)
	copy(out, p)
	return append(out, k)
}

// scalarText is a scalar's text as YAML writes it plain.
func scalarText(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// pathString writes a path as manifest paths are written:
// spec.template.spec.containers[0].resources.
func pathString(p []any) string {
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

// lookup finds the value at path p of v.
func lookup(v any, p []any) (any, bool) {
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
