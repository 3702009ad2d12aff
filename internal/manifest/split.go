package manifest

import (
	"bufio"
	"bytes"
	"errors"
	"io"

	yaml "go.yaml.in/yaml/v3"
)

// chunk is one YAML document's text within a stream.
type chunk struct {
	data []byte
	// line is the stream line (1-based) data starts on.
	line int
}

// splitDocuments cuts a YAML stream into documents the way a YAML parser
// counts them: every "---" line starts one (an empty one is a null
// document); text before the first "---" is one only when it holds more
// than comments; "..." ends one. Reading and editing both count documents
// through it, so a finding's document index is the one fix edits.
func splitDocuments(r io.Reader, fn func(chunk) error) error {
	br, ok := r.(*bufio.Reader)
	if !ok {
		size := 64 << 10
		if l, ok := r.(interface{ Len() int }); ok && l.Len()+16 < size {
			size = l.Len() + 16 // small inputs, small buffers
		}
		br = bufio.NewReaderSize(r, size)
	}
	var cur []byte
	start := 1
	line := 0
	started := false // a "---" opened the current document
	ended := false   // a "..." closed it
	emit := func() error {
		if !started && !hasContent(cur) {
			return nil
		}
		c := chunk{data: cur, line: start}
		err := fn(c)
		cur = cur[:0] // parsers copy what they keep
		return err
	}
	for {
		raw, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer: gather it whole.
			long := append([]byte(nil), raw...)
			for errors.Is(err, bufio.ErrBufferFull) {
				raw, err = br.ReadSlice('\n')
				long = append(long, raw...)
			}
			raw = long
		}
		if len(raw) > 0 {
			line++
			switch marker(raw) {
			case markerStart:
				if !ended {
					if err := emit(); err != nil {
						return err
					}
				}
				cur, started, ended = cur[:0], true, false
				start = line + 1
				if rest := bytes.TrimSpace(raw[3:]); len(rest) > 0 && rest[0] != '#' {
					// "--- value": the value belongs to the document.
					cur = append(cur, raw...)
					start = line
				}
			case markerEnd:
				if !ended {
					if err := emit(); err != nil {
						return err
					}
				}
				cur, started, ended = cur[:0], false, true
				start = line + 1
			default:
				if ended && hasContent(raw) {
					return &ParseError{Line: line, Col: 1, Msg: "invalid YAML: content after the document end marker \"...\" without a new \"---\""}
				}
				if !ended {
					cur = append(cur, raw...)
				}
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
	}
	if ended {
		return nil
	}
	return emit()
}

type markerKind int

const (
	markerNone markerKind = iota
	markerStart
	markerEnd
)

// marker tells whether a line is a document marker: "---" or "..." at the
// start, followed by nothing, a space or a tab.
func marker(line []byte) markerKind {
	if len(line) < 3 {
		return markerNone
	}
	var k markerKind
	switch string(line[:3]) {
	case "---":
		k = markerStart
	case "...":
		k = markerEnd
	default:
		return markerNone
	}
	if len(line) == 3 {
		return k
	}
	switch line[3] {
	case ' ', '\t', '\n', '\r':
		return k
	}
	return markerNone
}

// hasContent tells whether text holds anything but blank and comment lines.
func hasContent(b []byte) bool {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		var l []byte
		if i < 0 {
			l, b = b, nil
		} else {
			l, b = b[:i], b[i+1:]
		}
		l = bytes.TrimLeft(l, " \t\r\ufeff")
		if len(l) > 0 && l[0] != '#' {
			return true
		}
	}
	return false
}

// parseChunk parses one document: with the fast parser when the document
// stays within block YAML's common forms, with yaml.v3 otherwise. Line
// numbers are the stream's.
func parseChunk(name string, c chunk) (*yaml.Node, error) {
	n, ok := parseFast(c.data, c.line)
	if !ok {
		var err error
		if n, err = parseSlow(name, c); err != nil {
			return nil, err
		}
	}
	if bytes.Contains(c.data, []byte("{{")) {
		if k := collectionKey(n); k != nil {
			return nil, &ParseError{File: name, Line: k.Line, Col: k.Column, Msg: "a {{ ... }} read as a YAML mapping: this is an unrendered Helm template; lint `helm template CHART | oomdoctor lint -f -` instead"}
		}
	}
	return n, nil
}

// collectionKey finds a mapping key that is itself a mapping or a list,
// which no Kubernetes object has: it is what an unrendered template's
// {{ .Values.x }} reads as (a flow mapping whose key is a flow mapping),
// though the YAML is valid.
func collectionKey(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; k.Kind == yaml.MappingNode || k.Kind == yaml.SequenceNode {
				return k
			}
		}
	}
	for _, c := range n.Content {
		if k := collectionKey(c); k != nil {
			return k
		}
	}
	return nil
}

// parseSlow parses a document with yaml.v3 and moves its lines to the
// stream's.
func parseSlow(name string, c chunk) (*yaml.Node, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(c.data))
	err := dec.Decode(&doc)
	if errors.Is(err, io.EOF) {
		// An empty document is a null one.
		return &yaml.Node{Kind: yaml.DocumentNode, Line: c.line, Column: 1,
			Content: []*yaml.Node{{Kind: yaml.ScalarNode, Tag: "!!null", Line: c.line, Column: 1}}}, nil
	}
	if err != nil {
		pe := parseError(name, err, c.data).(*ParseError)
		if pe.Line > 0 {
			pe.Line += c.line - 1
		}
		return nil, pe
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, &ParseError{File: name, Line: c.line, Msg: "invalid YAML: unexpected second document"}
	}
	shiftLines(&doc, c.line-1)
	return &doc, nil
}

func shiftLines(n *yaml.Node, by int) {
	if by == 0 {
		return
	}
	seen := map[*yaml.Node]bool{}
	var walk func(*yaml.Node)
	walk = func(n *yaml.Node) {
		if n == nil || seen[n] {
			return
		}
		seen[n] = true
		n.Line += by
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(n)
}
