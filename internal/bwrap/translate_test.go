package bwrap

import (
	"errors"
	"github.com/bwrap-oci/bwrap-oci/internal/idmap"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/bwrap-oci/bwrap-oci/internal/spec"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

type translateCase struct {
	name  string
	spec  func(s *specs.Spec)     // edits spec.Default(true, ...)
	raw   func(m map[string]any)  // edits its JSON form
	in    func(in *Input)         // edits the input
	err   string                  // the error's field, when Translate must fail
	check func(*testing.T, *Plan) // when it must succeed
}

func runTranslateCases(t *testing.T, cases []translateCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := spec.Default(true, testUIDMap, testGIDMap)
			if tc.spec != nil {
				tc.spec(s)
			}
			in := input(config(t, s, tc.raw))
			if tc.in != nil {
				tc.in(&in)
			}
			p, err := Translate(in)
			if tc.err != "" {
				var e *spec.Error
				if !errors.As(err, &e) {
					t.Fatalf("Translate = %v, %v; want a *spec.Error on %s", p, err, tc.err)
				}
				if e.Field != tc.err || e.File != "config.json" {
					t.Errorf("error on %s:%s, want config.json:%s (%v)", e.File, e.Field, tc.err, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Translate: %v", err)
			}
			checkPlan(t, p)
			if !slices.Equal(p.Command, s.Process.Args) {
				t.Errorf("Command = %q, want %q", p.Command, s.Process.Args)
			}
			if tc.check != nil {
				tc.check(t, p)
			}
		})
	}
}

// only keeps the namespaces of the given types (in that order).
func only(types ...specs.LinuxNamespaceType) func(s *specs.Spec) {
	return func(s *specs.Spec) {
		s.Linux.Namespaces = nil
		for _, typ := range types {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: typ})
		}
		if !slices.Contains(types, specs.UTSNamespace) {
			s.Hostname = ""
		}
		if !slices.Contains(types, specs.IPCNamespace) {
			s.Mounts = slices.DeleteFunc(s.Mounts, func(m specs.Mount) bool { return m.Type == "mqueue" })
		}
		if !slices.Contains(types, specs.PIDNamespace) {
			s.Mounts = slices.DeleteFunc(s.Mounts, func(m specs.Mount) bool { return m.Type == "proc" })
		}
	}
}

func withMounts(ms ...specs.Mount) func(s *specs.Spec) {
	return func(s *specs.Spec) { s.Mounts = ms }
}

func TestTranslateNamespaces(t *testing.T) {
	flags := []struct {
		typ   specs.LinuxNamespaceType
		flags []string
	}{
		{specs.UserNamespace, []string{"--unshare-user"}},
		{specs.PIDNamespace, []string{"--unshare-pid", "--as-pid-1"}},
		{specs.NetworkNamespace, []string{"--unshare-net"}},
		{specs.IPCNamespace, []string{"--unshare-ipc"}},
		{specs.UTSNamespace, []string{"--unshare-uts"}},
		{specs.CgroupNamespace, []string{"--unshare-cgroup"}},
		{specs.MountNamespace, nil}, // bwrap always has one
	}
	allFlags := []string{"--unshare-pid", "--as-pid-1", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup"}
	var cases []translateCase
	for _, f := range flags {
		cases = append(cases, translateCase{
			name: string(f.typ),
			spec: only(slices.Compact(slices.Sorted(slices.Values([]specs.LinuxNamespaceType{specs.UserNamespace, specs.MountNamespace, f.typ})))...),
			check: func(t *testing.T, p *Plan) {
				for _, flag := range allFlags {
					if got, want := p.Has(flag), slices.Contains(f.flags, flag); got != want {
						t.Errorf("%s: has %s = %v, want %v", f.typ, flag, got, want)
					}
				}
				if len(p.Values("--unshare-user")) != 1 || !p.NewUserNS {
					t.Errorf("user namespace: %v, NewUserNS %v", p.Values("--unshare-user"), p.NewUserNS)
				}
				if p.PIDNS != (f.typ == specs.PIDNamespace) {
					t.Errorf("PIDNS = %v", p.PIDNS)
				}
				if p.Join != nil {
					t.Errorf("Join = %v", p.Join)
				}
				wantFindings(t, p)
			},
		})
	}
	cases = append(cases,
		translateCase{name: "user and pid paths",
			spec: func(s *specs.Spec) {
				s.Linux.Namespaces[0].Path = "/proc/42/ns/pid"
				s.Linux.Namespaces[6].Path = "/proc/42/ns/user"
			},
			check: func(t *testing.T, p *Plan) {
				want := map[string]string{"user": "/proc/42/ns/user", "pid": "/proc/42/ns/pid"}
				if !reflect.DeepEqual(p.Join, want) {
					t.Errorf("Join = %v, want %v", p.Join, want)
				}
				for _, o := range []string{"--unshare-user", "--unshare-pid", "--as-pid-1"} {
					if p.Has(o) {
						t.Errorf("has %s", o)
					}
				}
				if p.NewUserNS || p.PIDNS || p.UIDMap != nil || p.GIDMap != nil {
					t.Errorf("NewUserNS %v PIDNS %v maps %v %v", p.NewUserNS, p.PIDNS, p.UIDMap, p.GIDMap)
				}
				if !reflect.DeepEqual(p.Values("--uid"), [][]string{{"0"}}) || !reflect.DeepEqual(p.Values("--gid"), [][]string{{"0"}}) {
					t.Errorf("--uid %v --gid %v", p.Values("--uid"), p.Values("--gid"))
				}
				// The config's mappings cannot apply to a joined namespace.
				wantFindings(t, p, "linux.uidMappings", "linux.gidMappings")
			}},
		translateCase{name: "pid path only",
			spec: func(s *specs.Spec) { s.Linux.Namespaces[0].Path = "/proc/42/ns/pid" },
			check: func(t *testing.T, p *Plan) {
				if !reflect.DeepEqual(p.Join, map[string]string{"pid": "/proc/42/ns/pid"}) || !p.NewUserNS {
					t.Errorf("Join = %v, NewUserNS %v", p.Join, p.NewUserNS)
				}
				if p.Has("--unshare-pid") || p.Has("--as-pid-1") || p.PIDNS {
					t.Error("a joined pid namespace is unshared")
				}
				if !p.Has("--proc") {
					t.Error("no --proc in a joined pid namespace")
				}
				wantFindings(t, p)
			}},
		translateCase{name: "network ipc uts cgroup paths",
			spec: func(s *specs.Spec) {
				s.Linux.Namespaces[1].Path = "/proc/1/ns/ipc"
				s.Linux.Namespaces[2].Path = "/proc/1/ns/uts"
				s.Linux.Namespaces[4].Path = "/run/netns/x"
				s.Linux.Namespaces[5].Path = "/proc/1/ns/cgroup"
			},
			check: func(t *testing.T, p *Plan) {
				// The runtime joins these itself, before starting bwrap.
				want := map[string]string{"ipc": "/proc/1/ns/ipc", "uts": "/proc/1/ns/uts", "network": "/run/netns/x", "cgroup": "/proc/1/ns/cgroup"}
				if !reflect.DeepEqual(p.Join, want) {
					t.Errorf("Join = %v, want %v", p.Join, want)
				}
				for _, o := range []string{"--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup"} {
					if p.Has(o) {
						t.Errorf("has %s", o)
					}
				}
				if !p.Has("--unshare-user") || !p.Has("--unshare-pid") {
					t.Errorf("opts %v", p.Opts)
				}
				// bwrap sets a hostname only with --unshare-uts.
				if p.Has("--hostname") {
					t.Errorf("--hostname %v in a joined uts namespace", p.Values("--hostname"))
				}
				wantFindings(t, p, "hostname")
			}},
		translateCase{name: "mount path", spec: func(s *specs.Spec) { s.Linux.Namespaces[3].Path = "/proc/1/ns/mnt" }, err: "linux.namespaces[3].path"},
		translateCase{name: "time path",
			spec: func(s *specs.Spec) {
				s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace, Path: "/proc/1/ns/time"})
			}, err: "linux.namespaces[7].path"},
		translateCase{name: "time",
			spec: func(s *specs.Spec) {
				s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace})
			},
			check: func(t *testing.T, p *Plan) { wantFindings(t, p, "linux.namespaces[7]") }},
		translateCase{name: "no user namespace, unprivileged",
			spec: only(specs.PIDNamespace, specs.MountNamespace),
			check: func(t *testing.T, p *Plan) {
				if !p.Has("--unshare-user") || !p.NewUserNS || !reflect.DeepEqual(p.UIDMap, toIdmap(testUIDMap)) {
					t.Errorf("no new user namespace: NewUserNS %v UIDMap %v", p.NewUserNS, p.UIDMap)
				}
				// bwrap-oci makes the user namespace the config lacks and maps
				// it with the config's mappings (the edge checked them).
				wantFindings(t, p, "linux.namespaces")
			}},
		translateCase{name: "joined user namespace, gid mappings only",
			spec: func(s *specs.Spec) {
				s.Linux.Namespaces[6].Path = "/proc/42/ns/user"
				s.Linux.UIDMappings = nil
			},
			check: func(t *testing.T, p *Plan) { wantFindings(t, p, "linux.gidMappings") }},
		translateCase{name: "no user namespace, root in a user namespace",
			spec: func(s *specs.Spec) {
				only(specs.PIDNamespace, specs.MountNamespace)(s)
				s.Linux.UIDMappings, s.Linux.GIDMappings = nil, nil
				s.Process.User.UID, s.Process.User.GID = 1000, 100
			},
			in: func(in *Input) { in.Root, in.UID, in.GID = true, 0, 0 },
			check: func(t *testing.T, p *Plan) {
				// bwrap needs a user namespace to set the ids.
				if !p.Has("--unshare-user") || !p.NewUserNS || !reflect.DeepEqual(p.UIDMap, toIdmap(testUIDMap)) {
					t.Errorf("no new user namespace: NewUserNS %v UIDMap %v", p.NewUserNS, p.UIDMap)
				}
				if !reflect.DeepEqual(p.Values("--uid"), [][]string{{"1000"}}) || !reflect.DeepEqual(p.Values("--gid"), [][]string{{"100"}}) {
					t.Errorf("--uid %v --gid %v", p.Values("--uid"), p.Values("--gid"))
				}
				wantFindings(t, p)
			}},
		translateCase{name: "no user namespace, root on the host",
			spec: func(s *specs.Spec) {
				only(specs.PIDNamespace, specs.MountNamespace)(s)
				s.Linux.UIDMappings, s.Linux.GIDMappings = nil, nil
			},
			in: func(in *Input) { in.Root, in.HostRoot, in.UID, in.GID = true, true, 0, 0 },
			check: func(t *testing.T, p *Plan) {
				if !p.Has("--unshare-user") || !p.NewUserNS {
					t.Errorf("no new user namespace: %v", p.Opts)
				}
				// bwrap run by root starts with every capability.
				if d := index(p, "--cap-drop", "ALL"); d < 0 || d > index(p, "--cap-add") {
					t.Errorf("--cap-drop ALL at %d: %v", d, p.Opts)
				}
				wantFindings(t, p, "linux.namespaces")
			}},
		translateCase{name: "no mount namespace",
			spec: only(specs.UserNamespace, specs.PIDNamespace),
			check: func(t *testing.T, p *Plan) {
				wantFindings(t, p, "linux.namespaces")
			}},
		translateCase{name: "no linux section",
			spec: func(s *specs.Spec) { s.Linux = nil; s.Hostname = "" },
			check: func(t *testing.T, p *Plan) {
				if !p.Has("--unshare-user") || p.Has("--unshare-pid") {
					t.Errorf("opts %v", p.Opts)
				}
				// Without a pid namespace, proc is the host's, read-only; no
				// ipc namespace, no mqueue.
				if index(p, "--ro-bind", "/proc", "/proc") < 0 || p.Has("--mqueue") {
					t.Errorf("proc/mqueue: %v", p.Opts)
				}
			}},
	)
	runTranslateCases(t, cases)
}

func TestTranslateProcess(t *testing.T) {
	runTranslateCases(t, []translateCase{
		{name: "user ids",
			spec: func(s *specs.Spec) { s.Process.User.UID, s.Process.User.GID = 1000, 100 },
			check: func(t *testing.T, p *Plan) {
				if !reflect.DeepEqual(p.Values("--uid"), [][]string{{"1000"}}) || !reflect.DeepEqual(p.Values("--gid"), [][]string{{"100"}}) {
					t.Errorf("--uid %v --gid %v", p.Values("--uid"), p.Values("--gid"))
				}
			}},
		{name: "hostname",
			check: func(t *testing.T, p *Plan) {
				if !reflect.DeepEqual(p.Values("--hostname"), [][]string{{"bwrap-oci"}}) {
					t.Errorf("--hostname %v", p.Values("--hostname"))
				}
			}},
		{name: "no hostname",
			spec: func(s *specs.Spec) { s.Hostname = "" },
			check: func(t *testing.T, p *Plan) {
				if p.Has("--hostname") {
					t.Error("--hostname without a hostname")
				}
			}},
		{name: "env",
			spec: func(s *specs.Spec) { s.Process.Env = []string{"A=b=c", "EMPTY=", "SP=a b", "A=again"} },
			check: func(t *testing.T, p *Plan) {
				want := [][]string{{"A", "b=c"}, {"EMPTY", ""}, {"SP", "a b"}, {"A", "again"}}
				if !reflect.DeepEqual(p.Values("--setenv"), want) {
					t.Errorf("--setenv %q, want %q", p.Values("--setenv"), want)
				}
				if len(p.Values("--clearenv")) != 1 {
					t.Errorf("--clearenv %d times", len(p.Values("--clearenv")))
				}
			}},
		{name: "no env",
			spec: func(s *specs.Spec) { s.Process.Env = nil },
			check: func(t *testing.T, p *Plan) {
				if !p.Has("--clearenv") || p.Has("--setenv") {
					t.Errorf("opts %v", p.Opts)
				}
			}},
		{name: "cwd",
			spec: func(s *specs.Spec) { s.Process.Cwd = "/home/u" },
			check: func(t *testing.T, p *Plan) {
				if !reflect.DeepEqual(p.Values("--chdir"), [][]string{{"/home/u"}}) {
					t.Errorf("--chdir %v", p.Values("--chdir"))
				}
			}},
		{name: "terminal false",
			check: func(t *testing.T, p *Plan) {
				if !p.Has("--new-session") || p.Terminal {
					t.Errorf("--new-session %v Terminal %v", p.Has("--new-session"), p.Terminal)
				}
			}},
		{name: "terminal true",
			spec: func(s *specs.Spec) { s.Process.Terminal = true },
			check: func(t *testing.T, p *Plan) {
				if p.Has("--new-session") || !p.Terminal {
					t.Errorf("--new-session %v Terminal %v", p.Has("--new-session"), p.Terminal)
				}
				wantFindings(t, p)
			}},
		{name: "consoleSize with terminal",
			spec: func(s *specs.Spec) {
				s.Process.Terminal = true
				s.Process.ConsoleSize = &specs.Box{Height: 24, Width: 80}
			},
			check: func(t *testing.T, p *Plan) { wantFindings(t, p, "process.consoleSize") }},
		{name: "consoleSize without terminal",
			spec:  func(s *specs.Spec) { s.Process.ConsoleSize = &specs.Box{Height: 24, Width: 80} },
			check: func(t *testing.T, p *Plan) { wantFindings(t, p) }},
		{name: "noNewPrivileges false",
			spec:  func(s *specs.Spec) { s.Process.NoNewPrivileges = false },
			check: func(t *testing.T, p *Plan) { wantFindings(t, p, "process.noNewPrivileges") }},
		{name: "additionalGids empty",
			raw:   func(m map[string]any) { sub(sub(m, "process"), "user")["additionalGids"] = []any{} },
			check: func(t *testing.T, p *Plan) { wantFindings(t, p) }},
		{name: "additionalGids own gid",
			spec:  func(s *specs.Spec) { s.Process.User.GID = 5; s.Process.User.AdditionalGids = []uint32{5} },
			check: func(t *testing.T, p *Plan) { wantFindings(t, p) }},
		// Supplementary groups are set by the credentials helper.
		{name: "additionalGids other",
			spec: func(s *specs.Spec) { s.Process.User.AdditionalGids = []uint32{0, 10} },
			check: func(t *testing.T, p *Plan) {
				wantFindings(t, p)
				if p.Creds == nil || !reflect.DeepEqual(p.Creds.Groups, []uint32{0, 10}) || !p.Creds.SetGroups {
					t.Errorf("Creds = %+v, want groups [0 10] set", p.Creds)
				}
			}},
		{name: "additionalGids one other",
			spec: func(s *specs.Spec) { s.Process.User.AdditionalGids = []uint32{10} },
			check: func(t *testing.T, p *Plan) {
				wantFindings(t, p)
				if p.Creds == nil || !reflect.DeepEqual(p.Creds.Groups, []uint32{10}) {
					t.Errorf("Creds = %+v, want groups [10]", p.Creds)
				}
			}},
		{name: "additionalGids not mapped",
			spec: func(s *specs.Spec) { s.Process.User.AdditionalGids = []uint32{70000} },
			err:  "process.user.additionalGids[0]"},
		{name: "additionalGids with a single-id gid map",
			spec: func(s *specs.Spec) { s.Process.User.AdditionalGids = []uint32{0, 5} },
			in: func(in *Input) {
				in.GIDMap = []idmap.Mapping{{ContainerID: 0, HostID: in.GID, Size: 1}}
			},
			err: "process.user.additionalGids[1]"},
		{name: "rlimits",
			spec: func(s *specs.Spec) {
				s.Process.Rlimits = append(s.Process.Rlimits,
					specs.POSIXRlimit{Type: "RLIMIT_NPROC", Soft: 10, Hard: 20},
					specs.POSIXRlimit{Type: "RLIMIT_CPU", Soft: 0, Hard: 0},
					specs.POSIXRlimit{Type: "RLIMIT_RTTIME", Soft: 1, Hard: 1 << 62})
			},
			check: func(t *testing.T, p *Plan) {
				want := []Rlimit{
					{Field: "process.rlimits[0]", Resource: 7, Soft: 1024, Hard: 1024},
					{Field: "process.rlimits[1]", Resource: 6, Soft: 10, Hard: 20},
					{Field: "process.rlimits[2]", Resource: 0, Soft: 0, Hard: 0},
					{Field: "process.rlimits[3]", Resource: 15, Soft: 1, Hard: 1 << 62},
				}
				if !reflect.DeepEqual(p.Rlimits, want) {
					t.Errorf("Rlimits = %+v, want %+v", p.Rlimits, want)
				}
				wantFindings(t, p)
			}},
		{name: "oomScoreAdj and umask",
			spec: func(s *specs.Spec) {
				v := -500
				s.Process.OOMScoreAdj = &v
				u := uint32(0o077)
				s.Process.User.Umask = &u
			},
			check: func(t *testing.T, p *Plan) {
				if p.OOMScoreAdj == nil || *p.OOMScoreAdj != -500 || p.Umask == nil || *p.Umask != 0o077 {
					t.Errorf("OOMScoreAdj %v Umask %v", p.OOMScoreAdj, p.Umask)
				}
				wantFindings(t, p)
			}},
		{name: "no oomScoreAdj, no umask",
			spec: func(s *specs.Spec) { s.Process.User.Umask = nil },
			check: func(t *testing.T, p *Plan) {
				if p.OOMScoreAdj != nil || p.Umask != nil {
					t.Errorf("OOMScoreAdj %v Umask %v", p.OOMScoreAdj, p.Umask)
				}
			}},
		{name: "oomScoreAdj 0 is carried",
			spec: func(s *specs.Spec) { v := 0; s.Process.OOMScoreAdj = &v },
			check: func(t *testing.T, p *Plan) {
				if p.OOMScoreAdj == nil || *p.OOMScoreAdj != 0 {
					t.Errorf("OOMScoreAdj %v", p.OOMScoreAdj)
				}
			}},
		{name: "apparmor selinux username",
			spec: func(s *specs.Spec) {
				s.Process.ApparmorProfile, s.Process.SelinuxLabel, s.Process.User.Username = "p", "l", "u"
			},
			check: func(t *testing.T, p *Plan) {
				wantFindings(t, p, "process.apparmorProfile", "process.selinuxLabel", "process.user.username")
			}},
	})
}

func TestTranslateRoot(t *testing.T) {
	runTranslateCases(t, []translateCase{
		{name: "root bind first",
			spec: func(s *specs.Spec) {
				s.Mounts = append([]specs.Mount{{Destination: "/data", Type: "bind", Source: "data"}}, s.Mounts...)
			},
			check: func(t *testing.T, p *Plan) {
				r := index(p, "--bind", testRootfs, "/")
				if r < 0 || r > index(p, "--bind", testBundle+"/data", "/data") || r > index(p, "--proc") || r > index(p, "--dev") {
					t.Errorf("root bind at %d: %v", r, p.Opts)
				}
				if len(p.Values("--bind")) != 2 { // rootfs, data (/sys and cgroup are read-only)
					t.Errorf("--bind %v", p.Values("--bind"))
				}
				if p.Has("--remount-ro") && index(p, "--remount-ro", "/") >= 0 {
					t.Error("--remount-ro / without root.readonly")
				}
			}},
		{name: "readonly root",
			spec: func(s *specs.Spec) {
				s.Root.Readonly = true
				s.Mounts = append(s.Mounts, specs.Mount{Destination: "/data", Type: "bind", Source: "data"})
			},
			check: func(t *testing.T, p *Plan) {
				i := index(p, "--remount-ro", "/")
				if i < 0 || len(p.Values("--remount-ro")) < 2 {
					t.Fatalf("no --remount-ro /: %v", p.Opts)
				}
				for j, o := range p.Opts[i+1:] {
					if mountOps[o.Name] {
						t.Errorf("mount %v after --remount-ro / (at %d)", o, i+1+j)
					}
				}
				wantFindings(t, p)
			}},
		{name: "rootfsPropagation rslave",
			spec:  func(s *specs.Spec) { s.Linux.RootfsPropagation = "rslave" },
			check: func(t *testing.T, p *Plan) { wantFindings(t, p) }},
		{name: "rootfsPropagation rprivate",
			spec:  func(s *specs.Spec) { s.Linux.RootfsPropagation = "rprivate" },
			check: func(t *testing.T, p *Plan) { wantFindings(t, p, "linux.rootfsPropagation") }},
		{name: "rootfsPropagation shared",
			spec:  func(s *specs.Spec) { s.Linux.RootfsPropagation = "shared" },
			check: func(t *testing.T, p *Plan) { wantFindings(t, p, "linux.rootfsPropagation") }},
	})
}

func TestTranslateMounts(t *testing.T) {
	proc := specs.Mount{Destination: "/proc", Type: "proc", Source: "proc"}
	runTranslateCases(t, []translateCase{
		{name: "bind relative source",
			spec: withMounts(specs.Mount{Destination: "/data/", Type: "bind", Source: "data", Options: []string{"rbind"}}),
			check: func(t *testing.T, p *Plan) {
				if index(p, "--bind", testBundle+"/data", "/data") < 0 {
					t.Errorf("--bind %v", p.Values("--bind"))
				}
				wantFindings(t, p)
			}},
		{name: "bind absolute source, type none",
			spec: withMounts(specs.Mount{Destination: "/src", Type: "none", Source: "/home/u/src", Options: []string{"rbind", "rw", "nosuid", "nodev", "rslave"}}),
			check: func(t *testing.T, p *Plan) {
				if index(p, "--bind", "/home/u/src", "/src") < 0 {
					t.Errorf("--bind %v", p.Values("--bind"))
				}
				wantFindings(t, p)
			}},
		{name: "bind ro",
			spec: withMounts(specs.Mount{Destination: "/etc/f", Source: "file.txt", Options: []string{"bind", "ro"}}),
			check: func(t *testing.T, p *Plan) {
				if !reflect.DeepEqual(p.Values("--ro-bind"), [][]string{{testBundle + "/file.txt", "/etc/f"}}) {
					t.Errorf("--ro-bind %v", p.Values("--ro-bind"))
				}
				if len(p.Values("--bind")) != 1 {
					t.Errorf("--bind %v", p.Values("--bind"))
				}
				wantFindings(t, p) // "bind" on a file is not a recursion problem
			}},
		{name: "bind dev",
			spec: withMounts(specs.Mount{Destination: "/dev/fuse", Type: "bind", Source: "/dev/fuse", Options: []string{"dev"}}),
			check: func(t *testing.T, p *Plan) {
				if index(p, "--dev-bind", "/dev/fuse", "/dev/fuse") < 0 || index(p, "--remount-ro", "/dev/fuse") >= 0 {
					t.Errorf("opts %v", p.Opts)
				}
			}},
		{name: "bind dev ro",
			spec: withMounts(specs.Mount{Destination: "/d", Type: "bind", Source: "data", Options: []string{"rbind", "dev", "ro"}}),
			check: func(t *testing.T, p *Plan) {
				// Read-only wins; bwrap's ro binds are nodev.
				if index(p, "--ro-bind", testBundle+"/data", "/d") < 0 || index(p, "--dev-bind", testBundle+"/data") >= 0 {
					t.Errorf("opts %v", p.Opts)
				}
				wantFindings(t, p, "mounts[0].options")
			}},
		{name: "bind rprivate",
			spec:  withMounts(specs.Mount{Destination: "/d", Type: "bind", Source: "data", Options: []string{"rbind", "rprivate"}}),
			check: func(t *testing.T, p *Plan) { wantFindings(t, p, "mounts[0].options") }},
		{name: "bind non-recursive directory",
			spec:  withMounts(specs.Mount{Destination: "/d", Type: "bind", Source: "data", Options: []string{"bind"}}),
			check: func(t *testing.T, p *Plan) { wantFindings(t, p, "mounts[0].options") }},
		{name: "bind missing source",
			spec: withMounts(proc, specs.Mount{Destination: "/d", Type: "bind", Source: "nope"}),
			err:  "mounts[1].source"},
		{name: "bind no source",
			spec: withMounts(specs.Mount{Destination: "/d", Type: "bind"}),
			err:  "mounts[0].source"},
		{name: "bind noexec",
			spec: withMounts(proc, specs.Mount{Destination: "/d", Type: "bind", Source: "data", Options: []string{"rbind", "noexec", "nosuid"}}),
			check: func(t *testing.T, p *Plan) {
				wantFindings(t, p, "mounts[1].options")
				if f, _ := finding(p, "mounts[1].options"); !strings.Contains(f.Msg, "noexec") || strings.Contains(f.Msg, "nosuid") || f.Unknown {
					t.Errorf("finding %+v", f)
				}
				if index(p, "--bind", testBundle+"/data", "/d") < 0 {
					t.Error("the mount is still made")
				}
			}},
		{name: "tmpfs size",
			spec: withMounts(specs.Mount{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}}),
			check: func(t *testing.T, p *Plan) {
				i := index(p, "--tmpfs", "/tmp")
				if i < 1 || !reflect.DeepEqual(p.Opts[i-1], Opt{Name: "--size", Args: []string{"1048576"}}) {
					t.Errorf("opts %v", p.Opts)
				}
				if p.Has("--perms") {
					t.Error("--perms without mode")
				}
				wantFindings(t, p)
			}},
		{name: "tmpfs size and mode",
			spec: withMounts(specs.Mount{Destination: "/tmp", Type: "tmpfs", Options: []string{"mode=1777", "nosuid", "size=65536k", "nodev"}}),
			check: func(t *testing.T, p *Plan) {
				i := index(p, "--tmpfs", "/tmp")
				before := p.Opts[i-2 : i]
				if !slices.ContainsFunc(before, func(o Opt) bool { return reflect.DeepEqual(o, Opt{"--perms", []string{"1777"}}) }) ||
					!slices.ContainsFunc(before, func(o Opt) bool { return reflect.DeepEqual(o, Opt{"--size", []string{"67108864"}}) }) {
					t.Errorf("before --tmpfs: %v", before)
				}
				wantFindings(t, p)
			}},
		{name: "tmpfs mode 755",
			spec: withMounts(specs.Mount{Destination: "/run", Type: "tmpfs", Options: []string{"mode=755"}}),
			check: func(t *testing.T, p *Plan) {
				if !reflect.DeepEqual(p.Values("--perms"), [][]string{{"0755"}}) {
					t.Errorf("--perms %v", p.Values("--perms"))
				}
			}},
		{name: "two tmpfs",
			spec: withMounts(
				specs.Mount{Destination: "/a", Type: "tmpfs", Options: []string{"size=1k"}},
				specs.Mount{Destination: "/b", Type: "tmpfs"}),
			check: func(t *testing.T, p *Plan) {
				a, b := index(p, "--tmpfs", "/a"), index(p, "--tmpfs", "/b")
				if index(p, "--size", "1024") != a-1 || p.Opts[b-1].Name == "--size" {
					t.Errorf("opts %v", p.Opts)
				}
			}},
		{name: "tmpfs size and mode twice",
			spec: withMounts(specs.Mount{Destination: "/tmp", Type: "tmpfs", Options: []string{"size=1k", "mode=700", "size=2k", "mode=1777"}}),
			check: func(t *testing.T, p *Plan) {
				// The last ones count, and bwrap takes each once.
				if !reflect.DeepEqual(p.Values("--size"), [][]string{{"2048"}}) || !reflect.DeepEqual(p.Values("--perms"), [][]string{{"1777"}}) {
					t.Errorf("--size %v --perms %v", p.Values("--size"), p.Values("--perms"))
				}
			}},
		{name: "tmpfs ro",
			spec: withMounts(specs.Mount{Destination: "/tmp", Type: "tmpfs", Options: []string{"ro"}}),
			check: func(t *testing.T, p *Plan) {
				if i := index(p, "--tmpfs", "/tmp"); i < 0 || index(p, "--remount-ro", "/tmp") != i+1 {
					t.Errorf("opts %v", p.Opts)
				}
			}},
		{name: "tmpfs noexec",
			spec:  withMounts(specs.Mount{Destination: "/tmp", Type: "tmpfs", Options: []string{"noexec", "nr_inodes=5"}}),
			check: func(t *testing.T, p *Plan) { wantFindings(t, p, "mounts[0].options") }},
		{name: "tmpfs size percent",
			spec: withMounts(specs.Mount{Destination: "/tmp", Type: "tmpfs", Options: []string{"size=50%"}}),
			err:  "mounts[0].options"},
		{name: "tmpfs bad mode",
			spec: withMounts(specs.Mount{Destination: "/tmp", Type: "tmpfs", Options: []string{"mode=999"}}),
			err:  "mounts[0].options"},
		{name: "tmpfs mode too large",
			spec: withMounts(specs.Mount{Destination: "/tmp", Type: "tmpfs", Options: []string{"mode=17777"}}),
			err:  "mounts[0].options"},
		{name: "dev tmpfs",
			spec: withMounts(specs.Mount{Destination: "/dev", Type: "tmpfs", Options: []string{"nosuid", "mode=755"}}),
			check: func(t *testing.T, p *Plan) {
				if !reflect.DeepEqual(p.Values("--dev"), [][]string{{"/dev"}}) || index(p, "--tmpfs", "/dev") >= 0 {
					t.Errorf("opts %v", p.Opts)
				}
				if p.Has("--dev-bind") { // the default devices come with --dev
					t.Errorf("--dev-bind %v", p.Values("--dev-bind"))
				}
				wantFindings(t, p)
			}},
		{name: "dev tmpfs with size",
			spec:  withMounts(specs.Mount{Destination: "/dev", Type: "tmpfs", Options: []string{"size=1m"}}),
			check: func(t *testing.T, p *Plan) { wantFindings(t, p, "mounts[0].options") }},
		{name: "no dev tmpfs: default devices bound",
			spec: withMounts(),
			check: func(t *testing.T, p *Plan) {
				for _, d := range []string{"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"} {
					if index(p, "--dev-bind", d, d) < 0 {
						t.Errorf("%s not bound", d)
					}
				}
			}},
		{name: "proc with pid namespace",
			spec: withMounts(specs.Mount{Destination: "/proc", Type: "proc", Options: []string{"nosuid", "noexec", "nodev"}}),
			check: func(t *testing.T, p *Plan) {
				if !reflect.DeepEqual(p.Values("--proc"), [][]string{{"/proc"}}) {
					t.Errorf("--proc %v", p.Values("--proc"))
				}
				wantFindings(t, p)
			}},
		{name: "proc without pid namespace",
			spec: func(s *specs.Spec) {
				s.Linux.Namespaces = slices.DeleteFunc(s.Linux.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == specs.PIDNamespace })
				s.Mounts = []specs.Mount{proc}
			},
			check: func(t *testing.T, p *Plan) {
				if p.Has("--proc") || index(p, "--ro-bind", "/proc", "/proc") < 0 {
					t.Errorf("opts %v", p.Opts)
				}
				wantFindings(t, p, "mounts[0]")
			}},
		{name: "proc without pid namespace as root",
			spec: func(s *specs.Spec) {
				s.Linux.Namespaces = slices.DeleteFunc(s.Linux.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == specs.PIDNamespace })
				s.Mounts = []specs.Mount{proc}
			},
			in: func(in *Input) { in.Root = true },
			check: func(t *testing.T, p *Plan) {
				// Even root: the container is in a new user namespace.
				if p.Has("--proc") || index(p, "--ro-bind", "/proc", "/proc") < 0 {
					t.Errorf("opts %v", p.Opts)
				}
				wantFindings(t, p, "mounts[0]")
			}},
		{name: "sysfs",
			spec: withMounts(specs.Mount{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"ro", "nosuid"}}),
			check: func(t *testing.T, p *Plan) {
				if index(p, "--ro-bind", "/sys", "/sys") < 0 {
					t.Errorf("opts %v", p.Opts)
				}
				wantFindings(t, p, "mounts[0]")
			}},
		{name: "sysfs rw",
			spec: withMounts(specs.Mount{Destination: "/sys", Type: "sysfs"}),
			check: func(t *testing.T, p *Plan) {
				if index(p, "--bind", "/sys", "/sys") < 0 {
					t.Errorf("opts %v", p.Opts)
				}
			}},
		{name: "mqueue",
			spec: withMounts(specs.Mount{Destination: "/dev/mqueue", Type: "mqueue"}),
			check: func(t *testing.T, p *Plan) {
				if !reflect.DeepEqual(p.Values("--mqueue"), [][]string{{"/dev/mqueue"}}) {
					t.Errorf("opts %v", p.Opts)
				}
				wantFindings(t, p)
			}},
		{name: "mqueue without ipc namespace",
			spec: func(s *specs.Spec) {
				s.Linux.Namespaces = slices.DeleteFunc(s.Linux.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == specs.IPCNamespace })
				s.Mounts = []specs.Mount{{Destination: "/dev/mqueue", Type: "mqueue"}}
			},
			check: func(t *testing.T, p *Plan) {
				if p.Has("--mqueue") {
					t.Error("--mqueue without an ipc namespace")
				}
				wantFindings(t, p, "mounts[0]")
			}},
		{name: "cgroup",
			spec: withMounts(specs.Mount{Destination: "/sys/fs/cgroup", Type: "cgroup2", Options: []string{"ro", "relatime"}}),
			check: func(t *testing.T, p *Plan) {
				if index(p, "--ro-bind", "/sys/fs/cgroup", "/sys/fs/cgroup") < 0 {
					t.Errorf("opts %v", p.Opts)
				}
				wantFindings(t, p, "mounts[0]")
			}},
		{name: "devpts outside /dev tmpfs",
			spec:  withMounts(specs.Mount{Destination: "/dev/pts", Type: "devpts"}),
			check: func(t *testing.T, p *Plan) { wantFindings(t, p, "mounts[0]") }},
		{name: "devpts with other options",
			spec: withMounts(specs.Mount{Destination: "/dev", Type: "tmpfs"},
				specs.Mount{Destination: "/dev/pts", Type: "devpts", Options: []string{"gid=5", "mode=0600"}}),
			check: func(t *testing.T, p *Plan) { wantFindings(t, p, "mounts[1].options") }},
		{name: "unknown type",
			spec: withMounts(proc, specs.Mount{Destination: "/mnt", Type: "overlay", Source: "overlay"}),
			check: func(t *testing.T, p *Plan) {
				wantFindings(t, p, "mounts[1].type")
				if f, _ := finding(p, "mounts[1].type"); f.Unknown {
					t.Error("an unsupported mount type is reported as an unknown property")
				}
			}},
		{name: "mount order kept",
			spec: withMounts(
				specs.Mount{Destination: "/a", Type: "tmpfs"},
				specs.Mount{Destination: "/a/b", Type: "bind", Source: "data"},
				specs.Mount{Destination: "/a/b/c", Type: "tmpfs"}),
			check: func(t *testing.T, p *Plan) {
				a, b, c := index(p, "--tmpfs", "/a"), index(p, "--bind", testBundle+"/data", "/a/b"), index(p, "--tmpfs", "/a/b/c")
				if !(0 < a && a < b && b < c) {
					t.Errorf("order %d %d %d", a, b, c)
				}
			}},
	})
}

func TestTranslatePaths(t *testing.T) {
	base := []specs.Mount{
		{Destination: "/proc", Type: "proc"},
		{Destination: "/dev", Type: "tmpfs"},
		{Destination: "/dev/shm", Type: "tmpfs"},
		{Destination: "/tmp", Type: "tmpfs"},
		{Destination: "/sys", Type: "bind", Source: "/sys", Options: []string{"rbind", "ro"}},
	}
	paths := func(masked, readonly []string) func(s *specs.Spec) {
		return func(s *specs.Spec) {
			s.Mounts = slices.Clone(base)
			s.Linux.MaskedPaths, s.Linux.ReadonlyPaths = masked, readonly
		}
	}
	runTranslateCases(t, []translateCase{
		{name: "masked file",
			spec: paths([]string{"/proc/kcore", "/etc/shadow"}, nil),
			check: func(t *testing.T, p *Plan) {
				for _, f := range []string{"/proc/kcore", "/etc/shadow"} {
					if index(p, "--dev-bind", "/dev/null", f) < 0 {
						t.Errorf("%s not masked: %v", f, p.Opts)
					}
				}
				wantFindings(t, p)
			}},
		{name: "masked dir",
			spec: paths([]string{"/proc/acpi", "/sys/firmware", "/etc"}, nil),
			check: func(t *testing.T, p *Plan) {
				for _, d := range []string{"/proc/acpi", "/sys/firmware", "/etc"} {
					i := index(p, "--tmpfs", d)
					if i < 0 || index(p, "--remount-ro", d) != i+1 {
						t.Errorf("%s not masked: %v", d, p.Opts)
					}
					if p.Opts[i-1].Name == "--size" || p.Opts[i-1].Name == "--perms" {
						t.Errorf("%s: a modifier precedes the mask", d)
					}
				}
				wantFindings(t, p)
			}},
		{name: "masked missing",
			spec: paths([]string{"/proc/nope", "/usr/nope"}, nil),
			check: func(t *testing.T, p *Plan) {
				if index(p, "--dev-bind", "/dev/null") >= 0 || index(p, "--tmpfs", "/proc/nope") >= 0 || index(p, "--tmpfs", "/usr/nope") >= 0 {
					t.Errorf("a missing path is masked: %v", p.Opts)
				}
				wantFindings(t, p)
			}},
		{name: "masked inside a new tmpfs",
			spec:  paths([]string{"/tmp/x"}, nil),
			check: func(t *testing.T, p *Plan) { wantFindings(t, p, "linux.maskedPaths[0]") }},
		{name: "masked new tmpfs mount point",
			spec: paths([]string{"/dev/shm/"}, nil),
			check: func(t *testing.T, p *Plan) {
				// A mount point of a new tmpfs is a directory: it must be
				// masked, or reported, never silently left.
				i := len(p.Values("--tmpfs"))
				if i != 3 || index(p, "--remount-ro", "/dev/shm") < 0 {
					t.Errorf("/dev/shm not masked: %v", p.Opts)
				}
				wantFindings(t, p)
			}},
		{name: "readonly under proc",
			spec: paths(nil, []string{"/proc/sys", "/proc/sysrq-trigger", "/proc/nope"}),
			check: func(t *testing.T, p *Plan) {
				want := [][]string{{"/sys", "/sys"}, {"/proc/sys", "/proc/sys"}, {"/proc/sysrq-trigger", "/proc/sysrq-trigger"}}
				if !reflect.DeepEqual(p.Values("--ro-bind"), want) {
					t.Errorf("--ro-bind %v, want %v", p.Values("--ro-bind"), want)
				}
				wantFindings(t, p)
			}},
		{name: "readonly mount points",
			spec: paths(nil, []string{"/tmp", "/sys"}),
			check: func(t *testing.T, p *Plan) {
				want := [][]string{{"/tmp"}, {"/sys"}}
				if !reflect.DeepEqual(p.Values("--remount-ro"), want) {
					t.Errorf("--remount-ro %v, want %v", p.Values("--remount-ro"), want)
				}
				if index(p, "--remount-ro", "/tmp") < index(p, "--tmpfs", "/tmp") {
					t.Error("remounted before mounted")
				}
			}},
		{name: "readonly in rootfs",
			spec: paths(nil, []string{"/etc", "/usr/nope"}),
			check: func(t *testing.T, p *Plan) {
				if index(p, "--ro-bind", testRootfs+"/etc", "/etc") < 0 || index(p, "--ro-bind", testRootfs+"/usr/nope") >= 0 {
					t.Errorf("--ro-bind %v", p.Values("--ro-bind"))
				}
				wantFindings(t, p)
			}},
		{name: "readonly inside a new tmpfs",
			spec:  paths(nil, []string{"/tmp/x", "/dev/pts"}),
			check: func(t *testing.T, p *Plan) { wantFindings(t, p, "linux.readonlyPaths[0]", "linux.readonlyPaths[1]") }},
		{name: "readonly above a mount",
			spec: func(s *specs.Spec) {
				paths(nil, []string{"/", "/usr", "/proc/sys"})(s)
				s.Mounts = append(s.Mounts, specs.Mount{Destination: "/usr/local", Type: "bind", Source: "data"})
			},
			check: func(t *testing.T, p *Plan) {
				// A bind of / or /usr would hide /usr/local (and the rest).
				if index(p, "--ro-bind", testRootfs, "/") >= 0 || index(p, "--ro-bind", testRootfs+"/usr") >= 0 {
					t.Errorf("--ro-bind %v", p.Values("--ro-bind"))
				}
				wantFindings(t, p, "linux.readonlyPaths[0]", "linux.readonlyPaths[1]")
			}},
		{name: "readonly above device binds",
			spec: func(s *specs.Spec) {
				paths(nil, []string{"/dev"})(s)
				s.Mounts = slices.DeleteFunc(s.Mounts, func(m specs.Mount) bool { return m.Destination == "/dev" || m.Destination == "/dev/shm" })
			},
			in: func(in *Input) { in.Host.(fakeHost).kinds[testRootfs+"/dev"] = Dir },
			check: func(t *testing.T, p *Plan) {
				if index(p, "--ro-bind", testRootfs+"/dev", "/dev") >= 0 {
					t.Errorf("--ro-bind %v", p.Values("--ro-bind"))
				}
				wantFindings(t, p, "linux.readonlyPaths[0]")
			}},
		{name: "readonly then masked",
			spec: paths([]string{"/proc/kcore"}, []string{"/proc/sys"}),
			check: func(t *testing.T, p *Plan) {
				if r, m := index(p, "--ro-bind", "/proc/sys"), index(p, "--dev-bind", "/dev/null", "/proc/kcore"); r < 0 || m < r {
					t.Errorf("readonly at %d, masked at %d", r, m)
				}
			}},
	})
}

var defaultCaps = [][]string{{"CAP_KILL"}, {"CAP_NET_BIND_SERVICE"}, {"CAP_AUDIT_WRITE"}}

func TestTranslateCapabilities(t *testing.T) {
	runTranslateCases(t, []translateCase{
		{name: "default",
			check: func(t *testing.T, p *Plan) {
				if !reflect.DeepEqual(p.Values("--cap-add"), defaultCaps) {
					t.Errorf("--cap-add %v, want %v", p.Values("--cap-add"), defaultCaps)
				}
				if p.Has("--cap-drop") {
					t.Error("--cap-drop in a user namespace")
				}
				wantFindings(t, p)
			}},
		{name: "root, inheritable and ambient empty",
			spec: func(s *specs.Spec) { s.Process.Capabilities.Inheritable, s.Process.Capabilities.Ambient = nil, nil },
			check: func(t *testing.T, p *Plan) {
				if !reflect.DeepEqual(p.Values("--cap-add"), defaultCaps) {
					t.Errorf("--cap-add %v, want %v", p.Values("--cap-add"), defaultCaps)
				}
				wantFindings(t, p, "process.capabilities.inheritable", "process.capabilities.ambient")
			}},
		{name: "non-root, ambient empty",
			spec: func(s *specs.Spec) { s.Process.User.UID = 1000; s.Process.Capabilities.Ambient = nil },
			in:   ruleFor1000,
			check: func(t *testing.T, p *Plan) {
				if p.Has("--cap-add") {
					t.Errorf("--cap-add %v", p.Values("--cap-add"))
				}
				for _, f := range []string{"process.capabilities.ambient"} {
					if _, ok := finding(p, f); ok {
						t.Errorf("finding on %s", f)
					}
				}
			}},
		{name: "non-root, five equal sets",
			spec: func(s *specs.Spec) { s.Process.User.UID = 1000 },
			in:   ruleFor1000,
			check: func(t *testing.T, p *Plan) {
				if !reflect.DeepEqual(p.Values("--cap-add"), defaultCaps) {
					t.Errorf("--cap-add %v", p.Values("--cap-add"))
				}
				wantFindings(t, p)
			}},
		{name: "no capabilities",
			spec: func(s *specs.Spec) { s.Process.Capabilities = nil },
			check: func(t *testing.T, p *Plan) {
				if p.Has("--cap-add") {
					t.Errorf("--cap-add %v", p.Values("--cap-add"))
				}
				wantFindings(t, p)
			}},
		{name: "beyond the kernel's last capability",
			spec: func(s *specs.Spec) {
				c := s.Process.Capabilities
				for _, l := range []*[]string{&c.Bounding, &c.Effective, &c.Permitted, &c.Inheritable, &c.Ambient} {
					*l = append(*l, "CAP_CHECKPOINT_RESTORE", "CAP_BPF")
				}
			},
			in: func(in *Input) { in.Features.LastCap = 38 },
			check: func(t *testing.T, p *Plan) {
				if !reflect.DeepEqual(p.Values("--cap-add"), defaultCaps) {
					t.Errorf("--cap-add %v", p.Values("--cap-add"))
				}
				wantFindings(t, p, "process.capabilities.bounding", "process.capabilities.effective",
					"process.capabilities.permitted", "process.capabilities.inheritable", "process.capabilities.ambient")
				if f, _ := finding(p, "process.capabilities.bounding"); !strings.Contains(f.Msg, "CAP_CHECKPOINT_RESTORE,CAP_BPF") {
					t.Errorf("finding %v", f)
				}
			}},
		{name: "last capability known",
			spec: func(s *specs.Spec) {
				c := s.Process.Capabilities
				for _, l := range []*[]string{&c.Bounding, &c.Effective, &c.Permitted, &c.Inheritable, &c.Ambient} {
					*l = []string{"CAP_CHECKPOINT_RESTORE"}
				}
			},
			in: func(in *Input) { in.Features.LastCap = 40 },
			check: func(t *testing.T, p *Plan) {
				if !reflect.DeepEqual(p.Values("--cap-add"), [][]string{{"CAP_CHECKPOINT_RESTORE"}}) {
					t.Errorf("--cap-add %v", p.Values("--cap-add"))
				}
				wantFindings(t, p)
			}},
		{name: "root caller without user namespace",
			spec: func(s *specs.Spec) {
				only(specs.PIDNamespace, specs.MountNamespace)(s)
				s.Linux.UIDMappings, s.Linux.GIDMappings = nil, nil
			},
			in: func(in *Input) {
				in.Root, in.UID, in.GID = true, 0, 0
				in.UIDMap = []idmap.Mapping{{ContainerID: 0, HostID: 0, Size: 65536}}
				in.GIDMap = in.UIDMap
			},
			check: func(t *testing.T, p *Plan) {
				d := index(p, "--cap-drop", "ALL")
				if d < 0 || d > index(p, "--cap-add") || !reflect.DeepEqual(p.Values("--cap-add"), defaultCaps) {
					t.Errorf("opts %v", p.Opts)
				}
				wantFindings(t, p)
			}},
		{name: "process uid not mapped to the caller: credentials helper",
			spec: func(s *specs.Spec) {
				s.Process.User.UID, s.Process.User.GID = 1000, 1000
				s.Process.Capabilities.Ambient = nil
			},
			check: func(t *testing.T, p *Plan) {
				// bwrap would run the process as root (the caller's uid maps
				// to 0): the helper must set the ids and the exact sets.
				c := p.Creds
				if c == nil || c.UID != 1000 || c.GID != 1000 || len(c.Ambient) != 0 || len(c.Bounding) != 3 || len(c.Effective) != 3 {
					t.Fatalf("Creds = %+v", c)
				}
				if !reflect.DeepEqual(p.Values("--cap-add"), [][]string{{"ALL"}}) {
					t.Errorf("--cap-add %v, want ALL for the helper", p.Values("--cap-add"))
				}
				wantFindings(t, p)
			}},
		{name: "root caller, identity maps, process uid 1000",
			spec: func(s *specs.Spec) {
				only(specs.PIDNamespace, specs.MountNamespace)(s)
				s.Linux.UIDMappings, s.Linux.GIDMappings = nil, nil
				s.Process.User.UID = 1000
			},
			in: func(in *Input) {
				in.Root, in.UID, in.GID = true, 0, 0
				in.UIDMap = []idmap.Mapping{{ContainerID: 0, HostID: 0, Size: 65536}}
				in.GIDMap = in.UIDMap
			},
			check: func(t *testing.T, p *Plan) {
				if p.Creds == nil || p.Creds.UID != 1000 || index(p, "--cap-drop", "ALL") < 0 {
					t.Errorf("Creds = %+v, opts %v", p.Creds, p.Opts)
				}
			}},
		{name: "credentials helper needs /proc",
			spec: func(s *specs.Spec) {
				s.Process.User.UID = 1000
				s.Mounts = s.Mounts[1:] // drop proc
			},
			err: "process.user"},
	})
}

// ruleFor1000 maps container uid 1000 to the caller, as the rule does.
func ruleFor1000(in *Input) {
	in.UIDMap = idmap.Rule(1000, in.UID, idmap.Range{Start: 100000, Length: 65536})
}

func TestTranslateFindings(t *testing.T) {
	unknown := func(field string, want bool) func(*testing.T, *Plan) {
		return func(t *testing.T, p *Plan) {
			wantFindings(t, p, field)
			if f, _ := finding(p, field); f.Unknown != want {
				t.Errorf("%s: Unknown = %v, want %v", field, f.Unknown, want)
			}
		}
	}
	runTranslateCases(t, []translateCase{
		{name: "sysctl",
			spec: func(s *specs.Spec) {
				s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1", "kernel.msgmax": "8192"}
			},
			check: func(t *testing.T, p *Plan) {
				wantFindings(t, p, "linux.sysctl.kernel.msgmax", "linux.sysctl.net.ipv4.ip_forward")
			}},
		{name: "resources",
			spec: func(s *specs.Spec) {
				n := int64(10)
				s.Linux.Resources = &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: &n}}
			},
			check: unknown("linux.resources", false)},
		{name: "cgroupsPath",
			spec:  func(s *specs.Spec) { s.Linux.CgroupsPath = "/a" },
			check: unknown("linux.cgroupsPath", false)},
		{name: "seccomp",
			spec: func(s *specs.Spec) {
				s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActErrno}}}
			},
			check: func(t *testing.T, p *Plan) {
				wantFindings(t, p)
				if len(p.Seccomp) == 0 || len(p.Seccomp)%8 != 0 {
					t.Errorf("Seccomp program of %d bytes", len(p.Seccomp))
				}
			}},
		{name: "seccomp notify",
			spec: func(s *specs.Spec) {
				s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActNotify}}}
			},
			check: func(t *testing.T, p *Plan) {
				if len(p.Findings) == 0 || !strings.HasPrefix(p.Findings[0].Field, "linux.seccomp") {
					t.Errorf("findings %v, want one on linux.seccomp", p.Findings)
				}
			}},
		{name: "mountLabel",
			spec:  func(s *specs.Spec) { s.Linux.MountLabel = "x" },
			check: unknown("linux.mountLabel", false)},
		{name: "hooks",
			spec:  func(s *specs.Spec) { s.Hooks = &specs.Hooks{Poststart: []specs.Hook{{Path: "/bin/true"}}} },
			check: func(t *testing.T, p *Plan) { wantFindings(t, p) }},
		{name: "hooks before pivot_root are approximated",
			spec: func(s *specs.Spec) {
				s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/true"}}, CreateContainer: []specs.Hook{{Path: "/bin/true"}}}
			},
			check: func(t *testing.T, p *Plan) { wantFindings(t, p, "hooks.createRuntime", "hooks.createContainer") }},
		{name: "domainname",
			spec:  func(s *specs.Spec) { s.Domainname = "example.com" },
			check: unknown("domainname", false)},
		{name: "devices on the host",
			spec: func(s *specs.Spec) {
				s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229}, {Path: "/dev/null", Type: "c", Major: 1, Minor: 3}}
			},
			check: func(t *testing.T, p *Plan) {
				if index(p, "--dev-bind", "/dev/fuse", "/dev/fuse") < 0 || index(p, "--dev-bind", "/dev/null", "/dev/null") >= 0 {
					t.Errorf("--dev-bind %v", p.Values("--dev-bind"))
				}
				wantFindings(t, p)
			}},
		{name: "device with mode and owner",
			spec: func(s *specs.Spec) {
				mode, uid := os.FileMode(0o600), uint32(0)
				s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229, FileMode: &mode, UID: &uid}}
			},
			check: func(t *testing.T, p *Plan) {
				if index(p, "--dev-bind", "/dev/fuse", "/dev/fuse") < 0 {
					t.Errorf("--dev-bind %v", p.Values("--dev-bind"))
				}
				wantFindings(t, p, "linux.devices[0]")
			}},
		{name: "devices not on the host",
			spec: func(s *specs.Spec) {
				s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 1}, {Path: "/dev/p", Type: "p"}}
			},
			check: func(t *testing.T, p *Plan) {
				if index(p, "--dev-bind", "/dev/fuse") >= 0 || index(p, "--dev-bind", "/dev/p") >= 0 {
					t.Errorf("--dev-bind %v", p.Values("--dev-bind"))
				}
				wantFindings(t, p, "linux.devices[0]", "linux.devices[1]")
			}},
		{name: "unknown top-level property",
			raw:   func(m map[string]any) { m["foo"] = 1 },
			check: unknown("foo", true)},
		{name: "unknown top-level object",
			raw:   func(m map[string]any) { m["foo"] = map[string]any{"bar": []any{1, 2}} },
			check: unknown("foo.bar", true)},
		{name: "unknown process property",
			raw:   func(m map[string]any) { sub(m, "process")["bar"] = "x" },
			check: unknown("process.bar", true)},
		{name: "unknown linux property",
			raw:   func(m map[string]any) { sub(m, "linux")["bar"] = true },
			check: unknown("linux.bar", true)},
		{name: "unknown root property",
			raw:   func(m map[string]any) { sub(m, "root")["bar"] = true },
			check: unknown("root.bar", true)},
		{name: "unknown process.user property",
			raw:   func(m map[string]any) { sub(sub(m, "process"), "user")["bar"] = 1 },
			check: unknown("process.user.bar", true)},
		{name: "unknown mount property is part of the mount",
			raw: func(m map[string]any) {
				m["mounts"].([]any)[0].(map[string]any)["bar"] = 1
			},
			check: unknown("mounts", true)},
		{name: "annotations",
			spec:  func(s *specs.Spec) { s.Annotations = map[string]string{"a.b": "c"} },
			check: func(t *testing.T, p *Plan) { wantFindings(t, p) }},
		{name: "scheduler",
			spec:  func(s *specs.Spec) { s.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedOther} },
			check: unknown("process.scheduler.policy", false)},
		{name: "ioPriority",
			spec: func(s *specs.Spec) {
				s.Process.IOPriority = &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 1}
			},
			check: func(t *testing.T, p *Plan) {
				wantFindings(t, p, "process.ioPriority.class", "process.ioPriority.priority")
				for _, f := range p.Findings {
					if f.Unknown {
						t.Errorf("%v is Unknown", f)
					}
				}
			}},
		{name: "personality",
			spec:  func(s *specs.Spec) { s.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux32} },
			check: unknown("linux.personality.domain", false)},
		{name: "timeOffsets",
			spec:  func(s *specs.Spec) { s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 1}} },
			check: unknown("linux.timeOffsets", false)},
		{name: "netDevices",
			spec:  func(s *specs.Spec) { s.Linux.NetDevices = map[string]specs.LinuxNetDevice{"eth0": {Name: "eth1"}} },
			check: unknown("linux.netDevices", false)},
		{name: "empty resources",
			raw:   func(m map[string]any) { sub(m, "linux")["resources"] = map[string]any{} },
			check: func(t *testing.T, p *Plan) { wantFindings(t, p) }},
		{name: "empty hooks",
			raw:   func(m map[string]any) { m["hooks"] = map[string]any{"prestart": []any{}} },
			check: func(t *testing.T, p *Plan) { wantFindings(t, p) }},
		{name: "windows section",
			raw:   func(m map[string]any) { m["windows"] = map[string]any{"layerFolders": []any{"C:\\"}} },
			check: unknown("windows.layerFolders", false)},
		{name: "one finding per array field",
			raw: func(m map[string]any) {
				m["foo"] = []any{1, 2, 3}
			},
			check: unknown("foo", true)},
	})
}

// TestTranslateDefault checks that the generated config is translated
// completely: every field handled, no finding.
func TestTranslateDefault(t *testing.T) {
	t.Run("rootless", func(t *testing.T) {
		p, err := Translate(input(config(t, spec.Default(true, testUIDMap, testGIDMap), nil)))
		if err != nil {
			t.Fatal(err)
		}
		checkPlan(t, p)
		wantFindings(t, p)
		want := []Opt{
			{"--unshare-user", nil}, {"--uid", []string{"0"}}, {"--gid", []string{"0"}},
			{"--unshare-pid", nil}, {"--as-pid-1", nil}, {"--unshare-net", nil}, {"--unshare-ipc", nil},
			{"--unshare-uts", nil}, {"--unshare-cgroup", nil}, {"--hostname", []string{"bwrap-oci"}},
			{"--bind", []string{testRootfs, "/"}}, {"--proc", []string{"/proc"}}, {"--dev", []string{"/dev"}},
			{"--tmpfs", []string{"/dev/shm"}}, {"--mqueue", []string{"/dev/mqueue"}},
			{"--ro-bind", []string{"/sys", "/sys"}},
			{"--ro-bind", []string{"/proc/sys", "/proc/sys"}},
			{"--dev-bind", []string{"/dev/null", "/proc/kcore"}},
			{"--tmpfs", []string{"/proc/acpi"}}, {"--remount-ro", []string{"/proc/acpi"}},
			{"--tmpfs", []string{"/sys/devices/virtual/powercap"}},
			{"--cap-add", []string{"CAP_KILL"}}, {"--new-session", nil}, {"--chdir", []string{"/"}},
			{"--clearenv", nil}, {"--setenv", []string{"TERM", "xterm"}},
		}
		for _, o := range want {
			if !slices.ContainsFunc(p.Opts, func(g Opt) bool { return g.Name == o.Name && slices.Equal(g.Args, o.Args) }) {
				t.Errorf("missing %v", o)
			}
		}
		if !p.NewUserNS || !p.PIDNS || p.Terminal || p.Join != nil {
			t.Errorf("NewUserNS %v PIDNS %v Terminal %v Join %v", p.NewUserNS, p.PIDNS, p.Terminal, p.Join)
		}
		if p.Umask == nil || *p.Umask != 0o022 || len(p.Rlimits) != 1 {
			t.Errorf("Umask %v Rlimits %v", p.Umask, p.Rlimits)
		}
	})
	t.Run("root", func(t *testing.T) {
		in := input(config(t, spec.Default(false, nil, nil), nil))
		in.Root, in.UID, in.GID = true, 0, 0
		p, err := Translate(in)
		if err != nil {
			t.Fatal(err)
		}
		checkPlan(t, p)
		wantFindings(t, p)
		if !p.Has("--unshare-user") || !p.NewUserNS || index(p, "--cap-drop", "ALL") < 0 {
			t.Errorf("opts %v", p.Opts)
		}
	})
	t.Run("not rootless, unprivileged", func(t *testing.T) {
		p, err := Translate(input(config(t, spec.Default(false, nil, nil), nil)))
		if err != nil {
			t.Fatal(err)
		}
		checkPlan(t, p)
		wantFindings(t, p, "linux.namespaces")
	})
}

func TestExpectedCaps(t *testing.T) {
	set := func(xs ...int) map[int]bool {
		m := map[int]bool{}
		for _, x := range xs {
			m[x] = true
		}
		return m
	}
	// 5 CAP_KILL, 10 CAP_NET_BIND_SERVICE, 21 CAP_SYS_ADMIN, 29 CAP_AUDIT_WRITE
	tests := []struct {
		name          string
		in            capSets
		uid           uint32
		prm, eff, amb map[int]bool
	}{
		{"all empty, root", capSets{set(), set(), set(), set(), set()}, 0, set(), set(), set()},
		{"all empty, user", capSets{set(), set(), set(), set(), set()}, 1000, set(), set(), set()},
		{"equal sets, root", capSets{set(5, 10), set(5, 10), set(5, 10), set(5, 10), set(5, 10)}, 0, set(5, 10), set(5, 10), set(5, 10)},
		{"equal sets, user", capSets{set(5, 10), set(5, 10), set(5, 10), set(5, 10), set(5, 10)}, 1000, set(5, 10), set(5, 10), set(5, 10)},
		// root: permitted and effective become bounding | inheritable | ambient.
		{"root, only bounding", capSets{bnd: set(5, 21), eff: set(), prm: set(), inh: set(), amb: set()}, 0, set(5, 21), set(5, 21), set()},
		{"root, effective ignored", capSets{bnd: set(5), eff: set(21), prm: set(21), inh: set(), amb: set()}, 0, set(5), set(5), set()},
		{"root, inheritable adds", capSets{bnd: set(5), eff: set(), prm: set(), inh: set(10), amb: set()}, 0, set(5, 10), set(5, 10), set()},
		// user: only the ambient set survives, and only what is also
		// permitted, inheritable (and in the bounding set).
		{"user, no ambient", capSets{bnd: set(5, 21), eff: set(5, 21), prm: set(5, 21), inh: set(5, 21), amb: set()}, 1000, set(), set(), set()},
		{"user, ambient not inheritable", capSets{bnd: set(5, 10), eff: set(5, 10), prm: set(5, 10), inh: set(5), amb: set(5, 10)}, 1000, set(5), set(5), set(5)},
		{"user, ambient not permitted", capSets{bnd: set(5, 10), eff: set(), prm: set(10), inh: set(5, 10), amb: set(5, 10)}, 1000, set(10), set(10), set(10)},
		{"user, ambient not bounding", capSets{bnd: set(5), eff: set(), prm: set(5, 10), inh: set(5, 10), amb: set(5, 10)}, 1000, set(5), set(5), set(5)},
		{"root, ambient filtered", capSets{bnd: set(5), eff: set(), prm: set(5), inh: set(), amb: set(5, 29)}, 0, set(5), set(5), set()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := expectedCaps(tt.in, tt.uid)
			if !sameCaps(got.prm, tt.prm) || !sameCaps(got.eff, tt.eff) || !sameCaps(got.amb, tt.amb) {
				t.Errorf("prm %v eff %v amb %v, want %v %v %v", got.prm, got.eff, got.amb, tt.prm, tt.eff, tt.amb)
			}
			if !sameCaps(got.bnd, tt.in.bnd) || !sameCaps(got.inh, tt.in.inh) {
				t.Errorf("bounding %v inheritable %v changed", got.bnd, got.inh)
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
		err  bool
	}{
		{"1", 1, false},
		{"65536", 65536, false},
		{"1k", 1 << 10, false},
		{"1K", 1 << 10, false},
		{"65536k", 64 << 20, false},
		{"1m", 1 << 20, false},
		{"3M", 3 << 20, false},
		{"2g", 2 << 30, false},
		{"2G", 2 << 30, false},
		{"9223372036854775808", 1 << 63, false},
		{"8589934592g", 1 << 63, false},
		{"9223372036854775809", 0, true},
		{"8589934593g", 0, true},
		{"18446744073709551615", 0, true},
		{"18446744073709551616", 0, true},
		{"99999999999999999999k", 0, true},
		{"", 0, true},
		{"k", 0, true},
		{"0", 0, false}, // tmpfs's "no limit"
		{"0k", 0, false},
		{"-1", 0, true},
		{"+1", 0, true},
		{"1.5m", 0, true},
		{" 1", 0, true},
		{"1 ", 0, true},
		{"1kk", 0, true},
		{"1t", 0, true},
		{"1kb", 0, true},
		{"50%", 0, true},
		{"0x10", 0, true},
		{"1e3", 0, true},
	}
	for _, tt := range tests {
		got, err := parseSize(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestPlanAccessors(t *testing.T) {
	p := &Plan{Opts: []Opt{{"--bind", []string{"a", "b"}}, {"--clearenv", nil}, {"--bind", []string{"c", "d"}}}}
	if got := p.Args(); !slices.Equal(got, []string{"--bind", "a", "b", "--clearenv", "--bind", "c", "d"}) {
		t.Errorf("Args = %q", got)
	}
	if got := p.Values("--bind"); !reflect.DeepEqual(got, [][]string{{"a", "b"}, {"c", "d"}}) {
		t.Errorf("Values = %q", got)
	}
	if !p.Has("--clearenv") || p.Has("--tmpfs") {
		t.Error("Has")
	}
	if (&Plan{}).Args() != nil {
		t.Error("empty plan has args")
	}
	if s := (Finding{Field: "a.b", Msg: "m"}).String(); s != "a.b: m" {
		t.Errorf("Finding.String = %q", s)
	}
}
