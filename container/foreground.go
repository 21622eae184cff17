package container

import (
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// relayedSignals are the signals a foreground run or exec passes on to the container: those a
// user or a supervisor sends to stop, reload or resize a program. Not all 64: each one caught
// costs a round of signal-mask changes at start and at exit.
var relayedSignals = []os.Signal{
	unix.SIGHUP, unix.SIGINT, unix.SIGQUIT, unix.SIGABRT, unix.SIGUSR1, unix.SIGUSR2, unix.SIGALRM,
	unix.SIGTERM, unix.SIGCONT, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU, unix.SIGWINCH,
}

// ParseSignal accepts a signal as Docker and runc do: "KILL", "SIGKILL", "kill" or "9".
func ParseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil && n > 0 && n < 65 {
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("invalid signal: %s", s)
}

// Signals are the relayed signals this process caught, for WaitForeground to pass on.
type Signals chan os.Signal

// CatchSignals starts catching the relayed signals. Call it before the container starts: a
// signal that arrives while it starts is then passed on once it runs, instead of killing
// this process and the container with it.
func CatchSignals() Signals {
	sigs := make(Signals, 16)
	signal.Notify(sigs, relayedSignals...)
	return sigs
}

// Stop stops catching.
func (s Signals) Stop() { signal.Stop(s) }

// WaitForeground relays signals (and, with a terminal, the user's keys and the screen) until
// the process exits, and returns its exit status.
func (p *Init) WaitForeground(sigs Signals, stdio Stdio, interactive bool) int {
	var term *terminal
	if p.pty != nil {
		term = attachTerminal(p.pty, stdio, interactive)
		defer term.close()
	}
	exited := make(chan int, 1)
	go func() { exited <- p.Wait() }()
	for {
		select {
		case code := <-exited:
			if term != nil {
				term.drain(2 * time.Second)
			}
			return code
		case s := <-sigs:
			if s == unix.SIGWINCH && term != nil {
				term.resize()
				continue
			}
			p.Signal(s)
		}
	}
}
