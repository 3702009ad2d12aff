// Package manifest reads Kubernetes manifests as YAML nodes, keeping the
// position of every field, finds the pod spec inside every workload kind,
// and edits manifests in place without disturbing what it does not change.
// lint reports positions from it; fix writes through it.
package manifest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// StdinName is how standard input ("-") is named in messages.
const StdinName = "<stdin>"

// ParseError is input that is not valid YAML or JSON, with its position.
type ParseError struct {
	File      string
	Line, Col int
	Msg       string
}

func (e *ParseError) Error() string {
	switch {
	case e.Line > 0 && e.Col > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Object is one Kubernetes object of the input: a document, or an item of
// a List document.
type Object struct {
	// File is the path it was read from, or StdinName.
	File string
	// Doc is the 0-based index of its document in the file; Item its index
	// in a List, -1 for a whole document.
	Doc, Item int
	// Node is the object's mapping node.
	Node *yaml.Node
	// Path is where Node is in its document: "" or "items[3]".
	Path       string
	APIVersion string
	Kind       string
	Name       string
	Namespace  string
}

// String names the object the way kubectl does: Kind namespace/name.
func (o *Object) String() string {
	name := o.Name
	if o.Namespace != "" {
		name = o.Namespace + "/" + name
	}
	return o.Kind + " " + name
}

// Stats counts what a read saw.
type Stats struct {
	Files     int
	Documents int
	Objects   int
	// NotObjects counts documents that are valid YAML but no Kubernetes
	// object (no kind): values files, config fragments.
	NotObjects int
}

// ExpandInputs turns the command line's inputs into files: a folder gives
// its .yaml, .yml and .json files, recursively, sorted, hidden folders left
// out; "-" stays as it is. A path that does not exist is an error.
func ExpandInputs(inputs []string) ([]string, error) {
	var out []string
	for _, in := range inputs {
		if in == "-" {
			out = append(out, in)
			continue
		}
		st, err := os.Stat(in)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, in)
			continue
		}
		var found []string
		err = filepath.WalkDir(in, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && p != in && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			if !d.IsDir() && isManifestFile(d.Name()) {
				found = append(found, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		sort.Strings(found)
		out = append(out, found...)
	}
	return out, nil
}

func isManifestFile(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return !strings.HasPrefix(name, ".")
	}
	return false
}

// Read reads the files (as ExpandInputs gives them; "-" is stdin) one at a
// time, document by document, and calls fn for every Kubernetes object. At
// most one document is held at once (a List document whole), so inputs of
// any size and number stream through. The first file that does not parse
// stops the read with a ParseError.
func Read(files []string, stdin io.Reader, stats *Stats, fn func(*Object) error) error {
	return ReadEach(files, stdin, stats, fn, nil)
}

// ReadEach is Read that goes on past a file that does not parse: it is
// given to unparsed (its documents before the one that breaks were read),
// and the next file is read. With unparsed nil it is Read.
func ReadEach(files []string, stdin io.Reader, stats *Stats, fn func(*Object) error, unparsed func(*ParseError)) error {
	if stats == nil {
		stats = &Stats{}
	}
	br := bufio.NewReaderSize(nil, 64<<10) // one buffer for every file
	for _, f := range files {
		err := readFile(f, stdin, br, stats, fn)
		var pe *ParseError
		if unparsed != nil && errors.As(err, &pe) {
			unparsed(pe)
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func readFile(path string, stdin io.Reader, br *bufio.Reader, stats *Stats, fn func(*Object) error) error {
	name := path
	var r io.Reader
	if path == "-" {
		name, r = StdinName, stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	stats.Files++
	br.Reset(r)
	return ReadStream(name, br, stats, fn)
}

// ReadStream reads one stream of YAML documents (or JSON) named name.
func ReadStream(name string, r io.Reader, stats *Stats, fn func(*Object) error) error {
	if stats == nil {
		stats = &Stats{}
	}
	doc := 0
	err := splitDocuments(r, func(c chunk) error {
		defer func() { doc++ }()
		root, err := parseChunk(name, c)
		if err != nil {
			return err
		}
		if len(root.Content) == 0 {
			return nil
		}
		stats.Documents++
		node := root.Content[0]
		if node.Kind == yaml.ScalarNode && node.Tag == "!!null" {
			return nil
		}
		objs, err := objectsOf(name, doc, node)
		if err != nil {
			return err
		}
		if len(objs) == 0 {
			stats.NotObjects++
		}
		for _, o := range objs {
			stats.Objects++
			if err := fn(o); err != nil {
				return err
			}
		}
		return nil
	})
	var pe *ParseError
	if errors.As(err, &pe) && pe.File == "" {
		pe.File = name
	}
	return err
}

// objectsOf returns the objects of a document: itself, or a List's items.
func objectsOf(file string, doc int, n *yaml.Node) ([]*Object, error) {
	if n.Kind != yaml.MappingNode {
		return nil, nil
	}
	o := newObject(file, doc, -1, n, "")
	if o.Kind == "" {
		return nil, nil
	}
	if !strings.HasSuffix(o.Kind, "List") {
		return []*Object{o}, nil
	}
	items := Child(n, "items")
	if items == nil || items.Kind != yaml.SequenceNode {
		if items != nil && !(items.Kind == yaml.ScalarNode && items.Tag == "!!null") {
			return nil, &ParseError{File: file, Line: items.Line, Col: items.Column, Msg: "\"items\" of a " + o.Kind + " must be a list"}
		}
		return nil, nil
	}
	var out []*Object
	for i, it := range items.Content {
		if it.Kind != yaml.MappingNode {
			return nil, &ParseError{File: file, Line: it.Line, Col: it.Column, Msg: fmt.Sprintf("item %d of a %s is not an object", i, o.Kind)}
		}
		if item := newObject(file, doc, i, it, fmt.Sprintf("items[%d]", i)); item.Kind != "" {
			out = append(out, item)
		}
	}
	return out, nil
}

func newObject(file string, doc, item int, n *yaml.Node, path string) *Object {
	o := &Object{File: file, Doc: doc, Item: item, Node: n, Path: path}
	o.APIVersion = ScalarValue(Child(n, "apiVersion"))
	o.Kind = ScalarValue(Child(n, "kind"))
	if md := Child(n, "metadata"); md != nil {
		o.Name = ScalarValue(Child(md, "name"))
		o.Namespace = ScalarValue(Child(md, "namespace"))
	}
	return o
}

var yamlLineRe = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseError gives a YAML error its file and line, and says so when the
// document (data) looks like an unrendered Helm template.
func parseError(file string, err error, data []byte) error {
	msg := err.Error()
	pe := &ParseError{File: file, Msg: msg}
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		pe.Line, _ = strconv.Atoi(m[1])
		pe.Msg = m[2]
	} else {
		pe.Msg = strings.TrimPrefix(msg, "yaml: ")
	}
	pe.Msg = "invalid YAML: " + pe.Msg
	if bytes.Contains(data, []byte("{{")) {
		pe.Msg += " (this looks like an unrendered Helm template: lint `helm template CHART | oomdoctor lint -f -` instead)"
	}
	return pe
}
