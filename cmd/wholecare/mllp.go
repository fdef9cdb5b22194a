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
func serveMLLP(ctx context.Context, e *env, db *sqlstore.DB, reg *metrics.Registry, ln net.Listener, log *slog.Logger) error {
	f := feed.New(db, ingest.New(db), time.Now, log)
	if n, err := f.Recover(ctx); err != nil {
		ln.Close()
		return err
	} else if n > 0 {
		log.Info("hl7v2 messages replayed after a restart", "count", n)
	}
	msgs := reg.NewCounter("wholecare_hl7v2_messages_total", "HL7 v2 messages acknowledged.")
	problems := reg.NewCounter("wholecare_hl7v2_problems_total", "MLLP connection problems by kind (oversize frames, garbage, timeouts).", "kind")
	srv := &mllp.Server{
		Handler: func(ctx context.Context, msg []byte) []byte { return f.Handle(ctx, mllp.Peer(ctx), msg) },
		Log:     log,
		Hooks: mllp.Hooks{
			Message: func(int, time.Duration) { msgs.Inc() },
			Problem: func(kind string) { problems.Inc(kind) },
		},
	}
	log.Info("receiving HL7 v2", "addr", ln.Addr().String())
	fmt.Fprintf(e.stdout, "HL7 v2 (MLLP) listening on %s\n", ln.Addr())
	return srv.Serve(ctx, ln)
}
