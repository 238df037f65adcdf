package seccomp

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestAgainstLibseccomp compiles profiles with libseccomp too (through
// Debian's python3-seccomp, the way runc adds the rules: see
// testdata/libseccomp_export.py) and checks that both programs give every
// call the same action. Skipped without python3-seccomp.
//
// Random profiles are not compared: libseccomp orders overlapping
// conditional rules with different actions by its own decision tree (see
// docs/seccomp.md), and 2.5.4 miscompiles some x86_64+x32 filters.
func TestAgainstLibseccomp(t *testing.T) {
	if exec.Command("/usr/bin/python3", "-c", "import seccomp").Run() != nil {
		t.Skip("libseccomp's Python binding is not installed (apt-get install python3-seccomp)")
	}
	profiles := map[string]*specs.LinuxSeccomp{}
	paths, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var s specs.LinuxSeccomp
		if err := json.Unmarshal(data, &s); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		profiles[p] = &s
	}
	if data, err := os.ReadFile(podmanProfilePath); err == nil {
		s, err := FromProfile(data, ProfileOptions{Caps: podmanCaps, Kernel: kernelRelease()})
		if err != nil {
			t.Fatal(err)
		}
		profiles[podmanProfilePath] = s
	}
	for name, s := range profiles {
		dir := t.TempDir()
		in, out := filepath.Join(dir, "in.json"), filepath.Join(dir, "out.bpf")
		b, _ := json.Marshal(s)
		if err := os.WriteFile(in, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if o, err := exec.Command("/usr/bin/python3", filepath.Join("testdata", "libseccomp_export.py"), in, out).CombinedOutput(); err != nil {
			t.Fatalf("%s: libseccomp: %v\n%s", name, err, o)
		}
		theirs, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		mine := mustCompile(t, s)
		t.Logf("%s: %d instructions (longest path %d); libseccomp: %d (longest path %d)", name, mine.Instructions, maxPath(mine.Program), len(theirs)/8, maxPath(theirs))

		named := map[string]bool{}
		vals := []uint64{0, 1, 0xffffffff, 1 << 32}
		for _, sc := range s.Syscalls {
			for _, n := range sc.Names {
				named[n] = true
			}
			for _, a := range sc.Args {
				vals = append(vals, a.Value, a.Value+1, a.Value-1, a.ValueTwo, a.Value^1<<32, a.Value&0xffffffff)
			}
		}
		for _, c := range []string{"socketcall", "ipc"} {
			named[c] = true
		}
		bad := 0
		for _, tab := range []struct {
			arch uint32
			m    map[string]uint32
		}{{auditArchX86_64, sysX86_64()}, {auditArchX86_64, sysX32()}, {auditArchI386, sysI386()}} {
			for n, nr := range tab.m {
				vs := vals[:4]
				if named[n] {
					vs = vals
				}
				for i, v := range vs {
					for k := 0; k < 6; k++ {
						d := seccompData{nr: nr, arch: tab.arch}
						d.args[k] = v
						d.args[(k+2)%6] = vs[(i+k)%len(vs)]
						if n == "socketcall" || n == "ipc" {
							d.args[0] = uint64(i % 25)
						}
						g1, _, err1 := runVM(mine.Program, d)
						g2, _, err2 := runVM(theirs, d)
						if err1 != nil || err2 != nil || g1 != g2 {
							if bad++; bad <= 5 {
								t.Errorf("%s: %s %+v: got %#x (%v), libseccomp %#x (%v)", name, n, d, g1, err1, g2, err2)
							}
						}
					}
				}
			}
		}
	}
}
