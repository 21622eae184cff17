package detach

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/internal/labtest"
)

func TestMain(m *testing.M) {
	labtest.Main(m, map[string]func() error{
		"other-filesystem": writeOnOtherFilesystem,
		"holder":           holdLock,
	})
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	if err := WriteFileAtomic(path, []byte(`{"Status":"created"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(path, []byte(`{"Status":"running"}`), 0o644); err != nil {
		t.Fatalf("replace a file that exists: %v", err)
	}
	data, err := os.ReadFile(path)
	if err != nil || string(data) != `{"Status":"running"}` {
		t.Errorf("state.json reads %q (%v), want the second write", data, err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm() != 0o644 {
		t.Errorf("state.json has mode %v, want -rw-r--r-- (HINTS.md, \"mode\")", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("the directory holds %d files after two writes, want state.json alone: a temporary file was left behind (HINTS.md, \"left behind\")", len(entries))
	}
	bad := filepath.Join(dir, "missing", "state.json")
	err = WriteFileAtomic(bad, []byte("x"), 0o644)
	if err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("WriteFileAtomic in a missing directory = %v, want an error naming %s", err, bad)
	}
}

// TestReadersNeverSeeHalf writes two versions of a file, each a large JSON document, while
// another goroutine reads it: every read must be one version whole.
func TestReadersNeverSeeHalf(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	versions := [][]byte{document("created", 1<<18), document("running", 1<<18)}
	if err := WriteFileAtomic(path, versions[0], 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	var torn []string
	go func() {
		defer wg.Done()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
			select {
			case <-done:
				return
			default:
			}
			data, err := os.ReadFile(path)
			if err != nil {
				torn = append(torn, err.Error())
			} else if !bytes.Equal(data, versions[0]) && !bytes.Equal(data, versions[1]) {
				torn = append(torn, fmt.Sprintf("%d bytes, neither version", len(data)))
			}
			if len(torn) > 0 {
				return
			}
		}
	}()
	for i := 0; i < 200 && len(torn) == 0; i++ {
		if err := WriteFileAtomic(path, versions[i%2], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	wg.Wait()
	if len(torn) > 0 {
		t.Fatalf("a reader saw %s: the file was rewritten in place, so a reader (or a crash) can meet it half written (HINTS.md, \"in place\")", torn[0])
	}
}

func document(status string, size int) []byte {
	data, _ := json.Marshal(map[string]string{"Status": status, "Padding": strings.Repeat(status[:1], size)})
	return data
}

// TestOnAnotherFilesystem writes into a directory that is a filesystem of its own (a tmpfs, in
// a mount namespace of the test's).
func TestOnAnotherFilesystem(t *testing.T) {
	labtest.RequiresRoot(t)
	out, err := labtest.Child("other-filesystem", unix.CLONE_NEWNS, "LAB_DIR="+t.TempDir())
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}

func writeOnOtherFilesystem() error {
	dir := os.Getenv("LAB_DIR")
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return err
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, ""); err != nil {
		return err
	}
	path := filepath.Join(dir, "state.json")
	if err := WriteFileAtomic(path, []byte("{}"), 0o644); err != nil {
		return fmt.Errorf("WriteFileAtomic on a tmpfs: %v (HINTS.md, \"cross-device\")", err)
	}
	return nil
}

func TestLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "owner.lock")
	first, second := open(t, path), open(t, path)
	if ok, err := Lock(first, false); !ok || err != nil {
		t.Fatalf("Lock on a free file = %v, %v; want true, <nil>", ok, err)
	}
	if ok, err := Lock(second, false); ok || err != nil {
		t.Fatalf("Lock(wait false) while another open file holds the lock = %v, %v; want false, <nil>: EWOULDBLOCK means busy, not an error (HINTS.md, \"busy\")", ok, err)
	}
	got := make(chan bool)
	go func() {
		ok, _ := Lock(second, true)
		got <- ok
	}()
	select {
	case ok := <-got:
		t.Fatalf("Lock(wait true) returned %v while the lock was held: it must wait (HINTS.md, \"wait\")", ok)
	case <-time.After(200 * time.Millisecond):
	}
	first.Close()
	select {
	case ok := <-got:
		if !ok {
			t.Fatal("Lock(wait true) returned false once the lock was free")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Lock(wait true) still waits 5 s after the holder closed its file")
	}
}

// TestLockTellsADeadHolder is how the engine knows a container's monitor died: the monitor
// holds the lock, and a process that dies loses it, SIGKILL or not.
func TestLockTellsADeadHolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "owner.lock")
	open(t, path).Close()
	holder := labtest.StartChild(t, "holder", 0, "LAB_LOCK="+path)
	f := open(t, path)
	if ok, err := Lock(f, false); ok || err != nil {
		t.Fatalf("Lock while a live process holds the lock = %v, %v; want false, <nil>", ok, err)
	}
	holder.Process.Signal(syscall.SIGKILL)
	holder.Wait()
	if ok, err := Lock(f, false); !ok || err != nil {
		t.Fatalf("Lock after the holder was killed = %v, %v; want true: the kernel drops a flock when its holder dies (HINTS.md, \"dead\")", ok, err)
	}
}

func holdLock() error {
	f, err := os.OpenFile(os.Getenv("LAB_LOCK"), os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if ok, err := Lock(f, false); !ok || err != nil {
		return fmt.Errorf("the holder could not take the lock: %v, %v", ok, err)
	}
	fmt.Println("locked")
	time.Sleep(time.Minute)
	return nil
}

func open(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
