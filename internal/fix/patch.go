package fix

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/oomdoctor/oomdoctor/internal/manifest"
)

// mergeKeys are the lists a strategic-merge patch matches items in by a
// key, with that key.
var mergeKeys = map[string]string{
	"containers": "name", "initContainers": "name", "ephemeralContainers": "name",
	"env": "name", "volumes": "name",
}

// Patch writes an object's edits as a strategic-merge patch: the object's
// apiVersion, kind, name and namespace, and only the changed fields, with
// list items named by their merge key (containers by name). Kustomize applies
// it to a base without touching the base. Kustomize puts a patch's items
// first, so the patch also names the object's items before the last it
// changes, by their key alone (all of them when it adds one): a sidecar's
// limit does not move the sidecar before the app. It is indented by two
// spaces, its lists as source (the object's file) indents them.
func Patch(oe ObjectEdits, source []byte) ([]byte, error) {
	root, err := patchNode(oe, false)
	if err != nil {
		return nil, err
	}
	return manifest.Encode(root, source)
}

// serverPatch is Patch for the API server: an added list item comes with
// the $setElementOrder directive that keeps it last (Kustomize does not
// read the directive: patch files name the items before instead).
func serverPatch(oe ObjectEdits) ([]byte, error) {
	root, err := patchNode(oe, true)
	if err != nil {
		return nil, err
	}
	return yaml.Marshal(root)
}

// patchNode is the patch of the object's edits; order: with the order
// directive, else naming the items before (keepOrder).
func patchNode(oe ObjectEdits, order bool) (*yaml.Node, error) {
	o := oe.Object
	root := mapping()
	add(root, "apiVersion", scalar(o.APIVersion))
	add(root, "kind", scalar(o.Kind))
	md := mapping()
	add(md, "name", scalar(o.Name))
	if o.Namespace != "" {
		add(md, "namespace", scalar(o.Namespace))
	}
	add(root, "metadata", md)
	for _, e := range oe.Edits {
		var err error
		switch e.Op {
		case manifest.OpSet:
			err = setPatch(root, o.Node, e.Path, e.Value)
		case manifest.OpAppend:
			err = appendPatch(root, o.Node, e.Path, e.Item, order)
		default:
			err = fmt.Errorf("a %s of %s cannot be written as a patch; edit the base or drop --patch-dir", e.Op, e.Path)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o, err)
		}
	}
	if !order {
		keepOrder(root, o.Node)
	}
	return root, nil
}

// keepOrder makes each list of the patch p merged by a key name the items
// of the object's list (in src) up to the last the patch holds, in the
// object's order, by their key alone where the patch has nothing for them;
// items the object lacks come after all of the object's.
func keepOrder(p, src *yaml.Node) {
	if p == nil || src == nil || p.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(p.Content); i += 2 {
		name, v := p.Content[i].Value, p.Content[i+1]
		s := manifest.Child(src, name)
		key, merged := mergeKeys[name]
		if !merged || v.Kind != yaml.SequenceNode {
			keepOrder(v, s)
			continue
		}
		id := func(it *yaml.Node) string { return manifest.ScalarValue(manifest.Child(it, key)) }
		orig := manifest.Items(s)
		inPatch := map[string]*yaml.Node{}
		for _, it := range v.Content {
			inPatch[id(it)] = it
		}
		last := -1
		for j, it := range orig {
			if inPatch[id(it)] != nil {
				last = j
			}
		}
		inObject := map[string]bool{}
		for _, o := range orig {
			inObject[id(o)] = true
		}
		var added []*yaml.Node
		for _, it := range v.Content {
			if !inObject[id(it)] {
				added = append(added, it)
			}
		}
		if len(added) > 0 {
			last = len(orig) - 1
		}
		var items []*yaml.Node
		for _, o := range orig[:last+1] {
			it := inPatch[id(o)]
			if it == nil {
				it = mapping()
				add(it, key, scalar(id(o)))
			}
			keepOrder(it, o)
			items = append(items, it)
		}
		v.Content = append(items, added...)
	}
}

func mapping() *yaml.Node { return &yaml.Node{Kind: yaml.MappingNode} }

// scalar is a string: quoted when it reads as another type ("100", "true"),
// so that the patch's JSON has a string there too.
func scalar(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v} }

func add(m *yaml.Node, key string, v *yaml.Node) {
	m.Content = append(m.Content, scalar(key), v)
}

func get(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// setPatch sets path to value in the patch, reading list items' merge keys
// from the original object.
func setPatch(patch, orig *yaml.Node, path, value string) error {
	cur, _, last, err := patchParent(patch, orig, path)
	if err != nil {
		return err
	}
	if last.Index >= 0 {
		return fmt.Errorf("%s: cannot set a whole list item", path)
	}
	if v := get(cur, last.Name); v != nil {
		v.Value = value
	} else {
		add(cur, last.Name, scalar(value))
	}
	return nil
}

// appendPatch adds an item to a list merged by a key (an env variable by
// name): the patch's list holds it with its key, and the server merges it
// into the object's.
func appendPatch(patch, orig *yaml.Node, path string, item []manifest.KV, order bool) error {
	cur, src, last, err := patchParent(patch, orig, path)
	if err != nil {
		return err
	}
	key, ok := mergeKeys[last.Name]
	if last.Index >= 0 || !ok || !slices.ContainsFunc(item, func(kv manifest.KV) bool { return kv.Key == key }) {
		return fmt.Errorf("%s: an item can be added as a patch only to a list merged by a key it has (%s)", path, strings.Join(slices.Sorted(maps.Keys(mergeKeys)), ", "))
	}
	list := get(cur, last.Name)
	if list == nil {
		list = &yaml.Node{Kind: yaml.SequenceNode}
		add(cur, last.Name, list)
	}
	m := mapping()
	id := ""
	for _, kv := range item {
		add(m, kv.Key, scalar(kv.Value))
		if kv.Key == key {
			id = kv.Value
		}
	}
	list.Content = append(list.Content, m)
	if !order {
		return nil
	}
	// The server would put a new item before the object's: the order
	// directive keeps them first and it last, as in the edited manifest
	// (an env variable may refer to those before it).
	seq := get(cur, "$setElementOrder/"+last.Name)
	if seq == nil {
		seq = &yaml.Node{Kind: yaml.SequenceNode}
		for _, it := range manifest.Items(manifest.Child(src, last.Name)) {
			k := mapping()
			add(k, key, scalar(manifest.ScalarValue(manifest.Child(it, key))))
			seq.Content = append(seq.Content, k)
		}
		add(cur, "$setElementOrder/"+last.Name, seq)
	}
	k := mapping()
	add(k, key, scalar(id))
	seq.Content = append(seq.Content, k)
	return nil
}

// patchParent finds (making it) the patch's mapping that holds path's
// last part, with list items named by their merge keys, and the
// object's mapping it stands for.
func patchParent(patch, orig *yaml.Node, path string) (cur, src *yaml.Node, last manifest.PathPart, err error) {
	parts := manifest.SplitPath(path)
	if len(parts) == 0 {
		return nil, nil, manifest.PathPart{}, fmt.Errorf("an empty path")
	}
	cur, src = patch, orig
	for _, p := range parts[:len(parts)-1] {
		if p.Index < 0 {
			src = manifest.Child(src, p.Name)
			next := get(cur, p.Name)
			if next == nil {
				next = mapping()
				add(cur, p.Name, next)
			}
			cur = next
			continue
		}
		// A list item: find it by its merge key.
		key, ok := mergeKeys[p.Name]
		if !ok {
			return nil, nil, p, fmt.Errorf("%s: the list %s has no merge key", path, p.Name)
		}
		items := manifest.Items(manifest.Child(src, p.Name))
		if p.Index >= len(items) {
			return nil, nil, p, fmt.Errorf("%s: no item %d", path, p.Index)
		}
		src = items[p.Index]
		id := manifest.ScalarValue(manifest.Child(src, key))
		list := get(cur, p.Name)
		if list == nil {
			list = &yaml.Node{Kind: yaml.SequenceNode}
			add(cur, p.Name, list)
		}
		var item *yaml.Node
		for _, it := range list.Content {
			if v := get(it, key); v != nil && v.Value == id {
				item = it
			}
		}
		if item == nil {
			item = mapping()
			add(item, key, scalar(id))
			list.Content = append(list.Content, item)
		}
		cur = item
	}
	return cur, src, parts[len(parts)-1], nil
}

// WritePatches writes a patch file per changed object into dir, and
// returns their names for kustomization.yaml.
func WritePatches(dir string, results []*Result) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var names []string
	for _, r := range results {
		for _, oe := range r.Objects {
			data, err := Patch(oe, r.Original)
			if err != nil {
				return nil, err
			}
			name := strings.ToLower(oe.Object.Kind) + "-" + oe.Object.Name + "-memory.yaml"
			header := fmt.Sprintf("# Written by oomdoctor fix: memory settings for %s (from %s).\n# Apply with kustomize: add it under patches: in kustomization.yaml.\n", oe.Object, r.File)
			path := filepath.Join(dir, name)
			if err := WriteAtomic(path, append([]byte(header), data...)); err != nil {
				return nil, err
			}
			names = append(names, name)
		}
	}
	return names, nil
}
