package main

import (
	_ "embed"
	"testing"

	"github.com/mydocker/mydocker/internal/transcript"
)

//go:embed README.md
var readme []byte

// The test binary is also ch11: the README's transcript runs it under that name.
func TestMain(m *testing.M) { transcript.Main(m, "ch11", main) }

func TestTranscript(t *testing.T) {
	transcript.Test(t, "ch11", readme, transcript.EngineCleanup("ch11"), transcript.Cleanup("ip netns del ch11far 2>/dev/null; true"))
}
