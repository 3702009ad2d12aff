package manifest

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"
)

// parseFast parses a document that uses only the forms generated and
// hand-written manifests use: block mappings and sequences, one-line plain
// and quoted scalars, one-line flow collections, comments. It builds the
// same nodes yaml.v3 would (kind, tag, value, style, line, column; not
// comments), several times faster. Anything else (anchors, aliases, tags,
// block scalars, multi-line scalars or flow collections, empty values,
// tabs) makes it give up, and yaml.v3 parses the document instead; the
// differential tests hold the two to the same result.
func parseFast(data []byte, firstLine int) (node *yaml.Node, ok bool) {
	lines, ok := splitLines(data)
	if !ok {
		return nil, false
	}
	p := fastParser{lines: lines, first: firstLine}
	p.stack = make([]*yaml.Node, 0, 64)
	defer func() {
		if r := recover(); r != nil {
			if _, bail := r.(bailout); !bail {
				panic(r)
			}
			node, ok = nil, false
		}
	}()
	for _, l := range p.lines {
		if marker([]byte(l.text)) != markerNone {
			return nil, false // "--- value": yaml.v3 reads the marker
		}
	}
	p.skipBlank()
	if p.i >= len(p.lines) {
		return nil, false // empty document: let yaml.v3 say what it is
	}
	l := p.lines[p.i]
	content := p.parseNode(l.indent, l.indent)
	p.skipBlank()
	if p.i < len(p.lines) {
		p.bail() // text after the root node: yaml.v3 reports it
	}
	doc := &yaml.Node{Kind: yaml.DocumentNode, Line: content.Line, Column: content.Column, Content: []*yaml.Node{content}}
	return doc, true
}

type bailout struct{}

// printable tells whether data holds only characters YAML allows (tab,
// line breaks and printable Unicode, no byte order mark).
func printable(data []byte) bool {
	for i := 0; i < len(data); {
		c := data[i]
		if c < 0x80 {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c == 0x7f {
				return false
			}
			if c == '\r' && (i+1 == len(data) || data[i+1] != '\n') {
				return false // a lone CR breaks lines too
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			return false
		}
		ok := r == 0x85 || r >= 0xa0 && r <= 0xd7ff || r >= 0xe000 && r <= 0xfffd && r != 0xfeff || r >= 0x10000 && r <= 0x10ffff
		if !ok {
			return false
		}
		i += size
	}
	return true
}

type fastLine struct {
	text   string // without the line break
	indent int    // leading spaces
	ascii  bool
}

type fastParser struct {
	lines []fastLine
	i     int // current line
	first int // stream line of lines[0]
	// nodes is a slab the nodes are carved from, and refs one for their
	// Content slices, so a document costs a few allocations, not hundreds.
	nodes []yaml.Node
	refs  []*yaml.Node
	// stack holds the children of the collections being parsed.
	stack []*yaml.Node
}

// node returns a fresh node from the slab.
func (p *fastParser) node() *yaml.Node {
	if len(p.nodes) == cap(p.nodes) {
		p.nodes = make([]yaml.Node, 0, 2*len(p.lines)+8)
	}
	p.nodes = p.nodes[:len(p.nodes)+1]
	return &p.nodes[len(p.nodes)-1]
}

// children moves the collection's children, stack[from:], into an
// exact-size Content slice.
func (p *fastParser) children(from int) []*yaml.Node {
	n := len(p.stack) - from
	if n == 0 {
		return nil
	}
	if cap(p.refs)-len(p.refs) < n {
		p.refs = make([]*yaml.Node, 0, max(n, 2*len(p.lines)+8))
	}
	start := len(p.refs)
	p.refs = append(p.refs, p.stack[from:]...)
	p.stack = p.stack[:from]
	return p.refs[start : start+n : start+n]
}

// splitLines cuts a document into lines; false when it holds characters
// YAML does not allow, or a lone CR.
func splitLines(data []byte) ([]fastLine, bool) {
	s := string(data)
	n := strings.Count(s, "\n") + 1
	out := make([]fastLine, 0, n)
	for len(s) > 0 {
		i := strings.IndexByte(s, '\n')
		var l string
		if i < 0 {
			l, s = s, ""
		} else {
			l, s = s[:i], s[i+1:]
		}
		l = strings.TrimSuffix(l, "\r")
		ind := 0
		for ind < len(l) && l[ind] == ' ' {
			ind++
		}
		ascii := true
		for j := 0; j < len(l); j++ {
			c := l[j]
			if c >= 0x80 {
				ascii = false
				break
			}
			if c < 0x20 && c != '\t' || c == 0x7f {
				return nil, false // control characters, a lone CR
			}
		}
		if !ascii && !printable([]byte(l)) {
			return nil, false
		}
		out = append(out, fastLine{text: l, indent: ind, ascii: ascii})
	}
	return out, true
}

func (p *fastParser) bail() { panic(bailout{}) }

// blank tells whether a line holds only spaces or a comment.
func blank(l fastLine) bool {
	return l.indent == len(l.text) || l.text[l.indent] == '#'
}

func (p *fastParser) skipBlank() {
	for p.i < len(p.lines) {
		l := p.lines[p.i]
		if strings.HasPrefix(l.text[l.indent:], "\t") {
			p.bail() // a tab in the indentation
		}
		if !blank(l) {
			return
		}
		p.i++
	}
}

// col converts a byte offset on line i to yaml.v3's 1-based column
// (characters).
func (p *fastParser) col(i, off int) int {
	l := p.lines[i]
	if l.ascii {
		return off + 1
	}
	return utf8.RuneCountInString(l.text[:off]) + 1
}

func (p *fastParser) line(i int) int { return p.first + i }

// parseNode parses the node starting at byte offset off of the current line
// (a block sequence, a block mapping or an inline value), whose parent's
// indentation is parentIndent.
func (p *fastParser) parseNode(off, parentIndent int) *yaml.Node {
	l := p.lines[p.i]
	rest := l.text[off:]
	switch {
	case rest == "-" || strings.HasPrefix(rest, "- "):
		return p.parseSequence(off)
	case isKeyStart(rest):
		return p.parseMapping(off)
	}
	n := p.parseInline(p.i, off, false)
	p.i++
	p.noContinuation(parentIndent)
	return n
}

// noContinuation gives up when the next line is indented deeper than the
// parent of a one-line value: a multi-line scalar (or an error).
func (p *fastParser) noContinuation(parentIndent int) {
	for j := p.i; j < len(p.lines); j++ {
		if blank(p.lines[j]) {
			continue
		}
		if p.lines[j].indent > parentIndent {
			p.bail()
		}
		return
	}
}

// isKeyStart tells whether text starts with "key:" followed by a space or
// the end of the line (a plain or quoted key).
func isKeyStart(text string) bool {
	_, _, ok := splitKey(text)
	return ok
}

// splitKey finds the colon ending a mapping key at the start of text. It
// returns the key's length and the offset after the colon.
func splitKey(text string) (keyLen, after int, ok bool) {
	if text == "" {
		return 0, 0, false
	}
	switch text[0] {
	case '"', '\'':
		end := quotedEnd(text)
		if end < 0 || end >= len(text) || text[end] != ':' {
			return 0, 0, false
		}
		if end+1 < len(text) && text[end+1] != ' ' {
			return 0, 0, false
		}
		return end, end + 1, true
	}
	if !plainStart(text, false) {
		return 0, 0, false
	}
	for i := 0; i < len(text); i++ {
		switch text[i] {
		case ':':
			if i+1 == len(text) || text[i+1] == ' ' {
				return i, i + 1, true
			}
		case '#':
			if i > 0 && text[i-1] == ' ' {
				return 0, 0, false
			}
		}
	}
	return 0, 0, false
}

// plainStart tells whether a plain scalar may start text: not with an
// indicator, except - ? : followed by a character that is no space (and,
// in a flow collection, no flow indicator).
func plainStart(text string, inFlow bool) bool {
	switch text[0] {
	case ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`', ' ':
		return false
	case '-', '?', ':':
		if len(text) == 1 || text[1] == ' ' {
			return false
		}
		if inFlow && (text[0] == ':' || strings.IndexByte(",[]{}", text[1]) >= 0) {
			return false
		}
	}
	return true
}

// quotedEnd returns the offset just past the closing quote of a quoted
// scalar at the start of text, or -1 when it does not close on this line.
func quotedEnd(text string) int {
	q := text[0]
	for i := 1; i < len(text); i++ {
		switch {
		case q == '"' && text[i] == '\\':
			i++
		case text[i] == q:
			if q == '\'' && i+1 < len(text) && text[i+1] == '\'' {
				i++
				continue
			}
			return i + 1
		}
	}
	return -1
}

func (p *fastParser) parseSequence(off int) *yaml.Node {
	seq := p.node()
	*seq = yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: p.line(p.i), Column: p.col(p.i, off)}
	from := len(p.stack)
	defer func() { seq.Content = p.children(from) }()
	for {
		l := p.lines[p.i]
		rest := l.text[off:]
		if rest == "-" {
			p.bail() // an item on the following lines, or a null item
		}
		// The item starts after "- " and any more spaces.
		item := off + 2
		for item < len(l.text) && l.text[item] == ' ' {
			item++
		}
		if item >= len(l.text) || l.text[item] == '#' {
			p.bail()
		}
		r := l.text[item:]
		var n *yaml.Node
		switch {
		case r == "-" || strings.HasPrefix(r, "- "):
			p.bail() // a sequence in a sequence on one line
		case isKeyStart(r):
			n = p.parseMapping(item)
		default:
			n = p.parseInline(p.i, item, false)
			p.i++
			p.noContinuation(off)
		}
		p.stack = append(p.stack, n)
		p.skipBlank()
		if p.i >= len(p.lines) {
			return seq
		}
		next := p.lines[p.i]
		if next.indent < off {
			return seq
		}
		if next.indent > off || !(next.text[off:] == "-" || strings.HasPrefix(next.text[off:], "- ")) {
			if next.indent == off {
				return seq // a key of the enclosing mapping at the same indentation
			}
			p.bail()
		}
	}
}

// parseMapping parses a block mapping whose first key starts at byte offset
// off of the current line; the following keys are on lines indented to off.
func (p *fastParser) parseMapping(off int) *yaml.Node {
	m := p.node()
	*m = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: p.line(p.i), Column: p.col(p.i, off)}
	from := len(p.stack)
	defer func() { m.Content = p.children(from) }()
	first := true
	for {
		l := p.lines[p.i]
		if !first && l.indent != off {
			p.bail()
		}
		first = false
		text := l.text[off:]
		keyLen, after, ok := splitKey(text)
		if !ok || keyLen > 1000 {
			p.bail() // YAML caps implicit keys at 1024 characters
		}
		key := p.scalar(p.i, off, strings.TrimRight(text[:keyLen], " "), true)
		rest := strings.TrimLeft(text[after:], " ")
		valOff := off + len(text) - len(rest)
		var val *yaml.Node
		if rest == "" || rest[0] == '#' {
			// The value is a block on the next lines: deeper, or a
			// sequence at the key's own indentation.
			p.i++
			p.skipBlank()
			if p.i >= len(p.lines) {
				p.bail() // an empty value at the end: yaml.v3 places the null
			}
			next := p.lines[p.i]
			switch {
			case next.indent > off:
				val = p.parseNode(next.indent, off)
			case next.indent == off && (next.text[off:] == "-" || strings.HasPrefix(next.text[off:], "- ")):
				val = p.parseSequence(off)
			default:
				p.bail() // an empty value: yaml.v3 places the null
			}
		} else {
			val = p.parseInline(p.i, valOff, false)
			p.i++
			p.noContinuation(off)
		}
		if key.Tag == "!!merge" {
			p.bail() // merge keys bring aliases
		}
		p.stack = append(p.stack, key, val)
		p.skipBlank()
		if p.i >= len(p.lines) {
			return m
		}
		next := p.lines[p.i]
		if next.indent < off {
			return m
		}
		if next.indent == off {
			t := next.text[off:]
			if t == "-" || strings.HasPrefix(t, "- ") {
				return m // the next item of the enclosing sequence
			}
			continue
		}
		p.bail()
	}
}

// parseInline parses a one-line value at byte offset off of line i: a
// quoted or plain scalar, or a flow collection. inFlow is set inside a
// flow collection, where , ] and } end plain scalars.
func (p *fastParser) parseInline(i, off int, inFlow bool) *yaml.Node {
	text := p.lines[i].text
	rest := text[off:]
	var n *yaml.Node
	var end int
	switch rest[0] {
	case '{', '[':
		n, end = p.parseFlow(i, off)
	case '"', '\'':
		e := quotedEnd(rest)
		if e < 0 {
			p.bail()
		}
		n = p.scalar(i, off, rest[:e], false)
		end = off + e
	default:
		if !plainStart(rest, false) {
			p.bail()
		}
		e := len(rest)
		for j := 0; j < len(rest); j++ {
			c := rest[j]
			if c == '#' && j > 0 && rest[j-1] == ' ' {
				e = j
				break
			}
			if c == ':' && (j+1 == len(rest) || rest[j+1] == ' ') {
				p.bail() // "a: b: c" or a key in a flow: not a plain value
			}
		}
		v := strings.TrimRight(rest[:e], " ")
		n = p.scalar(i, off, v, false)
		end = off + len(v)
	}
	if !inFlow {
		// Only spaces and a comment may follow.
		tail := strings.TrimLeft(text[end:], " ")
		if tail != "" && tail[0] != '#' {
			p.bail()
		}
		if tail != "" && end < len(text) && text[end] != ' ' {
			p.bail() // "x#y" is no comment
		}
	}
	return n
}

// scalar makes a scalar node from its text as written (quotes included).
func (p *fastParser) scalar(i, off int, text string, key bool) *yaml.Node {
	if text == "" {
		p.bail() // an empty key or value: yaml.v3 places the null
	}
	n := p.node()
	n.Kind, n.Line, n.Column = yaml.ScalarNode, p.line(i), p.col(i, off)
	switch text[0] {
	case '"':
		v, ok := unescapeDouble(text[1 : len(text)-1])
		if !ok {
			p.bail()
		}
		n.Value, n.Tag, n.Style = v, "!!str", yaml.DoubleQuotedStyle
	case '\'':
		n.Value, n.Tag, n.Style = strings.ReplaceAll(text[1:len(text)-1], "''", "'"), "!!str", yaml.SingleQuotedStyle
	default:
		if strings.ContainsAny(text, "\t") {
			p.bail()
		}
		n.Value = text
		n.Tag = resolveTag(text)
	}
	return n
}

// parseFlow parses a flow collection that closes on line i; it returns the
// node and the offset after the closing bracket.
func (p *fastParser) parseFlow(i, off int) (*yaml.Node, int) {
	text := p.lines[i].text
	open := text[off]
	n := p.node()
	n.Line, n.Column, n.Style = p.line(i), p.col(i, off), yaml.FlowStyle
	from := len(p.stack)
	defer func() { n.Content = p.children(from) }()
	closing := byte(']')
	if open == '{' {
		n.Kind, n.Tag, closing = yaml.MappingNode, "!!map", '}'
	} else {
		n.Kind, n.Tag = yaml.SequenceNode, "!!seq"
	}
	j := skipSpaces(text, off+1)
	if j < len(text) && text[j] == closing {
		return n, j + 1
	}
	for {
		if j >= len(text) {
			p.bail() // continues on the next line
		}
		if open == '{' {
			key, after := p.flowScalar(i, j, true)
			if after-j > 1000 {
				p.bail()
			}
			j = skipSpaces(text, after)
			if j >= len(text) || text[j] != ':' {
				p.bail() // a key without a value
			}
			j = skipSpaces(text, j+1)
			if j >= len(text) || text[j] == ',' || text[j] == '}' {
				p.bail() // an empty value
			}
			var val *yaml.Node
			val, j = p.flowValue(i, j)
			if key.Tag == "!!merge" {
				p.bail()
			}
			p.stack = append(p.stack, key, val)
		} else {
			var val *yaml.Node
			val, j = p.flowValue(i, j)
			p.stack = append(p.stack, val)
		}
		j = skipSpaces(text, j)
		if j >= len(text) {
			p.bail()
		}
		switch text[j] {
		case ',':
			j = skipSpaces(text, j+1)
			if j < len(text) && text[j] == closing {
				return n, j + 1 // a trailing comma
			}
		case closing:
			return n, j + 1
		default:
			p.bail()
		}
	}
}

func (p *fastParser) flowValue(i, j int) (*yaml.Node, int) {
	text := p.lines[i].text
	if j < len(text) && (text[j] == '{' || text[j] == '[') {
		return p.parseFlow(i, j)
	}
	return p.flowScalar(i, j, false)
}

// flowScalar parses a scalar inside a flow collection; a plain one ends at
// , [ ] { } or ": " (and, for a key, at ":").
func (p *fastParser) flowScalar(i, j int, key bool) (*yaml.Node, int) {
	text := p.lines[i].text
	if j >= len(text) {
		p.bail()
	}
	switch text[j] {
	case '"', '\'':
		e := quotedEnd(text[j:])
		if e < 0 {
			p.bail()
		}
		return p.scalar(i, j, text[j:j+e], key), j + e
	}
	if !plainStart(text[j:], true) {
		p.bail()
	}
	e := j
	for e < len(text) {
		c := text[e]
		if c == ',' || c == ']' || c == '}' || c == '[' || c == '{' {
			break
		}
		if c == ':' && (e+1 == len(text) || text[e+1] == ' ' || text[e+1] == ',' || text[e+1] == ']' || text[e+1] == '}') {
			break
		}
		if !flowSafe(c) {
			p.bail() // libyaml has quirks with the others in flow collections
		}
		e++
	}
	v := strings.TrimRight(text[j:e], " ")
	if v == "" {
		p.bail()
	}
	return p.scalar(i, j, v, key), j + len(v)
}

// flowSafe tells whether a character may appear in a plain scalar inside a
// flow collection without asking yaml.v3: letters, digits, and . _ / = + -
// @ ~ $ ( ) * and spaces; any byte of a multi-byte character.
func flowSafe(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c >= 0x80:
		return true
	}
	return strings.IndexByte(" ._/=+-@~$()*", c) >= 0
}

func skipSpaces(s string, i int) int {
	for i < len(s) && s[i] == ' ' {
		i++
	}
	return i
}

// unescapeDouble undoes a double-quoted scalar's escapes; false for an
// escape it does not know (yaml.v3 then decides).
func unescapeDouble(s string) (string, bool) {
	if !strings.Contains(s, `\`) {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(s) {
			return "", false
		}
		switch s[i] {
		case '\\', '"':
			b.WriteByte(s[i])
		case 'n':
			b.WriteByte('\n')
		case 't', '\t':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case '0':
			b.WriteByte(0)
		case ' ':
			b.WriteByte(' ')
		case 'x', 'u', 'U':
			width := map[byte]int{'x': 2, 'u': 4, 'U': 8}[s[i]]
			if i+1+width > len(s) {
				return "", false
			}
			v, err := strconv.ParseUint(s[i+1:i+1+width], 16, 32)
			if err != nil {
				return "", false
			}
			b.WriteRune(rune(v))
			i += width
		default:
			return "", false
		}
	}
	return b.String(), true
}

// resolveTag gives a plain scalar the tag of YAML 1.2's core schema, as
// yaml.v3 resolves it: null, bool, int (decimal, 0x, 0o, 0b, with _),
// float, timestamp, merge, or str.
func resolveTag(v string) string {
	switch v {
	case "", "~", "null", "Null", "NULL":
		return "!!null"
	case "true", "True", "TRUE", "false", "False", "FALSE":
		return "!!bool"
	case ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF":
		return "!!float"
	case "<<":
		return "!!merge"
	}
	c := v[0]
	switch {
	case c == '.':
		if _, err := strconv.ParseFloat(v, 64); err == nil {
			return "!!float"
		}
		return "!!str"
	case c >= '0' && c <= '9' || c == '-' || c == '+':
	default:
		return "!!str"
	}
	if isTimestamp(v) {
		return "!!timestamp"
	}
	plain := strings.ReplaceAll(v, "_", "")
	if _, err := strconv.ParseInt(plain, 0, 64); err == nil {
		return "!!int"
	}
	if _, err := strconv.ParseUint(plain, 0, 64); err == nil {
		return "!!int"
	}
	if isYAMLFloat(plain) {
		if _, err := strconv.ParseFloat(plain, 64); err == nil {
			return "!!float"
		}
	}
	for _, prefix := range []string{"0b", "-0b", "0o", "-0o"} {
		if strings.HasPrefix(plain, prefix) {
			base := 2
			if strings.Contains(prefix, "o") {
				base = 8
			}
			digits := strings.TrimPrefix(plain, prefix)
			if strings.HasPrefix(prefix, "-") {
				digits = "-" + digits
			}
			if _, err := strconv.ParseInt(digits, base, 64); err == nil {
				return "!!int"
			}
			if _, err := strconv.ParseUint(digits, base, 64); err == nil {
				return "!!int"
			}
		}
	}
	return "!!str"
}

// isYAMLFloat matches [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
func isYAMLFloat(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	} else {
		if digits() == 0 {
			return false
		}
		if i < len(s) && s[i] == '.' {
			i++
			digits()
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '-' || s[i] == '+') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// timestampLayouts are the forms YAML's timestamp type allows.
var timestampLayouts = []string{
	"2006-1-2T15:4:5.999999999Z07:00",
	"2006-1-2t15:4:5.999999999Z07:00",
	"2006-1-2 15:4:5.999999999",
	"2006-1-2",
}

// isTimestamp tells a YAML timestamp: four digits, a dash, then one of the
// layouts.
func isTimestamp(v string) bool {
	if len(v) < 5 || v[4] != '-' {
		return false
	}
	for k := 0; k < 4; k++ {
		if v[k] < '0' || v[k] > '9' {
			return false
		}
	}
	for _, layout := range timestampLayouts {
		if _, err := time.Parse(layout, v); err == nil {
			return true
		}
	}
	return false
}
