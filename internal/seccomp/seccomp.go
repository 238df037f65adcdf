// Package seccomp compiles the OCI linux.seccomp section into a classic-BPF
// seccomp program for bwrap's --seccomp / --add-seccomp-fd option.
//
// It is a small pure-Go compiler (no cgo, no libseccomp), so bwrap-oci stays
// a static binary. Its semantics follow libseccomp as runc uses it, with the
// differences listed in docs/seccomp.md:
//
//   - rules combine as libseccomp combines the rules runc and crun add: a
//     rule whose action is the default action is skipped (libseccomp refuses
//     it, runc and crun skip it); a rule without argument comparisons
//     decides every call of its syscall, and the first such rule wins;
//     otherwise the rules with comparisons are tried in the order of
//     linux.seccomp.syscalls and the first one that matches decides;
//   - comparisons of distinct arguments in one rule are ANDed; several
//     comparisons of the same argument in one rule are ORed (each becomes a
//     rule of its own), as runc does;
//   - arguments are compared as unsigned 64-bit values on x86_64 (both 32-bit
//     halves of seccomp_data.args[i]) and as 32-bit values (the low half) on
//     the 32-bit ABIs i386 and x32, like libseccomp;
//   - SCMP_ARCH_X86_64 is always in the filter; SCMP_ARCH_X86 (i386) and
//     SCMP_ARCH_X32 are added when listed; a call from an ABI that is not in
//     the filter kills the process (SECCOMP_RET_KILL_PROCESS);
//   - on i386 a rule for a socket or SysV IPC call also applies to the
//     socketcall(2) or ipc(2) multiplexer with "a0 == call", as libseccomp
//     does;
//   - a syscall name that none of the filter's ABIs knows is skipped, as runc
//     does; such names are returned in Result.Unknown, not as findings.
//
// The program starts by checking seccomp_data.arch, then dispatches on the
// syscall number with a balanced binary search over ranges of numbers that
// share the same rules, so a call costs about log2(ranges) comparisons.
package seccomp

//go:generate go run mksyscalls.go -o zsyscalls.go

import (
	"fmt"
	"runtime"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Finding is a field of linux.seccomp that the compiled program does not
// honour exactly. Field is a JSON path such as
// "linux.seccomp.syscalls[3].action".
type Finding struct {
	Field string
	Msg   string
}

func (f Finding) String() string { return f.Field + ": " + f.Msg }

// Result is everything Compile knows about a compiled filter.
type Result struct {
	// Program is the raw array of struct sock_filter (8 bytes each, native
	// byte order), as bwrap reads it from the --seccomp fd.
	Program []byte
	// Instructions is len(Program)/8.
	Instructions int
	// Findings are fields that cannot be honoured (warnings; errors in
	// strict mode).
	Findings []Finding
	// Unknown lists the syscall names (sorted, unique) that none of the
	// filter's ABIs knows: their rules were skipped, as runc does.
	Unknown []string
	// ABIs names the syscall ABIs the filter accepts ("x86_64", "x32",
	// "i386"); calls from any other ABI kill the process.
	ABIs []string
}

// MaxInstructions is the kernel's limit on the length of a classic BPF
// program (BPF_MAXINSNS).
const MaxInstructions = 4096

// Compile compiles the OCI linux.seccomp section into a BPF program for the
// native architecture. Findings are fields it cannot honour (reported to the
// user as warnings, errors with --strict).
func Compile(s *specs.LinuxSeccomp) (prog []byte, findings []Finding, err error) {
	r, err := CompileResult(s)
	if err != nil {
		return nil, nil, err
	}
	return r.Program, r.Findings, nil
}

// seccomp_data.arch values (linux/audit.h).
const (
	auditArchX86_64 = 0xc000003e
	auditArchI386   = 0x40000003
	x32SyscallBit   = 0x40000000
)

// SECCOMP_RET_* (linux/seccomp.h).
const (
	retKillProcess = 0x80000000
	retKillThread  = 0x00000000
	retTrap        = 0x00030000
	retErrno       = 0x00050000
	retUserNotif   = 0x7fc00000
	retTrace       = 0x7ff00000
	retLog         = 0x7ffc0000
	retAllow       = 0x7fff0000
	retData        = 0x0000ffff
)

const (
	errnoEPERM  = 1
	errnoENOSYS = 38
)

// retBadArch is what a call from an ABI that is not in the filter gets.
// libseccomp's default (SCMP_FLTATR_ACT_BADARCH) is SCMP_ACT_KILL, which kills
// only the calling thread; killing the whole process is safer (a process
// that lost one thread may hang or carry on half-dead) and is what a
// container's single-threaded init gets from libseccomp anyway.
const retBadArch = retKillProcess

type abi struct {
	name   string
	table  func() map[string]uint32
	bits32 bool   // compare only the low 32 bits of the arguments
	lo, hi uint32 // syscall numbers that reach this ABI's dispatch
	mux    bool   // socketcall(2) and ipc(2) multiplex calls (i386)
}

var (
	abiX86_64 = &abi{name: "x86_64", table: sysX86_64, lo: 0, hi: x32SyscallBit - 1}
	abiX32    = &abi{name: "x32", table: sysX32, bits32: true, lo: x32SyscallBit, hi: 0xffffffff}
	abiI386   = &abi{name: "i386", table: sysI386, bits32: true, lo: 0, hi: 0xffffffff, mux: true}
)

// On i386 the socket and SysV IPC calls can also be made through the
// socketcall(2) and ipc(2) multiplexers, whose first argument is the call.
// Like libseccomp, a rule for such a call also applies to the multiplexer
// with its argument 0 replaced by "a0 == call" (its other comparisons are
// kept as they are, although the multiplexer's arguments differ).
const (
	i386Socketcall = 102
	i386IPC        = 117
)

var socketcalls = map[string]uint32{
	"socket": 1, "bind": 2, "connect": 3, "listen": 4, "accept": 5, "getsockname": 6,
	"getpeername": 7, "socketpair": 8, "send": 9, "recv": 10, "sendto": 11, "recvfrom": 12,
	"shutdown": 13, "setsockopt": 14, "getsockopt": 15, "sendmsg": 16, "recvmsg": 17,
	"accept4": 18, "recvmmsg": 19, "sendmmsg": 20,
}

var ipcCalls = map[string]uint32{
	"semop": 1, "semget": 2, "semctl": 3, "semtimedop": 4, "msgsnd": 11, "msgrcv": 12,
	"msgget": 13, "msgctl": 14, "shmat": 21, "shmdt": 22, "shmget": 23, "shmctl": 24,
}

// muxed returns the multiplexer and call number of an i386 socket or IPC
// call.
func muxed(name string) (nr, call uint32, ok bool) {
	if c, ok := socketcalls[name]; ok {
		return i386Socketcall, c, true
	}
	if c, ok := ipcCalls[name]; ok {
		return i386IPC, c, true
	}
	return 0, 0, false
}

// viaMux is r applied to the multiplexer: argument 0 must be the call.
func viaMux(r rule, call uint32) rule {
	out := rule{action: r.action, src: r.src, conds: []cond{{idx: 0, op: opEQ, mask: ^uint64(0), datum: uint64(call)}}}
	for _, c := range r.conds {
		if c.idx != 0 {
			out.conds = append(out.conds, c)
		}
	}
	return out
}

// knownArches are the architectures of the runtime spec (libseccomp v2.6.0):
// accepted, but those other than x86 ones never match on an x86_64 kernel.
var knownArches = map[specs.Arch]bool{
	specs.ArchX86: true, specs.ArchX86_64: true, specs.ArchX32: true,
	specs.ArchARM: true, specs.ArchAARCH64: true,
	specs.ArchMIPS: true, specs.ArchMIPS64: true, specs.ArchMIPS64N32: true,
	specs.ArchMIPSEL: true, specs.ArchMIPSEL64: true, specs.ArchMIPSEL64N32: true,
	specs.ArchPPC: true, specs.ArchPPC64: true, specs.ArchPPC64LE: true,
	specs.ArchS390: true, specs.ArchS390X: true,
	specs.ArchPARISC: true, specs.ArchPARISC64: true,
	specs.ArchRISCV64: true, specs.ArchLOONGARCH64: true,
	specs.ArchM68K: true, specs.ArchSH: true, specs.ArchSHEB: true,
}

// op is a normalized comparison.
type op uint8

const (
	opEQ op = iota
	opNE
	opLT
	opLE
	opGE
	opGT
	opMaskedEQ
)

var ops = map[specs.LinuxSeccompOperator]op{
	specs.OpEqualTo:      opEQ,
	specs.OpNotEqual:     opNE,
	specs.OpLessThan:     opLT,
	specs.OpLessEqual:    opLE,
	specs.OpGreaterEqual: opGE,
	specs.OpGreaterThan:  opGT,
	specs.OpMaskedEqual:  opMaskedEQ,
}

// cond compares argument idx: (arg & mask) <op> datum. mask is all ones
// except for SCMP_CMP_MASKED_EQ, where datum is already masked (libseccomp
// compares the masked argument with the masked datum).
type cond struct {
	idx   uint
	op    op
	mask  uint64
	datum uint64
}

// rule is one alternative of a syscall's rules: all conds must hold.
type rule struct {
	conds  []cond
	action uint32
	src    int // index in linux.seccomp.syscalls
}

func (r *rule) key() string {
	var b strings.Builder
	for _, c := range r.conds {
		fmt.Fprintf(&b, "%d:%d:%x:%x,", c.idx, c.op, c.mask, c.datum)
	}
	fmt.Fprintf(&b, "=%x;", r.action)
	return b.String()
}

// srcRule is a rule of the spec before it is resolved per ABI.
type srcRule struct {
	names []string
	rules []rule // more than one when an argument is compared more than once
	skip  bool   // its action is the default action
}

// CompileResult is Compile with everything it learnt on the way.
func CompileResult(s *specs.LinuxSeccomp) (*Result, error) {
	if s == nil {
		return nil, fmt.Errorf("linux.seccomp: no seccomp section")
	}
	if runtime.GOARCH != "amd64" {
		return nil, fmt.Errorf("linux.seccomp: seccomp filters are compiled for x86_64 only, not %s", runtime.GOARCH)
	}
	c := &compiler{seen: map[string]bool{}}
	const base = "linux.seccomp"

	def, err := c.action(s.DefaultAction, s.DefaultErrnoRet, base+".defaultAction", base+".defaultErrnoRet")
	if err != nil {
		return nil, err
	}

	abis := []*abi{abiX86_64}
	for i, a := range s.Architectures {
		switch {
		case a == specs.ArchX86:
			abis = appendABI(abis, abiI386)
		case a == specs.ArchX32:
			abis = appendABI(abis, abiX32)
		case knownArches[a]:
			// Native x86_64 is always in the filter; other
			// architectures' calls never reach an x86_64 kernel.
		default:
			return nil, fmt.Errorf("%s.architectures[%d]: unknown architecture %q", base, i, a)
		}
	}

	for i, f := range s.Flags {
		field := fmt.Sprintf("%s.flags[%d]", base, i)
		switch f {
		case "SECCOMP_FILTER_FLAG_TSYNC":
			// bwrap loads the filter while it is single-threaded,
			// just before exec: every thread of the container gets it.
		case specs.LinuxSeccompFlagWaitKillableRecv:
			// Only changes how a notified call waits for the
			// listener; there is none (SCMP_ACT_NOTIFY is reported).
		case specs.LinuxSeccompFlagLog:
			c.report(field, "not honoured: bwrap loads the filter without SECCOMP_FILTER_FLAG_LOG, so only SCMP_ACT_LOG actions are logged")
		case specs.LinuxSeccompFlagSpecAllow:
			c.report(field, "not honoured: bwrap loads the filter without SECCOMP_FILTER_FLAG_SPEC_ALLOW, so the kernel keeps its speculative store bypass mitigation")
		default:
			return nil, fmt.Errorf("%s: unknown seccomp flag %q", field, f)
		}
	}
	if s.ListenerPath != "" {
		c.report(base+".listenerPath", "not supported: bwrap loads the filter itself and cannot hand the seccomp listener fd back to bwrap-oci; SCMP_ACT_NOTIFY calls fail with ENOSYS")
	}
	if s.ListenerMetadata != "" {
		c.report(base+".listenerMetadata", "ignored: there is no seccomp listener")
	}

	src := make([]srcRule, len(s.Syscalls))
	for i, sc := range s.Syscalls {
		field := fmt.Sprintf("%s.syscalls[%d]", base, i)
		if len(sc.Names) == 0 {
			return nil, fmt.Errorf("%s.names: must name at least one syscall", field)
		}
		for j, n := range sc.Names {
			if n == "" {
				return nil, fmt.Errorf("%s.names[%d]: empty syscall name", field, j)
			}
		}
		act, err := c.action(sc.Action, sc.ErrnoRet, field+".action", field+".errnoRet")
		if err != nil {
			return nil, err
		}
		conds := make([]cond, 0, len(sc.Args))
		count := map[uint]int{}
		for j, a := range sc.Args {
			af := fmt.Sprintf("%s.args[%d]", field, j)
			if a.Index > 5 {
				return nil, fmt.Errorf("%s.index: %d is out of range: a syscall has 6 arguments (0-5)", af, a.Index)
			}
			o, ok := ops[a.Op]
			if !ok {
				return nil, fmt.Errorf("%s.op: unknown operator %q", af, a.Op)
			}
			cd := cond{idx: a.Index, op: o, mask: ^uint64(0), datum: a.Value}
			if o == opMaskedEQ {
				cd.mask = a.Value
				cd.datum = a.ValueTwo & a.Value
			}
			conds = append(conds, cd)
			count[a.Index]++
		}
		dup := false
		for _, n := range count {
			if n > 1 {
				dup = true
			}
		}
		var rules []rule
		if dup {
			// libseccomp compares an argument at most once per rule;
			// runc then adds each comparison as a rule of its own.
			c.report(field+".args", "an argument is compared more than once: as runc does, each comparison is a separate rule (they are ORed, not ANDed)")
			for _, cd := range conds {
				rules = append(rules, rule{conds: []cond{cd}, action: act, src: i})
			}
		} else {
			// Compare in argument order, like libseccomp.
			sort.SliceStable(conds, func(a, b int) bool { return conds[a].idx < conds[b].idx })
			rules = []rule{{conds: conds, action: act, src: i}}
		}
		src[i] = srcRule{names: sc.Names, rules: rules, skip: act == def}
	}

	// Resolve the names per ABI.
	known := map[string]bool{}
	perABI := make([]map[uint32][]rule, len(abis))
	for k, a := range abis {
		m := map[uint32][]rule{}
		for _, sr := range src {
			for _, n := range sr.names {
				if a.mux {
					if mnr, call, ok := muxed(n); ok {
						known[n] = true
						for _, r := range sr.rules {
							if !sr.skip {
								m[mnr] = append(m[mnr], a.lower(viaMux(r, call)))
							}
						}
					}
				}
				nr, ok := a.table()[n]
				if !ok {
					continue
				}
				known[n] = true
				if sr.skip {
					continue
				}
				for _, r := range sr.rules {
					m[nr] = append(m[nr], a.lower(r))
				}
			}
		}
		for nr, rs := range m {
			m[nr] = combine(rs)
		}
		perABI[k] = m
	}
	unknown := map[string]bool{}
	for _, sr := range src {
		for _, n := range sr.names {
			if !known[n] {
				unknown[n] = true
			}
		}
	}

	prog, err := generate(abis, perABI, def)
	if err != nil {
		return nil, err
	}
	r := &Result{
		Program:      prog,
		Instructions: len(prog) / 8,
		Findings:     c.findings,
		Unknown:      sortedKeys(unknown),
	}
	for _, a := range abis {
		r.ABIs = append(r.ABIs, a.name)
	}
	sort.SliceStable(r.Findings, func(i, j int) bool { return fieldLess(r.Findings[i].Field, r.Findings[j].Field) })
	return r, nil
}

func appendABI(abis []*abi, a *abi) []*abi {
	for _, x := range abis {
		if x == a {
			return abis
		}
	}
	return append(abis, a)
}

// lower adapts a rule to the ABI: on a 32-bit ABI only the low 32 bits of
// an argument are compared, with the upper 32 bits of the values dropped (as
// libseccomp does). A SCMP_CMP_MASKED_EQ with a zero mask always holds and
// is dropped, as libseccomp does, which can leave the rule unconditional.
func (a *abi) lower(r rule) rule {
	out := rule{action: r.action, src: r.src}
	for _, c := range r.conds {
		if a.bits32 {
			c.mask &= 0xffffffff
			c.datum &= 0xffffffff
		}
		if c.op == opMaskedEQ && c.mask == 0 {
			continue
		}
		out.conds = append(out.conds, c)
	}
	return out
}

// combine applies libseccomp's rule merging to the rules of one syscall, in
// the order they were added: a rule without comparisons replaces all the
// rules with comparisons, before or after it, and later rules without
// comparisons are dropped ("the existing filter is at least as large").
func combine(rs []rule) []rule {
	for _, r := range rs {
		if len(r.conds) == 0 {
			return []rule{r}
		}
	}
	return rs
}

type compiler struct {
	findings []Finding
	seen     map[string]bool
}

func (c *compiler) report(field, msg string) {
	k := field + "\x00" + msg
	if c.seen[k] {
		return
	}
	c.seen[k] = true
	c.findings = append(c.findings, Finding{Field: field, Msg: msg})
}

// action returns the SECCOMP_RET_* value of an OCI action.
func (c *compiler) action(a specs.LinuxSeccompAction, errnoRet *uint, field, errnoField string) (uint32, error) {
	data := func() (uint32, error) {
		if errnoRet == nil {
			return errnoEPERM, nil
		}
		if *errnoRet > retData {
			return 0, fmt.Errorf("%s: %d is out of range (0-%d)", errnoField, *errnoRet, retData)
		}
		return uint32(*errnoRet), nil
	}
	noErrno := func() error {
		if errnoRet != nil {
			return fmt.Errorf("%s: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno, not %s", errnoField, a)
		}
		return nil
	}
	switch a {
	case specs.ActKill, specs.ActKillThread:
		return retKillThread, noErrno()
	case specs.ActKillProcess:
		return retKillProcess, noErrno()
	case specs.ActTrap:
		return retTrap, noErrno()
	case specs.ActAllow:
		return retAllow, noErrno()
	case specs.ActLog:
		return retLog, noErrno()
	case specs.ActErrno:
		d, err := data()
		return retErrno | d, err
	case specs.ActTrace:
		d, err := data()
		return retTrace | d, err
	case specs.ActNotify:
		if err := noErrno(); err != nil {
			return 0, err
		}
		// Without a listener the kernel fails a notified call with
		// ENOSYS: say so in the program itself.
		c.report(field, "SCMP_ACT_NOTIFY is not supported: bwrap loads the filter itself and cannot hand the listener fd back, so these calls fail with ENOSYS")
		return retErrno | errnoENOSYS, nil
	case "":
		return 0, fmt.Errorf("%s: missing", field)
	default:
		return 0, fmt.Errorf("%s: unknown action %q", field, a)
	}
}

func sortedKeys(m map[string]bool) []string {
	if len(m) == 0 {
		return nil
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// fieldLess orders JSON paths with their indexes compared as numbers.
func fieldLess(a, b string) bool {
	for a != "" && b != "" {
		ia, ib := strings.IndexByte(a, '['), strings.IndexByte(b, '[')
		if ia < 0 || ib < 0 || a[:ia] != b[:ib] {
			return a < b
		}
		a, b = a[ia+1:], b[ib+1:]
		na, ra := leadingInt(a)
		nb, rb := leadingInt(b)
		if na != nb {
			return na < nb
		}
		a, b = ra, rb
	}
	return a < b
}

func leadingInt(s string) (int, string) {
	n, i := 0, 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' && n < 1<<30 {
		n = n*10 + int(s[i]-'0')
		i++
	}
	return n, s[i:]
}
