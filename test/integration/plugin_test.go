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

func TestKubectlPlugin(t *testing.T) {
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "kubectl-oomdoctor"), "./cmd/oomdoctor")
	build.Dir = repoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building kubectl-oomdoctor: %v\n%s", err, out)
	}
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
