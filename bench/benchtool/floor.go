package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// floorCmd is the least a runtime written in Go can do to run a bwrap
// command with a multi-id mapping through the protocol bwrap-oci uses, and
// nothing else: no config, no state, no checks. bwrap gets its options on an
// --args pipe, stops on --userns-block-fd after its clone, and reports the
// child's pid on --info-fd; newuidmap and newgidmap map the child's user
// namespace side by side; a byte releases bwrap. The difference between
// this and the bare bwrap call is the cost of the design (a Go process and
// the two setuid helpers), which bwrap-oci cannot go below.
//
//	benchtool floor -maps "0 1002 1 1 165536 65536" BWRAP [OPTIONS...] -- COMMAND...
//
// OPTIONS are bwrap's, without --unshare-user/--uid/--gid (added here).
func floorCmd(args []string) error {
	if len(args) < 4 || args[0] != "-maps" {
		return fmt.Errorf("usage: benchtool floor -maps \"C H N ...\" BWRAP [OPTIONS...] -- COMMAND...")
	}
	maps := strings.Fields(args[1])
	bwrap, rest := args[2], args[3:]
	sep := -1
	for i, a := range rest {
		if a == "--" {
			sep = i
			break
		}
	}
	if sep < 0 {
		return fmt.Errorf("floor: no -- before the command")
	}
	opts, command := rest[:sep], rest[sep+1:]
	argsR, argsW, err := os.Pipe()
	if err != nil {
		return err
	}
	infoR, infoW, err := os.Pipe()
	if err != nil {
		return err
	}
	syncR, syncW, err := os.Pipe()
	if err != nil {
		return err
	}
	// As bwrap-oci does: the block fd is drained by a --file op, so that
	// bwrap's child does not keep it.
	data := strings.Join(append([]string{"--unshare-user", "--file", "5", "/.sync"}, opts...), "\x00") + "\x00"
	go func() {
		_, _ = argsW.Write([]byte(data))
		argsW.Close()
	}()
	cmd := exec.Command(bwrap, append([]string{"--args", "3", "--info-fd", "4", "--userns-block-fd", "5", "--"}, command...)...)
	cmd.ExtraFiles = []*os.File{argsR, infoW, syncR}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	argsR.Close()
	infoW.Close()
	syncR.Close()
	info, err := io.ReadAll(infoR)
	if err != nil {
		return err
	}
	var ci struct {
		ChildPid int `json:"child-pid"`
	}
	if err := json.Unmarshal(info, &ci); err != nil || ci.ChildPid <= 0 {
		syncW.Close()
		_ = cmd.Wait()
		return fmt.Errorf("floor: bwrap reported no child pid")
	}
	done := make(chan error, 2)
	for _, helper := range []string{"newuidmap", "newgidmap"} {
		h := exec.Command(helper, append([]string{strconv.Itoa(ci.ChildPid)}, maps...)...)
		h.Stderr = os.Stderr
		if err := h.Start(); err != nil {
			return err
		}
		go func() { done <- h.Wait() }()
	}
	for range 2 {
		if err := <-done; err != nil {
			_ = cmd.Process.Kill()
			return fmt.Errorf("floor: id maps: %v", err)
		}
	}
	_, _ = syncW.Write([]byte{1})
	syncW.Close()
	if err := cmd.Wait(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			os.Exit(ee.ExitCode())
		}
		return err
	}
	return nil
}

// wrapCmd runs a command from a Go process and waits for it, nothing
// else: timed against the command alone, it is what a Go parent costs
// (its start, the fork and exec, the wait, its exit).
//
//	benchtool wrap COMMAND...
func wrapCmd(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: benchtool wrap COMMAND...")
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			os.Exit(ee.ExitCode())
		}
		return err
	}
	return nil
}
