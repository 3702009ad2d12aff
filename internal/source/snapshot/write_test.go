package snapshot

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func pods(names ...string) func(func(runtime.Object) error) error {
	return func(emit func(runtime.Object) error) error {
		for _, n := range names {
			p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: n, UID: "uid-" + "n",
				ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}}}
			p.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Pod"))
			if err := emit(p); err != nil {
				return err
			}
		}
		return nil
	}
}

func TestWriterRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "snap")
	w, err := NewWriter(dir)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := w.WriteList("pods.json", pods("a", "b")); err != nil || n != 2 {
		t.Fatalf("wrote %d: %v", n, err)
	}
	if _, err := w.WriteList("events.json", pods()); err != nil {
		t.Fatal(err)
	}
	at := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	if err := w.Finish(Info{CapturedAt: at, Server: "https://x"}); err != nil {
		t.Fatal(err)
	}
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Objects.Pods) != 2 || !s.AsOf().Equal(at.Time) || s.Describe().Server != "https://x" || s.Info.Files["pods.json"] != 2 {
		t.Errorf("read back %d pods, asOf %v, info %+v", len(s.Objects.Pods), s.AsOf(), s.Info)
	}
	if len(s.Objects.Pods[0].ManagedFields) != 0 {
		t.Error("managedFields were written")
	}
	st, _ := os.Stat(filepath.Join(dir, "pods.json"))
	if st.Mode().Perm() != 0o600 {
		t.Errorf("pods.json mode %v, want 0600: bundles hold pod specs", st.Mode().Perm())
	}

	// A second snapshot replaces the first and drops files it did not write.
	w, err = NewWriter(dir)
	if err != nil {
		t.Fatalf("an earlier snapshot must be replaceable: %v", err)
	}
	if _, err := w.WriteList("pods.json", pods("c")); err != nil {
		t.Fatal(err)
	}
	if err := w.Finish(Info{CapturedAt: at}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "events.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("events.json of the earlier snapshot is still there: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}

func TestWriterKeepsOldFileWhenWritingFails(t *testing.T) {
	dir := t.TempDir()
	w, err := NewWriter(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteList("pods.json", pods("a")); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "pods.json"))
	boom := errors.New("connection reset")
	_, err = w.WriteList("pods.json", func(emit func(runtime.Object) error) error {
		if err := pods("x", "y")(emit); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "pods.json"))
	if string(before) != string(after) {
		t.Error("a failed write changed the file")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}
}

func TestWriterRefusesForeignFolder(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "thesis.tex"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewWriter(dir); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("got %v", err)
	}
}
