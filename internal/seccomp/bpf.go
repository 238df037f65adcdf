package seccomp

import (
	"encoding/binary"
	"fmt"
)

// Classic BPF opcodes (linux/filter.h) of the subset this compiler emits.
const (
	opLdAbsW  = 0x20 // BPF_LD | BPF_W | BPF_ABS: A = seccomp_data[k:k+4]
	opAndK    = 0x54 // BPF_ALU | BPF_AND | BPF_K: A &= k
	opJa      = 0x05 // BPF_JMP | BPF_JA: pc += k
	opJeqK    = 0x15 // BPF_JMP | BPF_JEQ | BPF_K: pc += (A == k) ? jt : jf
	opJgtK    = 0x25 // BPF_JMP | BPF_JGT | BPF_K: pc += (A > k) ? jt : jf
	opJgeK    = 0x35 // BPF_JMP | BPF_JGE | BPF_K: pc += (A >= k) ? jt : jf
	opRetK    = 0x06 // BPF_RET | BPF_K: return k
	maxJumpCC = 255  // jt and jf are 8 bits
)

// Offsets in struct seccomp_data (linux/seccomp.h), little-endian x86.
const (
	offNr   = 0
	offArch = 4
	offArgs = 16
)

func argLo(i uint) uint32 { return offArgs + 8*uint32(i) }
func argHi(i uint) uint32 { return offArgs + 8*uint32(i) + 4 }

// label is a jump target: the instruction it is bound to.
type label struct{ at *ins }

// ins is an instruction whose jump targets are labels; the assembler turns
// them into offsets.
type ins struct {
	code   uint16
	k      uint32
	jt, jf *label // conditional jumps
	ja     *label // BPF_JA
}

func isCondJump(code uint16) bool { return code == opJeqK || code == opJgtK || code == opJgeK }

// asm collects instructions in program order. Every jump must go forward.
type asm struct {
	code    []*ins
	pending []*label
}

func (a *asm) newLabel() *label { return &label{} }

// bind makes l point at the next instruction emitted.
func (a *asm) bind(l *label) { a.pending = append(a.pending, l) }

func (a *asm) emit(i *ins) *ins {
	for _, l := range a.pending {
		l.at = i
	}
	a.pending = a.pending[:0]
	a.code = append(a.code, i)
	return i
}

func (a *asm) ld(off uint32) { a.emit(&ins{code: opLdAbsW, k: off}) }
func (a *asm) and(k uint32)  { a.emit(&ins{code: opAndK, k: k}) }
func (a *asm) ret(k uint32)  { a.emit(&ins{code: opRetK, k: k}) }
func (a *asm) jmp(code uint16, k uint32, jt, jf *label) *ins {
	return a.emit(&ins{code: code, k: k, jt: jt, jf: jf})
}

// assemble resolves the labels and encodes the program as an array of
// struct sock_filter. A conditional jump farther than 255 instructions gets
// a BPF_JA trampoline right after it; this repeats until every jump fits.
func (a *asm) assemble() ([]byte, error) {
	if len(a.pending) != 0 {
		return nil, fmt.Errorf("seccomp: internal error: label bound past the end of the program")
	}
	code := a.code
	pos := map[*ins]int{}
	for {
		for i, in := range code {
			pos[in] = i
		}
		var out []*ins
		grew := false
		for i, in := range code {
			out = append(out, in)
			if !isCondJump(in.code) {
				continue
			}
			dt, err := dist(i, in.jt, pos)
			if err != nil {
				return nil, err
			}
			df, err := dist(i, in.jf, pos)
			if err != nil {
				return nil, err
			}
			if dt > maxJumpCC {
				t := &ins{code: opJa, ja: in.jt}
				in.jt = &label{at: t}
				out = append(out, t)
				grew = true
			}
			if df > maxJumpCC {
				t := &ins{code: opJa, ja: in.jf}
				in.jf = &label{at: t}
				out = append(out, t)
				grew = true
			}
		}
		code = out
		if !grew {
			break
		}
		if len(code) > 4*MaxInstructions {
			return nil, fmt.Errorf("linux.seccomp: the filter is too large for a BPF program (more than %d instructions)", MaxInstructions)
		}
	}
	if len(code) == 0 || code[len(code)-1].code != opRetK {
		return nil, fmt.Errorf("seccomp: internal error: program does not end with a return")
	}
	if len(code) > MaxInstructions {
		return nil, fmt.Errorf("linux.seccomp: the filter compiles to %d BPF instructions, more than the kernel's limit of %d", len(code), MaxInstructions)
	}
	buf := make([]byte, 0, 8*len(code))
	for i, in := range code {
		var jt, jf uint8
		k := in.k
		switch {
		case isCondJump(in.code):
			// Checked above: both fit in 8 bits.
			t, _ := dist(i, in.jt, pos)
			f, _ := dist(i, in.jf, pos)
			jt, jf = uint8(t), uint8(f)
		case in.code == opJa:
			t, err := dist(i, in.ja, pos)
			if err != nil {
				return nil, err
			}
			k = uint32(t)
		}
		buf = binary.LittleEndian.AppendUint16(buf, in.code)
		buf = append(buf, jt, jf)
		buf = binary.LittleEndian.AppendUint32(buf, k)
	}
	return buf, nil
}

// dist is the jump offset from the instruction at index from to l.
func dist(from int, l *label, pos map[*ins]int) (int, error) {
	if l == nil || l.at == nil {
		return 0, fmt.Errorf("seccomp: internal error: unbound label")
	}
	to, ok := pos[l.at]
	if !ok {
		return 0, fmt.Errorf("seccomp: internal error: label bound to a dropped instruction")
	}
	d := to - from - 1
	if d < 0 {
		return 0, fmt.Errorf("seccomp: internal error: backward jump at %d", from)
	}
	return d, nil
}
