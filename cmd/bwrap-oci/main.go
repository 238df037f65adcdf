// Command bwrap-oci runs OCI bundles as unprivileged containers through
// bubblewrap. This package only wires the command line to internal/.
//
// A run lasts milliseconds, so the Go runtime keeps no goroutine to update
// GOMAXPROCS from the cgroup's CPU quota (updatemaxprocs=0).

//go:debug updatemaxprocs=0
package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/bwrap-oci/bwrap-oci/internal/container"
	"github.com/bwrap-oci/bwrap-oci/internal/keeper"
	"github.com/bwrap-oci/bwrap-oci/internal/state"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
)

// version is set at link time (-X main.version=...).
var version = "0.1.0-dev"

// globals are the flags every command shares.
type globals struct {
	root, bwrap             string
	log, logFormat          string
	debug, systemdCgroup    bool
	noKeeper                bool
	cgroupManager, rootless string
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
	// The commit is read from the build info only when --version prints it.
	cobra.AddTemplateFunc("bwrapOCICommit", commit)
	root.SetVersionTemplate("bwrap-oci version {{.Version}}\ncommit: {{bwrapOCICommit}}\nspec: " + specs.Version + "\n")
	root.PersistentFlags().StringVar(&g.root, "root", "", "directory for container state (default $XDG_RUNTIME_DIR/bwrap-oci, or /run/bwrap-oci for root)")
	pf := root.PersistentFlags()
	pf.StringVar(&g.bwrap, "bwrap", "bwrap", "bubblewrap binary")
	pf.StringVar(&g.log, "log", "", "also write messages to this file")
	pf.StringVar(&g.logFormat, "log-format", "text", "format of --log: text or json (lines with level, msg, time)")
	pf.BoolVar(&g.debug, "debug", false, "log debug messages")
	pf.BoolVar(&g.noKeeper, "no-userns-keeper", false, "map every container's user namespace with newuidmap/newgidmap, without a userns keeper (see docs/keeper.md)")
	pf.BoolVar(&g.systemdCgroup, "systemd-cgroup", false, "accepted for runc compatibility: bwrap-oci does not manage cgroups")
	pf.StringVar(&g.cgroupManager, "cgroup-manager", "", "accepted for runc compatibility (cgroupfs, systemd, disabled): bwrap-oci does not manage cgroups")
	pf.StringVar(&g.rootless, "rootless", "auto", "auto, true or false: accepted for runc compatibility; bwrap-oci always runs rootless-style")
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		if err := logs.open(g.log, g.logFormat, g.debug); err != nil {
			return err
		}
		switch g.rootless {
		case "auto", "true", "false":
		default:
			return fmt.Errorf("--rootless: %q is not auto, true or false", g.rootless)
		}
		if g.systemdCgroup || (g.cgroupManager != "" && g.cgroupManager != "disabled" && g.cgroupManager != "cgroupfs") {
			debugf("--systemd-cgroup/--cgroup-manager: bwrap-oci does not place containers in cgroups; linux.cgroupsPath and linux.resources are reported per container")
		}
		return nil
	}
	root.AddCommand(newSpecCmd(g), newRunCmd(g), newCreateCmd(g), newStartCmd(g), newExecCmd(g), newPsCmd(g), newFeaturesCmd(), newListCmd(g), newKillCmd(g), newDeleteCmd(g), newStateCmd(g))
	root.AddCommand(newCheckCmd(g))
	root.AddCommand(newGenerateCmd(g))
	return root
}

// runtime builds the runtime for a command; needState says whether the
// state root must be known.
func (g *globals) runtime(needState bool) (*container.Runtime, error) {
	rt := &container.Runtime{Root: g.root, Bwrap: g.bwrap, Warn: warn, NoKeeper: g.noKeeper}
	if rt.Root == "" && needState {
		r, err := state.DefaultRoot()
		if err != nil {
			return nil, err
		}
		rt.Root = r
	}
	return rt, nil
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == keeper.Arg {
		os.Exit(keeper.Serve(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == container.HelperArg {
		os.Exit(container.RunHelper(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == container.InitHelperArg {
		os.Exit(container.RunInitHelper(os.Args[2:]))
	}
	growStack()
	// Nothing the runtime inherited beyond stdio may reach a container,
	// except what --preserve-fds names.
	_ = unix.CloseRange(uint(3+preservedFDs(os.Args)), math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC)
	err := newRoot().Execute()
	var ee exitError
	var nf *container.NotFoundError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		os.Exit(ee.code)
	case errors.As(err, &nf):
		logs.write("error", oneLine(err.Error()))
		os.Exit(nf.ExitCode())
	default:
		logs.write("error", oneLine(err.Error()))
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

// globalValueFlags are the global flags that take a separate value.
var globalValueFlags = map[string]bool{"--root": true, "--bwrap": true, "--log": true, "--log-format": true, "--cgroup-manager": true, "--rootless": true}

// preservedFDs finds --preserve-fds N before cobra parses the command line:
// the fds must stay open from the very start. For exec, whose flags end at
// the container's ID, words after it are the process's command.
func preservedFDs(args []string) int {
	sub := ""
	for i := 1; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		if sub == "" {
			switch {
			case globalValueFlags[a]:
				i++
			case !strings.HasPrefix(a, "-"):
				sub = a
			}
			continue
		}
		v, ok := strings.CutPrefix(a, "--preserve-fds=")
		if !ok && a == "--preserve-fds" && i+1 < len(args) {
			v, ok = args[i+1], true
		}
		if ok {
			if n, err := strconv.Atoi(v); err == nil && n > 0 && n < 1<<16 {
				return n
			}
			continue
		}
		if sub == "exec" && !strings.HasPrefix(a, "-") && (i == 0 || !execValueFlag(args[i-1])) {
			break // the container's ID: the command follows
		}
	}
	return 0
}

// execValueFlag reports whether a is an exec flag that takes a separate value.
func execValueFlag(a string) bool {
	switch a {
	case "--process", "-p", "--console-socket", "--pid-file", "--cwd", "--env", "-e", "--user", "-u", "--additional-gids", "-g", "--cap", "-c", "--preserve-fds":
		return true
	}
	return false
}

// stackSink keeps growStack's frame from being optimised away.
var stackSink byte

// growStack grows the main goroutine's stack at once to what a command
// needs. A goroutine starts with 2 kB and doubles its stack whenever a call
// does not fit, copying it and adjusting every frame: run's calls (cobra,
// the translator, encoding/json) grow it from 4 to 16 kB in two copies, each
// walking a deep stack through cold unwind tables. One copy here, with two
// frames on the stack, is cheaper: about 0.2 ms less CPU per run.
//
//go:noinline
func growStack() {
	var buf [stackReserve]byte
	stackSink = buf[stackSink]
}

// stackReserve is what growStack reserves: the stack is then 32 kB.
const stackReserve = 20 << 10
