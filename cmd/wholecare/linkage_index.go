package main

import (
	"context"
	"flag"
	"log/slog"
	"time"

	"github.com/wholecare/wholecare/internal/linkage"
	"github.com/wholecare/wholecare/internal/registry"
	"github.com/wholecare/wholecare/internal/sqlstore"
)

func (c *config) linkageFlag(fs *flag.FlagSet) {
	fs.BoolVar(&c.noLinkage, "no-linkage", c.noLinkage,
		"do not match incoming people to the registry by record linkage (only a source's own id or a verified NHS number then finds them)")
}

// progressFrom is the registry size above which building the index shows
// progress: below it the build takes about a second.
const progressFrom = 100_000

// buildLinkIndex reads every person of the registry into a record linkage
// index with the shipped model, and has ingest match incoming people with
// it (and keep it current). Nil when linkage is off.
func buildLinkIndex(ctx context.Context, e *env, cfg config, db *sqlstore.DB, log *slog.Logger) (*linkage.Index, error) {
	if cfg.noLinkage {
		log.Info("record linkage off: incoming people are found by source id or verified NHS number only")
		return nil, nil
	}
	start := time.Now()
	m, err := linkage.DefaultModel()
	if err != nil {
		return nil, err
	}
	ix, err := linkage.NewIndex(m, linkage.Config{})
	if err != nil {
		return nil, err
	}
	n, err := db.PeopleCount(ctx)
	if err != nil {
		return nil, err
	}
	var bar *progressBar
	if n >= progressFrom {
		bar = newProgressBar(e.stderr, "indexing the registry for linkage", "people", time.Now)
		bar.Set(0, n)
	}
	done := 0
	err = db.EachPerson(ctx, func(p registry.Person) error {
		if err := ix.PutPerson(p); err != nil {
			return err
		}
		if done++; bar != nil && done%10_000 == 0 {
			bar.Set(done, max(n, done))
		}
		return nil
	})
	if bar != nil {
		bar.Set(done, max(n, done))
		bar.Finish()
	}
	if err != nil {
		return nil, err
	}
	ix.Calibrate()
	db.SetMatcher(ix)
	log.Info("record linkage index built", "people", ix.Len(), "candidates_per_record", ix.CandidatesPerRecord(),
		"seconds", time.Since(start).Round(time.Millisecond).Seconds())
	return ix, nil
}
