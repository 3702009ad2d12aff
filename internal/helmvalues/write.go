package helmvalues

import (
	"fmt"
	"sort"
	"strings"

	"helm.sh/helm/v4/pkg/chart/v2/loader"

	"github.com/oomdoctor/oomdoctor/internal/manifest"
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
// the chart's values.yaml when no values file is given. The texts are
// edited as fix edits manifests: only the keys' bytes change. The chart,
// rendered with the new texts, must give planned exactly; otherwise
// nothing is returned to write.
func (c *Chart) Write(edits []Edit, planned []Template) ([]FileChange, error) {
	byFile := map[*ValuesFile][]Assignment{}
	var order []*ValuesFile
	for _, e := range edits {
		for _, a := range e.Assignments {
			vf, err := c.fileFor(a)
			if err != nil {
				return nil, err
			}
			if _, ok := byFile[vf]; !ok {
				order = append(order, vf)
			}
			byFile[vf] = append(byFile[vf], a)
		}
	}
	var out []FileChange
	newText := map[*ValuesFile][]byte{}
	for _, vf := range order {
		as := byFile[vf]
		fixed, err := setKeys(vf, as)
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

// fileFor is the values file an assignment is written in.
func (c *Chart) fileFor(a Assignment) (*ValuesFile, error) {
	for i := len(c.Files) - 1; i >= 0; i-- {
		if _, ok := lookup(c.Files[i].vals, a.Path); ok {
			return c.Files[i], nil
		}
	}
	inList := false
	for _, p := range a.Path {
		if _, ok := p.(int); ok {
			inList = true
		}
	}
	if inList {
		// Helm replaces a list whole: the item can only be changed in the
		// file that writes the list.
		if c.Defaults != nil && len(c.Files) == 0 {
			if _, ok := lookup(c.Defaults.vals, a.Path); ok {
				return c.Defaults, nil
			}
		}
		return nil, fmt.Errorf("%s is an item of a list the chart's own values set: copy the list into %s, then run again", a.Key(), c.lastFileName())
	}
	if len(c.Files) > 0 {
		return c.Files[len(c.Files)-1], nil
	}
	if c.Defaults == nil {
		return nil, fmt.Errorf("the chart %s has no values.yaml that can be edited (a packaged chart): give --values FILE, the values file to write %s into", c.Dir, a.Key())
	}
	return c.Defaults, nil
}

func (c *Chart) lastFileName() string {
	if len(c.Files) > 0 {
		return c.Files[len(c.Files)-1].Path
	}
	return "a values file given with --values"
}

// setKeys sets the keys in a values file's text.
func setKeys(vf *ValuesFile, as []Assignment) ([]byte, error) {
	if !hasMapping(vf.Data) {
		return appendBlock(vf.Data, as), nil
	}
	edits := make([]manifest.Edit, len(as))
	for i, a := range as {
		edits[i] = manifest.Edit{Op: manifest.OpSet, Path: a.Key(), Value: a.To}
	}
	return manifest.ApplyEdits(vf.Path, vf.Data, manifest.ObjectRef{Doc: 0, Item: -1}, edits)
}

// hasMapping tells a values file whose first document is a mapping (not
// empty or only comments).
func hasMapping(data []byte) bool {
	vals, err := loader.LoadValues(strings.NewReader(string(data)))
	return err == nil && len(vals) > 0
}

// appendBlock writes the keys at the end of a values file that has none
// (empty, or comments only), as nested block mappings.
func appendBlock(data []byte, as []Assignment) []byte {
	nl := "\n"
	if strings.Contains(string(data), "\r\n") {
		nl = "\r\n"
	}
	tree := map[string]any{}
	for _, a := range as {
		m := tree
		for i, p := range a.Path {
			k := fmt.Sprint(p)
			if i == len(a.Path)-1 {
				m[k] = a.To
				break
			}
			next, ok := m[k].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[k] = next
			}
			m = next
		}
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
			if sub, ok := m[k].(map[string]any); ok {
				b.WriteString(indent + manifest.ScalarText(k) + ":" + nl)
				emit(sub, indent+"  ")
				continue
			}
			b.WriteString(indent + manifest.ScalarText(k) + ": " + manifest.ScalarText(m[k].(string)) + nl)
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
	if ds := diffRenders(got, want); len(ds) > 0 {
		return fmt.Errorf("with the values as they would be written, the chart renders %s differently from what fix planned; nothing was written (please report this)", describe(got, ds[0].field))
	}
	return nil
}
