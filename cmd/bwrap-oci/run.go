package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/bwrap-oci/bwrap-oci/internal/container"
	"github.com/bwrap-oci/bwrap-oci/internal/state"
	"github.com/spf13/cobra"
)

func newRunCmd(g *globals) *cobra.Command {
	var bundle, config, pidFile string
	var detach, dryRun, strict bool
	cmd := &cobra.Command{
		Use:   "run [flags] [ID]",
		Short: "Run a container from a bundle (ID defaults to the bundle directory's name)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			abs, err := filepath.Abs(bundle)
			if err != nil {
				return err
			}
			id := filepath.Base(abs)
			if len(args) == 1 {
				id = args[0]
			}
			if err := state.ValidateID(id); err != nil {
				return err
			}
			rt, err := g.runtime(!dryRun)
			if err != nil {
				return err
			}
			rt.Strict = strict
			p, err := rt.Prepare(abs, config)
			if err != nil {
				return err
			}
			if dryRun {
				fmt.Print(container.DryRun(p))
				return nil
			}
			code, err := rt.Run(p, container.RunOptions{ID: id, Detach: detach, PidFile: pidFile, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
			if err != nil {
				return err
			}
			if code != 0 {
				return exitError{code}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&bundle, "bundle", "b", ".", "bundle directory")
	f.StringVarP(&config, "config", "c", "", "config file (default BUNDLE/config.json)")
	f.BoolVarP(&detach, "detach", "d", false, "return once the container runs")
	f.StringVar(&pidFile, "pid-file", "", "write the container process's host pid to this file")
	f.BoolVar(&dryRun, "dry-run", false, "print the bwrap command line and exit")
	f.BoolVar(&strict, "strict", false, "fail on config fields that cannot be honoured instead of warning")
	return cmd
}
