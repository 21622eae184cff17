package main

import (
	_ "embed"
	"os"
	"os/exec"
	"testing"

	"github.com/mydocker/mydocker/internal/transcript"
)

//go:embed README.md
var readme []byte

// The test binary is also ch18: the README's transcript runs it under that name (and the
// engine runs it again as each container's monitor).
func TestMain(m *testing.M) { transcript.Main(m, "ch18", main) }

// The lesson's docker is Debian's docker.io (make deps installs it), ahead of any other on
// the PATH: the docker CLI 20.10, whose output the README shows. The server the transcript
// starts is stopped by it; the cleanup stops it too when a step failed. The socket activation
// part is left out where systemd-socket-activate is not installed.
func TestTranscript(t *testing.T) {
	for _, tool := range []struct{ name, pkg string }{{"docker", "docker.io"}, {"curl", "curl"}} {
		if _, err := exec.LookPath(tool.name); err != nil {
			t.Fatalf("needs %s: apt-get install %s (make deps)", tool.name, tool.pkg)
		}
	}
	path := os.Getenv("PATH")
	if _, err := os.Stat("/usr/bin/docker"); err == nil {
		path = "/usr/bin:" + path
	}
	transcript.Test(t, "ch18", readme, transcript.EngineCleanup("ch18"),
		transcript.Env("PATH="+path), transcript.Env("DOCKER_HOST=unix://ch18.sock"),
		transcript.Needs("activation", "systemd-socket-activate"),
		transcript.Cleanup("if [ -f ch18.pid ]; then kill $(cat ch18.pid) 2>/dev/null; fi; true"))
}
