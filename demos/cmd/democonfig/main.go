// Command democonfig edits a config.json written by `bwrap-oci spec
// --rootless` into the config of one of the demos, so that the demo scripts
// need no JSON tool (jq) on the host.
//
//	democonfig systemd [-cgroup DIR] [-terminal] [-hostname NAME] CONFIG
//	democonfig etcd -uid N -gid N -client URL -peer URL [-data DIR] CONFIG
//
// It rewrites CONFIG in place. Every choice is explained in docs/systemd.md
// and in the demo scripts.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// allCaps are the capabilities of Linux 5.9 and later (CAP_CHECKPOINT_RESTORE
// is the last), in bit order.
var allCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
	"CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
	"CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
	"CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

// StopSignalAnnotation is the OCI image annotation naming the signal that
// stops the container gracefully.
const StopSignalAnnotation = "org.opencontainers.image.stopSignal"

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "systemd":
		err = systemdCmd(os.Args[2:])
	case "etcd":
		err = etcdCmd(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "democonfig:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: democonfig systemd|etcd [flags] CONFIG")
	os.Exit(2)
}

func load(path string) (*specs.Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if s.Process == nil || s.Linux == nil {
		return nil, fmt.Errorf("%s: not a config written by `bwrap-oci spec --rootless`", path)
	}
	return &s, nil
}

func save(path string, s *specs.Spec) error {
	data, err := json.MarshalIndent(s, "", "\t")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// SystemdCaps is every capability but CAP_SYS_RAWIO: with it, systemd tries
// (and fails) to mount debugfs and tracefs, and the units fail.
func SystemdCaps() []string {
	var out []string
	for _, c := range allCaps {
		if c != "CAP_SYS_RAWIO" {
			out = append(out, c)
		}
	}
	return out
}

func setCaps(p *specs.Process, caps []string) {
	c := func() []string { return append([]string{}, caps...) }
	p.Capabilities = &specs.LinuxCapabilities{Bounding: c(), Effective: c(), Permitted: c(), Inheritable: c(), Ambient: c()}
}

func setEnv(p *specs.Process, key, value string) {
	var env []string
	for _, e := range p.Env {
		if !strings.HasPrefix(e, key+"=") {
			env = append(env, e)
		}
	}
	p.Env = append(env, key+"="+value)
}

// dropMount removes the mounts at dest.
func dropMount(s *specs.Spec, dest string) {
	var out []specs.Mount
	for _, m := range s.Mounts {
		if m.Destination != dest {
			out = append(out, m)
		}
	}
	s.Mounts = out
}

func setMount(s *specs.Spec, m specs.Mount) {
	dropMount(s, m.Destination)
	s.Mounts = append(s.Mounts, m)
}

func dropNamespace(s *specs.Spec, typ specs.LinuxNamespaceType) {
	var out []specs.LinuxNamespace
	for _, n := range s.Linux.Namespaces {
		if n.Type != typ {
			out = append(out, n)
		}
	}
	s.Linux.Namespaces = out
}

func hasNamespace(s *specs.Spec, typ specs.LinuxNamespaceType) bool {
	for _, n := range s.Linux.Namespaces {
		if n.Type == typ {
			return true
		}
	}
	return false
}

// Systemd turns s into the config of a container whose init is systemd.
// cgroupDir, when not empty, is the host directory of the container's
// delegated cgroup v2 subtree, bound at /sys/fs/cgroup, or "runtime" for a
// cgroup mount that bwrap-oci fills with a cgroup it makes.
func Systemd(s *specs.Spec, cgroupDir string, terminal bool, hostname string) {
	p := s.Process
	// Debian's systemd-sysv makes /sbin/init a link to systemd; the runtime
	// must not care which path systemd has.
	p.Args = []string{"/sbin/init"}
	p.User.UID, p.User.GID = 0, 0
	p.Terminal = terminal
	setCaps(p, SystemdCaps())
	// systemd detects a container by $container (and then reports
	// "container-other" for a name it does not know).
	setEnv(p, "container", "bwrap-oci")
	// Without a limit of its own systemd raises RLIMIT_NOFILE as far as the
	// hard limit lets it; the generated 1024/1024 would cap every service.
	p.Rlimits = nil
	s.Hostname = hostname
	for _, d := range []struct {
		dest, mode string
	}{{"/run", "755"}, {"/run/lock", "1777"}, {"/tmp", "1777"}} {
		setMount(s, specs.Mount{Destination: d.dest, Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "mode=" + d.mode}})
	}
	// /sys stays read-only (the generated config binds it "ro"), so
	// systemd skips the units that would write there.
	switch cgroupDir {
	case "":
	case "runtime":
		// bwrap-oci makes the cgroup itself, below the caller's delegated
		// one, and binds it here (it detects systemd as the init).
		setMount(s, specs.Mount{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"rw", "nosuid", "nodev", "noexec"}})
	default:
		setMount(s, specs.Mount{Destination: "/sys/fs/cgroup", Type: "bind", Source: cgroupDir, Options: []string{"rbind", "rw", "nosuid", "nodev"}})
	}
	for _, n := range []specs.LinuxNamespaceType{specs.PIDNamespace, specs.IPCNamespace, specs.UTSNamespace, specs.CgroupNamespace} {
		if !hasNamespace(s, n) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: n})
		}
	}
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	// systemd powers off on SIGRTMIN+3 (SIGTERM makes it re-execute).
	s.Annotations[StopSignalAnnotation] = "SIGRTMIN+3"
}

// EtcdOptions are the settings of the etcd demo.
type EtcdOptions struct {
	UID, GID   uint32
	ClientURL  string
	PeerURL    string
	DataDir    string
	Name       string
	StopSignal string
}

// Etcd turns s into the config of a container running etcd as a non-root
// user on the host's network.
func Etcd(s *specs.Spec, o EtcdOptions) {
	p := s.Process
	p.Args = []string{"/usr/bin/etcd",
		"--name", o.Name,
		"--data-dir", o.DataDir,
		"--listen-client-urls", o.ClientURL,
		"--advertise-client-urls", o.ClientURL,
		"--listen-peer-urls", o.PeerURL,
		"--initial-advertise-peer-urls", o.PeerURL,
		"--initial-cluster", o.Name + "=" + o.PeerURL,
	}
	// The etcd user of Debian's etcd-server package. bwrap runs the process
	// as the container id your own uid maps to, so the config has no
	// mappings of its own: bwrap-oci's rule maps o.UID to your uid, 0..o.UID-1
	// and the ids above it to your subordinate range (and the demo moved the
	// rootfs's ownership to match, with idshift).
	p.User.UID, p.User.GID = o.UID, o.GID
	s.Linux.UIDMappings, s.Linux.GIDMappings = nil, nil
	p.User.AdditionalGids = nil
	p.Cwd = "/"
	p.Terminal = false
	setEnv(p, "ETCD_LOG_LEVEL", "info")
	// etcd needs no capability at all.
	setCaps(p, []string{})
	s.Hostname = "etcd-demo"
	// Share the host's network: an unprivileged user cannot connect a new
	// network namespace to the host without a helper (slirp4netns, pasta),
	// so etcd listens on the host's loopback directly.
	dropNamespace(s, specs.NetworkNamespace)
	setMount(s, specs.Mount{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "mode=1777"}})
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	s.Annotations[StopSignalAnnotation] = o.StopSignal
	// etcd tells systemd it is ready (sd_notify): generated units use
	// Type=notify.
	s.Annotations["org.bwrap-oci.notify"] = "true"
}

func systemdCmd(args []string) error {
	fs := flag.NewFlagSet("systemd", flag.ExitOnError)
	cg := fs.String("cgroup", "", "host directory of the container's delegated cgroup v2 subtree (bound at /sys/fs/cgroup)")
	term := fs.Bool("terminal", false, "give systemd your terminal as its console")
	host := fs.String("hostname", "systemd-demo", "hostname")
	_ = fs.Parse(args)
	if fs.NArg() != 1 {
		usage()
	}
	s, err := load(fs.Arg(0))
	if err != nil {
		return err
	}
	Systemd(s, *cg, *term, *host)
	return save(fs.Arg(0), s)
}

func etcdCmd(args []string) error {
	fs := flag.NewFlagSet("etcd", flag.ExitOnError)
	uid := fs.Uint("uid", 100, "uid of the etcd user in the rootfs")
	gid := fs.Uint("gid", 101, "gid of the etcd group in the rootfs")
	client := fs.String("client", "http://127.0.0.1:2379", "client URL")
	peer := fs.String("peer", "http://127.0.0.1:2380", "peer URL")
	data := fs.String("data", "/var/lib/etcd/demo", "data directory inside the container")
	_ = fs.Parse(args)
	if fs.NArg() != 1 {
		usage()
	}
	s, err := load(fs.Arg(0))
	if err != nil {
		return err
	}
	Etcd(s, EtcdOptions{UID: uint32(*uid), GID: uint32(*gid), ClientURL: *client, PeerURL: *peer, DataDir: *data, Name: "demo", StopSignal: "SIGTERM"})
	return save(fs.Arg(0), s)
}
