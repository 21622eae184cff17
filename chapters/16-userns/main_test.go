package main

import (
	_ "embed"
	"testing"

	"github.com/mydocker/mydocker/internal/transcript"
)

//go:embed README.md
var readme []byte

// The test binary is also ch16: the README's transcript runs it under that name, as root and,
// for its "user$" lines, as an ordinary user the test makes.
func TestMain(m *testing.M) { transcript.Main(m, "ch16", main) }

func TestTranscript(t *testing.T) {
	transcript.Test(t, "ch16", readme, transcript.EngineCleanup("ch16"))
}
