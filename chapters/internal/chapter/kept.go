package chapter

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mydocker/mydocker/internal/names"
	"github.com/mydocker/mydocker/workspace"
)

// keptRecord is what chapter 07 writes of a container whose layer it keeps, in its
// container.json: enough to find the layers below it again.
type keptRecord struct {
	Image  string // the image's ID
	Driver string // the rootfs driver that made the layer
}

// Kept is a container whose writable layer chapter 07 kept, opened: the layer's directory,
// the image below it with its layers, and the driver that stacks them.
type Kept struct {
	Dir    string
	Image  *workspace.Image
	Layers []string
	Driver workspace.Driver
}

// KeptDir is the directory of the kept layer of the container name.
func KeptDir(root, name string) string { return filepath.Join(root, "kept", name) }

// CheckName refuses a container name that is not one (a path, "..").
func CheckName(name string) error { return names.Validate("container", name) }

func writeKept(dir string, r keptRecord) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "container.json"), data, 0o600)
}

// OpenKept finds the kept container name in the store in root.
func OpenKept(store *workspace.Store, root, name string) (*Kept, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	k := &Kept{Dir: KeptDir(root, name)}
	data, err := os.ReadFile(filepath.Join(k.Dir, "container.json"))
	if os.IsNotExist(err) {
		return nil, fmt.Errorf("no such container: %s (run --name %s keeps one)", name, name)
	}
	var r keptRecord
	if err == nil {
		err = json.Unmarshal(data, &r)
	}
	if err == nil {
		k.Image, err = store.Get(r.Image)
	}
	if err == nil {
		k.Layers, err = store.LayerDirs(k.Image)
	}
	if err == nil {
		k.Driver, err = workspace.NewDriver(r.Driver)
	}
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", name, err)
	}
	return k, nil
}
