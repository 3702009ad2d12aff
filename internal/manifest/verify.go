package manifest

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// An edit of a node that YAML shares (an anchor its aliases repeat, a
// mapping merged into others with "<<: *anchor") changes every place
// that reads it. ApplyEdits therefore reads the object before and after
// its edits, as a YAML reader sees it, and keeps the new text only when
// it differs from the old exactly by the edits.

// readTree is a node's value as a YAML reader sees it: aliases
// followed, merge keys merged (a mapping's own keys first, then its
// merges, an earlier one before a later), every scalar as its text;
// nulls and empty mappings are left out, as an edit that removes a
// mapping's last field removes the mapping too.
func readTree(n *yaml.Node) any {
	n = resolve(n)
	if n == nil {
		return nil
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil
		}
		return readTree(n.Content[0])
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return nil
		}
		return n.Value
	case yaml.SequenceNode:
		out := make([]any, len(n.Content))
		for i, c := range n.Content {
			out[i] = readTree(c)
		}
		return out
	case yaml.MappingNode:
		out := map[string]any{}
		var merges []*yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Tag == "!!merge" {
				m := resolve(v)
				if m != nil && m.Kind == yaml.SequenceNode {
					merges = append(merges, m.Content...)
				} else {
					merges = append(merges, m)
				}
				continue
			}
			put(out, k.Value, readTree(v))
		}
		for _, m := range merges {
			merged, _ := readTree(m).(map[string]any)
			for k, v := range merged {
				if _, own := out[k]; !own {
					out[k] = v
				}
			}
		}
		return out
	}
	return nil
}

// put sets key in a read tree's mapping, leaving out what readTree
// leaves out.
func put(m map[string]any, key string, v any) {
	if sub, ok := v.(map[string]any); v == nil || ok && len(sub) == 0 {
		delete(m, key)
		return
	}
	m[key] = v
}

// applyToTree makes an edit to a read tree, as the text's edit should
// read back; it returns the new tree.
func applyToTree(root any, e Edit) any {
	parts := splitPath(e.Path)
	// leaf makes the edit to the value at the path's end.
	leaf := func(cur any) (any, bool) {
		switch e.Op {
		case OpSet:
			return e.Value, true
		case OpAppend:
			list, _ := cur.([]any)
			return append(list, treeItem(e.Item)), true
		}
		return nil, false // removed
	}
	var at func(cur any, i int) (any, bool)
	at = func(cur any, i int) (any, bool) {
		if i == len(parts) {
			return leaf(cur)
		}
		p := parts[i]
		if p.name != "" {
			m, ok := cur.(map[string]any)
			if !ok {
				m = map[string]any{}
			}
			v, keep := m[p.name], true
			if p.index >= 0 {
				v, keep = indexed(v, p, i, at)
			} else {
				v, keep = at(v, i+1)
			}
			if keep {
				put(m, p.name, v)
			} else {
				delete(m, p.name)
			}
			return m, true
		}
		return indexed(cur, p, i, at)
	}
	v, _ := at(root, 0)
	return v
}

// indexed makes an edit at a list item of a read tree.
func indexed(cur any, p pathPart, i int, at func(any, int) (any, bool)) (any, bool) {
	list, _ := cur.([]any)
	if p.index >= len(list) {
		return cur, true // the edit failed on it: not reached
	}
	v, keep := at(list[p.index], i+1)
	if keep {
		list[p.index] = v
	}
	return list, true
}

// treeItem is an appended item as readTree reads it.
func treeItem(item []KV) any {
	if scalarItem(item) {
		return item[0].Value
	}
	m := map[string]any{}
	for _, kv := range item {
		put(m, kv.Key, kv.Value)
	}
	return m
}

// treeDiff is the path of the first place where two read trees differ
// (mapping keys in sorted order), and whether they do.
func treeDiff(a, b any, path string) (string, bool) {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			return path, true
		}
		both := maps.Clone(x)
		maps.Copy(both, y)
		for _, k := range slices.Sorted(maps.Keys(both)) {
			if p, d := treeDiff(x[k], y[k], JoinPath(path, k)); d {
				return p, true
			}
		}
		return "", false
	case []any:
		y, ok := b.([]any)
		if !ok {
			return path, true
		}
		for i := range max(len(x), len(y)) {
			if i >= len(x) || i >= len(y) {
				return IndexPath(path, i), true
			}
			if p, d := treeDiff(x[i], y[i], IndexPath(path, i)); d {
				return p, true
			}
		}
		return "", false
	case string:
		y, ok := b.(string)
		return path, !ok || x != y
	case nil:
		return path, b != nil
	}
	return path, true
}

// sharedLine is the line of the text that gives the field at path its
// value: an alias or a merge key on its way, or the field itself (its
// nearest parent's when it is gone).
func sharedLine(obj *yaml.Node, path string) int {
	cur := obj
	line := 0
	for _, p := range splitPath(path) {
		if cur != nil && cur.Kind == yaml.AliasNode {
			return cur.Line
		}
		if p.name != "" {
			m := resolve(cur)
			k, v := (*yaml.Node)(nil), (*yaml.Node)(nil)
			if m != nil && m.Kind == yaml.MappingNode {
				k, v = ownKey(m, p.name)
			}
			if k == nil {
				// Merged in, or gone: the merge key's line.
				if mk := KeyNode(m, "<<"); mk != nil {
					return mk.Line
				}
				return line
			}
			cur = v
		}
		if cur != nil && cur.Kind == yaml.AliasNode {
			return cur.Line
		}
		if p.index >= 0 {
			items := Items(cur)
			if p.index >= len(items) {
				return line
			}
			cur = items[p.index]
		}
		if cur == nil {
			return line
		}
		line = cur.Line
	}
	return line
}

// shares tells whether an object's text repeats a node in other places
// (an alias) or reads keys from another mapping (a merge key).
func shares(n *yaml.Node) bool {
	if n == nil {
		return false
	}
	if n.Kind == yaml.AliasNode || n.Tag == "!!merge" {
		return true
	}
	for _, c := range n.Content {
		if shares(c) {
			return true
		}
	}
	return false
}

// verify checks that the document of an object whose document shares
// (shares: an alias may reach from one List item into another) reads
// after the edits as before but for the edits. before and root0 are the
// document's before; the edits' paths are the object's, under prefix in
// the document (items[2] for a List's item).
func verify(name string, before any, data []byte, doc int, prefix string, edits []Edit, root0 *yaml.Node) error {
	t, err := newText(name, data)
	if err != nil {
		return editorBroke(name, err)
	}
	if doc >= len(t.docs) || len(t.docs[doc].Content) == 0 {
		return editorBroke(name, fmt.Errorf("no document %d", doc))
	}
	want := before
	var paths []string
	for _, e := range edits {
		e.Path = under(prefix, e.Path)
		want = applyToTree(want, e)
		paths = append(paths, e.Path)
	}
	path, differs := treeDiff(want, readTree(t.docs[doc].Content[0]), "")
	if !differs {
		return nil
	}
	for _, p := range paths {
		if p == path || strings.HasPrefix(path, p+".") || strings.HasPrefix(path, p+"[") {
			paths = []string{p}
			break
		}
	}
	line := sharedLine(root0, path)
	if len(paths) == 1 && paths[0] != path && !strings.HasPrefix(path, paths[0]) || len(paths) > 1 {
		return &EditError{File: name, Line: line, Msg: fmt.Sprintf("editing %s would also change %s, which reads the same text through a YAML anchor (an alias or a <<: merge key); write the field out in full where it should differ, then run again", strings.Join(paths, ", "), path)}
	}
	return &EditError{File: name, Line: line, Msg: fmt.Sprintf("%s cannot be edited where it is written: a YAML anchor gives its value (an alias or a <<: merge key); write the field out in full, then run again", paths[0])}
}

// under is path under prefix (a path of the document to the object).
func under(prefix, path string) string {
	if prefix == "" || strings.HasPrefix(path, "[") {
		return prefix + path
	}
	return prefix + "." + path
}

// atAnchor is the path, from obj, of the field that path reaches through
// an alias: the alias's anchor's place in obj, then the rest of path.
// False when path goes through no alias or the anchor is not in obj.
func atAnchor(obj *yaml.Node, path string) (string, bool) {
	parts := splitPath(path)
	cur := obj
	for i, p := range parts {
		if p.name != "" {
			if cur.Kind == yaml.AliasNode {
				return rebase(obj, cur, parts[i:])
			}
			if cur.Kind != yaml.MappingNode {
				return "", false
			}
			if cur = valueOf(cur, p.name); cur == nil {
				return "", false
			}
		}
		if p.index >= 0 {
			if cur.Kind == yaml.AliasNode {
				rest := append([]pathPart{{index: p.index}}, parts[i+1:]...)
				return rebase(obj, cur, rest)
			}
			if cur.Kind != yaml.SequenceNode || p.index >= len(cur.Content) {
				return "", false
			}
			cur = cur.Content[p.index]
		}
	}
	if cur.Kind == yaml.AliasNode {
		return rebase(obj, cur, nil)
	}
	return "", false
}

// valueOf is a mapping's own value of key, or nil.
func valueOf(m *yaml.Node, key string) *yaml.Node {
	_, v := ownKey(m, key)
	return v
}

// rebase is the path of alias's anchor in obj followed by rest.
func rebase(obj, alias *yaml.Node, rest []pathPart) (string, bool) {
	at, ok := pathTo(obj, alias.Alias, "")
	if !ok {
		return "", false
	}
	for _, p := range rest {
		if p.name != "" {
			at = JoinPath(at, p.name)
		}
		if p.index >= 0 {
			at = IndexPath(at, p.index)
		}
	}
	return at, true
}

// pathTo is the path from n to target in the text (not through aliases).
func pathTo(n, target *yaml.Node, path string) (string, bool) {
	if n == target {
		return path, true
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Tag == "!!merge" {
				continue
			}
			if p, ok := pathTo(n.Content[i+1], target, JoinPath(path, n.Content[i].Value)); ok {
				return p, true
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if p, ok := pathTo(c, target, IndexPath(path, i)); ok {
				return p, true
			}
		}
	}
	return "", false
}
