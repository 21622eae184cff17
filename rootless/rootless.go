// Package rootless runs mydocker for an ordinary user, as podman does: the engine runs as
// root of a user namespace that maps the user to root and the user's subordinate ids
// (/etc/subuid, /etc/subgid) to the rest, with its state in the user's directories
// ($XDG_DATA_HOME/mydocker, $XDG_RUNTIME_DIR/mydocker). There it may chown an image's files
// to their owners, mount a container's overlay in the container's mount namespace, and make
// the container's namespaces — which that user namespace owns, so that every later mydocker
// of the user, in the same namespace, can stop, exec into and remove them.
//
// One user namespace serves all of a user's mydocker processes: the first makes it, held by a
// small process of its own (the holder, Hold), and each joins it (Enter). A thread joins a
// user namespace only while its process has one thread, which a Go program never has: the
// join is util-linux's nsenter, which executes mydocker again inside, in the same process.
// The holder lives while any mydocker of the user does (each holds a shared lock the holder
// waits to take alone): with the last container gone, nothing of the user's is left.
package rootless

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/userns"
)

// uidEnv marks a process that entered its user's namespace: the user's uid on the host.
const uidEnv = "MYDOCKER_ROOTLESS_UID"

// Needed reports whether this process must enter its user's namespace before it runs
// containers: it is not root.
func Needed() bool { return os.Geteuid() != 0 }

// Active reports whether this process is a rootless engine: it entered its user's namespace,
// where it is root.
func Active() bool {
	return os.Getenv(uidEnv) != "" && os.Geteuid() == 0 && !container.IsIdentity(container.OwnMappings("uid_map"))
}

// Env is what a rootless engine's own processes (its monitors) need of its environment to be
// one too.
func Env() []string {
	if !Active() {
		return nil
	}
	return []string{uidEnv + "=" + os.Getenv(uidEnv), "XDG_RUNTIME_DIR=" + os.Getenv("XDG_RUNTIME_DIR"), "HOME=" + os.Getenv("HOME")}
}

// DataHome is where the user's engine keeps its state: $XDG_DATA_HOME/mydocker, or
// ~/.local/share/mydocker.
func DataHome() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "mydocker")
	}
	return filepath.Join(home(), ".local/share/mydocker")
}

// RuntimeDir is where the user's engine keeps what lives only while it runs (the holder's
// pid, locks, sockets): $XDG_RUNTIME_DIR/mydocker, or a directory of the user's in /tmp.
func RuntimeDir() string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "mydocker")
	}
	uid := os.Getenv(uidEnv)
	if uid == "" {
		uid = strconv.Itoa(os.Getuid())
	}
	return filepath.Join(os.TempDir(), "mydocker-"+uid)
}

func home() string {
	if h := os.Getenv("HOME"); h != "" {
		return h
	}
	if u, err := user.Current(); err == nil {
		return u.HomeDir
	}
	return "/"
}

// The holder's files in RuntimeDir.
const (
	holderPidFile = "userns.pid"  // the holder's pid and start time
	usersLock     = "userns.lock" // shared by each mydocker inside, taken alone by the holder to exit
	createLock    = "userns.make" // taken by whoever looks for the holder, to make one at a time
)

// holderName is the holder's argv[0] (a role of mydocker, see Reexec).
const holderName = "mydocker-userns"

// Enter executes this program again, with the same arguments, as root of the user's user
// namespace (made, with its holder, when there is none). It returns only when it cannot.
func Enter() error {
	dir := RuntimeDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("make the runtime directory %s: %w", dir, err)
	}
	nsenter, err := exec.LookPath("nsenter")
	if err != nil {
		return fmt.Errorf("mydocker run by a user joins its user namespace with nsenter (util-linux): %w", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	// Shared, for as long as this process and what it executes live: the holder does not go
	// away meanwhile. Not close-on-exec, on purpose.
	users, err := unix.Open(filepath.Join(dir, usersLock), unix.O_CREAT|unix.O_RDONLY, 0o600)
	if err != nil {
		return fmt.Errorf("open %s: %w", usersLock, err)
	}
	if err := flock(users, unix.LOCK_SH); err != nil {
		return err
	}
	// Not for the holder, though, which would wait for itself.
	unix.CloseOnExec(users)
	holder, err := findOrMakeHolder(dir)
	if err != nil {
		unix.Close(users)
		return err
	}
	if _, err := unix.FcntlInt(uintptr(users), unix.F_SETFD, 0); err != nil {
		unix.Close(users)
		return err
	}
	env := append(os.Environ(), uidEnv+"="+strconv.Itoa(os.Getuid()))
	args := []string{"nsenter", fmt.Sprintf("--user=/proc/%d/ns/user", holder.Pid)}
	if data, err := os.ReadFile(fmt.Sprintf("/proc/%d/setgroups", holder.Pid)); err == nil && strings.TrimSpace(string(data)) == "deny" {
		// A namespace of one id denies setgroups, which nsenter calls to become its root: the
		// user is its root already (its one id maps to 0).
		args = append(args, "--preserve-credentials")
	}
	args = append(append(args, "--", exe), os.Args[1:]...)
	err = unix.Exec(nsenter, args, env)
	unix.Close(users)
	return fmt.Errorf("enter the user namespace (nsenter): %w", err)
}

// Hold takes a share of the user's namespace for a process inside it that outlives the one
// that entered (a container's monitor): the holder stays while the file is open.
func Hold() (*os.File, error) {
	f, err := os.Open(filepath.Join(RuntimeDir(), usersLock))
	if err != nil {
		return nil, fmt.Errorf("hold the user namespace: %w", err)
	}
	if err := flock(int(f.Fd()), unix.LOCK_SH); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func flock(fd, how int) error {
	for {
		err := unix.Flock(fd, how)
		if !errors.Is(err, unix.EINTR) {
			if err != nil {
				return fmt.Errorf("lock the user namespace's holder: %w", err)
			}
			return nil
		}
	}
}

// findOrMakeHolder returns the holder of the user's namespace, made when there is none.
func findOrMakeHolder(dir string) (container.Process, error) {
	lock, err := os.OpenFile(filepath.Join(dir, createLock), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return container.Process{}, err
	}
	defer lock.Close()
	if err := flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return container.Process{}, err
	}
	if p, ok := readHolder(dir); ok && p.Alive() {
		return p, nil
	}
	return makeHolder(dir)
}

// readHolder reads the holder's pid file: "PID START".
func readHolder(dir string) (container.Process, bool) {
	data, err := os.ReadFile(filepath.Join(dir, holderPidFile))
	if err != nil {
		return container.Process{}, false
	}
	var p container.Process
	n, _ := fmt.Sscan(string(data), &p.Pid, &p.Start)
	return p, n == 2
}

// makeHolder starts the holder in a new user namespace and maps it: the user itself as root,
// the user's subordinate ids after (newuidmap, newgidmap); a user without them gets a
// namespace of one id, itself (container.StartInit's choice of mapper).
func makeHolder(dir string) (container.Process, error) {
	u, err := user.Current()
	if err != nil {
		return container.Process{}, err
	}
	ids, err := userns.ForUser(u.Username, os.Getuid(), os.Getgid())
	var none *userns.NoRangeError
	switch {
	case errors.As(err, &none):
		// One id, the user's own: root alone, and images whose files are all root's.
		logrus.Warnf("%v: your containers have root alone, and an image with files of other users cannot be unpacked (see mydocker doctor)", err)
		ids = userns.Single(os.Getuid(), os.Getgid())
	case err != nil:
		return container.Process{}, err
	}
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		return container.Process{}, err
	}
	defer devNull.Close()
	exe, err := os.Executable()
	if err != nil {
		return container.Process{}, err
	}
	cmd := &exec.Cmd{
		Path:   exe,
		Args:   []string{holderName, dir},
		Env:    []string{},
		Stdin:  devNull,
		Stdout: devNull,
		Stderr: devNull,
		// Its own session: no terminal's signals reach it.
		SysProcAttr: &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWUSER, Setsid: true},
	}
	if err := cmd.Start(); err != nil {
		return container.Process{}, fmt.Errorf("start the holder of your user namespace: %w", err)
	}
	go cmd.Wait() // it outlives a command (init reaps it then); a server reaps it itself
	p := container.Process{Pid: cmd.Process.Pid}
	if err := container.WriteMappings(p.Pid, ids.UIDs, ids.GIDs); err != nil {
		cmd.Process.Kill()
		return container.Process{}, err
	}
	if p.Start, err = container.StartTime(p.Pid); err != nil {
		cmd.Process.Kill()
		return container.Process{}, err
	}
	if err := os.WriteFile(filepath.Join(dir, holderPidFile), []byte(fmt.Sprintf("%d %d\n", p.Pid, p.Start)), 0o600); err != nil {
		cmd.Process.Kill()
		return container.Process{}, err
	}
	return p, nil
}

// Reexec runs the holder, when this process was started as one, and exits; it returns false
// otherwise.
func Reexec() bool {
	if os.Args[0] != holderName || len(os.Args) != 2 {
		return false
	}
	runHolder(os.Args[1])
	return true
}

// runHolder is the holder: it waits to take the users' lock alone — which it gets once no
// mydocker of the user is left in the namespace — and goes, and its pid file with it.
func runHolder(dir string) {
	f, err := os.Open(filepath.Join(dir, usersLock))
	if err != nil {
		os.Exit(1)
	}
	if err := flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		os.Exit(1)
	}
	// The next mydocker gets its share once this process has gone: it finds no holder, and
	// makes one.
	if p, ok := readHolder(dir); ok && p.Pid == os.Getpid() {
		os.Remove(filepath.Join(dir, holderPidFile))
	}
	os.Exit(0)
}
