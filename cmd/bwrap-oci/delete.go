package main

import "github.com/spf13/cobra"

func newDeleteCmd(g *globals) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:     "delete [--force] ID",
		Aliases: []string{"rm"},
		Short:   "Remove a stopped container (with --force, kill a running one first)",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := g.runtime(true)
			if err != nil {
				return err
			}
			return rt.Delete(args[0], force)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "kill the container if it runs")
	return cmd
}
