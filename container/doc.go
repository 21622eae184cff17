// Package container runs one container's life, from an OCI runtime spec to an exit status.
//
// The parent side (Create, Start, the monitor) re-executes the mydocker binary as the
// container's init in new namespaces and sends it the spec over a pipe. The init side
// (init.go, rootfs.go) makes every mount private, mounts the container's root filesystem,
// /proc, /dev and /sys, switches root with pivot_root (or chroot for --no-pivot), sets the
// hostname and executes the command. The state store (store.go) keeps one directory per
// container with its spec (config.json), its state (state.json) and its log.
//
// The parent side and the init side talk over two channels the init inherits as fds 3 and 4:
//
//	parent --- fd 3, a pipe ----------> init   the init config (spec, rootfs mount): "go"
//	parent <-- fd 4, a seqpacket socket - init   a pty master, or an error with its exit code;
//	                                               EOF (close-on-exec) means the command runs
//
// Nothing here parses flags, prints tables or exits the process: the engine returns errors
// and the mydocker command decides what the user sees.
package container
