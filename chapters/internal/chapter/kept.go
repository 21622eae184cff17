package chapter

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/mydocker/mydocker/internal/names"
	"github.com/mydocker/mydocker/workspace"
)

// Kept is what chapter 07 remembers of a container whose layer it keeps: enough to find the
// layers below it again.
type Kept struct {
	Image  string              // the image's ID
	Driver string              // the rootfs driver that made the layer
	Config ocispec.ImageConfig // the image's, the base of a commit's
}

// KeptDir is the directory of the kept layer of the container name.
func KeptDir(root, name string) string { return filepath.Join(root, "kept", name) }

// CheckName refuses a container name that is not one (a path, "..").
func CheckName(name string) error { return names.Validate("container", name) }

func writeKept(dir string, k Kept) error {
	data, err := json.Marshal(k)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "container.json"), data, 0o600)
}

// OpenKept finds the kept container name: its layer directory, its image, the layers below
// and the driver that stacks them.
func OpenKept(store *workspace.Store, root, name string) (dir string, k Kept, img *workspace.Image, layers []string, driver workspace.Driver, err error) {
	if err := CheckName(name); err != nil {
		return "", k, nil, nil, nil, err
	}
	dir = KeptDir(root, name)
	data, err := os.ReadFile(filepath.Join(dir, "container.json"))
	if os.IsNotExist(err) {
		return "", k, nil, nil, nil, fmt.Errorf("no such container: %s (run --name %s keeps one)", name, name)
	}
	if err == nil {
		err = json.Unmarshal(data, &k)
	}
	if err == nil {
		img, err = store.Get(k.Image)
	}
	if err == nil {
		layers, err = store.LayerDirs(img)
	}
	if err == nil {
		driver, err = workspace.NewDriver(k.Driver)
	}
	return dir, k, img, layers, driver, err
}
