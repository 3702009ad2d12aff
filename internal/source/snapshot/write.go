package snapshot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/oomdoctor/oomdoctor/internal/model"
)

// Writer writes a snapshot folder: one List file per kind, then the info
// file. Every file is written to a temporary name and renamed into place, so
// a reader never sees half a file, and an interrupted snapshot leaves the
// previous files whole.
type Writer struct {
	dir     string
	written map[string]int
	old     map[string]int // files of the snapshot the folder held before
}

// NewWriter prepares dir: it creates it if missing, and refuses a folder that
// holds anything but an earlier oomdoctor snapshot, so nothing of the user's
// is overwritten.
func NewWriter(dir string) (*Writer, error) {
	w := &Writer{dir: dir, written: map[string]int{}}
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("creating snapshot folder: %w", err)
		}
		return w, nil
	case err != nil:
		return nil, fmt.Errorf("snapshot folder %s: %w", dir, err)
	}
	if len(entries) == 0 {
		return w, nil
	}
	data, err := os.ReadFile(filepath.Join(dir, InfoFile))
	if err != nil {
		return nil, fmt.Errorf("snapshot folder %s is not empty and holds no earlier snapshot (%s); choose a new or empty folder", dir, InfoFile)
	}
	var info Info
	if err := json.Unmarshal(data, &info); err != nil || info.Kind != InfoKind {
		return nil, fmt.Errorf("snapshot folder %s: %s is not an oomdoctor snapshot description; choose a new or empty folder", dir, InfoFile)
	}
	w.old = info.Files
	return w, nil
}

// WriteList writes name (e.g. "pods.json") as a v1 List of the objects that
// produce emits, streaming them to disk. managedFields are dropped: they are
// large and say nothing about memory.
func (w *Writer) WriteList(name string, produce func(emit func(runtime.Object) error) error) (int, error) {
	n := 0
	err := w.atomic(name, func(f *os.File) error {
		if _, err := f.WriteString("{\n    \"apiVersion\": \"v1\",\n    \"items\": ["); err != nil {
			return err
		}
		var buf bytes.Buffer
		err := produce(func(obj runtime.Object) error {
			if m, err := meta.Accessor(obj); err == nil {
				m.SetManagedFields(nil)
			}
			raw, err := json.Marshal(obj)
			if err != nil {
				return err
			}
			buf.Reset()
			if n > 0 {
				buf.WriteByte(',')
			}
			buf.WriteString("\n        ")
			if err := json.Indent(&buf, raw, "        ", "    "); err != nil {
				return err
			}
			n++
			_, err = f.Write(buf.Bytes())
			return err
		})
		if err != nil {
			return err
		}
		end := "\n    ],\n"
		if n == 0 {
			end = "],\n"
		}
		_, err = f.WriteString(end + "    \"kind\": \"List\",\n    \"metadata\": {\n        \"resourceVersion\": \"\"\n    }\n}\n")
		return err
	})
	if err != nil {
		return 0, err
	}
	w.written[name] = n
	return n, nil
}

// Finish writes the info file last, and removes the files of an earlier
// snapshot in the folder that this one did not write again.
func (w *Writer) Finish(info Info) error {
	info.TypeMeta = metav1.TypeMeta{APIVersion: model.APIVersion, Kind: InfoKind}
	info.Files = w.written
	data, err := json.MarshalIndent(info, "", "    ")
	if err != nil {
		return err
	}
	if err := w.atomic(InfoFile, func(f *os.File) error {
		_, err := f.Write(append(data, '\n'))
		return err
	}); err != nil {
		return err
	}
	var stale []string
	for name := range w.old {
		if _, ok := w.written[name]; !ok && filepath.Base(name) == name {
			stale = append(stale, name)
		}
	}
	sort.Strings(stale)
	for _, name := range stale {
		if err := os.Remove(filepath.Join(w.dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("removing %s of the earlier snapshot: %w", name, err)
		}
	}
	return nil
}

// atomic writes a file through a temporary file in the same folder, synced
// and renamed over the target only when complete.
func (w *Writer) atomic(name string, write func(*os.File) error) (err error) {
	f, err := os.CreateTemp(w.dir, "."+name+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = f.Chmod(0o600); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if err = write(f); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if err = os.Rename(f.Name(), filepath.Join(w.dir, name)); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	return nil
}
