package fix

import (
	"fmt"
	"os"
	"path/filepath"
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
// it to a base without touching the base.
func Patch(oe ObjectEdits) ([]byte, error) {
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
		if e.Op != manifest.OpSet {
			return nil, fmt.Errorf("%s: a %s of %s cannot be written as a patch; edit the base or drop --patch-dir", o, e.Op, e.Path)
		}
		if err := setPatch(root, o.Node, e.Path, e.Value); err != nil {
			return nil, fmt.Errorf("%s: %w", o, err)
		}
	}
	out, err := yaml.Marshal(root)
	if err != nil {
		return nil, err
	}
	return out, nil
}

func mapping() *yaml.Node { return &yaml.Node{Kind: yaml.MappingNode} }

func scalar(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: v} }

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
	parts := manifest.SplitPath(path)
	cur, src := patch, orig
	for i, p := range parts {
		last := i == len(parts)-1
		if p.Index < 0 {
			src = manifest.Child(src, p.Name)
			if last {
				if v := get(cur, p.Name); v != nil {
					v.Value = value
				} else {
					add(cur, p.Name, scalar(value))
				}
				return nil
			}
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
			return fmt.Errorf("%s: the list %s has no merge key", path, p.Name)
		}
		items := manifest.Items(manifest.Child(src, p.Name))
		if p.Index >= len(items) {
			return fmt.Errorf("%s: no item %d", path, p.Index)
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
		if last {
			return fmt.Errorf("%s: cannot set a whole list item", path)
		}
	}
	return nil
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
			data, err := Patch(oe)
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
