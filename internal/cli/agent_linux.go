package cli

import (
	"errors"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"

	"github.com/oomdoctor/oomdoctor/internal/agentcmd"
)

// NewAgentCommand builds `oomdoctor agent` (the slim oomdoctor-agent
// binary runs the same command).
func NewAgentCommand(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	cmd := agentcmd.NewCommand("agent", func() (*rest.Config, error) {
		return restConfig(flags, ", or run with --standalone (no API server: pod UIDs only, no Events)")
	}, streams.Out, streams.ErrOut)
	run := cmd.RunE
	cmd.RunE = func(c *cobra.Command, args []string) error {
		err := run(c, args)
		var u *agentcmd.UsageError
		if errors.As(err, &u) {
			return asUsage(err)
		}
		return err
	}
	args := cmd.Args
	cmd.Args = func(c *cobra.Command, a []string) error { return asUsage(args(c, a)) }
	return cmd
}
