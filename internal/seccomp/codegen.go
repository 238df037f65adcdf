package seccomp

import (
	"sort"
	"strings"
)

// Layout of the generated program:
//
//	    ld  [arch]
//	    jeq AUDIT_ARCH_X86_64, x86_64, next
//	    jeq AUDIT_ARCH_I386, i386, badarch      (only with SCMP_ARCH_X86)
//	x86_64:
//	    ld  [nr]
//	    jge 0x40000000, x32 | badarch, tree64   (the x32 bit)
//	tree64:  binary search over the x86_64 syscall numbers
//	x32:     binary search over the x32 numbers  (only with SCMP_ARCH_X32)
//	i386:    ld [nr]; binary search               (only with SCMP_ARCH_X86)
//	         one "ret" per distinct simple action (badarch, default, ...)
//	         the bodies of syscalls with argument comparisons
//
// A leaf of a search tree is a range of syscall numbers sharing the same
// rules; it jumps straight to a shared "ret" when the rules are a single
// unconditional action, or to a body that tries each rule in order.

type gen struct {
	a      asm
	def    uint32
	rets   map[uint32]*label
	retOrd []uint32
	bodies map[string]*body
	bodOrd []*body
}

type body struct {
	l     *label
	rules []rule
	bits  bool // bits32
}

func generate(abis []*abi, perABI []map[uint32][]rule, def uint32) ([]byte, error) {
	g := &gen{def: def, rets: map[uint32]*label{}, bodies: map[string]*body{}}
	a := &g.a
	bad := g.ret(retBadArch)

	var x32, i386 *abi
	var rx86, rx32, ri386 map[uint32][]rule
	for k, ab := range abis {
		switch ab {
		case abiX86_64:
			rx86 = perABI[k]
		case abiX32:
			x32, rx32 = ab, perABI[k]
		case abiI386:
			i386, ri386 = ab, perABI[k]
		}
	}

	l64 := a.newLabel()
	a.ld(offArch)
	if i386 != nil {
		next, li := a.newLabel(), a.newLabel()
		a.jmp(opJeqK, auditArchX86_64, l64, next)
		a.bind(next)
		a.jmp(opJeqK, auditArchI386, li, bad)
		a.bind(l64)
		g.x86_64(rx86, x32, rx32, bad)
		a.bind(li)
		a.ld(offNr)
		if iv := g.intervals(i386, ri386); len(iv) == 1 {
			a.emit(&ins{code: opJa, ja: iv[0].to})
		} else {
			g.tree(iv) // its root is the next instruction
		}
	} else {
		a.jmp(opJeqK, auditArchX86_64, l64, bad)
		a.bind(l64)
		g.x86_64(rx86, x32, rx32, bad)
	}

	for _, k := range g.retOrd {
		a.bind(g.rets[k])
		a.ret(k)
	}
	for _, b := range g.bodOrd {
		a.bind(b.l)
		g.body(b)
	}
	return a.assemble()
}

// x86_64 emits the x86_64 (and x32) part; A holds nothing useful yet.
func (g *gen) x86_64(rx86 map[uint32][]rule, x32 *abi, rx32 map[uint32][]rule, bad *label) {
	a := &g.a
	a.ld(offNr)
	split := a.jmp(opJgeK, x32SyscallBit, bad, nil)
	split.jf = g.tree(g.intervals(abiX86_64, rx86))
	if x32 != nil {
		split.jt = g.tree(g.intervals(x32, rx32))
	}
}

// ret returns the label of the shared "ret k".
func (g *gen) ret(k uint32) *label {
	if l, ok := g.rets[k]; ok {
		return l
	}
	l := g.a.newLabel()
	g.rets[k] = l
	g.retOrd = append(g.retOrd, k)
	return l
}

// target returns where a call with these rules goes.
func (g *gen) target(rules []rule, bits32 bool) *label {
	rules = prune(rules, g.def)
	if len(rules) == 0 {
		return g.ret(g.def)
	}
	if len(rules[0].conds) == 0 {
		return g.ret(rules[0].action)
	}
	var kb strings.Builder
	for i := range rules {
		kb.WriteString(rules[i].key())
	}
	if bits32 {
		kb.WriteString("32")
	}
	k := kb.String()
	if b, ok := g.bodies[k]; ok {
		return b.l
	}
	b := &body{l: g.a.newLabel(), rules: rules, bits: bits32}
	g.bodies[k] = b
	g.bodOrd = append(g.bodOrd, b)
	return b.l
}

// prune drops the rules that can never decide: those after an unconditional
// rule, repeats of an earlier rule, and trailing rules whose action is the
// default one anyway.
func prune(rules []rule, def uint32) []rule {
	var out []rule
	seen := map[string]bool{}
	for _, r := range rules {
		k := r.key()
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, r)
		if len(r.conds) == 0 {
			break
		}
	}
	for len(out) > 0 && out[len(out)-1].action == def {
		out = out[:len(out)-1]
	}
	return out
}

type interval struct {
	lo uint32
	to *label
}

// intervals partitions the ABI's range of syscall numbers into ranges that
// share a target, in ascending order.
func (g *gen) intervals(ab *abi, m map[uint32][]rule) []interval {
	nrs := make([]uint32, 0, len(m))
	for nr := range m {
		if nr >= ab.lo && nr <= ab.hi {
			nrs = append(nrs, nr)
		}
	}
	sort.Slice(nrs, func(i, j int) bool { return nrs[i] < nrs[j] })
	def := g.ret(g.def)
	var iv []interval
	add := func(lo uint32, to *label) {
		if n := len(iv); n > 0 && iv[n-1].to == to {
			return
		}
		iv = append(iv, interval{lo, to})
	}
	next := uint64(ab.lo)
	for _, nr := range nrs {
		if uint64(nr) > next {
			add(uint32(next), def)
		}
		add(nr, g.target(m[nr], ab.bits32))
		next = uint64(nr) + 1
	}
	if next <= uint64(ab.hi) {
		add(uint32(next), def)
	}
	return iv
}

// tree emits a balanced binary search over the intervals (A holds the
// syscall number) and returns its entry.
func (g *gen) tree(iv []interval) *label {
	if len(iv) == 1 {
		return iv[0].to
	}
	mid := len(iv) / 2
	l := g.a.newLabel()
	g.a.bind(l)
	n := g.a.jmp(opJgeK, iv[mid].lo, nil, nil)
	n.jf = g.tree(iv[:mid])
	n.jt = g.tree(iv[mid:])
	return l
}

// body emits the rules of a syscall in order: the first one whose
// comparisons all hold returns its action; if none does, the default.
func (g *gen) body(b *body) {
	a := &g.a
	for _, r := range b.rules {
		fail := a.newLabel()
		for _, c := range r.conds {
			pass := a.newLabel()
			if b.bits {
				g.cmp32(c, pass, fail)
			} else {
				g.cmp64(c, pass, fail)
			}
			a.bind(pass)
		}
		a.ret(r.action)
		a.bind(fail)
	}
	a.ret(g.def)
}

// cmp32 compares the low half of an argument.
func (g *gen) cmp32(c cond, pass, fail *label) {
	a := &g.a
	m, d := uint32(c.mask), uint32(c.datum)
	a.ld(argLo(c.idx))
	switch c.op {
	case opEQ:
		a.jmp(opJeqK, d, pass, fail)
	case opNE:
		a.jmp(opJeqK, d, fail, pass)
	case opGT:
		a.jmp(opJgtK, d, pass, fail)
	case opGE:
		a.jmp(opJgeK, d, pass, fail)
	case opLT:
		a.jmp(opJgeK, d, fail, pass)
	case opLE:
		a.jmp(opJgtK, d, fail, pass)
	case opMaskedEQ:
		if m != 0xffffffff {
			a.and(m)
		}
		a.jmp(opJeqK, d, pass, fail)
	}
}

// cmp64 compares a whole 64-bit argument, high half first: the high halves
// decide unless they are equal, then the low halves decide (unsigned).
func (g *gen) cmp64(c cond, pass, fail *label) {
	a := &g.a
	mh, ml := uint32(c.mask>>32), uint32(c.mask)
	dh, dl := uint32(c.datum>>32), uint32(c.datum)
	hi, lo := argHi(c.idx), argLo(c.idx)
	next := func() *label { l := a.newLabel(); return l }
	switch c.op {
	case opEQ, opNE:
		ok, ko := pass, fail
		if c.op == opNE {
			ok, ko = fail, pass
		}
		n := next()
		a.ld(hi)
		a.jmp(opJeqK, dh, n, ko)
		a.bind(n)
		a.ld(lo)
		a.jmp(opJeqK, dl, ok, ko)
	case opMaskedEQ:
		// (arg & mask) == datum, datum already masked; a zero mask
		// half always matches.
		if mh != 0 {
			n := next()
			a.ld(hi)
			if mh != 0xffffffff {
				a.and(mh)
			}
			a.jmp(opJeqK, dh, n, fail)
			a.bind(n)
		}
		if ml != 0 {
			a.ld(lo)
			if ml != 0xffffffff {
				a.and(ml)
			}
			a.jmp(opJeqK, dl, pass, fail)
		} else {
			// Nothing left to compare: jump to pass.
			a.emit(&ins{code: opJa, ja: pass})
		}
	case opGT, opGE:
		// hi > dh: pass; hi < dh: fail; equal: compare lo.
		n1, n2 := next(), next()
		a.ld(hi)
		a.jmp(opJgtK, dh, pass, n1)
		a.bind(n1)
		a.jmp(opJeqK, dh, n2, fail)
		a.bind(n2)
		a.ld(lo)
		if c.op == opGT {
			a.jmp(opJgtK, dl, pass, fail)
		} else {
			a.jmp(opJgeK, dl, pass, fail)
		}
	case opLT, opLE:
		// hi > dh: fail; hi < dh: pass; equal: compare lo.
		n1, n2 := next(), next()
		a.ld(hi)
		a.jmp(opJgtK, dh, fail, n1)
		a.bind(n1)
		a.jmp(opJeqK, dh, n2, pass)
		a.bind(n2)
		a.ld(lo)
		if c.op == opLT {
			a.jmp(opJgeK, dl, fail, pass)
		} else {
			a.jmp(opJgtK, dl, fail, pass)
		}
	}
}
