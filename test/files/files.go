// Package files holds the tests' helpers for files: copies of testdata
// folders that a test may write into.
package files

import (
	"os"
	"path/filepath"
	"testing"
)

// Copy copies the folder src, and all under it, into dst (made if need
// be); a failure fails the test.
func Copy(tb testing.TB, src, dst string) {
	tb.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		tb.Fatalf("copying %s: %v", src, err)
	}
}
