package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/wholecare/wholecare/internal/fhir"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/sqlstore"
	"github.com/wholecare/wholecare/internal/synth"
)

// chunkSize is the number of people written per store transaction. It is
// part of a run's identity (a resumed run must cut chunks the same way), so
// it is a constant, not a flag.
const chunkSize = 5000

func runGenerate(ctx context.Context, e *env, args []string) error {
	cfg := defaultConfig(e.getenv)
	cfg.people = 100000
	fs := flag.NewFlagSet("generate", flag.ContinueOnError)
	cfg.dbFlag(fs)
	cfg.populationFlags(fs)
	cfg.logFlags(fs)
	fs.BoolVar(&cfg.replace, "replace", false, "replace a different synthetic population already in the database (or NDJSON files already in --ndjson DIR)")
	fs.StringVar(&cfg.ndjson, "ndjson", "", "write FHIR R4 Bulk Data NDJSON files into this directory instead of the database")
	var link linkageSpec
	fs.IntVar(&link.records, "linkage-records", 0, "write this many synthetic person records as a CSV for `wholecare link` (with --out), instead of a population")
	fs.Float64Var(&link.duplicates, "duplicates", 0.2, "with --linkage-records: the share of people recorded more than once, with errors")
	fs.StringVar(&link.out, "out", "", "with --linkage-records: the CSV file of person records")
	fs.StringVar(&link.truth, "truth", "", "with --linkage-records: a CSV file for the true duplicate pairs (what `wholecare link --truth` reads)")
	if err := parseFlags(fs, e, args, "[--db DSN | --ndjson DIR] [--people N] [--seed S] [--now YYYY-MM-DD] [--replace]\n"+
		"       wholecare generate --linkage-records N [--duplicates F] [--seed S] --out FILE [--truth FILE] [--replace]"); err != nil {
		return err
	}
	if link.records != 0 {
		link.seed, link.replace = cfg.seed, cfg.replace
		if err := link.valid(); err != nil {
			return err
		}
		return generateLinkage(ctx, e, link)
	}
	if err := cfg.validPopulation(); err != nil {
		return err
	}
	log, err := newLogger(e.stderr, cfg.logFormat, cfg.logLevel)
	if err != nil {
		return err
	}
	if cfg.ndjson != "" {
		return generateNDJSON(ctx, e, cfg)
	}
	db, err := openMigrated(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	start := time.Now()
	run, err := generateIntoStore(ctx, e, cfg, db, log)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s synthetic people (seed %d, history to %s) are in the %s database; took %s\n",
		thousands(run.Spec.People), run.Spec.Seed, run.Spec.Now.Format(time.DateOnly), db.Dialect(),
		time.Since(start).Round(time.Millisecond))
	return nil
}

// generateIntoStore generates (or resumes, or finds already done) the
// population cfg asks for.
func generateIntoStore(ctx context.Context, e *env, cfg config, db *sqlstore.DB, log *slog.Logger) (synth.Run, error) {
	spec := synth.Spec{Seed: cfg.seed, People: cfg.people, ChunkSize: chunkSize, Version: synth.Version}
	switch {
	case cfg.now != "":
		spec.Now, _ = time.Parse(time.DateOnly, cfg.now)
	default:
		spec.Now = today()
		// An unfinished run of the same population started on an earlier day
		// is resumed, not replaced: adopt its day.
		if last, ok, err := db.LatestRun(ctx); err != nil {
			return synth.Run{}, err
		} else if ok && !last.Complete && last.Spec.Seed == spec.Seed && last.Spec.People == spec.People &&
			last.Spec.ChunkSize == spec.ChunkSize && last.Spec.Version == spec.Version {
			spec.Now = last.Spec.Now
		}
	}
	bar := newProgressBar(e.stderr, "generating", "people", time.Now)
	run, err := synth.Load(ctx, db, spec, cfg.replace, func(done, total int) { bar.Set(done, total) })
	bar.Finish()
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return run, fmt.Errorf("interrupted: what was saved is complete chunks only; run the same command again to finish")
		}
		return run, err
	}
	log.Info("population ready", "people", run.Spec.People, "seed", run.Spec.Seed, "run", run.ID)
	return run, nil
}

// generateNDJSON writes the population as FHIR NDJSON files, not to a store.
func generateNDJSON(ctx context.Context, e *env, cfg config) error {
	spec := synth.Spec{Seed: cfg.seed, People: cfg.people, ChunkSize: chunkSize, Now: today(), Version: synth.Version}
	if cfg.now != "" {
		spec.Now, _ = time.Parse(time.DateOnly, cfg.now)
	}
	gen, err := synth.NewGenerator(spec)
	if err != nil {
		return err
	}
	var opts []fhir.WriterOption
	if cfg.replace {
		opts = append(opts, fhir.Overwrite())
	}
	w, err := fhir.NewNDJSONWriter(cfg.ndjson, opts...)
	if err != nil {
		return err
	}
	defer w.Abort() // after Close, a no-op; before it, removes partial files
	if err := w.WriteDirectory(gen.Directory()); err != nil {
		return err
	}
	bar := newProgressBar(e.stderr, "writing NDJSON", "people", time.Now)
	var b record.Batch
	for k := 0; k < spec.Chunks(); k++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("interrupted: no NDJSON file was completed in %s", cfg.ndjson)
		}
		gen.Chunk(k, 1, &b)
		if err := w.WriteBatch(&b); err != nil {
			return err
		}
		bar.Set(min((k+1)*spec.ChunkSize, spec.People), spec.People)
	}
	bar.Finish()
	if err := w.Close(); err != nil {
		return err
	}
	counts := w.Counts()
	types := make([]string, 0, len(counts))
	for t := range counts {
		types = append(types, t)
	}
	sort.Strings(types)
	for _, t := range types {
		fmt.Fprintf(e.stdout, "%-18s %12s\n", t, thousands(counts[t]))
	}
	fmt.Fprintf(e.stdout, "FHIR R4 NDJSON for %s people written to %s\n", thousands(spec.People), cfg.ndjson)
	return nil
}
