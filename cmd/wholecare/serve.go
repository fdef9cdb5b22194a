package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/audit"
	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/auth/oidc"
	"github.com/wholecare/wholecare/internal/caregaps"
	"github.com/wholecare/wholecare/internal/careplan"
	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/fhir/rest"
	"github.com/wholecare/wholecare/internal/httpapi"
	"github.com/wholecare/wholecare/internal/ingest"
	"github.com/wholecare/wholecare/internal/jobs"
	"github.com/wholecare/wholecare/internal/metrics"
	"github.com/wholecare/wholecare/internal/population"
	"github.com/wholecare/wholecare/internal/risk"
	"github.com/wholecare/wholecare/internal/rules"
	"github.com/wholecare/wholecare/internal/sqlstore"
	"github.com/wholecare/wholecare/internal/summary"
	"github.com/wholecare/wholecare/internal/web"
)

func runServe(ctx context.Context, e *env, args []string) error {
	cfg := defaultConfig(e.getenv)
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg.dbFlag(fs)
	cfg.addrFlag(fs)
	cfg.mllpFlag(fs)
	cfg.linkageFlag(fs)
	cfg.riskModelFlag(fs)
	cfg.trustFlags(fs)
	cfg.logFlags(fs)
	if err := parseFlags(fs, e, args, "[--db DSN] [--addr HOST:PORT] [--mllp-addr HOST:PORT]"); err != nil {
		return err
	}
	if err := cfg.validAddr(); err != nil {
		return err
	}
	if err := cfg.validTrust(); err != nil {
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
	return serveHTTP(ctx, e, cfg, db, log)
}

// openMigrated opens the database and applies pending migrations.
func openMigrated(ctx context.Context, cfg config, log *slog.Logger) (*sqlstore.DB, error) {
	if err := cfg.validDB(); err != nil {
		return nil, err
	}
	db, err := sqlstore.Open(ctx, cfg.db, log)
	if err != nil {
		return nil, err
	}
	applied, err := db.Migrate(ctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	if len(applied) > 0 {
		log.Info("migrations applied", "count", len(applied), "last", applied[len(applied)-1])
	}
	return db, nil
}

// listen opens the listening socket, with an error that says what to do
// when the port is taken.
func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("address %s is already in use: stop what is using it or choose another with --addr", addr)
		}
		return nil, fmt.Errorf("cannot listen on %s: %w", addr, err)
	}
	return ln, nil
}

// serveHTTP serves until ctx is cancelled, then shuts down gracefully:
// requests in flight get up to 15 seconds to finish.
func serveHTTP(ctx context.Context, e *env, cfg config, db *sqlstore.DB, log *slog.Logger) error {
	ln, err := listen(cfg.addr)
	if err != nil {
		return err
	}
	reg := metrics.New(time.Now())
	counts := newCountCache(db, log)
	counts.get(ctx) // start the first count now, so the first scrape has numbers
	for _, table := range []string{"people", "conditions", "observations", "encounters"} {
		reg.GaugeFunc("wholecare_store_rows_"+table, "Rows in the "+table+" table (refreshed every minute).",
			func() float64 { return float64(counts.get(ctx)[table]) })
	}
	auditLog := audit.NewWriter(db, log, time.Now)
	defer auditLog.Close()
	policy := access.New(db, auditLog, access.Config{Model: access.ConsentModel(cfg.consentModel)}, log, time.Now)
	tls := cfg.tlsCert != ""
	exportDir := cfg.exportDir
	if exportDir == "" {
		exportDir = filepath.Join(os.TempDir(), "wholecare-exports")
	}
	index, err := buildLinkIndex(ctx, e, cfg, db, log)
	if err != nil {
		ln.Close()
		return err
	}
	set, err := codes.Load()
	if err != nil {
		ln.Close()
		return err
	}
	catalog, err := openProtocols(ctx, db, set)
	if err != nil {
		ln.Close()
		return err
	}
	gaps, err := caregaps.Compile(caregaps.Indicators, func(text string) (population.Expr, error) { return population.Parse(text, set) }, set)
	if err != nil {
		ln.Close()
		return err
	}
	riskOpts, err := loadRiskModel(cfg)
	if err != nil {
		ln.Close()
		return err
	}
	pop := buildPopulation(ctx, db, log, time.Now, riskOpts...)
	plans := careplan.NewService(db, time.Now)
	ruleSet, err := rules.Shipped(func(text string) error { _, err := population.Parse(text, set); return err })
	if err != nil {
		ln.Close()
		return err
	}
	runner := rules.NewRunner(ruleSet, db, db)
	ruleSrc := rules.EngineSource{Engine: pop.Engine, Gaps: gaps, Plans: func(ctx context.Context, now time.Time) ([]rules.Overdue, error) {
		return db.OverduePlans(ctx, now, rules.MaxDaily)
	}}
	fhirDeps := rest.Deps{Store: db, Guard: policy.Guard(), Ingest: ingest.New(db), Log: log, Now: time.Now,
		Base: rest.Prefix, ExportDir: exportDir, Protocols: catalog, Codes: set, CareGaps: gaps, Population: pop, CarePlans: plans, PlanWriter: plans,
		Scores: db, Cohorts: db, Alerts: db}
	if index != nil {
		fhirDeps.Matcher = index
	}
	fhirAPI := rest.New(fhirDeps)
	defer fhirAPI.Close()
	summaries, err := summary.NewService(db, set)
	if err != nil {
		ln.Close()
		return err
	}
	pages, err := web.New(web.Options{DevDir: cfg.webDev})
	if err != nil {
		ln.Close()
		return err
	}
	deps := httpapi.Deps{Log: log, Store: db, Web: pages, People: db, Metrics: reg, Version: buildVersion(), Summaries: summaries,
		Auth: auth.NewService(db, auth.Config{}, time.Now), Policy: policy, Data: db, Audit: db, FHIR: fhirAPI, TLS: tls, Now: time.Now,
		Registry: db, Reviews: db, Merger: db, Population: pop,
		Protocols: catalog, Records: db, Codes: set, CareGaps: gaps, CarePlans: plans, Cohorts: db, Scores: db,
		Alerts: db, Rules: rules.Service{Runner: runner, Source: ruleSrc}, Huddles: db, Directory: db}
	// Long work started from the pages (recompute, import) runs one job
	// at a time; closing the runner cancels what is still running.
	jobRunner := jobs.New(jobs.Options{Keep: 50, Parallel: 1})
	defer jobRunner.Close()
	deps.Jobs, deps.Ingest, deps.Users = jobRunner, ingest.New(db), db
	scorer, err := risk.New(set)
	if err != nil {
		ln.Close()
		return err
	}
	go (&ruleWorker{db: db, pop: pop, runner: runner, src: ruleSrc, scorer: scorer, log: log, now: time.Now}).run(ctx)
	if cfg.oidcIssuer != "" {
		prov, err := oidc.Discover(ctx, oidc.Config{Issuer: cfg.oidcIssuer, ClientID: cfg.oidcClientID,
			ClientSecret: cfg.oidcClientSecret, RedirectURL: cfg.oidcRedirect})
		if err != nil {
			ln.Close()
			return fmt.Errorf("OpenID Connect: %w", err)
		}
		deps.OIDC, deps.OIDCUsers = prov, db
	}
	api := httpapi.New(deps)
	srv := &http.Server{
		Handler:           api,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 2)
	var mllpDone chan struct{}
	if cfg.mllpAddr != "" {
		mln, err := listen(cfg.mllpAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("HL7 v2 listener: %w", err)
		}
		mllpDone = make(chan struct{})
		go func() {
			defer close(mllpDone)
			if err := serveMLLP(ctx, e, db, reg, mln, cfg.mllpSenders, log); err != nil {
				errc <- fmt.Errorf("HL7 v2 listener: %w", err)
			}
		}()
	}
	scheme := "http"
	if tls {
		scheme = "https"
		go func() { errc <- srv.ServeTLS(ln, cfg.tlsCert, cfg.tlsKey) }()
	} else {
		go func() { errc <- srv.Serve(ln) }()
	}
	log.Info("serving", "addr", ln.Addr().String(), "version", buildVersion(), "dialect", db.Dialect(), "tls", tls)
	fmt.Fprintf(e.stdout, "Wholecare is serving on %s://%s (Ctrl-C to stop)\n", scheme, ln.Addr())

	select {
	case err := <-errc:
		return fmt.Errorf("server stopped: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	if mllpDone != nil {
		<-mllpDone
	}
	log.Info("stopped")
	return nil
}

// countCache keeps table row counts for /metrics, refreshed at most once a
// minute, so a scrape never waits on a count of a large table.
type countCache struct {
	mu      sync.Mutex
	db      *sqlstore.DB
	log     *slog.Logger
	at      time.Time
	counts  map[string]int64
	running bool
}

func newCountCache(db *sqlstore.DB, log *slog.Logger) *countCache {
	return &countCache{db: db, log: log, counts: map[string]int64{}}
}

func (c *countCache) get(ctx context.Context) map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.at) > time.Minute && !c.running {
		c.running = true
		go func() {
			counts, err := c.db.Counts(ctx)
			c.mu.Lock()
			defer c.mu.Unlock()
			c.running = false
			c.at = time.Now()
			if err != nil {
				c.log.Warn("counting rows", "err", err)
				return
			}
			c.counts = counts
		}()
	}
	return c.counts
}
