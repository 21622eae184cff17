package commands

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		500 * time.Millisecond: "Less than a second",
		time.Second:            "1 second",
		42 * time.Second:       "42 seconds",
		90 * time.Second:       "About a minute",
		5 * time.Minute:        "5 minutes",
		time.Hour:              "About an hour",
		5 * time.Hour:          "5 hours",
		3 * 24 * time.Hour:     "3 days",
		3 * 7 * 24 * time.Hour: "3 weeks",
	} {
		require.Equal(t, want, humanDuration(d), d.String())
	}
}

func TestHumanSize(t *testing.T) {
	require.Equal(t, "0B", humanSize(0))
	require.Equal(t, "999B", humanSize(999))
	require.Equal(t, "2.131MB", humanSize(2131456))
	require.Equal(t, "1.5GB", humanSize(1500000000))
}

func TestCommandText(t *testing.T) {
	require.Equal(t, `"sleep 1000"`, commandText([]string{"sleep", "1000"}))
	require.Equal(t, `"sh -c 'echo started…"`, commandText([]string{"sh", "-c", "echo started; exec sleep 1000"}))
}

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]unix.Signal{"KILL": unix.SIGKILL, "sigterm": unix.SIGTERM, "SIGHUP": unix.SIGHUP, "9": unix.SIGKILL} {
		got, err := parseSignal(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	_, err := parseSignal("NOPE")
	require.ErrorContains(t, err, "invalid signal")
}
