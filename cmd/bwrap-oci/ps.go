package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

func newPsCmd(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "ps [--format table|json] ID [-- PS-ARGS...]",
		Short: "List the processes of a container",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := g.runtime(true)
			if err != nil {
				return err
			}
			pids, err := rt.Pids(args[0])
			if err != nil {
				return err
			}
			switch format {
			case "json":
				return json.NewEncoder(os.Stdout).Encode(pids)
			case "table":
			default:
				return fmt.Errorf("--format: %q is not table or json", format)
			}
			psArgs := args[1:]
			if len(psArgs) == 0 {
				psArgs = []string{"-f"}
			}
			if len(pids) == 0 {
				return nil
			}
			list := make([]string, len(pids))
			for i, p := range pids {
				list[i] = strconv.Itoa(p)
			}
			ps := exec.Command("ps", append(psArgs, "-p", strings.Join(list, ","))...)
			ps.Stdout, ps.Stderr = os.Stdout, os.Stderr
			if err := ps.Run(); err != nil {
				return fmt.Errorf("ps: %v", err)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "table", "table or json")
	return cmd
}
