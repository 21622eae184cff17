// Package bars shows the progress of the layers a command moves (pull, push, load, import) as
// Docker does: on a terminal, a line per layer redrawn in place, with a bar while its bytes
// move and its status once done; in a file or a pipe, one plain line per finished layer, so
// that logs and tests read the same lines.
//
// It is drawn here rather than by a progress-bar library: linking one (mpb, with its
// Unicode-width tables and their init) into mydocker cost every command 0.5 ms at start,
// measured, for what is a few escape sequences.
package bars

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Progress is the progress display of one command.
type Progress struct {
	out   io.Writer
	quiet bool
	tty   bool
	json  func(status, id string) // the Engine API's progress messages, in place of lines

	mu     sync.Mutex
	layers []*Layer // on a terminal: the lines drawn at the bottom, in order
	drawn  int      // how many of them the last draw left on the screen
	stop   chan struct{}
}

// New shows progress on out: bars when out is a terminal, lines otherwise, nothing when quiet.
func New(out *os.File, quiet bool) *Progress {
	return newProgress(out, quiet, false)
}

// OnTerminal shows progress on out as bars when out is a terminal, and nothing otherwise (as
// docker load and import, whose only output in a pipe is what they made).
func OnTerminal(out *os.File, quiet bool) *Progress {
	return newProgress(out, quiet, true)
}

func newProgress(out *os.File, quiet, barsOnly bool) *Progress {
	p := &Progress{out: out, quiet: quiet}
	// A terminal of no size (a pty nobody sized) has no room for bars: lines, then.
	if ws, err := unix.IoctlGetWinsize(int(out.Fd()), unix.TIOCGWINSZ); err == nil && ws.Col > 0 && ws.Row > 0 {
		p.tty = true
	}
	if !p.tty && barsOnly {
		p.quiet = true
	}
	return p
}

// Messages shows progress as the Engine API streams it, one message each (a line printed, a
// layer started, a layer done): msg writes one, with the layer's id or "".
func Messages(msg func(status, id string)) *Progress { return &Progress{json: msg} }

// Printf prints a line: above the bars on a terminal.
func (p *Progress) Printf(format string, args ...any) {
	if p.json != nil {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.json(strings.TrimSuffix(fmt.Sprintf(format, args...), "\n"), "")
		return
	}
	if p.quiet {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.tty || len(p.layers) == 0 {
		fmt.Fprintf(p.out, format, args...)
		return
	}
	var b strings.Builder
	p.erase(&b)
	fmt.Fprintf(&b, format, args...)
	p.drawn = 0
	p.draw(&b)
}

// Say prints a line about id ("1: Pulling from app"), as Printf does; for the Engine API, a
// message with its id.
func (p *Progress) Say(id, status string) {
	if p.json != nil {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.json(status, id)
		return
	}
	p.Printf("%s: %s\n", id, status)
}

// Layer starts the progress of one layer: "ID: ACTION [===>   ] 1.2MB/3.4MB".
func (p *Progress) Layer(id, action string, size int64) *Layer {
	l := &Layer{p: p, id: id, action: action, size: size}
	if p.json != nil && action != "" {
		p.mu.Lock()
		p.json(action, id)
		p.mu.Unlock()
	}
	if p.quiet || !p.tty {
		return l
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.layers = append(p.layers, l)
	if p.stop == nil {
		p.stop = make(chan struct{})
		go p.redraw(p.stop)
	}
	p.drawLocked()
	return l
}

// Wait draws the layers' last state; what follows is printed as lines.
func (p *Progress) Wait() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stop != nil {
		close(p.stop)
		p.stop = nil
	}
	if len(p.layers) > 0 {
		p.drawLocked()
	}
	p.layers, p.drawn = nil, 0
}

// redraw draws the bars every 150 ms until stop.
func (p *Progress) redraw(stop chan struct{}) {
	tick := time.NewTicker(150 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			p.mu.Lock()
			select {
			case <-stop:
			default:
				p.drawLocked()
			}
			p.mu.Unlock()
		case <-stop:
			return
		}
	}
}

func (p *Progress) drawLocked() {
	var b strings.Builder
	p.erase(&b)
	p.draw(&b)
}

// erase moves back over the lines the last draw left and clears them.
func (p *Progress) erase(b *strings.Builder) {
	if p.drawn > 0 {
		fmt.Fprintf(b, "\x1b[%dA\x1b[J", p.drawn)
	}
}

func (p *Progress) draw(b *strings.Builder) {
	for _, l := range p.layers {
		b.WriteString(l.line())
		b.WriteString("\n")
	}
	p.drawn = len(p.layers)
	io.WriteString(p.out, b.String())
}

// Layer is the progress of one layer.
type Layer struct {
	p      *Progress
	id     string
	action string
	size   int64
	done   atomic.Int64
	status atomic.Pointer[string] // set when it ended
}

// line is the layer as drawn: its status once ended, else its action and bar.
func (l *Layer) line() string {
	if s := l.status.Load(); s != nil {
		return l.id + ": " + *s
	}
	done := l.done.Load()
	if l.size <= 0 {
		return fmt.Sprintf("%s: %s %s", l.id, l.action, humanSize(done))
	}
	const width = 40
	filled := int(min(done, l.size) * width / l.size)
	bar := strings.Repeat("=", filled)
	if filled < width {
		bar += ">" + strings.Repeat(" ", width-filled-1)
	}
	return fmt.Sprintf("%s: %s [%s] %s/%s", l.id, l.action, bar, humanSize(done), humanSize(l.size))
}

// Reader counts what is read through it on the layer's bar.
func (l *Layer) Reader(r io.Reader) io.Reader {
	if !l.p.tty || l.p.quiet {
		return r
	}
	return &counting{r: r, l: l}
}

// Set moves the layer's bar to n bytes done.
func (l *Layer) Set(n int64) { l.done.Store(n) }

// Done ends the layer with a status ("Pull complete", "Already exists").
func (l *Layer) Done(status string) {
	l.status.Store(&status)
	if l.p.json != nil {
		l.p.mu.Lock()
		l.p.json(status, l.id)
		l.p.mu.Unlock()
		return
	}
	if !l.p.quiet && !l.p.tty {
		fmt.Fprintf(l.p.out, "%s: %s\n", l.id, status)
	}
}

// Fail ends the layer where it stopped, with status.
func (l *Layer) Fail(status string) { l.status.Store(&status) }

// End ends the layer as err says: done with status, or "Failed".
func (l *Layer) End(err error, status string) {
	if err != nil {
		l.Fail("Failed")
		return
	}
	l.Done(status)
}

// counting counts the bytes read through it (and hides the reader's WriteTo, which would read
// a whole layer before the bar moved).
type counting struct {
	r io.Reader
	l *Layer
}

func (c *counting) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.l.done.Add(int64(n))
	return n, err
}

// humanSize is n bytes as Docker prints them (decimal units, three significant digits).
func humanSize(n int64) string {
	units := []string{"B", "kB", "MB", "GB", "TB"}
	v, i := float64(n), 0
	for v >= 1000 && i < len(units)-1 {
		v /= 1000
		i++
	}
	return fmt.Sprintf("%.4g%s", v, units[i])
}
