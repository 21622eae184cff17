package commands

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

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

func TestRowFormat(t *testing.T) {
	rows := []any{map[string]string{"ID": "abc", "Name": "web"}, map[string]string{"ID": "defgh", "Name": "db"}}
	headers := map[string]string{"ID": "CONTAINER ID", "Name": "NAMES"}
	var out strings.Builder
	f, err := parseRowFormat(`table {{.ID}}\t{{.Name}}`, "", headers)
	require.NoError(t, err)
	require.NoError(t, f.write(&out, rows))
	require.Equal(t, "CONTAINER ID   NAMES\nabc            web\ndefgh          db\n", out.String())

	out.Reset()
	f, err = parseRowFormat(`{{.Name}}:{{upper .ID}} {{title "hello world"}} {{json .Name}}`, "", headers)
	require.NoError(t, err)
	require.NoError(t, f.write(&out, rows[:1]))
	require.Equal(t, "web:ABC Hello World \"web\"\n", out.String())

	_, err = parseRowFormat(`{{.ID`, "", headers)
	require.ErrorContains(t, err, "template parsing error")
}
