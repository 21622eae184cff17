package commands

import (
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/image"
	"github.com/stretchr/testify/require"

	"github.com/mydocker/mydocker/engine"
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

// images' rows from the engine's summaries: a row per tag kept, the digest of its repository,
// an untagged image as <none> unless images were built on it and only dangling ones are asked
// for, one row per image with -q, N/A for an image of no time.
func TestImageRows(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	id := func(c string) string { return "sha256:" + strings.Repeat(c, 64) }
	imgs := []image.Summary{
		{ID: id("a"), RepoTags: []string{"app:1", "app:2"}, RepoDigests: []string{"app@sha256:d1"}, Created: now.Add(-2 * time.Hour).Unix(), Size: 2131456},
		{ID: id("b"), ParentID: id("c"), Created: engine.NoTime, Size: 5},
		{ID: id("c"), Created: now.Unix(), Size: 5},
	}
	all := func(string) bool { return true }
	rows := imageRows(imgs, all, false, false, false, now)
	require.Equal(t, []any{
		imageRow{Repository: "app", Tag: "1", ID: strings.Repeat("a", 12), CreatedSince: "2 hours ago", CreatedAt: now.Add(-2 * time.Hour).Local().Format("2006-01-02 15:04:05 -0700 MST"), Size: "2.131MB", Digest: "sha256:d1"},
		imageRow{Repository: "app", Tag: "2", ID: strings.Repeat("a", 12), CreatedSince: "2 hours ago", CreatedAt: now.Add(-2 * time.Hour).Local().Format("2006-01-02 15:04:05 -0700 MST"), Size: "2.131MB", Digest: "sha256:d1"},
		imageRow{Repository: "<none>", Tag: "<none>", ID: strings.Repeat("b", 12), CreatedSince: "N/A", Size: "5B", Digest: "<none>"},
		imageRow{Repository: "<none>", Tag: "<none>", ID: strings.Repeat("c", 12), CreatedSince: "Less than a second ago", CreatedAt: now.Local().Format("2006-01-02 15:04:05 -0700 MST"), Size: "5B", Digest: "<none>"},
	}, rows)
	require.Equal(t, []any{imageRow{ID: id("a")}, imageRow{ID: id("b")}, imageRow{ID: id("c")}}, imageRows(imgs, all, false, true, true, now))
	dangling := func(tag string) bool { return tag == "<none>:<none>" }
	require.Equal(t, []any{imageRow{ID: strings.Repeat("b", 12)}}, imageRows(imgs, dangling, true, false, true, now),
		"an image built on is not dangling")
}

// history's lines from the engine's: ids cut to 12 unless --no-trunc, CREATED BY to 45.
func TestHistoryRows(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	items := []image.HistoryResponseItem{
		{ID: "sha256:" + strings.Repeat("a", 64), Created: now.Add(-time.Minute).Unix(), CreatedBy: strings.Repeat("x", 50), Size: 5, Comment: "c"},
		{ID: "<missing>", Created: engine.NoTime, CreatedBy: "mydocker import"},
	}
	require.Equal(t, []any{
		historyRow{ID: strings.Repeat("a", 12), CreatedSince: "About a minute ago", CreatedAt: now.Add(-time.Minute).Local().Format(time.RFC3339), CreatedBy: strings.Repeat("x", 44) + "…", Size: "5B", Comment: "c"},
		historyRow{ID: "<missing>", CreatedSince: "N/A", CreatedBy: "mydocker import", Size: "0B"},
	}, historyRows(items, false, now))
	require.Equal(t, "sha256:"+strings.Repeat("a", 64), historyRows(items, true, now)[0].(historyRow).ID)
}
