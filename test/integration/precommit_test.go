package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A real pre-commit (Debian's) installs the oomdoctor-lint hook of
// .pre-commit-hooks.yaml from this repository's HEAD, as a project's
// .pre-commit-config.yaml would name it, builds it with the Go on the
// PATH, and fails the commit on a finding in a manifest, leaving Helm
// templates alone; once the manifest is fixed, it passes.
func TestPreCommitHook(t *testing.T) {
	preCommit, err := exec.LookPath("pre-commit")
	if err != nil {
		t.Fatal("no pre-commit on the PATH: apt-get install -y pre-commit (make test does)")
	}
	root := repoRoot(t)
	head, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatalf("this repository's HEAD: %v", err)
	}
	if err := exec.Command("git", "-C", root, "cat-file", "-e", "HEAD:.pre-commit-hooks.yaml").Run(); err != nil {
		t.Fatal(".pre-commit-hooks.yaml is not in HEAD: pre-commit installs hooks from a commit, so commit it first")
	}
	modCache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}

	project := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		p := filepath.Join(project, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	deployment := func(limit string) string {
		return `apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
      - name: api
        image: registry.example/api:1
        resources:
          requests: {memory: 256Mi}
          limits: {memory: ` + limit + `}
`
	}
	write("k8s/api.yaml", deployment("512m")) // millibytes: memory-unit-mistake
	write("chart/templates/api.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n")
	write(".pre-commit-config.yaml", "repos:\n- repo: "+root+"\n  rev: "+strings.TrimSpace(string(head))+"\n  hooks:\n  - id: oomdoctor-lint\n")
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", project, "-c", "user.name=t", "-c", "user.email=t@t"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q")
	git("add", ".")
	run := func() (string, int) {
		t.Helper()
		cmd := exec.Command(preCommit, "run", "--all-files", "--color", "never")
		cmd.Dir = project
		// Its own cache; the machine's module cache, so that the hook's
		// build reads the modules already downloaded.
		cmd.Env = append(os.Environ(), "PRE_COMMIT_HOME="+filepath.Join(project, ".cache"), "GOMODCACHE="+strings.TrimSpace(string(modCache)))
		out, err := cmd.CombinedOutput()
		code := 0
		if exit, ok := err.(*exec.ExitError); ok {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatalf("pre-commit: %v\n%s", err, out)
		}
		return string(out), code
	}
	out, code := run()
	if code != 1 || !strings.Contains(out, "oomdoctor lint") || !strings.Contains(out, "Failed") ||
		!strings.Contains(out, "k8s/api.yaml:14:") || !strings.Contains(out, "memory-unit-mistake") || strings.Contains(out, "templates/api.yaml") {
		t.Fatalf("pre-commit on a manifest with 512m: exit %d\n%s", code, out)
	}
	write("k8s/api.yaml", deployment("512Mi"))
	git("add", ".")
	if out, code := run(); code != 0 || !strings.Contains(out, "Passed") {
		t.Errorf("pre-commit on the fixed manifest: exit %d\n%s", code, out)
	}
}
