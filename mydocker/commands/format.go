package commands

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
)

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
