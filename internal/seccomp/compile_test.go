package seccomp

import (
	"encoding/binary"
	"math/rand"
	"reflect"
	"sort"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func uintp(v uint) *uint { return &v }

// refAction is the SECCOMP_RET_* value of an action, written out again for
// the oracle.
func refAction(a specs.LinuxSeccompAction, e *uint) uint32 {
	data := uint32(1)
	if e != nil {
		data = uint32(*e)
	}
	switch a {
	case specs.ActKill, specs.ActKillThread:
		return 0
	case specs.ActKillProcess:
		return 0x80000000
	case specs.ActTrap:
		return 0x00030000
	case specs.ActErrno:
		return 0x00050000 | data
	case specs.ActTrace:
		return 0x7ff00000 | data
	case specs.ActLog:
		return 0x7ffc0000
	case specs.ActAllow:
		return 0x7fff0000
	case specs.ActNotify:
		return 0x00050000 | 38
	}
	panic("action " + string(a))
}

func refCmp(op specs.LinuxSeccompOperator, arg, v, v2 uint64) bool {
	switch op {
	case specs.OpEqualTo:
		return arg == v
	case specs.OpNotEqual:
		return arg != v
	case specs.OpLessThan:
		return arg < v
	case specs.OpLessEqual:
		return arg <= v
	case specs.OpGreaterEqual:
		return arg >= v
	case specs.OpGreaterThan:
		return arg > v
	case specs.OpMaskedEqual:
		return arg&v == v2&v
	}
	panic("op " + string(op))
}

// ref is the oracle: what the profile says a call gets, evaluated directly
// from the spec with the rules of libseccomp as runc uses it. Each entry
// gives rules: one, or one per comparison when an argument is compared
// twice (ORed, as runc splits them); on i386 a socket or IPC call's rules
// also apply to its multiplexer with "a0 == call". Entries with the default
// action are skipped; a rule without comparisons decides every call of its
// syscall (the first one wins); otherwise the first rule whose comparisons
// all match decides. Arguments are compared as 64-bit values, or 32-bit
// ones on i386 and x32.
func ref(s *specs.LinuxSeccomp, d seccompData) uint32 {
	has := func(a specs.Arch) bool {
		for _, x := range s.Architectures {
			if x == a {
				return true
			}
		}
		return false
	}
	var table map[string]uint32
	bits32, i386 := false, false
	switch {
	case d.arch == auditArchX86_64 && d.nr < x32SyscallBit:
		table = sysX86_64()
	case d.arch == auditArchX86_64 && has(specs.ArchX32):
		table, bits32 = sysX32(), true
	case d.arch == auditArchI386 && has(specs.ArchX86):
		table, bits32, i386 = sysI386(), true, true
	default:
		return 0x80000000
	}
	def := refAction(s.DefaultAction, s.DefaultErrnoRet)
	type refRule struct {
		args   []specs.LinuxSeccompArg
		action uint32
	}
	var rules []refRule
	for _, sc := range s.Syscalls {
		act := refAction(sc.Action, sc.ErrnoRet)
		if act == def {
			continue
		}
		alts := [][]specs.LinuxSeccompArg{sc.Args}
		count := map[uint]int{}
		for _, a := range sc.Args {
			count[a.Index]++
			if count[a.Index] == 2 {
				alts = nil
				for _, a := range sc.Args {
					alts = append(alts, []specs.LinuxSeccompArg{a})
				}
			}
		}
		for _, n := range sc.Names {
			var call uint32
			var mux bool
			if nr, ok := table[n]; ok && nr == d.nr {
				// direct
			} else if c, ok := socketcalls[n]; ok && i386 && d.nr == 102 {
				call, mux = c, true
			} else if c, ok := ipcCalls[n]; ok && i386 && d.nr == 117 {
				call, mux = c, true
			} else {
				continue
			}
			for _, alt := range alts {
				var args []specs.LinuxSeccompArg
				if mux {
					args = append(args, specs.LinuxSeccompArg{Index: 0, Op: specs.OpEqualTo, Value: uint64(call)})
				}
				for _, a := range alt {
					if mux && a.Index == 0 {
						continue
					}
					if bits32 {
						a.Value &= 0xffffffff
						a.ValueTwo &= 0xffffffff
					}
					// libseccomp drops comparisons that always hold.
					if a.Op == specs.OpMaskedEqual && a.Value == 0 {
						continue
					}
					args = append(args, a)
				}
				rules = append(rules, refRule{args, act})
			}
		}
	}
	for _, r := range rules {
		if len(r.args) == 0 {
			return r.action
		}
	}
	for _, r := range rules {
		match := true
		for _, a := range r.args {
			arg := d.args[a.Index]
			if bits32 {
				arg &= 0xffffffff
			}
			if !refCmp(a.Op, arg, a.Value, a.ValueTwo) {
				match = false
			}
		}
		if match {
			return r.action
		}
	}
	return def
}

func mustCompile(t testing.TB, s *specs.LinuxSeccomp) *Result {
	t.Helper()
	r, err := CompileResult(s)
	if err != nil {
		t.Fatalf("CompileResult: %v", err)
	}
	if len(r.Program)%8 != 0 || r.Instructions != len(r.Program)/8 || r.Instructions > MaxInstructions {
		t.Fatalf("bad program: %d bytes, %d instructions", len(r.Program), r.Instructions)
	}
	return r
}

func call(t testing.TB, prog []byte, d seccompData) uint32 {
	t.Helper()
	got, _, err := runVM(prog, d)
	if err != nil {
		t.Fatalf("runVM(%+v): %v", d, err)
	}
	return got
}

func x64(name string, args ...uint64) seccompData {
	d := seccompData{nr: sysX86_64()[name], arch: auditArchX86_64}
	copy(d.args[:], args)
	return d
}

const (
	allow  = 0x7fff0000
	eperm  = 0x00050001
	eacces = 0x0005000d
	enosys = 0x00050026
	killP  = 0x80000000
)

// TestOperators64 runs each operator over 64-bit arguments whose halves
// disagree, where comparing the halves independently goes wrong.
func TestOperators64(t *testing.T) {
	const (
		v    = 0x00000001_00000000
		hi1  = 0x00000001_00000001
		lo   = 0x00000000_ffffffff
		big  = 0x00000002_00000000
		max  = 0xffffffff_ffffffff
		lohi = 0x00000000_00000001
	)
	type vec struct {
		arg  uint64
		want bool
	}
	tests := []struct {
		op    specs.LinuxSeccompOperator
		value uint64
		two   uint64
		vecs  []vec
	}{
		{specs.OpEqualTo, v, 0, []vec{{v, true}, {hi1, false}, {lo, false}, {0, false}, {big, false}, {v &^ 0xffffffff00000000, false}}},
		{specs.OpNotEqual, v, 0, []vec{{v, false}, {hi1, true}, {lo, true}, {0, true}, {big, true}}},
		{specs.OpGreaterThan, v, 0, []vec{{v, false}, {hi1, true}, {lo, false}, {big, true}, {max, true}, {lohi, false}, {0, false}}},
		{specs.OpGreaterEqual, v, 0, []vec{{v, true}, {hi1, true}, {lo, false}, {big, true}, {lohi, false}, {0, false}}},
		{specs.OpLessThan, v, 0, []vec{{v, false}, {hi1, false}, {lo, true}, {big, false}, {lohi, true}, {0, true}, {max, false}}},
		{specs.OpLessEqual, v, 0, []vec{{v, true}, {hi1, false}, {lo, true}, {big, false}, {0, true}, {max, false}}},
		// Low half decides when the high halves are equal.
		{specs.OpGreaterThan, hi1, 0, []vec{{v, false}, {hi1, false}, {hi1 + 1, true}, {big, true}, {lo, false}}},
		{specs.OpLessThan, hi1, 0, []vec{{v, true}, {hi1, false}, {hi1 + 1, false}, {lo, true}}},
		{specs.OpGreaterEqual, 0xffffffff, 0, []vec{{lo, true}, {0xfffffffe, false}, {v, true}, {0, false}}},
		{specs.OpLessEqual, 0xffffffff, 0, []vec{{lo, true}, {v, false}, {0, true}, {max, false}}},
		// Extremes.
		{specs.OpGreaterThan, max, 0, []vec{{max, false}, {0, false}}},
		{specs.OpGreaterEqual, 0, 0, []vec{{0, true}, {max, true}}},
		{specs.OpLessThan, 0, 0, []vec{{0, false}, {max, false}}},
		{specs.OpLessEqual, max, 0, []vec{{0, true}, {max, true}}},
		// MASKED_EQ: value is the mask, valueTwo the datum (masked too).
		{specs.OpMaskedEqual, 0xff000000_000000ff, 0x12000000_00000034, []vec{{0x12ffffff_ffffff34, true}, {0x12000000_00000034, true}, {0x13000000_00000034, false}, {0x12000000_00000035, false}, {0x00000000_00000034, false}}},
		{specs.OpMaskedEqual, 0xffffffff_00000000, 0x00000001_ffffffff, []vec{{0x00000001_00000000, true}, {0x00000001_12345678, true}, {0x00000002_00000000, false}}},
		{specs.OpMaskedEqual, 0x00000000_0000ffff, 0x00000007_00000042, []vec{{0x42, true}, {0xffffffff_00000042, true}, {0x43, false}}},
		{specs.OpMaskedEqual, 0, 0xdead, []vec{{0, true}, {max, true}}},
		{specs.OpMaskedEqual, 0x7e020000, 0, []vec{{0x00011200, true}, {0x10000000, false}, {0x00020000, false}}}, // Docker's clone rule
	}
	for _, tc := range tests {
		for idx := uint(0); idx < 6; idx += 5 {
			s := &specs.LinuxSeccomp{
				DefaultAction: specs.ActAllow,
				Syscalls: []specs.LinuxSyscall{{
					Names: []string{"mkdirat"}, Action: specs.ActErrno, ErrnoRet: uintp(13),
					Args: []specs.LinuxSeccompArg{{Index: idx, Op: tc.op, Value: tc.value, ValueTwo: tc.two}},
				}},
			}
			prog := mustCompile(t, s).Program
			for _, vc := range tc.vecs {
				var d seccompData
				d = x64("mkdirat")
				d.args[idx] = vc.arg
				want := uint32(allow)
				if vc.want {
					want = eacces
				}
				if got := call(t, prog, d); got != want {
					t.Errorf("%s %#x (two %#x) on arg%d = %#x: got %#x, want %#x", tc.op, tc.value, tc.two, idx, vc.arg, got, want)
				}
				if r := ref(s, d); r != want {
					t.Errorf("oracle disagrees with the table for %s %#x on %#x", tc.op, tc.value, vc.arg)
				}
				// Another syscall is not affected.
				d.nr = sysX86_64()["mkdir"]
				if got := call(t, prog, d); got != allow {
					t.Errorf("mkdir got %#x", got)
				}
			}
		}
	}
}

// TestOperators32 checks that the 32-bit ABIs compare the low halves only.
func TestOperators32(t *testing.T) {
	s := &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"personality"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{{Index: 0, Op: specs.OpEqualTo, Value: 0xffffffff}}},
			{Names: []string{"mkdir"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{{Index: 1, Op: specs.OpGreaterThan, Value: 0x1_00000010}}},
		},
	}
	prog := mustCompile(t, s).Program
	for _, tc := range []struct {
		arch uint32
		nr   uint32
		args [6]uint64
		want uint32
	}{
		{auditArchX86_64, sysX86_64()["personality"], [6]uint64{0xffffffff}, eperm},
		{auditArchX86_64, sysX86_64()["personality"], [6]uint64{0xffffffff_ffffffff}, allow},
		{auditArchI386, sysI386()["personality"], [6]uint64{0xffffffff}, eperm},
		{auditArchX86_64, sysX32()["personality"], [6]uint64{0xffffffff}, eperm},
		{auditArchX86_64, sysX32()["personality"], [6]uint64{0x5_ffffffff}, eperm},
		// The datum 0x1_00000010 becomes 0x10 on 32-bit ABIs.
		{auditArchX86_64, sysX86_64()["mkdir"], [6]uint64{0, 0x11}, allow},
		{auditArchX86_64, sysX86_64()["mkdir"], [6]uint64{0, 0x1_00000011}, eperm},
		{auditArchI386, sysI386()["mkdir"], [6]uint64{0, 0x11}, eperm},
		{auditArchI386, sysI386()["mkdir"], [6]uint64{0, 0x10}, allow},
		{auditArchX86_64, sysX32()["mkdir"], [6]uint64{0, 0x11}, eperm},
	} {
		d := seccompData{nr: tc.nr, arch: tc.arch, args: tc.args}
		if got := call(t, prog, d); got != tc.want {
			t.Errorf("%+v: got %#x, want %#x", d, got, tc.want)
		}
		if r := ref(s, d); r != tc.want {
			t.Errorf("oracle: %+v: got %#x, want %#x", d, r, tc.want)
		}
	}
}

func TestActions(t *testing.T) {
	for _, tc := range []struct {
		act   specs.LinuxSeccompAction
		errno *uint
		want  uint32
	}{
		{specs.ActKill, nil, 0},
		{specs.ActKillThread, nil, 0},
		{specs.ActKillProcess, nil, 0x80000000},
		{specs.ActTrap, nil, 0x00030000},
		{specs.ActErrno, nil, 0x00050001},
		{specs.ActErrno, uintp(13), 0x0005000d},
		{specs.ActErrno, uintp(0), 0x00050000},
		{specs.ActErrno, uintp(65535), 0x0005ffff},
		{specs.ActTrace, nil, 0x7ff00001},
		{specs.ActTrace, uintp(42), 0x7ff0002a},
		{specs.ActAllow, nil, 0x7fff0000},
		{specs.ActLog, nil, 0x7ffc0000},
		{specs.ActNotify, nil, 0x00050026},
	} {
		// As a rule ...
		def := specs.ActAllow
		if tc.act == specs.ActAllow {
			def = specs.ActKillProcess
		}
		s := &specs.LinuxSeccomp{DefaultAction: def, Syscalls: []specs.LinuxSyscall{{Names: []string{"getcwd"}, Action: tc.act, ErrnoRet: tc.errno}}}
		prog := mustCompile(t, s).Program
		if got := call(t, prog, x64("getcwd")); got != tc.want {
			t.Errorf("rule %s: got %#x, want %#x", tc.act, got, tc.want)
		}
		if got := call(t, prog, x64("getpid")); got != refAction(def, nil) {
			t.Errorf("rule %s: default got %#x", tc.act, got)
		}
		// ... and as the default action.
		s = &specs.LinuxSeccomp{DefaultAction: tc.act, DefaultErrnoRet: tc.errno, Syscalls: []specs.LinuxSyscall{{Names: []string{"getcwd"}, Action: def}}}
		prog = mustCompile(t, s).Program
		if got := call(t, prog, x64("getpid")); got != tc.want {
			t.Errorf("default %s: got %#x, want %#x", tc.act, got, tc.want)
		}
	}
}

func TestArchitectures(t *testing.T) {
	base := []specs.LinuxSyscall{
		{Names: []string{"getppid"}, Action: specs.ActErrno, ErrnoRet: uintp(13)},
		{Names: []string{"_llseek", "lseek"}, Action: specs.ActErrno, ErrnoRet: uintp(22)},
		{Names: []string{"socket"}, Action: specs.ActErrno, ErrnoRet: uintp(97)},
		{Names: []string{"semop"}, Action: specs.ActErrno, ErrnoRet: uintp(13)},
	}
	tests := []struct {
		name  string
		archs []specs.Arch
		d     seccompData
		want  uint32
	}{
		{"native", nil, x64("getppid"), eacces},
		{"native other", nil, x64("getpid"), allow},
		{"x32 not listed", nil, seccompData{arch: auditArchX86_64, nr: sysX32()["getppid"]}, killP},
		{"x32 bit alone", nil, seccompData{arch: auditArchX86_64, nr: x32SyscallBit}, killP},
		{"nr -1 without x32", nil, seccompData{arch: auditArchX86_64, nr: 0xffffffff}, killP},
		{"i386 not listed", nil, seccompData{arch: auditArchI386, nr: sysI386()["getppid"]}, killP},
		{"aarch64 call", []specs.Arch{specs.ArchAARCH64}, seccompData{arch: 0xc00000b7, nr: 173}, killP},
		{"x86_64 listed explicitly", []specs.Arch{specs.ArchX86_64}, x64("getppid"), eacces},
		{"i386", []specs.Arch{specs.ArchX86}, seccompData{arch: auditArchI386, nr: sysI386()["getppid"]}, eacces},
		{"i386 other", []specs.Arch{specs.ArchX86}, seccompData{arch: auditArchI386, nr: sysI386()["getpid"]}, allow},
		{"i386 only name", []specs.Arch{specs.ArchX86}, seccompData{arch: auditArchI386, nr: sysI386()["_llseek"]}, 0x00050016},
		{"i386 nr is not x86_64 nr", []specs.Arch{specs.ArchX86}, seccompData{arch: auditArchI386, nr: sysX86_64()["getppid"]}, allow},
		{"x32", []specs.Arch{specs.ArchX32}, seccompData{arch: auditArchX86_64, nr: sysX32()["getppid"]}, eacces},
		{"x32 other", []specs.Arch{specs.ArchX32}, seccompData{arch: auditArchX86_64, nr: sysX32()["getpid"]}, allow},
		{"x32 unknown nr", []specs.Arch{specs.ArchX32}, seccompData{arch: auditArchX86_64, nr: 0xffffffff}, allow},
		{"x32 still kills i386", []specs.Arch{specs.ArchX32}, seccompData{arch: auditArchI386, nr: 1}, killP},
		{"all three", []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32}, seccompData{arch: auditArchX86_64, nr: sysX32()["lseek"]}, 0x00050016},
		// i386 multiplexers: socket(2) through socketcall(SYS_SOCKET),
		// semop(2) (no direct i386 syscall) through ipc(SEMOP).
		{"i386 socket direct", []specs.Arch{specs.ArchX86}, seccompData{arch: auditArchI386, nr: sysI386()["socket"]}, 0x00050061},
		{"i386 socketcall(SYS_SOCKET)", []specs.Arch{specs.ArchX86}, seccompData{arch: auditArchI386, nr: 102, args: [6]uint64{1}}, 0x00050061},
		{"i386 socketcall(SYS_BIND)", []specs.Arch{specs.ArchX86}, seccompData{arch: auditArchI386, nr: 102, args: [6]uint64{2}}, allow},
		{"i386 ipc(SEMOP)", []specs.Arch{specs.ArchX86}, seccompData{arch: auditArchI386, nr: 117, args: [6]uint64{1}}, 0x0005000d},
		{"i386 ipc(SEMGET)", []specs.Arch{specs.ArchX86}, seccompData{arch: auditArchI386, nr: 117, args: [6]uint64{2}}, allow},
		{"x86_64 socket", nil, x64("socket"), 0x00050061},
	}
	for _, tc := range tests {
		s := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: tc.archs, Syscalls: base}
		r := mustCompile(t, s)
		if got := call(t, r.Program, tc.d); got != tc.want {
			t.Errorf("%s: got %#x, want %#x", tc.name, got, tc.want)
		}
		if got := ref(s, tc.d); got != tc.want {
			t.Errorf("%s: oracle got %#x, want %#x", tc.name, got, tc.want)
		}
	}
}

// TestRuleCombination: how several entries for one syscall combine, as
// libseccomp combines the rules runc adds.
func TestRuleCombination(t *testing.T) {
	cond := func(i uint, op specs.LinuxSeccompOperator, v uint64) specs.LinuxSeccompArg {
		return specs.LinuxSeccompArg{Index: i, Op: op, Value: v}
	}
	eq := specs.OpEqualTo
	tests := []struct {
		name  string
		def   specs.LinuxSeccompAction
		rules []specs.LinuxSyscall
		calls map[[3]uint64]uint32
	}{
		{"conditional rules in order", specs.ActAllow, []specs.LinuxSyscall{
			{Names: []string{"socket"}, Action: specs.ActErrno, ErrnoRet: uintp(22), Args: []specs.LinuxSeccompArg{cond(0, eq, 16), cond(2, eq, 9)}},
			{Names: []string{"socket"}, Action: specs.ActErrno, ErrnoRet: uintp(97), Args: []specs.LinuxSeccompArg{cond(0, eq, 16)}},
		}, map[[3]uint64]uint32{{16, 3, 9}: 0x00050016, {16, 3, 0}: 0x00050061, {2, 1, 9}: allow}},
		{"unconditional after conditional wins", specs.ActAllow, []specs.LinuxSyscall{
			{Names: []string{"socket"}, Action: specs.ActErrno, ErrnoRet: uintp(97), Args: []specs.LinuxSeccompArg{cond(0, eq, 16)}},
			{Names: []string{"socket"}, Action: specs.ActKillProcess},
		}, map[[3]uint64]uint32{{16}: killP, {2}: killP}},
		{"first unconditional wins", specs.ActAllow, []specs.LinuxSyscall{
			{Names: []string{"socket"}, Action: specs.ActTrap},
			{Names: []string{"socket"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{cond(0, eq, 16)}},
			{Names: []string{"socket"}, Action: specs.ActKillProcess},
		}, map[[3]uint64]uint32{{16}: 0x00030000, {2}: 0x00030000}},
		{"default action entries are skipped", specs.ActErrno, []specs.LinuxSyscall{
			{Names: []string{"socket"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{cond(0, eq, 16)}},
			{Names: []string{"socket"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{cond(2, specs.OpNotEqual, 9)}},
		}, map[[3]uint64]uint32{{16, 0, 5}: allow, {16, 0, 9}: eperm, {2, 0, 9}: eperm}},
		{"zero mask makes a rule unconditional", specs.ActKillProcess, []specs.LinuxSyscall{
			{Names: []string{"socket"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{cond(0, eq, 16)}},
			{Names: []string{"socket"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 1, Op: specs.OpMaskedEqual, Value: 0, ValueTwo: 7}}},
		}, map[[3]uint64]uint32{{16}: allow, {2}: allow}},
	}
	for _, tc := range tests {
		s := &specs.LinuxSeccomp{DefaultAction: tc.def, Syscalls: tc.rules}
		r := mustCompile(t, s)
		for args, want := range tc.calls {
			d := x64("socket", args[:]...)
			if got := call(t, r.Program, d); got != want {
				t.Errorf("%s: socket%v: got %#x, want %#x", tc.name, args, got, want)
			}
			if got := ref(s, d); got != want {
				t.Errorf("%s: oracle: socket%v: got %#x, want %#x", tc.name, args, got, want)
			}
		}
		if len(r.Findings) != 0 {
			t.Errorf("%s: findings %v", tc.name, r.Findings)
		}
	}
}

// TestSameArgTwice: runc turns comparisons of the same argument into
// separate (ORed) rules; that is reported.
func TestSameArgTwice(t *testing.T) {
	s := &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{{
			Names: []string{"fchmod"}, Action: specs.ActErrno,
			Args: []specs.LinuxSeccompArg{{Index: 0, Op: specs.OpEqualTo, Value: 0}, {Index: 0, Op: specs.OpEqualTo, Value: 1}, {Index: 1, Op: specs.OpEqualTo, Value: 0o777}},
		}},
	}
	r := mustCompile(t, s)
	for _, tc := range []struct {
		args []uint64
		want uint32
	}{{[]uint64{0, 0}, eperm}, {[]uint64{1, 0}, eperm}, {[]uint64{2, 0o777}, eperm}, {[]uint64{2, 0}, allow}} {
		if got := call(t, r.Program, x64("fchmod", tc.args...)); got != tc.want {
			t.Errorf("fchmod%v: got %#x, want %#x", tc.args, got, tc.want)
		}
	}
	if len(r.Findings) != 1 || r.Findings[0].Field != "linux.seccomp.syscalls[0].args" {
		t.Errorf("findings %v", r.Findings)
	}
}

func TestFindings(t *testing.T) {
	s := &specs.LinuxSeccomp{
		DefaultAction:    specs.ActErrno,
		Flags:            []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_TSYNC", specs.LinuxSeccompFlagLog, specs.LinuxSeccompFlagSpecAllow, specs.LinuxSeccompFlagWaitKillableRecv},
		ListenerPath:     "/run/agent.sock",
		ListenerMetadata: "x",
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"read", "write", "no_such_syscall"}, Action: specs.ActAllow},
			{Names: []string{"_llseek"}, Action: specs.ActAllow},
			{Names: []string{"ioctl"}, Action: specs.ActNotify},
		},
	}
	r := mustCompile(t, s)
	var got []string
	for _, f := range r.Findings {
		got = append(got, f.Field)
	}
	want := []string{"linux.seccomp.flags[1]", "linux.seccomp.flags[2]", "linux.seccomp.listenerMetadata", "linux.seccomp.listenerPath", "linux.seccomp.syscalls[2].action"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("finding fields %q, want %q", got, want)
	}
	if !reflect.DeepEqual(r.Unknown, []string{"_llseek", "no_such_syscall"}) {
		t.Errorf("unknown %q", r.Unknown)
	}
	if !reflect.DeepEqual(r.ABIs, []string{"x86_64"}) {
		t.Errorf("ABIs %q", r.ABIs)
	}
	if got := call(t, r.Program, x64("ioctl")); got != enosys {
		t.Errorf("notify: got %#x", got)
	}
	s.Architectures = []specs.Arch{specs.ArchX86, specs.ArchX32}
	r = mustCompile(t, s)
	if !reflect.DeepEqual(r.Unknown, []string{"no_such_syscall"}) || !reflect.DeepEqual(r.ABIs, []string{"x86_64", "i386", "x32"}) {
		t.Errorf("unknown %q, ABIs %q", r.Unknown, r.ABIs)
	}
	if _, f, err := Compile(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow}); err != nil || f != nil {
		t.Errorf("plain profile: %v %v", f, err)
	}
}

func TestErrors(t *testing.T) {
	ok := specs.LinuxSyscall{Names: []string{"read"}, Action: specs.ActAllow}
	for _, tc := range []struct {
		s    *specs.LinuxSeccomp
		want string
	}{
		{nil, "linux.seccomp: no seccomp section"},
		{&specs.LinuxSeccomp{}, "linux.seccomp.defaultAction: missing"},
		{&specs.LinuxSeccomp{DefaultAction: "SCMP_ACT_BOGUS"}, `linux.seccomp.defaultAction: unknown action "SCMP_ACT_BOGUS"`},
		{&specs.LinuxSeccomp{DefaultAction: specs.ActAllow, DefaultErrnoRet: uintp(1)}, "linux.seccomp.defaultErrnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno, not SCMP_ACT_ALLOW"},
		{&specs.LinuxSeccomp{DefaultAction: specs.ActErrno, DefaultErrnoRet: uintp(70000)}, "linux.seccomp.defaultErrnoRet: 70000 is out of range (0-65535)"},
		{&specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{"SCMP_ARCH_VAX"}}, `linux.seccomp.architectures[0]: unknown architecture "SCMP_ARCH_VAX"`},
		{&specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Flags: []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_NEW_LISTENER"}}, `linux.seccomp.flags[0]: unknown seccomp flag "SECCOMP_FILTER_FLAG_NEW_LISTENER"`},
		{&specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{ok, {Action: specs.ActAllow}}}, "linux.seccomp.syscalls[1].names: must name at least one syscall"},
		{&specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{{Names: []string{"read", ""}, Action: specs.ActAllow}}}, "linux.seccomp.syscalls[0].names[1]: empty syscall name"},
		{&specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}}}}, "linux.seccomp.syscalls[0].action: missing"},
		{&specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActKillProcess, ErrnoRet: uintp(1)}}}, "linux.seccomp.syscalls[0].errnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno, not SCMP_ACT_KILL_PROCESS"},
		{&specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 6, Op: specs.OpEqualTo}}}}}, "linux.seccomp.syscalls[0].args[0].index: 6 is out of range: a syscall has 6 arguments (0-5)"},
		{&specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Op: "SCMP_CMP_XX"}}}}}, `linux.seccomp.syscalls[0].args[0].op: unknown operator "SCMP_CMP_XX"`},
		{&specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0}}}}}, `linux.seccomp.syscalls[0].args[0].op: unknown operator ""`},
	} {
		_, _, err := Compile(tc.s)
		if err == nil || err.Error() != tc.want {
			t.Errorf("got error %v, want %q", err, tc.want)
		}
	}
}

// TestTooLarge: a profile that does not fit in 4096 instructions is an
// error, not a truncated program.
func TestTooLarge(t *testing.T) {
	s := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow}
	for i := 0; i < 1000; i++ {
		s.Syscalls = append(s.Syscalls, specs.LinuxSyscall{Names: []string{"ioctl"}, Action: specs.ActErrno,
			Args: []specs.LinuxSeccompArg{{Index: 1, Op: specs.OpEqualTo, Value: uint64(i)}}})
	}
	_, _, err := Compile(s)
	if err == nil || !strings.Contains(err.Error(), "more than the kernel's limit of 4096") {
		t.Fatalf("err = %v", err)
	}
}

// TestLongJumps: bodies far from the search tree need BPF_JA trampolines.
func TestLongJumps(t *testing.T) {
	s := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Architectures: []specs.Arch{specs.ArchX86}}
	var names []string
	for n := range sysX86_64() {
		names = append(names, n)
	}
	sort.Strings(names)
	for i, n := range names {
		if i%3 == 0 {
			s.Syscalls = append(s.Syscalls, specs.LinuxSyscall{Names: []string{n}, Action: specs.ActAllow,
				Args: []specs.LinuxSeccompArg{{Index: uint(i % 6), Op: specs.OpGreaterThan, Value: uint64(i) << 20}}})
		} else {
			s.Syscalls = append(s.Syscalls, specs.LinuxSyscall{Names: []string{n}, Action: specs.ActTrace, ErrnoRet: uintp(uint(i))})
		}
	}
	r := mustCompile(t, s)
	code, _ := decode(r.Program)
	jas := 0
	for _, in := range code {
		if in.code == opJa {
			jas++
		}
	}
	if jas == 0 || r.Instructions < 1000 {
		t.Fatalf("expected a long program with trampolines: %d instructions, %d ja", r.Instructions, jas)
	}
	rng := rand.New(rand.NewSource(1))
	for _, n := range names {
		for _, arch := range []uint32{auditArchX86_64, auditArchI386} {
			tab := sysX86_64
			if arch == auditArchI386 {
				tab = sysI386
			}
			nr, ok := tab()[n]
			if !ok {
				continue
			}
			for k := 0; k < 4; k++ {
				d := seccompData{nr: nr, arch: arch}
				for i := range d.args {
					d.args[i] = rng.Uint64() >> uint(rng.Intn(64))
				}
				if got, want := call(t, r.Program, d), ref(s, d); got != want {
					t.Fatalf("%s %+v: got %#x, want %#x", n, d, got, want)
				}
			}
		}
	}
	t.Logf("%d syscalls: %d instructions, %d trampolines, longest path %d", len(names), r.Instructions, jas, maxPath(r.Program))
}

// TestStructure checks the program's shape: it starts with the arch check
// and the binary search keeps the paths short.
func TestStructure(t *testing.T) {
	s := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno}
	for n := range sysX86_64() {
		if n[0] < 'n' { // about half the syscalls, interleaved numbers
			s.Syscalls = append(s.Syscalls, specs.LinuxSyscall{Names: []string{n}, Action: specs.ActAllow})
		}
	}
	r := mustCompile(t, s)
	code, _ := decode(r.Program)
	if code[0] != (vmIns{code: opLdAbsW, k: offArch}) || code[1].code != opJeqK || code[1].k != auditArchX86_64 {
		t.Errorf("program does not start with the arch check: %+v", code[:2])
	}
	if code[len(code)-1].code != opRetK {
		t.Errorf("program does not end with ret")
	}
	if p := maxPath(r.Program); p > 20 {
		t.Errorf("longest path %d instructions: not a binary search?", p)
	}
	t.Logf("%d rules: %d instructions, longest path %d", len(s.Syscalls), r.Instructions, maxPath(r.Program))
	// The byte layout is struct sock_filter, little-endian.
	if binary.LittleEndian.Uint16(r.Program[0:]) != 0x20 || binary.LittleEndian.Uint32(r.Program[4:]) != 4 {
		t.Errorf("first instruction bytes % x", r.Program[:8])
	}
}

// Values that make 64-bit comparisons interesting.
var edgeValues = []uint64{0, 1, 2, 9, 16, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff,
	0x1_00000000, 0x1_00000001, 0x1_ffffffff, 0x2_00000000, 0xffffffff_00000000, 0xffffffff_fffffffe, 0xffffffff_ffffffff, 0x80000000_00000000}

func randValue(rng *rand.Rand) uint64 {
	switch rng.Intn(4) {
	case 0:
		return rng.Uint64()
	case 1:
		return edgeValues[rng.Intn(len(edgeValues))] + uint64(rng.Intn(3)) - 1
	default:
		return edgeValues[rng.Intn(len(edgeValues))]
	}
}

var randNames = []string{"read", "write", "mkdir", "mkdirat", "getppid", "socket", "ioctl", "personality",
	"_llseek", "socketcall", "arch_prctl", "rt_sigaction", "clone", "clone3", "no_such_syscall", "execve", "listns",
	"ipc", "semop", "shmat", "send", "accept", "bind"}

var randActions = []specs.LinuxSeccompAction{specs.ActKill, specs.ActKillProcess, specs.ActKillThread, specs.ActTrap,
	specs.ActErrno, specs.ActTrace, specs.ActAllow, specs.ActLog, specs.ActNotify}

var randOps = []specs.LinuxSeccompOperator{specs.OpEqualTo, specs.OpNotEqual, specs.OpLessThan, specs.OpLessEqual,
	specs.OpGreaterEqual, specs.OpGreaterThan, specs.OpMaskedEqual}

func randProfile(rng *rand.Rand) *specs.LinuxSeccomp {
	act := func() (specs.LinuxSeccompAction, *uint) {
		a := randActions[rng.Intn(len(randActions))]
		if (a == specs.ActErrno || a == specs.ActTrace) && rng.Intn(2) == 0 {
			return a, uintp(uint(rng.Intn(200)))
		}
		return a, nil
	}
	s := &specs.LinuxSeccomp{}
	s.DefaultAction, s.DefaultErrnoRet = act()
	for _, a := range []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32} {
		if rng.Intn(2) == 0 {
			s.Architectures = append(s.Architectures, a)
		}
	}
	for i := rng.Intn(12); i > 0; i-- {
		var sc specs.LinuxSyscall
		for j := 1 + rng.Intn(3); j > 0; j-- {
			sc.Names = append(sc.Names, randNames[rng.Intn(len(randNames))])
		}
		sc.Action, sc.ErrnoRet = act()
		for j := rng.Intn(4); j > 0; j-- {
			sc.Args = append(sc.Args, specs.LinuxSeccompArg{Index: uint(rng.Intn(6)), Op: randOps[rng.Intn(len(randOps))], Value: randValue(rng), ValueTwo: randValue(rng)})
		}
		s.Syscalls = append(s.Syscalls, sc)
	}
	return s
}

func randCall(rng *rand.Rand, s *specs.LinuxSeccomp) seccompData {
	var d seccompData
	switch rng.Intn(10) {
	case 0:
		d.arch = auditArchI386
		d.nr = sysI386()[randNames[rng.Intn(len(randNames))]]
	case 1:
		d.arch = auditArchX86_64
		d.nr = sysX32()[randNames[rng.Intn(len(randNames))]]
	case 2:
		d.arch = []uint32{0, 0xc00000b7, 0x40000028, rng.Uint32()}[rng.Intn(4)]
		d.nr = rng.Uint32()
	case 3:
		d.arch = auditArchX86_64
		d.nr = []uint32{0, 1, 0x3fffffff, 0x40000000, 0xffffffff, rng.Uint32()}[rng.Intn(6)]
	default:
		d.arch = auditArchX86_64
		d.nr = sysX86_64()[randNames[rng.Intn(len(randNames))]]
	}
	// Mostly arguments close to the profile's values.
	var vals []uint64
	for _, sc := range s.Syscalls {
		for _, a := range sc.Args {
			vals = append(vals, a.Value, a.ValueTwo, a.Value&a.ValueTwo, a.Value|^a.ValueTwo)
		}
	}
	for i := range d.args {
		switch {
		case len(vals) > 0 && rng.Intn(3) > 0:
			v := vals[rng.Intn(len(vals))]
			switch rng.Intn(5) {
			case 0:
				v++
			case 1:
				v--
			case 2:
				v ^= 1 << 32
			case 3:
				v ^= uint64(rng.Uint32()) << 32 // same low half, other high half
			}
			d.args[i] = v
		default:
			d.args[i] = randValue(rng)
		}
	}
	return d
}

// TestDifferential compiles random profiles and checks the program against
// the oracle on random calls built around the profiles' values.
func TestDifferential(t *testing.T) {
	rng := rand.New(rand.NewSource(42))
	profiles, calls := 3000, 200
	if testing.Short() {
		profiles = 300
	}
	for p := 0; p < profiles; p++ {
		s := randProfile(rng)
		r, err := CompileResult(s)
		if err != nil {
			t.Fatalf("profile %d: %v", p, err)
		}
		for c := 0; c < calls; c++ {
			d := randCall(rng, s)
			got, _, err := runVM(r.Program, d)
			if err != nil {
				t.Fatalf("profile %d: %v", p, err)
			}
			if want := ref(s, d); got != want {
				t.Fatalf("profile %+v\ncall %+v: got %#x, want %#x", s, d, got, want)
			}
		}
	}
}
