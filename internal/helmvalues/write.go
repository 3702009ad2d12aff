package helmvalues

import (
	"fmt"
	"sort"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/loader"

	"github.com/oomdoctor/oomdoctor/internal/manifest"
	"github.com/oomdoctor/oomdoctor/internal/renderdiff"
)

// FileChange is a values file's text before and after, with the keys set.
type FileChange struct {
	Path            string
	Original, Fixed []byte
	Assignments     []Assignment
}

// Write makes the edits in the values files: each key in the last values
// file given that sets it (a later file overrides an earlier one), a key
// none of them sets in the last one (over the chart's own value), and in
// the chart's values.yaml when no values file is given. An item of a list
// only the chart's values set is changed by writing the whole list, with
// the change, into the last values file given (helm replaces a list
// whole). The texts are edited as fix edits manifests: only the keys'
// bytes change. The chart, rendered with the new texts, must give planned
// exactly; otherwise nothing is returned to write.
func (c *Chart) Write(edits []Edit, planned []Template) ([]FileChange, error) {
	type fileEdits struct {
		keys  []Assignment
		lists []*listCopy
	}
	byFile := map[*ValuesFile]*fileEdits{}
	var order []*ValuesFile
	at := func(vf *ValuesFile) *fileEdits {
		fe, ok := byFile[vf]
		if !ok {
			fe = &fileEdits{}
			byFile[vf] = fe
			order = append(order, vf)
		}
		return fe
	}
	lists := map[string]*listCopy{}
	for _, e := range edits {
		for _, a := range e.Assignments {
			if lc, ok, err := c.listOf(a, lists); err != nil {
				return nil, err
			} else if ok {
				if lc.file == nil {
					lc.file = c.Files[len(c.Files)-1]
					at(lc.file).lists = append(at(lc.file).lists, lc)
				}
				lc.set = append(lc.set, a)
				continue
			}
			vf, err := c.fileFor(a)
			if err != nil {
				return nil, err
			}
			at(vf).keys = append(at(vf).keys, a)
		}
	}
	var out []FileChange
	newText := map[*ValuesFile][]byte{}
	for _, vf := range order {
		fe := byFile[vf]
		var lists []manifest.Edit
		as := fe.keys
		for _, lc := range fe.lists {
			items, err := lc.items()
			if err != nil {
				return nil, err
			}
			for _, it := range items {
				lists = append(lists, manifest.Edit{Op: manifest.OpAppend, Path: renderdiff.PathString(lc.path), Item: it})
			}
			as = append(as, lc.set...)
		}
		fixed, err := setKeys(vf, fe.keys, lists)
		if err != nil {
			return nil, err
		}
		newText[vf] = fixed
		out = append(out, FileChange{Path: vf.Path, Original: vf.Data, Fixed: fixed, Assignments: as})
	}
	if err := c.verify(newText, planned); err != nil {
		return nil, err
	}
	return out, nil
}

// listCopy is a list of the chart's values, copied whole into a values
// file with items of it changed.
type listCopy struct {
	path []any
	// list is the list in effect; order the keys of its items as the
	// chart's values.yaml writes them, when it does.
	list  []any
	order map[int][]string
	file  *ValuesFile
	set   []Assignment
}

// listOf says whether a is an item of a list no values file given sets,
// which must then be copied whole into the last of them.
func (c *Chart) listOf(a Assignment, lists map[string]*listCopy) (*listCopy, bool, error) {
	first := -1
	for i, p := range a.Path {
		if _, ok := p.(int); ok {
			first = i
			break
		}
	}
	if first < 0 || len(c.Files) == 0 {
		return nil, false, nil
	}
	prefix := a.Path[:first]
	for _, vf := range c.Files {
		if _, ok := renderdiff.Lookup(vf.vals, prefix); ok {
			return nil, false, nil
		}
	}
	key := renderdiff.PathString(prefix)
	if lc, ok := lists[key]; ok {
		return lc, true, nil
	}
	cv, err := util.CoalesceValues(c.chart, c.user)
	if err != nil {
		return nil, false, err
	}
	v, _ := renderdiff.Lookup(map[string]any(cv), prefix)
	list, ok := v.([]any)
	if !ok {
		return nil, false, fmt.Errorf("%s is an item of %s, which is not a list of the chart's values", a.Key(), key)
	}
	lc := &listCopy{path: prefix, list: renderdiff.Copy(list).([]any), order: map[int][]string{}}
	if c.Defaults != nil {
		lc.order = keyOrder(c.Defaults.Data, prefix)
	}
	lists[key] = lc
	return lc, true, nil
}

// items are the list's items with the changes, as mappings of scalars in
// key order.
func (lc *listCopy) items() ([][]manifest.KV, error) {
	list := renderdiff.Copy(lc.list).([]any)
	holder := map[string]any{"list": list}
	for _, a := range lc.set {
		rel := append([]any{"list"}, a.Path[len(lc.path):]...)
		if !setPath(holder, holder, rel, a.To) {
			return nil, fmt.Errorf("%s: no such item of %s", a.Key(), renderdiff.PathString(lc.path))
		}
	}
	var out [][]manifest.KV
	for i, item := range holder["list"].([]any) {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s is an item of %s, a list the chart's own values set: copy the list into %s, then run again (its item %d is not a mapping)", lc.set[0].Key(), renderdiff.PathString(lc.path), lc.file.Path, i)
		}
		keys := lc.order[i]
		if len(keys) != len(m) {
			keys = make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			sort.Slice(keys, func(a, b int) bool {
				// name first, as Kubernetes lists write it.
				if (keys[a] == "name") != (keys[b] == "name") {
					return keys[a] == "name"
				}
				return keys[a] < keys[b]
			})
		}
		var kvs []manifest.KV
		for _, k := range keys {
			v, ok := m[k]
			if !ok || !isScalar(v) {
				return nil, fmt.Errorf("%s is an item of %s, a list the chart's own values set: copy the list into %s, then run again (its item %d holds more than single values)", lc.set[0].Key(), renderdiff.PathString(lc.path), lc.file.Path, i)
			}
			kvs = append(kvs, manifest.KV{Key: k, Value: renderdiff.ScalarText(v), Plain: !isString(v)})
		}
		out = append(out, kvs)
	}
	return out, nil
}

// keyOrder gives the key order of the items of the list at p in a values
// file's text, by item.
func keyOrder(data []byte, p []any) map[int][]string {
	out := map[int][]string{}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return out
	}
	n := doc.Content[0]
	for _, part := range p {
		k, _ := part.(string)
		n = manifest.Child(n, k)
		if n == nil {
			return out
		}
	}
	for i, item := range manifest.Items(n) {
		if item.Kind != yaml.MappingNode {
			continue
		}
		for j := 0; j+1 < len(item.Content); j += 2 {
			out[i] = append(out[i], item.Content[j].Value)
		}
	}
	return out
}

// fileFor is the values file an assignment is written in.
func (c *Chart) fileFor(a Assignment) (*ValuesFile, error) {
	if v, ok := renderdiff.Lookup(c.set, a.Path); ok {
		return nil, fmt.Errorf("%s is given with --set (%v), which overrides every values file: change it there, to %s", a.Key(), v, a.To)
	}
	for i := len(c.Files) - 1; i >= 0; i-- {
		if _, ok := renderdiff.Lookup(c.Files[i].vals, a.Path); ok {
			return c.Files[i], nil
		}
	}
	for _, p := range a.Path {
		if _, ok := p.(int); ok {
			// An item of a list the chart's values set, with no values
			// file given (listOf takes the others).
			if c.Defaults != nil {
				if _, ok := renderdiff.Lookup(c.Defaults.vals, a.Path); ok {
					return c.Defaults, nil
				}
			}
			return nil, fmt.Errorf("%s is an item of a list that no values file that can be edited sets: give --values FILE, the values file to copy the list into", a.Key())
		}
	}
	if len(c.Files) > 0 {
		return c.Files[len(c.Files)-1], nil
	}
	if c.Defaults == nil {
		return nil, fmt.Errorf("the chart %s has no values.yaml that can be edited (a packaged chart): give --values FILE, the values file to write %s into", c.Dir, a.Key())
	}
	return c.Defaults, nil
}

// setKeys sets the keys in a values file's text, then appends the lists'
// items.
func setKeys(vf *ValuesFile, as []Assignment, lists []manifest.Edit) ([]byte, error) {
	if !hasMapping(vf.Data) {
		return appendBlock(vf.Data, as, lists), nil
	}
	data := blockEmpty(vf.Data, as)
	edits := make([]manifest.Edit, 0, len(as)+len(lists))
	for _, a := range as {
		edits = append(edits, manifest.Edit{Op: manifest.OpSet, Path: a.Key(), Value: a.To, Plain: a.plain()})
	}
	edits = append(edits, lists...)
	// A key an alias gives (api: {resources: *res}) is set at its anchor
	// when every key that reads it is set alike; the chart's render
	// checks the outcome.
	return manifest.ApplyEditsWith(vf.Path, data, manifest.ObjectRef{Doc: 0, Item: -1}, edits, manifest.EditOptions{ThroughAliases: true})
}

// blockEmpty turns the empty mappings `key: {}` the assignments go into
// into `key:`, which the editor then fills in block style, as values files
// are written (a chart's `resources: {}` becomes `resources:` with the
// limits under it, not `resources: {limits: {memory: 1Gi}}`).
func blockEmpty(data []byte, as []Assignment) []byte {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return data
	}
	lines := []int{0}
	for i, b := range data {
		if b == '\n' {
			lines = append(lines, i+1)
		}
	}
	cut := map[int]bool{}
	for _, a := range as {
		n := doc.Content[0]
		for _, part := range a.Path[:len(a.Path)-1] {
			k, ok := part.(string)
			if !ok {
				break
			}
			n = manifest.Child(n, k)
			if n == nil {
				break
			}
			if n.Kind == yaml.MappingNode && n.Style&yaml.FlowStyle != 0 && len(n.Content) == 0 && n.Line-1 < len(lines) {
				off := lines[n.Line-1] + n.Column - 1
				if off > 0 && off+2 <= len(data) && string(data[off-1:off+2]) == " {}" {
					cut[off-1] = true
				}
				break
			}
		}
	}
	if len(cut) == 0 {
		return data
	}
	var offs []int
	for off := range cut {
		offs = append(offs, off)
	}
	sort.Sort(sort.Reverse(sort.IntSlice(offs)))
	out := append([]byte(nil), data...)
	for _, off := range offs {
		out = append(out[:off], out[off+3:]...)
	}
	return out
}

// hasMapping tells a values file whose first document is a mapping (not
// empty or only comments).
func hasMapping(data []byte) bool {
	vals, err := loader.LoadValues(strings.NewReader(string(data)))
	return err == nil && len(vals) > 0
}

// appendBlock writes the keys and lists at the end of a values file that
// has none (empty, or comments only), as nested block mappings.
func appendBlock(data []byte, as []Assignment, lists []manifest.Edit) []byte {
	nl := "\n"
	if strings.Contains(string(data), "\r\n") {
		nl = "\r\n"
	}
	tree := map[string]any{}
	put := func(p []any, v any) {
		m := tree
		for i, part := range p {
			k := fmt.Sprint(part)
			if i == len(p)-1 {
				if l, ok := m[k].([][]manifest.KV); ok {
					v = append(l, v.([][]manifest.KV)...)
				}
				m[k] = v
				return
			}
			next, ok := m[k].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[k] = next
			}
			m = next
		}
	}
	for _, a := range as {
		put(a.Path, a)
	}
	for _, e := range lists {
		var p []any
		for _, part := range manifest.SplitPath(e.Path) {
			p = append(p, part.Name)
		}
		put(p, [][]manifest.KV{e.Item})
	}
	var b strings.Builder
	b.Write(data)
	if len(data) > 0 && !strings.HasSuffix(string(data), "\n") {
		b.WriteString(nl)
	}
	var emit func(m map[string]any, indent string)
	emit = func(m map[string]any, indent string) {
		ks := make([]string, 0, len(m))
		for k := range m {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		for _, k := range ks {
			switch v := m[k].(type) {
			case map[string]any:
				b.WriteString(indent + manifest.ScalarText(k, false) + ":" + nl)
				emit(v, indent+"  ")
			case [][]manifest.KV:
				b.WriteString(indent + manifest.ScalarText(k, false) + ":" + nl)
				for _, item := range v {
					for i, kv := range item {
						lead := indent + "    "
						if i == 0 {
							lead = indent + "  - "
						}
						b.WriteString(lead + manifest.ScalarText(kv.Key, false) + ": " + manifest.ScalarText(kv.Value, kv.Plain) + nl)
					}
				}
			default:
				a := v.(Assignment)
				b.WriteString(indent + manifest.ScalarText(k, false) + ": " + manifest.ScalarText(a.To, a.plain()) + nl)
			}
		}
	}
	emit(tree, "")
	return []byte(b.String())
}

// verify renders the chart with the values files' new texts and compares
// the render with planned.
func (c *Chart) verify(newText map[*ValuesFile][]byte, planned []Template) error {
	user := map[string]any{}
	for _, vf := range c.Files {
		text := vf.Data
		if t, ok := newText[vf]; ok {
			text = t
		}
		parsed, err := parseValues(vf.Path, text)
		if err != nil {
			return fmt.Errorf("the edit of %s does not parse: %w", vf.Path, err)
		}
		user = loader.MergeMaps(user, parsed.vals)
	}
	user = loader.MergeMaps(user, c.set)
	if c.Defaults != nil {
		if t, ok := newText[c.Defaults]; ok {
			parsed, err := parseValues(c.Defaults.Path, t)
			if err != nil {
				return fmt.Errorf("the edit of %s does not parse: %w", c.Defaults.Path, err)
			}
			old := c.chart.Values
			c.chart.Values = parsed.vals
			defer func() { c.chart.Values = old }()
		}
	}
	got, err := c.renderDocs(user)
	if err != nil {
		return fmt.Errorf("the chart does not render with the new values: %w", err)
	}
	want, err := parseRender(planned)
	if err != nil {
		return err
	}
	if c.volatile == nil {
		// Write without Trace: the values given, rendered, to compare.
		first, err := c.renderDocs(c.user)
		if err == nil {
			err = c.volatileFields(first)
		}
		if err != nil {
			return err
		}
	}
	// What differs from the plan is what Trace left (nothing, but with
	// Partial), as it was.
	if ds := c.diff(got, want); !renderdiff.Same(ds, c.left) {
		f := renderdiff.FirstOf(ds, c.left)
		return fmt.Errorf("with the values as they would be written, the chart renders %s differently from what fix planned; nothing was written (please report this)", renderdiff.Describe(got, f))
	}
	return nil
}
