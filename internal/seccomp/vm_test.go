package seccomp

import (
	"encoding/binary"
	"fmt"
)

// seccompData is struct seccomp_data as the kernel hands it to a filter.
type seccompData struct {
	nr   uint32
	arch uint32
	ip   uint64
	args [6]uint64
}

func (d seccompData) word(off uint32) (uint32, error) {
	var b [64]byte
	binary.LittleEndian.PutUint32(b[0:], d.nr)
	binary.LittleEndian.PutUint32(b[4:], d.arch)
	binary.LittleEndian.PutUint64(b[8:], d.ip)
	for i, a := range d.args {
		binary.LittleEndian.PutUint64(b[16+8*i:], a)
	}
	if off%4 != 0 || off > 60 {
		return 0, fmt.Errorf("load of seccomp_data[%d]", off)
	}
	return binary.LittleEndian.Uint32(b[off:]), nil
}

type vmIns struct {
	code   uint16
	jt, jf uint8
	k      uint32
}

func decode(prog []byte) ([]vmIns, error) {
	if len(prog)%8 != 0 {
		return nil, fmt.Errorf("program length %d is not a multiple of 8", len(prog))
	}
	out := make([]vmIns, len(prog)/8)
	for i := range out {
		b := prog[8*i:]
		out[i] = vmIns{binary.LittleEndian.Uint16(b), b[2], b[3], binary.LittleEndian.Uint32(b[4:])}
	}
	return out, nil
}

// runVM interprets a classic-BPF seccomp program over one seccomp_data,
// for the subset this package emits (ld abs, and, ja, jeq/jgt/jge/jset,
// ret k), checking what the kernel's checker would reject as it goes. It
// also returns the number of instructions executed.
func runVM(prog []byte, d seccompData) (uint32, int, error) {
	code, err := decode(prog)
	if err != nil {
		return 0, 0, err
	}
	if len(code) == 0 || len(code) > MaxInstructions {
		return 0, 0, fmt.Errorf("program of %d instructions", len(code))
	}
	var a uint32
	steps := 0
	for pc := 0; ; {
		if pc < 0 || pc >= len(code) {
			return 0, steps, fmt.Errorf("pc %d out of the program", pc)
		}
		in := code[pc]
		steps++
		if steps > len(code) {
			return 0, steps, fmt.Errorf("loop")
		}
		cond := func(ok bool) {
			if ok {
				pc += 1 + int(in.jt)
			} else {
				pc += 1 + int(in.jf)
			}
		}
		switch in.code {
		case opLdAbsW:
			a, err = d.word(in.k)
			if err != nil {
				return 0, steps, err
			}
			pc++
		case opAndK:
			a &= in.k
			pc++
		case opJa:
			pc += 1 + int(in.k)
		case opJeqK:
			cond(a == in.k)
		case opJgtK:
			cond(a > in.k)
		case opJgeK:
			cond(a >= in.k)
		case 0x45: // jset
			cond(a&in.k != 0)
		case opRetK:
			return in.k, steps, nil
		default:
			return 0, steps, fmt.Errorf("unexpected opcode %#x at %d", in.code, pc)
		}
	}
}

// maxPath is the longest path through the program (instructions executed in
// the worst case); programs only jump forward, so it is a DAG.
func maxPath(prog []byte) int {
	code, _ := decode(prog)
	best := make([]int, len(code)+1)
	for i := len(code) - 1; i >= 0; i-- {
		in := code[i]
		next := func(j int) int {
			if j >= len(code) {
				return 0
			}
			return best[j]
		}
		switch in.code {
		case opRetK:
			best[i] = 1
		case opJa:
			best[i] = 1 + next(i+1+int(in.k))
		case opJeqK, opJgtK, opJgeK, 0x45:
			best[i] = 1 + max(next(i+1+int(in.jt)), next(i+1+int(in.jf)))
		default:
			best[i] = 1 + next(i+1)
		}
	}
	return best[0]
}
