package jsonlog

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A line is what encoding/json makes of its Entry, byte for byte, whatever the output holds.
func TestLineIsEncodingJSON(t *testing.T) {
	at := time.Date(2026, 12, 2, 6, 30, 1, 123456789, time.UTC)
	for _, log := range []string{
		"hello\n", "", "tab\there \"quoted\" back\\slash\r\n", "\x00\x01\x1f\x7f", "<b>&amp;</b>",
		"héllo wörld ✓ 🐳", "bad \xff\xfe utf-8 \xc3", "line\u2028sep\u2029para", "\x1b[31mred\x1b[0m\n",
	} {
		e := Entry{Log: log, Stream: "stderr", Time: at}
		want, err := json.Marshal(e)
		require.NoError(t, err)
		require.Equal(t, string(want)+"\n", string(appendEntry(nil, e)), "%q", log)
	}
}

func FuzzAppendEntry(f *testing.F) {
	f.Add("hello\n")
	f.Add("\xff<\u2028")
	f.Fuzz(func(t *testing.T, log string) {
		e := Entry{Log: log, Stream: "stdout", Time: time.Unix(1, 2).UTC()}
		want, _ := json.Marshal(e)
		if got := appendEntry(nil, e); string(got) != string(want)+"\n" {
			t.Fatalf("%q: got %s, want %s", log, got, want)
		}
	})
}
