package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestIDMapRule checks the container's uid_map and gid_map, as the host
// sees them, against the mapping rule, for a process uid S of 0, below the
// subordinate range size N, and at or above N; run in the foreground, with
// a user namespace from the userns keeper (the default) and without
// (--no-userns-keeper). Inside,
// a keeper's namespace shows the same lines mapping ids to themselves
// (keeper.Nested): they are relative to the keeper's namespace.
func TestIDMapRule(t *testing.T) {
	need(t)
	mid := uint32(1000)
	if mid >= h.subuid.Count || mid >= h.subgid.Count {
		mid = min(h.subuid.Count, h.subgid.Count) / 2
	}
	high := uint32(70000)
	if high < h.subuid.Count || high < h.subgid.Count {
		high = max(h.subuid.Count, h.subgid.Count) + 4464
	}
	cases := []struct {
		name string
		s    uint32
	}{
		{"S=0", 0},
		{fmt.Sprintf("S=%d(<N)", mid), mid},
		{fmt.Sprintf("S=%d(>=N)", high), high},
	}
	t.Logf("test user %s: uid %d gid %d, subuid %d:%d, subgid %d:%d",
		h.name, h.uid, h.gid, h.subuid.Start, h.subuid.Count, h.subgid.Start, h.subgid.Count)
	for _, kept := range []bool{true, false} {
		for _, c := range cases {
			name := c.name
			var flags []string
			if !kept {
				name += ",no-keeper"
				flags = []string{"--no-userns-keeper"}
			}
			t.Run(name, func(t *testing.T) {
				b := newBundle(t)
				b.edit(func(s *specs.Spec) {
					noMappings(s, c.s)
					b.hostMount(s)
					shell(s, "{ id -u; id -g; echo ---; cat /proc/self/uid_map; echo ---; cat /proc/self/gid_map; } > /host/out; touch /host/ready; while :; do sleep 0.2; done")
				})
				pid := foreground(t, b, flags...)
				parts := strings.Split(readFile(filepath.Join(b.host, "out")), "---\n")
				if len(parts) != 3 {
					t.Fatalf("unexpected output:\n%s", parts)
				}
				if ids := strings.Fields(parts[0]); !reflect.DeepEqual(ids, []string{fmt.Sprint(c.s), fmt.Sprint(c.s)}) {
					t.Errorf("id -u; id -g = %v, want %d %d", ids, c.s, c.s)
				}
				check := func(what, text string, want []IDMap) {
					t.Helper()
					got, err := ParseIDMap(text)
					if err != nil {
						t.Errorf("%s: %v", what, err)
						return
					}
					if !reflect.DeepEqual(got, want) {
						t.Errorf("%s:\n got %v\nwant %v", what, got, want)
					}
				}
				wantU, wantG := ExpectedIDMap(c.s, h.uid, h.subuid), ExpectedIDMap(c.s, h.gid, h.subgid)
				check("uid_map seen from the host", readFile(fmt.Sprintf("/proc/%d/uid_map", pid)), wantU)
				check("gid_map seen from the host", readFile(fmt.Sprintf("/proc/%d/gid_map", pid)), wantG)
				if kept {
					wantU, wantG = nested(wantU), nested(wantG)
				}
				check("uid_map inside the container", parts[1], wantU)
				check("gid_map inside the container", parts[2], wantG)
			})
		}
	}
}

// nested is keeper.Nested for the harness's maps.
func nested(ms []IDMap) []IDMap {
	out := make([]IDMap, len(ms))
	for i, m := range ms {
		out[i] = IDMap{Inside: m.Inside, Outside: m.Inside, Count: m.Count}
	}
	return out
}

// TestConfigMappingsUsed checks that linux.uidMappings from the config
// (here: the caller's id only, as written by spec --rootless) win over the
// rule.
func TestConfigMappingsUsed(t *testing.T) {
	b := newBundle(t)
	b.edit(func(s *specs.Spec) {
		s.Process.User = specs.User{}
		s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: h.uid, Size: 1}}
		s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: h.gid, Size: 1}}
		shell(s, "cat /proc/self/uid_map; echo ---; cat /proc/self/gid_map")
	})
	parts := strings.Split(b.mustRun(t), "---\n")
	if len(parts) != 2 {
		t.Fatalf("unexpected output: %q", parts)
	}
	for i, want := range []IDMap{{0, h.uid, 1}, {0, h.gid, 1}} {
		got, err := ParseIDMap(parts[i])
		if err != nil || !reflect.DeepEqual(got, []IDMap{want}) {
			t.Errorf("map %d = %v (%v), want [%v]", i, got, err, want)
		}
	}
}

// TestHostOwnership checks who owns, on the host, files the container
// creates in a bind-mounted host directory.
func TestHostOwnership(t *testing.T) {
	b := newBundle(t)
	b.edit(func(s *specs.Spec) {
		noMappings(s, 0)
		addCaps(s, "CAP_CHOWN")
		b.hostMount(s)
		shell(s, "touch /host/as-root && touch /host/chowned && chown 1000:1000 /host/chowned && echo done")
	})
	if out := b.mustRun(t); strings.TrimSpace(out) != "done" {
		t.Fatalf("container output %q, want done", out)
	}
	for _, c := range []struct {
		file     string
		uid, gid uint32
	}{
		{"as-root", h.uid, h.gid},
		{"chowned", h.subuid.Start + 999, h.subgid.Start + 999},
	} {
		st, err := os.Lstat(b.host + "/" + c.file)
		if err != nil {
			t.Errorf("%s: %v", c.file, err)
			continue
		}
		sys := st.Sys().(*syscall.Stat_t)
		if sys.Uid != c.uid || sys.Gid != c.gid {
			t.Errorf("%s is owned by %d:%d on the host, want %d:%d", c.file, sys.Uid, sys.Gid, c.uid, c.gid)
		}
	}
}
