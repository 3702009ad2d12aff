// Package integration tests oomdoctor end to end against a real
// kube-apiserver and etcd started by package test/cluster. There is no skip:
// when the binaries or etcd are missing, the tests fail and say how to get them.
package integration

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/oomdoctor/oomdoctor/internal/cli"
	"github.com/oomdoctor/oomdoctor/test/alloc"
	"github.com/oomdoctor/oomdoctor/test/cluster"
	"github.com/oomdoctor/oomdoctor/test/scenario"
)

var (
	cp         *cluster.ControlPlane
	expected   []scenario.Expected
	scenarioAt time.Time
)

func TestMain(m *testing.M) {
	// The agent test runs this binary as its allocator.
	alloc.IfAsked(200 * time.Millisecond)
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx := context.Background()
	var err error
	cp, err = cluster.StartControlPlane(ctx, cluster.Options{})
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: the integration tests need a real kube-apiserver and etcd: %v\n", err)
		return 1
	}
	defer cp.Stop()
	scenarioAt = time.Now()
	expected, err = scenario.Populate(ctx, cp.Client, scenarioAt)
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: writing the scenario: %v\n", err)
		return 1
	}
	code := m.Run()
	// The package's Prometheus, and its 100 MB of data.
	if promSrv != nil {
		promSrv.Stop()
	}
	if promDir != "" {
		os.RemoveAll(promDir)
	}
	return code
}

// result is what one oomdoctor invocation printed and returned.
type result struct {
	stdout, stderr string
	code           int
}

// oomdoctor runs the CLI in-process, as the binary would, against the given
// kubeconfig (the admin one when empty).
func oomdoctor(t *testing.T, args ...string) result {
	t.Helper()
	return oomdoctorIn(t, "", args...)
}

// oomdoctorIn runs oomdoctor with stdin on its standard input.
func oomdoctorIn(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut}
	code := cli.Main(context.Background(), "oomdoctor", args, streams)
	return result{stdout: out.String(), stderr: errOut.String(), code: code}
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}
