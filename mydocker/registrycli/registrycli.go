// Package registrycli is the command line of mydocker-registry, what mydocker's pull, push,
// login and logout run: the registry client (package workspace/registry) in a program of its
// own, so that mydocker itself links no HTTP or TLS and starts as fast without it. make builds
// it beside mydocker (mydocker/registry); chapter 14's program is its own registry client,
// run again under this name (commands.Program.SelfRegistry), so that a chapter built with
// -tags lab checks the blobs it pulls with the learner's code.
//
//	mydocker-registry [--insecure-registry R]... [-q] pull|push ROOT REF
//	mydocker-registry [--insecure-registry R]... login SERVER USER   (the password on stdin)
//	mydocker-registry logout SERVER
package registrycli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/mydocker/mydocker/internal/bars"
	"github.com/mydocker/mydocker/workspace"
	"github.com/mydocker/mydocker/workspace/registry"
)

// Name is the program's name, and its argv[0] when a program runs itself as it.
const Name = "mydocker-registry"

// Reexecuted reports whether this process was started as mydocker-registry by a program that
// is its own registry client.
func Reexecuted() bool { return os.Args[0] == Name }

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

// Main runs the command line args (without the program's name) and exits.
func Main(args []string) {
	var access registry.Access
	flags := flag.NewFlagSet(Name, flag.ExitOnError)
	flags.Var((*list)(&access.Insecure), "insecure-registry", "a registry (HOST[:PORT] or CIDR) that may answer over http")
	quiet := flags.Bool("q", false, "no progress")
	flags.Parse(args)
	args = flags.Args()
	switch {
	case len(args) == 3 && (args[0] == "pull" || args[0] == "push"):
		store, err := workspace.Open(args[1])
		if err != nil {
			fail(err)
		}
		progress := bars.New(os.Stdout, *quiet)
		if args[0] == "pull" {
			ref := args[2]
			if !strings.Contains(ref, "@") && strings.LastIndex(ref, ":") <= strings.LastIndex(ref, "/") {
				progress.Printf("Using default tag: latest\n") // docker pull's own words
			}
			p, err := access.Pull(store, args[1], ref, progress)
			if err != nil {
				fail(err)
			}
			fmt.Println(p.Ref)
			break
		}
		if _, err := access.Push(store, args[1], args[2], progress); err != nil {
			fail(err)
		}
	case len(args) == 3 && args[0] == "login":
		password, err := io.ReadAll(os.Stdin)
		if err != nil {
			fail(err)
		}
		if err := access.Login(args[1], args[2], strings.TrimRight(string(password), "\r\n")); err != nil {
			fail(err)
		}
		fmt.Println("Login Succeeded")
	case len(args) == 2 && args[0] == "logout":
		had, err := access.Logout(args[1])
		if err != nil {
			fail(err)
		}
		if !had {
			fmt.Printf("Not logged in to %s\n", serverName(args[1]))
			break
		}
		fmt.Printf("Removing login credentials for %s\n", serverName(args[1]))
	default:
		fmt.Fprintln(os.Stderr, "usage: mydocker-registry [--insecure-registry R]... [-q] pull|push ROOT REF | login SERVER USER | logout SERVER (mydocker runs it)")
		os.Exit(125)
	}
	os.Exit(0)
}

func serverName(s string) string {
	if s == "" {
		return "https://index.docker.io/v1/"
	}
	return s
}

func fail(err error) {
	var te *transport.Error
	if errors.As(err, &te) && te.StatusCode == http.StatusUnauthorized {
		err = fmt.Errorf("%w: unauthorized: authentication required (mydocker login %s)", err, te.Request.URL.Host)
	}
	fmt.Fprintln(os.Stderr, "mydocker:", err)
	os.Exit(1)
}
