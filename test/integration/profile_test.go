package integration

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Ctrl-C on `oomdoctor profile -- SERVER`, the way a server's profile
// ends: the terminal sends SIGINT to the whole foreground process group,
// oomdoctor and the command alike. The command stops and the report of
// the run until then is printed, exit 0, the cgroup gone.
func TestProfileCtrlC(t *testing.T) {
	bin := filepath.Join(buildPlugin(t), "kubectl-oomdoctor")
	cmd := exec.Command(bin, "profile", "--interval", "20ms", "--", "/bin/sh", "-c", "head -c 20M /dev/zero | tail -n 1 >/dev/null; exec sleep 60")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // a process group of its own, as a terminal's job
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("profile after Ctrl-C: %v\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		t.Fatalf("profile still running 30s after Ctrl-C:\n%s", stderr.String())
	}
	out := stderr.String()
	for _, want := range []string{"interrupted, exit code 130 (interrupt)", "The run was interrupted after ", "recommended: requests.memory "} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "context canceled") {
		t.Errorf("an error instead of the report:\n%s", out)
	}
	if left, _ := filepath.Glob(fmt.Sprintf("/sys/fs/cgroup/memory/oomdoctor-profile-%d-*", cmd.Process.Pid)); len(left) != 0 {
		t.Errorf("cgroups left: %v", left)
	}
}
