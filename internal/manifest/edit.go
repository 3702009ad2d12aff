package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"
)

// EditOp is what an Edit does.
type EditOp string

const (
	// OpSet sets a scalar field, creating the mappings on its path.
	OpSet EditOp = "set"
	// OpRemove removes a field (and a mapping it leaves empty).
	OpRemove EditOp = "remove"
	// OpAppend adds an item (a mapping of scalars, or a scalar: one KV
	// without a key) to a list, creating it.
	OpAppend EditOp = "append"
)

// Edit is one change to one object, by field path from the object's root.
type Edit struct {
	Op   EditOp `json:"op"`
	Path string `json:"path"`
	// Value is the scalar to set.
	Value string `json:"value,omitempty"`
	// Plain writes a Value that YAML reads as a number or a bool as it
	// is (replicas: 3), not as a string ("3").
	Plain bool `json:"plain,omitempty"`
	// Item is the mapping to append, in key order; a single KV with no
	// Key is a scalar item (a kustomization's literal: - KEY=value).
	Item []KV `json:"item,omitempty"`
	// From and To make a set a rewrite of part of the field's text: the
	// text it has when the edit is made, with From replaced by To (Value
	// is then what it gives on the text its maker read). Two such edits
	// of one field (two flags of one JAVA_TOOL_OPTIONS) both hold.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
}

// Rewrite is the value an edit sets on a field whose text is now cur:
// cur with From replaced by To for a rewrite whose From cur still holds,
// else Value.
func (e Edit) Rewrite(cur string) string {
	if e.From != "" && strings.Contains(cur, e.From) {
		return strings.Replace(cur, e.From, e.To, 1)
	}
	if f := strings.TrimSpace(e.From); e.To == "" && f != "" {
		// A flag removed with the space beside it, which another edit
		// moved: the space on its other side, or none.
		for _, from := range []string{f + " ", " " + f, f} {
			if strings.Contains(cur, from) {
				return strings.Replace(cur, from, "", 1)
			}
		}
	}
	return e.Value
}

// RewritesLast orders edits so that the rewrites of part of a field
// (From) come after the edits that set a whole field: a rewrite holds
// on whatever text it finds, a whole value does not.
func RewritesLast(edits []Edit) {
	slices.SortStableFunc(edits, func(a, b Edit) int { return RewritesAfter(a.From != "", b.From != "") })
}

// RewritesAfter orders two edits (or fixes) by whether each is a rewrite
// of part of a field: rewrites after, for a stable sort.
func RewritesAfter(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// KV is one key and scalar value of an appended item.
type KV struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	// Plain: as Edit's.
	Plain bool `json:"plain,omitempty"`
}

// EditError is an edit that cannot be made without rewriting more than the
// field: an alias, a multi-line scalar. The file is left as it was.
type EditError struct {
	File string
	Line int
	Msg  string
	// alias: the edit goes through an alias.
	alias bool
}

func (e *EditError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

// ObjectRef names an object in a file: its document and List item (-1 for
// the whole document).
type ObjectRef struct{ Doc, Item int }

// ApplyEdits makes the edits to the object ref of a file's text and returns
// the new text. Only the bytes of the fields that change are touched:
// comments, key order, indentation, quoting, line endings and the other
// documents stay as they were. Each edit is made on a fresh parse of the
// text the previous one left.
func ApplyEdits(name string, data []byte, ref ObjectRef, edits []Edit) ([]byte, error) {
	return ApplyEditsWith(name, data, ref, edits, EditOptions{})
}

// EditOptions change how ApplyEditsWith edits.
type EditOptions struct {
	// ThroughAliases edits a field reached through an alias at its
	// anchor, when the anchor is in the object; the anchor's own place
	// then counts as edited too, and every other field that reads it
	// must be edited alike. For a values file, whose anchor's place is
	// often a key no template reads (defaults: &res), checked by
	// rendering the chart.
	ThroughAliases bool
}

// ApplyEditsWith is ApplyEdits with options.
func ApplyEditsWith(name string, data []byte, ref ObjectRef, edits []Edit, opts EditOptions) ([]byte, error) {
	if len(edits) == 0 {
		return data, nil
	}
	t, err := newText(name, data)
	if err != nil {
		return nil, err
	}
	if _, err := t.object(ref); err != nil {
		return nil, err
	}
	// A document whose text YAML repeats elsewhere (an alias, a merge
	// key) is read before and after the edits; each must change its
	// own field alone, in this object and in the document's others.
	root0, prefix := t.docs[ref.Doc].Content[0], ""
	if ref.Item >= 0 {
		prefix = IndexPath("items", ref.Item)
	}
	var before any
	shared := shares(root0)
	if shared {
		before = readTree(root0)
	}
	// An edit through an alias is made last: an edit of its anchor
	// before it may have made it already.
	pending := edits
	checked := edits[:len(edits):len(edits)] // an append copies
	for pass := 0; len(pending) > 0; pass++ {
		var later []Edit
		for _, e := range pending {
			if t == nil {
				if t, err = newText(name, data); err != nil {
					return nil, editorBroke(name, err)
				}
			}
			err := t.edit(ref, e)
			var ee *EditError
			if errors.As(err, &ee) && ee.alias && pass == 0 {
				later = append(later, e)
				continue
			}
			if errors.As(err, &ee) && ee.alias && opts.ThroughAliases {
				obj, _ := t.object(ref)
				if at, ok := atAnchor(obj, e.Path); ok {
					e.Path = at
					checked = append(checked, e)
					err = t.edit(ref, e)
				}
			}
			if err != nil {
				return nil, err
			}
			if t.splice != nil {
				data, t = t.result(), nil
			}
		}
		pending = later
	}
	if shared {
		if err := verify(name, before, data, ref.Doc, prefix, checked, root0); err != nil {
			return nil, err
		}
	}
	return data, nil
}

// editorBroke is the error of an edit whose text no longer parses: the
// editor's fault, not the file's.
func editorBroke(name string, err error) error {
	return &EditError{File: name, Msg: fmt.Sprintf("an edit left text that does not parse (%v): an error of oomdoctor's editor, please report it with the file; nothing was written", err)}
}

// edit makes one edit to the object ref of a freshly parsed text.
func (t *text) edit(ref ObjectRef, e Edit) error {
	obj, err := t.object(ref)
	if err != nil {
		return err
	}
	t.plain = e.Plain
	t.json = jsonStyle(t.docs[ref.Doc].Content[0])
	switch e.Op {
	case OpSet:
		if e.From != "" {
			if n, ok := Lookup(obj, e.Path); ok && n.Kind == yaml.ScalarNode {
				return t.set(obj, e.Path, e.Rewrite(n.Value))
			}
		}
		return t.set(obj, e.Path, e.Value)
	case OpRemove:
		return t.remove(obj, e.Path)
	case OpAppend:
		return t.appendItem(obj, e.Path, e.Item)
	}
	return fmt.Errorf("unknown edit %q", e.Op)
}

// text is a file being edited: its bytes, its parsed documents, and one
// pending splice.
type text struct {
	// plain says the edit's value is written as it is (Edit.Plain).
	plain bool
	// json: the document is written as JSON (jsonStyle).
	json   bool
	name   string
	data   []byte
	lines  []int // byte offset of each line's start
	nl     string
	docs   []*yaml.Node
	splice *splice
}

type splice struct {
	start, end int
	with       string
}

func newText(name string, data []byte) (*text, error) {
	t := &text{name: name, data: data, nl: "\n"}
	if bytes.Contains(data, []byte("\r\n")) {
		t.nl = "\r\n"
	}
	t.lines = append(t.lines, 0)
	for i, b := range data {
		if b == '\n' {
			t.lines = append(t.lines, i+1)
		}
	}
	// Documents are counted as reading counts them; each is parsed by
	// yaml.v3, which keeps every detail the edits need.
	err := splitDocuments(bytes.NewReader(data), func(c chunk) error {
		doc, err := parseSlow(name, c)
		if err != nil {
			return err
		}
		t.docs = append(t.docs, doc)
		return nil
	})
	var pe *ParseError
	if errors.As(err, &pe) && pe.File == "" {
		pe.File = name
	}
	if err != nil {
		return nil, err
	}
	return t, nil
}

func (t *text) object(ref ObjectRef) (*yaml.Node, error) {
	if ref.Doc < 0 || ref.Doc >= len(t.docs) || len(t.docs[ref.Doc].Content) == 0 {
		return nil, &EditError{File: t.name, Msg: fmt.Sprintf("no document %d", ref.Doc)}
	}
	n := t.docs[ref.Doc].Content[0]
	if ref.Item < 0 {
		return n, nil
	}
	items := Items(Child(n, "items"))
	if ref.Item >= len(items) {
		return nil, &EditError{File: t.name, Msg: fmt.Sprintf("document %d has no item %d", ref.Doc, ref.Item)}
	}
	return items[ref.Item], nil
}

func (t *text) result() []byte {
	if t.splice == nil {
		return t.data
	}
	s := t.splice
	out := make([]byte, 0, len(t.data)+len(s.with))
	out = append(out, t.data[:s.start]...)
	out = append(out, s.with...)
	return append(out, t.data[s.end:]...)
}

func (t *text) replace(start, end int, with string) {
	t.splice = &splice{start: start, end: end, with: with}
}

// offset converts a 1-based line and column (in characters) to a byte offset.
func (t *text) offset(line, col int) int {
	if line < 1 {
		return 0
	}
	if line > len(t.lines) {
		return len(t.data)
	}
	off := t.lines[line-1]
	for c := 1; c < col && off < len(t.data) && t.data[off] != '\n'; c++ {
		_, size := utf8.DecodeRune(t.data[off:])
		off += size
	}
	return off
}

// lineEnd is the offset just past line's newline (or the end of the data).
func (t *text) lineEnd(line int) int {
	if line >= len(t.lines) {
		return len(t.data)
	}
	return t.lines[line]
}

// lineText is a line without its line ending.
func (t *text) lineText(line int) string {
	if line < 1 || line > len(t.lines) {
		return ""
	}
	s := string(t.data[t.lines[line-1]:t.lineEnd(line)])
	return strings.TrimRight(s, "\r\n")
}

// aliasError is errorf's error for an edit that goes through an alias.
func (t *text) aliasError(n *yaml.Node, format string, args ...any) error {
	err := t.errorf(n, format, args...).(*EditError)
	err.alias = true
	return err
}

func (t *text) errorf(n *yaml.Node, format string, args ...any) error {
	line := 0
	if n != nil {
		line = n.Line
	}
	return &EditError{File: t.name, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// step is one level of a path walk: the mapping (or sequence) and the node
// found in it.
type step struct {
	parent *yaml.Node
	key    *yaml.Node // nil for a sequence index
	value  *yaml.Node
}

// walk follows path from obj as far as it exists. It refuses to go through
// an alias: an edit there would change every place that uses the anchor.
func (t *text) walk(obj *yaml.Node, path string) ([]step, []pathPart, error) {
	parts := splitPath(path)
	var steps []step
	cur := obj
	for i, p := range parts {
		if p.name != "" {
			if cur.Kind == yaml.AliasNode {
				return nil, nil, t.aliasError(cur, "the field %s goes through the alias *%s; edit the anchor &%s or write the field out", path, cur.Value, cur.Value)
			}
			if cur.Kind != yaml.MappingNode {
				return steps, parts[i:], nil
			}
			k, v := ownKey(cur, p.name)
			if k == nil {
				return steps, parts[i:], nil
			}
			steps = append(steps, step{parent: cur, key: k, value: v})
			cur = v
		}
		if p.index >= 0 {
			if cur.Kind == yaml.AliasNode {
				return nil, nil, t.aliasError(cur, "the field %s goes through the alias *%s; edit the anchor &%s or write the field out", path, cur.Value, cur.Value)
			}
			if cur.Kind != yaml.SequenceNode || p.index >= len(cur.Content) {
				return nil, nil, t.errorf(cur, "%s: no item %d", path, p.index)
			}
			steps = append(steps, step{parent: cur, value: cur.Content[p.index]})
			cur = cur.Content[p.index]
			if i+1 < len(parts) {
				continue
			}
		}
	}
	return steps, nil, nil
}

// ownKey finds key among a mapping's own keys (not merged ones).
func ownKey(m *yaml.Node, key string) (*yaml.Node, *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Value == key && k.Tag != "!!merge" {
			return k, m.Content[i+1]
		}
	}
	return nil, nil
}

// set sets the scalar at path, creating what is missing.
func (t *text) set(obj *yaml.Node, path, value string) error {
	// Already so, as a reader reads it (through an alias, or a merge key).
	if n, ok := Lookup(obj, path); ok && n.Kind == yaml.ScalarNode && n.Tag != "!!null" && n.Value == value {
		return nil
	}
	steps, missing, err := t.walk(obj, path)
	if err != nil {
		return err
	}
	if len(missing) == 0 {
		target := steps[len(steps)-1].value
		if target.Kind == yaml.AliasNode {
			return t.aliasError(target, "%s is the alias *%s; edit the anchor &%s instead", path, target.Value, target.Value)
		}
		if target.Kind != yaml.ScalarNode || target.Tag == "!!null" && target.Value == "" {
			if target.Kind == yaml.ScalarNode {
				return t.fillEmpty(steps[len(steps)-1], nil, value)
			}
			return t.errorf(target, "%s is a %s, not a single value", path, kindName(target))
		}
		if target.Value == value {
			return nil
		}
		inFlow := obj.Style&yaml.FlowStyle != 0
		for _, st := range steps[:len(steps)-1] {
			inFlow = inFlow || st.value.Kind != yaml.ScalarNode && st.value.Style&yaml.FlowStyle != 0
		}
		return t.replaceScalar(target, value, inFlow)
	}
	for _, p := range missing {
		if p.index >= 0 {
			return t.errorf(obj, "%s: cannot create a list item", path)
		}
	}
	parent := obj
	if len(steps) > 0 {
		parent = steps[len(steps)-1].value
	}
	names := make([]string, len(missing))
	for i, p := range missing {
		names[i] = p.name
	}
	if parent.Kind == yaml.ScalarNode && parent.Tag == "!!null" && len(steps) > 0 {
		return t.fillEmpty(steps[len(steps)-1], names, value)
	}
	if parent.Kind != yaml.MappingNode {
		return t.errorf(parent, "%s: %s is a %s, not a mapping", path, strings.Join(names[:1], ""), kindName(parent))
	}
	return t.insertKeys(parent, names, value, nil)
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.AliasNode:
		return "alias"
	}
	return "value"
}

// replaceScalar rewrites a one-line scalar, keeping its quoting style, or
// the lines that change in a literal block scalar; inFlow: the scalar is
// inside a flow collection ({a: 1}, [x]).
func (t *text) replaceScalar(n *yaml.Node, value string, inFlow bool) error {
	style := n.Style &^ yaml.TaggedStyle
	if n.Style&yaml.TaggedStyle != 0 && n.Tag != "!!str" && plainTag(value) != n.Tag {
		return t.errorf(n, "the value is tagged %s, which %s is not; edit it by hand", n.Tag, value)
	}
	if style == yaml.LiteralStyle {
		return t.replaceBlockLines(n, value)
	}
	start, end, err := t.scalarSpan(n)
	if err != nil {
		return err
	}
	var with string
	switch style {
	case yaml.DoubleQuotedStyle:
		with = doubleQuote(value)
	case yaml.SingleQuotedStyle:
		with = "'" + strings.ReplaceAll(value, "'", "''") + "'"
	default:
		with = scalarText(value)
		if n.Tag != "!!str" && plainTag(value) == n.Tag {
			// A number stays a number, a bool a bool.
			with = value
		}
		if inFlow {
			with = flowText(with)
		}
		if t.json && (with != value || plainTag(value) == "!!str") {
			with = doubleQuote(value) // a string in JSON is double-quoted
		}
	}
	t.replace(start, end, with)
	return nil
}

// replaceBlockLines rewrites the lines of a literal block scalar (|) that
// differ in value, which must have as many lines: a config file's one
// setting changes, its other lines, their indentation and the chomping
// indicator stay. The block's lines follow its indicator's line, each at
// the block's indentation (an empty line may have none).
func (t *text) replaceBlockLines(n *yaml.Node, value string) error {
	refuse := func(why string) error {
		return t.errorf(n, "the value is a block scalar (|) and %s; edit it by hand", why)
	}
	was, now := strings.Split(n.Value, "\n"), strings.Split(value, "\n")
	if len(was) != len(now) {
		return refuse("the new value has another number of lines")
	}
	first, last := -1, -1
	for i := range was {
		if was[i] != now[i] {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		return nil
	}
	// Without a final newline (|-) the last line is content; with one,
	// the last element is what follows it, which no line of the file holds.
	if strings.HasSuffix(n.Value, "\n") && last == len(was)-1 {
		return refuse("the change is after its last line")
	}
	if n.Line+1+last > len(t.lines) {
		return refuse("its lines are not where it starts")
	}
	indent := -1
	for i := range was {
		if was[i] == "" {
			continue
		}
		line := t.lineText(n.Line + 1 + i)
		if !strings.HasSuffix(line, was[i]) {
			return refuse("its text is not one line of the file per line of the value")
		}
		indent = len(line) - len(was[i])
		break
	}
	if indent <= 0 {
		return refuse("its indentation is not known")
	}
	pad := strings.Repeat(" ", indent)
	for i := first; i <= last; i++ {
		line := t.lineText(n.Line + 1 + i)
		if was[i] == "" && strings.TrimSpace(line) == "" {
			continue
		}
		if line != pad+was[i] {
			return refuse("its text is not one line of the file per line of the value")
		}
	}
	for i := first; i <= last; i++ {
		if strings.ContainsAny(now[i], "\r") || i == 0 && strings.HasPrefix(now[i], " ") {
			return refuse("the new text cannot be written in it as it is")
		}
	}
	start := t.lines[n.Line+first] // the line after the indicator's, 0-based
	end := t.lines[n.Line+last] + len(t.lineText(n.Line+1+last))
	lines := make([]string, 0, last-first+1)
	for i := first; i <= last; i++ {
		if now[i] == "" {
			lines = append(lines, "")
			continue
		}
		lines = append(lines, pad+now[i])
	}
	t.replace(start, end, strings.Join(lines, t.nl))
	return nil
}

// plainTag is the tag YAML gives value written plain.
func plainTag(value string) string {
	var n yaml.Node
	if err := yaml.Unmarshal([]byte("k: "+value), &n); err != nil || len(n.Content) != 1 || len(n.Content[0].Content) != 2 {
		return ""
	}
	return n.Content[0].Content[1].Tag
}

// scalarSpan is the byte range of a scalar's text, for scalars on one line.
func (t *text) scalarSpan(n *yaml.Node) (int, int, error) {
	style := n.Style &^ yaml.TaggedStyle
	if style == yaml.LiteralStyle || style == yaml.FoldedStyle {
		return 0, 0, t.errorf(n, "the value is a block scalar (| or >); edit it by hand")
	}
	// yaml.v3 places a scalar at its properties (a tag, an anchor):
	// the value's text starts after them.
	start := t.offset(n.Line, n.Column)
	start += propertiesEnd(t.data[start:t.lineEnd(n.Line)])
	line := t.data[start:t.lineEnd(n.Line)]
	switch style {
	case yaml.DoubleQuotedStyle:
		for i := 1; i < len(line); i++ {
			switch line[i] {
			case '\\':
				i++
			case '"':
				return start, start + i + 1, nil
			}
		}
	case yaml.SingleQuotedStyle:
		for i := 1; i < len(line); i++ {
			if line[i] == '\'' {
				if i+1 < len(line) && line[i+1] == '\'' {
					i++
					continue
				}
				return start, start + i + 1, nil
			}
		}
	default:
		// A plain scalar ends at a comment, at the end of the line, or in
		// flow context at a , ] or }.
		inFlow := t.inFlow(start)
		end := 0
		for end < len(line) {
			c := line[end]
			if c == '\n' || c == '\r' {
				break
			}
			if c == '#' && end > 0 && (line[end-1] == ' ' || line[end-1] == '\t') {
				break
			}
			if inFlow && (c == ',' || c == ']' || c == '}') {
				break
			}
			end++
		}
		text := strings.TrimRight(string(line[:end]), " \t")
		if text != n.Value {
			// A plain scalar folded over several lines, or text that is
			// not the value: not a one-line edit.
			return 0, 0, t.errorf(n, "the value spans several lines; edit it by hand")
		}
		return start, start + len(text), nil
	}
	return 0, 0, t.errorf(n, "the value spans several lines; edit it by hand")
}

// propertiesEnd is how many bytes of a node's text its properties take
// (!tag, !!str, !<verbatim>, &anchor), with the blanks after them.
func propertiesEnd(text []byte) int {
	i := 0
	for i < len(text) && (text[i] == '!' || text[i] == '&') {
		if bytes.HasPrefix(text[i:], []byte("!<")) {
			end := bytes.IndexByte(text[i:], '>')
			if end < 0 {
				return i
			}
			i += end + 1
		} else {
			for i < len(text) && text[i] != ' ' && text[i] != '\t' && text[i] != '\r' && text[i] != '\n' {
				i++
			}
		}
		for i < len(text) && (text[i] == ' ' || text[i] == '\t') {
			i++
		}
	}
	return i
}

// inFlow tells whether an offset is inside a flow collection ({...} or [...]).
func (t *text) inFlow(off int) bool {
	depth := 0
	// Scan the current document back to its start is costly; flow
	// collections in manifests rarely span lines, so look at this line and
	// the ones it continues.
	lineStart := bytes.LastIndexByte(t.data[:off], '\n') + 1
	for i := lineStart; i < off; i++ {
		switch t.data[i] {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		case '"', '\'':
			q := t.data[i]
			for i++; i < off && t.data[i] != q; i++ {
			}
		case '#':
			if i == lineStart || t.data[i-1] == ' ' {
				return depth > 0
			}
		}
	}
	return depth > 0
}

// fillEmpty gives a key whose value is empty (null) the nested keys and value.
func (t *text) fillEmpty(s step, names []string, value string) error {
	if s.key == nil {
		return t.errorf(s.value, "cannot fill an empty list item")
	}
	keyStart := t.offset(s.key.Line, s.key.Column)
	lineEnd := t.lineEnd(s.key.Line)
	lineText := string(t.data[keyStart:lineEnd])
	colon := strings.Index(lineText, ":")
	if colon < 0 {
		return t.errorf(s.key, "cannot find the key's colon")
	}
	rest := strings.TrimRight(lineText[colon+1:], "\r\n")
	comment := ""
	if i := strings.Index(rest, "#"); i >= 0 {
		comment = " " + strings.TrimSpace(rest[i:])
	} else if strings.TrimSpace(rest) != "" && strings.TrimSpace(rest) != "~" && strings.TrimSpace(rest) != "null" {
		return t.errorf(s.key, "unexpected text after the key")
	}
	if len(names) == 0 {
		text := valueText(value, t.plain)
		if t.json {
			text = t.flowValue(value, t.plain)
		}
		t.replace(keyStart+colon+1, keyStart+len(strings.TrimRight(lineText, "\r\n")), " "+text+comment)
		return nil
	}
	indent := s.key.Column - 1 + t.indentStep()
	block := t.blockLines(indent, names, value)
	t.replace(keyStart+colon+1, lineEnd, comment+t.nl+block)
	return nil
}

// insertKeys adds the nested keys names (the last one set to value) to a
// mapping, as block lines after its last entry or inside its braces.
func (t *text) insertKeys(m *yaml.Node, names []string, value string, item []KV) error {
	if m.Style&yaml.FlowStyle != 0 {
		return t.insertFlow(m, names, value, item)
	}
	if len(m.Content) == 0 {
		return t.errorf(m, "cannot add to an empty block mapping")
	}
	indent := m.Content[0].Column - 1
	at := t.lineEnd(t.endLine(m))
	var block string
	if item != nil {
		block = t.blockLines(indent, names, "") // the key, then the list
		block = strings.TrimSuffix(block, t.nl)
		block = strings.TrimSuffix(block, " ") + t.nl + t.itemLines(indent+t.seqIndent(), item)
	} else {
		block = t.blockLines(indent, names, value)
	}
	if at > 0 && t.data[at-1] != '\n' {
		block = t.nl + block
	}
	t.replace(at, at, block)
	return nil
}

// blockLines writes nested keys in block style: "a:\n  b: value\n".
func (t *text) blockLines(indent int, names []string, value string) string {
	var b strings.Builder
	for i, n := range names {
		b.WriteString(strings.Repeat(" ", indent+i*t.indentStep()))
		b.WriteString(keyText(n))
		b.WriteString(":")
		if i == len(names)-1 {
			if value != "" {
				b.WriteString(" " + valueText(value, t.plain))
			} else {
				b.WriteString(" ")
			}
		}
		b.WriteString(t.nl)
	}
	return b.String()
}

// scalarItem tells an item that is one scalar, not a mapping.
func scalarItem(item []KV) bool { return len(item) == 1 && item[0].Key == "" }

// flowItem writes one list item in flow style: {a: 1, b: x}, or a scalar.
func (t *text) flowItem(item []KV) string {
	if scalarItem(item) {
		return t.flowValue(item[0].Value, item[0].Plain)
	}
	parts := make([]string, len(item))
	for i, kv := range item {
		parts[i] = t.flowKey(kv.Key) + ": " + t.flowValue(kv.Value, kv.Plain)
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// flowKey is a key written into a flow mapping: double-quoted in a JSON
// document, as JSON needs.
func (t *text) flowKey(k string) string {
	if t.json {
		return doubleQuote(k)
	}
	return flowText(keyText(k))
}

// flowValue is a value written into a flow collection: in a JSON
// document a number or a bool as it is (plain), anything else
// double-quoted.
func (t *text) flowValue(v string, plain bool) string {
	if t.json {
		if plain && valueText(v, plain) == v && plainTag(v) != "!!str" {
			return v // a number or a bool
		}
		return doubleQuote(v)
	}
	return flowText(valueText(v, plain))
}

// jsonStyle tells whether a document is written as JSON: a flow mapping
// whose first key is double-quoted. What is added to it is written so
// that it stays JSON.
func jsonStyle(root *yaml.Node) bool {
	return root != nil && root.Kind == yaml.MappingNode && root.Style&yaml.FlowStyle != 0 &&
		len(root.Content) > 0 && root.Content[0].Style&yaml.DoubleQuotedStyle != 0
}

// itemLines writes one list item of scalars in block style.
func (t *text) itemLines(dashIndent int, item []KV) string {
	if scalarItem(item) {
		return strings.Repeat(" ", dashIndent) + "- " + valueText(item[0].Value, item[0].Plain) + t.nl
	}
	var b strings.Builder
	for i, kv := range item {
		if i == 0 {
			b.WriteString(strings.Repeat(" ", dashIndent) + "- ")
		} else {
			b.WriteString(strings.Repeat(" ", dashIndent+2))
		}
		b.WriteString(keyText(kv.Key) + ": " + valueText(kv.Value, kv.Plain) + t.nl)
	}
	return b.String()
}

// insertFlow adds keys inside a flow mapping's braces.
func (t *text) insertFlow(m *yaml.Node, names []string, value string, item []KV) error {
	open := t.offset(m.Line, m.Column)
	closing, err := t.flowEnd(open)
	if err != nil {
		return t.errorf(m, "%v", err)
	}
	var inner string
	switch {
	case item != nil:
		inner = "[" + t.flowItem(item) + "]"
	default:
		inner = t.flowValue(value, t.plain)
	}
	for i := len(names) - 1; i >= 0; i-- {
		if i == len(names)-1 {
			inner = t.flowKey(names[i]) + ": " + inner
		} else {
			inner = t.flowKey(names[i]) + ": {" + inner + "}"
		}
	}
	if len(m.Content) > 0 {
		inner = ", " + inner
	}
	// Insert before the closing brace, after any space before it.
	at := closing
	for at > open+1 && (t.data[at-1] == ' ') {
		at--
	}
	t.replace(at, at, inner)
	return nil
}

// flowEnd returns the offset of the bracket closing the one at open.
func (t *text) flowEnd(open int) (int, error) {
	depth := 0
	for i := open; i < len(t.data); i++ {
		switch t.data[i] {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i, nil
			}
		case '"':
			for i++; i < len(t.data) && t.data[i] != '"'; i++ {
				if t.data[i] == '\\' {
					i++
				}
			}
		case '\'':
			for i++; i < len(t.data) && t.data[i] != '\''; i++ {
			}
		}
	}
	return 0, errors.New("unclosed flow collection")
}

// endLine is the last line a node's text occupies.
func (t *text) endLine(n *yaml.Node) int {
	switch n.Kind {
	case yaml.MappingNode, yaml.SequenceNode:
		if n.Style&yaml.FlowStyle != 0 {
			if end, err := t.flowEnd(t.offset(n.Line, n.Column)); err == nil {
				return bytes.Count(t.data[:end], []byte("\n")) + 1
			}
		}
		if len(n.Content) == 0 {
			return n.Line
		}
		return t.endLine(n.Content[len(n.Content)-1])
	case yaml.ScalarNode:
		if style := n.Style &^ yaml.TaggedStyle; style == yaml.LiteralStyle || style == yaml.FoldedStyle || strings.Contains(n.Value, "\n") {
			// The scalar continues on the lines indented deeper than
			// the line it starts on (its key's, or its dash's), blank
			// lines included.
			last := n.Line
			start := indentOf(t.lineText(n.Line))
			for l := n.Line + 1; l <= len(t.lines); l++ {
				s := t.lineText(l)
				if strings.TrimSpace(s) == "" {
					continue
				}
				if indentOf(s) <= start {
					break
				}
				last = l
			}
			return last
		}
	}
	return n.Line
}

func indentOf(s string) int {
	return len(s) - len(strings.TrimLeft(s, " ")) + 1
}

// indentStep is the file's indentation step, guessed from its first nested
// block mapping; 2 when it has none.
func (t *text) indentStep() int {
	for _, d := range t.docs {
		if step := findStep(d); step > 0 {
			return step
		}
	}
	return 2
}

func findStep(n *yaml.Node) int {
	if n.Kind == yaml.MappingNode && n.Style&yaml.FlowStyle == 0 {
		for i := 0; i+1 < len(n.Content); i += 2 {
			v := n.Content[i+1]
			if v.Kind == yaml.MappingNode && v.Style&yaml.FlowStyle == 0 && len(v.Content) > 0 && v.Line > n.Content[i].Line {
				return v.Content[0].Column - n.Content[i].Column
			}
		}
	}
	for _, c := range n.Content {
		if s := findStep(c); s > 0 {
			return s
		}
	}
	return 0
}

// seqIndent is how far the file indents a block list's dashes past its key
// (0 in kubectl's style, 2 in Helm's), from its first block list.
func (t *text) seqIndent() int {
	for _, d := range t.docs {
		if s, ok := t.findSeqIndent(d); ok {
			return s
		}
	}
	return 0
}

func (t *text) findSeqIndent(n *yaml.Node) (int, bool) {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if v.Kind == yaml.SequenceNode && v.Style&yaml.FlowStyle == 0 && len(v.Content) > 0 && v.Line > k.Line {
				return v.Column - k.Column, true
			}
		}
	}
	for _, c := range n.Content {
		if s, ok := t.findSeqIndent(c); ok {
			return s, true
		}
	}
	return 0, false
}

// remove deletes the field at path; a mapping it leaves empty goes too.
func (t *text) remove(obj *yaml.Node, path string) error {
	steps, missing, err := t.walk(obj, path)
	if err != nil {
		return err
	}
	if len(missing) > 0 || len(steps) == 0 {
		return nil // already absent
	}
	// Climb while the field is its mapping's only key.
	i := len(steps) - 1
	for i > 0 && steps[i].key != nil && len(steps[i].parent.Content) == 2 && steps[i-1].key != nil {
		i--
	}
	s := steps[i]
	if s.key == nil {
		return t.errorf(s.value, "%s: removing list items is not supported", path)
	}
	m := s.parent
	if m.Style&yaml.FlowStyle != 0 {
		return t.removeFlow(m, s)
	}
	// Comment lines right above the key describe it: they go with it.
	startLine := s.key.Line
	if s.key.HeadComment != "" {
		for l := s.key.Line - 1; l >= 1 && strings.HasPrefix(strings.TrimSpace(t.lineText(l)), "#"); l-- {
			startLine = l
		}
	}
	keyStart := t.offset(s.key.Line, s.key.Column)
	end := t.lineEnd(t.endLine(s.value))
	lineStart := t.lines[s.key.Line-1]
	if strings.TrimSpace(string(t.data[lineStart:keyStart])) != "" {
		// The key shares its line with a list dash ("- key: v"): the next
		// key moves up to take its place.
		idx := keyIndex(m, s.key)
		if idx+2 >= len(m.Content) {
			return t.errorf(s.key, "%s is the only field of its list item; remove the item by hand", path)
		}
		next := m.Content[idx+2]
		t.replace(keyStart, t.offset(next.Line, next.Column), "")
		return nil
	}
	t.replace(t.lines[startLine-1], end, "")
	return nil
}

func keyIndex(m, key *yaml.Node) int {
	for i := 0; i < len(m.Content); i += 2 {
		if m.Content[i] == key {
			return i
		}
	}
	return -1
}

// removeFlow deletes "key: value" and its comma from a flow mapping.
func (t *text) removeFlow(m *yaml.Node, s step) error {
	idx := keyIndex(m, s.key)
	start := t.offset(s.key.Line, s.key.Column)
	var end int
	if idx+2 < len(m.Content) {
		next := m.Content[idx+2]
		end = t.offset(next.Line, next.Column)
	} else {
		closing, err := t.flowEnd(t.offset(m.Line, m.Column))
		if err != nil {
			return t.errorf(m, "%v", err)
		}
		end = closing
		// Take the comma before it instead.
		for start > 0 && (t.data[start-1] == ' ' || t.data[start-1] == ',') && idx > 0 {
			start--
		}
	}
	t.replace(start, end, "")
	return nil
}

// appendItem adds a mapping of scalars to the list at path, creating it.
func (t *text) appendItem(obj *yaml.Node, path string, item []KV) error {
	if len(item) == 0 {
		return t.errorf(obj, "%s: nothing to append", path)
	}
	steps, missing, err := t.walk(obj, path)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		parent := obj
		if len(steps) > 0 {
			parent = steps[len(steps)-1].value
		}
		names := make([]string, len(missing))
		for i, p := range missing {
			names[i] = p.name
		}
		if parent.Kind != yaml.MappingNode {
			return t.errorf(parent, "%s: cannot add a list under a %s", path, kindName(parent))
		}
		return t.insertKeys(parent, names, "", item)
	}
	list := steps[len(steps)-1].value
	if list.Kind != yaml.SequenceNode {
		return t.errorf(list, "%s is a %s, not a list", path, kindName(list))
	}
	if list.Style&yaml.FlowStyle != 0 || len(list.Content) == 0 {
		open := t.offset(list.Line, list.Column)
		closing, err := t.flowEnd(open)
		if err != nil {
			return t.errorf(list, "%v", err)
		}
		inner := t.flowItem(item)
		if len(list.Content) > 0 {
			inner = ", " + inner
		}
		t.replace(closing, closing, inner)
		return nil
	}
	first := list.Content[0]
	dash := strings.LastIndex(t.lineText(first.Line)[:t.offset(first.Line, first.Column)-t.lines[first.Line-1]], "-")
	if dash < 0 {
		return t.errorf(first, "cannot find the list's dash")
	}
	at := t.lineEnd(t.endLine(list))
	block := t.itemLines(dash, item)
	if at > 0 && t.data[at-1] != '\n' {
		block = t.nl + block
	}
	t.replace(at, at, block)
	return nil
}

// scalarText writes a value plain when YAML reads it back as the same
// string, double-quoted otherwise ("true", "0x4B", "1.0", ": ", "#").
func scalarText(v string) string {
	if v == "" {
		return `""`
	}
	var n yaml.Node
	if err := yaml.Unmarshal([]byte("k: "+v), &n); err == nil && len(n.Content) == 1 && len(n.Content[0].Content) == 2 {
		val := n.Content[0].Content[1]
		if val.Kind == yaml.ScalarNode && val.Tag == "!!str" && val.Value == v && val.Style == 0 && !strings.ContainsAny(v, "\n\r\t") {
			return v
		}
	}
	return doubleQuote(v)
}

func keyText(k string) string { return scalarText(k) }

// valueText writes a value as scalarText does, or, when plain and YAML reads
// it as a number or a bool, as it is.
func valueText(v string, plain bool) string {
	if plain {
		switch plainTag(v) {
		case "!!int", "!!float", "!!bool":
			return v
		}
	}
	return scalarText(v)
}

// flowText is a scalar as written (plain or quoted) made safe inside a
// flow collection, where , [ ] { } end a plain scalar: quoted then.
func flowText(text string) string {
	if text != "" && text[0] != '"' && text[0] != '\'' && strings.ContainsAny(text, ",[]{}") {
		return doubleQuote(text)
	}
	return text
}

// doubleQuote writes a YAML double-quoted scalar.
func doubleQuote(v string) string {
	q := strconv.Quote(v)
	return q
}

// ScalarText writes a value as the editor writes it: plain when YAML reads
// it back as the same string, double-quoted otherwise; with plain, a number
// or a bool as it is (Edit.Plain).
func ScalarText(v string, plain bool) string { return valueText(v, plain) }
