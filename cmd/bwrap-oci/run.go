package main

import (
	"fmt"

	"github.com/bwrap-oci/bwrap-oci/internal/container"
	"github.com/spf13/cobra"
)

func newRunCmd(g *globals) *cobra.Command {
	var l lifecycleFlags
	var detach, dryRun bool
	cmd := &cobra.Command{
		Use:   "run [flags] [ID]",
		Short: "Run a container from a bundle (ID defaults to the bundle directory's name)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, p, id, err := l.prepare(g, args, !dryRun, !dryRun && !detach)
			if err != nil {
				return err
			}
			if dryRun {
				fmt.Print(container.DryRun(p))
				return nil
			}
			code, err := rt.Run(p, l.options(id, detach))
			if err != nil {
				return err
			}
			if code != 0 {
				return exitError{code}
			}
			return nil
		},
	}
	l.register(cmd)
	cmd.Flags().BoolVarP(&detach, "detach", "d", false, "return once the container runs")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the bwrap command line and exit")
	return cmd
}
