// Package vmtest runs the privileged tests again inside a virtual machine that boots Debian's
// stable kernel with cgroup v2 alone, so that "works on cgroup v1 and v2" is tested on a real
// v2 kernel, not only on fake cgroupfs trees. Run it with `make test-vm` (it is part of
// `make test`).
package vmtest

import (
	_ "embed"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mydocker/mydocker/internal/busybox"
	"github.com/mydocker/mydocker/internal/testutil"
)

//go:embed init.sh
var initScript []byte

// vmTests are the test binaries the VM runs, their packages and the tests of each it runs: the
// cgroup tests, the engine's privileged tests that need no network tools (builds, whose RUNs
// are containers, among them), and the chapters whose
// output depends on the cgroup version, which must read the same on v1 and v2 — 04 (limits),
// 08 (the monitor, the state store), 12 (the device controller, an eBPF program on v2), 17 (the
// runtime's cgroups at linux.cgroupsPath, its state; its containerd part is left out, the VM
// has no containerd) — with their labs (labs are built with their reference solutions).
// Chapter 14 needs docker-registry and curl, which the VM has not, and no cgroup of its own;
// chapter 18 the docker CLI and curl, and its output is the API's, the same on either version.
var vmTests = []struct{ binary, pkg, filter string }{
	{"cgroups.test", "./cgroups", "."},
	{"subsystems.test", "./subsystems", "."},
	{"mydocker.test", "./mydocker", "TestRunExitCodes|TestRunIsolation|TestStdout|TestVolumes|TestCopyOnWrite|TestStorageDrivers|" +
		"TestFailedStart|TestDetached|TestStopGraceful|TestForegroundSignals|TestKilledMydocker|TestCommitExportImport|" +
		"TestParallelNames|TestInspect|TestLimits|TestOOMKill|TestPidsLimit|TestCPULimit|TestBadLimits|TestNetworkModes|" +
		"TestContainerSeesItsOwnCgroups|TestDefaultConfinement|TestConfinementOptions|TestPrivileged|TestInherited|TestExecIsConfined|" +
		"TestContainerCannotOverwrite|TestPauseUnpause|TestRestartPolicies|TestInit|TestCreateStartRestart|TestSizeAttachAndStats|" +
		"TestOCIRuntimeCommandLine|TestBuildCache|TestBuildFailingRun|TestBuildContextSymlinks|TestBuildErrors|TestBuildFromStdin|TestBuildRunIsConfined|TestRuntimeUserNamespace$|TestRootlessDelegatedCgroups"},
	{"ch04.test", "./chapters/04-cgroups", "TestTranscript"},
	{"lab04.test", "./labs/04-cgroups", "."},
	{"ch08.test", "./chapters/08-detach", "TestTranscript"},
	{"lab08.test", "./labs/08-detach", "."},
	{"ch12.test", "./chapters/12-hardening", "TestTranscript"},
	{"lab12.test", "./labs/12-hardening", "."},
	{"ch17.test", "./chapters/17-oci-runtime", "TestTranscript"},
	{"lab17.test", "./labs/17-oci-runtime", "."},
}

// selectedTests are vmTests, or, when MYDOCKER_VM_RUN is BINARY:REGEXP (mydocker.test:TestInit),
// that one binary's tests matching REGEXP: a developer's quick run of one failure.
func selectedTests() []struct{ binary, pkg, filter string } {
	binary, filter, ok := strings.Cut(os.Getenv("MYDOCKER_VM_RUN"), ":")
	if !ok {
		return vmTests
	}
	for _, vt := range vmTests {
		if vt.binary == binary {
			vt.filter = filter
			return []struct{ binary, pkg, filter string }{vt}
		}
	}
	return vmTests
}

// cacheDir keeps the kernel between runs, outside the repository.
func cacheDir() string {
	if d := os.Getenv("MYDOCKER_VM_CACHE"); d != "" {
		return d
	}
	return "/var/cache/mydocker-vm"
}

func TestCgroupV2VM(t *testing.T) {
	testutil.RequiresRoot(t)
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		t.Skip("needs qemu-system-x86_64 (apt-get install qemu-system-x86)")
	}
	kernel, modules := debianKernel(t)
	work := t.TempDir()
	root := filepath.Join(work, "initramfs")
	for _, d := range []string{"bin", "lib/modules", "tests"} {
		require.NoError(t, os.MkdirAll(filepath.Join(root, d), 0o755))
	}
	bb, err := busybox.Find()
	if err != nil {
		t.Skip(err.Error())
	}
	copyFile(t, bb, filepath.Join(root, "bin/busybox"), 0o755)
	copyFile(t, filepath.Join(modules, "kernel/fs/overlayfs/overlay.ko"), filepath.Join(root, "lib/modules/overlay.ko"), 0o644)
	require.NoError(t, os.WriteFile(filepath.Join(root, "init"), initScript, 0o755))

	// The same Go tests as on the host, compiled, and the binary they drive: static, since the
	// VM has no libc.
	repo := repoRoot(t)
	goBuild(t, repo, "build", "-o", filepath.Join(root, "bin/mydocker"), "./mydocker")
	goBuild(t, repo, "build", "-o", filepath.Join(root, "bin/mydocker-init"), "./mydocker/init")
	goBuild(t, repo, "build", "-o", filepath.Join(root, "bin/mydocker-shim"), "./mydocker/shim")
	goBuild(t, repo, "build", "-o", filepath.Join(root, "bin/mydocker-runc"), "./mydocker/runc")
	goBuild(t, repo, "build", "-o", filepath.Join(root, "bin/mydocker-build"), "./mydocker/build")
	goBuild(t, repo, "build", "-o", filepath.Join(root, "bin/mydocker-dns"), "./mydocker/dns")
	var list []string
	for _, vt := range selectedTests() {
		args := []string{"test", "-c", "-o", filepath.Join(root, "tests", vt.binary), vt.pkg}
		if strings.HasPrefix(vt.pkg, "./labs/") {
			args = append(args[:1], append([]string{"-tags", "solution"}, args[1:]...)...)
		}
		goBuild(t, repo, args...)
		list = append(list, vt.binary+":"+vt.filter)
	}
	require.NoError(t, os.WriteFile(filepath.Join(root, "tests/list"), []byte(strings.Join(list, "\n")+"\n"), 0o644))

	initrd := filepath.Join(work, "initrd.cpio")
	pack := exec.Command("sh", "-c", "find . | cpio -o -H newc --quiet > "+initrd)
	pack.Dir = root
	out, err := pack.CombinedOutput()
	require.NoError(t, err, "pack the initramfs (apt-get install cpio): %s", out)

	console := filepath.Join(work, "console.log")
	vm := exec.Command(qemu, "-m", "1024", "-smp", "2", "-nographic", "-no-reboot",
		"-kernel", kernel, "-initrd", initrd,
		"-append", "console=ttyS0 panic=-1 quiet loglevel=3 cgroup_no_v1=all")
	logFile, err := os.Create(console)
	require.NoError(t, err)
	vm.Stdout, vm.Stderr = logFile, logFile
	require.NoError(t, vm.Start())
	done := make(chan error, 1)
	go func() { done <- vm.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Minute):
		vm.Process.Kill()
		<-done
		t.Errorf("the VM did not finish in 20 minutes")
	}
	logFile.Close()
	report(t, console)
}

// report reads the console: every VM test becomes a subtest of the host test with the same
// name and verdict (and, when it failed, the VM's output for it), so a failure in the VM reads
// like one on the host. A binary that failed, a skip for a reason other than a missing kernel
// feature, or a cgroup left behind fails the run too.
func report(t *testing.T, console string) {
	data, err := os.ReadFile(console)
	require.NoError(t, err)
	if path := os.Getenv("MYDOCKER_VM_CONSOLE"); path != "" {
		os.WriteFile(path, data, 0o644)
	}
	var (
		binary, doctor string
		output         []string // the current binary's lines since its last result
		ended          = map[string]bool{}
		passed         int
		result         = regexp.MustCompile(`^\s*--- (PASS|FAIL|SKIP): (\S+)`)
		end            = regexp.MustCompile(`^=== END (\S+) (\d+)`)
	)
	lines := strings.Split(strings.ReplaceAll(string(data), "\r", ""), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		switch {
		case strings.HasPrefix(line, "=== BEGIN doctor"):
			for i++; i < len(lines) && !strings.HasPrefix(lines[i], "=== END doctor"); i++ {
				doctor += lines[i] + "\n"
			}
		case strings.HasPrefix(line, "=== BEGIN "):
			binary, output = strings.TrimPrefix(line, "=== BEGIN "), nil
		case end.MatchString(line):
			m := end.FindStringSubmatch(line)
			ended[m[1]] = true
			if m[2] != "0" {
				t.Errorf("VM: %s exited with %s:\n%s", m[1], m[2], strings.Join(output, "\n"))
			}
		case strings.HasPrefix(line, "=== LEFT in /sys/fs/cgroup:"):
			if n := strings.TrimSpace(strings.TrimPrefix(line, "=== LEFT in /sys/fs/cgroup:")); n != "0" {
				t.Errorf("VM: %s cgroups left in /sys/fs/cgroup", n)
			}
		case result.MatchString(line):
			m := result.FindStringSubmatch(line)
			// go test -v prints a skip's reason, like a failure's, before the verdict.
			failure := strings.Join(output, "\n")
			reason := strings.TrimSpace(failure)
			output = nil
			if strings.Contains(m[2], "/") {
				continue // a subtest: its parent reports it
			}
			t.Run(strings.TrimSuffix(binary, ".test")+"/"+m[2], func(t *testing.T) {
				switch m[1] {
				case "PASS":
					passed++
				case "FAIL":
					t.Errorf("failed in the cgroup v2 VM:\n%s", failure)
				case "SKIP":
					if !strings.Contains(reason, "needs cgroup v1") {
						t.Errorf("skipped in the VM for a reason other than a missing kernel feature: %s", reason)
					}
					t.Skip(reason)
				}
			})
		default:
			output = append(output, line)
		}
	}
	t.Logf("VM doctor:\n%s", doctor)
	require.Regexp(t, `(?m)^cgroups\s+v2\s`, doctor, "mydocker doctor in the VM reports cgroup v2")
	for _, vt := range selectedTests() {
		if !ended[vt.binary] {
			t.Fatalf("VM: %s never finished; the console said:\n%s", vt.binary, tail(string(data), 60))
		}
	}
	require.NotZero(t, passed, "VM: no test passed")
}

func tail(s string, lines int) string {
	all := strings.Split(s, "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// debianKernel returns the kernel image and modules directory of Debian's linux-image-amd64,
// fetched with apt-get download and unpacked with dpkg-deb into the cache on first use.
func debianKernel(t *testing.T) (kernel, modules string) {
	t.Helper()
	dir := cacheDir()
	find := func() (string, string) {
		k, _ := filepath.Glob(filepath.Join(dir, "k/boot/vmlinuz-*"))
		m, _ := filepath.Glob(filepath.Join(dir, "k/lib/modules/*"))
		if len(k) == 0 || len(m) == 0 {
			return "", ""
		}
		return k[0], m[0]
	}
	if kernel, modules = find(); kernel != "" {
		return kernel, modules
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	out, err := exec.Command("apt-cache", "depends", "linux-image-amd64").Output()
	if err != nil {
		t.Skipf("needs Debian's kernel package (apt-cache: %v)", err)
	}
	pkg := ""
	for _, line := range strings.Split(string(out), "\n") {
		if p, ok := strings.CutPrefix(strings.TrimSpace(line), "Depends: "); ok && strings.HasPrefix(p, "linux-image-") {
			pkg = p
		}
	}
	require.NotEmpty(t, pkg, "linux-image-amd64 depends on no kernel package: %s", out)
	get := exec.Command("apt-get", "download", pkg)
	get.Dir = dir
	out, err = get.CombinedOutput()
	require.NoError(t, err, "apt-get download %s: %s", pkg, out)
	debs, _ := filepath.Glob(filepath.Join(dir, pkg+"_*.deb"))
	require.NotEmpty(t, debs)
	out, err = exec.Command("dpkg-deb", "-x", debs[0], filepath.Join(dir, "k")).CombinedOutput()
	require.NoError(t, err, "dpkg-deb: %s", out)
	os.Remove(debs[0])
	kernel, modules = find()
	require.NotEmpty(t, kernel, "no vmlinuz in %s", pkg)
	return kernel, modules
}

func repoRoot(t *testing.T) string {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	require.NoError(t, err)
	return strings.TrimSpace(string(out))
}

func goBuild(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go %s: %s", strings.Join(args, " "), out)
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(src)
	require.NoError(t, err, src)
	require.NoError(t, os.WriteFile(dst, data, mode))
}
