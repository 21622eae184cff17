// Package container is the runtime: it runs one container from an OCI runtime spec and a way
// to mount its root filesystem (a Bundle), as runc does, and knows nothing of images, names,
// networks or stored state — those are the engine's (package engine).
//
// The parent side (StartInit, Init.JoinCgroups, Init.Start) re-executes this binary — or the
// small helper set by UseHelper, which mydocker has make build beside it — as the container's
// init in new namespaces and sends it the bundle over a pipe. The init side
// (init.go, rootfs.go) makes every mount private, mounts the container's root filesystem,
// /proc, /dev and /sys, switches root with pivot_root (or chroot for NoPivot), sets the
// hostname and executes the command. Exec runs one more process in a running container's
// namespaces and cgroups; Process signals and waits for a recorded process; RunBundle puts it
// all together for a container in the foreground.
//
// The parent side and the init side talk over two channels the init inherits as fds 3 and 4:
//
//	parent --- fd 3, a pipe ----------> init   the bundle (spec, rootfs mount, compiled seccomp
//	                                             filter), which the init decodes while the parent
//	                                             makes cgroups and networks (Send)
//	parent <-> fd 4, a seqpacket socket  init   parent: "cgroups", the v1 tasks files the init
//	                                             writes to move itself in, once they are made
//	                                             (JoinCgroupsMeanwhile); "go" (Start), with the
//	                                             exec fifo and a root filesystem it made as
//	                                             descriptors; init: a pty master, or an error
//	                                             with its exit code; init: "ready", its work
//	                                             done, and the parent sets the container's limits
//	                                             and says "go" again; EOF (close-on-exec) means
//	                                             the command runs
//
// An init whose spec needs nothing the parent does after the bundle (Bundle.PrepareEarly: no
// hooks, no network sysctl) makes the container — mounts, root, confinement — before the
// first "go", while its parent records the container and joins its networks.
//
// A container with a user namespace of its own gets it at the fork, its mappings written by
// the parent while it waits (userns.go); the parent makes its root filesystem, seen through
// its mappings if asked (idmap.go), and an exec'd process joins it through nsenter.
//
// Before execve the init confines itself (confine.go): resource limits, no_new_privs, the
// seccomp filter, the capability sets, the user. Then it says it is ready, and from there to
// execve makes raw system calls only (last.go): the limits the parent sets meanwhile count the
// init's own threads, and its Go runtime must never want one more. Every descriptor it
// inherited beyond stdio is closed at execve, and the binary it runs from is sealed
// (sealed.go), so that nothing of the host's reaches the command.
//
// Nothing here parses flags, prints tables or exits the process: the runtime returns errors
// and its caller decides what the user sees.
package container
