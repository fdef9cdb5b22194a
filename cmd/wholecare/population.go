package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/population"
)

// populationHolder builds the population engine from the store in the
// background, so the server answers at once, and hands it out when ready.
// It is not yet kept current from change events: a restart rebuilds it.
type populationHolder struct {
	mu    sync.Mutex
	eng   *population.Engine
	done  int
	err   error
	ready bool
}

func buildPopulation(ctx context.Context, src population.Source, log *slog.Logger, now func() time.Time) *populationHolder {
	h := &populationHolder{}
	go func() {
		start := time.Now()
		set, err := codes.Load()
		var eng *population.Engine
		if err == nil {
			eng, err = population.Build(ctx, src, set, now(), func(done int) {
				h.mu.Lock()
				h.done = done
				h.mu.Unlock()
			})
		}
		h.mu.Lock()
		h.eng, h.err, h.ready = eng, err, true
		h.mu.Unlock()
		if err != nil {
			log.Error("population engine not built", "err", err)
			return
		}
		st := eng.Stats()
		log.Info("population engine built", "people", st.People, "bytes", st.Bytes(), "took_ms", time.Since(start).Milliseconds())
	}()
	return h
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
