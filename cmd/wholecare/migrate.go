package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/wholecare/wholecare/internal/sqlstore"
)

func runMigrate(ctx context.Context, e *env, args []string) error {
	cfg := defaultConfig(e.getenv)
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	cfg.dbFlag(fs)
	cfg.logFlags(fs)
	status := fs.Bool("status", false, "list applied and pending migrations; change nothing")
	if err := parseFlags(fs, e, args, "[--db DSN] [--status]"); err != nil {
		return err
	}
	if err := cfg.validDB(); err != nil {
		return err
	}
	log, err := newLogger(e.stderr, cfg.logFormat, cfg.logLevel)
	if err != nil {
		return err
	}
	db, err := sqlstore.Open(ctx, cfg.db, log)
	if err != nil {
		return err
	}
	defer db.Close()
	if *status {
		ms, err := db.MigrationStatus(ctx)
		if err != nil {
			return err
		}
		for _, m := range ms {
			state := "pending"
			if !m.AppliedAt.IsZero() {
				state = "applied " + m.AppliedAt.Format("2006-01-02 15:04:05Z07:00")
			}
			fmt.Fprintf(e.stdout, "%04d_%s  %s\n", m.Version, m.Name, state)
		}
		return nil
	}
	applied, err := db.Migrate(ctx)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(e.stdout, "database is up to date")
	}
	for _, name := range applied {
		fmt.Fprintf(e.stdout, "applied %s\n", name)
	}
	return nil
}
