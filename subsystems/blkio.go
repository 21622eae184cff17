package subsystems

import (
	"errors"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Blkio counts the bytes a container read from and wrote to block devices, for stats' BLOCK
// I/O column. mydocker sets no block I/O limits.
type Blkio struct{}

func (Blkio) Name() string                              { return "blkio" }
func (Blkio) Wanted(*specs.LinuxResources) bool         { return false }
func (Blkio) SetV1(string, *specs.LinuxResources) error { return nil }
func (Blkio) SetV2(string, *specs.LinuxResources) error { return nil }

// StatV1 sums blkio.throttle.io_service_bytes_recursive: "MAJ:MIN Read N", "MAJ:MIN Write N".
func (Blkio) StatV1(dir string, s *Stats) error {
	data, err := read(dir, "blkio.throttle.io_service_bytes_recursive")
	if errors.Is(err, os.ErrNotExist) {
		return nil // a kernel without the throttle files counts nothing here
	}
	if err != nil {
		return err
	}
	for _, line := range strings.Split(data, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		n, _ := strconv.ParseUint(f[2], 10, 64)
		switch f[1] {
		case "Read":
			s.BlockRead += n
		case "Write":
			s.BlockWrite += n
		}
	}
	return nil
}

// StatV2 sums io.stat: "MAJ:MIN rbytes=N wbytes=N ...".
func (Blkio) StatV2(dir string, s *Stats) error {
	data, err := read(dir, "io.stat")
	if errors.Is(err, os.ErrNotExist) {
		return nil // the io controller is not enabled for the container's cgroup
	}
	if err != nil {
		return err
	}
	for _, field := range strings.Fields(data) {
		k, v, _ := strings.Cut(field, "=")
		n, _ := strconv.ParseUint(v, 10, 64)
		switch k {
		case "rbytes":
			s.BlockRead += n
		case "wbytes":
			s.BlockWrite += n
		}
	}
	return nil
}
