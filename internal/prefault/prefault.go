// Package prefault maps in the first chunk of a Go program's heap as the program starts, in one
// madvise(MADV_POPULATE_WRITE) call instead of a page fault for each page the program then
// touches. Imported for its effect by mydocker and mydocker-init, whose every start allocates a
// few megabytes of heap and exits: each page fault of a start costs ~12 µs in a VM whose faults
// the hypervisor handles (this project's), and a container start took ~1,250 of them; mapping
// the chunk costs ~0.6 ms for its 1,024 pages. On bare metal a fault costs about what mapping a
// page does, and the call comes out even. Kernels before 5.14 do not know the call: nothing
// happens there.
//
// A process that lives on, with pages mapped in and never used, is started with
// MYDOCKER_PREFAULT=off in its environment: the engine's monitor, which lives as long as its
// container.
package prefault

import (
	"syscall"
	"unsafe"
)

// chunk is the Go heap's unit of growth (the runtime's pallocChunkBytes): the first one is
// mapped read-write by the time any package's init runs, and it holds the first allocations.
const chunk = 4 << 20

// madvPopulateWrite is MADV_POPULATE_WRITE (Linux 5.14): fault the range in, writable.
const madvPopulateWrite = 23

var first *[64]byte

func init() {
	// syscall's copy of the environment, not os's: this runs before package os is set up.
	if v, _ := syscall.Getenv("MYDOCKER_PREFAULT"); v == "off" {
		return
	}
	first = new([64]byte) // escapes: it is on the heap, in the first chunk
	start := uintptr(unsafe.Pointer(first)) &^ (chunk - 1)
	// An error (an old kernel, a range partly unmapped) leaves the pages to their faults.
	syscall.Syscall(syscall.SYS_MADVISE, start, chunk, madvPopulateWrite)
}
