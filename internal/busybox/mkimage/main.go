// Command mkimage writes the busybox rootfs tarball that `make run` imports as the default image.
//
//	go run ./internal/busybox/mkimage -o busybox.tar
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/mydocker/mydocker/internal/busybox"
)

func main() {
	out := flag.String("o", "busybox.tar", "where to write the rootfs tarball")
	flag.Parse()
	if err := busybox.WriteTarFile(*out); err != nil {
		fmt.Fprintln(os.Stderr, "mkimage:", err)
		os.Exit(1)
	}
}
