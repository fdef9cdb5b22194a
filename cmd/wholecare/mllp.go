package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/wholecare/wholecare/internal/hl7v2/feed"
	"github.com/wholecare/wholecare/internal/hl7v2/mllp"
	"github.com/wholecare/wholecare/internal/ingest"
	"github.com/wholecare/wholecare/internal/metrics"
	"github.com/wholecare/wholecare/internal/sqlstore"
)

// serveMLLP receives HL7 v2 ADT on ln until ctx ends. Messages a crash left
// logged but unapplied are replayed first.
func serveMLLP(ctx context.Context, e *env, db *sqlstore.DB, reg *metrics.Registry, ln net.Listener, senders []mllpSender, log *slog.Logger) error {
	f := newFeed(db, log)
	if n, err := f.Recover(ctx); err != nil {
		ln.Close()
		return err
	} else if n > 0 {
		log.Info("hl7v2 messages replayed after a restart", "count", n)
	}
	srv := newMLLPServer(f, reg, log)
	srv.Identify = identifySenders(db, senders)
	log.Info("receiving HL7 v2", "addr", ln.Addr().String())
	fmt.Fprintf(e.stdout, "HL7 v2 (MLLP) listening on %s\n", ln.Addr())
	return srv.Serve(ctx, ln)
}

// newFeed is the HL7 v2 feed over db, as serve, messages replay and bench
// adt run it. SQLite writes one transaction at a time, so one batch
// commits at a time; PostgreSQL overlaps a few, each waiting on round
// trips and its commit's flush, as the bench found best.
func newFeed(db *sqlstore.DB, log *slog.Logger) *feed.Feed {
	opts := feed.Options{Committers: 1}
	if db.Dialect() == "postgres" {
		opts.Committers = 4
	}
	return feed.New(db, ingest.New(db), time.Now, log, opts)
}

// newMLLPServer answers MLLP connections with f, counting into reg.
func newMLLPServer(f *feed.Feed, reg *metrics.Registry, log *slog.Logger) *mllp.Server {
	msgs := reg.NewCounter("wholecare_hl7v2_messages_total", "HL7 v2 messages acknowledged.")
	problems := reg.NewCounter("wholecare_hl7v2_problems_total", "MLLP connection problems by kind (oversize frames, garbage, timeouts).", "kind")
	return &mllp.Server{
		Handler: func(ctx context.Context, msg []byte) []byte { return f.Handle(ctx, mllp.Peer(ctx), msg) },
		Log:     log,
		Hooks: mllp.Hooks{
			Message: func(int, time.Duration) { msgs.Inc() },
			Problem: func(kind string) { problems.Inc(kind) },
		},
	}
}
