package check

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/bwrap-oci/bwrap-oci/internal/idmap"
)

// good is a host where everything works, for user alice (uid 1000).
func good() Facts {
	entries := []Entry{{"bob", 100000, 65536}, {"alice", 165536, 65536}}
	return Facts{
		User:        User{UID: 1000, GID: 1000, Name: "alice", InitUserNS: true},
		Bwrap:       Bwrap{Name: "bwrap", Path: "/usr/bin/bwrap", Version: "0.8.0"},
		MaxUserNS:   Knob{Present: true, Value: 63000},
		UsernsClone: Knob{},
		AppArmor:    Knob{},
		SubUID:      SubIDs{File: "/etc/subuid", Ranges: []idmap.Range{{Start: 165536, Length: 65536}}, All: entries},
		SubGID:      SubIDs{File: "/etc/subgid", Ranges: []idmap.Range{{Start: 165536, Length: 65536}}, All: entries},
		NewUIDMap:   Helper{Name: "newuidmap", Path: "/usr/bin/newuidmap", Setuid: true, Exec: true},
		NewGIDMap:   Helper{Name: "newgidmap", Path: "/usr/bin/newgidmap", Setuid: true, Exec: true},
		RuntimeDir:  RuntimeDir{Set: true, Path: "/run/user/1000", Exists: true, IsDir: true, Owner: 1000, Perm: 0o700, Default: "/run/user/1000", DefaultOK: true},
		Cgroup:      Cgroup{Mount: "/sys/fs/cgroup", Path: "/user.slice/user-1000.slice/user@1000.service/app.slice/x.scope", Dir: "/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/app.slice/x.scope", DirW: true, Procs: true, SubtreeControl: true},
		Systemd:     true,
		Tun:         Tun{Exists: true, CharDev: true, RW: true},
		KernelNS:    map[string]bool{"user": true, "pid": true, "net": true, "ipc": true, "uts": true, "mnt": true, "cgroup": true, "time": true},
	}
}

// bundle is a config without mappings, run as 0:0, mapped by the rule.
func bundle(f Facts) *Bundle {
	rule := func(own uint32, rs []idmap.Range) []idmap.Mapping {
		if len(rs) == 0 {
			return idmap.Single(0, own)
		}
		return idmap.Rule(0, own, rs[0])
	}
	return &Bundle{
		Dir: "/b", File: "/b/config.json", NewUserNS: true,
		Namespaces: []Namespace{{Type: "pid"}, {Type: "mount"}, {Type: "user"}},
		UIDMap:     rule(f.User.UID, f.SubUID.Ranges),
		GIDMap:     rule(f.User.GID, f.SubGID.Ranges),
	}
}

func find(rs []Result, name string) (Result, bool) {
	for _, r := range rs {
		if r.Name == name {
			return r, true
		}
	}
	return Result{}, false
}

func TestEvaluateGoodHost(t *testing.T) {
	f := good()
	f.Smoke = &Smoke{OK: true, UIDs: 65537, GIDs: 65537, Helpers: true}
	rs := Evaluate(f)
	for _, r := range rs {
		if r.Status != OK {
			t.Errorf("%s: %s: %s (fix %q)", r.Name, r.Status, r.Found, r.Fix)
		}
		if r.Found == "" {
			t.Errorf("%s: empty Found", r.Name)
		}
	}
	if !OKAll(rs) {
		t.Error("OKAll = false on a good host")
	}
	want := []string{"user", "bwrap", "bwrap-setuid", "userns", "userns-clone", "apparmor-userns", "subuid", "subgid", "newuidmap", "newgidmap", "xdg-runtime-dir", "cgroup", "tun", "smoke"}
	var got []string
	for _, r := range rs {
		got = append(got, r.Name)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("names %v, want %v", got, want)
	}
}

func TestEvaluate(t *testing.T) {
	cases := []struct {
		name   string
		mod    func(f *Facts)
		check  string
		status Status
		found  string // substring
		fix    string // exact
	}{
		{"bwrap missing", func(f *Facts) { f.Bwrap = Bwrap{Name: "bwrap", Err: "bwrap not found (bwrap)"} },
			"bwrap", Fail, "not found", "sudo apt-get install bubblewrap"},
		{"bwrap too old", func(f *Facts) { f.Bwrap.Missing = []string{"--userns-block-fd"}; f.Bwrap.Version = "0.4.0" },
			"bwrap", Fail, "lacks --userns-block-fd", "sudo apt-get install bubblewrap"},
		{"bwrap setuid with subordinate ids", func(f *Facts) { f.Bwrap.Setuid = true },
			"bwrap-setuid", Fail, "is setuid root", "sudo chmod u-s /usr/bin/bwrap"},
		{"bwrap setuid without subordinate ids", func(f *Facts) {
			f.Bwrap.Setuid = true
			f.SubUID.Ranges, f.SubGID.Ranges = nil, nil
		}, "bwrap-setuid", Warn, "only your own uid", "sudo chmod u-s /usr/bin/bwrap"},
		{"bwrap setuid as root", func(f *Facts) { f.Bwrap.Setuid = true; f.User.Root = true },
			"bwrap-setuid", OK, "you are root", ""},
		{"max_user_namespaces 0", func(f *Facts) { f.MaxUserNS.Value = 0 },
			"userns", Fail, "is 0", "echo user.max_user_namespaces=15000 | sudo tee -a /etc/sysctl.d/90-bwrap-oci.conf && sudo sysctl -w user.max_user_namespaces=15000"},
		{"max_user_namespaces 0 nested", func(f *Facts) { f.MaxUserNS.Value = 0; f.User.InitUserNS = false },
			"userns", Fail, "is 0 in this user namespace", "echo user.max_user_namespaces=15000 | sudo tee -a /etc/sysctl.d/90-bwrap-oci.conf && sudo sysctl -w user.max_user_namespaces=15000"},
		{"userns limit reached", func(f *Facts) {
			f.MaxUserNS.Value = 10000
			f.Smoke = &Smoke{Err: "bwrap: Creating new namespace failed: nesting depth or /proc/sys/user/max_*_namespaces exceeded (ENOSPC)"}
		}, "userns", Fail, "ENOSPC", "echo user.max_user_namespaces=20000 | sudo tee -a /etc/sysctl.d/90-bwrap-oci.conf && sudo sysctl -w user.max_user_namespaces=20000"},
		{"no user namespaces", func(f *Facts) { f.MaxUserNS = Knob{} }, "userns", Fail, "CONFIG_USER_NS", ""},
		{"debian clone 0", func(f *Facts) { f.UsernsClone = Knob{Present: true, Value: 0} },
			"userns-clone", Fail, "is 0", "echo kernel.unprivileged_userns_clone=1 | sudo tee -a /etc/sysctl.d/90-bwrap-oci.conf && sudo sysctl -w kernel.unprivileged_userns_clone=1"},
		{"debian clone 1", func(f *Facts) { f.UsernsClone = Knob{Present: true, Value: 1} }, "userns-clone", OK, "is 1", ""},
		{"apparmor restricts, no smoke", func(f *Facts) { f.AppArmor = Knob{Present: true, Value: 1} },
			"apparmor-userns", Warn, "smoke test was not run", "echo kernel.apparmor_restrict_unprivileged_userns=0 | sudo tee -a /etc/sysctl.d/90-bwrap-oci.conf && sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0"},
		{"apparmor restricts, smoke fails", func(f *Facts) {
			f.AppArmor = Knob{Present: true, Value: 1}
			f.Smoke = &Smoke{Err: "bwrap: setting up uid map: Permission denied"}
		}, "apparmor-userns", Fail, "AppArmor profile", "echo kernel.apparmor_restrict_unprivileged_userns=0 | sudo tee -a /etc/sysctl.d/90-bwrap-oci.conf && sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0"},
		{"apparmor restricts, smoke works", func(f *Facts) {
			f.AppArmor = Knob{Present: true, Value: 1}
			f.Smoke = &Smoke{OK: true}
		}, "apparmor-userns", OK, "profile allows it", ""},
		{"no subuid range", func(f *Facts) { f.SubUID.Ranges = nil },
			"subuid", Warn, "no range for alice in /etc/subuid", "sudo usermod --add-subuids 231072-296607 alice"},
		{"no subgid range, no name", func(f *Facts) { f.SubGID.Ranges = nil; f.User.Name = "" },
			"subgid", Warn, "no range for 1000", "echo 1000:231072:65536 | sudo tee -a /etc/subgid"},
		{"subuid unreadable", func(f *Facts) { f.SubUID.Err = "reading subordinate ids: open /etc/subuid: permission denied" },
			"subuid", Fail, "permission denied", "sudo chmod 0644 /etc/subuid"},
		{"newuidmap missing", func(f *Facts) { f.NewUIDMap = Helper{Name: "newuidmap"} },
			"newuidmap", Fail, "not found", "sudo apt-get install uidmap"},
		{"newuidmap missing, not needed", func(f *Facts) { f.NewUIDMap = Helper{Name: "newuidmap"}; f.SubUID.Ranges = nil },
			"newuidmap", Warn, "needed only", "sudo apt-get install uidmap"},
		{"newuidmap not setuid", func(f *Facts) { f.NewUIDMap.Setuid = false; f.NewUIDMap.Path = "/tmp/x/newuidmap" },
			"newuidmap", Fail, "/tmp/x/newuidmap is not setuid root and has no cap_setuid", "sudo chmod u+s /tmp/x/newuidmap"},
		{"newgidmap setuid, owned by a user", func(f *Facts) { f.NewGIDMap.OwnerUID = 1000 },
			"newgidmap", Fail, "owned by uid 1000", "sudo chown root:root /usr/bin/newgidmap && sudo chmod u+s /usr/bin/newgidmap"},
		{"newuidmap file capability", func(f *Facts) { f.NewUIDMap.Setuid = false; f.NewUIDMap.Cap = true },
			"newuidmap", OK, "cap_setuid file capability", ""},
		{"newuidmap nosuid mount", func(f *Facts) { f.NewUIDMap.NoSuid = true },
			"newuidmap", Fail, "nosuid", `sudo mount -o remount,suid "$(findmnt -no TARGET -T /usr/bin/newuidmap)"`},
		{"newuidmap not executable", func(f *Facts) { f.NewUIDMap.Exec = false },
			"newuidmap", Fail, "not executable", "sudo chmod 4755 /usr/bin/newuidmap"},
		{"newuidmap as root", func(f *Facts) { f.NewUIDMap.Setuid = false; f.User.Root = true },
			"newuidmap", OK, "not needed as root", ""},
		{"no XDG_RUNTIME_DIR, default exists", func(f *Facts) { f.RuntimeDir.Set = false },
			"xdg-runtime-dir", Fail, "not set", "export XDG_RUNTIME_DIR=/run/user/1000"},
		{"no XDG_RUNTIME_DIR, no default", func(f *Facts) { f.RuntimeDir.Set = false; f.RuntimeDir.DefaultOK = false },
			"xdg-runtime-dir", Fail, "not set", "sudo install -d -m 0700 -o 1000 -g 1000 /run/user/1000 && export XDG_RUNTIME_DIR=/run/user/1000"},
		{"XDG_RUNTIME_DIR missing", func(f *Facts) { f.RuntimeDir.Path = "/run/user/x y"; f.RuntimeDir.Exists = false },
			"xdg-runtime-dir", Fail, "does not exist", "sudo install -d -m 0700 -o 1000 -g 1000 '/run/user/x y'"},
		{"XDG_RUNTIME_DIR someone else's", func(f *Facts) { f.RuntimeDir.Owner = 0 },
			"xdg-runtime-dir", Fail, "belongs to uid 0", "sudo chown 1000:1000 /run/user/1000"},
		{"XDG_RUNTIME_DIR mode", func(f *Facts) { f.RuntimeDir.Perm = 0o755 },
			"xdg-runtime-dir", Warn, "mode 0755", "chmod 0700 /run/user/1000"},
		{"XDG_RUNTIME_DIR relative", func(f *Facts) { f.RuntimeDir.Path = "run" },
			"xdg-runtime-dir", Fail, "not an absolute path", "export XDG_RUNTIME_DIR=/run/user/1000"},
		{"--root given", func(f *Facts) { f.RuntimeDir = RuntimeDir{RootFlag: "/tmp/s"} },
			"xdg-runtime-dir", OK, "--root /tmp/s", ""},
		{"cgroup not delegated, systemd", func(f *Facts) { f.Cgroup.Procs = false },
			"cgroup", Warn, "write cgroup.procs", "systemd-run --user --scope -p Delegate=yes $SHELL"},
		{"cgroup not delegated, no systemd", func(f *Facts) {
			f.Systemd = false
			f.Cgroup = Cgroup{Mount: "/sys/fs/cgroup/unified", Path: "/", Dir: "/sys/fs/cgroup/unified"}
		}, "cgroup", Warn, "not delegated", "sudo mkdir -p /sys/fs/cgroup/unified/alice && sudo chown -R 1000:1000 /sys/fs/cgroup/unified/alice && echo $$ | sudo tee /sys/fs/cgroup/unified/alice/cgroup.procs"},
		{"no cgroup v2", func(f *Facts) { f.Cgroup = Cgroup{Path: "/"} },
			"cgroup", Warn, "no cgroup v2", "sudo mkdir -p /sys/fs/cgroup/unified && sudo mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified"},
		{"init needs cgroup", func(f *Facts) {
			f.Cgroup.SubtreeControl = false
			f.Bundle = bundle(*f)
			f.Bundle.Init = "process.args[0] /sbin/init is an init"
		}, "cgroup", Fail, "needed: process.args[0] /sbin/init", "systemd-run --user --scope -p Delegate=yes $SHELL"},
		{"tun missing", func(f *Facts) { f.Tun = Tun{} }, "tun", Warn, "does not exist", "sudo modprobe tun"},
		{"tun not rw", func(f *Facts) { f.Tun.RW = false }, "tun", Warn, "cannot be opened", "sudo chmod 0666 /dev/net/tun"},
		{"smoke fails, explained", func(f *Facts) {
			f.NewUIDMap.Setuid = false
			f.Smoke = &Smoke{Helpers: true, Err: "newuidmap failed: newuidmap: write to uid_map failed: Operation not permitted"}
		}, "smoke", Fail, "(see newuidmap)", "sudo chmod u+s /usr/bin/newuidmap"},
		{"smoke fails, unexplained", func(f *Facts) { f.Smoke = &Smoke{Err: "bwrap: something odd"} },
			"smoke", Fail, "something odd", ""},
		{"bad config", func(f *Facts) { f.Bundle = &Bundle{File: "/b/config.json", Err: "/b/config.json: process: missing"} },
			"config", Fail, "process: missing", ""},
		{"missing rootfs", func(f *Facts) {
			f.Bundle = bundle(*f)
			f.Bundle.RootfsErr = "/b/config.json: root.path: directory /b/rootfs does not exist"
		}, "config", Fail, "does not exist", ""},
		{"config fine", func(f *Facts) { f.Bundle = bundle(*f) }, "config-ids", OK, "65537 uids and 65537 gids", ""},
		{"config maps too many uids", func(f *Facts) {
			f.Bundle = bundle(*f)
			f.Bundle.ConfUIDs = []idmap.Mapping{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 165536, Size: 100000}}
			f.Bundle.MapErr = "linux.uidMappings[1]: host ids 165536-265535 are outside your own uid 1000 and your subordinate ranges (165536-231071)"
		}, "config-ids", Fail, "outside your own uid", "sudo usermod --del-subuids 165536-231071 --add-subuids 165536-265535 alice"},
		{"config maps ids of another user", func(f *Facts) {
			f.Bundle = bundle(*f)
			f.Bundle.ConfUIDs = []idmap.Mapping{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 65536}}
			f.Bundle.MapErr = "linux.uidMappings[1]: host ids 100000-165535 are outside ..."
		}, "config-ids", Fail, "outside", ""},
		{"config maps fresh ids", func(f *Facts) {
			f.Bundle = bundle(*f)
			f.Bundle.ConfGIDs = []idmap.Mapping{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 500000, Size: 1000}}
			f.Bundle.MapErr = "linux.gidMappings[1]: host ids 500000-500999 are outside ..."
		}, "config-ids", Fail, "outside", "sudo usermod --add-subgids 500000-500999 alice"},
		{"process uid not mapped by the config", func(f *Facts) {
			f.Bundle = bundle(*f)
			f.Bundle.ConfUIDs = []idmap.Mapping{{ContainerID: 0, HostID: 1000, Size: 1}}
			f.Bundle.ProcessUID = 5
			f.Bundle.MapErr = "process.user.uid: 5 is not mapped by linux.uidMappings"
		}, "config-ids", Fail, "not mapped", ""},
		{"config with own ids only", func(f *Facts) {
			f.SubUID.Ranges, f.SubGID.Ranges = nil, nil
			f.Bundle = bundle(*f)
			f.Bundle.UIDMap, f.Bundle.GIDMap = idmap.Single(0, 1000), idmap.Single(0, 1000)
			f.Bundle.MapWarn = "no subordinate id range for alice"
		}, "config-ids", Warn, "no subordinate", "sudo usermod --add-subuids 231072-296607 --add-subgids 231072-296607 alice"},
		{"joins a user namespace", func(f *Facts) {
			f.Bundle = bundle(*f)
			f.Bundle.NewUserNS, f.Bundle.JoinUserNS = false, "/proc/42/ns/user"
		}, "config-ids", OK, "joins the user namespace /proc/42/ns/user", ""},
		{"kernel without time namespaces", func(f *Facts) {
			f.Bundle = bundle(*f)
			f.Bundle.Namespaces = append(f.Bundle.Namespaces, Namespace{Type: "time"})
			delete(f.KernelNS, "time")
		}, "namespaces", Fail, "no time namespaces", ""},
		{"join a mount namespace", func(f *Facts) {
			f.Bundle = bundle(*f)
			f.Bundle.Namespaces[1] = Namespace{Type: "mount", Path: "/proc/9/ns/mnt"}
		}, "namespaces", Fail, "cannot join an existing mount namespace", ""},
		{"join a network namespace", func(f *Facts) {
			f.Bundle = bundle(*f)
			f.Bundle.Namespaces = append(f.Bundle.Namespaces, Namespace{Type: "network", Path: "/run/netns/x"})
		}, "namespaces", OK, "network (join /run/netns/x)", ""},
		{"root in a user namespace with XDG_RUNTIME_DIR", func(f *Facts) {
			f.User.Root, f.User.InitUserNS, f.User.UID, f.User.GID = true, false, 0, 0
			f.RuntimeDir.Owner = 5
		}, "xdg-runtime-dir", Fail, "belongs to uid 5", "sudo chown 0:0 /run/user/1000"},
		{"root without XDG_RUNTIME_DIR", func(f *Facts) { f.User.Root = true; f.RuntimeDir.Set = false },
			"xdg-runtime-dir", OK, "/run/bwrap-oci", ""},
		{"join a missing pid namespace", func(f *Facts) {
			f.Bundle = bundle(*f)
			f.Bundle.Namespaces[0] = Namespace{Type: "pid", Path: "/proc/9/ns/pid", PathErr: "pid namespace /proc/9/ns/pid: no such file or directory"}
		}, "namespaces", Fail, "no such file", ""},
		{"implicit user namespace", func(f *Facts) {
			f.Bundle = bundle(*f)
			f.Bundle.Namespaces = f.Bundle.Namespaces[:2]
		}, "namespaces", OK, "plus a user namespace", ""},
		{"root", func(f *Facts) { f.User.Root = true }, "user", Warn, "running as root", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := good()
			c.mod(&f)
			rs := Evaluate(f)
			r, ok := find(rs, c.check)
			if !ok {
				t.Fatalf("no %s result in %v", c.check, rs)
			}
			if r.Status != c.status {
				t.Errorf("status %s, want %s (found %q)", r.Status, c.status, r.Found)
			}
			if !strings.Contains(r.Found, c.found) {
				t.Errorf("found %q, want it to contain %q", r.Found, c.found)
			}
			if r.Fix != c.fix {
				t.Errorf("fix\n got %q\nwant %q", r.Fix, c.fix)
			}
			if OKAll(rs) != (c.status != Fail) && c.status == Fail {
				t.Errorf("OKAll = %v with a failure", OKAll(rs))
			}
		})
	}
}

func TestEvaluateOnlyWarningsStillOK(t *testing.T) {
	f := good()
	f.SubUID.Ranges, f.SubGID.Ranges = nil, nil
	f.NewUIDMap.Setuid, f.NewGIDMap.Setuid = false, false
	f.Tun = Tun{}
	f.Cgroup.Procs = false
	rs := Evaluate(f)
	if !OKAll(rs) {
		t.Errorf("a host without subordinate ids can still run single-id containers: %v", rs)
	}
	for _, n := range []string{"subuid", "subgid", "newuidmap", "newgidmap", "tun", "cgroup"} {
		if r, _ := find(rs, n); r.Status != Warn {
			t.Errorf("%s: %s, want warn", n, r.Status)
		}
	}
}

func TestHasFileCap(t *testing.T) {
	le := func(ws ...uint32) []byte {
		var b []byte
		for _, w := range ws {
			b = append(b, byte(w), byte(w>>8), byte(w>>16), byte(w>>24))
		}
		return b
	}
	const setuid, setgid = 7, 6
	cases := []struct {
		name string
		data []byte
		bit  uint
		want bool
		err  bool
	}{
		{"v2 cap_setuid+ep", le(0x02000001, 1<<7, 0, 0, 0), setuid, true, false},
		{"v2 cap_setuid+ep asks setgid", le(0x02000001, 1<<7, 0, 0, 0), setgid, false, false},
		{"v2 cap_setuid+p (no effective)", le(0x02000000, 1<<7, 0, 0, 0), setuid, false, false},
		{"v2 inheritable only", le(0x02000001, 0, 1<<7, 0, 0), setuid, false, false},
		{"v1 cap_setgid+ep", le(0x01000001, 1<<6, 0), setgid, true, false},
		{"v3 rootid 0", le(0x03000001, 1<<7|1<<6, 0, 0, 0, 0), setgid, true, false},
		{"v3 namespaced", le(0x03000001, 1<<7, 0, 0, 0, 100000), setuid, false, false},
		{"high bit in word 1", le(0x02000001, 0, 0, 1<<(38-32), 0), 38, true, false},
		{"short", []byte{1, 2}, setuid, false, true},
		{"v2 truncated", le(0x02000001, 1<<7), setuid, false, true},
		{"unknown revision", le(0x09000001, 1<<7, 0), setuid, false, true},
	}
	for _, c := range cases {
		got, err := hasFileCap(c.data, c.bit)
		if got != c.want || (err != nil) != c.err {
			t.Errorf("%s: got %v, %v; want %v, error %v", c.name, got, err, c.want, c.err)
		}
	}
}

func TestParsers(t *testing.T) {
	if got := parseProcCgroup("12:pids:/x\n0::/user.slice/a b\n"); got != "/user.slice/a b" {
		t.Errorf("parseProcCgroup = %q", got)
	}
	if got := parseProcCgroup("4:memory:/x\n"); got != "" {
		t.Errorf("parseProcCgroup (v1 only) = %q", got)
	}
	mi := "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw\n" +
		"41 31 0:38 /sub /sys/fs/cgroup/uni\\040fied rw,relatime shared:9 - cgroup2 cgroup2 rw\n"
	m, root := parseCgroup2Mount(mi)
	if m != "/sys/fs/cgroup/uni fied" || root != "/sub" {
		t.Errorf("parseCgroup2Mount = %q, %q", m, root)
	}
	if m, _ := parseCgroup2Mount("31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n"); m != "" {
		t.Errorf("parseCgroup2Mount without cgroup2 = %q", m)
	}
	for _, c := range []struct{ mount, root, path, want string }{
		{"/sys/fs/cgroup", "/", "/user.slice", "/sys/fs/cgroup/user.slice"},
		{"/sys/fs/cgroup", "/sub", "/sub/x", "/sys/fs/cgroup/x"},
		{"/sys/fs/cgroup", "/sub", "/subway", "/sys/fs/cgroup/subway"},
		{"/sys/fs/cgroup/unified", "/", "/", "/sys/fs/cgroup/unified"},
	} {
		if got := cgroupDir(c.mount, c.root, c.path); got != c.want {
			t.Errorf("cgroupDir(%q, %q, %q) = %q, want %q", c.mount, c.root, c.path, got, c.want)
		}
	}
	es := parseEntries([]byte("# c\nalice:100000:65536\r\nbad\nbob:x:1\ncarl:1:0\n\ndave:200000:10\neve:+1:2\n"))
	if fmt.Sprint(es) != "[{alice 100000 65536} {dave 200000 10}]" {
		t.Errorf("parseEntries = %v", es)
	}
	if !isIdentityMap("         0          0 4294967295\n") || isIdentityMap("0 1000 1\n") {
		t.Error("isIdentityMap")
	}
}

func TestCoverChange(t *testing.T) {
	u := User{UID: 1000, Name: "alice"}
	mine := []idmap.Range{{Start: 165536, Length: 65536}, {Start: 300000, Length: 10}}
	all := []Entry{{"bob", 100000, 65536}, {"alice", 165536, 65536}, {"alice", 300000, 10}, {"carl", 400000, 10}}
	cases := []struct {
		name string
		need []span
		ok   bool
		want string
	}{
		{"extends one range", []span{{165536, 265536}}, true, "del [{165536 231072}] add [{165536 265536}]"},
		{"bridges two ranges", []span{{231000, 300005}}, true, "del [{165536 231072} {300000 300010}] add [{165536 300010}]"},
		{"fresh", []span{{500000, 500100}}, true, "del [] add [{500000 500100}]"},
		{"another user's", []span{{399990, 400001}}, false, ""},
		{"past the largest id", []span{{4294967000, 4294967296}}, false, ""},
	}
	for _, c := range cases {
		got, ok := coverChange("uid", c.need, mine, all, u)
		if ok != c.ok {
			t.Errorf("%s: ok %v", c.name, ok)
			continue
		}
		if !ok {
			continue
		}
		if s := fmt.Sprintf("del %v add %v", fmtSpans(got.del), fmtSpans(got.add)); s != c.want {
			t.Errorf("%s: %s, want %s", c.name, s, c.want)
		}
	}
}

func fmtSpans(ss []span) string {
	if len(ss) == 0 {
		return "[]"
	}
	return fmt.Sprint(ss)
}

func TestOutput(t *testing.T) {
	rs := []Result{
		{Name: "user", Status: OK, Found: "alice"},
		{Name: "newuidmap", Status: Fail, Found: "not setuid", Fix: "sudo chmod u+s /x"},
		{Name: "tun", Status: Warn, Found: "missing", Fix: "sudo modprobe tun"},
	}
	var b bytes.Buffer
	if err := WriteText(&b, rs); err != nil {
		t.Fatal(err)
	}
	want := "ok    user       alice\n" +
		"fail  newuidmap  not setuid\n" +
		"      fix: sudo chmod u+s /x\n" +
		"warn  tun        missing\n" +
		"      fix: sudo modprobe tun\n"
	if b.String() != want {
		t.Errorf("text:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	if err := WriteJSON(&b, rs); err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal(b.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.OK || len(rep.Results) != 3 || rep.Results[1].Fix != "sudo chmod u+s /x" {
		t.Errorf("json: %+v", rep)
	}
}

func TestRelevantAndPick(t *testing.T) {
	he := &idmap.HelperError{Helper: "newgidmap", Stderr: "newgidmap: write to gid_map failed: Operation not permitted"}
	cases := []struct {
		err  error
		want string // first relevant check; "" for none
	}{
		{nil, ""},
		{fmt.Errorf("wrapped: %w", he), "newgidmap"},
		{&idmap.HelperError{Helper: "newuidmap"}, "newuidmap"},
		{errors.New("bwrap not found (bwrap): install bubblewrap"), "bwrap"},
		{errors.New("bwrap failed before the container started (exit status 1)"), "userns"},
		{errors.New("bwrap is setuid root: it cannot create a user namespace with more than one id mapped"), "bwrap-setuid"},
		{errors.New("XDG_RUNTIME_DIR is not set: set it"), "xdg-runtime-dir"},
		{errors.New("/b/config.json: linux.gidMappings[1]: host ids 1-2 are outside your own gid 1000 and your subordinate ranges"), "subgid"},
		{errors.New("/b/config.json: process.args: must not be empty"), ""},
	}
	for _, c := range cases {
		got := relevant(c.err)
		first := ""
		if len(got) > 0 {
			first = got[0]
		}
		if first != c.want {
			t.Errorf("relevant(%v) = %v, want first %q", c.err, got, c.want)
		}
	}
	f := good()
	f.NewGIDMap.Setuid = false
	d := pick(Evaluate(f), relevant(he))
	want := "host check newgidmap: /usr/bin/newgidmap is not setuid root and has no cap_setgid file capability; fix: sudo chmod u+s /usr/bin/newgidmap"
	if d != want {
		t.Errorf("pick:\n got %q\nwant %q", d, want)
	}
	f = good()
	f.SubGID.Ranges = nil
	if d := pick(Evaluate(f), relevant(errors.New("linux.gidMappings[1]: host ids 1-2 are outside your own gid 1000 and you have no subordinate gid range (see /etc/subgid)"))); !strings.HasPrefix(d, "host check subgid: no range") {
		t.Errorf("pick warn: %q", d)
	}
	if d := pick(Evaluate(good()), relevant(he)); d != "" {
		t.Errorf("pick on a good host = %q, want nothing", d)
	}
	err := &diagnosed{err: he, diag: "host check x: y"}
	if !errors.Is(err, he) || !strings.HasSuffix(err.Error(), "; host check x: y") {
		t.Errorf("diagnosed: %v", err)
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{"/usr/bin/x": "/usr/bin/x", "a b": "'a b'", "it's": `'it'\''s'`, "": "''"} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %q, want %q", in, got, want)
		}
	}
}
