// Package nsenter enters a running container's namespaces before the Go runtime starts.
//
// setns(2) into a mount namespace is refused to a multi-threaded process, and the Go runtime
// starts its threads before main runs. So, like runc's nsexec, the work happens in a C
// constructor that runs first, while the process is still single-threaded. See nsenter.c.
//
// Importing this package (for its side effect) is enough; the constructor does nothing unless
// the process was started with _MYDOCKER_NSENTER_PID in its environment. It then reads one
// byte from fd 3 before it joins the namespaces: the parent sends it once the process sits in
// the container's cgroups.
package nsenter

// #cgo CFLAGS: -Wall
import "C"

// EnvPid names the environment variable that carries the pid of the container's init.
const EnvPid = "_MYDOCKER_NSENTER_PID"
