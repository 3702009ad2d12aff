package cluster

import (
	"strings"
	"testing"
)

func TestMissingPiecesAreNamed(t *testing.T) {
	t.Setenv(BinDirEnv, t.TempDir())
	if _, err := Binary("kube-apiserver"); err == nil || !strings.Contains(err.Error(), "make k8s-bins") || !strings.Contains(err.Error(), BinDirEnv) {
		t.Errorf("a missing Kubernetes binary: %v", err)
	}
	if _, err := SystemBinary("no-such-etcd-binary", "etcd-server"); err == nil || !strings.Contains(err.Error(), "apt-get install -y etcd-server") {
		t.Errorf("a missing Debian program: %v", err)
	}
}
