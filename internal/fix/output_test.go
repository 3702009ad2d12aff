package fix

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A manifest reached through a symbolic link is written where the link
// points, the link kept; the file keeps its mode and its owner.
func TestWriteAtomicKeepsLinksModeAndOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test gives a file to another user: run it as root (make test does)")
	}
	dir := t.TempDir()
	target := filepath.Join(dir, "base", "deploy.yaml")
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(target, []byte("old\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(target, 1234, 5678); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "deploy.yaml")
	if err := os.Symlink("base/deploy.yaml", link); err != nil {
		t.Fatal(err)
	}
	if err := WriteAtomic(link, []byte("new\n")); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced by a file: %v %v", st.Mode(), err)
	}
	st, err := os.Stat(target)
	if err != nil {
		t.Fatal(err)
	}
	uid, gid := fileOwner(st)
	if b, _ := os.ReadFile(target); string(b) != "new\n" || st.Mode().Perm() != 0o640 || uid != 1234 || gid != 5678 {
		t.Errorf("target: %q, mode %v, owner %d:%d; want new, 0640, 1234:5678", b, st.Mode().Perm(), uid, gid)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "base", ".*oomdoctor*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	// A link to nothing is an error, not a new file in the link's place.
	dangling := filepath.Join(dir, "gone.yaml")
	if err := os.Symlink("nowhere/gone.yaml", dangling); err != nil {
		t.Fatal(err)
	}
	if err := WriteAtomic(dangling, []byte("x")); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("dangling link: %v", err)
	}
	if st, err := os.Lstat(dangling); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the dangling link was replaced: %v", err)
	}
}

// A change at a file's last line gives a diff git apply takes: no empty
// context line after the last line.
func TestDiffOfTheLastLineApplies(t *testing.T) {
	r := &Result{File: "k8s/api.yaml", Original: []byte("a: 1\nb: 2\nmemory: 1Gi\n"), Fixed: []byte("a: 1\nb: 2\nmemory: 2Gi\n")}
	want := "--- a/k8s/api.yaml\n+++ b/k8s/api.yaml\n@@ -1,3 +1,3 @@\n a: 1\n b: 2\n-memory: 1Gi\n+memory: 2Gi\n"
	if got := Diff(r); got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "k8s"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "k8s/api.yaml"), r.Original, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("git", "apply", "-")
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(Diff(r))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git apply: %v\n%s", err, out)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "k8s/api.yaml")); string(got) != string(r.Fixed) {
		t.Errorf("applied: %q, want %q", got, r.Fixed)
	}
}

// A file named by its absolute path is named as git names it, without the
// leading slash, and git apply takes the diff from the root.
func TestDiffOfAnAbsolutePathApplies(t *testing.T) {
	file := filepath.Join(t.TempDir(), "api.yaml")
	r := &Result{File: file, Original: []byte("memory: 1Gi\n"), Fixed: []byte("memory: 2Gi\n")}
	if err := os.WriteFile(file, r.Original, 0o644); err != nil {
		t.Fatal(err)
	}
	d := Diff(r)
	if want := "--- a" + file + "\n"; !strings.HasPrefix(d, want) {
		t.Errorf("diff %q, want it to begin %q", d, want)
	}
	cmd := exec.Command("git", "apply", "-")
	cmd.Dir = "/"
	cmd.Stdin = strings.NewReader(d)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git apply: %v\n%s", err, out)
	}
	if got, _ := os.ReadFile(file); string(got) != string(r.Fixed) {
		t.Errorf("applied: %q, want %q", got, r.Fixed)
	}
}

// What cannot be written says why and what to do, the file named once.
func TestWriteAtomicErrors(t *testing.T) {
	dir := t.TempDir()
	for path, want := range map[string]string{
		dir: dir + " is a folder: give the name of a file to write",
		filepath.Join(dir, "missing", "out.html"): "cannot write " + filepath.Join(dir, "missing", "out.html") + ": the folder " + filepath.Join(dir, "missing") + " does not exist (create it first)",
	} {
		if err := WriteAtomic(path, []byte("x")); err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %q", path, err, want)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*oomdoctor-*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
