// Package cli holds oomdoctor's commands, one file each, in kubectl's options
// pattern: an options struct per command with Complete, Validate and Run,
// output to injected streams, errors returned, never printed deep inside.
package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// Exit codes of every command.
const (
	// ExitOK: the command did its job (findings are not failures for scan).
	ExitOK = 0
	// ExitFailure: the command could not do its job (cluster unreachable,
	// permission denied on pods, a file could not be written).
	ExitFailure = 1
	// ExitUsage: the command line or an input was wrong (unknown flag or
	// -o value, invalid kubeconfig, malformed snapshot file).
	ExitUsage = 2
)

// usageError marks an error as the user's input being wrong: exit code 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usagef makes a usage error.
func usagef(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// asUsage marks err as a usage error.
func asUsage(err error) error {
	if err == nil {
		return nil
	}
	return &usageError{err}
}

// exitStatus ends a command with a code and no error message: lint's
// findings have been printed already.
type exitStatus struct{ code int }

func (e *exitStatus) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// ExitCode maps an error returned by a command to the process exit code.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var st *exitStatus
	if errors.As(err, &st) {
		return st.code
	}
	var u *usageError
	if errors.As(err, &u) {
		return ExitUsage
	}
	return ExitFailure
}

// pluginName is what kubectl calls a plugin binary named kubectl-oomdoctor.
const pluginName = "kubectl oomdoctor"

// displayName is how help text names the program: "kubectl oomdoctor" when
// run as the kubectl plugin, "oomdoctor" otherwise.
func displayName(argv0 string) string {
	base := filepath.Base(argv0)
	if strings.HasPrefix(base, "kubectl-") || strings.HasPrefix(base, completerPrefix) {
		return pluginName
	}
	return "oomdoctor"
}

// completerPrefix begins the name of the program kubectl runs to complete
// a plugin's command line (kubectl 1.26+): kubectl_complete-oomdoctor,
// given the words after `kubectl oomdoctor`. The binary under that name
// (a link or a copy) answers as `oomdoctor __complete` does.
const completerPrefix = "kubectl_complete-"

// Main runs oomdoctor with the arguments (without the program name) and
// returns the exit code. argv0 is the program's name as invoked.
func Main(ctx context.Context, argv0 string, args []string, streams genericiooptions.IOStreams) int {
	root := NewRootCommand(streams, displayName(argv0))
	if strings.HasPrefix(filepath.Base(argv0), completerPrefix) {
		args = append([]string{cobra.ShellCompRequestCmd}, args...)
	}
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	var st *exitStatus
	if err != nil && !errors.As(err, &st) {
		fmt.Fprintf(streams.ErrOut, "error: %v\n", err)
	}
	return ExitCode(err)
}

// StdStreams are the process's standard streams.
func StdStreams() genericiooptions.IOStreams {
	return genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
}

// oneArg takes exactly one argument, what (explain's pod or workload).
func oneArg(what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) == 0:
			return usagef("%s needs %s; see --help", cmd.CommandPath(), what)
		case len(args) > 1:
			return usagef("%s takes one argument, %s; got %d: %q", cmd.CommandPath(), what, len(args), strings.Join(args, " "))
		}
		return nil
	}
}

// atMostOneArg takes no argument or one, what (recommend's workload).
func atMostOneArg(what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > 1 {
			return usagef("%s takes at most one argument, %s; got %d: %q", cmd.CommandPath(), what, len(args), strings.Join(args, " "))
		}
		return nil
	}
}

// noArgs rejects positional arguments with a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("%s takes no arguments, got %q; see --help", cmd.CommandPath(), strings.Join(args, " "))
	}
	return nil
}
