package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/oomdoctor/oomdoctor/test/cluster"
)

func kubectlBinary(t *testing.T) string {
	t.Helper()
	p, err := cluster.Binary("kubectl")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func runCmd(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, &cmdError{err: err, stderr: stderr.String()}
	}
	return out, nil
}

type cmdError struct {
	err    error
	stderr string
}

func (e *cmdError) Error() string { return e.err.Error() + ": " + e.stderr }

func repoRoot(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// buildPlugin builds kubectl-oomdoctor into a new folder, and returns it.
func buildPlugin(t *testing.T) string {
	t.Helper()
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "kubectl-oomdoctor"), "./cmd/oomdoctor")
	build.Dir = repoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building kubectl-oomdoctor: %v\n%s", err, out)
	}
	return bin
}

func TestKubectlPlugin(t *testing.T) {
	bin := buildPlugin(t)
	kubectl := kubectlBinary(t)
	env := append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))

	list := exec.Command(kubectl, "plugin", "list")
	list.Env = env
	out, _ := list.CombinedOutput()
	if !strings.Contains(string(out), filepath.Join(bin, "kubectl-oomdoctor")) {
		t.Errorf("kubectl plugin list does not find kubectl-oomdoctor:\n%s", out)
	}

	scan := exec.Command(kubectl, "oomdoctor", "scan", "--kubeconfig", cp.Kubeconfig, "-n", "shop")
	scan.Env = env
	out, err := scan.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl oomdoctor scan: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "Deployment/cart") || !strings.Contains(string(out), "StatefulSet/redis") {
		t.Errorf("kubectl oomdoctor scan -n shop:\n%s", out)
	}

	help := exec.Command(kubectl, "oomdoctor", "scan", "--help")
	help.Env = env
	out, _ = help.CombinedOutput()
	if !strings.Contains(string(out), "kubectl oomdoctor scan") {
		t.Errorf("help run as a plugin should say `kubectl oomdoctor scan`:\n%s", out)
	}
}

// A real kubectl completes `kubectl oomdoctor ...` through
// kubectl_complete-oomdoctor (the binary under that name, as make install
// links it), which reads the names from the API server.
func TestKubectlCompletesThePluginFromTheCluster(t *testing.T) {
	bin := buildPlugin(t)
	if err := os.Symlink("kubectl-oomdoctor", filepath.Join(bin, "kubectl_complete-oomdoctor")); err != nil {
		t.Fatal(err)
	}
	kubectl := kubectlBinary(t)
	env := append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	complete := func(words ...string) []string {
		t.Helper()
		cmd := exec.Command(kubectl, append([]string{"__complete", "oomdoctor"}, words...)...)
		cmd.Env = env
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("kubectl __complete oomdoctor %q: %v", words, err)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if last := lines[len(lines)-1]; last != ":4" {
			t.Errorf("kubectl __complete oomdoctor %q: directive %q, want :4 (no file names)", words, last)
		}
		return lines[:len(lines)-1]
	}
	k := "--kubeconfig=" + cp.Kubeconfig
	for _, tc := range []struct {
		words []string
		want  []string
	}{
		{[]string{"explain", k, "-n", "shop", "cart-"}, []string{"cart-7c9d8f6b5-m8zvt", "cart-7c9d8f6b5-x2kqp"}},
		{[]string{"explain", k, "-n", "shop", "cart-7c9d8f6b5-x2kqp/"}, []string{"cart-7c9d8f6b5-x2kqp/cart", "cart-7c9d8f6b5-x2kqp/envoy"}},
		{[]string{"explain", k, "-n", "shop", "deploy/c"}, []string{"deploy/cart"}},
		{[]string{"scan", k, "-n", "pay"}, []string{"payments"}},
		{[]string{"fix", k, "-n", "shop", "--apply", "--memory-limit", "1Gi", "sts/"}, []string{"sts/redis"}},
		{[]string{"recommend", k, "-n", "payments", "cronjob/"}, []string{"cronjob/nightly-reconcile"}},
	} {
		if got := complete(tc.words...); strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("kubectl __complete oomdoctor %q: offered %q, want %q", tc.words, got, tc.want)
		}
	}
	nodes := complete("node", k, "")
	if len(nodes) == 0 {
		t.Error("no node names offered")
	}
}
