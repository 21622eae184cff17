package bars

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestHumanSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0B", 999: "999B", 1000: "1kB", 1234567: "1.235MB", 32000000: "32MB"} {
		require.Equal(t, want, humanSize(n))
	}
}

// On a terminal the layers' lines are redrawn in place: the cursor goes back over what the
// last draw left, and a line printed meanwhile goes above them.
func TestTerminalRedraw(t *testing.T) {
	var out bytes.Buffer
	p := &Progress{out: &out, tty: true}
	a := p.Layer("aaaaaaaaaaaa", "Downloading", 100)
	a.Set(50)
	p.Printf("a line\n")
	b := p.Layer("bbbbbbbbbbbb", "Downloading", 0)
	a.Done("Pull complete")
	b.Fail("Failed")
	p.Wait()
	screen := out.String()
	require.Contains(t, screen, "aaaaaaaaaaaa: Downloading [>"+strings.Repeat(" ", 39)+"] 0B/100B\n")
	require.Contains(t, screen, "\x1b[1A\x1b[Ja line\naaaaaaaaaaaa: Downloading ["+strings.Repeat("=", 20)+">")
	require.True(t, strings.HasSuffix(screen, "\x1b[2A\x1b[Jaaaaaaaaaaaa: Pull complete\nbbbbbbbbbbbb: Failed\n"), "%q", screen)
}

// Elsewhere, a finished layer is a line, and nothing else is drawn.
func TestLines(t *testing.T) {
	var out bytes.Buffer
	p := &Progress{out: &out}
	l := p.Layer("aaaaaaaaaaaa", "Downloading", 100)
	l.Done("Pull complete")
	p.Printf("Digest: x\n")
	p.Wait()
	require.Equal(t, "aaaaaaaaaaaa: Pull complete\nDigest: x\n", out.String())
}

// Say is a line about an id; for the Engine API, a message with that id.
func TestSay(t *testing.T) {
	var out bytes.Buffer
	p := &Progress{out: &out}
	p.Say("1", "Pulling from app")
	require.Equal(t, "1: Pulling from app\n", out.String())
	var got [][2]string
	m := Messages(func(status, id string) { got = append(got, [2]string{status, id}) })
	m.Say("1", "Pulling from app")
	require.Equal(t, [][2]string{{"Pulling from app", "1"}}, got)
	quiet := &Progress{out: &out, quiet: true}
	quiet.Say("1", "Pulling from app")
	require.Equal(t, "1: Pulling from app\n", out.String(), "nothing more when quiet")
}
