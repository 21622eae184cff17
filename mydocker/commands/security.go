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
		key, value, _ := strings.Cut(opt, "=")
		if k, v, ok := strings.Cut(opt, ":"); ok && key == opt {
			key, value = k, v // the older form, no-new-privileges:true
		}
		switch key {
		case "seccomp":
			switch value {
			case "unconfined":
				s.Seccomp = "unconfined"
			case "":
				return s, fmt.Errorf("invalid --security-opt %q: want seccomp=unconfined or seccomp=PROFILE.json", opt)
			default:
				data, err := os.ReadFile(value)
				if err != nil {
					return s, fmt.Errorf("opening seccomp profile (%s) failed: %w", value, err)
				}
				s.Seccomp = string(data)
			}
		case "no-new-privileges":
			switch value {
			case "", "true":
				s.NoNewPrivileges = true
			case "false":
				s.NoNewPrivileges = false
			default:
				return s, fmt.Errorf("invalid --security-opt %q: no-new-privileges takes true or false", opt)
			}
		default:
			return s, fmt.Errorf("invalid --security-opt %q: mydocker knows seccomp= and no-new-privileges (no AppArmor or SELinux)", opt)
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
