package commands

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCommandTableNamesWhatItMakes(t *testing.T) {
	for _, c := range Mydocker.commands() {
		assert.Equal(t, c.name, c.make().Name)
	}
}

func TestInvokedCommand(t *testing.T) {
	for args, want := range map[string]string{
		"run busybox":                     "run",
		"--root /tmp/r run -d busybox":    "run",
		"--root=/tmp/r -D -l debug ps":    "ps",
		"--insecure-registry r:5000 pull": "pull",
		"container ls":                    "container",
		"-D":                              "",
		"--help":                          "",
		"--no-such-flag run":              "",
	} {
		assert.Equal(t, want, invokedCommand(Mydocker.globalFlags(), append([]string{"mydocker"}, strings.Fields(args)...)), args)
	}
}

// The app holds the command asked for alone; every command the program knows otherwise.
func TestAppHoldsTheCommandAskedFor(t *testing.T) {
	names := func(p Program, args string) (out []string) {
		for _, c := range p.app(append([]string{"mydocker"}, strings.Fields(args)...)).Commands {
			out = append(out, c.Name)
		}
		return out
	}
	assert.Equal(t, []string{"run"}, names(Mydocker, "--root /tmp/r run busybox"))
	assert.Len(t, names(Mydocker, "--help"), len(Mydocker.commands()))
	assert.Len(t, names(Mydocker, "no-such-command"), len(Mydocker.commands()))
	// A command a chapter has not taught yet is unknown there, among the ones it has.
	ch05 := Program{Name: "ch05", Chapter: 5}
	assert.Equal(t, []string{"import", "images", "tag", "rmi"}, names(ch05, "run busybox"))
}
