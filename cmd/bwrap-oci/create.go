package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/bwrap-oci/bwrap-oci/internal/container"
	"github.com/bwrap-oci/bwrap-oci/internal/state"
	"github.com/spf13/cobra"
)

// lifecycleFlags are the flags create and run share.
type lifecycleFlags struct {
	bundle, config, pidFile, consoleSocket string
	preserveFDs                            int
	noPivot, noNewKeyring, strict          bool
}

func (l *lifecycleFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVarP(&l.bundle, "bundle", "b", ".", "bundle directory")
	f.StringVarP(&l.config, "config", "c", "", "config file (default BUNDLE/config.json)")
	f.StringVar(&l.pidFile, "pid-file", "", "write the container process's host pid to this file; the caller then reaps it (see docs/engines.md)")
	f.StringVar(&l.consoleSocket, "console-socket", "", "unix socket to send the terminal's master to (process.terminal)")
	f.IntVar(&l.preserveFDs, "preserve-fds", 0, "pass this many file descriptors after stdio (3, 4, ...) into the container")
	f.BoolVar(&l.noPivot, "no-pivot", false, "accepted for runc compatibility (bwrap always uses pivot_root)")
	f.BoolVar(&l.noNewKeyring, "no-new-keyring", false, "accepted for runc compatibility (bwrap never creates a session keyring)")
	f.BoolVar(&l.strict, "strict", false, "fail on config fields that cannot be honoured instead of warning")
}

// prepare resolves the ID and translates the bundle; foreground says it is
// for `run` in the foreground (see container.Runtime.Early).
func (l *lifecycleFlags) prepare(g *globals, args []string, needState, foreground bool) (*container.Runtime, *container.Prepared, string, error) {
	abs, err := filepath.Abs(l.bundle)
	if err != nil {
		return nil, nil, "", err
	}
	id := filepath.Base(abs)
	if len(args) == 1 {
		id = args[0]
	}
	if err := state.ValidateID(id); err != nil {
		return nil, nil, "", err
	}
	rt, err := g.runtime(needState)
	if err != nil {
		return nil, nil, "", err
	}
	rt.Strict = l.strict
	if foreground {
		// Only a foreground run uses (and may start) a userns keeper, and
		// starts bwrap early.
		o := l.options(id, false)
		rt.Early = &o
		if v := os.Getenv("BWRAP_OCI_KEEPER_IDLE"); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return nil, nil, "", fmt.Errorf("BWRAP_OCI_KEEPER_IDLE: %q is not a positive duration (like 10m or 30s)", v)
			}
			rt.KeeperIdle = d
		}
	}
	p, err := rt.Prepare(abs, l.config)
	if err != nil {
		return nil, nil, "", err
	}
	return rt, p, id, nil
}

func (l *lifecycleFlags) options(id string, detach bool) container.RunOptions {
	return container.RunOptions{ID: id, Detach: detach, PidFile: l.pidFile, ConsoleSocket: l.consoleSocket, PreserveFDs: l.preserveFDs,
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
}

func newCreateCmd(g *globals) *cobra.Command {
	var l lifecycleFlags
	cmd := &cobra.Command{
		Use:   "create [flags] ID",
		Short: "Set a container up and hold it before its process runs (start runs it)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, p, id, err := l.prepare(g, args, true, false)
			if err != nil {
				return err
			}
			return rt.Create(p, l.options(id, true))
		},
	}
	l.register(cmd)
	return cmd
}

func newStartCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "start ID",
		Short: "Run the process of a created container",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := g.runtime(true)
			if err != nil {
				return err
			}
			return rt.Start(args[0])
		},
	}
}
