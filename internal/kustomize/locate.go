package kustomize

import (
	"bytes"
	"os"

	yaml "go.yaml.in/yaml/v3"

	"github.com/oomdoctor/oomdoctor/internal/manifest"
	"github.com/oomdoctor/oomdoctor/internal/renderdiff"
)

// Locate is where a field of an object of the build is written in the
// file the object comes from: its line and column, or those of the
// nearest enclosing field written there when a patch or a transformer
// adds it (a container's resources that a patch sets point at the
// container). List items are matched by name, as a patch matches them.
// ok is false when the object comes from no file of the disk (a
// generator's).
func (o *Object) Locate(field string) (line, col int, ok bool) {
	if o.path == "" {
		return 0, 0, false
	}
	data, err := os.ReadFile(o.path)
	if err != nil {
		return 0, 0, false
	}
	var built any
	if yaml.Unmarshal([]byte(o.Text), &built) != nil {
		return 0, 0, false
	}
	var objs []*manifest.Object
	_ = manifest.ReadStream(o.path, bytes.NewReader(data), nil, func(m *manifest.Object) error {
		objs = append(objs, m)
		return nil
	})
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
