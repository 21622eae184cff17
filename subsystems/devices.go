package subsystems

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Devices is the device controller: which device nodes the container may read, write or
// create. Without it, root in a container could mknod the host's disk and read it. The rules
// come in order, a later rule overriding an earlier one for the devices it names; the spec's
// first rule is usually "deny everything".
//
// v1 has files for it (devices.deny, devices.allow). v2 has none: the rules become an eBPF
// program, attached to the container's cgroup, that the kernel asks on every open and mknod.
type Devices struct{}

func (Devices) Name() string { return "devices" }

func (Devices) Wanted(r *specs.LinuxResources) bool { return r != nil && len(r.Devices) > 0 }

// SetV1 writes each rule to devices.allow or devices.deny, in order: one write(2) per rule,
// as the kernel reads them, through the two files opened once (Docker's list is 15 rules).
func (Devices) SetV1(dir string, r *specs.LinuxResources) error {
	files := map[bool]*os.File{}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for _, rule := range r.Devices {
		f := files[rule.Allow]
		if f == nil {
			name := "devices.deny"
			if rule.Allow {
				name = "devices.allow"
			}
			var err error
			if f, err = os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644); err != nil {
				return fmt.Errorf("open %s: %w", filepath.Join(dir, name), err)
			}
			files[rule.Allow] = f
		}
		if _, err := f.WriteString(DeviceRule(rule)); err != nil {
			return fmt.Errorf("write %q to %s: %w", DeviceRule(rule), f.Name(), err)
		}
	}
	return nil
}

// DeviceRule is a rule as v1's files (and devices.list) spell it: "c 1:3 rwm", "a *:* rwm".
func DeviceRule(rule specs.LinuxDeviceCgroup) string {
	typ := rule.Type
	if typ == "" {
		typ = "a"
	}
	num := func(n *int64) string {
		if n == nil || *n < 0 {
			return "*"
		}
		return strconv.FormatInt(*n, 10)
	}
	access := rule.Access
	if access == "" {
		access = "rwm"
	}
	return fmt.Sprintf("%s %s:%s %s", typ, num(rule.Major), num(rule.Minor), access)
}

// SetV2 attaches the rules, compiled to an eBPF program, to the cgroup. The attachment lives
// as long as the cgroup: nothing has to hold the program open.
func (Devices) SetV2(dir string, r *specs.LinuxResources) error {
	prog, err := DeviceProgram(r.Devices)
	if err != nil {
		return err
	}
	fd, err := loadDeviceProgram(prog)
	if err != nil {
		return fmt.Errorf("load the device rules of %s: %w", dir, err)
	}
	defer unix.Close(fd)
	cg, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open cgroup %s: %w", dir, err)
	}
	defer unix.Close(cg)
	// union bpf_attr for BPF_PROG_ATTACH: target_fd, attach_bpf_fd, attach_type, attach_flags.
	attr := [4]uint32{uint32(cg), uint32(fd), unix.BPF_CGROUP_DEVICE, unix.BPF_F_ALLOW_MULTI}
	if _, _, errno := unix.Syscall(unix.SYS_BPF, unix.BPF_PROG_ATTACH, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr)); errno != 0 {
		return fmt.Errorf("attach the device rules to %s: %w", dir, errno)
	}
	return nil
}

// insn is one eBPF instruction, as the kernel reads it (struct bpf_insn).
type insn struct {
	code uint8
	regs uint8 // dst in the low four bits, src in the high four
	off  int16
	imm  int32
}

func ldxw(dst, src uint8, off int16) insn { // dst = *(u32 *)(src + off)
	return insn{code: unix.BPF_LDX | unix.BPF_MEM | unix.BPF_W, regs: dst | src<<4, off: off}
}
func mov32(dst, src uint8) insn {
	return insn{code: unix.BPF_ALU | unix.BPF_MOV | unix.BPF_X, regs: dst | src<<4}
}
func alu32(op uint8, dst uint8, imm int32) insn {
	return insn{code: unix.BPF_ALU | op | unix.BPF_K, regs: dst, imm: imm}
}
func jmp(op uint8, dst uint8, imm int32, off int16) insn {
	return insn{code: unix.BPF_JMP | op | unix.BPF_K, regs: dst, off: off, imm: imm}
}
func retImm(v int32) []insn {
	return []insn{{code: unix.BPF_ALU64 | unix.BPF_MOV | unix.BPF_K, regs: 0, imm: v}, {code: unix.BPF_JMP | unix.BPF_EXIT}}
}

// The registers the program uses: R1 holds the context on entry, R0 the verdict on exit.
const (
	r0, r1, r2, r3, r4, r5, r6 = 0, 1, 2, 3, 4, 5, 6
)

// The fields of struct bpf_cgroup_dev_ctx, and what access_type holds.
const (
	ctxAccessType = 0 // access << 16 | type
	ctxMajor      = 4
	ctxMinor      = 8

	devBlock = 1 // BPF_DEVCG_DEV_BLOCK
	devChar  = 2 // BPF_DEVCG_DEV_CHAR

	accMknod = 1 // BPF_DEVCG_ACC_MKNOD
	accRead  = 2 // BPF_DEVCG_ACC_READ
	accWrite = 4 // BPF_DEVCG_ACC_WRITE
)

// DeviceProgram compiles device rules into a BPF_PROG_TYPE_CGROUP_DEVICE program: the rules
// are tried from the last to the first, and the first that matches answers (1 allows, 0
// denies); no match denies. An allow rule matches when it grants all the access asked for,
// a deny rule when it refuses any of it. Each rule is a block that jumps to the next block
// as soon as one of its tests fails:
//
//	r2 = ctx->access_type; r3 = r2 & 0xffff (type); r4 = r2 >> 16 (access)
//	r5 = ctx->major; r6 = ctx->minor
//	rule: if r3 != type goto next; r2 = r4 & ~access (allow) or r4 & access (deny);
//	      if r2 != 0 (allow) or == 0 (deny) goto next; if r5 != major goto next;
//	      if r6 != minor goto next; return verdict
//	return 0
func DeviceProgram(rules []specs.LinuxDeviceCgroup) ([]insn, error) {
	prog := []insn{
		ldxw(r2, r1, ctxAccessType),
		mov32(r3, r2), alu32(unix.BPF_AND, r3, 0xffff),
		mov32(r4, r2), alu32(unix.BPF_RSH, r4, 16),
		ldxw(r5, r1, ctxMajor),
		ldxw(r6, r1, ctxMinor),
	}
	for _, rule := range slices.Backward(rules) {
		// Each test is built with the distance to the block's end still unknown (-1);
		// it is filled in once the block is whole.
		var block []insn
		switch rule.Type {
		case "", "a":
		case "c":
			block = append(block, jmp(unix.BPF_JNE, r3, devChar, -1))
		case "b":
			block = append(block, jmp(unix.BPF_JNE, r3, devBlock, -1))
		default:
			return nil, fmt.Errorf("device rule %q: unknown type %q", DeviceRule(rule), rule.Type)
		}
		access, err := accessBits(rule.Access)
		if err != nil {
			return nil, fmt.Errorf("device rule %q: %w", DeviceRule(rule), err)
		}
		if rule.Allow && len(block) == 0 && access == accRead|accWrite|accMknod && (rule.Major == nil || *rule.Major < 0) && (rule.Minor == nil || *rule.Minor < 0) {
			// Allows everything (a privileged container): the verifier rejects the
			// instructions it would leave unreachable, so the program ends here.
			return append(prog, retImm(1)...), nil
		}
		block = append(block, mov32(r2, r4))
		if rule.Allow {
			block = append(block, alu32(unix.BPF_AND, r2, ^access&7), jmp(unix.BPF_JNE, r2, 0, -1))
		} else {
			block = append(block, alu32(unix.BPF_AND, r2, access), jmp(unix.BPF_JEQ, r2, 0, -1))
		}
		if rule.Major != nil && *rule.Major >= 0 {
			block = append(block, jmp(unix.BPF_JNE, r5, int32(*rule.Major), -1))
		}
		if rule.Minor != nil && *rule.Minor >= 0 {
			block = append(block, jmp(unix.BPF_JNE, r6, int32(*rule.Minor), -1))
		}
		verdict := int32(0)
		if rule.Allow {
			verdict = 1
		}
		block = append(block, retImm(verdict)...)
		for i := range block {
			if block[i].off == -1 {
				block[i].off = int16(len(block) - i - 1)
			}
		}
		prog = append(prog, block...)
	}
	return append(prog, retImm(0)...), nil
}

// loadDeviceProgram hands the program to the kernel (bpf(BPF_PROG_LOAD)), whose verifier
// checks it; a refusal comes back with the verifier's log.
func loadDeviceProgram(prog []insn) (int, error) {
	license := []byte("Apache-2.0\x00")
	log := make([]byte, 64<<10)
	// union bpf_attr for BPF_PROG_LOAD, up to log_buf: the kernel takes a shorter attr.
	attr := struct {
		progType, insnCnt uint32
		insns, license    uint64
		logLevel, logSize uint32
		logBuf            uint64
	}{
		progType: unix.BPF_PROG_TYPE_CGROUP_DEVICE, insnCnt: uint32(len(prog)),
		insns: uint64(uintptr(unsafe.Pointer(&prog[0]))), license: uint64(uintptr(unsafe.Pointer(&license[0]))),
	}
	// The verifier gives up with EAGAIN when a signal is pending, and the Go runtime signals
	// its threads (preemption) at any time: try again, as cilium/ebpf does.
	var (
		fd    uintptr
		errno unix.Errno
	)
	for try := 0; try < 10; try++ {
		fd, _, errno = unix.Syscall(unix.SYS_BPF, unix.BPF_PROG_LOAD, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
		if errno != unix.EAGAIN && errno != unix.EINTR {
			break
		}
	}
	if errno == 0 {
		runtime.KeepAlive(prog)
		return int(fd), nil
	}
	// Again with the verifier's log, to say why.
	attr.logLevel, attr.logSize, attr.logBuf = 1, uint32(len(log)), uint64(uintptr(unsafe.Pointer(&log[0])))
	_, _, _ = unix.Syscall(unix.SYS_BPF, unix.BPF_PROG_LOAD, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
	runtime.KeepAlive(prog)
	runtime.KeepAlive(license)
	return -1, fmt.Errorf("%w: %s", errno, bytes.TrimRight(log, "\x00"))
}

// accessBits reads "rwm" into the program's access bits.
func accessBits(access string) (int32, error) {
	if access == "" {
		access = "rwm"
	}
	var bits int32
	for _, c := range access {
		switch c {
		case 'r':
			bits |= accRead
		case 'w':
			bits |= accWrite
		case 'm':
			bits |= accMknod
		default:
			return 0, fmt.Errorf("unknown access %q (want r, w and m)", string(c))
		}
	}
	return bits, nil
}

// v2Program marks Devices as enforced on v2 by a program, not a controller.
func (Devices) v2Program() bool { return true }

// IsV2Controller reports whether cgroup v2 enforces s through a controller that must be
// enabled in cgroup.subtree_control (memory, cpu ...), rather than through a program.
func IsV2Controller(s Subsystem) bool {
	_, program := s.(interface{ v2Program() bool })
	return !program
}

func (Devices) StatV1(string, *Stats) error { return nil }
func (Devices) StatV2(string, *Stats) error { return nil }
