// Package e2e runs real workloads on a real one-node Kubernetes (kubelet,
// containerd, runc, the kernel's OOM killer) and checks what the kubelet
// writes and what oomdoctor makes of it. Nothing is skipped: without root,
// a memory cgroup or the binaries, the tests fail and say what is missing.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/oomdoctor/oomdoctor/internal/cli"
	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/test/cluster"
)

var node *cluster.Node

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	start := time.Now()
	var err error
	node, err = cluster.StartNode(context.Background(), cluster.NodeOptions{})
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: the end-to-end tests need a real one-node cluster: %v\n", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "node ready in %v\n", time.Since(start).Round(time.Millisecond))
	code := m.Run()
	if err := node.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: tearing the node down: %v\n", err)
		return 1
	}
	return code
}

// namespace makes a namespace for one test.
func namespace(t *testing.T, name string) string {
	t.Helper()
	if err := node.Namespace(context.Background(), name); err != nil {
		t.Fatal(err)
	}
	return name
}

// waitPod polls the pods matching the selector until cond holds for one of
// them, and returns that pod; on timeout it fails with the pods' statuses
// and the kubelet's log.
func waitPod(t *testing.T, ns, selector string, timeout time.Duration, what string, cond func(*corev1.Pod) bool) *corev1.Pod {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last []corev1.Pod
	for time.Now().Before(deadline) {
		list, err := node.Client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			t.Fatal(err)
		}
		last = list.Items
		for i := range list.Items {
			if cond(&list.Items[i]) {
				return &list.Items[i]
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	var b strings.Builder
	for _, p := range last {
		st, _ := json.MarshalIndent(p.Status, "", "  ")
		fmt.Fprintf(&b, "pod %s status:\n%s\n", p.Name, st)
	}
	t.Fatalf("after %v, no pod %s in %s: %s\n%skubelet:\n%s", timeout, selector, ns, what, b.String(), node.Logs("kubelet", 30))
	return nil
}

// oomdoctor runs a command in-process against the node (its
// --kubeconfig given), and says its exit code, stdout and stderr.
func oomdoctor(command string, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	code := cli.Main(context.Background(), "oomdoctor", append([]string{command, "--kubeconfig", node.Kubeconfig}, args...), streams)
	return code, out.String(), errOut.String()
}

// scan runs `oomdoctor scan -o json` in-process against the node.
func scan(t *testing.T, args ...string) *model.ScanReport {
	t.Helper()
	code, out, stderr := oomdoctor("scan", append([]string{"-o", "json"}, args...)...)
	if code != 0 {
		t.Fatalf("scan exited %d: %s", code, stderr)
	}
	var rep model.ScanReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	return &rep
}

func findings(rep *model.ScanReport) []model.Finding {
	var out []model.Finding
	for _, g := range rep.Workloads {
		out = append(out, g.Findings...)
	}
	return out
}
