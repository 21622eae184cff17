package main

import (
	_ "embed"
	"testing"

	"github.com/mydocker/mydocker/internal/transcript"
)

//go:embed README.md
var readme []byte

// The test binary is also ch15: the README's transcript runs it under that name.
func TestMain(m *testing.M) { transcript.Main(m, "ch15", main) }

func TestTranscript(t *testing.T) {
	transcript.Test(t, "ch15", readme, transcript.EngineCleanup("ch15"))
}
