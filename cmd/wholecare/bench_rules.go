package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"runtime"
	"text/tabwriter"
	"time"

	"github.com/wholecare/wholecare/internal/caregaps"
	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/population"
	"github.com/wholecare/wholecare/internal/rules"
)

// benchRules times the daily run of every scheduled rule and care gap
// over the population a store holds: the population engine built from the
// store, then two daily runs that evaluate and raise alerts (the second
// finds them all raised already), rule by rule.
func benchRules(ctx context.Context, e *env, args []string) error {
	cfg := defaultConfig(e.getenv)
	fs := flag.NewFlagSet("bench rules", flag.ContinueOnError)
	cfg.dbFlag(fs)
	cfg.riskModelFlag(fs)
	asOf := fs.String("as-of", "", "the day of the run, YYYY-MM-DD (default today)")
	if err := parseFlags(fs, e, args, "[--db DSN] [--risk-model F] [--as-of YYYY-MM-DD]"); err != nil {
		return err
	}
	now := time.Now().UTC()
	if *asOf != "" {
		d, err := parseDay("as-of", *asOf)
		if err != nil {
			return err
		}
		now = d.Add(12 * time.Hour)
	}
	log := slog.New(slog.DiscardHandler)
	db, err := openMigrated(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	set, err := codes.Load()
	if err != nil {
		return err
	}
	opts, err := loadRiskModel(cfg)
	if err != nil {
		return err
	}
	t0 := time.Now()
	eng, err := population.Build(ctx, clusters{db}, set, now, nil, opts...)
	if err != nil {
		return err
	}
	built := time.Since(t0)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(e.stdout, "population engine: %d people built from the store in %v (heap %d MiB)\n\n", eng.Stats().People, built.Round(time.Millisecond), ms.HeapAlloc>>20)
	gaps, err := caregaps.Compile(caregaps.Indicators, func(text string) (population.Expr, error) { return population.Parse(text, set) }, set)
	if err != nil {
		return err
	}
	rs, err := rules.Shipped(func(text string) error { _, err := population.Parse(text, set); return err })
	if err != nil {
		return err
	}
	src := rules.EngineSource{Engine: func() (*population.Engine, error) { return eng, nil }, Gaps: gaps,
		Plans: func(ctx context.Context, now time.Time) ([]rules.Overdue, error) {
			return db.OverduePlans(ctx, now, rules.MaxDaily)
		}}
	for run := 1; run <= 2; run++ {
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "run %d: rule\tcandidates\traised\townerless\ttime\t\n", run)
		start := time.Now()
		for _, r := range rs {
			if r.Trigger != rules.Daily || !r.Enabled {
				continue
			}
			one := rules.NewRunner([]*rules.Rule{r}, db, db)
			t := time.Now()
			res, err := one.Daily(ctx, src, now)
			if err != nil {
				return err
			}
			for _, x := range res {
				fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%v\t\n", x.Rule, x.Candidates, x.Raised, x.Ownerless, time.Since(t).Round(time.Millisecond))
			}
		}
		fmt.Fprintf(tw, "all daily rules\t\t\t\t%v\t\n", time.Since(start).Round(time.Millisecond))
		tw.Flush()
		fmt.Fprintln(e.stdout)
	}
	return nil
}
