package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/synth"
)

func runDemo(ctx context.Context, e *env, args []string) error {
	cfg := defaultConfig(e.getenv)
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	cfg.dbFlag(fs)
	cfg.addrFlag(fs)
	cfg.mllpFlag(fs)
	cfg.riskModelFlag(fs)
	cfg.trustFlags(fs)
	cfg.populationFlags(fs)
	cfg.logFlags(fs)
	if err := parseFlags(fs, e, args, "[--db DSN] [--addr HOST:PORT] [--mllp-addr HOST:PORT] [--people N] [--seed S]"); err != nil {
		return err
	}
	if err := cfg.validAddr(); err != nil {
		return err
	}
	if err := cfg.validTrust(); err != nil {
		return err
	}
	if err := cfg.validPopulation(); err != nil {
		return err
	}
	log, err := newLogger(e.stderr, cfg.logFormat, cfg.logLevel)
	if err != nil {
		return err
	}
	db, err := openMigrated(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()

	last, ok, err := db.LatestRun(ctx)
	if err != nil {
		return err
	}
	var run synth.Run
	if ok && last.Complete {
		run = last
		fmt.Fprintf(e.stdout, "Using the synthetic population already in the database: %s people, seed %d, history to %s.\n",
			thousands(run.Spec.People), run.Spec.Seed, run.Spec.Now.Format("2 January 2006"))
	} else {
		fmt.Fprintf(e.stdout, "Generating a synthetic population of %s people (seed %d) into %s.\n",
			thousands(cfg.people), cfg.seed, redactDSN(cfg.db))
		if run, err = generateIntoStore(ctx, e, cfg, db, log); err != nil {
			return err
		}
	}
	if err := demoRiskModel(ctx, e, &cfg, run); err != nil {
		return err
	}
	if err := printDemoSignIns(ctx, e, db); err != nil {
		return err
	}
	if err := seedDemoCarePlan(ctx, db, time.Now); err != nil {
		return err
	}
	return serveHTTP(ctx, e, cfg, db, log)
}

// demoRiskModel gives the demo a risk model, so case finding can rank
// people: with no --risk-model, a demo on SQLite trains one on its own
// population the first time (a few seconds for 20,000 people) and keeps it
// beside the database file. On PostgreSQL the demo runs without one unless
// it is named.
func demoRiskModel(ctx context.Context, e *env, cfg *config, run synth.Run) error {
	path, ok := strings.CutPrefix(cfg.db, "sqlite:")
	if cfg.riskModel != "" || !ok || path == "" || strings.HasPrefix(path, ":memory:") {
		return nil
	}
	model := path + ".riskmodel.json"
	if _, err := os.Stat(model); err == nil {
		cfg.riskModel = model
		return nil
	}
	// Features before the cut-off, labels in the year after; validation a
	// year later, with its own year of follow-up inside the history.
	cut := run.Spec.Now.AddDate(-2, -1, 0).Format(time.DateOnly)
	fmt.Fprintf(e.stdout, "Training a risk model on this population (cut-off %s) for case finding...\n", cut)
	start := time.Now()
	quiet := &env{getenv: e.getenv, stdin: e.stdin, stdout: io.Discard, stderr: io.Discard}
	if err := runRiskTrain(ctx, quiet, []string{"--db", cfg.db, "--cutoff", cut, "--out", model, "--log-level", "error"}); err != nil {
		fmt.Fprintf(e.stdout, "No risk model (%v): case finding cannot rank people until one is given with --risk-model.\n", err)
		return nil
	}
	fmt.Fprintf(e.stdout, "Risk model saved to %s in %s.\n", model, time.Since(start).Round(100*time.Millisecond))
	cfg.riskModel = model
	return nil
}
