// Command mkexamples captures the bundled example snapshot from a real API
// server: it starts etcd and kube-apiserver, writes the scenario of package
// test/scenario, and runs `oomdoctor snapshot` against it. Run it with
// `make examples`.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/oomdoctor/oomdoctor/internal/cli"
	"github.com/oomdoctor/oomdoctor/test/cluster"
	"github.com/oomdoctor/oomdoctor/test/scenario"
)

func main() {
	out := flag.String("o", "examples/snapshot", "folder to write the snapshot to (replaced)")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "mkexamples:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	ctx := context.Background()
	cp, err := cluster.StartControlPlane(ctx, cluster.Options{})
	if err != nil {
		return err
	}
	defer cp.Stop()
	if _, err := scenario.Populate(ctx, cp.Client, time.Now()); err != nil {
		return err
	}
	// Write next to the target, then swap, so a failure leaves the old
	// example in place.
	tmp := filepath.Join(filepath.Dir(out), "."+filepath.Base(out)+".new")
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if code := cli.Main(ctx, "oomdoctor", []string{"snapshot", "--kubeconfig", cp.Kubeconfig, "-o", tmp}, cli.StdStreams()); code != 0 {
		return fmt.Errorf("oomdoctor snapshot exited %d", code)
	}
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	return os.Rename(tmp, out)
}
