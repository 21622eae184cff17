package commands

import (
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/mydocker/mydocker/runconfig"
)

// securityFlags are run's flags for what a container may do: Docker's, with Docker's words.
func securityFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "cap-add", Usage: "add Linux capabilities (NET_ADMIN, CAP_SYS_TIME, ALL)"},
		&cli.StringSliceFlag{Name: "cap-drop", Usage: "drop Linux capabilities (MKNOD, ALL)"},
		&cli.BoolFlag{Name: "privileged", Usage: "give extended privileges to this container: every capability and device the host has, no seccomp"},
		&cli.StringSliceFlag{Name: "security-opt", Usage: "security options: seccomp=unconfined, seccomp=PROFILE.json, no-new-privileges"},
		&cli.StringSliceFlag{Name: "ulimit", Usage: "ulimit options (nofile=1024:2048)"},
		&cli.StringSliceFlag{Name: "device", Usage: "add a host device to the container (/dev/X[:/dev/Y][:rwm])"},
	}
}

// securityOptions reads the security flags; a seccomp profile file is read here, as Docker's
// client does.
func securityOptions(cmd *cli.Command) (runconfig.Security, error) {
	s := runconfig.Security{
		CapAdd:     cmd.StringSlice("cap-add"),
		CapDrop:    cmd.StringSlice("cap-drop"),
		Privileged: cmd.Bool("privileged"),
	}
	for _, opt := range cmd.StringSlice("security-opt") {
		// A profile's file is read here, as Docker's client does: the engine takes its JSON.
		if path, ok := strings.CutPrefix(opt, "seccomp="); ok && path != "unconfined" && path != "" {
			data, err := os.ReadFile(path)
			if err != nil {
				return s, fmt.Errorf("opening seccomp profile (%s) failed: %w", path, err)
			}
			opt = "seccomp=" + string(data)
		}
		if err := s.AddSecurityOpt(opt); err != nil {
			return s, err
		}
	}
	for _, u := range cmd.StringSlice("ulimit") {
		l, err := runconfig.ParseUlimit(u)
		if err != nil {
			return s, err
		}
		s.Rlimits = append(s.Rlimits, l)
	}
	for _, d := range cmd.StringSlice("device") {
		m, err := runconfig.ParseDevice(d)
		if err != nil {
			return s, err
		}
		s.Devices = append(s.Devices, m)
	}
	return s, nil
}
