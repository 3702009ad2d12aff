//go:build !linux

package cli

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// NewAgentCommand is `oomdoctor agent` where it cannot run: the node agent
// needs Linux.
func NewAgentCommand(_ *genericclioptions.ConfigFlags, _ genericiooptions.IOStreams) *cobra.Command {
	return linuxOnly("agent --node-name NODE",
		"Run the node agent: catch every kernel OOM kill, tie it to its pod, export metrics and post Events",
		`Run on every node (as a DaemonSet: deploy/helm/oomdoctor-agent or deploy/agent): watch every
container's memory cgroup for OOM kills and read the kernel's OOM reports, including a child
process killed while the container's main process lives on, which the pod status never shows.`,
		agentWhere)
}
