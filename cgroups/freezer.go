package cgroups

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// freezeWait bounds how long Freeze waits for every process to stop.
const freezeWait = 5 * time.Second

// The freezer stops every process of a container where it is, and lets them go on later: what
// pause does, and what commit and export do meanwhile, so that nothing in the container moves
// a file (a symlink swapped for a directory) while its changes are read. v1 has a controller
// of its own (freezer.state), v2 a file in every cgroup (cgroup.freeze).

func (m *v1Manager) Freeze() error {
	dir, ok := m.paths["freezer"]
	if !ok {
		return fmt.Errorf("cannot freeze: the freezer cgroup controller is not mounted")
	}
	return setAndWait(dir, "freezer.state", "FROZEN", func() (bool, error) {
		s, err := os.ReadFile(filepath.Join(dir, "freezer.state"))
		return strings.TrimSpace(string(s)) == "FROZEN", err
	})
}

func (m *v1Manager) Thaw() error {
	dir, ok := m.paths["freezer"]
	if !ok {
		return nil
	}
	return writeFile(dir, "freezer.state", "THAWED")
}

func (m *v1Manager) Frozen() bool {
	s, err := os.ReadFile(filepath.Join(m.paths["freezer"], "freezer.state"))
	return err == nil && strings.TrimSpace(string(s)) != "THAWED"
}

func (m *v2Manager) Freeze() error {
	return setAndWait(m.dir, "cgroup.freeze", "1", func() (bool, error) { return m.frozen() })
}

func (m *v2Manager) Thaw() error { return writeFile(m.dir, "cgroup.freeze", "0") }

func (m *v2Manager) Frozen() bool {
	frozen, _ := m.frozen()
	return frozen
}

// frozen reads "frozen 1" in cgroup.events: every process has stopped.
func (m *v2Manager) frozen() (bool, error) {
	data, err := os.ReadFile(filepath.Join(m.dir, "cgroup.events"))
	if err != nil {
		return false, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if line == "frozen 1" {
			return true, nil
		}
	}
	return false, nil
}

// setAndWait writes value to file, then waits (bounded) until done says it took effect.
func setAndWait(dir, file, value string, done func() (bool, error)) error {
	if err := writeFile(dir, file, value); err != nil {
		return err
	}
	deadline := time.Now().Add(freezeWait)
	for {
		ok, err := done()
		if err != nil {
			return fmt.Errorf("read %s: %w", filepath.Join(dir, file), err)
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the processes of %s did not all stop in %s", dir, freezeWait)
		}
		time.Sleep(time.Millisecond)
	}
}

func writeFile(dir, file, value string) error {
	path := filepath.Join(dir, file)
	if err := os.WriteFile(path, []byte(value), 0o644); err != nil {
		return fmt.Errorf("write %q to %s: %w", value, path, err)
	}
	return nil
}
