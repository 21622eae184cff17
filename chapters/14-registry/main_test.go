package main

import (
	_ "embed"
	"net"
	"os/exec"
	"testing"

	"github.com/mydocker/mydocker/internal/transcript"
)

//go:embed README.md
var readme []byte

// The test binary is also ch14 (and, run again as mydocker-registry, its registry client): the
// README's transcript runs it under that name.
func TestMain(m *testing.M) { transcript.Main(m, "ch14", main) }

// The transcript starts Debian's docker-registry on a free port of loopback, named to the
// lesson's commands as $REGISTRY, and stops it; the cleanup stops it too when a step failed.
func TestTranscript(t *testing.T) {
	for _, tool := range []string{"docker-registry", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("needs %s: apt-get install %s (make deps)", tool, tool)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	transcript.Test(t, "ch14", readme, transcript.Env("REGISTRY="+addr), transcript.EngineCleanup("ch14"),
		transcript.Cleanup("if [ -f registry.pid ]; then kill $(cat registry.pid) 2>/dev/null; fi; true"))
}
