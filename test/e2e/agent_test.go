package e2e

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/oomdoctor/oomdoctor/internal/cli"
	"github.com/oomdoctor/oomdoctor/test/cluster"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startAgent runs `oomdoctor agent` beside the kubelet, as the DaemonSet
// would on this node, until the test ends; it returns the metrics address
// and the agent's log.
func startAgent(t *testing.T) (string, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
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
	var addr string
	re := regexp.MustCompile(`metrics on (\S+)`)
	err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 20*time.Second, true, func(context.Context) (bool, error) {
		m := re.FindStringSubmatch(stderr.String())
		if m == nil {
			return false, nil
		}
		addr = m[1]
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
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
