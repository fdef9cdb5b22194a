package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os/signal"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=..."; the
// module version or "dev" otherwise.
var version = ""

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *env, args []string) error
}

// env is what every subcommand gets from run: the injected process
// environment, never the real one.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

func commands() []command {
	return []command{
		{"demo", "generate a synthetic demo population on an empty database, print sign-ins and serve", runDemo},
		{"serve", "serve the web app, the API and /healthz, /readyz, /metrics", runServe},
		{"generate", "generate a synthetic population into the database, or as FHIR NDJSON", runGenerate},
		{"import", "import FHIR R4 bundles and Bulk Data NDJSON files or directories", runImport},
		{"segment", "place everyone in the Kaiser pyramid, Bridges to Health and the North West London groups; record transitions; print shares", runSegment},
		{"risk", "emergency admission risk (12 months): train and validate the models on the store's history, evaluate a saved model, score everyone", runRisk},
		{"link", "find the records of the same person in a CSV file, or across two (probabilistic record linkage)", runLink},
		{"messages", "list, show and replay HL7 v2 messages in the message log", runMessages},
		{"audit", "verify the tamper-evident audit log (and print its head), or list its entries", runAudit},
		{"migrate", "apply database migrations (or list them with --status)", runMigrate},
		{"user", "add, list, disable and enable sign-ins; issue API tokens", runUser},
		{"bench", "measure what users care about (bench generate: load time and peak memory; bench adt: HL7 v2 messages/s)", runBench},
		{"version", "print the version", runVersion},
	}
}

// usageError is a mistake on the command line: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// reported marks an error whose message run has already printed.
type reported struct{ err error }

func (e *reported) Error() string { return e.err.Error() }
func (e *reported) Unwrap() error { return e.err }

func exitCode(err error) int {
	var u *usageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}

// run is the whole program: main only calls it. It prints any error as one
// line on stderr and returns it for the exit status.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	e := &env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	err := dispatch(ctx, e, args[1:])
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(stderr, "wholecare: %s\n", oneLine(err))
		return &reported{err}
	}
	return nil
}

func dispatch(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		if len(args) == 2 && args[0] == "help" {
			return dispatch(ctx, e, []string{args[1], "--help"})
		}
		printUsage(e.stdout)
		if len(args) == 0 {
			return &usageError{"no command given: see wholecare --help"}
		}
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, e, args[1:])
		}
	}
	names := make([]string, 0)
	for _, c := range commands() {
		names = append(names, c.name)
	}
	sort.Strings(names)
	return &usageError{fmt.Sprintf("unknown command %q: use one of %s", args[0], strings.Join(names, ", "))}
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "Wholecare: one record per person and the tools to act on it, for an integrated care system.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: wholecare COMMAND [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run wholecare COMMAND --help for the flags of a command.")
	fmt.Fprintln(w, "Environment: WHOLECARE_DB (database, as --db), WHOLECARE_ADDR (as --addr).")
}

// oneLine flattens an error's message to one line: the CLI user sees the
// whole chain (it is their own machine), but never a stack trace.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// parseFlags parses a subcommand's flags. --help prints the usage to stdout
// and returns flag.ErrHelp; a mistake returns a one-line usage error.
func parseFlags(fs *flag.FlagSet, e *env, args []string, synopsis string) error {
	return parseFlagsArgs(fs, e, args, synopsis, 0)
}

// parseFlagsArgs is parseFlags for a command that takes up to maxArgs
// arguments after its flags (-1: any number).
func parseFlagsArgs(fs *flag.FlagSet, e *env, args []string, synopsis string, maxArgs int) error {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(e.stdout, "Usage: wholecare %s %s\n\n", fs.Name(), synopsis)
		fs.SetOutput(e.stdout)
		fs.PrintDefaults()
		return flag.ErrHelp
	}
	if err != nil {
		return &usageError{fmt.Sprintf("%s: %v (see wholecare %s --help)", fs.Name(), err, fs.Name())}
	}
	if maxArgs >= 0 && fs.NArg() > maxArgs {
		return &usageError{fmt.Sprintf("%s: unexpected argument %q (see wholecare %s --help)", fs.Name(), fs.Arg(maxArgs), fs.Name())}
	}
	return nil
}

// parseInterspersed parses flags wherever they stand among the arguments
// (`wholecare link a.csv --truth t.csv` as well as `link --truth t.csv
// a.csv`), as people type them; after "--" everything is an argument.
// fs.Args() is then the arguments alone, in order.
func parseInterspersed(fs *flag.FlagSet, args []string) error {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		rest := fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		i := 0
		for i < len(rest) && (rest[i] == "-" || !strings.HasPrefix(rest[i], "-")) {
			i++
		}
		pos = append(pos, rest[:i]...)
		if args = rest[i:]; len(args) == 0 {
			break
		}
	}
	return fs.Parse(append([]string{"--"}, pos...))
}

// buildVersion is the version to report.
func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func runVersion(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	if err := parseFlags(fs, e, args, ""); err != nil {
		return err
	}
	goVersion := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
	}
	fmt.Fprintf(e.stdout, "wholecare %s (%s)\n", buildVersion(), goVersion)
	return nil
}

// newLogger makes the process logger: JSON (default) or text on stderr.
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, &usageError{fmt.Sprintf("--log-level %q not understood: use debug, info, warn or error", level)}
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, &usageError{fmt.Sprintf("--log-format %q not understood: use json or text", format)}
}
