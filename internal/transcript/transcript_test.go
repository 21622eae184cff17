package transcript

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParse(t *testing.T) {
	readme := "text\n$ not a command\n```console\n$ sudo ./ch01 run sh -c 'echo $$'\n1\n$ echo a \\\n  b\na b\n```\n```sh\n$ ignored\n```\n"
	steps := Parse([]byte(readme))
	assert.Equal(t, []Step{
		{Line: 4, Command: "./ch01 run sh -c 'echo $$'", Output: []string{"1"}},
		{Line: 6, Command: "echo a \\\n  b", Output: []string{"a b"}},
	}, steps)
}

func TestMatch(t *testing.T) {
	tests := []struct {
		want, got []string
		ok        bool
	}{
		{[]string{"a", "b"}, []string{"a", "b"}, true},
		{[]string{"a", "b"}, []string{"a", "c"}, false},
		{[]string{"a"}, []string{"a", "b"}, false},
		{[]string{"a", ""}, []string{"a"}, true},
		{[]string{"id [...]"}, []string{"id 4e1f"}, true},
		{[]string{"[...] MiB"}, []string{"12 KiB"}, false},
		{[]string{"a", "...", "z"}, []string{"a", "b", "c", "z"}, true},
		{[]string{"a", "...", "z"}, []string{"a", "z"}, true},
		{[]string{"a", "..."}, []string{"a"}, true},
		{[]string{"a", "...", "z"}, []string{"a", "b"}, false},
		{[]string{"a.b"}, []string{"axb"}, false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.ok, Match(tt.want, tt.got), "Match(%q, %q)", tt.want, tt.got)
	}
}
