package cli

import (
	"runtime"

	"github.com/spf13/cobra"
)

// goos is the system oomdoctor runs on; tests replace it.
var goos = runtime.GOOS

// Where the commands that need Linux run instead, said when one is run on
// another system.
const (
	agentWhere   = "the node agent runs on each Linux node of the cluster, where it reads the cgroups and the kernel log: deploy it with deploy/agent/oomdoctor-agent.yaml or the chart deploy/helm/oomdoctor-agent, and see what it caught from here with oomdoctor scan"
	profileWhere = "it runs the command in a memory cgroup of its own, which only Linux has: run it on a Linux machine or VM as root (in a container: privileged, with /sys/fs/cgroup writable)"
	nodeWhere    = "it reads the node itself (swap, cgroups, the kernel, the kubelet's config): run it on the node, or in a pod with the host's / mounted (--root); without --local, oomdoctor node checks the nodes through the API from anywhere"
)

// notLinux is the error of what needs Linux (a command, a flag) run on
// another system, goos.
func notLinux(what, where string) error {
	return usagef("%s needs Linux, and this is %s: %s", what, goos, where)
}

// linuxOnly is, on another system (goos), a command that needs Linux: its
// help is there to read, and running it says so and where to run it
// instead, whatever its flags.
func linuxOnly(use, short, long, where string) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Long:  long + "\n\nIt needs Linux; this oomdoctor is built for " + goos + ".",
		// Its flags are not known here: any will do.
		FParseErrWhitelist: cobra.FParseErrWhitelist{UnknownFlags: true},
		Args:               cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return notLinux("oomdoctor "+cmd.Name(), where)
		},
	}
}
