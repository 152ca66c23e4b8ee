package main

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
)

// commit is set by the Dockerfile (-ldflags -X main.commit=…), whose build
// context has no .git for the go command to read.
var commit string

// runVersion prints the module version and, when the build knows it, the
// commit it was built from.
func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if err := newFlags("version", stdout, stderr).parse(args); err != nil {
		return err
	}
	version, rev, modified := "(devel)", commit, false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if rev == "" {
					rev = s.Value
				}
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	line := "tollgate " + version
	if rev != "" {
		line += " commit " + rev
		if modified {
			line += " (modified)"
		}
	}
	_, err := fmt.Fprintln(stdout, line)
	return err
}
