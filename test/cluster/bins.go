// Package cluster starts real Kubernetes components on loopback for
// oomdoctor's integration tests, examples and benchmarks: etcd (Debian's
// etcd-server) and kube-apiserver built from the k8s.io/kubernetes module by
// test/k8s/build.sh. Nothing here is faked: tests talk to the real server.
package cluster

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// KubernetesVersion is the version test/k8s builds; keep in step with its go.mod.
const KubernetesVersion = "v1.36.3"

// BinDirEnv names the folder holding the built Kubernetes binaries.
const BinDirEnv = "OOMDOCTOR_K8S_BIN"

// BinDir returns the folder of the Kubernetes binaries: $OOMDOCTOR_K8S_BIN,
// or the cache folder `make k8s-bins` writes to.
func BinDir() string {
	if d := os.Getenv(BinDirEnv); d != "" {
		return d
	}
	home, err := os.UserCacheDir()
	if err != nil {
		home = os.TempDir()
	}
	return filepath.Join(home, "oomdoctor", "k8s-"+KubernetesVersion)
}

// Binary returns the path of a Kubernetes binary, or an error that says how
// to build it.
func Binary(name string) (string, error) {
	p := filepath.Join(BinDir(), name)
	if st, err := os.Stat(p); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		return "", fmt.Errorf("%s not found at %s: build it with `make k8s-bins` (make test does), or point %s at a folder that has it", name, p, BinDirEnv)
	}
	return p, nil
}

// SystemBinary finds a program installed from a Debian package, or says
// which package to install.
func SystemBinary(name, pkg string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s not found on PATH: install it with `apt-get install -y %s` (make test does)", name, pkg)
	}
	return p, nil
}

// Helm returns the helm binary make helm builds from the Go module proxy
// ($OOMDOCTOR_HELM, which make exports, or the cache's helm-v3.22.0).
func Helm() (string, error) {
	bin := os.Getenv("OOMDOCTOR_HELM")
	if bin == "" {
		home, _ := os.UserHomeDir()
		bin = filepath.Join(home, ".cache", "oomdoctor", "bin", "helm-v3.22.0")
	}
	if _, err := exec.LookPath(bin); err != nil {
		return "", fmt.Errorf("helm is missing (%s): make helm builds it from the Go module proxy, or set OOMDOCTOR_HELM", bin)
	}
	return bin, nil
}
