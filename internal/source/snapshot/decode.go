package snapshot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// DecodeError is a file that could not be read as Kubernetes objects, with
// the position of the problem (line and column from 1; 0 when unknown).
type DecodeError struct {
	File      string
	Line, Col int
	Msg       string
}

func (e *DecodeError) Error() string {
	switch {
	case e.Line > 0 && e.Col > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// rawObject is one object of a file before it is decoded into its type.
type rawObject struct {
	data []byte
	// line and col locate the object's start in the file; offsets inside
	// data can be located exactly when exact is true (JSON files).
	line, col int
	exact     bool
	base      int // byte offset of data in the file, when exact
	where     string
}

type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
	} `json:"metadata"`
}

// splitFile turns a file's bytes into its objects: every item of every List,
// every single object, in JSON (one or several values) or YAML (one or several
// documents).
func splitFile(file string, data []byte) ([]rawObject, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n\ufeff")
	if len(trimmed) == 0 {
		return nil, &DecodeError{File: file, Msg: "the file is empty; expected Kubernetes objects or a List (kubectl get ... -o json)"}
	}
	if trimmed[0] == '{' || trimmed[0] == '[' {
		return splitJSON(file, data)
	}
	return splitYAML(file, data)
}

// splitJSON reads one or more JSON values, keeping byte offsets so an error
// anywhere in the file points at its line and column.
func splitJSON(file string, data []byte) ([]rawObject, error) {
	var out []rawObject
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		start := skipSpace(data, int(dec.InputOffset()))
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, jsonError(file, data, start, err)
		}
		objs, err := expandJSON(file, data, start, raw)
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
	}
	return out, nil
}

// expandJSON returns the items of a List (or the elements of a bare array),
// or the value itself when it is a single object.
func expandJSON(file string, data []byte, start int, raw []byte) ([]rawObject, error) {
	one := func(off int, b []byte, where string) rawObject {
		line, col := lineCol(data, off)
		return rawObject{data: b, line: line, col: col, exact: true, base: off, where: where}
	}
	if raw[0] == '[' {
		return arrayItems(file, data, start, raw, one, "element")
	}
	if raw[0] != '{' {
		line, col := lineCol(data, start)
		return nil, &DecodeError{File: file, Line: line, Col: col, Msg: "expected a JSON object or a List"}
	}
	var tm typeMeta
	if err := json.Unmarshal(raw, &tm); err != nil {
		return nil, jsonError(file, data, start, err)
	}
	if !isList(tm.Kind) {
		return []rawObject{one(start, raw, "")}, nil
	}
	// Find the "items" array and its elements' offsets.
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // {
		return nil, jsonError(file, data, start, err)
	}
	for dec.More() {
		keyTok, err := dec.Token()
		if err != nil {
			return nil, jsonError(file, data, start, err)
		}
		valStart := skipSpace(raw, int(dec.InputOffset()))
		valStart = skipSpace(raw, skipColon(raw, valStart))
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil, jsonError(file, data, start+valStart, err)
		}
		if key, _ := keyTok.(string); key == "items" {
			if string(val) == "null" {
				return nil, nil
			}
			if val[0] != '[' {
				line, col := lineCol(data, start+valStart)
				return nil, &DecodeError{File: file, Line: line, Col: col, Msg: "\"items\" of a " + tm.Kind + " must be an array"}
			}
			return arrayItems(file, data, start+valStart, val, one, "item")
		}
	}
	return nil, nil
}

// arrayItems splits a JSON array at its elements, with their offsets.
func arrayItems(file string, data []byte, start int, raw []byte, one func(int, []byte, string) rawObject, noun string) ([]rawObject, error) {
	var out []rawObject
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // [
		return nil, jsonError(file, data, start, err)
	}
	for i := 0; dec.More(); i++ {
		off := skipSpace(raw, int(dec.InputOffset()))
		if off < len(raw) && raw[off] == ',' {
			off = skipSpace(raw, off+1)
		}
		var item json.RawMessage
		if err := dec.Decode(&item); err != nil {
			return nil, jsonError(file, data, start+off, err)
		}
		out = append(out, one(start+off, item, fmt.Sprintf("%s %d", noun, i)))
	}
	return out, nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

func skipColon(b []byte, i int) int {
	if i < len(b) && b[i] == ':' {
		return i + 1
	}
	return i
}

// lineCol converts a byte offset to a 1-based line and column.
func lineCol(data []byte, off int) (line, col int) {
	if off > len(data) {
		off = len(data)
	}
	line = 1 + bytes.Count(data[:off], []byte{'\n'})
	col = off - bytes.LastIndexByte(data[:off], '\n')
	return line, col
}

// jsonError locates a JSON error in the file. Offsets of encoding/json
// errors are relative to the value being decoded, which starts at base.
func jsonError(file string, data []byte, base int, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	off := base
	msg := err.Error()
	switch {
	case errors.As(err, &syn):
		// Offset counts the bytes read, the bad one included.
		off = base + int(syn.Offset) - 1
		msg = "invalid JSON: " + syn.Error()
	case errors.As(err, &typ):
		off = base + int(typ.Offset)
		msg = fmt.Sprintf("field %s: cannot use a JSON %s as %s", typ.Field, typ.Value, typ.Type)
	case err == io.ErrUnexpectedEOF:
		off = len(data)
		msg = "invalid JSON: the file ends in the middle of a value (truncated?)"
	}
	line, col := lineCol(data, off)
	return &DecodeError{File: file, Line: line, Col: col, Msg: msg}
}

// docSeparatorRe matches a YAML document separator line.
var docSeparatorRe = regexp.MustCompile(`^---(\s.*)?$`)

// yamlLineRe finds the line number in an error of the YAML parser.
var yamlLineRe = regexp.MustCompile(`line (\d+)`)

// splitYAML reads one or more YAML documents; each is converted to JSON, and
// a List is expanded into its items.
func splitYAML(file string, data []byte) ([]rawObject, error) {
	var out []rawObject
	lines := strings.SplitAfter(string(data), "\n")
	docStart := 1
	var doc strings.Builder
	flush := func() error {
		text := doc.String()
		doc.Reset()
		if strings.TrimSpace(stripComments(text)) == "" {
			return nil
		}
		j, err := yaml.YAMLToJSON([]byte(text))
		if err != nil {
			return yamlError(file, docStart, err)
		}
		if string(j) == "null" {
			return nil
		}
		objs, err := expandYAMLDoc(file, docStart, j)
		if err != nil {
			return err
		}
		out = append(out, objs...)
		return nil
	}
	for i, l := range lines {
		if docSeparatorRe.MatchString(strings.TrimRight(l, "\r\n")) {
			if err := flush(); err != nil {
				return nil, err
			}
			docStart = i + 2
			continue
		}
		doc.WriteString(l)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

func stripComments(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func yamlError(file string, docStart int, err error) error {
	msg := strings.TrimPrefix(err.Error(), "error converting YAML to JSON: ")
	line := docStart
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		line = docStart + n - 1
		msg = strings.Replace(msg, m[0], fmt.Sprintf("line %d", line), 1)
	}
	return &DecodeError{File: file, Line: line, Msg: "invalid YAML: " + msg}
}

func expandYAMLDoc(file string, docStart int, j []byte) ([]rawObject, error) {
	if j[0] == '[' {
		var items []json.RawMessage
		if err := json.Unmarshal(j, &items); err != nil {
			return nil, &DecodeError{File: file, Line: docStart, Msg: err.Error()}
		}
		return yamlItems(docStart, items, "element"), nil
	}
	if j[0] != '{' {
		return nil, &DecodeError{File: file, Line: docStart, Msg: "expected a Kubernetes object or a List, found a plain value"}
	}
	var tm typeMeta
	if err := json.Unmarshal(j, &tm); err != nil {
		return nil, &DecodeError{File: file, Line: docStart, Msg: err.Error()}
	}
	if !isList(tm.Kind) {
		return []rawObject{{data: j, line: docStart}}, nil
	}
	var list struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(j, &list); err != nil {
		return nil, &DecodeError{File: file, Line: docStart, Msg: "\"items\" of a " + tm.Kind + " must be an array"}
	}
	return yamlItems(docStart, list.Items, "item"), nil
}

func yamlItems(docStart int, items []json.RawMessage, noun string) []rawObject {
	out := make([]rawObject, len(items))
	for i, it := range items {
		out[i] = rawObject{data: it, line: docStart, where: fmt.Sprintf("%s %d", noun, i)}
	}
	return out
}

// isList tells a List kind ("List", "PodList", ...) from an object kind.
func isList(kind string) bool { return strings.HasSuffix(kind, "List") }

// objectError reports a problem with one object: exactly located in JSON
// files (data is the whole file), by document and item in YAML.
func objectError(file string, data []byte, o rawObject, tm typeMeta, err error) error {
	var typ *json.UnmarshalTypeError
	if o.exact && errors.As(err, &typ) {
		return jsonError(file, data, o.base, err)
	}
	var what []string
	if tm.Kind != "" {
		what = append(what, tm.Kind)
	}
	if tm.Metadata.Name != "" {
		what = append(what, strings.TrimPrefix(tm.Metadata.Namespace+"/"+tm.Metadata.Name, "/"))
	}
	name := strings.Join(what, " ")
	if o.where != "" && name != "" {
		name = o.where + " (" + name + ")"
	} else if o.where != "" {
		name = o.where
	}
	msg := err.Error()
	if errors.As(err, &typ) {
		msg = fmt.Sprintf("field %s: cannot use a JSON %s as %s", typ.Field, typ.Value, typ.Type)
	}
	if name != "" {
		msg = name + ": " + msg
	}
	return &DecodeError{File: file, Line: o.line, Col: o.col, Msg: msg}
}
