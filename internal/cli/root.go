package cli

import (
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// NewRootCommand builds the oomdoctor command tree. name is "oomdoctor" or
// "kubectl oomdoctor" (as a kubectl plugin), used in help and examples.
func NewRootCommand(streams genericiooptions.IOStreams, name string) *cobra.Command {
	return newRootCommand(streams, name, time.Now)
}

// newRootCommand is NewRootCommand with the clock tests set.
func newRootCommand(streams genericiooptions.IOStreams, name string, now func() time.Time) *cobra.Command {
	root := &cobra.Command{
		Use:   "oomdoctor",
		Short: "Find out why Kubernetes containers are OOMKilled, fix them, and keep it from happening again",
		Long: `oomdoctor finds every OOM-killed container in a cluster or a snapshot, explains
the cause with evidence, and fixes the manifests.

Exit codes: 0 the command did its job (findings are not failures), 1 it could not
(cluster unreachable, permission denied), 2 wrong usage or input.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: name},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return asUsage(err) })
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)

	flags := genericclioptions.NewConfigFlags(true)
	flags.AddFlags(root.PersistentFlags())

	root.AddCommand(
		newScanCommand(flags, streams, now),
		newExplainCommand(flags, streams, now),
		newSnapshotCommand(flags, streams, now),
		NewLintCommand(streams),
		NewFixCommand(flags, streams),
		NewProfileCommand(streams),
		NewAlertsCommand(flags, streams),
		newNodeCommand(flags, streams, now),
		NewAgentCommand(flags, streams),
		NewReplayCommand(flags, streams),
		NewRecommendCommand(flags, streams),
		NewVersionCommand(streams),
	)
	addCompletions(root, flags)
	return root
}
