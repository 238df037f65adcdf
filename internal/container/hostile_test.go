package container

// Hostile id mappings: overlapping, outside the caller's subordinate
// ranges, wrapping past the largest id, too many. Mappings must refuse each
// with a one-line error that starts with the JSON path of the field (Prepare
// puts the config file in front), and never panic. The rest of the hostile
// configs are in internal/spec/hostile_test.go.

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func hostileSubIDs(t *testing.T, subuid, subgid string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	u, g := filepath.Join(dir, "subuid"), filepath.Join(dir, "subgid")
	for f, data := range map[string]string{u: subuid, g: subgid} {
		if err := os.WriteFile(f, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return u, g
}

func idm(c, h, n uint32) specs.LinuxIDMapping {
	return specs.LinuxIDMapping{ContainerID: c, HostID: h, Size: n}
}

func TestHostileMappings(t *testing.T) {
	const (
		subuid = "# alice has 100000-165535, bob 300000-365535\nalice:100000:65536\nbob:300000:65536\n"
		subgid = "alice:200000:65536\nbob:400000:65536\n"
	)
	caller := Caller{UID: 1000, GID: 1001, Name: "alice"}
	own := []specs.LinuxIDMapping{idm(0, 1000, 1)}
	ownG := []specs.LinuxIDMapping{idm(0, 1001, 1)}
	many := make([]specs.LinuxIDMapping, 0, 341)
	for i := uint32(0); i < 341; i++ {
		many = append(many, idm(i, 100000+i, 1))
	}
	cases := []struct {
		name           string
		subuid, subgid string // default: the files above
		uids, gids     []specs.LinuxIDMapping
		uid, gid       uint32
		field          string // the error must start with "field: "
		msg            string // and match this
	}{
		{name: "container ids overlap", uids: []specs.LinuxIDMapping{idm(0, 1000, 1), idm(0, 100000, 10)}, gids: ownG,
			field: "linux.uidMappings[1]", msg: "overlap"},
		{name: "host ids overlap", uids: []specs.LinuxIDMapping{idm(0, 100000, 10), idm(100, 100005, 10)}, gids: ownG,
			field: "linux.uidMappings[1]", msg: "overlap"},
		{name: "own id mapped twice", uids: []specs.LinuxIDMapping{idm(0, 1000, 1), idm(5, 1000, 1)}, gids: ownG,
			field: "linux.uidMappings[1]", msg: "overlap"},
		{name: "host ids outside the range", uids: []specs.LinuxIDMapping{idm(0, 1000, 1), idm(1, 200000, 100)}, gids: ownG,
			field: "linux.uidMappings[1]", msg: "outside your own uid 1000"},
		{name: "one id past the range", uids: []specs.LinuxIDMapping{idm(0, 1000, 1), idm(1, 100000, 65537)}, gids: ownG,
			field: "linux.uidMappings[1]", msg: "outside"},
		{name: "host root", uids: []specs.LinuxIDMapping{idm(0, 0, 1)}, gids: ownG,
			field: "linux.uidMappings[0]", msg: "outside"},
		{name: "another user's range", uids: []specs.LinuxIDMapping{idm(0, 1000, 1), idm(1, 300000, 10)}, gids: ownG,
			field: "linux.uidMappings[1]", msg: "outside"},
		{name: "container ids wrap past 2^32", uids: []specs.LinuxIDMapping{idm(0, 1000, 1), idm(4294967295, 100000, 2)}, gids: ownG,
			field: "linux.uidMappings[1]", msg: "largest valid uid"},
		{name: "host ids wrap past 2^32", uids: []specs.LinuxIDMapping{idm(0, 1000, 1), idm(1, 4294967295, 2)}, gids: ownG,
			field: "linux.uidMappings[1]", msg: "largest valid uid"},
		{name: "huge size", uids: []specs.LinuxIDMapping{idm(0, 1000, 1), idm(1, 100000, 4294967295)}, gids: ownG,
			field: "linux.uidMappings[1]"},
		{name: "size 0", uids: []specs.LinuxIDMapping{idm(0, 1000, 0)}, gids: ownG,
			field: "linux.uidMappings[0]", msg: "size"},
		{name: "more lines than the kernel takes", uids: many, gids: ownG,
			field: "linux.uidMappings", msg: "340"},
		{name: "gid range taken from subuid", uids: own, gids: []specs.LinuxIDMapping{idm(0, 1001, 1), idm(1, 100000, 10)},
			field: "linux.gidMappings[1]", msg: "outside your own gid 1001"},
		{name: "gid mapping of the caller's uid", uids: own, gids: []specs.LinuxIDMapping{idm(0, 1000, 1)},
			field: "linux.gidMappings[0]", msg: "outside"},
		{name: "process uid not mapped", uids: own, gids: ownG, uid: 5,
			field: "process.user.uid", msg: "not mapped"},
		{name: "process gid not mapped", uids: own, gids: ownG, gid: 70000,
			field: "process.user.gid", msg: "not mapped"},
		{name: "no subordinate ids, several mapped", subuid: "bob:300000:65536\n", subgid: "bob:400000:65536\n",
			uids: []specs.LinuxIDMapping{idm(0, 1000, 1), idm(1, 100000, 10)}, gids: ownG,
			field: "linux.uidMappings[1]", msg: "no subordinate uid range"},
		{name: "junk in subuid", subuid: "alice:abc:10\nalice:-5:10\nalice:4294967290:100\n::\nalice\n",
			uids: []specs.LinuxIDMapping{idm(0, 1000, 1), idm(1, 4294967290, 6)}, gids: ownG,
			field: "linux.uidMappings[1]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			su, sg := c.subuid, c.subgid
			if su == "" {
				su = subuid
			}
			if sg == "" {
				sg = subgid
			}
			fu, fg := hostileSubIDs(t, su, sg)
			s := specAsHostile(c.uid, c.gid)
			s.Linux.UIDMappings, s.Linux.GIDMappings = c.uids, c.gids
			var err error
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("panic: %v", r)
					}
				}()
				_, _, _, err = Mappings(caller, s, fu, fg)
			}()
			if err == nil {
				t.Fatalf("accepted; want an error on %s", c.field)
			}
			msg := err.Error()
			if strings.ContainsAny(msg, "\r\n") {
				t.Errorf("error spans lines: %q", msg)
			}
			if !strings.HasPrefix(msg, c.field+": ") && !strings.HasPrefix(msg, c.field+" ") {
				t.Errorf("error %q does not start with the field %q", msg, c.field)
			}
			if c.msg != "" && !regexp.MustCompile(c.msg).MatchString(msg) {
				t.Errorf("error %q does not match %q", msg, c.msg)
			}
		})
	}
}

// TestHostileMappingsRoot: root may map any ids, but still not overlapping
// or wrapping ones, which the kernel refuses with a bare EINVAL.
func TestHostileMappingsRoot(t *testing.T) {
	fu, fg := hostileSubIDs(t, "", "")
	root := Caller{UID: 0, GID: 0, Name: "root", Root: true}
	for _, c := range []struct {
		name  string
		uids  []specs.LinuxIDMapping
		field string
	}{
		{"overlap", []specs.LinuxIDMapping{idm(0, 0, 10), idm(5, 100, 10)}, "linux.uidMappings[1]"},
		{"wrap", []specs.LinuxIDMapping{idm(0, 0, 1), idm(1, 4294967295, 2)}, "linux.uidMappings[1]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := specAsHostile(0, 0)
			s.Linux.UIDMappings = c.uids
			s.Linux.GIDMappings = []specs.LinuxIDMapping{idm(0, 0, 1)}
			_, _, _, err := Mappings(root, s, fu, fg)
			if err == nil {
				t.Fatalf("accepted; want an error on %s", c.field)
			}
			if !strings.HasPrefix(err.Error(), c.field) {
				t.Errorf("error %q does not start with %q", err, c.field)
			}
		})
	}
}

func specAsHostile(uid, gid uint32) *specs.Spec {
	return &specs.Spec{
		Process: &specs.Process{User: specs.User{UID: uid, GID: gid}, Args: []string{"sh"}, Cwd: "/"},
		Linux:   &specs.Linux{},
	}
}
