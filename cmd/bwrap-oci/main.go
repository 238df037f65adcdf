// Command bwrap-oci runs OCI bundles as unprivileged containers through
// bubblewrap. This package only wires the command line to internal/.
package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"runtime/debug"

	"github.com/bwrap-oci/bwrap-oci/internal/container"
	"github.com/bwrap-oci/bwrap-oci/internal/state"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
)

// version is set at link time (-X main.version=...).
var version = "0.1.0-dev"

// globals are the flags every command shares.
type globals struct {
	root  string
	bwrap string
}

// exitError carries an exit status without a message (the container's own).
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func commit() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return "unknown"
}

func newRoot() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "bwrap-oci",
		Short:         "Run OCI bundles as unprivileged containers through bubblewrap",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate(fmt.Sprintf("bwrap-oci version {{.Version}}\ncommit: %s\nspec: %s\n", commit(), specs.Version))
	root.PersistentFlags().StringVar(&g.root, "root", "", "directory for container state (default $XDG_RUNTIME_DIR/bwrap-oci, or /run/bwrap-oci for root)")
	root.PersistentFlags().StringVar(&g.bwrap, "bwrap", "bwrap", "bubblewrap binary")
	root.AddCommand(newSpecCmd(g), newRunCmd(g), newCreateCmd(g), newStartCmd(g), newListCmd(g), newKillCmd(g), newDeleteCmd(g), newStateCmd(g))
	return root
}

// runtime builds the runtime for a command; needState says whether the
// state root must be known.
func (g *globals) runtime(needState bool) (*container.Runtime, error) {
	rt := &container.Runtime{Root: g.root, Bwrap: g.bwrap, Warn: warn}
	if rt.Root == "" && needState {
		r, err := state.DefaultRoot()
		if err != nil {
			return nil, err
		}
		rt.Root = r
	}
	return rt, nil
}

func warn(msg string) { fmt.Fprintln(os.Stderr, "bwrap-oci: warning: "+msg) }

func main() {
	// Nothing the runtime inherited beyond stdio may reach a container.
	_ = unix.CloseRange(3, math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC)
	err := newRoot().Execute()
	var ee exitError
	var nf *container.NotFoundError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		os.Exit(ee.code)
	case errors.As(err, &nf):
		fmt.Fprintln(os.Stderr, "bwrap-oci: "+oneLine(err.Error()))
		os.Exit(nf.ExitCode())
	default:
		fmt.Fprintln(os.Stderr, "bwrap-oci: "+oneLine(err.Error()))
		os.Exit(1)
	}
}

// oneLine keeps an error on one line, whatever it quotes.
func oneLine(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c == '\n' || c == '\r' {
			b[i] = ' '
		}
	}
	return string(b)
}
