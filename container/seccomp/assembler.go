package seccomp

import (
	"fmt"
	"slices"

	"golang.org/x/net/bpf"
)

// label is a place in the program, named before it is known.
type label int

// assembler collects instructions whose jumps name labels, and turns the labels into the
// relative skips BPF wants once the program is whole. BPF only jumps forward; a conditional
// jump skips at most 255 instructions, an unconditional one (ja) any number: resolve gives a
// conditional jump that lands too far a ja to land on.
type assembler struct {
	insns  []bpf.Instruction
	places []int // label -> instruction index, -1 until placed
	fixups []fixup
}

type fixup struct {
	insn  int
	to    label
	which int // 0: ja, 1: the true branch, 2: the false branch
}

func (a *assembler) emit(i bpf.Instruction) { a.insns = append(a.insns, i) }

func (a *assembler) newLabel() label {
	a.places = append(a.places, -1)
	return label(len(a.places) - 1)
}

// place puts l at the next instruction.
func (a *assembler) place(l label) { a.places[l] = len(a.insns) }

// jump goes to l, however far.
func (a *assembler) jump(l label) {
	a.fixups = append(a.fixups, fixup{len(a.insns), l, 0})
	a.emit(bpf.Jump{})
}

// jumpIf goes to l when A cond val holds, else on.
func (a *assembler) jumpIf(cond bpf.JumpTest, val uint32, l label) {
	a.fixups = append(a.fixups, fixup{len(a.insns), l, 1})
	a.emit(bpf.JumpIf{Cond: cond, Val: val})
}

// jumpIfNot goes to l when A cond val does not hold, else on.
func (a *assembler) jumpIfNot(cond bpf.JumpTest, val uint32, l label) {
	a.fixups = append(a.fixups, fixup{len(a.insns), l, 2})
	a.emit(bpf.JumpIf{Cond: cond, Val: val})
}

// jumpIfElseNext goes to l, however far, when A cond val holds, else on.
func (a *assembler) jumpIfElseNext(cond bpf.JumpTest, val uint32, l label) {
	a.emit(bpf.JumpIf{Cond: cond, Val: val, SkipFalse: 1})
	a.jump(l)
}

// resolve fills in every jump's skip. A conditional branch whose target is too far goes to a
// ja inserted right after the jump instead, and the other branch steps over it; inserting
// moves what follows, so this repeats until every branch fits.
func (a *assembler) resolve() ([]bpf.Instruction, error) {
	for _, at := range a.places {
		if at < 0 {
			return nil, fmt.Errorf("seccomp: jump to a label never placed")
		}
	}
	for relaxed := true; relaxed; {
		relaxed = false
		for i := 0; i < len(a.fixups); i++ {
			f := a.fixups[i]
			if f.which == 0 || a.places[f.to]-f.insn-1 <= 255 {
				continue
			}
			a.insertJa(f)
			relaxed = true
		}
	}
	for _, f := range a.fixups {
		skip := a.places[f.to] - f.insn - 1
		if skip < 0 {
			return nil, fmt.Errorf("seccomp: backward jump")
		}
		switch f.which {
		case 0:
			a.insns[f.insn] = bpf.Jump{Skip: uint32(skip)}
		default:
			j := a.insns[f.insn].(bpf.JumpIf)
			if f.which == 1 {
				j.SkipTrue = uint8(skip)
			} else {
				j.SkipFalse = uint8(skip)
			}
			a.insns[f.insn] = j
		}
	}
	return a.insns, nil
}

// insertJa puts a ja to f's target right after f's jump, sends f's branch to it, and sends
// the jump's other branch, which fell through, past it.
func (a *assembler) insertJa(f fixup) {
	at := f.insn + 1
	a.insns = slices.Insert(a.insns, at, bpf.Instruction(bpf.Jump{}))
	for l, p := range a.places {
		if p >= at {
			a.places[l] = p + 1
		}
	}
	for i := range a.fixups {
		if a.fixups[i].insn >= at {
			a.fixups[i].insn++
		}
	}
	ja, past := a.newLabel(), a.newLabel()
	a.places[ja], a.places[past] = at, at+1
	other := 3 - f.which // the branch that fell through
	for i := range a.fixups {
		if a.fixups[i] == f {
			a.fixups[i].to = ja
		}
	}
	a.fixups = append(a.fixups, fixup{insn: at, to: f.to, which: 0}, fixup{insn: f.insn, to: past, which: other})
}
