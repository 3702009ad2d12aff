package fix

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
)

// Diff is a unified diff of a result, "" when nothing changes.
func Diff(r *Result) string {
	if !r.Changed() {
		return ""
	}
	d := difflib.UnifiedDiff{
		A:        splitLines(string(r.Original)),
		B:        splitLines(string(r.Fixed)),
		FromFile: "a/" + DiffPath(r.File),
		ToFile:   "b/" + DiffPath(r.File),
		Context:  3,
	}
	s, err := difflib.GetUnifiedDiffString(d)
	if err != nil {
		return fmt.Sprintf("(diff failed: %v)\n", err)
	}
	return s
}

// DiffPath is a file's name in a diff's header, after a/ or b/: an
// absolute path loses its leading slash, as git diff --no-index writes
// it, so that git apply (which refuses an absolute path) takes the diff
// from the root.
func DiffPath(file string) string {
	return strings.TrimLeft(filepath.ToSlash(file), "/")
}

// splitLines are a text's lines with their line ends, for the diff: a
// text that ends in a line end has no empty line after it, so that git
// apply and patch take the diff (difflib's SplitLines adds one).
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if last := len(lines) - 1; lines[last] == "" {
		lines = lines[:last]
	} else {
		lines[last] += "\n"
	}
	return lines
}

// WriteAtomic replaces (or creates) a file with data: a temporary file in
// the same folder, with the file's permissions (0644 for a new one) and,
// when it can, its owner, synced, then renamed over it, so a reader sees
// the old or the new file, never half of one. A symbolic link is followed:
// the file it points to is replaced and the link stays a link. Its
// errors name the file.
func WriteAtomic(path string, data []byte) error {
	err := writeAtomic(path, data)
	var said *writeError
	if err != nil && !errors.As(err, &said) {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return err
}

// writeError is an error of WriteAtomic's that says what to do, the
// file named.
type writeError struct{ msg string }

func (e *writeError) Error() string { return e.msg }

func writeErrorf(format string, args ...any) error {
	return &writeError{fmt.Sprintf(format, args...)}
}

func writeAtomic(path string, data []byte) (err error) {
	if st, err := os.Lstat(path); err == nil && st.Mode()&os.ModeSymlink != 0 {
		target, err := filepath.EvalSymlinks(path)
		if err != nil {
			return writeErrorf("%s is a symbolic link to a file that cannot be read: %v", path, err)
		}
		path = target
	}
	perm := os.FileMode(0o644)
	owner := -1
	var group int
	if st, err := os.Stat(path); err == nil {
		if st.IsDir() {
			return writeErrorf("%s is a folder: give the name of a file to write", path)
		}
		if err := readOnly(path, st); err != nil {
			return err
		}
		perm = st.Mode().Perm()
		owner, group = fileOwner(st)
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".oomdoctor-*")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return writeErrorf("cannot write %s: the folder %s does not exist (create it first)", path, filepath.Dir(path))
		}
		if errors.Is(err, os.ErrPermission) {
			return writeErrorf("cannot write %s: no permission to create files in %s (a file is written beside it first, then renamed over it)", path, filepath.Dir(path))
		}
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
	if owner >= 0 && (owner != os.Getuid() || group != os.Getgid()) {
		_ = tmp.Chown(owner, group) // only root may give a file away: best effort
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Writable says why WriteAtomic would not replace a file: a file whose
// owner may not write it (chmod a-w, a file kept read-only on purpose)
// is not replaced, though renaming over it would work. Nil for a file
// that does not exist yet.
func Writable(path string) error {
	st, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return readOnly(path, st)
}

// readOnly is Writable's error for a file of that mode, or nil.
func readOnly(path string, st os.FileInfo) error {
	if st.Mode().Perm()&0o200 == 0 {
		return writeErrorf("%s is read-only (mode %04o): make it writable (chmod u+w %s) to change it", path, st.Mode().Perm(), path)
	}
	return nil
}
