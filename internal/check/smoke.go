package check

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/bwrap-oci/bwrap-oci/internal/idmap"
	"golang.org/x/sys/unix"
)

// smokeTimeout bounds the smoke test.
const smokeTimeout = 5 * time.Second

// runSmoke starts bwrap in a new user namespace the way run does (bwrap
// blocks on --userns-block-fd until the ids are mapped from outside), maps
// the ids a config without mappings gets (the mapping rule over the first
// subordinate ranges, with newuidmap/newgidmap), and runs true.
func runSmoke(f Facts) *Smoke {
	begin := time.Now()
	u := f.User
	uids, gids := idmap.Single(0, u.UID), idmap.Single(0, u.GID)
	if !u.Root && len(f.SubUID.Ranges) > 0 {
		uids = idmap.Rule(0, u.UID, f.SubUID.Ranges[0])
	}
	if !u.Root && len(f.SubGID.Ranges) > 0 {
		gids = idmap.Rule(0, u.GID, f.SubGID.Ranges[0])
	}
	s := &Smoke{UIDs: mapCount(uids), GIDs: mapCount(gids)}
	s.Helpers = !u.Root && (idmap.NeedsHelper(uids, u.UID) || idmap.NeedsHelper(gids, u.GID))
	if err := smoke(f.Bwrap.Path, u, uids, gids); err != nil {
		s.Err = err.Error()
	} else {
		s.OK = true
	}
	s.Duration = time.Since(begin)
	return s
}

func smoke(bin string, u User, uids, gids []idmap.Mapping) error {
	infoR, infoW, err := os.Pipe()
	if err != nil {
		return err
	}
	defer infoR.Close()
	blockR, blockW, err := os.Pipe()
	if err != nil {
		infoW.Close()
		return err
	}
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "--unshare-user", "--info-fd", "3", "--userns-block-fd", "4",
		"--uid", "0", "--gid", "0", "--ro-bind", "/", "/", "--die-with-parent", "--", "true")
	cmd.Args[0] = "bwrap"
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	cmd.Dir = "/"
	cmd.Stderr = &stderr
	cmd.ExtraFiles = []*os.File{infoW, blockR}
	err = cmd.Start()
	infoW.Close()
	blockR.Close()
	if err != nil {
		blockW.Close()
		return fmt.Errorf("starting %s: %v", bin, err)
	}
	var once bool
	release := func() {
		if !once {
			once = true
			blockW.Close()
		}
	}
	timer := time.AfterFunc(smokeTimeout, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()
	bwrapErr := func(werr error) error {
		msg := oneLine(stderr.String())
		if msg == "" && werr != nil {
			msg = werr.Error()
		}
		if msg == "" {
			msg = "exited before the container started"
		}
		return errors.New(msg)
	}

	info, _ := io.ReadAll(io.LimitReader(infoR, 1<<16))
	var ci struct {
		ChildPid int `json:"child-pid"`
	}
	if json.Unmarshal(info, &ci) != nil || ci.ChildPid <= 0 {
		release()
		return bwrapErr(cmd.Wait())
	}
	if err := smokeMaps(ci.ChildPid, u, uids, gids); err != nil {
		_ = unix.Kill(ci.ChildPid, unix.SIGKILL)
		release()
		_ = cmd.Wait()
		return err
	}
	_, _ = blockW.Write([]byte{1})
	release()
	if err := cmd.Wait(); err != nil {
		return bwrapErr(err)
	}
	return nil
}

// smokeMaps maps ids into pid's user namespace as container.applyMaps does.
func smokeMaps(pid int, u User, uids, gids []idmap.Mapping) error {
	if u.Root {
		if err := idmap.WriteDirect(pid, "uid_map", uids); err != nil {
			return err
		}
		return idmap.WriteDirect(pid, "gid_map", gids)
	}
	if idmap.NeedsHelper(uids, u.UID) {
		if err := idmap.Apply("newuidmap", pid, uids); err != nil {
			return err
		}
	} else if err := idmap.WriteDirect(pid, "uid_map", uids); err != nil {
		return err
	}
	if idmap.NeedsHelper(gids, u.GID) {
		return idmap.Apply("newgidmap", pid, gids)
	}
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/setgroups", pid), []byte("deny"), 0); err != nil {
		return fmt.Errorf("denying setgroups: %v", err)
	}
	return idmap.WriteDirect(pid, "gid_map", gids)
}

// oneLine joins the non-empty lines of s with "; ".
func oneLine(s string) string {
	var parts []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, "; ")
}
