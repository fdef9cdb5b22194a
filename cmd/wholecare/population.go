package main

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/population"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/risk"
	"github.com/wholecare/wholecare/internal/riskmodel"
	"github.com/wholecare/wholecare/internal/sqlstore"
)

// populationHolder builds the population engine from the store in the
// background, so the server answers at once, hands it out when ready, and
// then keeps it current from the store's outbox of change events.
type populationHolder struct {
	mu      sync.Mutex
	eng     *population.Engine
	done    int
	err     error
	ready   bool
	applied int64 // the last outbox event the engine reflects
}

// populationStore is what the holder reads: whole people with the records
// merged into them, and the outbox events that say whose record changed
// (a merge or unmerge names every member of the cluster).
type populationStore interface {
	ClusterBatch(ctx context.Context, after int64, n int) (*record.Batch, error)
	OutboxHead(ctx context.Context) (int64, error)
	ChangesAfter(ctx context.Context, after int64, limit int) ([]sqlstore.Change, error)
}

// clusters is the engine's source: a person merged into another is read as
// part of them, so the engine counts everyone once. Refreshing a retired
// record finds it gone and removes it.
type clusters struct{ populationStore }

func (c clusters) RecordBatch(ctx context.Context, after int64, n int) (*record.Batch, error) {
	return c.ClusterBatch(ctx, after, n)
}

// How often the holder looks for change events, and the longest it waits
// after a failure. Ingest commits are visible to the engine within about
// one followEvery.
const (
	followEvery   = 200 * time.Millisecond
	followBackoff = 10 * time.Second
)

// riskModelFlag names the model the engine scores people with.
func (c *config) riskModelFlag(fs *flag.FlagSet) {
	fs.StringVar(&c.riskModel, "risk-model", c.riskModel,
		"a model saved by wholecare risk train: the population engine scores everyone's 12-month emergency admission risk with it, for case finding and the risk band")
}

// loadRiskModel reads the model file named by --risk-model, checked
// against this build's features; no option when none is named.
func loadRiskModel(cfg config) ([]population.Option, error) {
	if cfg.riskModel == "" {
		return nil, nil
	}
	set, err := codes.Load()
	if err != nil {
		return nil, err
	}
	sc, err := risk.New(set)
	if err != nil {
		return nil, err
	}
	fb, err := riskmodel.NewBuilder(set, sc)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(cfg.riskModel)
	if err != nil {
		return nil, apperr.Wrap(apperr.Invalid, err, "--risk-model")
	}
	defer f.Close()
	m, err := riskmodel.Load(f, fb)
	if err != nil {
		return nil, apperr.Wrap(apperr.Invalid, err, "--risk-model "+cfg.riskModel)
	}
	return []population.Option{population.WithRiskModel(m, fb)}, nil
}

func buildPopulation(ctx context.Context, src populationStore, log *slog.Logger, now func() time.Time, opts ...population.Option) *populationHolder {
	h := &populationHolder{}
	go func() {
		start := time.Now()
		// The head is read before the build so that whatever commits
		// while it runs is replayed afterwards; replaying is harmless.
		head, err := src.OutboxHead(ctx)
		if err != nil {
			h.fail(log, err)
			return
		}
		set, err := codes.Load()
		var eng *population.Engine
		if err == nil {
			eng, err = population.Build(ctx, clusters{src}, set, now(), func(done int) {
				h.mu.Lock()
				h.done = done
				h.mu.Unlock()
			}, opts...)
		}
		if err != nil {
			h.fail(log, err)
			return
		}
		// Updates place people in segments as of the day they arrive.
		eng.SetClock(now)
		h.mu.Lock()
		h.eng, h.ready, h.applied = eng, true, head
		h.mu.Unlock()
		st := eng.Stats()
		log.Info("population engine built", "people", st.People, "bytes", st.Bytes(), "took_ms", time.Since(start).Milliseconds())
		h.follow(ctx, src, eng, head, log)
	}()
	return h
}

func (h *populationHolder) fail(log *slog.Logger, err error) {
	h.mu.Lock()
	h.err, h.ready = err, true
	h.mu.Unlock()
	log.Error("population engine not built", "err", err)
}

// follow applies outbox events after seq to eng until ctx ends: the people
// an event names are re-read from the store. An event is passed only once
// it has been applied; after a failure the same events are tried again,
// waiting longer each time.
func (h *populationHolder) follow(ctx context.Context, src populationStore, eng *population.Engine, seq int64, log *slog.Logger) {
	wait := followEvery
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		next, err := applyChanges(ctx, src, eng, seq)
		if next != seq {
			seq = next
			h.mu.Lock()
			h.applied = seq
			h.mu.Unlock()
		}
		if err != nil && ctx.Err() == nil {
			wait = min(2*wait, followBackoff)
			log.Warn("population engine is behind the store; retrying", "after_event", seq, "err", err, "retry_in", wait.String())
			continue
		}
		wait = followEvery
	}
}

// applyChanges applies the outbox events after seq, a page at a time, and
// returns the last one applied.
func applyChanges(ctx context.Context, src populationStore, eng *population.Engine, seq int64) (int64, error) {
	for {
		cs, err := src.ChangesAfter(ctx, seq, 500)
		if err != nil || len(cs) == 0 {
			return seq, err
		}
		for _, c := range cs {
			if c.Last != 0 {
				if err := eng.Reload(ctx, clusters{src}, c.First, c.Last); err != nil {
					return seq, err
				}
			}
			if len(c.People) > 0 {
				if err := eng.Refresh(ctx, clusters{src}, c.People...); err != nil {
					return seq, err
				}
			}
			seq = c.Seq
		}
	}
}

// Applied returns the last outbox event the engine reflects.
func (h *populationHolder) Applied() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.applied
}

// Engine returns the engine, or why it is not there yet.
func (h *populationHolder) Engine() (*population.Engine, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case !h.ready:
		return nil, apperr.Ef(apperr.Unavailable, "the population engine is still loading (%d people so far): try again shortly", h.done)
	case h.err != nil:
		return nil, apperr.Wrap(apperr.Unavailable, h.err, "the population engine could not be built")
	}
	return h.eng, nil
}
