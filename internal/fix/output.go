package fix

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pmezard/go-difflib/difflib"
)

// Diff is a unified diff of a result, "" when nothing changes.
func Diff(r *Result) string {
	if !r.Changed() {
		return ""
	}
	d := difflib.UnifiedDiff{
		A:        difflib.SplitLines(string(r.Original)),
		B:        difflib.SplitLines(string(r.Fixed)),
		FromFile: "a/" + filepath.ToSlash(r.File),
		ToFile:   "b/" + filepath.ToSlash(r.File),
		Context:  3,
	}
	s, err := difflib.GetUnifiedDiffString(d)
	if err != nil {
		return fmt.Sprintf("(diff failed: %v)\n", err)
	}
	return s
}

// WriteAtomic replaces (or creates) a file with data: a temporary file in
// the same folder, with the file's permissions (0644 for a new one),
// synced, then renamed over it, so a reader sees the old or the new file,
// never half of one.
func WriteAtomic(path string, data []byte) (err error) {
	perm := os.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		perm = st.Mode().Perm()
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".oomdoctor-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Chmod(perm); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
