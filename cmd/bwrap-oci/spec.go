package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/bwrap-oci/bwrap-oci/internal/container"
	"github.com/bwrap-oci/bwrap-oci/internal/spec"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/spf13/cobra"
)

func newSpecCmd(_ *globals) *cobra.Command {
	var bundle string
	var rootless, force bool
	cmd := &cobra.Command{
		Use:   "spec",
		Short: "Write a config.json that runs sh in rootfs/",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("rootless") {
				rootless = os.Geteuid() != 0
			}
			file := filepath.Join(bundle, "config.json")
			if _, err := os.Lstat(file); err == nil && !force {
				return fmt.Errorf("%s already exists (use --force to overwrite it)", file)
			} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			var uids, gids []specs.LinuxIDMapping
			if rootless {
				caller := container.CurrentCaller()
				s := spec.Default(true, nil, nil)
				u, g, warning, err := container.Mappings(caller, s, "/etc/subuid", "/etc/subgid")
				if err != nil {
					return err
				}
				if warning != "" {
					warn(warning)
				}
				for _, m := range u {
					uids = append(uids, specs.LinuxIDMapping{ContainerID: m.ContainerID, HostID: m.HostID, Size: m.Size})
				}
				for _, m := range g {
					gids = append(gids, specs.LinuxIDMapping{ContainerID: m.ContainerID, HostID: m.HostID, Size: m.Size})
				}
			}
			data, err := json.MarshalIndent(spec.Default(rootless, uids, gids), "", "\t")
			if err != nil {
				return err
			}
			return os.WriteFile(file, append(data, '\n'), 0o644)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&bundle, "bundle", "b", ".", "bundle directory to write config.json into")
	f.BoolVar(&rootless, "rootless", false, "a config for an unprivileged user (the default when not root)")
	f.BoolVar(&force, "force", false, "overwrite an existing config.json")
	return cmd
}
