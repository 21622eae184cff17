package testutil

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// User is an ordinary user a test made (NewUser), with a range of subordinate ids of its own.
type User struct {
	Name     string
	UID, GID int
	// SubID is the first of the user's SubIDs subordinate uids, and gids (/etc/subuid and
	// /etc/subgid): the ids newuidmap lets it map.
	SubID, SubIDs uint32
	Home          string // its home, XDG_DATA_HOME and XDG_RUNTIME_DIR below it
}

// NewUser adds an ordinary user with a unique name and a range of 65,536 subordinate uids and
// gids at a random place high above any a system gives out, and removes them after the test,
// with its home: useradd, usermod --add-subuids, and their undoing. A process of the user
// still running then fails the test (and is killed, by its pid). It needs root. Without
// shadow's tools (the cgroup v2 VM, a busybox system), the user is written into /etc/passwd
// and /etc/group, and has no range (SubIDs 0).
func NewUser(t testing.TB) *User {
	t.Helper()
	RequiresRoot(t)
	var b [2]byte
	rand.Read(b[:])
	u := &User{Name: UniqueName("mdk")}
	home, err := os.MkdirTemp("", "mydocker-"+u.Name+"-")
	if err != nil {
		t.Fatal(err)
	}
	u.Home = home
	t.Cleanup(func() { os.RemoveAll(home) })
	if _, err := exec.LookPath("useradd"); err == nil {
		u.SubIDs = 65536
		// 2^30 and up, in steps of a range: apart from the ranges useradd gives (from
		// 100000), and apart from another test's but by bad luck (1 in 16,384).
		u.SubID = 1<<30 + uint32(binary.BigEndian.Uint16(b[:])%16384)*u.SubIDs
		addWithShadow(t, u)
	} else {
		addToFiles(t, u, 40000+int(binary.BigEndian.Uint16(b[:])%20000))
	}
	found, err := user.Lookup(u.Name)
	if err != nil {
		t.Fatal(err)
	}
	u.UID, _ = strconv.Atoi(found.Uid)
	u.GID, _ = strconv.Atoi(found.Gid)
	for _, d := range []string{home, filepath.Join(home, "run")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(d, u.UID, u.GID); err != nil {
			t.Fatal(err)
		}
	}
	return u
}

// addWithShadow adds u with shadow's tools, and its range.
func addWithShadow(t testing.TB, u *User) {
	span := fmt.Sprintf("%d-%d", u.SubID, u.SubID+u.SubIDs-1)
	// A system user: useradd gives an ordinary one a range of its own choosing too.
	if out, err := exec.Command("useradd", "--system", "--no-create-home", "--home-dir", u.Home, "--shell", "/bin/sh", "--user-group", u.Name).CombinedOutput(); err != nil {
		t.Fatalf("useradd %s: %v: %s", u.Name, err, out)
	}
	t.Cleanup(func() {
		u.killLeftovers(t)
		exec.Command("usermod", "--del-subuids", span, "--del-subgids", span, u.Name).Run()
		if out, err := exec.Command("userdel", u.Name).CombinedOutput(); err != nil {
			t.Errorf("userdel %s: %v: %s", u.Name, err, out)
		}
	})
	if out, err := exec.Command("usermod", "--add-subuids", span, "--add-subgids", span, u.Name).CombinedOutput(); err != nil {
		t.Fatalf("usermod --add-subuids %s %s: %v: %s", span, u.Name, err, out)
	}
}

// addToFiles adds u as uid and gid id with lines of its own in /etc/passwd and /etc/group,
// taken out after.
func addToFiles(t testing.TB, u *User, id int) {
	lines := map[string]string{
		"/etc/passwd": fmt.Sprintf("%s:x:%d:%d::%s:/bin/sh\n", u.Name, id, id, u.Home),
		"/etc/group":  fmt.Sprintf("%s:x:%d:\n", u.Name, id),
	}
	for path, line := range lines {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.WriteString(line)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		u.killLeftovers(t)
		for path, line := range lines {
			data, err := os.ReadFile(path)
			if err == nil {
				err = os.WriteFile(path, []byte(strings.Replace(string(data), line, "", 1)), 0o644)
			}
			if err != nil {
				t.Errorf("take %s out of %s: %v", u.Name, path, err)
			}
		}
	})
}

// Env is the user's environment: HOME, XDG_DATA_HOME and XDG_RUNTIME_DIR in its home, a PATH
// with the system's directories.
func (u *User) Env() []string {
	return []string{
		"HOME=" + u.Home, "USER=" + u.Name, "LOGNAME=" + u.Name,
		"XDG_DATA_HOME=" + filepath.Join(u.Home, "data"), "XDG_RUNTIME_DIR=" + filepath.Join(u.Home, "run"),
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	}
}

// Command is name with args, run as the user (its uid, gid and no other group) with Env.
func (u *User) Command(name string, args ...string) *exec.Cmd {
	c := exec.Command(name, args...)
	c.Env = u.Env()
	c.Dir = u.Home
	c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(u.UID), Gid: uint32(u.GID), Groups: []uint32{}}}
	return c
}

// Processes are the pids of the user's processes, its subordinate ids' included (a
// container's processes run as those); not the zombies its init has yet to reap.
func (u *User) Processes() []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		status, err := os.ReadFile(filepath.Join("/proc", e.Name(), "status"))
		if err != nil {
			continue
		}
		if strings.Contains(string(status), "\nState:\tZ") {
			continue
		}
		for _, line := range strings.Split(string(status), "\n") {
			if rest, ok := strings.CutPrefix(line, "Uid:"); ok {
				if f := strings.Fields(rest); len(f) > 0 {
					uid, _ := strconv.ParseUint(f[0], 10, 32)
					if int(uid) == u.UID || uint32(uid) >= u.SubID && uint32(uid)-u.SubID < u.SubIDs {
						out = append(out, pid)
					}
				}
			}
		}
	}
	return out
}

// killLeftovers fails the test for each process of the user still running, and kills it. A
// process on its way out (a rootless engine's namespace holder goes a moment after the last
// mydocker of the user) is given 5 seconds to go.
func (u *User) killLeftovers(t testing.TB) {
	for _, pid := range u.Processes() {
		if fd, err := unix.PidfdOpen(pid, 0); err == nil {
			unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 5000)
			unix.Close(fd)
		}
	}
	for _, pid := range u.Processes() {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		t.Errorf("a process of %s was left running: %d %q", u.Name, pid, strings.ReplaceAll(string(cmdline), "\x00", " "))
		fd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			continue // gone
		}
		unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
		unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 5000) // its exit
		unix.Close(fd)
	}
}
