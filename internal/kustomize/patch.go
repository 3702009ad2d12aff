package kustomize

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/types"

	"github.com/oomdoctor/oomdoctor/internal/manifest"
	"github.com/oomdoctor/oomdoctor/internal/renderdiff"
)

// mergeKeys are the lists a strategic-merge patch matches items in by
// name; other lists are replaced whole.
var mergeKeys = map[string]bool{"containers": true, "initContainers": true, "ephemeralContainers": true, "env": true, "volumes": true}

// target is an object in a file of the folder that the build's object is
// made from: a strategic-merge patch of it, or its resource.
type target struct {
	path string
	ref  manifest.ObjectRef
	doc  any
}

// patch makes the object's remaining planned changes by adding its fields
// to a strategic-merge patch of the folder for it, or to its resource file
// when that is in the folder, or else by writing a patch of its own. It
// returns why not, or "".
func (t *tracer) patch(id string) string {
	obj := t.object(id)
	cur, plan := t.cur.docs[id], t.want[id]
	if obj == nil || len(cur) != 1 || len(plan) != 1 {
		return "the build has no such object, or more than one"
	}
	done := func(ds []renderdiff.Difference) bool {
		return !slices.ContainsFunc(ds, func(d renderdiff.Difference) bool { return d.Source == id })
	}
	name := t.sourceName(obj, cur[0])
	for _, tg := range t.targets(obj, name) {
		var edits []manifest.Edit
		if err := editsFor(cur[0], plan[0], tg.doc, "", &edits); err != nil || len(edits) == 0 {
			continue
		}
		text, err := t.text(tg.path)
		if err != nil {
			continue
		}
		fixed, err := manifest.ApplyEdits(tg.path, text, tg.ref, edits)
		if err != nil {
			continue
		}
		if t.try(tg.path, map[string][]byte{tg.path: fixed}, done) {
			return ""
		}
	}
	if t.mergeGenerator(obj, cur[0], plan[0], done) {
		return ""
	}
	p, err := patchOf(cur[0], plan[0], "", false)
	if err != nil {
		return err.Error()
	}
	file, text, err := t.newPatch(obj, name, p)
	if err != nil {
		return err.Error()
	}
	kz, err := t.text(t.k.file)
	if err != nil {
		return err.Error()
	}
	rel := filepath.ToSlash(strings.TrimPrefix(file, t.k.root+string(filepath.Separator)))
	kzFixed, err := manifest.ApplyEdits(t.k.file, kz, manifest.ObjectRef{Doc: 0, Item: -1}, []manifest.Edit{{Op: manifest.OpAppend, Path: "patches", Item: []manifest.KV{{Key: "path", Value: rel}}}})
	if err != nil {
		return fmt.Sprintf("%s cannot list a new patch under patches: %v", t.k.display(t.k.file), err)
	}
	if t.try(file, map[string][]byte{file: text, t.k.file: kzFixed}, done) {
		t.lists[t.k.file] = append(t.lists[t.k.file], rel)
		return ""
	}
	return fmt.Sprintf("a strategic-merge patch of %s %s in %s does not make it as planned (a transformer of the kustomization may set it after patches): change it where it is set", obj.Kind, name, t.k.Dir)
}

// object is the build's object id.
func (t *tracer) object(id string) *Object {
	for _, o := range t.objects {
		if o.id == id {
			return o
		}
	}
	return nil
}

// sourceName is the object's name as its resource file writes it, before
// the kustomization's prefixes and suffixes; the built name when that file
// is not read.
func (t *tracer) sourceName(obj *Object, doc any) string {
	built, _ := renderdiff.Lookup(doc, []any{"metadata", "name"})
	name := renderdiff.ScalarText(built)
	best := ""
	if obj.generated {
		name = strings.TrimSuffix(name, hashMark)
		for _, g := range t.generatorNames(obj) {
			if strings.Contains(name, g) && len(g) > len(best) {
				best = g
			}
		}
	}
	if obj.path != "" {
		if o := sourceDoc(t.objectsIn(obj.path), obj.Kind, name); o != nil && len(o.Name) > len(best) {
			best = o.Name
		}
	}
	if best == "" {
		return name
	}
	return best
}

// generatorNames are the names the generators of the object's
// kustomization give their objects of its kind.
func (t *tracer) generatorNames(obj *Object) []string {
	var out []string
	for _, g := range t.generators(obj) {
		out = append(out, g.Name)
	}
	return out
}

// generatorNamespace is the namespace the generator of a generated object
// (named name, as the generator names it) sets, or "": a patch or a
// merging generator must name it to match the object.
func (t *tracer) generatorNamespace(obj *Object, name string) string {
	for _, g := range t.generators(obj) {
		if g.Name == name {
			return g.Namespace
		}
	}
	return ""
}

// generators are the generator entries of the object's kustomization that
// make objects of its kind.
func (t *tracer) generators(obj *Object) []types.GeneratorArgs {
	if !obj.generated {
		return nil
	}
	text, err := t.text(obj.generator)
	if err != nil {
		return nil
	}
	var kz types.Kustomization
	if yaml.Unmarshal(text, &kz) != nil {
		return nil
	}
	var out []types.GeneratorArgs
	switch obj.Kind {
	case "ConfigMap":
		for _, g := range kz.ConfigMapGenerator {
			out = append(out, g.GeneratorArgs)
		}
	case "Secret":
		for _, g := range kz.SecretGenerator {
			out = append(out, g.GeneratorArgs)
		}
	}
	return out
}

// sourceDoc is the object of a resource file an object of the build is
// made from: of its kind, with the longest name the built name holds
// (prefixes and suffixes are added to it).
func sourceDoc(objs []*manifest.Object, kind, built string) *manifest.Object {
	var best *manifest.Object
	for _, o := range objs {
		if o.Kind == kind && strings.Contains(built, o.Name) && (best == nil || len(o.Name) > len(best.Name)) {
			best = o
		}
	}
	return best
}

// objectsIn are the objects of a file as it is so far.
func (t *tracer) objectsIn(path string) []*manifest.Object {
	text, err := t.text(path)
	if err != nil {
		return nil
	}
	var out []*manifest.Object
	_ = manifest.ReadStream(path, bytes.NewReader(text), nil, func(o *manifest.Object) error {
		out = append(out, o)
		return nil
	})
	return out
}

// targets are the documents of the folder the object's fields may be
// added to: its strategic-merge patches, then its resource.
func (t *tracer) targets(obj *Object, name string) []target {
	var files []string
	if kzText, err := t.text(t.k.file); err == nil {
		var kz types.Kustomization
		if yaml.Unmarshal(kzText, &kz) == nil {
			for _, p := range kz.Patches {
				if p.Path != "" && p.Target == nil {
					files = append(files, filepath.Join(t.k.root, p.Path))
				}
			}
			// Deprecated, yet many kustomizations still list their
			// patches there.
			//lint:ignore SA1019 the user's kustomization may use it
			for _, p := range kz.PatchesStrategicMerge {
				if s := string(p); !strings.Contains(s, "\n") {
					files = append(files, filepath.Join(t.k.root, s))
				}
			}
		}
	}
	if obj.path != "" {
		files = append(files, obj.path)
	}
	var out []target
	for _, f := range files {
		if !t.k.under(f) {
			continue
		}
		for _, o := range t.objectsIn(f) {
			if o.Kind != obj.Kind || o.Name != name {
				continue
			}
			var doc any
			if o.Node.Decode(&doc) != nil {
				continue
			}
			out = append(out, target{path: f, ref: manifest.ObjectRef{Doc: o.Doc, Item: o.Item}, doc: doc})
		}
	}
	return out
}

// editsFor are the edits that make target (a document of the folder,
// nil where it has nothing) give plan where the build gives cur: the
// fields that differ, list items matched by name.
func editsFor(cur, plan, target any, path string, out *[]manifest.Edit) error {
	switch p := plan.(type) {
	case map[string]any:
		c, _ := cur.(map[string]any)
		tm, _ := target.(map[string]any)
		for k := range c {
			if _, ok := p[k]; !ok {
				return fmt.Errorf("%s is removed", manifest.JoinPath(path, k))
			}
		}
		for _, k := range sortedKeys(p) {
			if c != nil && equal(manifest.JoinPath(path, k), c[k], p[k]) {
				continue
			}
			var tv any
			if tm != nil {
				tv = tm[k]
			}
			if err := editsFor(c[k], p[k], tv, manifest.JoinPath(path, k), out); err != nil {
				return err
			}
		}
		return nil
	case []any:
		c, _ := cur.([]any)
		tl, _ := target.([]any)
		if !mergeKeys[lastKey(path)] {
			if len(p) != len(c) || len(tl) != len(p) {
				return fmt.Errorf("%s is a list that changes whole", path)
			}
			for i := range p {
				if !equal(path, c[i], p[i]) {
					if err := editsFor(c[i], p[i], tl[i], manifest.IndexPath(path, i), out); err != nil {
						return err
					}
				}
			}
			return nil
		}
		// A patch's items go first (patchOf says why): the target names
		// every item up to the last that changes, appending those it
		// lacks by their name alone.
		last := lastChanged(path, c, p)
		added := 0
		for i, item := range p {
			name := nameOf(item)
			if name == "" {
				return fmt.Errorf("%s has an item without a name", path)
			}
			ci := byName(c, name)
			j := slices.IndexFunc(tl, func(x any) bool { return nameOf(x) == name })
			if ci != nil && equal(path, ci, item) && (i > last || j >= 0) {
				continue
			}
			var ti any
			if j < 0 {
				j = len(tl) + added
				added++
				*out = append(*out, manifest.Edit{Op: manifest.OpAppend, Path: path, Item: []manifest.KV{{Key: "name", Value: name}}})
				ti = map[string]any{"name": name}
			} else {
				ti = tl[j]
			}
			if err := editsFor(ci, item, ti, manifest.IndexPath(path, j), out); err != nil {
				return err
			}
		}
		if len(c) > len(p) {
			return fmt.Errorf("%s loses items", path)
		}
		return nil
	}
	if equal(path, cur, plan) && equal(path, target, plan) {
		return nil
	}
	if plan == nil {
		return fmt.Errorf("%s is removed", path)
	}
	*out = append(*out, manifest.Edit{Op: manifest.OpSet, Path: path, Value: renderdiff.ScalarText(plan), Plain: !isString(plan)})
	return nil
}

// patchOf is the strategic-merge patch that makes plan of cur: the fields
// that differ, items of the lists merged by name named, other lists
// whole.
func patchOf(cur, plan any, path string, item bool) (*yaml.Node, error) {
	switch p := plan.(type) {
	case map[string]any:
		c, _ := cur.(map[string]any)
		n := &yaml.Node{Kind: yaml.MappingNode}
		for k := range c {
			if _, ok := p[k]; !ok {
				return nil, fmt.Errorf("fix removes %s, which a patch cannot say: remove it where it is set", k)
			}
		}
		for _, k := range sortedKeys(p) {
			// An item of a list merged by name keeps its name: it is
			// what the patch's item is matched by.
			if c != nil && equal(manifest.JoinPath(path, k), c[k], p[k]) && !(item && k == "name") {
				continue
			}
			var cv any
			if c != nil {
				cv = c[k]
			}
			v, err := patchOf(cv, p[k], manifest.JoinPath(path, k), false)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, str(k), v)
		}
		return n, nil
	case []any:
		c, _ := cur.([]any)
		if !mergeKeys[lastKey(path)] || slices.ContainsFunc(p, func(x any) bool { return nameOf(x) == "" }) {
			return valueNode(plan)
		}
		// kustomize puts a patch's items first, in the patch's order,
		// then the others: to keep the order (a sidecar's limit must not
		// move it before the app), the patch names every item up to the
		// last it changes, those it does not change by their name alone.
		last := lastChanged(path, c, p)
		n := &yaml.Node{Kind: yaml.SequenceNode}
		for _, it := range p[:last+1] {
			v, err := patchOf(byName(c, nameOf(it)), it, path, true)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, v)
		}
		return n, nil
	}
	return valueNode(plan)
}

// lastChanged is the index of the last item of the list plan (at path)
// that differs from its item of cur, by name, or is new; -1 for none.
func lastChanged(path string, cur, plan []any) int {
	last := -1
	for i, it := range plan {
		if ci := byName(cur, nameOf(it)); ci == nil || !equal(path, ci, it) {
			last = i
		}
	}
	return last
}

func valueNode(v any) (*yaml.Node, error) {
	var n yaml.Node
	if err := n.Encode(v); err != nil {
		return nil, err
	}
	return &n, nil
}

// newPatch is a new patch file of the folder for the object, with the
// changed fields p: its path and text.
func (t *tracer) newPatch(obj *Object, name string, p *yaml.Node) (string, []byte, error) {
	doc := t.cur.docs[obj.id][0]
	api, _ := renderdiff.Lookup(doc, []any{"apiVersion"})
	md := &yaml.Node{Kind: yaml.MappingNode}
	md.Content = append(md.Content, str("name"), str(name))
	if obj.path != "" {
		for _, o := range t.objectsIn(obj.path) {
			if o.Kind == obj.Kind && o.Name == name && o.Namespace != "" {
				md.Content = append(md.Content, str("namespace"), str(o.Namespace))
			}
		}
	}
	if ns := t.generatorNamespace(obj, name); ns != "" {
		md.Content = append(md.Content, str("namespace"), str(ns))
	}
	root := &yaml.Node{Kind: yaml.MappingNode}
	root.Content = append(root.Content, str("apiVersion"), str(renderdiff.ScalarText(api)), str("kind"), str(obj.Kind), str("metadata"), md)
	for i := 0; i+1 < len(p.Content); i += 2 {
		if k := p.Content[i].Value; k != "apiVersion" && k != "kind" && k != "metadata" {
			root.Content = append(root.Content, p.Content[i], p.Content[i+1])
		} else if k == "metadata" {
			return "", nil, errors.New("fix changes the object's metadata, which is left to its own files")
		}
	}
	var b bytes.Buffer
	from := obj.path
	if from == "" {
		from = obj.generator
	}
	sourceFile := from
	if rel, err := filepath.Rel(t.k.root, from); err == nil && from != "" {
		from = filepath.ToSlash(rel)
	}
	fmt.Fprintf(&b, "# Written by oomdoctor fix: memory settings for %s %s (from %s).\n", obj.Kind, name, from)
	// Lists indented as in the object's own file.
	src, _ := t.text(sourceFile)
	text, err := manifest.Encode(root, src)
	if err != nil {
		return "", nil, err
	}
	b.Write(text)
	base := strings.ToLower(obj.Kind) + "-" + name + "-memory"
	for i := 1; ; i++ {
		file := base + ".yaml"
		if i > 1 {
			file = fmt.Sprintf("%s-%d.yaml", base, i)
		}
		path := filepath.Join(t.k.root, file)
		if _, taken := t.texts[path]; taken {
			continue
		}
		if _, err := os.Stat(path); err == nil {
			continue
		}
		return path, b.Bytes(), nil
	}
}

func str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: s} }

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.SortFunc(ks, func(a, b string) int {
		// name first, as Kubernetes lists write it.
		if (a == "name") != (b == "name") {
			if a == "name" {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	return ks
}

func nameOf(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	s, _ := m["name"].(string)
	return s
}

func byName(l []any, name string) any {
	for _, x := range l {
		if nameOf(x) == name {
			return x
		}
	}
	return nil
}

func lastKey(path string) string {
	parts := manifest.SplitPath(path)
	if len(parts) == 0 {
		return ""
	}
	return parts[len(parts)-1].Name
}

// equal tells whether a and b, at path, are the same to Kubernetes: 1Gi
// and 1024Mi under resources are.
func equal(path string, a, b any) bool {
	var at []any
	for _, part := range manifest.SplitPath(path) {
		at = append(at, part.Name)
	}
	return renderdiff.Equal(at, a, b) && (a == nil) == (b == nil)
}

func isString(v any) bool {
	_, ok := v.(string)
	return ok
}
