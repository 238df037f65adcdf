package main

import (
	"fmt"
	"os"

	"github.com/bwrap-oci/bwrap-oci/internal/check"
	"github.com/bwrap-oci/bwrap-oci/internal/container"
	"github.com/bwrap-oci/bwrap-oci/internal/idmap"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/spf13/cobra"
)

func newCheckCmd(g *globals) *cobra.Command {
	var bundle, config, format string
	var noSmoke bool
	cmd := &cobra.Command{
		Use:   "check [--bundle DIR]",
		Short: "Check that this host lets you run rootless containers, and say how to fix what is missing",
		Long: "Checks bwrap, user namespaces, newuidmap/newgidmap, /etc/subuid and /etc/subgid, XDG_RUNTIME_DIR,\n" +
			"cgroup delegation and /dev/net/tun for the calling user, then starts bwrap in a user namespace\n" +
			"(the smoke test). With --bundle, also checks what that bundle's config needs.\n" +
			"Exit status 0 when a rootless container (the bundle) can run, 1 otherwise. See docs/check.md.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "text" && format != "json" {
				return fmt.Errorf("--format: %q is not text or json", format)
			}
			caller := container.CurrentCaller()
			rs := check.Run(check.Options{
				Bwrap: g.bwrap, Root: g.root, Bundle: bundle, Config: config, Smoke: !noSmoke,
				Mappings: func(s *specs.Spec) ([]idmap.Mapping, []idmap.Mapping, string, error) {
					return container.Mappings(caller, s, "/etc/subuid", "/etc/subgid")
				},
			})
			write := check.WriteText
			if format == "json" {
				write = check.WriteJSON
			}
			if err := write(os.Stdout, rs); err != nil {
				return err
			}
			if !check.OKAll(rs) {
				return exitError{1}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&bundle, "bundle", "b", "", "also check what this bundle's config needs")
	f.StringVarP(&config, "config", "c", "", "config file (default BUNDLE/config.json)")
	f.StringVarP(&format, "format", "f", "text", "text or json")
	f.BoolVar(&noSmoke, "no-smoke", false, "do not start bwrap to test a user namespace for real")
	return cmd
}
