//go:build !linux

package cli

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// NewProfileCommand is `oomdoctor profile` where it cannot run: memory
// cgroups are Linux's.
func NewProfileCommand(_ genericiooptions.IOStreams) *cobra.Command {
	return linuxOnly("profile [--limit Q] [--load CMD] -- COMMAND [ARGS...]",
		"Run a command in its own memory cgroup and report its real peak; with --limit, reproduce an OOM kill",
		`Run a command (and everything it starts) in a fresh memory cgroup, sample its memory, and
report the real peak the kernel charged, with a request and limit from it; with --limit, whether
the kernel's OOM killer struck.`,
		profileWhere)
}
