package seccomp

import (
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// FuzzCompile: no JSON makes Compile panic; a compiled program is a whole
// number of instructions, within the kernel's limit, runs to a return on
// every call, and agrees with the oracle.
func FuzzCompile(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, p := range seeds {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	if data, err := os.ReadFile(podmanProfilePath); err == nil {
		if s, err := FromProfile(data, ProfileOptions{Caps: podmanCaps}); err == nil {
			if b, err := json.Marshal(s); err == nil {
				f.Add(b)
			}
		}
	}
	f.Add([]byte(`{"defaultAction":"SCMP_ACT_KILL"}`))
	f.Add([]byte(`{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":70000}`))
	f.Add([]byte(`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO","args":[{"index":7,"op":"SCMP_CMP_EQ"}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var s specs.LinuxSeccomp
		if json.Unmarshal(data, &s) != nil {
			return
		}
		r, err := CompileResult(&s)
		if err != nil {
			return
		}
		if len(r.Program)%8 != 0 || len(r.Program)/8 > MaxInstructions || len(r.Program) == 0 {
			t.Fatalf("program of %d bytes", len(r.Program))
		}
		// Calls made of the input's bytes and of the profile's names.
		var calls []seccompData
		for i := 0; i+8 <= len(data) && len(calls) < 16; i += 8 {
			d := seccompData{nr: binary.LittleEndian.Uint32(data[i:]), arch: auditArchX86_64}
			for j := range d.args {
				d.args[j] = binary.LittleEndian.Uint64(data[(i+8*j)%max(1, len(data)-8):])
			}
			calls = append(calls, d)
		}
		for _, sc := range s.Syscalls {
			for _, n := range sc.Names {
				for _, a := range sc.Args {
					for _, v := range []uint64{a.Value, a.Value + 1, a.Value - 1, a.ValueTwo} {
						calls = append(calls, seccompData{nr: sysX86_64()[n], arch: auditArchX86_64, args: [6]uint64{v, v, v, v, v, v}})
						calls = append(calls, seccompData{nr: sysI386()[n], arch: auditArchI386, args: [6]uint64{v, v, v, v, v, v}})
					}
				}
				calls = append(calls, seccompData{nr: sysX32()[n], arch: auditArchX86_64})
			}
			if len(calls) > 256 {
				break
			}
		}
		for _, d := range calls {
			got, _, err := runVM(r.Program, d)
			if err != nil {
				t.Fatalf("%+v: %v", d, err)
			}
			if want := ref(&s, d); got != want {
				t.Fatalf("%+v: got %#x, want %#x", d, got, want)
			}
		}
	})
}
