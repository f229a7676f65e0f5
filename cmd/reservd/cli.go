package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"

	"github.com/reservd/reservd/internal/config"
	"github.com/reservd/reservd/internal/provider/registry"
)

// usageError is a command line reservd does not understand: main exits 2
// for it, as flag and most Unix tools do, and 1 when a command fails.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{msg: fmt.Sprintf(format, a...)} }

// cli is what a command runs with: the environment and the output streams.
type cli struct {
	getenv         func(string) string
	stdout, stderr io.Writer
}

// config reads the configuration and builds the logger. Only commands that
// run call it, so that --help works even with a broken environment.
func (c *cli) config() (config.Config, *slog.Logger, error) {
	cfg, err := config.Load(c.getenv)
	if err != nil {
		return config.Config{}, nil, fmt.Errorf("configuration: %w", err)
	}
	return cfg, newLogger(cfg, c.stderr), nil
}

// runner runs a command with its positional arguments, once its flags are
// parsed.
type runner func(ctx context.Context, c *cli, args []string) error

// command is one of reservd's commands. setup declares its flags on fs and
// returns what runs it (reading the flags' values); a group of commands
// ("keys") has no setup.
type command struct {
	path    string // "keys create"
	usage   string // the usage line after "reservd "; path [flags] args when empty
	args    string // what follows the flags in the usage line
	summary string // one line, for the command list
	about   string // paragraphs for its --help; summary when empty
	setup   func(fs *flag.FlagSet) runner
}

// commands lists every command, in the order `reservd --help` shows them.
var commands []*command

func init() {
	// In init: the help command reads the list it is part of.
	commands = []*command{
		serveCommand, migrateCommand, keysCommand, keysCreateCommand, keysListCommand, keysRevokeCommand, versionCommand,
	}
}

func findCommand(path string) *command {
	for _, c := range commands {
		if c.path == path {
			return c
		}
	}
	return nil
}

var serveCommand = &command{
	path:    "serve",
	summary: "run the HTTP service (the default command)",
	about: `Run the HTTP service until SIGINT or SIGTERM, then drain in-flight requests and
jobs and exit. Pending migrations are applied at start. With DATABASE_URL unset
the data lives in an embedded SQLite database under DATA_DIR, and an empty one
is loaded with a demo catalogue.`,
	setup: func(*flag.FlagSet) runner {
		return func(ctx context.Context, c *cli, args []string) error {
			if len(args) > 0 {
				return usagef("serve takes no arguments, got %q; run 'reservd serve --help' for usage", args)
			}
			cfg, log, err := c.config()
			if err != nil {
				return err
			}
			return serve(ctx, cfg, c.getenv, log, c.stdout)
		}
	},
}

var migrateCommand = &command{
	path:    "migrate",
	summary: "apply pending database migrations and exit",
	about: `Apply the database migrations that are pending, say which, and exit. serve
applies them at start too; run this to migrate before replicas start.`,
	setup: func(*flag.FlagSet) runner {
		return func(ctx context.Context, c *cli, args []string) error {
			if len(args) > 0 {
				return usagef("migrate takes no arguments, got %q; run 'reservd migrate --help' for usage", args)
			}
			cfg, log, err := c.config()
			if err != nil {
				return err
			}
			return migrate(ctx, cfg, log, c.stdout)
		}
	},
}

var keysCommand = &command{
	path:    "keys",
	args:    "COMMAND",
	summary: "manage API keys",
	about: `Manage the API keys of the configured database (DATABASE_URL, or the embedded
one under DATA_DIR).`,
}

// run is the whole program, callable from tests: args without the program
// name, the environment through getenv, and the process's output streams.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c := &cli{getenv: getenv, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		args = []string{"serve"}
	}
	switch {
	case isHelp(args[0]):
		fmt.Fprint(stdout, mainHelp())
		return nil
	case args[0] == "--version":
		args = []string{"version"}
	case args[0] == "help":
		return helpFor(args[1:], stdout)
	}
	cmd, rest, err := resolve(args)
	if err != nil {
		return err
	}
	return cmd.exec(ctx, c, rest)
}

// isHelp reports whether arg asks for help (flag accepts one dash or two).
func isHelp(arg string) bool {
	return arg == "-h" || arg == "--help" || arg == "-help"
}

// wantsHelp reports whether any argument before "--" asks for help, so that
// `reservd keys revoke 3 --help` helps rather than revokes.
func wantsHelp(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if isHelp(a) {
			return true
		}
	}
	return false
}

// resolve finds the command args name, longest path first, and returns it
// with the arguments that follow its name.
func resolve(args []string) (*command, []string, error) {
	if strings.HasPrefix(args[0], "-") {
		return nil, nil, usagef("unknown flag %s; run 'reservd --help' for usage", args[0])
	}
	if len(args) > 1 {
		if cmd := findCommand(args[0] + " " + args[1]); cmd != nil {
			return cmd, args[2:], nil
		}
	}
	cmd := findCommand(args[0])
	if cmd == nil {
		return nil, nil, usagef("unknown command %q; run 'reservd --help' for the commands", args[0])
	}
	if cmd.setup == nil && len(args) > 1 && !wantsHelp(args[1:]) {
		return nil, nil, usagef("unknown command %q; run 'reservd %s --help' for the commands", args[0]+" "+args[1], cmd.path)
	}
	return cmd, args[1:], nil
}

// helpFor serves `reservd help [COMMAND...]`.
func helpFor(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stdout, mainHelp())
		return nil
	}
	cmd, rest, err := resolve(args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("unknown command %q; run 'reservd --help' for the commands", strings.Join(args, " "))
	}
	fs := cmd.flagSet()
	if cmd.setup != nil {
		cmd.setup(fs)
	}
	fmt.Fprint(stdout, cmd.help(fs))
	return nil
}

// flagSet is the command's flags, quiet: reservd writes its own help and
// errors, with the double-dash flags its documentation uses.
func (cmd *command) flagSet() *flag.FlagSet {
	fs := flag.NewFlagSet(cmd.path, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

func (cmd *command) exec(ctx context.Context, c *cli, args []string) error {
	fs := cmd.flagSet()
	var runCmd runner
	if cmd.setup != nil {
		runCmd = cmd.setup(fs)
	}
	if wantsHelp(args) {
		fmt.Fprint(c.stdout, cmd.help(fs))
		return nil
	}
	if runCmd == nil {
		return usagef("%s needs a command (%s); run 'reservd %s --help' for usage", cmd.path, strings.Join(cmd.subcommands(), ", "), cmd.path)
	}
	if err := fs.Parse(args); err != nil {
		return usagef("%s: %s; run 'reservd %s --help' for usage", cmd.path, doubleDash(err), cmd.path)
	}
	return runCmd(ctx, c, fs.Args())
}

// doubleDash rewrites the flag package's errors, which name flags with one
// dash ("flag provided but not defined: -nme"), in reservd's spelling.
func doubleDash(err error) string {
	msg := err.Error()
	msg = strings.Replace(msg, "flag provided but not defined: -", "unknown flag --", 1)
	msg = strings.Replace(msg, "flag needs an argument: -", "flag needs a value: --", 1)
	msg = strings.Replace(msg, " for flag -", " for flag --", 1)
	msg = strings.Replace(msg, " for -", " for flag --", 1) // invalid boolean value "x" for -admin
	return msg
}

// subcommands are the names of the commands in the group cmd.
func (cmd *command) subcommands() []string {
	var names []string
	for _, c := range commands {
		if name, ok := strings.CutPrefix(c.path, cmd.path+" "); ok {
			names = append(names, name)
		}
	}
	return names
}

// help is the command's --help text: usage line, description, flags (or
// the group's commands).
func (cmd *command) help(fs *flag.FlagSet) string {
	var b strings.Builder
	usage := "reservd " + cmd.path
	var flags []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) { flags = append(flags, f) })
	if len(flags) > 0 {
		usage += " [flags]"
	}
	if cmd.args != "" {
		usage += " " + cmd.args
	}
	if cmd.usage != "" {
		usage = "reservd " + cmd.usage
	}
	fmt.Fprintf(&b, "usage: %s\n\n", usage)
	about := cmd.about
	if about == "" {
		about = strings.ToUpper(cmd.summary[:1]) + cmd.summary[1:] + "."
	}
	fmt.Fprintf(&b, "%s\n", about)
	if subs := cmd.subcommands(); len(subs) > 0 {
		fmt.Fprintf(&b, "\ncommands:\n")
		for _, name := range subs {
			fmt.Fprintf(&b, "  %-12s %s\n", name, findCommand(cmd.path+" "+name).summary)
		}
		fmt.Fprintf(&b, "\nRun 'reservd %s COMMAND --help' for a command's flags.\n", cmd.path)
		return b.String()
	}
	fmt.Fprintf(&b, "\nflags:\n")
	rows := [][2]string{}
	for _, f := range flags {
		name, text := flag.UnquoteUsage(f)
		left := "--" + f.Name
		if name != "" {
			left += " " + name
		}
		rows = append(rows, [2]string{left, text})
	}
	rows = append(rows, [2]string{"-h, --help", "print this help and exit"})
	width := 0
	for _, r := range rows {
		width = max(width, len(r[0]))
	}
	for _, r := range rows {
		fmt.Fprintf(&b, "  %-*s  %s\n", width, r[0], r[1])
	}
	return b.String()
}

// mainHelp is `reservd --help`.
func mainHelp() string {
	var b strings.Builder
	b.WriteString(`usage: reservd [COMMAND] [--help]

reservd is the seat-reservation service.

commands:
`)
	for _, c := range commands {
		if c.setup == nil {
			continue // its commands are listed by their full names
		}
		fmt.Fprintf(&b, "  %-13s %s\n", c.path, c.summary)
	}
	b.WriteString(`
Run 'reservd COMMAND --help' for a command's flags.

Settings come from the environment (the README says more):

`)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  VARIABLE\tDEFAULT\tMEANING")
	for _, s := range config.Settings {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", s.Name, orUnset(s.Default), s.Help)
	}
	for _, p := range registry.All() {
		for _, s := range p.Settings {
			meaning := p.Title + " API setting"
			switch {
			case s.Env == p.BaseURLEnv:
				meaning = p.Title + " API base URL (unset: " + p.Title + "'s own)"
			case s.Required:
				meaning = p.Title + " API credential; reservd uses " + p.Title + " when all of them are set"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", s.Env, orUnset(s.Default), meaning)
		}
	}
	fmt.Fprintf(tw, "  OTEL_*\tunset\tOpenTelemetry tracing (OTEL_TRACES_EXPORTER, OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME, …)\n")
	tw.Flush() // #nosec G104 -- tw writes into a strings.Builder, which never fails
	b.WriteString(`
With no flight provider configured, built-in simulators of all of them
answer instead.
`)
	return b.String()
}

func orUnset(v string) string {
	if v == "" {
		return "unset"
	}
	return v
}
