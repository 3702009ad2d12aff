package kustomize

import (
	"os"
	"path/filepath"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/oomdoctor/oomdoctor/internal/manifest"
	"github.com/oomdoctor/oomdoctor/internal/renderdiff"
)

// chartValue makes a field of an object a chart of a kustomization file of
// DIR inflates, when a default of the chart's own values (or a subchart's)
// writes it (the text, a word of it or a number a template writes a unit
// after: pairs), by giving that key its new value in the chart entry's
// values file (one of DIR's), else under its valuesInline. The chart's
// files stay as they came.
func (t *tracer) chartValue(d renderdiff.Difference, pairs [][2]string, done func([]renderdiff.Difference) bool) bool {
	obj := t.object(d.Source)
	if t.k.Helm == "" || obj == nil || obj.generatorKind != "HelmChartInflationGenerator" || obj.generator != t.k.file && !t.k.under(obj.generator) {
		return false
	}
	// The kustomization file of DIR (or of a folder in it) that inflates
	// the chart, and its folder, which its paths are relative to.
	file := obj.generator
	folder := filepath.Dir(file)
	kz, err := t.text(file)
	root := topNode(kz)
	if err != nil || root == nil {
		return false
	}
	home := "charts"
	if h := manifest.Child(manifest.Child(root, "helmGlobals"), "chartHome"); h != nil && h.Value != "" {
		home = h.Value
	}
	if !filepath.IsAbs(home) {
		home = filepath.Join(folder, home)
	}
	for i, entry := range manifest.Items(manifest.Child(root, "helmCharts")) {
		name := manifest.Child(entry, "name")
		if name == nil || name.Value == "" {
			continue
		}
		dir := filepath.Join(home, name.Value)
		if v := manifest.Child(entry, "version"); v != nil && v.Value != "" {
			// kustomize pulls a chart of a version into a folder of its own.
			dir = filepath.Join(home, name.Value+"-"+v.Value, name.Value)
		}
		scalars, read := t.defaults[dir]
		if !read {
			scalars = chartDefaults(dir)
			if t.defaults == nil {
				t.defaults = map[string][]defaultScalar{}
			}
			t.defaults[dir] = scalars
		}
		if len(scalars) == 0 {
			continue
		}
		// Where the key goes: the entry's values file when it is one of
		// DIR's, else its valuesInline.
		type place struct{ file, under string }
		places := []place{{file, manifest.IndexPath("helmCharts", i) + ".valuesInline"}}
		if vf := manifest.Child(entry, "valuesFile"); vf != nil && vf.Value != "" {
			p := vf.Value
			if !filepath.IsAbs(p) {
				p = filepath.Join(folder, p)
			}
			if t.k.under(p) && !t.k.inChart(p) {
				places = append([]place{{p, ""}}, places...)
			}
		}
		for _, pair := range pairs {
			for _, s := range scalars {
				to, ok := pair[1], s.node.Value == pair[0]
				if !ok && s.node.Tag == "!!str" {
					to, ok = replaceWord(s.node.Value, pair[0], pair[1])
				}
				if !ok {
					continue
				}
				for _, pl := range places {
					text, err := t.text(pl.file)
					if err != nil {
						continue
					}
					path := s.path
					if pl.under != "" {
						path = pl.under + "." + s.path
					}
					edit := manifest.Edit{Op: manifest.OpSet, Path: path, Value: to, Plain: s.node.Tag != "!!str"}
					fixed, err := manifest.ApplyEdits(pl.file, text, manifest.ObjectRef{Doc: 0, Item: -1}, []manifest.Edit{edit})
					if err == nil && t.try(pl.file, map[string][]byte{pl.file: fixed}, done) {
						return true
					}
				}
			}
		}
	}
	return false
}

// chartDefaults are the scalars of the values.yaml of the chart in dir, and
// of its subcharts' (a folder of its charts/, under the subchart's name,
// or the alias its Chart.yaml's dependencies give it), which the chart's
// values set under that key.
func chartDefaults(dir string) []defaultScalar {
	out := valuesScalars(filepath.Join(dir, "values.yaml"), "")
	subs, _ := os.ReadDir(filepath.Join(dir, "charts"))
	if len(subs) == 0 {
		return out
	}
	aliases := map[string]string{}
	if data, err := os.ReadFile(filepath.Join(dir, "Chart.yaml")); err == nil {
		var meta struct {
			Dependencies []struct{ Name, Alias string }
		}
		if yaml.Unmarshal(data, &meta) == nil {
			for _, d := range meta.Dependencies {
				if d.Alias != "" {
					aliases[d.Name] = d.Alias
				}
			}
		}
	}
	for _, sub := range subs {
		if !sub.IsDir() {
			continue
		}
		key := sub.Name()
		if a, ok := aliases[key]; ok {
			key = a
		}
		out = append(out, valuesScalars(filepath.Join(dir, "charts", sub.Name(), "values.yaml"), key)...)
	}
	return out
}

// valuesScalars are the scalars of a values file, their paths under key.
func valuesScalars(path, key string) []defaultScalar {
	data, err := os.ReadFile(path)
	root := topNode(data)
	if err != nil || root == nil {
		return nil
	}
	return defaultScalars(root, key)
}

// topNode is the first document's top node, nil when the text has none.
func topNode(data []byte) *yaml.Node {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return nil
	}
	return doc.Content[0]
}

// defaultScalar is a scalar of a chart's values, with its key's path.
type defaultScalar struct {
	path string
	node *yaml.Node
}

// defaultScalars are the scalars of the values mapping m reached through
// mappings alone (helm replaces a list whole, so an item cannot be given
// alone), in the file's order.
func defaultScalars(m *yaml.Node, path string) []defaultScalar {
	var out []defaultScalar
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		p := manifest.JoinPath(path, k.Value)
		switch v.Kind {
		case yaml.MappingNode:
			out = append(out, defaultScalars(v, p)...)
		case yaml.ScalarNode:
			out = append(out, defaultScalar{path: p, node: v})
		}
	}
	return out
}

// replaceWord replaces the word from, wherever it is a whole word of s.
func replaceWord(s, from, to string) (string, bool) {
	var b strings.Builder
	last := 0
	for _, at := range occurrences([]byte(s), from) {
		b.WriteString(s[last:at])
		b.WriteString(to)
		last = at + len(from)
	}
	if last == 0 {
		return s, false
	}
	b.WriteString(s[last:])
	return b.String(), true
}
