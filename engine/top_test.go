package engine

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParsePS(t *testing.T) {
	for _, tc := range []struct {
		name, out string
		pids      []int
		want      [][]string
		titles    []string
		err       string
	}{
		{
			name: "-ef: the container's rows, the command whole",
			out: "UID        PID  PPID  C STIME TTY          TIME CMD\n" +
				"root         1     0  0 13:21 ?        00:00:48 /sbin/init splash\n" +
				"root       812   790  0 13:22 ?        00:00:00 sleep 1000\n",
			pids:   []int{812},
			titles: []string{"UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"},
			want:   [][]string{{"root", "812", "790", "0", "13:22", "?", "00:00:00", "sleep 1000"}},
		},
		{
			name:   "-o comm,pid: the pid in any column",
			out:    "COMMAND           PID\nsh                 40\ninit                1\n",
			pids:   []int{40},
			titles: []string{"COMMAND", "PID"},
			want:   [][]string{{"sh", "40"}},
		},
		{
			name: "-m: the thread rows of a container's process, not another's",
			out: "  PID TTY          TIME CMD\n" +
				"   40 ?        00:00:00 app\n" +
				"    - -        00:00:00 -\n" +
				"    1 ?        00:00:01 init\n" +
				"    - -        00:00:01 -\n",
			pids:   []int{40},
			titles: []string{"PID", "TTY", "TIME", "CMD"},
			want:   [][]string{{"40", "?", "00:00:00", "app"}, {"-", "-", "00:00:00", "-"}},
		},
		{
			name:   "none of the container's",
			out:    "  PID CMD\n    1 init\n",
			pids:   []int{40},
			titles: []string{"PID", "CMD"},
			want:   [][]string{},
		},
		{name: "no PID column", out: "COMMAND\nsh\n", pids: []int{40}, err: "no PID column"},
		{name: "not a pid", out: "PID CMD\nx sh\n", pids: []int{40}, err: `"x" as a pid`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parsePS([]byte(tc.out), tc.pids)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.titles, got.Titles)
			require.Equal(t, tc.want, got.Processes)
		})
	}
}

func TestCheckPSArgs(t *testing.T) {
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{args: []string{"-ef"}},
		{args: []string{"-eo", "pid,comm"}},
		{args: []string{"-o", "pid=PID,comm"}},
		{args: []string{"aux"}},
		{args: []string{"-o", "comm=PID"}, err: `specifying "comm=PID" is not allowed`},
		{args: []string{"-o", "pid,user=PIDS"}, err: `specifying "user=PIDS" is not allowed`},
	} {
		t.Run(tc.err+" "+tc.args[len(tc.args)-1], func(t *testing.T) {
			err := checkPSArgs(tc.args)
			if tc.err == "" {
				require.NoError(t, err)
			} else {
				require.EqualError(t, err, tc.err)
			}
		})
	}
}
