package main

import (
	"context"
	"flag"
	"fmt"
	"runtime/debug"
	"strings"
)

var versionCommand = &command{
	path:    "version",
	summary: "print the version, commit and Go version of this build",
	about: `Print the module version this binary was built from ("(devel)" for a build
from a checkout), the VCS commit ("+dirty" when the tree had uncommitted
changes) and its time, and the Go version that built it.`,
	setup: func(*flag.FlagSet) runner {
		return func(_ context.Context, c *cli, args []string) error {
			if len(args) > 0 {
				return usagef("version takes no arguments, got %q", args)
			}
			bi, ok := debug.ReadBuildInfo()
			if !ok {
				return fmt.Errorf("version: this binary carries no build information")
			}
			fmt.Fprint(c.stdout, describeBuild(bi))
			return nil
		}
	},
}

// describeBuild is the version command's output for a build. The VCS
// settings are absent from `go run` and test binaries and from builds with
// -buildvcs=false: the commit then says so rather than guess.
func describeBuild(bi *debug.BuildInfo) string {
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	commit := "unknown (built without VCS information)"
	if rev := settings["vcs.revision"]; rev != "" {
		commit = rev
		if settings["vcs.modified"] == "true" {
			commit += "+dirty"
		}
		if when := settings["vcs.time"]; when != "" {
			commit += " (" + when + ")"
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "reservd %s\n", v)
	fmt.Fprintf(&b, "commit  %s\n", commit)
	fmt.Fprintf(&b, "go      %s\n", bi.GoVersion)
	return b.String()
}
