package manifest

import (
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// Child returns the value of key in a mapping node, or nil. Keys merged in
// with "<<: *anchor" count, after the mapping's own keys.
func Child(n *yaml.Node, key string) *yaml.Node {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if k.Value == key && k.Tag != "!!merge" {
			return resolve(n.Content[i+1])
		}
		if k.Tag == "!!merge" {
			merges = append(merges, resolve(n.Content[i+1]))
		}
	}
	for _, m := range merges {
		if m != nil && m.Kind == yaml.SequenceNode {
			for _, each := range m.Content {
				if v := Child(each, key); v != nil {
					return v
				}
			}
			continue
		}
		if v := Child(m, key); v != nil {
			return v
		}
	}
	return nil
}

// KeyNode returns the key node of key in a mapping node, or nil.
func KeyNode(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i]
		}
	}
	return nil
}

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// ScalarValue is a scalar node's value, "" for anything else.
func ScalarValue(n *yaml.Node) string {
	n = resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return ""
	}
	return n.Value
}

// Items returns a sequence node's elements, nil for anything else.
func Items(n *yaml.Node) []*yaml.Node {
	n = resolve(n)
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	out := make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		out[i] = resolve(c)
	}
	return out
}

// Strings returns a sequence of scalars as strings.
func Strings(n *yaml.Node) []string {
	items := Items(n)
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, ScalarValue(it))
	}
	return out
}

// StringMap returns a mapping of scalars as a map.
func StringMap(n *yaml.Node) map[string]string {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	out := make(map[string]string, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		out[n.Content[i].Value] = ScalarValue(n.Content[i+1])
	}
	return out
}

// Lookup follows a field path ("spec.template.spec.containers[0].resources")
// from n. It returns the deepest node it reached and whether it reached the
// end: a finding about a field that is missing points at its parent.
func Lookup(n *yaml.Node, path string) (*yaml.Node, bool) {
	cur := resolve(n)
	for _, part := range splitPath(path) {
		name, index := part.name, part.index
		if name != "" {
			next := Child(cur, name)
			if next == nil {
				return cur, false
			}
			cur = next
		}
		if index >= 0 {
			items := Items(cur)
			if index >= len(items) {
				return cur, false
			}
			cur = items[index]
		}
	}
	return cur, true
}

type pathPart struct {
	name  string
	index int
}

// PathPart is one step of a field path: a field name, and a list index
// (-1 for none).
type PathPart struct {
	Name  string
	Index int
}

// SplitPath splits a field path ("spec.containers[0].env") into its parts.
func SplitPath(path string) []PathPart {
	parts := splitPath(path)
	out := make([]PathPart, len(parts))
	for i, p := range parts {
		out[i] = PathPart{Name: p.name, Index: p.index}
	}
	return out
}

// splitPath splits "a.b[2].c" into a, b[2], c. Keys with dots can be quoted
// in brackets: metadata.annotations["oomdoctor.io/ignore"].
func splitPath(path string) []pathPart {
	var out []pathPart
	for path != "" {
		var part pathPart
		part.index = -1
		switch {
		case strings.HasPrefix(path, "[\""):
			end := strings.Index(path, "\"]")
			if end < 0 {
				return out
			}
			part.name = path[2:end]
			path = path[end+2:]
		default:
			end := strings.IndexAny(path, ".[")
			if end < 0 {
				end = len(path)
			}
			part.name = path[:end]
			path = path[end:]
		}
		if strings.HasPrefix(path, "[") && !strings.HasPrefix(path, "[\"") {
			end := strings.Index(path, "]")
			if end > 0 {
				part.index, _ = strconv.Atoi(path[1:end])
				path = path[end+1:]
			}
		}
		path = strings.TrimPrefix(path, ".")
		out = append(out, part)
	}
	return out
}

// JoinPath appends a field to a path.
func JoinPath(path, field string) string {
	if strings.ContainsAny(field, ".[]\"") {
		return path + `["` + field + `"]`
	}
	if path == "" {
		return field
	}
	return path + "." + field
}

// IndexPath appends a list index to a path.
func IndexPath(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }
