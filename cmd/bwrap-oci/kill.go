package main

import (
	"github.com/bwrap-oci/bwrap-oci/internal/signals"
	"github.com/spf13/cobra"
)

func newKillCmd(g *globals) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "kill [--all] ID [SIGNAL]",
		Short: "Send a signal (default TERM) to the container's init process",
		Long:  "SIGNAL is a number (37), a name with or without SIG (TERM, SIGKILL) or a real-time signal (RTMIN+3, SIGRTMIN+3, RTMAX-1).",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := "TERM"
			if len(args) == 2 {
				name = args[1]
			}
			sig, err := signals.Parse(name)
			if err != nil {
				return err
			}
			rt, err := g.runtime(true)
			if err != nil {
				return err
			}
			if all {
				return rt.KillAll(args[0], sig)
			}
			return rt.Kill(args[0], sig)
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "signal every process of the container")
	return cmd
}
