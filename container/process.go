package container

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Stdio are the files the container's command gets when it has no terminal. They are passed
// as they are (no copying goroutine), so stdout and stderr stay apart and a pipe stays a pipe.
type Stdio struct {
	Stdin  *os.File // nil: /dev/null
	Stdout *os.File
	Stderr *os.File
}

// initProcess is the parent's handle on a container init it started.
type initProcess struct {
	cmd     *exec.Cmd
	config  *os.File // write end of the config pipe
	sync    *os.File // parent end of the sync socket
	pty     *os.File // the terminal's master side, when the spec asks for one
	started uint64   // the init's start time, see processStartTime
}

// startInit re-executes this binary as the container's init in new namespaces (flags, see
// NamespaceFlags). The init waits for its config (run), so the parent can fork it early — its
// Go runtime then starts while the parent prepares the container — and put it in cgroups and
// networks before it goes on.
func startInit(flags uintptr, terminal bool, stdio Stdio) (p *initProcess, retErr error) {
	configR, configW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("config pipe: %w", err)
	}
	defer configR.Close()
	syncParent, syncChild, err := socketPair()
	if err != nil {
		configW.Close()
		return nil, err
	}
	defer syncChild.Close()
	defer func() {
		if retErr != nil {
			configW.Close()
			syncParent.Close()
		}
	}()

	cmd := &exec.Cmd{
		Path:       "/proc/self/exe",
		Args:       []string{initName},
		Env:        []string{},
		ExtraFiles: []*os.File{configR, syncChild},
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags: flags,
			// If the process that watches the container dies, so does the container: a
			// later ps or rm then finds it gone and cleans up after it.
			Pdeathsig: syscall.SIGKILL,
		},
	}
	if !terminal {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = stdio.Stdin, stdio.Stdout, stdio.Stderr
		if stdio.Stdin == nil {
			cmd.Stdin = nil // exec.Cmd opens /dev/null
		}
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start container init: %w", err)
	}
	p = &initProcess{cmd: cmd, config: configW, sync: syncParent}
	p.started, _ = processStartTime(cmd.Process.Pid)
	return p, nil
}

func (p *initProcess) pid() int { return p.cmd.Process.Pid }

// run sends the config (the init's "go") and waits until the init has executed the command,
// collecting the terminal on the way. A failure before exec comes back as a *StartError.
func (p *initProcess) run(config any) error {
	data, err := json.Marshal(config)
	if err != nil {
		p.config.Close()
		return fmt.Errorf("encode config: %w", err)
	}
	_, err = p.config.Write(data)
	p.config.Close()
	if err != nil {
		return fmt.Errorf("send config to init: %w", err)
	}
	defer p.sync.Close()
	for {
		m, fd, ok, err := recvMsg(int(p.sync.Fd()))
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		switch m.Type {
		case "pty":
			if fd < 0 {
				return fmt.Errorf("init sent a terminal without its fd")
			}
			p.pty = os.NewFile(uintptr(fd), "pty-master")
		case "error":
			return &StartError{Code: m.Code, Message: m.Message}
		default:
			return fmt.Errorf("unexpected message %q from init", m.Type)
		}
	}
}

// kill ends the init and reaps it; used to undo a start that failed half-way.
func (p *initProcess) kill() {
	p.cmd.Process.Kill()
	p.cmd.Wait()
	if p.pty != nil {
		p.pty.Close()
	}
}

// wait reaps the init and returns its exit status as Docker reports it: the exit code, or
// 128+n when signal n killed it.
func (p *initProcess) wait() int {
	err := p.cmd.Wait()
	return exitStatus(p.cmd.ProcessState, err)
}

func exitStatus(ps *os.ProcessState, err error) int {
	if ps == nil {
		return 125
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// processStartTime reads field 22 of /proc/PID/stat: together with the pid it names one
// process for good, since a pid can be reused once the process is gone.
func processStartTime(pid int) (uint64, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces and parentheses: skip past its last ')'.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	fields := strings.Fields(s[i+1:])
	if len(fields) < 20 {
		return 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	return strconv.ParseUint(fields[19], 10, 64)
}

// processAlive reports whether the process pid started at start is still there.
func processAlive(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	got, err := processStartTime(pid)
	return err == nil && got == start
}

// signalProcess sends sig to the process pid only if it is still the one started at start.
// A pidfd pins the process between the check and the signal.
func signalProcess(pid int, start uint64, sig unix.Signal) error {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return fmt.Errorf("process %d is gone: %w", pid, err)
	}
	defer unix.Close(fd)
	if !processAlive(pid, start) {
		return fmt.Errorf("process %d is gone", pid)
	}
	if err := unix.PidfdSendSignal(fd, sig, nil, 0); err != nil {
		return fmt.Errorf("signal process %d: %w", pid, err)
	}
	return nil
}
