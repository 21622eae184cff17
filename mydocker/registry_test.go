package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/internal/testutil"
)

// registry is a private docker-registry (Debian's package of the reference Distribution
// registry) started by a test: on 127.0.0.1 unless told an address (in a network namespace),
// its storage in the test's temp dir.
type registry struct {
	addr    string
	storage string
}

type registryOptions struct {
	netns    string // run it in this network namespace
	host     string // listen on this address (default 127.0.0.1, a free port)
	htpasswd string // basic auth with this htpasswd file
}

func startRegistry(t *testing.T, opts registryOptions) *registry {
	t.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		t.Skip("needs docker-registry (apt-get install docker-registry)")
	}
	addr := opts.host + ":5000"
	if opts.host == "" {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr = l.Addr().String()
		l.Close()
	}
	dir := t.TempDir()
	reg := &registry{addr: addr, storage: filepath.Join(dir, "data")}
	config := fmt.Sprintf("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n", reg.storage, addr)
	if opts.htpasswd != "" {
		config += fmt.Sprintf("auth:\n  htpasswd:\n    realm: test\n    path: %s\n", opts.htpasswd)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config.yml"), []byte(config), 0o644))
	cmd := exec.Command(bin, "serve", filepath.Join(dir, "config.yml"))
	if opts.netns != "" {
		cmd = exec.Command("ip", "netns", "exec", opts.netns, bin, "serve", filepath.Join(dir, "config.yml"))
	}
	logFile, err := os.Create(filepath.Join(dir, "registry.log"))
	require.NoError(t, err)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); logFile.Close() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return reg
		}
		require.True(t, time.Now().Before(deadline), "the registry did not answer in 20 s: %s", readFile(filepath.Join(dir, "registry.log")))
		time.Sleep(100 * time.Millisecond)
	}
}

func readFile(path string) string {
	data, _ := os.ReadFile(path)
	return string(data)
}

// withContainersCache removes, after the test, the cache skopeo and podman keep in
// /var/lib/containers when it was not there before (they have no flag to put it elsewhere).
func withContainersCache(t *testing.T) {
	if _, err := os.Stat("/var/lib/containers"); os.IsNotExist(err) {
		t.Cleanup(func() { os.RemoveAll("/var/lib/containers") })
	}
}

var (
	pushedLayer = regexp.MustCompile(`(?m)^[0-9a-f]{12}: Pushed$`)
	existsLayer = regexp.MustCompile(`(?m)^[0-9a-f]{12}: Layer already exists$`)
	pushDigest  = regexp.MustCompile(`(?m)^\S+: digest: (sha256:[0-9a-f]{64}) size: \d+$`)
	pullDigest  = regexp.MustCompile(`(?m)^Digest: (sha256:[0-9a-f]{64})$`)
)

// push and pull with a real registry, layer by layer as Docker: a layer the registry has is not
// sent again, not even tarred (the records say which blob it is); an image pulled and pushed
// back keeps its digest; a pull skips the layers the store has, and reads only the manifest of
// an image it has; a missing image fails cleanly.
func TestRegistryPushPull(t *testing.T) {
	reg := startRegistry(t, registryOptions{})
	addr := reg.addr
	e := newEngine(t)
	e.must("run", "--net", "none", "--name", "mk", "busybox", "sh", "-c", "echo pushed > /pushed")
	e.must("commit", "mk", addr+"/app:1")
	out := e.must("push", addr+"/app:1")
	require.Contains(t, out, "The push refers to repository ["+addr+"/app]\n")
	require.Len(t, pushedLayer.FindAllString(out, -1), 2, out)
	pushed := pushDigest.FindStringSubmatch(out)
	require.NotNil(t, pushed, out)
	out = e.must("push", addr+"/app:1")
	require.Len(t, existsLayer.FindAllString(out, -1), 2, "a second push sends no layer: %s", out)
	require.Equal(t, pushed[1], pushDigest.FindStringSubmatch(out)[1], "and makes the same image")

	other := newEngine(t)
	other.must("rmi", "busybox") // else its layer, the image's first, is there already
	out = other.must("pull", addr+"/app:1")
	name := regexp.QuoteMeta(addr + "/app:1")
	require.Regexp(t, `^1: Pulling from app\n([0-9a-f]{12}: Pull complete\n){2}Digest: sha256:[0-9a-f]{64}\n`+
		`Status: Downloaded newer image for `+name+`\n`+name+`\n$`, out)
	require.Equal(t, pushed[1], pullDigest.FindStringSubmatch(out)[1])
	out = other.must("pull", addr+"/app:1") // again: the image is in the store
	require.Equal(t, "1: Pulling from app\nDigest: "+pushed[1]+"\nStatus: Image is up to date for "+addr+"/app:1\n"+addr+"/app:1\n", out)
	third := newEngine(t) // its busybox is the image's first layer
	require.Regexp(t, `^1: Pulling from app\n[0-9a-f]{12}: Already exists\n[0-9a-f]{12}: Pull complete\nDigest: `,
		third.must("pull", addr+"/app:1"))
	require.Equal(t, "pushed\n", other.must("run", "--rm", "--net", "none", addr+"/app:1", "cat", "/pushed"))
	require.Regexp(t, `(?m)^`+regexp.QuoteMeta(addr)+`/app +1 +`+pushed[1]+` +[0-9a-f]{12} `,
		other.must("images", "--digests", "--filter", "reference="+addr+"/app"))
	require.Equal(t, "by digest\n", other.must("run", "--rm", "--net", "none", addr+"/app@"+pushed[1], "echo", "by digest"))
	out = other.must("push", addr+"/app:1")
	require.Len(t, existsLayer.FindAllString(out, -1), 2, "the pulled layers are the registry's blobs: %s", out)
	require.Equal(t, pushed[1], pushDigest.FindStringSubmatch(out)[1], "an image pulled and pushed back keeps its digest")

	r := other.run("pull", addr+"/nosuch:1")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "manifest unknown")
}

// Real clients on the other side: skopeo pushes an image (zstd-compressed, as well as gzip)
// that the engine pulls and runs; podman pulls what the engine pushed.
func TestRegistryOtherClients(t *testing.T) {
	skopeo, err := exec.LookPath("skopeo")
	if err != nil {
		t.Skip("needs skopeo (apt-get install skopeo)")
	}
	withContainersCache(t)
	addr := startRegistry(t, registryOptions{}).addr
	e := newEngine(t)
	archive := filepath.Join(t.TempDir(), "bb.tar")
	e.must("save", "-o", archive, "busybox")
	for _, compression := range []string{"gzip", "zstd"} {
		ref := addr + "/from-skopeo:" + compression
		raw, err := exec.Command(skopeo, "copy", "--dest-tls-verify=false", "--dest-compress-format", compression, "docker-archive:"+archive, "docker://"+ref).CombinedOutput()
		require.NoError(t, err, "%s", raw)
		fresh := newEngine(t)
		fresh.must("rmi", "busybox")
		fresh.must("pull", "-q", ref)
		require.Equal(t, compression+"\n", fresh.must("run", "--rm", "--net", "none", ref, "echo", compression))
	}

	podman, err := exec.LookPath("podman")
	if err != nil {
		t.Skip("needs podman (apt-get install podman)")
	}
	e.must("run", "--net", "none", "--name", "mk", "busybox", "sh", "-c", "echo for podman > /pushed; rm /bin/ls")
	e.must("commit", "mk", addr+"/for-podman:1")
	e.must("push", "-q", addr+"/for-podman:1")
	dir := t.TempDir()
	p := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(podman, append([]string{"--root", dir + "/root", "--runroot", dir + "/run", "--tmpdir", dir + "/tmp", "--storage-driver", "vfs"}, args...)...).CombinedOutput()
		require.NoError(t, err, "podman %s: %s", args, out)
		return strings.TrimSpace(string(out))
	}
	p("pull", "-q", "--tls-verify=false", addr+"/for-podman:1")
	mnt := p("image", "mount", addr+"/for-podman:1")
	defer p("image", "unmount", addr+"/for-podman:1")
	require.Equal(t, "for podman\n", readFile(filepath.Join(mnt, "pushed")), "podman sees the engine's layers")
	require.NoFileExists(t, filepath.Join(mnt, "bin/ls"), "and its whiteouts")
	require.FileExists(t, filepath.Join(mnt, "bin/busybox"))
}

// A blob that does not match its digest fails the pull with a digest error, and the store
// keeps nothing of it.
func TestRegistryCorruptedBlob(t *testing.T) {
	reg := startRegistry(t, registryOptions{})
	e := newEngine(t)
	e.must("tag", "busybox", reg.addr+"/bb:1")
	e.must("push", "-q", reg.addr+"/bb:1")
	blobs, err := filepath.Glob(filepath.Join(reg.storage, "docker/registry/v2/blobs/sha256/*/*/data"))
	require.NoError(t, err)
	corrupted := 0
	for _, b := range blobs {
		if info, err := os.Stat(b); err == nil && info.Size() > 100000 { // the layer, not the config or manifest
			f, err := os.OpenFile(b, os.O_WRONLY, 0)
			require.NoError(t, err)
			_, err = f.WriteAt([]byte("corrupt"), info.Size()/2)
			require.NoError(t, err)
			f.Close()
			corrupted++
		}
	}
	require.Equal(t, 1, corrupted)

	fresh := newEngine(t)
	fresh.must("rmi", "busybox")
	layersBefore, _ := os.ReadDir(filepath.Join(fresh.root, "image", "layers"))
	r := fresh.run("pull", reg.addr+"/bb:1")
	require.Equal(t, 1, r.code, "%s", r)
	require.Regexp(t, `(?i)digest|checksum|gzip`, r.stderr)
	require.NotContains(t, fresh.must("images"), "bb")
	layersAfter, _ := os.ReadDir(filepath.Join(fresh.root, "image", "layers"))
	require.Equal(t, len(layersBefore), len(layersAfter), "no layer is left of the failed pull")
	tmp, _ := os.ReadDir(filepath.Join(fresh.root, "image", "tmp"))
	require.Empty(t, tmp)
}

// login checks the credentials with the registry and keeps them where docker login does;
// push and pull use them; logout forgets them.
func TestRegistryLogin(t *testing.T) {
	dir := t.TempDir()
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	require.NoError(t, err)
	htpasswd := filepath.Join(dir, "htpasswd")
	require.NoError(t, os.WriteFile(htpasswd, []byte("learner:"+string(hash)+"\n"), 0o644))
	reg := startRegistry(t, registryOptions{htpasswd: htpasswd})
	e := newEngine(t)
	config := filepath.Join(dir, "docker-config")
	as := func(stdin string, args ...string) result {
		c := e.cmd(args...)
		c.Env = append(os.Environ(), "DOCKER_CONFIG="+config)
		return runBounded(c, stdin)
	}
	e.must("tag", "busybox", reg.addr+"/private:1")
	r := as("", "push", reg.addr+"/private:1")
	require.Equal(t, 1, r.code, "%s", r)
	require.Contains(t, r.stderr, "unauthorized: authentication required (mydocker login "+reg.addr+")")

	r = as("wrong\n", "login", "-u", "learner", "--password-stdin", reg.addr)
	require.Equal(t, 1, r.code, "%s", r)
	require.Contains(t, r.stderr, "incorrect username or password")
	require.NoFileExists(t, filepath.Join(config, "config.json"))

	r = as("s3cret\n", "login", "-u", "learner", "--password-stdin", reg.addr)
	require.Equal(t, 0, r.code, "%s", r)
	require.Equal(t, "Login Succeeded\n", r.stdout)
	var cf struct {
		Auths map[string]struct{ Auth string } `json:"auths"`
	}
	require.NoError(t, json.Unmarshal([]byte(readFile(filepath.Join(config, "config.json"))), &cf))
	require.Equal(t, base64.StdEncoding.EncodeToString([]byte("learner:s3cret")), cf.Auths[reg.addr].Auth, "as docker login writes it")

	r = as("", "push", "-q", reg.addr+"/private:1")
	require.Equal(t, 0, r.code, "%s", r)
	fresh := newEngine(t)
	c := fresh.cmd("pull", "-q", reg.addr+"/private:1")
	c.Env = append(os.Environ(), "DOCKER_CONFIG="+config)
	r = runBounded(c, "")
	require.Equal(t, 0, r.code, "%s", r)

	r = as("", "logout", reg.addr)
	require.Equal(t, "Removing login credentials for "+reg.addr+"\n", r.stdout)
	r = as("", "push", reg.addr+"/private:1")
	require.Equal(t, 1, r.code, "logged out: %s", r)
	r = as("", "login", "-u", "learner", reg.addr)
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "without a terminal")
}

// A registry off loopback is reached over https only, as Docker does, unless it is named with
// --insecure-registry (HOST:PORT or a network): go-containerregistry alone would also try plain
// http for a private address. The registry runs in a network namespace of the test's own.
func TestInsecureRegistry(t *testing.T) {
	testutil.RequiresRoot(t)
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip (iproute2)")
	}
	ns, host := testutil.UniqueName("mdreg"), testutil.UniqueName("mdr")
	subnet := fmt.Sprintf("10.251.%d", rand.IntN(250))
	ip := func(args ...string) {
		t.Helper()
		out, err := exec.Command("ip", args...).CombinedOutput()
		require.NoError(t, err, "ip %s: %s", args, out)
	}
	ip("netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run(); exec.Command("ip", "link", "del", host).Run() })
	ip("link", "add", host, "type", "veth", "peer", "name", "eth0", "netns", ns)
	ip("addr", "add", subnet+".1/30", "dev", host)
	ip("link", "set", host, "up")
	ip("-n", ns, "addr", "add", subnet+".2/30", "dev", "eth0")
	ip("-n", ns, "link", "set", "eth0", "up")
	ip("-n", ns, "link", "set", "lo", "up")
	reg := startRegistry(t, registryOptions{netns: ns, host: subnet + ".2"})

	e := newEngine(t)
	e.must("tag", "busybox", reg.addr+"/bb:1")
	r := e.run("push", reg.addr+"/bb:1")
	require.Equal(t, 1, r.code, "%s", r)
	require.Contains(t, r.stderr, "--insecure-registry "+reg.addr)
	e.must("--insecure-registry", reg.addr, "push", "-q", reg.addr+"/bb:1")

	fresh := newEngine(t)
	fresh.must("rmi", "busybox")
	r = fresh.run("pull", reg.addr+"/bb:1")
	require.Equal(t, 1, r.code, "%s", r)
	require.Contains(t, r.stderr, "https only")
	fresh.must("--insecure-registry", subnet+".0/30", "pull", "-q", reg.addr+"/bb:1")
	require.Equal(t, "over http\n", fresh.must("run", "--rm", "--net", "none", reg.addr+"/bb:1", "echo", "over http"))
}

// On a terminal, pull draws a bar per layer while it downloads (a layer of 32 MB that does
// not compress takes longer than a redraw), and ends each with its status.
func TestPullProgressOnTerminal(t *testing.T) {
	reg := startRegistry(t, registryOptions{})
	e := newEngine(t)
	e.must("run", "--net", "none", "--name", "big", "busybox", "sh", "-c", "head -c 32000000 /dev/urandom > /big")
	e.must("commit", "big", reg.addr+"/bb:1")
	e.must("push", "-q", reg.addr+"/bb:1")
	fresh := newEngine(t)
	fresh.must("rmi", "busybox")

	out := onTerminal(t, fresh.cmd("pull", reg.addr+"/bb:1"))
	require.Regexp(t, `[0-9a-f]{12}: Downloading \[[=> ]{40}\] [0-9.]+[kM]?B/[0-9.]+[kM]?B\r?\n`, out, "a bar")
	require.Contains(t, out, "\x1b[", "redrawn in place")
	require.Regexp(t, `[0-9a-f]{12}: Pull complete`, out)
	require.Contains(t, out, "Digest: sha256:")

	// load draws its layers the same way.
	archive := filepath.Join(t.TempDir(), "bb.tar")
	fresh.must("save", "-o", archive, reg.addr+"/bb:1")
	fresh.must("rmi", reg.addr+"/bb:1")
	out = onTerminal(t, fresh.cmd("load", "-i", archive))
	require.Regexp(t, `[0-9a-f]{12}: Loading layer \[[=> ]{40}\] `, out)
	require.Regexp(t, `[0-9a-f]{12}: Loaded\r?\nLoaded image: `+regexp.QuoteMeta(reg.addr+"/bb:1"), out)
}

// onTerminal runs c with a terminal (80x24) as its stdout and stderr (and stdin, unless c has
// one), and returns what it drew.
func onTerminal(t *testing.T, c *exec.Cmd) string {
	t.Helper()
	return converse(t, c, "", "")
}

// converse runs c on a terminal as onTerminal does, and types reply once prompt is on the screen.
func converse(t *testing.T, c *exec.Cmd, prompt, reply string) string {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	require.NoError(t, err)
	defer master.Close()
	require.NoError(t, unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0))
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	require.NoError(t, err)
	slave, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	require.NoError(t, err)
	require.NoError(t, unix.IoctlSetWinsize(int(slave.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 80}))
	c.Stdout, c.Stderr = slave, slave
	if c.Stdin == nil {
		c.Stdin = slave
	}
	require.NoError(t, c.Start())
	slave.Close()
	var screen strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := master.Read(buf) // EIO once the program has exited and closed the terminal
		screen.Write(buf[:n])
		if err != nil {
			break
		}
		if prompt != "" && strings.Contains(screen.String(), prompt) {
			_, err := master.WriteString(reply)
			require.NoError(t, err)
			prompt = ""
		}
	}
	require.NoError(t, c.Wait())
	return screen.String()
}
