//go:build solution

package subid

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/mydocker/mydocker/userns"
)

// The reference: the engine's own functions.

func SubIDRanges(data []byte, name string, id int) ([]userns.IDRange, error) {
	return userns.SubIDRanges(data, name, id)
}

func Mappings(own, ranges []userns.IDRange) ([]specs.LinuxIDMapping, error) {
	return userns.Mappings(own, ranges)
}
