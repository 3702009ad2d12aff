package lint

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/oomdoctor/oomdoctor/internal/manifest"
)

// benchCorpus writes n Deployments like bench/lint's to one file.
func benchCorpus(b *testing.B, n int) string {
	b.Helper()
	tmpl, err := os.ReadFile("testdata/bench-deployment.yaml")
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	for i := 0; i < n; i++ {
		buf.WriteString("---\n")
		buf.Write(bytes.ReplaceAll(tmpl, []byte("NUM"), []byte(fmt.Sprint(i))))
	}
	path := filepath.Join(b.TempDir(), "corpus.yaml")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkLint lints 2,000 Deployments per iteration; ns/op / 2000 is the
// time per resource.
func BenchmarkLint(b *testing.B) {
	path := benchCorpus(b, 2000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := New(DefaultConfig()).Run([]string{path}, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLintFiles lints the same 2,000 Deployments, one file each.
func BenchmarkLintFiles(b *testing.B) {
	tmpl, err := os.ReadFile("testdata/bench-deployment.yaml")
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	for i := 0; i < 2000; i++ {
		doc := bytes.ReplaceAll(tmpl, []byte("NUM"), []byte(fmt.Sprint(i)))
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("d%05d.yaml", i)), doc, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		files, err := manifest.ExpandInputs([]string{dir})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := New(DefaultConfig()).Run(files, nil); err != nil {
			b.Fatal(err)
		}
	}
}
