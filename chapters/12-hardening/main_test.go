package main

import (
	_ "embed"
	"testing"

	"github.com/mydocker/mydocker/internal/transcript"
)

//go:embed README.md
var readme []byte

// The test binary is also ch12: the README's transcript runs it under that name.
func TestMain(m *testing.M) { transcript.Main(m, "ch12", main) }

func TestTranscript(t *testing.T) {
	transcript.Test(t, "ch12", readme, transcript.EngineCleanup("ch12"))
}
