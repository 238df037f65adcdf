package seccomp

import (
	"os"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// podmanProfilePath is Podman's default profile, shipped by Debian's
// golang-github-containers-common package (containers-common elsewhere).
const podmanProfilePath = "/usr/share/containers/seccomp.json"

// podmanCaps is Podman's default capability set.
var podmanCaps = []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
	"CAP_NET_BIND_SERVICE", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT"}

func kernelRelease() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}

// podmanProfile loads Podman's default profile as the OCI section Podman
// would put in config.json, or skips the test.
func podmanProfile(t testing.TB) *specs.LinuxSeccomp {
	t.Helper()
	data, err := os.ReadFile(podmanProfilePath)
	if err != nil {
		t.Skipf("Podman's default profile is not installed (%v): apt-get install golang-github-containers-common (Debian 12) or containers-common", err)
	}
	s, err := FromProfile(data, ProfileOptions{Caps: podmanCaps, Kernel: kernelRelease()})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPodmanProfile(t *testing.T) {
	s := podmanProfile(t)
	start := time.Now()
	r := mustCompile(t, s)
	elapsed := time.Since(start)
	names := 0
	for _, sc := range s.Syscalls {
		names += len(sc.Names)
	}
	t.Logf("Podman profile: %d entries, %d names, architectures %v: %d instructions (longest path %d), %d unknown names, compiled in %v",
		len(s.Syscalls), names, s.Architectures, r.Instructions, maxPath(r.Program), len(r.Unknown), elapsed)
	t.Logf("unknown: %v", r.Unknown)
	if len(r.Findings) != 0 {
		t.Errorf("findings: %v", r.Findings)
	}
	if len(r.ABIs) != 3 {
		t.Errorf("ABIs %v", r.ABIs)
	}
	for name, want := range map[string]uint32{
		"read": allow, "write": allow, "execve": allow, "mkdir": allow, "clone": allow,
		"kexec_load": eperm, "bpf": eperm, "add_key": enosys, "io_uring_setup": enosys,
		// Allowed by the big list; the later EPERM entry without
		// CAP_SYS_ADMIN loses (libseccomp keeps the first).
		"setns": allow,
	} {
		if got := call(t, r.Program, x64(name)); got != want {
			t.Errorf("%s: got %#x, want %#x", name, got, want)
		}
	}
	for _, tc := range []struct {
		name string
		args []uint64
		want uint32
	}{
		{"personality", []uint64{0}, allow},
		{"personality", []uint64{0xffffffff}, allow},
		{"personality", []uint64{1}, enosys},
		{"socket", []uint64{16, 3, 9}, 0x00050016}, // AF_NETLINK, NETLINK_AUDIT: EINVAL
		{"socket", []uint64{16, 3, 0}, allow},
		{"socket", []uint64{2, 1, 0}, allow},
	} {
		if got := call(t, r.Program, x64(tc.name, tc.args...)); got != tc.want {
			t.Errorf("%s%v: got %#x, want %#x", tc.name, tc.args, got, tc.want)
		}
	}
	// The whole profile agrees with the oracle on every syscall of every
	// ABI, with arguments around the profile's values.
	for _, tab := range []struct {
		arch uint32
		m    map[string]uint32
	}{{auditArchX86_64, sysX86_64()}, {auditArchX86_64, sysX32()}, {auditArchI386, sysI386()}} {
		for _, nr := range tab.m {
			for _, a0 := range []uint64{0, 8, 16, 0xffffffff, 0x1_ffffffff, 0x20000} {
				d := seccompData{nr: nr, arch: tab.arch, args: [6]uint64{a0, 3, 9}}
				if got, want := call(t, r.Program, d), ref(s, d); got != want {
					t.Errorf("%+v: got %#x, want %#x", d, got, want)
				}
			}
		}
	}
}

func BenchmarkCompilePodman(b *testing.B) {
	s := podmanProfile(b)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, _, err := Compile(s); err != nil {
			b.Fatal(err)
		}
	}
}
