package cluster

import (
	"bytes"
	"context"
	"net/http"
	"regexp"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// SyncBuffer is a buffer one goroutine writes (a process's or the agent's
// output) while the test reads it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// AgentReady waits until an `oomdoctor agent` whose log is stderr says
// where it serves its metrics and answers ready there; it returns that
// address.
func AgentReady(ctx context.Context, stderr *SyncBuffer, timeout time.Duration) (string, error) {
	var addr string
	re := regexp.MustCompile(`metrics on (\S+)`)
	err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
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
	return addr, err
}
