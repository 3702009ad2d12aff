package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"
)

// sameNode compares what readers of the tree use: kind, tag, value, style,
// position and children.
func sameNode(a, b *yaml.Node, path string) error {
	if a.Kind != b.Kind || a.Tag != b.Tag || a.Value != b.Value || a.Line != b.Line || a.Column != b.Column || a.Style != b.Style {
		return fmt.Errorf("%s: fast %s, yaml.v3 %s", path, describeNode(a), describeNode(b))
	}
	if len(a.Content) != len(b.Content) {
		return fmt.Errorf("%s: fast has %d children, yaml.v3 %d", path, len(a.Content), len(b.Content))
	}
	for i := range a.Content {
		if err := sameNode(a.Content[i], b.Content[i], fmt.Sprintf("%s/%d", path, i)); err != nil {
			return err
		}
	}
	return nil
}

func describeNode(n *yaml.Node) string {
	return fmt.Sprintf("{kind %d tag %s value %q style %d at %d:%d}", n.Kind, n.Tag, n.Value, n.Style, n.Line, n.Column)
}

// checkStream parses every document of data both ways. It returns how many
// documents the fast parser took.
func checkStream(t testing.TB, name string, data []byte) int {
	fast := 0
	err := splitDocuments(bytes.NewReader(data), func(c chunk) error {
		f, ok := parseFast(c.data, c.line)
		if !ok {
			return nil
		}
		fast++
		s, err := parseSlow(name, c)
		if err != nil {
			return fmt.Errorf("the fast parser accepted a document yaml.v3 rejects (%v):\n%s", err, c.data)
		}
		if err := sameNode(f.Content[0], s.Content[0], "root"); err != nil {
			return fmt.Errorf("%v\nin document at line %d:\n%s", err, c.line, c.data)
		}
		return nil
	})
	var pe *ParseError
	if errors.As(err, &pe) && !yamlv3Accepts(data) {
		return fast // invalid YAML both ways
	}
	if err != nil {
		t.Errorf("%s: %v", name, err)
	}
	return fast
}

// yamlv3Accepts tells whether yaml.v3 reads the whole stream.
func yamlv3Accepts(data []byte) bool {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return true
		}
		if err != nil {
			return false
		}
	}
}

// TestFastParserAgreesWithYAMLv3 runs every manifest of the repository and
// forms that trip parsers through both parsers.
func TestFastParserAgreesWithYAMLv3(t *testing.T) {
	var files []string
	for _, root := range []string{"../../internal/lint/testdata", "../../examples/workloads", "../../deploy"} {
		_ = filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
				files = append(files, p)
			}
			return nil
		})
	}
	if len(files) < 40 {
		t.Fatalf("only %d manifests found", len(files))
	}
	total := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		total += checkStream(t, f, data)
	}
	if total < 40 {
		t.Errorf("the fast parser took only %d documents of the repository's manifests", total)
	}
	for i, doc := range trickyDocs {
		checkStream(t, fmt.Sprintf("tricky %d", i), []byte(doc))
	}
}

// trickyDocs are forms where a hand-written parser goes wrong: each must be
// parsed the same as yaml.v3, or given up on.
var trickyDocs = []string{
	"a: 1\nb: -1\nc: 0x1F\nd: 0o17\ne: 1_000\nf: 1.5e3\ng: .5\nh: 08\ni: 1e3\nj: +12\nk: 0b101\n",
	"a: true\nb: True\nc: yes\nd: ~\ne: null\nf: NULL\ng: .inf\nh: -.Inf\ni: .nan\n",
	"a: 2001-12-14\nb: 2001-12-14t21:59:43.10-05:00\nc: 2001-12-14 21:59:43.10\nd: 2001-13-40\ne: 1234-5\n",
	"a: \"x\\ty\\n\\\"q\\\"\\u00e9\\x41\"\nb: 'it''s'\nc: \"\"\nd: ''\n",
	"k: v # comment\nk2: \"v\" # c\nk3: 'v'   # c\nk4: v#not-a-comment\n",
	"m: {a: 1, b: [x, y, {c: d}], 'e': \"f\"}\nn: []\no: {}\np: [a, b,]\n",
	"- a\n- b: c\n  d: e\n-   f: g\n    h: i\n- [1, 2]\n",
	"key:\n- a\n- b\nother:\n  - c\n  - d\n",
	"a:\n  b:\n    c: d\n  e: f\ng: h\n",
	"é: ü\nname: \"ünïcödé\"\nx: [é, ü]\n",
	"a: b\n\n# comment\n\nc: d\n   # indented comment\ne: f\n",
	"a: 1\r\nb: 2\r\n",
	"url: http://example.com:8080/a?b=c\ntime: 12:30:00\nneg: -x\nkey with spaces: v\n",
	"a: 'multi\n  line'\n",
	"a: plain\n  continued\n",
	"a: |\n  block\n",
	"a: &x 1\nb: *x\n",
	"a: !!str 1\n",
	"a:\nb: 2\n",
	"- \n- a\n",
	"a: {b: 1,\n  c: 2}\n",
	"? complex\n: value\n",
	"a: b: c\n",
	"\"quoted key\": 1\n'single': 2\n",
	"a: -\n",
	"a: [a: b]\n",
	"a: x:y\nb: [x:y]\n",
	"a:    spaced   \nb:\t1\n",
	"- - a\n",
	"a: 1\n b: 2\n",
	"<<: {a: 1}\n",
	"a: \"bad \\q escape\"\n",
	"\ta: 1\n",
	"a: \"unclosed\n",
	"a: [1, 2\n",
	"a: }\n",
	"[a, b]\n",
	"just a scalar\n",
	"a: 1\nb:\n",
	"a: @x\n",
}

func FuzzFastParser(f *testing.F) {
	for _, d := range trickyDocs {
		f.Add([]byte(d))
	}
	for _, p := range []string{"../../internal/lint/testdata/bench-deployment.yaml", "../../internal/lint/testdata/rules/oom-score-adj-field/fail/container-and-pod.yaml"} {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 4096 {
			return
		}
		checkStream(t, "fuzz", data)
	})
}

// TestSplitDocumentsCountsLikeYAMLv3 holds the document count (which fix
// relies on) to yaml.v3's.
func TestSplitDocumentsCountsLikeYAMLv3(t *testing.T) {
	for _, s := range []string{
		"a: 1\n", "---\na: 1\n", "# c\n---\na: 1\n", "a: 1\n---\n", "a: 1\n---\n# only comment\n",
		"---\n---\na: 1\n", "a: 1\n...\n---\nb: 2\n", "", "# only\n", "---\n", "--- # c\na: 1\n---\nb: 2\n...\n",
		"--- {a: 1}\n--- [b]\n", "a: 1\n---   \nb: 2",
	} {
		var want int
		dec := yaml.NewDecoder(strings.NewReader(s))
		for {
			var d yaml.Node
			if err := dec.Decode(&d); err != nil {
				break
			}
			want++
		}
		got := 0
		if err := splitDocuments(strings.NewReader(s), func(c chunk) error { got++; return nil }); err != nil {
			t.Errorf("%q: %v", s, err)
		}
		if got != want {
			t.Errorf("%q: %d documents, yaml.v3 counts %d", s, got, want)
		}
	}
}
