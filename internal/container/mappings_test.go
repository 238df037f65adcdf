package container

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/bwrap-oci/bwrap-oci/internal/idmap"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// subIDFiles writes /etc/subuid and /etc/subgid look-alikes and returns
// their paths.
func subIDFiles(t *testing.T, subuid, subgid string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	u, g := filepath.Join(dir, "subuid"), filepath.Join(dir, "subgid")
	if err := os.WriteFile(u, []byte(subuid), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(g, []byte(subgid), 0o644); err != nil {
		t.Fatal(err)
	}
	return u, g
}

func specAs(uid, gid uint32) *specs.Spec {
	return &specs.Spec{
		Process: &specs.Process{User: specs.User{UID: uid, GID: gid}, Args: []string{"sh"}, Cwd: "/"},
		Linux:   &specs.Linux{},
	}
}

// mp is one uid_map line: container id, host id, size.
func mp(c, h, n uint32) idmap.Mapping { return idmap.Mapping{ContainerID: c, HostID: h, Size: n} }

var alice = Caller{UID: 1000, GID: 1001, Name: "alice"}

// TestMappingsRule: without mappings in the config, the project's rule
// applies to uids with /etc/subuid and to gids with /etc/subgid, in its
// three cases (s == 0, 0 < s < N, s >= N).
func TestMappingsRule(t *testing.T) {
	subuid, subgid := subIDFiles(t,
		"# comment\nbob:300000:65536\nalice:100000:65536\nalice:500000:10\n",
		"alice:200000:65536\n")
	cases := []struct {
		name       string
		s          uint32
		uids, gids []idmap.Mapping
	}{
		{"s=0", 0,
			[]idmap.Mapping{mp(0, 1000, 1), mp(1, 100000, 65536)},
			[]idmap.Mapping{mp(0, 1001, 1), mp(1, 200000, 65536)}},
		{"0<s<N", 1000,
			[]idmap.Mapping{mp(0, 100000, 1000), mp(1000, 1000, 1), mp(1001, 101000, 64536)},
			[]idmap.Mapping{mp(0, 200000, 1000), mp(1000, 1001, 1), mp(1001, 201000, 64536)}},
		{"s>=N", 70000,
			[]idmap.Mapping{mp(0, 100000, 65536), mp(70000, 1000, 1)},
			[]idmap.Mapping{mp(0, 200000, 65536), mp(70000, 1001, 1)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			uids, gids, warn, err := Mappings(alice, specAs(c.s, c.s), subuid, subgid)
			if err != nil {
				t.Fatalf("Mappings: %v", err)
			}
			if warn != "" {
				t.Errorf("unexpected warning %q", warn)
			}
			if !reflect.DeepEqual(uids, c.uids) {
				t.Errorf("uid mappings = %v, want %v", uids, c.uids)
			}
			if !reflect.DeepEqual(gids, c.gids) {
				t.Errorf("gid mappings = %v, want %v", gids, c.gids)
			}
		})
	}
}

// TestMappingsByUID: the files may name the caller by numeric uid (for
// /etc/subgid too, as newgidmap reads it).
func TestMappingsByUID(t *testing.T) {
	subuid, subgid := subIDFiles(t, "1000:100000:65536\n", "1000:200000:65536\n")
	uids, gids, warn, err := Mappings(alice, specAs(0, 0), subuid, subgid)
	if err != nil || warn != "" {
		t.Fatalf("Mappings: err %v, warning %q", err, warn)
	}
	if want := []idmap.Mapping{mp(0, 1000, 1), mp(1, 100000, 65536)}; !reflect.DeepEqual(uids, want) {
		t.Errorf("uid mappings = %v, want %v", uids, want)
	}
	if want := []idmap.Mapping{mp(0, 1001, 1), mp(1, 200000, 65536)}; !reflect.DeepEqual(gids, want) {
		t.Errorf("gid mappings = %v, want %v", gids, want)
	}
}

// TestMappingsFromConfig: the config's mappings are used as given when the
// caller may map them, refused naming the field and index when not, and
// not checked for root.
func TestMappingsFromConfig(t *testing.T) {
	subuid, subgid := subIDFiles(t, "alice:100000:65536\n", "alice:200000:65536\n")
	withMaps := func(uid, gid []specs.LinuxIDMapping) *specs.Spec {
		s := specAs(0, 0)
		s.Linux.UIDMappings, s.Linux.GIDMappings = uid, gid
		return s
	}
	ok := withMaps(
		[]specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 100}},
		[]specs.LinuxIDMapping{{ContainerID: 0, HostID: 1001, Size: 1}, {ContainerID: 1, HostID: 200010, Size: 5}},
	)
	uids, gids, warn, err := Mappings(alice, ok, subuid, subgid)
	if err != nil || warn != "" {
		t.Fatalf("allowed config mappings: err %v, warning %q", err, warn)
	}
	if want := []idmap.Mapping{mp(0, 1000, 1), mp(1, 100000, 100)}; !reflect.DeepEqual(uids, want) {
		t.Errorf("uid mappings = %v, want the config's %v", uids, want)
	}
	if want := []idmap.Mapping{mp(0, 1001, 1), mp(1, 200010, 5)}; !reflect.DeepEqual(gids, want) {
		t.Errorf("gid mappings = %v, want the config's %v", gids, want)
	}

	// Only uidMappings given: gids follow the rule.
	onlyUID := withMaps([]specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}, nil)
	_, gids, _, err = Mappings(alice, onlyUID, subuid, subgid)
	if err != nil {
		t.Fatal(err)
	}
	if want := []idmap.Mapping{mp(0, 1001, 1), mp(1, 200000, 65536)}; !reflect.DeepEqual(gids, want) {
		t.Errorf("gid mappings without gidMappings = %v, want the rule's %v", gids, want)
	}

	for _, c := range []struct {
		name  string
		s     *specs.Spec
		wants []string
	}{
		{"uid outside the caller's ranges",
			withMaps([]specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 300000, Size: 10}}, nil),
			[]string{"linux.uidMappings[1]", "300000", "outside", "uid 1000", "100000-165535"}},
		{"gid of another user",
			withMaps(nil, []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}),
			[]string{"linux.gidMappings[0]", "outside", "gid 1001", "200000-265535"}},
		{"range past the subordinate range",
			withMaps([]specs.LinuxIDMapping{{ContainerID: 0, HostID: 165000, Size: 1000}}, nil),
			[]string{"linux.uidMappings[0]", "outside"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, _, err := Mappings(alice, c.s, subuid, subgid)
			if err == nil {
				t.Fatalf("Mappings accepted mappings the caller may not make")
			}
			for _, w := range c.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}

	// The process's ids must be mapped.
	s := withMaps([]specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}, nil)
	s.Process.User.UID = 5
	if _, _, _, err := Mappings(alice, s, subuid, subgid); err == nil || !strings.Contains(err.Error(), "process.user.uid: 5 is not mapped by linux.uidMappings") {
		t.Errorf("unmapped process uid: got %v, want \"process.user.uid: 5 is not mapped by linux.uidMappings\"", err)
	}
	s = withMaps(nil, []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1001, Size: 1}})
	s.Process.User.GID = 7
	if _, _, _, err := Mappings(alice, s, subuid, subgid); err == nil || !strings.Contains(err.Error(), "process.user.gid: 7 is not mapped by linux.gidMappings") {
		t.Errorf("unmapped process gid: got %v, want \"process.user.gid: 7 is not mapped by linux.gidMappings\"", err)
	}

	// Root may map anything.
	root := Caller{UID: 0, GID: 0, Name: "root", Root: true}
	big := withMaps([]specs.LinuxIDMapping{{ContainerID: 0, HostID: 400000, Size: 65536}}, []specs.LinuxIDMapping{{ContainerID: 0, HostID: 400000, Size: 65536}})
	uids, _, _, err = Mappings(root, big, subuid, subgid)
	if err != nil {
		t.Fatalf("root's config mappings refused: %v", err)
	}
	if want := []idmap.Mapping{mp(0, 400000, 65536)}; !reflect.DeepEqual(uids, want) {
		t.Errorf("root's uid mappings = %v, want %v", uids, want)
	}
}

// TestMappingsMissingRange: without a subordinate range only the caller's
// own id is mapped, with a warning naming the file(s) and the fix.
func TestMappingsMissingRange(t *testing.T) {
	t.Run("both", func(t *testing.T) {
		subuid, subgid := subIDFiles(t, "bob:100000:65536\n", "")
		uids, gids, warn, err := Mappings(alice, specAs(0, 0), subuid, subgid)
		if err != nil {
			t.Fatal(err)
		}
		if want := []idmap.Mapping{mp(0, 1000, 1)}; !reflect.DeepEqual(uids, want) {
			t.Errorf("uid mappings = %v, want %v", uids, want)
		}
		if want := []idmap.Mapping{mp(0, 1001, 1)}; !reflect.DeepEqual(gids, want) {
			t.Errorf("gid mappings = %v, want %v", gids, want)
		}
		for _, w := range []string{"no subordinate id range for alice", subuid, subgid, "usermod --add-subuids", "alice"} {
			if !strings.Contains(warn, w) {
				t.Errorf("warning %q does not mention %q", warn, w)
			}
		}
	})
	t.Run("gid only", func(t *testing.T) {
		subuid, subgid := subIDFiles(t, "alice:100000:65536\n", "bob:200000:65536\n")
		uids, gids, warn, err := Mappings(alice, specAs(1000, 1000), subuid, subgid)
		if err != nil {
			t.Fatal(err)
		}
		if want := []idmap.Mapping{mp(0, 100000, 1000), mp(1000, 1000, 1), mp(1001, 101000, 64536)}; !reflect.DeepEqual(uids, want) {
			t.Errorf("uid mappings = %v, want %v", uids, want)
		}
		if want := []idmap.Mapping{mp(1000, 1001, 1)}; !reflect.DeepEqual(gids, want) {
			t.Errorf("gid mappings = %v, want %v", gids, want)
		}
		if !strings.Contains(warn, subgid) || strings.Contains(warn, subuid) {
			t.Errorf("warning %q: want it to name %s and not %s", warn, subgid, subuid)
		}
	})
	t.Run("no files", func(t *testing.T) {
		dir := t.TempDir()
		_, _, warn, err := Mappings(Caller{UID: 1234, GID: 1234}, specAs(0, 0), filepath.Join(dir, "subuid"), filepath.Join(dir, "subgid"))
		if err != nil {
			t.Fatalf("missing files: %v (want a warning, not an error)", err)
		}
		// A caller without a name is named by uid.
		if !strings.Contains(warn, "no subordinate id range for 1234") {
			t.Errorf("warning %q does not name uid 1234", warn)
		}
	})
}
