package main

import (
	"context"
	"flag"
	"fmt"
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
	if err := printDemoSignIns(ctx, e, db); err != nil {
		return err
	}
	if err := seedDemoCarePlan(ctx, db, time.Now); err != nil {
		return err
	}
	return serveHTTP(ctx, e, cfg, db, log)
}
