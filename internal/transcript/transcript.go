// Package transcript checks a chapter's lesson against its program: the README's "run it"
// transcript is run, command by command, and each output must match what the README shows.
//
// A transcript is a fenced block with the info string "console" ("console TAG" marks a block
// that needs what a test may lack: see Needs). A line starting with "$ " is
// a command (a trailing backslash continues it on the next line); the lines up to the next
// command are its expected output, standard output and error together. Variable parts are
// matched loosely: "[...]" within a line matches any text, and a line of just "..." matches
// any number of lines. A leading "sudo " is dropped: the tests run as root. Every command must
// exit 0; a transcript shows a failure with `|| echo "exit status $?"`.
//
// A line starting with "user$ " is a command typed as an ordinary user (chapter 16 runs the
// engine rootless): the test makes one, with a range of subordinate ids, and runs it as that
// user in its home, which holds its own copy of the program and of busybox.tar. Every command,
// root's or the user's, has the user's name in $LEARNER.
package transcript

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mydocker/mydocker/cgroups"
	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/internal/testutil"
)

// Step is one command of a transcript and the output the README shows for it.
type Step struct {
	Line    int // of the command in the README, for messages
	Command string
	Output  []string
	Tag     string // of its block ("console TAG"), "" for none
	User    bool   // typed as an ordinary user ("user$ "), not root
}

// Parse returns the steps of every console block in a README.
func Parse(readme []byte) []Step {
	var (
		steps   []Step
		inBlock bool
		cont    bool
		tag     string
	)
	s := bufio.NewScanner(bytes.NewReader(readme))
	for n := 1; s.Scan(); n++ {
		line := strings.TrimRight(s.Text(), " \t")
		switch {
		case !inBlock:
			info, ok := strings.CutPrefix(line, "```console")
			inBlock = ok && (info == "" || strings.HasPrefix(info, " "))
			tag = strings.TrimSpace(info)
		case line == "```":
			inBlock = false
		case cont:
			last := &steps[len(steps)-1]
			last.Command += "\n" + line
			cont = strings.HasSuffix(line, "\\")
		case strings.HasPrefix(line, "$ "):
			cmd := strings.TrimPrefix(strings.TrimPrefix(line, "$ "), "sudo ")
			steps = append(steps, Step{Line: n, Command: cmd, Tag: tag})
			cont = strings.HasSuffix(line, "\\")
		case strings.HasPrefix(line, "user$ "):
			steps = append(steps, Step{Line: n, Command: strings.TrimPrefix(line, "user$ "), Tag: tag, User: true})
			cont = strings.HasSuffix(line, "\\")
		case len(steps) > 0:
			last := &steps[len(steps)-1]
			last.Output = append(last.Output, line)
		}
	}
	return steps
}

// Match reports whether got (the lines a command printed) matches the expected lines.
func Match(want, got []string) bool {
	want, got = trimTrailingEmpty(want), trimTrailingEmpty(got)
	if len(want) == 0 {
		return len(got) == 0
	}
	if want[0] == "..." {
		for i := 0; i <= len(got); i++ {
			if Match(want[1:], got[i:]) {
				return true
			}
		}
		return false
	}
	return len(got) > 0 && lineMatches(want[0], got[0]) && Match(want[1:], got[1:])
}

func lineMatches(want, got string) bool {
	if !strings.Contains(want, "[...]") {
		return want == got
	}
	parts := strings.Split(want, "[...]")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile("^" + strings.Join(parts, ".*") + "$").MatchString(got)
}

func trimTrailingEmpty(lines []string) []string {
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// Main is a chapter test's TestMain: the test binary is also the chapter's program. Started as
// the container's init, or under the program's name (the transcript runs it as ./chNN), it runs
// the chapter's main; otherwise the tests.
func Main(m *testing.M, program string, main func()) {
	// A re-executed role (a container's init) goes to the program's main too: in a chapter
	// built with -tags lab, main puts the learner's functions in place before the role runs.
	if filepath.Base(os.Args[0]) == program || container.Reexecuted() {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// An Option changes how Test runs a transcript.
type Option func(*options)

type options struct {
	engine  string              // the program, when it is the engine's command line with its store in ./state
	cleanup []string            // shell commands, run after the transcript
	env     []string            // added to each command's environment
	needs   map[string][]string // a block's tag: the programs it needs
}

// EngineCleanup says the program is the engine's command line (chapter 08 on) with its store
// in ./state: after the transcript, passed or failed, what it may have left is removed — its
// containers, then its networks — by the program on the engine's own functions (a learner's
// broken lab, a Lock that fails, must not stop the cleanup of what it left). Then whatever
// still runs in those containers' cgroups, and any process of the program (a container's
// monitor), is killed, and the cgroups removed: a transcript leaves nothing running, whatever
// the code did. What the cleanup could not do is reported; what it had to kill fails a test
// that had passed.
func EngineCleanup(program string) Option {
	return func(o *options) { o.engine = program }
}

// Cleanup runs a shell command in the transcript's directory after it, passed or failed, on
// the engine's own functions (MYDOCKER_LABS_OFF=1): a failure is reported.
func Cleanup(command string) Option {
	return func(o *options) { o.cleanup = append(o.cleanup, command) }
}

// Env adds NAME=VALUE to the environment of the transcript's commands (a registry's address,
// say, that the test chose and the lesson names as a variable).
func Env(nameValue string) Option {
	return func(o *options) { o.env = append(o.env, nameValue) }
}

// Needs says that the blocks tagged tag ("console tag") need the programs tools: where one is
// missing (the cgroup v2 VM has none of containerd), they are left out, and the test says so.
func Needs(tag string, tools ...string) Option {
	return func(o *options) {
		if o.needs == nil {
			o.needs = map[string][]string{}
		}
		o.needs[tag] = tools
	}
}

// labsOff runs a chapter's program on the engine's own functions, whatever it was built with
// (chapters/internal/lab's Off).
const labsOff = "MYDOCKER_LABS_OFF=1"

// Test runs the README's transcript in a fresh directory holding the program (this test
// binary, named program) and busybox.tar, the busybox image, as a learner's checkout has them
// (in bin/, where the lessons build). The options' cleanups run there at the end, passed or
// failed.
func Test(t *testing.T, program string, readme []byte, opts ...Option) {
	testutil.RequiresRoot(t)
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	steps := Parse(readme)
	if len(steps) == 0 {
		t.Fatal("the README has no console transcript")
	}
	tar := testutil.BusyboxTar(t)
	dir := filepath.Dir(tar)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(self, filepath.Join(dir, program)); err != nil {
		t.Fatal(err)
	}
	// Made first, removed last: the cleanups below end root's processes that run as its
	// subordinate ids.
	var learner *learnerShell
	if slices.ContainsFunc(steps, func(s Step) bool { return s.User }) {
		learner = newLearner(t, program, self, tar)
		o.env = append(o.env, "LEARNER="+learner.u.Name)
	}
	t.Cleanup(func() { cleanup(t, dir, &o) })
	skipped := map[string]bool{}
	for tag, tools := range o.needs {
		for _, tool := range tools {
			if _, err := exec.LookPath(tool); err != nil && !skipped[tag] {
				t.Logf("the README's %q part is left out: it needs %s, which is not installed", tag, tool)
				skipped[tag] = true
			}
		}
	}
	for _, step := range steps {
		if skipped[step.Tag] {
			continue
		}
		var got string
		var err error
		if step.User {
			got, err = learner.run(step.Command)
		} else {
			got, err = run(dir, step.Command, o.env)
		}
		if err != nil {
			t.Fatalf("README line %d: $ %s\n%v\noutput:\n%s", step.Line, step.Command, err, got)
		}
		lines := strings.Split(strings.TrimRight(got, "\n"), "\n")
		for i := range lines {
			lines[i] = strings.TrimRight(lines[i], " \t") // as the README's lines are read
		}
		if !Match(step.Output, lines) {
			t.Fatalf("README line %d: $ %s\nthe README shows:\n%s\nthe program printed:\n%s",
				step.Line, step.Command, indent(step.Output), indent(lines))
		}
	}
}

// cleanup removes what the transcript in dir may have left, passed or failed, in order: the
// engine's containers and networks by its own commands, the test's cleanup commands, then
// whatever still runs from dir (see sweepProcesses) and in the engine's containers' cgroups.
// What it could not do is reported; what it had to kill fails a test that had passed.
func cleanup(t *testing.T, dir string, o *options) {
	env := append([]string{labsOff}, o.env...)
	if o.engine != "" {
		engineCleanup(t, dir, o.engine)
	}
	for _, c := range o.cleanup {
		if out, err := run(dir, c, env); err != nil {
			t.Errorf("cleanup %q: %v\n%s", c, err, out)
		}
	}
	left := sweepProcesses(dir)
	if o.engine != "" {
		left = append(left, sweepCgroups(filepath.Join(dir, "state"))...)
	}
	if len(left) > 0 {
		msg := "cleanup: left running after the transcript, now killed:\n    " + strings.Join(left, "\n    ")
		if t.Failed() {
			t.Log(msg) // what a failing program leaves; its failure is already reported
		} else {
			t.Error(msg)
		}
	}
}

// engineCleanup removes what the engine's program left in dir/state (see EngineCleanup).
func engineCleanup(t *testing.T, dir, program string) {
	state := filepath.Join(dir, "state")
	if _, err := os.Stat(state); err != nil {
		return // the transcript made nothing
	}
	p := "./" + program + " --root state"
	env := []string{labsOff}
	report := func(what string, err error, out string) {
		t.Errorf("cleanup: %s: %v\n%s", what, err, out)
	}
	if _, err := os.Stat(filepath.Join(state, "containers")); err == nil {
		ids, err := run(dir, p+" ps -aq", env)
		if err != nil {
			report("list the containers", err, ids)
		} else if ids := strings.Fields(ids); len(ids) > 0 {
			if out, err := run(dir, p+" rm -f "+strings.Join(ids, " "), env); err != nil {
				report("remove the containers", err, out)
			}
		}
	}
	// The networks the store holds (network/networks/NAME.json), once their containers are gone.
	nets, _ := filepath.Glob(filepath.Join(state, "network", "networks", "*.json"))
	for _, n := range nets {
		name := strings.TrimSuffix(filepath.Base(n), ".json")
		if out, err := run(dir, p+" network rm "+name, env); err != nil {
			report("remove the network "+name, err, out)
		}
	}
}

// sweepProcesses kills what still runs from the transcript's directory: any other process of
// this test's binary (a container's monitor, an init that never executed its command), and any
// process whose working directory or root is in dir (a registry, a containerd, a shim, a
// container of the runtime). A process on its way out (a kill the transcript sent) gets two
// seconds to go first; a zombie is gone already.
func sweepProcesses(dir string) []string {
	self, err := os.Stat("/proc/self/exe")
	if err != nil {
		return []string{err.Error()}
	}
	ours := func(pid int) bool {
		if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err != nil || zombie(st) {
			return false
		}
		if exe, err := os.Stat(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && os.SameFile(exe, self) {
			return true
		}
		for _, link := range []string{"cwd", "root"} {
			if p, err := os.Readlink(fmt.Sprintf("/proc/%d/%s", pid, link)); err == nil && (p == dir || strings.HasPrefix(p, dir+"/")) {
				return true
			}
		}
		return false
	}
	var found []int
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		if pid, err := strconv.Atoi(p.Name()); err == nil && pid != os.Getpid() && ours(pid) {
			found = append(found, pid)
		}
	}
	for deadline := time.Now().Add(2 * time.Second); len(found) > 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		found = slices.DeleteFunc(found, func(pid int) bool { return !ours(pid) })
	}
	var left []string
	for _, pid := range found {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		left = append(left, fmt.Sprintf("process %d (%s)", pid, strings.ReplaceAll(strings.TrimRight(string(cmdline), "\x00"), "\x00", " ")))
		syscall.Kill(pid, syscall.SIGKILL)
	}
	return left
}

// zombie reports whether /proc/PID/stat is a zombie's: it has exited, and waits to be reaped.
func zombie(stat []byte) bool {
	_, after, ok := bytes.Cut(stat, []byte(") "))
	return ok && len(after) > 0 && after[0] == 'Z'
}

// sweepCgroups kills whatever still runs in the cgroups of the engine's containers in state,
// removes those cgroups, and says what it found.
func sweepCgroups(state string) []string {
	var left []string
	entries, _ := os.ReadDir(filepath.Join(state, "containers"))
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		cg, err := cgroups.New(e.Name())
		if err != nil {
			left = append(left, fmt.Sprintf("the cgroups of container %s: %v", e.Name(), err))
			continue
		}
		for _, d := range cg.Paths() {
			if procs, err := os.ReadFile(filepath.Join(d, "cgroup.procs")); err == nil {
				if pids := strings.Fields(string(procs)); len(pids) > 0 {
					left = append(left, fmt.Sprintf("processes %v in %s", pids, d))
				}
				break // every hierarchy holds the same processes
			}
		}
		if err := cg.Destroy(); err != nil {
			left = append(left, err.Error())
		}
	}
	return left
}

// learnerShell runs a transcript's "user$" commands: as an ordinary user, in its home.
type learnerShell struct {
	u *testutil.User
}

// newLearner makes the user, with its own copies of the program and the image, and removes
// its containers after the test (before the user goes).
func newLearner(t *testing.T, program, self, tar string) *learnerShell {
	u := testutil.NewUser(t)
	l := &learnerShell{u: u}
	for _, f := range []struct {
		src, name string
		mode      os.FileMode
	}{{self, program, 0o755}, {tar, "busybox.tar", 0o644}} {
		data, err := os.ReadFile(f.src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(u.Home, f.name), data, f.mode); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		p := "./" + program
		if out, err := l.run(p + " ps -aq | xargs -r " + p + " rm -f >/dev/null 2>&1; true"); err != nil {
			t.Errorf("cleanup of %s's containers: %v\n%s", u.Name, err, out)
		}
	})
	return l
}

// run runs one "user$" command.
func (l *learnerShell) run(command string) (string, error) {
	as := l.u.Command("sh")
	return runAs(as.Dir, command, append(as.Env, "LC_ALL=C", "LEARNER="+l.u.Name), as.SysProcAttr.Credential)
}

// run runs one command with sh in dir, its environment env added to a minimal one, bounded in
// time, and returns what it printed.
func run(dir, command string, env []string) (string, error) {
	return runAs(dir, command, append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "LC_ALL=C"}, env...), nil)
}

// runAs runs command with sh in dir with the environment env, as cred (nil: this process's
// user), bounded in time, and returns what it printed.
func runAs(dir, command string, env []string, cred *syscall.Credential) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	cmd.Dir = dir
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// Its own process group, so a timeout kills what it started too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: cred}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// A process the command left running with its output (a container's init given the
	// runtime's stdout) would keep Wait waiting for the pipe's end.
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	switch {
	case ctx.Err() != nil:
		err = fmt.Errorf("still running after 2 minutes")
	case errors.Is(err, exec.ErrWaitDelay):
		err = fmt.Errorf("it ended, but a process it started still holds its output 10 seconds later (give a container's output a file)")
	}
	return out.String(), err
}

func indent(lines []string) string {
	return "    " + strings.Join(lines, "\n    ")
}
