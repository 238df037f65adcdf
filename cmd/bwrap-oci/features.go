package main

import (
	"encoding/json"
	"os"

	"github.com/bwrap-oci/bwrap-oci/internal/bwrap"
	"github.com/spf13/cobra"
)

func newFeaturesCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "features",
		Short: "Print what bwrap-oci supports (the runtime spec's features document)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(bwrap.OCIFeatures())
		},
	}
}
