package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the PostgreSQL driver, to create and drop bench databases

	"github.com/wholecare/wholecare/internal/sqlstore"
)

func runBench(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(e.stdout, "Usage: wholecare bench generate|adt|rules|pages [flags]")
		fmt.Fprintln(e.stdout)
		fmt.Fprintln(e.stdout, "Benchmarks:")
		fmt.Fprintln(e.stdout, "  generate  time and peak memory to generate and load N synthetic people into SQLite and PostgreSQL")
		fmt.Fprintln(e.stdout, "  adt       HL7 v2 ADT messages acknowledged per second over concurrent MLLP connections, and ACK latency")
		fmt.Fprintln(e.stdout, "  rules     the daily run of every scheduled rule and care gap over the population a store holds")
		fmt.Fprintln(e.stdout, "  pages     server time of every page each demo role reaches from its start page, on the population a store holds")
		if len(args) == 0 {
			return &usageError{"bench: name a benchmark (see wholecare bench --help)"}
		}
		return nil
	}
	switch args[0] {
	case "generate":
		return benchGenerate(ctx, e, args[1:])
	case "adt":
		return benchADT(ctx, e, args[1:])
	case "rules":
		return benchRules(ctx, e, args[1:])
	case "pages":
		return benchPages(ctx, e, args[1:])
	}
	return &usageError{fmt.Sprintf("bench: unknown benchmark %q (see wholecare bench --help)", args[0])}
}

func benchGenerate(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("bench generate", flag.ContinueOnError)
	sizes := fs.String("people", "100000,1000000", "comma-separated population sizes")
	dir := fs.String("dir", "", "directory for the SQLite files (default: a temporary directory, removed afterwards)")
	pg := fs.String("postgres", e.getenv("WHOLECARE_BENCH_POSTGRES"), "PostgreSQL URL of a server where a fresh database may be created and dropped (env WHOLECARE_BENCH_POSTGRES); empty skips PostgreSQL")
	seed := fs.Int64("seed", 1, "random seed")
	if err := parseFlags(fs, e, args, "[--people N,N] [--postgres URL] [--dir DIR]"); err != nil {
		return err
	}
	var ns []int
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return &usageError{fmt.Sprintf("--people %q: give sizes like 100000,1000000", *sizes)}
		}
		ns = append(ns, n)
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding this program to run it: %w", err)
	}
	work := *dir
	if work == "" {
		if work, err = os.MkdirTemp("", "wholecare-bench-"); err != nil {
			return err
		}
		defer os.RemoveAll(work)
	}
	fmt.Fprintf(e.stdout, "Machine: %s/%s, %d CPUs, %s\n\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel())
	fmt.Fprintln(e.stdout, "| store | people | rows | time | people/s | rows/s | peak RSS |")
	fmt.Fprintln(e.stdout, "|---|---:|---:|---:|---:|---:|---:|")
	for _, n := range ns {
		targets := []string{"sqlite"}
		if *pg != "" {
			targets = append(targets, "postgres")
		}
		for _, target := range targets {
			var dsn string
			var cleanup func()
			switch target {
			case "sqlite":
				path := filepath.Join(work, fmt.Sprintf("bench-%d.db", n))
				for _, suffix := range []string{"", "-wal", "-shm"} {
					os.Remove(path + suffix)
				}
				dsn = "sqlite:" + path
				cleanup = func() {
					for _, suffix := range []string{"", "-wal", "-shm"} {
						os.Remove(path + suffix)
					}
				}
			case "postgres":
				dsn, cleanup, err = freshPostgres(ctx, *pg)
				if err != nil {
					return err
				}
			}
			res, err := timeChild(ctx, self, e.stderr, "generate", "--db", dsn, "--people", strconv.Itoa(n),
				"--seed", strconv.FormatInt(*seed, 10), "--log-format", "text", "--log-level", "warn")
			if err != nil {
				cleanup()
				return fmt.Errorf("%s, %d people: %w", target, n, err)
			}
			rows, err := countRows(ctx, dsn)
			cleanup()
			if err != nil {
				return err
			}
			secs := res.wall.Seconds()
			fmt.Fprintf(e.stdout, "| %s | %s | %s | %s | %s | %s | %s |\n", target, thousands(n), thousands(int(rows)),
				res.wall.Round(100*time.Millisecond), thousands(int(float64(n)/secs)), thousands(int(float64(rows)/secs)),
				fmt.Sprintf("%.0f MiB", float64(res.maxRSS)/(1<<20)))
		}
	}
	return nil
}

type childResult struct {
	wall   time.Duration
	maxRSS int64 // bytes
}

// timeChild runs this program as a child process so that its peak resident
// memory is its own, read from the kernel's rusage.
func timeChild(ctx context.Context, self string, stderr io.Writer, args ...string) (childResult, error) {
	cmd := exec.CommandContext(ctx, self, args...)
	cmd.Stdout = io.Discard
	cmd.Stderr = stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return childResult{}, err
	}
	res := childResult{wall: time.Since(start)}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		res.maxRSS = ru.Maxrss * 1024 // Linux reports KiB
	}
	return res, nil
}

func countRows(ctx context.Context, dsn string) (int64, error) {
	db, err := sqlstore.Open(ctx, dsn, slog.New(slog.DiscardHandler))
	if err != nil {
		return 0, err
	}
	defer db.Close()
	counts, err := db.Counts(ctx)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, c := range counts {
		total += c
	}
	return total, nil
}

// freshPostgres creates an empty database on the server at admin and
// returns its URL and a function that drops it.
func freshPostgres(ctx context.Context, admin string) (string, func(), error) {
	u, err := url.Parse(admin)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", nil, &usageError{"--postgres: give a postgres:// URL"}
	}
	conn, err := sql.Open("pgx", admin)
	if err != nil {
		return "", nil, err
	}
	name := fmt.Sprintf("wholecare_bench_%d", time.Now().UnixNano())
	if _, err := conn.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		conn.Close()
		return "", nil, fmt.Errorf("creating a bench database on %s: %w", redactDSN(admin), err)
	}
	u.Path = "/" + name
	drop := func() {
		_, _ = conn.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		conn.Close()
	}
	return u.String(), drop, nil
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "model name") {
			if i := strings.Index(line, ":"); i >= 0 {
				return strings.TrimSpace(line[i+1:])
			}
		}
	}
	return "unknown CPU"
}
