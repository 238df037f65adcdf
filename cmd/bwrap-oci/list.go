package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func newListCmd(g *globals) *cobra.Command {
	var format string
	var quiet bool
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List containers",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "table" && format != "json" {
				return fmt.Errorf("--format: %q is not table or json", format)
			}
			rt, err := g.runtime(true)
			if err != nil {
				return err
			}
			if quiet {
				ids, err := rt.IDs()
				if err != nil {
					return err
				}
				if len(ids) > 0 {
					fmt.Println(strings.Join(ids, "\n"))
				}
				return nil
			}
			items, err := rt.List()
			if err != nil {
				return err
			}
			if format == "json" {
				return json.NewEncoder(os.Stdout).Encode(items)
			}
			w := tabwriter.NewWriter(os.Stdout, 10, 1, 3, ' ', 0)
			fmt.Fprintln(w, "NAME\tPID\tSTATUS\tBUNDLE")
			for _, it := range items {
				bundle := it.Bundle
				if it.Error != "" {
					bundle = "(" + oneLine(it.Error) + ")"
				}
				fmt.Fprintf(w, "%s\t%d\t%s\t%s\n", it.ID, it.Pid, it.Status, bundle)
			}
			return w.Flush()
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "table", "table or json")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only the container IDs")
	return cmd
}
