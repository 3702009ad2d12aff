// Command oomdoctor finds out why Kubernetes containers are OOMKilled. Built
// as kubectl-oomdoctor it is also the kubectl plugin `kubectl oomdoctor`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/oomdoctor/oomdoctor/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[0], os.Args[1:], cli.StdStreams())
	stop()
	os.Exit(code)
}
