package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/bwrap-oci/bwrap-oci/internal/container"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/spf13/cobra"
)

func newExecCmd(g *globals) *cobra.Command {
	var processFile, consoleSocket, pidFile, cwd, userSpec string
	var env, caps []string
	var addGids []int
	var tty, detach, noNewPrivs bool
	var preserveFDs int
	cmd := &cobra.Command{
		Use:   "exec [flags] ID [COMMAND [ARG...]]",
		Short: "Run a new process in a running container",
		Long:  "Without --process, the process is the container's config process with the command and the flags applied.",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := g.runtime(true)
			if err != nil {
				return err
			}
			id := args[0]
			var p *specs.Process
			if processFile != "" {
				data, err := os.ReadFile(processFile)
				if err != nil {
					return fmt.Errorf("--process: %v", err)
				}
				p = &specs.Process{}
				if err := json.Unmarshal(data, p); err != nil {
					return fmt.Errorf("--process %s: %v", processFile, err)
				}
			} else {
				if len(args) < 2 {
					return fmt.Errorf("exec: give a command or --process FILE")
				}
				if p, err = rt.ExecProcess(id); err != nil {
					return err
				}
				p.Args = args[1:]
				p.Terminal = tty
			}
			f := cmd.Flags()
			if f.Changed("tty") {
				p.Terminal = tty
			}
			if cwd != "" {
				p.Cwd = cwd
			}
			for _, e := range env {
				k, _, _ := strings.Cut(e, "=")
				kept := p.Env[:0:0]
				for _, old := range p.Env {
					if ok, _, _ := strings.Cut(old, "="); ok != k {
						kept = append(kept, old)
					}
				}
				p.Env = append(kept, e)
			}
			if userSpec != "" {
				u, gid, hasGid := strings.Cut(userSpec, ":")
				n, err := strconv.ParseUint(u, 10, 32)
				if err != nil {
					return fmt.Errorf("--user %q: give a numeric UID[:GID]", userSpec)
				}
				p.User.UID = uint32(n)
				if hasGid {
					n, err := strconv.ParseUint(gid, 10, 32)
					if err != nil {
						return fmt.Errorf("--user %q: give a numeric UID[:GID]", userSpec)
					}
					p.User.GID = uint32(n)
				}
			}
			for _, g := range addGids {
				p.User.AdditionalGids = append(p.User.AdditionalGids, uint32(g))
			}
			if len(caps) > 0 {
				if p.Capabilities == nil {
					p.Capabilities = &specs.LinuxCapabilities{}
				}
				c := p.Capabilities
				for _, name := range caps {
					name = strings.ToUpper(name)
					if !strings.HasPrefix(name, "CAP_") {
						name = "CAP_" + name
					}
					c.Bounding = append(c.Bounding, name)
					c.Effective = append(c.Effective, name)
					c.Permitted = append(c.Permitted, name)
				}
			}
			if noNewPrivs {
				p.NoNewPrivileges = true
			}
			code, err := rt.Exec(id, container.ExecOptions{Process: p, Detach: detach, PidFile: pidFile, ConsoleSocket: consoleSocket,
				PreserveFDs: preserveFDs, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
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
	f.SetInterspersed(false)
	f.StringVarP(&processFile, "process", "p", "", "JSON file with the process (the runtime spec's process object)")
	f.BoolVarP(&tty, "tty", "t", false, "give the process a terminal")
	f.StringVar(&consoleSocket, "console-socket", "", "unix socket to send the terminal's master to")
	f.BoolVarP(&detach, "detach", "d", false, "do not wait for the process")
	f.StringVar(&pidFile, "pid-file", "", "write the pid to reap (exits with the process's status) to this file")
	f.StringVar(&cwd, "cwd", "", "working directory in the container")
	f.StringArrayVarP(&env, "env", "e", nil, "set an environment variable KEY=VALUE")
	f.StringVarP(&userSpec, "user", "u", "", "UID[:GID] to run as")
	f.IntSliceVarP(&addGids, "additional-gids", "g", nil, "additional gids")
	f.StringArrayVarP(&caps, "cap", "c", nil, "add a capability")
	f.BoolVar(&noNewPrivs, "no-new-privs", false, "set no_new_privs")
	f.IntVar(&preserveFDs, "preserve-fds", 0, "pass this many file descriptors after stdio into the process")
	return cmd
}
