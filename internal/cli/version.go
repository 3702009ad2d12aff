package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/oomdoctor/oomdoctor/internal/version"
)

// NewVersionCommand prints oomdoctor's version.
func NewVersionCommand(streams genericiooptions.IOStreams) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version of oomdoctor",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := version.Get()
			switch output {
			case "":
				fmt.Fprintf(streams.Out, "oomdoctor %s (%s, %s)\n", v.Version, v.GoVersion, v.Platform)
				return nil
			case "json":
				enc := json.NewEncoder(streams.Out)
				enc.SetIndent("", "  ")
				return enc.Encode(v)
			}
			return usagef("unknown output format %q: valid formats are json, or none for text", output)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "Output format: json, or empty for one line of text.")
	return cmd
}
