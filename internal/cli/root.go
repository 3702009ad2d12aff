package cli

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// NewRootCommand builds the oomdoctor command tree. name is "oomdoctor" or
// "kubectl oomdoctor" (as a kubectl plugin), used in help and examples.
func NewRootCommand(streams genericiooptions.IOStreams, name string) *cobra.Command {
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

	kube := genericclioptions.NewConfigFlags(true)
	kube.AddFlags(root.PersistentFlags())

	root.AddCommand(
		NewScanCommand(kube, streams),
		NewSnapshotCommand(kube, streams),
		NewVersionCommand(streams),
	)
	return root
}
