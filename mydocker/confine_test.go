package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// statusField reads one field of /proc/self/status as the container's command sees it.
func statusField(t *testing.T, e *engineEnv, field string, args ...string) string {
	t.Helper()
	out := e.must(append(append([]string{"run", "--rm"}, args...), "busybox", "grep", "^"+field+":", "/proc/self/status")...)
	return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(out), field+":"))
}

// The command gets the soft limit on open files mydocker was started with, as with runc: the
// Go runtime raises its own, and the init gives it back before its raw execve.
func TestCommandGetsTheCallersOpenFilesLimit(t *testing.T) {
	e := newEngine(t)
	var lim syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim))
	if lim.Max < 2048 {
		t.Skipf("needs a hard limit on open files of 2048 or more, not %d", lim.Max)
	}
	low := syscall.Rlimit{Cur: 1000, Max: lim.Max}
	require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low))
	t.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim) })
	want := fmt.Sprintf("1000\n%d\n", lim.Max)
	require.Equal(t, want, e.must("run", "--rm", "busybox", "sh", "-c", "ulimit -n; ulimit -Hn"))
	e.must("run", "-d", "--name", "files", "busybox", "sleep", "1000")
	require.Equal(t, want, e.must("exec", "files", "sh", "-c", "ulimit -n; ulimit -Hn"))
}

// A plain run gets Docker's confinement: its capabilities, the seccomp filter, and the
// device controller; mount, unshare, changing a link and reading a disk are refused.
func TestDefaultConfinement(t *testing.T) {
	e := newEngine(t)
	require.Equal(t, "00000000a80425fb", statusField(t, e, "CapEff"))
	require.Equal(t, "00000000a80425fb", statusField(t, e, "CapBnd"))
	require.Equal(t, "0000000000000000", statusField(t, e, "CapInh"))
	require.Equal(t, "2", statusField(t, e, "Seccomp"))
	require.Equal(t, "0", statusField(t, e, "NoNewPrivs"))
	for _, tc := range []struct{ name, cmd string }{
		{"mount", "mkdir -p /mnt && mount -t tmpfs none /mnt"},
		{"unshare", "unshare -n true"},
		{"ip link set", "ip link set lo mtu 1400"},
		{"mknod and read a disk", "mknod /tmp/disk b 7 0 && head -c 16 /tmp/disk"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.run("run", "--rm", "busybox", "sh", "-c", tc.cmd)
			require.NotEqual(t, 0, r.code, "%s", r)
			require.Contains(t, r.stderr, "ermi", "refused for want of permission: %s", r) // "Permission denied", "Operation not permitted"
		})
	}
	// A user other than root starts with no capability at all, as after an execve.
	require.Equal(t, "0000000000000000", statusField(t, e, "CapEff", "-u", "1000"))
	require.Equal(t, "00000000a80425fb", statusField(t, e, "CapBnd", "-u", "1000"))
}

func TestConfinementOptions(t *testing.T) {
	e := newEngine(t)
	e.must("run", "--rm", "--cap-add", "NET_ADMIN", "busybox", "ip", "link", "set", "lo", "mtu", "1400")
	e.must("run", "--rm", "--cap-add", "cap_net_admin", "busybox", "ip", "link", "set", "lo", "mtu", "1400")
	r := e.run("run", "--rm", "--cap-drop", "MKNOD", "busybox", "mknod", "/tmp/null", "c", "1", "3")
	require.NotEqual(t, 0, r.code, "--cap-drop MKNOD: %s", r)
	require.Equal(t, "0000000000000000", statusField(t, e, "CapEff", "--cap-drop", "ALL"))
	r = e.run("run", "--rm", "--cap-add", "NOT_A_CAP", "busybox", "true")
	require.Equal(t, 125, r.code)
	require.Contains(t, r.stderr, "NOT_A_CAP")

	require.Equal(t, "50", strings.TrimSpace(e.must("run", "--rm", "--ulimit", "nofile=50:50", "busybox", "sh", "-c", "ulimit -n")))
	r = e.run("run", "--rm", "--ulimit", "nofile=50:999999999", "busybox", "true")
	require.Equal(t, 125, r.code, "a hard limit above the host's: %s", r)
	require.Contains(t, r.stderr, "RLIMIT_NOFILE")
	require.Empty(t, e.containerDirs(), "the failed start left nothing")

	require.Equal(t, "1", statusField(t, e, "NoNewPrivs", "--security-opt", "no-new-privileges"))
	require.Equal(t, "0", statusField(t, e, "Seccomp", "--security-opt", "seccomp=unconfined"))

	// A profile of one's own: Docker's format, everything allowed but mkdir.
	profile := filepath.Join(t.TempDir(), "profile.json")
	require.NoError(t, os.WriteFile(profile, []byte(`{"defaultAction": "SCMP_ACT_ALLOW",
		"syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}`), 0o644))
	r = e.run("run", "--rm", "--security-opt", "seccomp="+profile, "busybox", "mkdir", "/tmp/d")
	require.NotEqual(t, 0, r.code)
	require.Contains(t, r.stderr, "Operation not permitted")
	e.must("run", "--rm", "--security-opt", "seccomp="+profile, "busybox", "touch", "/tmp/f")

	// inspect shows what was asked.
	e.must("run", "--name", "asked", "--cap-add", "NET_ADMIN", "--cap-drop", "MKNOD", "--security-opt", "no-new-privileges", "busybox", "true")
	host := e.stateOf(t, "asked")["HostConfig"].(map[string]any)
	require.Equal(t, []any{"NET_ADMIN"}, host["CapAdd"])
	require.Equal(t, []any{"MKNOD"}, host["CapDrop"])
	require.Equal(t, []any{"no-new-privileges"}, host["SecurityOpt"])
	require.Equal(t, false, host["Privileged"])

	// --device: the host's /dev/null as /dev/mine, and nothing more.
	e.must("run", "--rm", "--device", "/dev/null:/dev/mine", "busybox", "sh", "-c", "echo x > /dev/mine")
}

// --privileged gets what the host can give: here the host lacks CAP_SYS_RESOURCE, and the
// container still starts (Docker 20.10's asks for every capability and fails).
func TestPrivileged(t *testing.T) {
	e := newEngine(t)
	host := hostStatus(t, "CapBnd")
	require.Equal(t, host, statusField(t, e, "CapEff", "--privileged"))
	require.Equal(t, "0", statusField(t, e, "Seccomp", "--privileged"))
	e.must("run", "--rm", "--privileged", "busybox", "sh", "-c", "mkdir -p /mnt && mount -t tmpfs none /mnt")
	out := e.must("run", "--rm", "--privileged", "busybox", "sh", "-c", "grep ' /sys ' /proc/mounts; ls /dev")
	require.Regexp(t, `sysfs /sys sysfs rw`, out)
	require.Contains(t, out, "kmsg", "the host's devices")
}

func hostStatus(t *testing.T, field string) string {
	t.Helper()
	data, err := os.ReadFile("/proc/self/status")
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^` + field + `:\s*(\S+)$`).FindSubmatch(data)
	require.NotNil(t, m)
	return string(m[1])
}

// Nothing the caller of mydocker had open reaches a container: not its command, not a
// detached container's PID 1, not an exec'd process.
func TestInheritedDescriptorsDoNotReachTheContainer(t *testing.T) {
	e := newEngine(t)
	secret, err := os.CreateTemp(t.TempDir(), "secret")
	require.NoError(t, err)
	defer secret.Close()
	withFd7 := func(args ...string) result {
		c := e.cmd(args...)
		c.ExtraFiles = []*os.File{nil, nil, nil, nil, secret} // fd 7
		return runBounded(c, "")
	}
	r := withFd7("run", "--rm", "busybox", "sh", "-c", "test -e /proc/self/fd/7 && echo LEAKED; true")
	require.Equal(t, 0, r.code, "%s", r)
	require.NotContains(t, r.stdout, "LEAKED")

	r = withFd7("run", "-d", "--name", "fds", "busybox", "sleep", "1000")
	require.Equal(t, 0, r.code, "%s", r)
	require.Equal(t, "0\n1\n2\n", e.must("exec", "fds", "ls", "/proc/1/fd"), "PID 1 of a detached container")
	r = withFd7("exec", "fds", "sh", "-c", "test -e /proc/self/fd/7 && echo LEAKED; true")
	require.Equal(t, 0, r.code, "%s", r)
	require.NotContains(t, r.stdout, "LEAKED")
}

// An exec'd process is no stronger than the container's PID 1, unless asked.
func TestExecIsConfinedToo(t *testing.T) {
	e := newEngine(t)
	e.must("run", "-d", "--name", "box", "busybox", "sleep", "1000")
	out := e.must("exec", "box", "grep", "-E", "^(CapEff|Seccomp):", "/proc/self/status")
	require.Regexp(t, `CapEff:\s+00000000a80425fb\nSeccomp:\s+2`, out)
	r := e.run("exec", "box", "sh", "-c", "mkdir -p /mnt && mount -t tmpfs none /mnt")
	require.NotEqual(t, 0, r.code)
	out = e.must("exec", "--privileged", "box", "grep", "-E", "^(CapEff|Seccomp):", "/proc/self/status")
	require.Regexp(t, `CapEff:\s+`+hostStatus(t, "CapBnd")+`\nSeccomp:\s+0`, out)
	out = e.must("exec", "-u", "daemon", "box", "sh", "-c", "id -u; grep ^CapEff: /proc/self/status")
	require.Regexp(t, `^1\nCapEff:\s+0000000000000000`, out)
}

// CVE-2019-5736: a container makes `mydocker exec` run the host's mydocker binary inside it (a
// script whose interpreter is /proc/self/exe), keeps a descriptor of that binary through
// /proc/PID/exe, and once the process is gone writes through it. The binary must come out
// unchanged — also after an upgrade replaced it with a new file, when no running watcher
// holds that file busy any more.
//
// Twice: with mydocker-init beside mydocker (the runtime runs the helper, and the attack gets
// hold of it), and without it (mydocker runs itself, as the course's programs do).
func TestContainerCannotOverwriteTheEngine(t *testing.T) {
	for _, tc := range []struct {
		name            string
		helper, upgrade bool
	}{
		{"helper", true, false}, {"helper after an upgrade", true, true},
		{"self", false, false}, {"self after an upgrade", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t)
			e.bin = filepath.Join(t.TempDir(), "mydocker") // a copy of its own to attack
			binaries := []string{e.bin}
			if tc.helper {
				binaries = append(binaries, e.bin+"-init")
			}
			for _, b := range binaries {
				copyBinary(t, strings.Replace(b, e.bin, binary, 1), b)
			}
			e.must("run", "--name", "mk", "busybox", "sh", "-c", `printf '#!/proc/self/exe\n' > /evil && chmod +x /evil
cat > /attack <<'EOF'
#!/bin/sh
while :; do
  for p in /proc/[0-9]*; do
    case "$(readlink $p/exe 2>/dev/null)" in *mydocker*) ;; *) continue ;; esac
    exec 3< $p/exe || continue
    echo grabbed > /grabbed
    while [ -e $p ]; do :; done
    # Whatever still runs the binary on the host keeps it busy a moment (ETXTBSY): try again.
    n=0
    while [ $n -lt 100 ]; do
      if printf '#!/bin/sh\necho pwned\n' 2>/tmp/err >/proc/self/fd/3; then echo overwritten > /result; exec sleep 1000; fi
      grep -q busy /tmp/err || break
      n=$((n+1)); sleep 0.05
    done
    cat /tmp/err > /result
    exec sleep 1000
  done
done
EOF
chmod +x /attack`)
			e.must("commit", "mk", "attacker")
			e.must("run", "-d", "--name", "victim", "attacker", "/attack")
			before := map[string][32]byte{}
			for _, b := range binaries {
				if tc.upgrade {
					// What a package manager does: the new binary is a new file, renamed over the old.
					copyBinary(t, strings.Replace(b, e.bin, binary, 1), b+".new")
					require.NoError(t, os.Rename(b+".new", b))
				}
				before[b] = fileHash(t, b)
			}
			// Read what the attacker says through /proc, from the host: any mydocker run to ask
			// would keep the binary busy.
			rootDir := filepath.Join("/proc", fmt.Sprint(e.stateOf(t, "victim")["State"].(map[string]any)["Pid"]), "root")
			// The exec'd process lives some milliseconds (less with mydocker-init): try again
			// at once when the attack did not grab it, wait for its verdict when it did. On a
			// machine busy with other tests (the VM) the attacker's shell scans /proc slowly:
			// it may take many tries, so they are bounded by time, generously.
			deadline := time.Now().Add(2 * time.Minute)
			var result string
			for i := 0; i < 2000 && result == "" && time.Now().Before(deadline); i++ {
				e.run("exec", "victim", "/evil")
				for j := 0; j < 20 && result == ""; j++ {
					time.Sleep(100 * time.Millisecond)
					data, _ := os.ReadFile(filepath.Join(rootDir, "result"))
					result = strings.TrimSpace(string(data))
					if _, err := os.Stat(filepath.Join(rootDir, "grabbed")); err != nil && j >= 2 {
						break
					}
				}
			}
			require.NotEmpty(t, result, "the attack never got hold of the binary: the test proves nothing")
			t.Logf("the attack says: %s", result)
			require.NotEqual(t, "overwritten", result)
			for _, b := range binaries {
				require.Equal(t, before[b], fileHash(t, b), "the host's %s was changed: %s", filepath.Base(b), result)
			}
			e.must("rm", "-f", "victim")
		})
	}
}

func copyBinary(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(to, data, 0o755))
}

func fileHash(t *testing.T, path string) [32]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return sha256.Sum256(data)
}
