// Package transcript checks a chapter's lesson against its program: the README's "run it"
// transcript is run, command by command, and each output must match what the README shows.
//
// A transcript is a fenced block with the info string "console". A line starting with "$ " is
// a command (a trailing backslash continues it on the next line); the lines up to the next
// command are its expected output, standard output and error together. Variable parts are
// matched loosely: "[...]" within a line matches any text, and a line of just "..." matches
// any number of lines. A leading "sudo " is dropped: the tests run as root. Every command must
// exit 0; a transcript shows a failure with `|| echo "exit status $?"`.
package transcript

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/internal/testutil"
)

// Step is one command of a transcript and the output the README shows for it.
type Step struct {
	Line    int // of the command in the README, for messages
	Command string
	Output  []string
}

// Parse returns the steps of every console block in a README.
func Parse(readme []byte) []Step {
	var (
		steps   []Step
		inBlock bool
		cont    bool
	)
	s := bufio.NewScanner(bytes.NewReader(readme))
	for n := 1; s.Scan(); n++ {
		line := strings.TrimRight(s.Text(), " \t")
		switch {
		case !inBlock:
			inBlock = line == "```console"
		case line == "```":
			inBlock = false
		case cont:
			last := &steps[len(steps)-1]
			last.Command += "\n" + line
			cont = strings.HasSuffix(line, "\\")
		case strings.HasPrefix(line, "$ "):
			cmd := strings.TrimPrefix(strings.TrimPrefix(line, "$ "), "sudo ")
			steps = append(steps, Step{Line: n, Command: cmd})
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

// EngineCleanup removes what a transcript of chapter 08 on (the engine's command line, with
// the store in ./state) may have left when it failed halfway: its containers, then its
// networks, with their processes, cgroups, bridges and rules.
func EngineCleanup(program string) string {
	p := "./" + program + " --root state"
	return p + " ps -aq | xargs -r " + p + " rm -f >/dev/null 2>&1; " +
		p + " network ls 2>/dev/null | awk 'NR > 1 { print $2 }' | xargs -r " + p + " network rm >/dev/null 2>&1; true"
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

// Test runs the README's transcript in a fresh directory holding the program (this test
// binary, named program) and busybox.tar, the busybox image, as a learner's checkout has them.
// The cleanup commands run there at the end, passed or failed (EngineCleanup).
func Test(t *testing.T, program string, readme []byte, cleanup ...string) {
	testutil.RequiresRoot(t)
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
	t.Cleanup(func() {
		for _, c := range cleanup {
			if out, err := run(dir, c); err != nil {
				t.Logf("cleanup %q: %v\n%s", c, err, out)
			}
		}
	})
	for _, step := range steps {
		got, err := run(dir, step.Command)
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

// run runs one command with sh in dir, bounded in time, and returns what it printed.
func run(dir, command string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "LC_ALL=C"}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// Its own process group, so a timeout kills what it started too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("still running after 2 minutes")
	}
	return out.String(), err
}

func indent(lines []string) string {
	return "    " + strings.Join(lines, "\n    ")
}
