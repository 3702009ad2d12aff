package e2e

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/oomdoctor/oomdoctor/internal/cli"
	"github.com/oomdoctor/oomdoctor/test/cluster"
)

// startAgent runs `oomdoctor agent` beside the kubelet, as the DaemonSet
// would on this node, until the test ends; it returns the metrics address
// and the agent's log.
func startAgent(t *testing.T) (string, *cluster.SyncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr cluster.SyncBuffer
	done := make(chan int)
	go func() {
		done <- cli.Main(ctx, "oomdoctor", []string{"agent", "--node-name", cluster.NodeName, "--kubeconfig", node.Kubeconfig,
			"--kubelet-cgroup-root", "/" + node.CgroupRoot, "--listen", "127.0.0.1:0"},
			genericiooptions.IOStreams{In: strings.NewReader(""), Out: &stdout, ErrOut: &stderr})
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("the agent exited %d: %s", code, stderr.String())
		}
	})
	addr, err := cluster.AgentReady(context.Background(), &stderr, 20*time.Second)
	if err != nil {
		t.Fatalf("the agent did not get ready: %v\n%s", err, stderr.String())
	}
	return addr, &stdout
}

func metrics(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
