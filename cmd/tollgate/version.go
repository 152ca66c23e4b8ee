package main

import (
	"context"
	"fmt"
	"go/version"
	"io"
	"log/slog"
	"runtime"
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
	line += " built with " + runtime.Version()
	if msg := goVulnerable(runtime.Version()); msg != "" {
		line += " (" + msg + ")"
	}
	_, err := fmt.Fprintln(stdout, line)
	return err
}

// patchedGo is, per Go release line, the first release without the
// standard-library vulnerabilities govulncheck reports on the issuer's and
// services' paths (HTTP/2 server crashes GO-2026-6617 and GO-2026-6603 in
// 1.26.8 and earlier). Raise it when CI's govulncheck finds a new one.
var patchedGo = map[string]string{"go1.26": "go1.26.10"}

// warnIfVulnerableGo logs, at start, that the binary was built with a Go
// release known to be vulnerable on Tollgate's paths.
func warnIfVulnerableGo(log *slog.Logger) {
	if msg := goVulnerable(runtime.Version()); msg != "" {
		log.Warn("built with a vulnerable Go release", slog.String("go", runtime.Version()), slog.String("fix", msg))
	}
}

// goVulnerable says why the Go release v is known to be vulnerable on
// Tollgate's paths, or "" when it is not known to be.
func goVulnerable(v string) string {
	if !version.IsValid(v) {
		return "" // a development build: nothing to compare
	}
	fixed, ok := patchedGo[version.Lang(v)]
	if ok && version.Compare(v, fixed) < 0 {
		return "vulnerable: rebuild with " + fixed + " or later"
	}
	return ""
}
