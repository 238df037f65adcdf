package main

import (
	"encoding/json"
	"os"

	"github.com/spf13/cobra"
)

func newStateCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "state ID",
		Short: "Print the OCI state of a container as JSON",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := g.runtime(true)
			if err != nil {
				return err
			}
			st, err := rt.State(args[0])
			if err != nil {
				return err
			}
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(st)
		},
	}
}
