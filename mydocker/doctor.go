package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v3"
	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/cgroups"
	"github.com/mydocker/mydocker/workspace"
)

// check is one line of doctor's report.
type check struct {
	what, found string
	ok          bool
	fix         string // what to do when not ok
}

func doctorCommand() *cli.Command {
	return &cli.Command{
		Name:  "doctor",
		Usage: "check that this machine can run containers, and say what is missing",
		Action: func(_ context.Context, cmd *cli.Command) error {
			checks := doctorChecks()
			tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
			missing := 0
			for _, c := range checks {
				mark := "ok"
				if !c.ok {
					mark = "MISSING"
					missing++
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", c.what, c.found, mark)
			}
			tw.Flush()
			for _, c := range checks {
				if !c.ok && c.fix != "" {
					fmt.Printf("- %s: %s\n", c.what, c.fix)
				}
			}
			if missing > 0 {
				return &statusError{code: 1}
			}
			return nil
		},
	}
}

func doctorChecks() []check {
	var uts unix.Utsname
	unix.Uname(&uts)
	kernel := unix.ByteSliceToString(uts.Release[:])
	checks := []check{
		{what: "kernel", found: kernel, ok: true},
		{what: "root", found: fmt.Sprintf("uid %d", os.Geteuid()), ok: os.Geteuid() == 0, fix: "run mydocker as root (sudo)"},
		{what: "cgroups", found: cgroups.DetectMode().String(), ok: true},
	}
	var ns []string
	nsOK := true
	for _, n := range []string{"pid", "net", "mnt", "uts", "ipc", "user", "cgroup"} {
		if _, err := os.Stat("/proc/self/ns/" + n); err == nil {
			ns = append(ns, n)
		} else if n != "user" && n != "cgroup" {
			nsOK = false
		}
	}
	checks = append(checks, check{what: "namespaces", found: strings.Join(ns, " "), ok: nsOK, fix: "a kernel with CONFIG_NAMESPACES and the PID, net, mount, UTS and IPC namespaces"})
	for _, fs := range []string{"overlay", "aufs"} {
		found := "not in this kernel"
		if workspace.KernelHas(fs) {
			found = "supported"
		}
		c := check{what: fs, found: found, ok: true}
		if fs == "overlay" && found != "supported" {
			c.ok, c.fix = false, "modprobe overlay (mydocker falls back to the slow vfs driver)"
		}
		checks = append(checks, c)
	}
	driver, _ := workspace.NewDriver("")
	checks = append(checks, check{what: "storage driver", found: driver.Name(), ok: true})
	bb := "not installed"
	if p, err := exec.LookPath("busybox"); err == nil {
		bb = p
	}
	checks = append(checks, check{what: "busybox (default image)", found: bb, ok: bb != "not installed", fix: "apt-get install busybox-static"})
	return checks
}
