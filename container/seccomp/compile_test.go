package seccomp

import (
	"encoding/binary"
	"testing"

	mobyseccomp "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// call is one system call as the filter sees it.
type call struct {
	arch uint32
	nr   uint32
	args [6]uint64
}

// run runs the program in x/net/bpf's interpreter. Its loads read big-endian, so the
// seccomp_data is laid out as the compiler expects on this little-endian machine, each
// 32-bit word big-endian: nr, arch, then each argument's low word before its high word.
func run(t *testing.T, insns []bpf.Instruction, c call) uint32 {
	t.Helper()
	data := make([]byte, 64)
	binary.BigEndian.PutUint32(data[offNr:], c.nr)
	binary.BigEndian.PutUint32(data[offArch:], c.arch)
	for i, v := range c.args {
		binary.BigEndian.PutUint32(data[offArgs+8*i:], uint32(v))
		binary.BigEndian.PutUint32(data[offArgs+8*i+4:], uint32(v>>32))
	}
	vm, err := bpf.NewVM(insns)
	require.NoError(t, err)
	out, err := vm.Run(data)
	require.NoError(t, err)
	return uint32(out)
}

func nr(t *testing.T, a specs.Arch, name string) uint32 {
	t.Helper()
	n, ok := syscallNumbers()[a][name]
	require.True(t, ok, name)
	return n
}

var (
	x8664 = uint32(unix.AUDIT_ARCH_X86_64)
	i386  = uint32(unix.AUDIT_ARCH_I386)
)

// defaultCaps are Docker's default capabilities: the default profile allows more to a
// container that has more (CAP_SYS_ADMIN: mount, clone with namespace flags ...).
var defaultCaps = []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"}

func dockerDefault(t *testing.T) []bpf.Instruction {
	t.Helper()
	spec := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: defaultCaps}}}
	profile, err := mobyseccomp.GetDefaultProfile(spec)
	require.NoError(t, err)
	insns, err := program(profile)
	require.NoError(t, err)
	_, err = Compile(profile)
	require.NoError(t, err)
	return insns
}

func TestDockerDefaultProfile(t *testing.T) {
	insns := dockerDefault(t)
	x := specs.ArchX86_64
	eperm, enosys := uint32(retErrno|unix.EPERM), uint32(retErrno|unix.ENOSYS)
	for _, tc := range []struct {
		name string
		call call
		want uint32
	}{
		{"read is allowed", call{arch: x8664, nr: nr(t, x, "read")}, retAllow},
		{"mount is refused", call{arch: x8664, nr: nr(t, x, "mount")}, eperm},
		{"unshare is refused", call{arch: x8664, nr: nr(t, x, "unshare")}, eperm},
		{"keyctl is refused", call{arch: x8664, nr: nr(t, x, "keyctl")}, eperm},
		// Since Linux 4.8 a tracer cannot step around the filter, and the profile lets ptrace
		// through; another process is out of reach because CAP_SYS_PTRACE is not granted.
		{"ptrace is the capabilities' business", call{arch: x8664, nr: nr(t, x, "ptrace")}, retAllow},
		{"a thread's clone is allowed", call{arch: x8664, nr: nr(t, x, "clone"), args: [6]uint64{unix.CLONE_VM | unix.CLONE_THREAD | unix.CLONE_SIGHAND}}, retAllow},
		{"a clone into a new user namespace is refused", call{arch: x8664, nr: nr(t, x, "clone"), args: [6]uint64{unix.CLONE_NEWUSER}}, eperm},
		{"clone3 says ENOSYS, so libc falls back to clone", call{arch: x8664, nr: nr(t, x, "clone3")}, enosys},
		{"personality(PER_LINUX) is allowed", call{arch: x8664, nr: nr(t, x, "personality"), args: [6]uint64{0}}, retAllow},
		{"personality(0xffffffff) is allowed", call{arch: x8664, nr: nr(t, x, "personality"), args: [6]uint64{0xffffffff}}, retAllow},
		{"another personality is refused", call{arch: x8664, nr: nr(t, x, "personality"), args: [6]uint64{1}}, eperm},
		{"a 32-bit read is allowed", call{arch: i386, nr: nr(t, specs.ArchX86, "read")}, retAllow},
		{"a 32-bit mount is refused", call{arch: i386, nr: nr(t, specs.ArchX86, "mount")}, eperm},
		{"an x32 read is allowed", call{arch: x8664, nr: nr(t, specs.ArchX32, "read") | x32Bit}, retAllow},
		{"an unknown architecture is killed", call{arch: uint32(unix.AUDIT_ARCH_AARCH64) ^ 1, nr: 0}, retKillProcess},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, run(t, insns, tc.call))
		})
	}
}

func TestArgumentComparisons(t *testing.T) {
	big := uint64(0x1_0000_0005) // a high word, so both halves count
	for _, tc := range []struct {
		op   specs.LinuxSeccompOperator
		arg  uint64
		want bool
	}{
		{specs.OpEqualTo, big, true}, {specs.OpEqualTo, 5, false}, {specs.OpEqualTo, big + 1<<32, false},
		{specs.OpNotEqual, 5, true}, {specs.OpNotEqual, big, false},
		{specs.OpGreaterThan, big + 1, true}, {specs.OpGreaterThan, big, false}, {specs.OpGreaterThan, 0x2_0000_0000, true}, {specs.OpGreaterThan, 6, false},
		{specs.OpGreaterEqual, big, true}, {specs.OpGreaterEqual, big - 1, false}, {specs.OpGreaterEqual, 0x1_0000_0000, false},
		{specs.OpLessThan, big - 1, true}, {specs.OpLessThan, big, false}, {specs.OpLessThan, 0xffff_ffff, true}, {specs.OpLessThan, 0x2_0000_0000, false},
		{specs.OpLessEqual, big, true}, {specs.OpLessEqual, big + 1, false}, {specs.OpLessEqual, 7, true},
	} {
		profile := &specs.LinuxSeccomp{
			DefaultAction: specs.ActErrno,
			Architectures: []specs.Arch{specs.ArchX86_64},
			Syscalls: []specs.LinuxSyscall{{
				Names:  []string{"write"},
				Action: specs.ActAllow,
				Args:   []specs.LinuxSeccompArg{{Index: 2, Value: big, Op: tc.op}},
			}},
		}
		insns, err := program(profile)
		require.NoError(t, err)
		got := run(t, insns, call{arch: x8664, nr: 1, args: [6]uint64{0, 0, tc.arg}}) == retAllow
		require.Equal(t, tc.want, got, "%#x %s %#x", tc.arg, tc.op, big)
	}
}

func TestMaskedEqualAndFallThrough(t *testing.T) {
	two, ebusy := uint(2), uint(unix.EBUSY)
	profile := &specs.LinuxSeccomp{
		DefaultAction:   specs.ActErrno,
		DefaultErrnoRet: &two,
		Syscalls: []specs.LinuxSyscall{
			// allowed when no bit of 0xf0 is set in the second argument
			{Names: []string{"ioctl"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 1, Value: 0xf0, ValueTwo: 0, Op: specs.OpMaskedEqual}}},
			// a later rule for the same call takes what the first let through
			{Names: []string{"ioctl"}, Action: specs.ActErrno, ErrnoRet: &ebusy},
			{Names: []string{"no_such_call_here", "getpid"}, Action: specs.ActAllow},
		},
	}
	insns, err := program(profile)
	require.NoError(t, err)
	ioctl := nr(t, specs.ArchX86_64, "ioctl")
	require.Equal(t, uint32(retAllow), run(t, insns, call{arch: x8664, nr: ioctl, args: [6]uint64{0, 0x0f}}))
	require.Equal(t, uint32(retErrno|unix.EBUSY), run(t, insns, call{arch: x8664, nr: ioctl, args: [6]uint64{0, 0x10}}))
	require.Equal(t, uint32(retAllow), run(t, insns, call{arch: x8664, nr: nr(t, specs.ArchX86_64, "getpid")}), "an unknown name is skipped, not an error")
	require.Equal(t, uint32(retErrno|2), run(t, insns, call{arch: x8664, nr: nr(t, specs.ArchX86_64, "read")}), "defaultErrnoRet")
	require.Equal(t, uint32(retKillProcess), run(t, insns, call{arch: i386, nr: 3}), "an architecture the profile does not name")
}

func TestCompileRefusesWhatItCannotDo(t *testing.T) {
	for _, p := range []*specs.LinuxSeccomp{
		{DefaultAction: "SCMP_ACT_NOTIFY"},
		{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 6, Op: specs.OpEqualTo}}}}},
		{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Op: "SCMP_CMP_SOMETIMES"}}}}},
	} {
		_, err := Compile(p)
		require.Error(t, err, "%+v", p)
	}
}

func BenchmarkCompileDockerDefault(b *testing.B) {
	spec := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: defaultCaps}}}
	for b.Loop() {
		profile, err := mobyseccomp.GetDefaultProfile(spec)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Compile(profile); err != nil {
			b.Fatal(err)
		}
	}
}

// The generated tables agree with the kernel's numbers as x/sys knows them.
func TestSyscallTables(t *testing.T) {
	for name, want := range map[string]uint32{"read": unix.SYS_READ, "mount": unix.SYS_MOUNT, "clone3": unix.SYS_CLONE3, "seccomp": unix.SYS_SECCOMP} {
		require.Equal(t, want, nr(t, nativeArch, name), name)
	}
	require.Equal(t, uint32(3), nr(t, specs.ArchX86, "read"), "i386 numbers its calls its own way")
}

// reference decides a call the slow, obvious way: the first rule naming it whose conditions
// all hold, else the default.
func reference(t *testing.T, p *specs.LinuxSeccomp, a specs.Arch, c call) uint32 {
	t.Helper()
	for _, rule := range p.Syscalls {
		ret, err := action(rule.Action, rule.ErrnoRet, p.DefaultErrnoRet)
		require.NoError(t, err)
		for _, name := range rule.Names {
			n, ok := syscallNumbers()[a][name]
			if !ok || n != c.nr&^x32Bit {
				continue
			}
			holds := true
			for _, arg := range rule.Args {
				v := c.args[arg.Index]
				switch arg.Op {
				case specs.OpEqualTo:
					holds = holds && v == arg.Value
				case specs.OpNotEqual:
					holds = holds && v != arg.Value
				case specs.OpMaskedEqual:
					holds = holds && v&arg.Value == arg.ValueTwo
				case specs.OpGreaterThan:
					holds = holds && v > arg.Value
				case specs.OpGreaterEqual:
					holds = holds && v >= arg.Value
				case specs.OpLessThan:
					holds = holds && v < arg.Value
				case specs.OpLessEqual:
					holds = holds && v <= arg.Value
				}
			}
			if holds {
				return ret
			}
		}
	}
	ret, err := action(p.DefaultAction, p.DefaultErrnoRet, p.DefaultErrnoRet)
	require.NoError(t, err)
	return ret
}

// Every call number of each architecture, with a few argument values, gets from the compiled
// search what the rule-by-rule reading of Docker's profile says — and the program is small.
func TestSearchAgreesWithTheRules(t *testing.T) {
	spec := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: defaultCaps}}}
	profile, err := mobyseccomp.GetDefaultProfile(spec)
	require.NoError(t, err)
	insns, err := program(profile)
	require.NoError(t, err)
	require.Less(t, len(insns), 1400, "a search, not a scan: Docker's profile took 2,827 instructions scanned rule by rule")
	argSets := [][6]uint64{{}, {unix.CLONE_NEWUSER}, {0xffffffff}, {40}, {0x20008}, {1, 2, 3}}
	for _, tc := range []struct {
		arch  specs.Arch
		audit uint32
		bit   uint32
	}{{specs.ArchX86_64, x8664, 0}, {specs.ArchX86, i386, 0}, {specs.ArchX32, x8664, x32Bit}} {
		for n := uint32(0); n < 520; n++ {
			for _, args := range argSets {
				c := call{arch: tc.audit, nr: n | tc.bit, args: args}
				want := reference(t, profile, tc.arch, c)
				if got := run(t, insns, c); got != want {
					t.Fatalf("%s call %d args %v: filter says %#x, the rules %#x", tc.arch, n, args, got, want)
				}
			}
		}
	}
}

func TestFingerprint(t *testing.T) {
	spec := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: defaultCaps}}}
	a, err := mobyseccomp.GetDefaultProfile(spec)
	require.NoError(t, err)
	b, err := mobyseccomp.GetDefaultProfile(spec)
	require.NoError(t, err)
	require.Equal(t, Fingerprint(a), Fingerprint(b), "the same profile, the same fingerprint")
	b.Syscalls[0].Args = append(b.Syscalls[0].Args, specs.LinuxSeccompArg{Index: 1, Value: 2, Op: specs.OpEqualTo})
	require.NotEqual(t, Fingerprint(a), Fingerprint(b), "a condition more")
	spec.Process.Capabilities.Bounding = append(spec.Process.Capabilities.Bounding, "CAP_SYS_ADMIN")
	c, err := mobyseccomp.GetDefaultProfile(spec)
	require.NoError(t, err)
	require.NotEqual(t, Fingerprint(a), Fingerprint(c), "CAP_SYS_ADMIN lets more through")
}
