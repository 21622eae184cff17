package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// startRegistry starts Debian's docker-registry (the reference Distribution registry) on a free
// port of 127.0.0.1, its storage in the test's temp dir, and returns its address.
func startRegistry(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		t.Skip("needs docker-registry (apt-get install docker-registry)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	config := filepath.Join(dir, "config.yml")
	require.NoError(t, os.WriteFile(config, []byte(fmt.Sprintf(
		"version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n", filepath.Join(dir, "data"), addr)), 0o644))
	cmd := exec.Command(bin, "serve", config)
	logFile, err := os.Create(filepath.Join(dir, "registry.log"))
	require.NoError(t, err)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); logFile.Close() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr
			}
		}
		require.True(t, time.Now().Before(deadline), "the registry did not answer in 20 s")
		time.Sleep(100 * time.Millisecond)
	}
}

// push and pull with a real registry, and with skopeo on the other side: an image mydocker
// pushed is one skopeo reads, and one skopeo pushed is one mydocker pulls and runs; a pull
// skips the layers the store has (a push tars layers again: their diff ids are new ones, so the
// second pull shows it); a missing image fails cleanly.
func TestRegistryPushPull(t *testing.T) {
	addr := startRegistry(t)
	e := newEngine(t)
	e.must("run", "--net", "none", "--name", "mk", "busybox", "sh", "-c", "echo pushed > /pushed")
	e.must("commit", "mk", addr+"/app:1")
	out := e.must("push", addr+"/app:1")
	require.Contains(t, out, "The push refers to repository ["+addr+"/app]")
	require.Regexp(t, `1: digest: sha256:[0-9a-f]{64}\n`, out)

	other := newEngine(t)
	out = other.must("pull", addr+"/app:1")
	require.Regexp(t, `^([0-9a-f]{12}: Pull complete\n){2}Digest: sha256:[0-9a-f]{64}\n`+addr+`/app:1\n$`, out)
	out = other.must("pull", addr+"/app:1") // again: the layers are in the store
	require.Regexp(t, `^([0-9a-f]{12}: Already exists\n){2}Digest: sha256:[0-9a-f]{64}\n`+addr+`/app:1\n$`, out)
	require.Equal(t, "pushed\n", other.must("run", "--rm", "--net", "none", addr+"/app:1", "cat", "/pushed"))
	digestOf := regexp.MustCompile(`Digest: (sha256:[0-9a-f]{64})`).FindStringSubmatch(out)[1]
	require.Regexp(t, `(?m)^`+regexp.QuoteMeta(addr)+`/app +1 +`+digestOf+` +[0-9a-f]{12} `,
		other.must("images", "--digests", "--filter", "reference="+addr+"/app"))
	require.Equal(t, "by digest\n", other.must("run", "--rm", "--net", "none", addr+"/app@"+digestOf, "echo", "by digest"))
	r := other.run("pull", addr+"/nosuch:1")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "manifest unknown")

	skopeo, err := exec.LookPath("skopeo")
	if err != nil {
		t.Skip("needs skopeo for the other half")
	}
	raw, err := exec.Command(skopeo, "inspect", "--tls-verify=false", "docker://"+addr+"/app:1").CombinedOutput()
	require.NoError(t, err, "%s", raw)
	require.Contains(t, string(raw), `"Layers"`)
	archive := filepath.Join(t.TempDir(), "bb.tar")
	e.must("save", "-o", archive, "busybox")
	raw, err = exec.Command(skopeo, "copy", "--dest-tls-verify=false", "docker-archive:"+archive, "docker://"+addr+"/from-skopeo:2").CombinedOutput()
	require.NoError(t, err, "%s", raw)
	fresh := newEngine(t)
	fresh.must("rmi", "busybox")
	fresh.must("pull", "-q", addr+"/from-skopeo:2")
	require.Equal(t, "skopeo\n", fresh.must("run", "--rm", "--net", "none", addr+"/from-skopeo:2", "echo", "skopeo"))
	require.True(t, strings.Contains(fresh.must("images", "--format", "{{.Repository}}:{{.Tag}}"), addr+"/from-skopeo:2"))
}
