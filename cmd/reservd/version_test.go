package main

import (
	"bytes"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionCommand(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"version"}, {"--version"}} {
		var stdout, stderr bytes.Buffer
		// No environment at all: version reads no configuration.
		if err := run(t.Context(), args, func(string) string { return "" }, &stdout, &stderr); err != nil {
			t.Fatalf("run %q: %v", args, err)
		}
		out := stdout.String()
		for _, want := range []string{"reservd ", "\ncommit  ", "\ngo      " + runtime.Version() + "\n"} {
			if !strings.Contains(out, want) {
				t.Errorf("run %q printed %q, want it to contain %q", args, out, want)
			}
		}
	}
}

func TestDescribeBuild(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		bi   debug.BuildInfo
		want string
	}{
		{"release", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123abcd"}, {Key: "vcs.time", Value: "2026-12-01T10:00:00Z"}, {Key: "vcs.modified", Value: "false"}}},
			"reservd v1.2.3\ncommit  0123abcd (2026-12-01T10:00:00Z)\ngo      go1.26.8\n"},
		{"dirty checkout", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123abcd"}, {Key: "vcs.modified", Value: "true"}}},
			"reservd (devel)\ncommit  0123abcd+dirty\ngo      go1.26.8\n"},
		{"no vcs", debug.BuildInfo{GoVersion: "go1.26.8"},
			"reservd (devel)\ncommit  unknown (built without VCS information)\ngo      go1.26.8\n"},
	} {
		if got := describeBuild(&tt.bi); got != tt.want {
			t.Errorf("%s: describeBuild = %q, want %q", tt.name, got, tt.want)
		}
	}
}
