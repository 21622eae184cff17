package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/subsystems"
)

// Parent is the cgroup under which every container's own cgroup is made.
const Parent = "mydocker"

// unifiedKey is the key of the v2 tree in Paths.
const unifiedKey = "unified"

// Manager owns one container's cgroups.
type Manager interface {
	// Apply creates the cgroups and moves pid (the container's init) into them.
	Apply(pid int) error
	// Create creates the cgroups, for Join to move processes into.
	Create() error
	// Set writes the limits; the caller does it before the container's command starts.
	Set(r *specs.LinuxResources) error
	// Join adds another process (an exec'd one) to the cgroups.
	Join(pid int) error
	// Stats reads the container's usage.
	Stats() (*subsystems.Stats, error)
	// Destroy kills what is left inside and removes the cgroups. It is idempotent.
	Destroy() error
	// Paths says where the cgroups are (controller -> directory), to save and Load.
	Paths() map[string]string
	// Dir is the directory holding controller's files, "" when it has none.
	Dir(controller string) string
	// Freeze stops every process in the cgroups and returns once all have stopped; Thaw lets
	// them go on; Frozen says whether they are stopped (or stopping).
	Freeze() error
	Thaw() error
	Frozen() bool
}

// New makes the manager of container id's cgroups, below this process's own cgroup in each
// hierarchy, for the host's cgroup mode; for an unprivileged process, below the tree the host
// delegated to its user (Delegation).
func New(id string) (Manager, error) {
	if !Privileged() {
		root, err := Delegation()
		if err != nil {
			return nil, err
		}
		return &v2Manager{dir: filepath.Join(root, Parent, id)}, nil
	}
	mounts, own, err := readSelf()
	if err != nil {
		return nil, err
	}
	return newFrom(DetectMode(), mounts, own, Parent, id)
}

// newFrom is New with its inputs given (tests hand it fake cgroup trees): the cgroups at
// path/id below own, each hierarchy's cgroup of this process.
func newFrom(mode Mode, mounts []mount, own map[string]string, path, id string) (Manager, error) {
	if mode == Unified {
		dir, err := v2Dir(mounts, own)
		if err != nil {
			return nil, err
		}
		return &v2Manager{dir: filepath.Join(dir, path, id)}, nil
	}
	paths := map[string]string{}
	for c, dir := range v1Dirs(mounts, own) {
		paths[c] = filepath.Join(dir, path, id)
	}
	return &v1Manager{paths: paths}, nil
}

// NewAt makes the manager of the cgroups at path, as an OCI spec's linux.cgroupsPath names
// them: an absolute path from the root of each hierarchy, a relative one from this process's
// own cgroup, as runc takes it.
func NewAt(path string) (Manager, error) {
	mounts, own, err := readSelf()
	if err != nil {
		return nil, err
	}
	if !filepath.IsAbs(path) {
		return newFrom(DetectMode(), mounts, own, path, "")
	}
	root := map[string]string{"": "/"}
	for k := range own {
		root[k] = "/"
	}
	return newFrom(DetectMode(), mounts, root, path, "")
}

// Load rebuilds the manager of cgroups made earlier, from their saved Paths.
func Load(paths map[string]string) Manager {
	if dir, ok := paths[unifiedKey]; ok {
		return &v2Manager{dir: dir}
	}
	return &v1Manager{paths: paths}
}

// hasCPUs reports whether the v1 cpuset dir exists with CPUs of its own.
func hasCPUs(dir string) bool {
	data, err := os.ReadFile(filepath.Join(dir, "cpuset.cpus"))
	return err == nil && strings.TrimSpace(string(data)) != ""
}

// v1Manager: one directory per controller, each in its own hierarchy.
type v1Manager struct {
	paths map[string]string
}

// dirs lists the distinct directories (co-mounted controllers such as cpu,cpuacct share one).
func (m *v1Manager) dirs() []string {
	seen := map[string]bool{}
	var out []string
	for _, d := range m.paths {
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	sort.Strings(out)
	return out
}

func (m *v1Manager) Apply(pid int) error {
	if err := m.Create(); err != nil {
		return err
	}
	return m.Join(pid)
}

func (m *v1Manager) Create() error { return createLocked(m) }

// create makes the container's cgroup in each hierarchy (see createLocked).
func (m *v1Manager) create() error {
	if cpuset, ok := m.paths["cpuset"]; ok {
		// A new v1 cpuset has no CPUs and takes no process: every level made here, from the
		// first that has its CPUs down to the container's, inherits its parent's.
		chain := []string{cpuset}
		for d := cpuset; !hasCPUs(d) && filepath.Dir(d) != d; d = filepath.Dir(d) {
			chain = append(chain, filepath.Dir(d))
		}
		if err := os.MkdirAll(cpuset, 0o755); err != nil {
			return fmt.Errorf("create cgroup %s: %w", cpuset, err)
		}
		for i := len(chain) - 2; i >= 0; i-- {
			if err := subsystems.InheritV1(chain[i], chain[i+1]); err != nil {
				return err
			}
		}
	}
	for _, d := range m.dirs() {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("create cgroup %s: %w", d, err)
		}
	}
	return nil
}

func (m *v1Manager) Join(pid int) error {
	for _, d := range m.dirs() {
		if err := writeProcs(d, pid); err != nil {
			return err
		}
	}
	return nil
}

// ThreadFiles are the files through which a thread moves itself, alone, into m's cgroups:
// it writes "0" to each. Those are v1's tasks files; nil for v2, whose cgroups take a whole
// process, or none of it, outside threaded subtrees.
//
// Moving a whole process (cgroup.procs) takes a lock on every thread group of the host, whose
// writer waits for a grace period of the kernel's RCU when the lock has been quiet for one:
// 5 to 15 ms here, the longest step of a start. A thread that moves itself takes no such lock
// (nothing can exit or execute under it): 0.1 ms for all the hierarchies.
func ThreadFiles(m Manager) []string {
	v1, ok := m.(*v1Manager)
	if !ok {
		return nil
	}
	var files []string
	for _, d := range v1.dirs() {
		files = append(files, filepath.Join(d, "tasks"))
	}
	return files
}

func (m *v1Manager) Set(r *specs.LinuxResources) error {
	for _, s := range subsystems.All {
		if !s.Wanted(r) {
			continue
		}
		dir, ok := m.paths[s.Name()]
		if !ok {
			return fmt.Errorf("cannot limit %s: the %s cgroup controller is not mounted", s.Name(), s.Name())
		}
		if err := s.SetV1(dir, r); err != nil {
			return err
		}
	}
	return nil
}

func (m *v1Manager) Stats() (*subsystems.Stats, error) {
	st := &subsystems.Stats{}
	for _, s := range subsystems.All {
		if dir, ok := m.paths[s.Name()]; ok {
			if err := s.StatV1(dir, st); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, err
			}
		}
	}
	return st, nil
}

func (m *v1Manager) Destroy() error {
	var errs []error
	for _, d := range m.dirs() {
		errs = append(errs, removeCgroup(d))
	}
	return errors.Join(errs...)
}

func (m *v1Manager) Paths() map[string]string { return m.paths }

func (m *v1Manager) Dir(controller string) string { return m.paths[controller] }

// v2Manager: one directory in the single tree.
type v2Manager struct {
	dir string
}

// wantedV2 are the controllers mydocker enables on the way down to a container.
var wantedV2 = []string{"cpu", "cpuset", "memory", "pids"}

// Apply creates <own>/mydocker/<id>, enabling the controllers in cgroup.subtree_control of
// <own> and <own>/mydocker first: a v2 controller works in a cgroup only when its parent
// hands it down. Processes go in the leaf only (the no-internal-processes rule).
func (m *v2Manager) Apply(pid int) error {
	if err := m.Create(); err != nil {
		return err
	}
	return m.Join(pid)
}

func (m *v2Manager) Create() error { return createLocked(m) }

// create makes the container's cgroup, and its parents (see createLocked).
func (m *v2Manager) create() error {
	parent := filepath.Dir(m.dir)
	own := filepath.Dir(parent)
	available, err := readFields(own, "cgroup.controllers")
	if err != nil {
		return fmt.Errorf("read the controllers of %s: %w", own, err)
	}
	var enable []string
	for _, c := range wantedV2 {
		if contains(available, c) {
			enable = append(enable, "+"+c)
		}
	}
	for _, level := range []string{own, parent} {
		if level != own {
			if err := os.Mkdir(level, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
				return fmt.Errorf("create cgroup %s: %w", level, err)
			}
		}
		if len(enable) == 0 {
			continue
		}
		path := filepath.Join(level, "cgroup.subtree_control")
		if err := os.WriteFile(path, []byte(strings.Join(enable, " ")), 0o644); err != nil {
			if errors.Is(err, unix.EBUSY) {
				return fmt.Errorf("enable %s in %s: %w (a v2 cgroup with processes cannot hand controllers down: run mydocker from a cgroup of its own)", strings.Join(enable, " "), path, err)
			}
			return fmt.Errorf("enable %s in %s: %w", strings.Join(enable, " "), path, err)
		}
	}
	if err := os.Mkdir(m.dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("create cgroup %s: %w", m.dir, err)
	}
	return nil
}

func (m *v2Manager) Join(pid int) error { return writeProcs(m.dir, pid) }

func (m *v2Manager) Set(r *specs.LinuxResources) error {
	enabled, err := readFields(filepath.Dir(m.dir), "cgroup.subtree_control")
	if err != nil {
		return err
	}
	for _, s := range subsystems.All {
		if !s.Wanted(r) {
			continue
		}
		if subsystems.IsV2Controller(s) && !contains(enabled, s.Name()) {
			return fmt.Errorf("cannot limit %s: the %s controller is not enabled for %s (is it in cgroup.controllers of the root?)", s.Name(), s.Name(), m.dir)
		}
		if err := s.SetV2(m.dir, r); err != nil {
			return err
		}
	}
	return nil
}

func (m *v2Manager) Stats() (*subsystems.Stats, error) {
	st := &subsystems.Stats{}
	for _, s := range subsystems.All {
		if err := s.StatV2(m.dir, st); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	return st, nil
}

func (m *v2Manager) Destroy() error { return removeCgroup(m.dir) }

func (m *v2Manager) Paths() map[string]string { return map[string]string{unifiedKey: m.dir} }

func (m *v2Manager) Dir(string) string { return m.dir }

// writeProcs moves pid into the cgroup.
func writeProcs(dir string, pid int) error {
	path := filepath.Join(dir, "cgroup.procs")
	if err := os.WriteFile(path, []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return fmt.Errorf("add process %d to %s: %w", pid, path, err)
	}
	return nil
}

// removeCgroup kills the processes left in dir, removes it, and removes the mydocker parent
// when that was the last container in it. A cgroup can only be removed once it is empty, and
// a killed process leaves it a moment later, hence the bounded retries.
func removeCgroup(dir string) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := unix.Rmdir(dir)
		if err == nil || errors.Is(err, unix.ENOENT) {
			break
		}
		if !errors.Is(err, unix.EBUSY) || time.Now().After(deadline) {
			return fmt.Errorf("remove cgroup %s: %w", dir, err)
		}
		killProcs(dir)
		time.Sleep(10 * time.Millisecond)
	}
	if filepath.Base(filepath.Dir(dir)) == Parent {
		RemoveEmptyParent(dir)
	}
	return nil
}

// RemoveEmptyParent removes the parent of the cgroup dir, which its containers share, once
// the last of them is gone: the rmdir fails while others are there, as it should.
func RemoveEmptyParent(dir string) {
	if unlock, err := lockParents(); err == nil {
		unix.Rmdir(filepath.Dir(dir))
		unlock()
	}
}

// parentsLock is held, host-wide, while a container's cgroup is made below the parent its
// containers share and while that parent is removed once empty. Without it, one engine
// removed the parent between another's mkdir of it and of the cgroup below (ENOENT), or a v1
// cpuset parent came back without its CPUs (ENOSPC for the first process): 4 of 500 runs,
// two at a time. In /run, a tmpfs: nothing of it outlives a boot. An unprivileged user's
// parent is its own, and so is the lock, in its runtime directory.
func parentsLock() string {
	if Privileged() {
		return "/run/mydocker-cgroups.lock"
	}
	dir := os.Getenv("XDG_RUNTIME_DIR")
	if dir == "" {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "mydocker-cgroups.lock")
}

// createLocked makes a manager's cgroups under the parents' lock.
func createLocked(m interface{ create() error }) error {
	unlock, err := lockParents()
	if err != nil {
		return err
	}
	defer unlock()
	return m.create()
}

func lockParents() (unlock func(), err error) {
	lock := parentsLock()
	if err := os.MkdirAll(filepath.Dir(lock), 0o755); err != nil {
		return nil, fmt.Errorf("lock the cgroup parents: %w", err)
	}
	f, err := os.OpenFile(lock, os.O_CREATE|os.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock the cgroup parents: %w", err)
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock the cgroup parents: %w", err)
	}
	return func() { f.Close() }, nil
}

func killProcs(dir string) {
	if err := os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0o644); err == nil {
		return // v2 kills the whole cgroup at once
	}
	pids, _ := readFields(dir, "cgroup.procs")
	for _, p := range pids {
		if pid, err := strconv.Atoi(p); err == nil {
			unix.Kill(pid, unix.SIGKILL)
		}
	}
}

func readFields(dir, file string) ([]string, error) {
	data, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(data)), nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
