package commands

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mydocker/mydocker/engine"
)

// humanDuration writes a duration the way Docker's ps and images do.
func humanDuration(d time.Duration) string {
	seconds := int(d.Seconds())
	switch {
	case seconds < 1:
		return "Less than a second"
	case seconds == 1:
		return "1 second"
	case seconds < 60:
		return fmt.Sprintf("%d seconds", seconds)
	}
	minutes := int(d.Minutes())
	switch {
	case minutes == 1:
		return "About a minute"
	case minutes < 60:
		return fmt.Sprintf("%d minutes", minutes)
	}
	hours := int(d.Hours() + 0.5)
	switch {
	case hours == 1:
		return "About an hour"
	case hours < 48:
		return fmt.Sprintf("%d hours", hours)
	case hours < 24*7*2:
		return fmt.Sprintf("%d days", hours/24)
	case hours < 24*30*2:
		return fmt.Sprintf("%d weeks", hours/24/7)
	case hours < 24*365*2:
		return fmt.Sprintf("%d months", hours/24/30)
	}
	return fmt.Sprintf("%d years", int(d.Hours())/24/365)
}

// humanSize writes a byte count the way Docker's images does (decimal units, 4 digits).
func humanSize(n int64) string {
	units := []string{"B", "kB", "MB", "GB", "TB", "PB"}
	size := float64(n)
	i := 0
	for size >= 1000 && i < len(units)-1 {
		size /= 1000
		i++
	}
	return fmt.Sprintf("%.4g%s", size, units[i])
}

// stateText is a container's state as Docker names it: its status, or paused.
func stateText(st *engine.State, paused bool) string {
	if paused {
		return "paused"
	}
	return string(st.Status)
}

// statusText is ps's STATUS column.
func statusText(st *engine.State, paused bool, now time.Time) string {
	switch st.Status {
	case engine.Running:
		if paused {
			return "Up " + humanDuration(now.Sub(st.StartedAt)) + " (Paused)"
		}
		return "Up " + humanDuration(now.Sub(st.StartedAt))
	case engine.Exited:
		return fmt.Sprintf("Exited (%d) %s ago", st.ExitCode, humanDuration(now.Sub(st.FinishedAt)))
	case engine.Dead:
		return "Dead"
	}
	return "Created"
}

// commandText is ps's COMMAND column as Docker writes it: arguments with a space in single
// quotes, the whole in double quotes, cut to 20 characters.
func commandText(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = a
		if i > 0 && strings.Contains(a, " ") {
			quoted[i] = "'" + a + "'"
		}
	}
	cmd := strings.Join(quoted, " ")
	if r := []rune(cmd); len(r) > 20 {
		cmd = string(r[:19]) + "…"
	}
	return strconv.Quote(cmd)
}

// table is a table on stdout as docker prints one: columns three spaces apart. The tabwriter
// writes a cell at a time; the buffer makes that one write(2) for a whole ps -a.
type table struct {
	*tabwriter.Writer
	out *bufio.Writer
}

func newTable() *table {
	out := bufio.NewWriter(os.Stdout)
	return &table{Writer: tabwriter.NewWriter(out, 0, 0, 3, ' ', 0), out: out}
}

// Flush writes the table out.
func (t *table) Flush() error {
	if err := t.Writer.Flush(); err != nil {
		return err
	}
	return t.out.Flush()
}
