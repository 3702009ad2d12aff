package kustomize

import (
	"bytes"
	"os"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/oomdoctor/oomdoctor/internal/manifest"
	"github.com/oomdoctor/oomdoctor/internal/renderdiff"
)

// Locate is where a field of an object of the build is written in the
// file the object comes from: its line and column, or those of the
// nearest enclosing field written there when a patch or a transformer
// adds it (a container's resources that a patch sets point at the
// container). List items are matched by name, as a patch matches them.
// A generated object is at the entry of the kustomization's generator
// that makes it (configMapGenerator, helmCharts: the one whose name, or
// release name, its name holds). ok is false when the object comes from
// no file of the disk (a remote base's).
func (o *Object) Locate(field string) (line, col int, ok bool) {
	if o.generated {
		return o.locateGenerator()
	}
	if o.path == "" {
		return 0, 0, false
	}
	objs, err := o.k.sourceObjects(o.path)
	if err != nil {
		return 0, 0, false
	}
	if o.built == nil && yaml.Unmarshal([]byte(o.Text), &o.built) != nil {
		return 0, 0, false
	}
	built := o.built
	src := sourceDoc(objs, o.Kind, o.Name)
	if src == nil {
		return 0, 0, false
	}
	node := src.Node
	line, col = node.Line, node.Column
	var at []any
	for _, part := range manifest.SplitPath(field) {
		if part.Name != "" {
			next := manifest.Child(node, part.Name)
			if next == nil {
				return line, col, true
			}
			at = append(at, part.Name)
			line, col = keyLine(node, part.Name)
			if next.Kind == yaml.ScalarNode {
				line, col = next.Line, next.Column
			}
			node = next
		}
		if part.Index < 0 {
			continue
		}
		items := manifest.Items(node)
		item, _ := renderdiff.Lookup(built, append(at, part.Index))
		i := part.Index
		if name := nameOf(item); name != "" {
			i = -1
			for j, it := range items {
				if n := manifest.Child(it, "name"); n != nil && n.Value == name {
					i = j
				}
			}
		}
		if i < 0 || i >= len(items) {
			return line, col, true
		}
		at = append(at, part.Index)
		node, line, col = items[i], items[i].Line, items[i].Column
	}
	return line, col, true
}

// keyLine is the position of a mapping's key: a finding about a field
// points at its value when it is a scalar (as lint's own positions do),
// else at its key.
func keyLine(m *yaml.Node, key string) (int, int) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i].Line, m.Content[i].Column
		}
	}
	return m.Line, m.Column
}

// generatorFields are the fields of a kustomization that hold each kind
// of generator's entries.
var generatorFields = map[string]string{
	"ConfigMapGenerator":          "configMapGenerator",
	"SecretGenerator":             "secretGenerator",
	"HelmChartInflationGenerator": "helmCharts",
}

// locateGenerator is the position of the generator entry of a generated
// object in its kustomization file: the entry whose name (a chart's
// release name first) the object's name holds, the longest; the only
// entry; else the field that lists them, or the file's start.
func (o *Object) locateGenerator() (int, int, bool) {
	root, err := o.k.kustomizationFile(o.generator)
	if err != nil {
		return 0, 0, false
	}
	if root == nil {
		return 1, 1, true
	}
	field, known := generatorFields[o.generatorKind]
	list := manifest.Child(root, field)
	if !known || list == nil {
		return 1, 1, true
	}
	items := manifest.Items(list)
	var best *yaml.Node
	longest := 0
	for _, it := range items {
		for _, key := range []string{"releaseName", "name"} {
			n := manifest.Child(it, key)
			if n != nil && n.Value != "" && strings.Contains(o.Name, n.Value) && len(n.Value) > longest {
				best, longest = it, len(n.Value)
				break
			}
		}
	}
	if best == nil && len(items) == 1 {
		best = items[0]
	}
	if best == nil {
		line, col := keyLine(root, field)
		return line, col, true
	}
	return best.Line, best.Column, true
}

// sourceObjects are the documents of a file of the kustomization, parsed
// once for all the findings Locate places in it.
func (k *Kustomization) sourceObjects(path string) ([]*manifest.Object, error) {
	if objs, ok := k.parsed[path]; ok {
		return objs, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var objs []*manifest.Object
	_ = manifest.ReadStream(path, bytes.NewReader(data), nil, func(m *manifest.Object) error {
		objs = append(objs, m)
		return nil
	})
	if k.parsed == nil {
		k.parsed = map[string][]*manifest.Object{}
	}
	k.parsed[path] = objs
	return objs, nil
}

// kustomizationFile is a kustomization file's mapping, parsed once for
// all the generated objects Locate places in it; nil when it is not one.
func (k *Kustomization) kustomizationFile(path string) (*yaml.Node, error) {
	if root, ok := k.kustomizations[path]; ok {
		return root, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	var root *yaml.Node
	if yaml.Unmarshal(data, &doc) == nil && len(doc.Content) > 0 && doc.Content[0].Kind == yaml.MappingNode {
		root = doc.Content[0]
	}
	if k.kustomizations == nil {
		k.kustomizations = map[string]*yaml.Node{}
	}
	k.kustomizations[path] = root
	return root, nil
}
