package main

import (
	"fmt"
	"os"

	"github.com/bwrap-oci/bwrap-oci/internal/unit"
	"github.com/spf13/cobra"
)

func newGenerateCmd(g *globals) *cobra.Command {
	gen := &cobra.Command{
		Use:   "generate",
		Short: "Write files that run containers elsewhere (systemd units)",
		Args:  cobra.NoArgs,
	}
	gen.AddCommand(newGenerateSystemdCmd(g))
	return gen
}

func newGenerateSystemdCmd(g *globals) *cobra.Command {
	var b unit.BundleOptions
	var out string
	cmd := &cobra.Command{
		Use:   "systemd [flags] [ID]",
		Short: "Write a systemctl --user service that runs the bundle (ID defaults to the bundle directory's name)",
		Long: "Writes a systemd unit that runs `bwrap-oci run --bundle DIR ID` as a service of your user manager,\n" +
			"on standard output or, with -o, into a file (or a directory such as ~/.config/systemd/user,\n" +
			"under the unit's name, bwrap-oci-ID.service unless --name says otherwise).\n" +
			"Type=notify when the process is an init such as systemd or the annotation " + unit.NotifyAnnotation + "=true,\n" +
			"else Type=simple; the stop signal is the annotation " + unit.StopSignalAnnotation + "\n" +
			"(default SIGTERM, SIGRTMIN+3 for systemd). See docs/systemd.md.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				b.ID = args[0]
			}
			b.Root, b.Bwrap = g.root, g.bwrap
			o, err := unit.FromBundle(b)
			if err != nil {
				return err
			}
			u, err := unit.Generate(o)
			if err != nil {
				return err
			}
			if out == "" || out == "-" {
				_, err = os.Stdout.WriteString(u.Text)
				return err
			}
			path, err := unit.Write(u, out)
			if err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "wrote %s\n", path)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&b.Bundle, "bundle", "b", ".", "bundle directory")
	f.StringVarP(&b.Config, "config", "c", "", "config file (default BUNDLE/config.json)")
	f.StringVar(&b.Name, "name", "", "unit name (default bwrap-oci-ID.service)")
	f.StringVar(&b.Restart, "restart", unit.DefaultRestart, "the unit's Restart= (no, on-success, on-failure, on-abnormal, on-watchdog, on-abort, always)")
	f.StringVarP(&out, "output", "o", "", "write the unit to this file, or into this directory under its name (default: standard output)")
	return cmd
}
