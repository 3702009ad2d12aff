//go:build linux

// Command oomdoctor-agent is the node agent alone (the DaemonSet's image):
// the same command as `oomdoctor agent`, linking only what the agent needs
// so that it stays small on every node.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/oomdoctor/oomdoctor/internal/agentcmd"
)

func main() {
	var kubeconfig, kubeContext string
	cmd := agentcmd.NewCommand("oomdoctor-agent", func() (*rest.Config, error) {
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		rules.ExplicitPath = kubeconfig
		cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: kubeContext}).ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("no API server config (in a pod: the service account; elsewhere --kubeconfig): %w", err)
		}
		return cfg, nil
	}, os.Stdout, os.Stderr)
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "", "Path to a kubeconfig (default: in-cluster, then $KUBECONFIG and ~/.kube/config).")
	cmd.Flags().StringVar(&kubeContext, "context", "", "The kubeconfig context to use.")
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		var u *agentcmd.UsageError
		if errors.As(err, &u) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}
