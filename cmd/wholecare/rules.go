package main

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/population"
	"github.com/wholecare/wholecare/internal/risk"
	"github.com/wholecare/wholecare/internal/rules"
	"github.com/wholecare/wholecare/internal/sqlstore"
)

// How the rules worker paces itself.
const (
	rulesEvery = 100 * time.Millisecond // how often the outbox is read
	sweepEvery = time.Minute            // snoozes ending, escalations
	dailyEvery = 24 * time.Hour
)

// frailtyBands are the eFI bands, least frail first.
var frailtyBands = []risk.FrailtyBand{risk.Fit, risk.MildFrailty, risk.ModerateFrailty, risk.SevereFrailty}

// ruleWorker runs the rules: event rules for the people each outbox
// event names, once the population engine reflects the event; the daily
// rules when the engine is first ready and every day after; and the
// time-driven alert moves (snoozes ending, escalation) every minute.
type ruleWorker struct {
	db     *sqlstore.DB
	pop    *populationHolder
	runner *rules.Runner
	src    rules.EngineSource
	scorer *risk.Scorer
	log    *slog.Logger
	now    func() time.Time
}

func (w *ruleWorker) run(ctx context.Context) {
	seq, err := w.db.OutboxHead(ctx)
	if err != nil {
		w.log.Error("rules: cannot read the outbox", "err", err)
		return
	}
	tick := time.NewTicker(rulesEvery)
	defer tick.Stop()
	var lastDaily, lastSweep time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if _, err := w.pop.Engine(); err != nil {
			continue // cohort conditions need the engine
		}
		if next, err := w.events(ctx, seq); err != nil {
			if ctx.Err() == nil {
				w.log.Warn("rules: event rules will be retried", "after_event", next, "err", err)
			}
			seq = next
		} else {
			seq = next
		}
		now := w.now()
		if now.Sub(lastSweep) >= sweepEvery {
			lastSweep = now
			if woken, escalated, err := w.db.SweepAlerts(ctx, now); err != nil {
				w.log.Warn("rules: alert sweep failed", "err", err)
			} else if woken+escalated > 0 {
				w.log.Info("rules: alerts swept", "woken", woken, "escalated", escalated)
			}
		}
		if now.Sub(lastDaily) >= dailyEvery {
			lastDaily = now
			start := time.Now()
			res, err := w.runner.Daily(ctx, w.src, now)
			if err != nil {
				w.log.Warn("rules: daily run failed", "err", err)
				continue
			}
			for _, r := range res {
				w.log.Info("rules: daily rule run", "rule", r.Rule, "candidates", r.Candidates, "raised", r.Raised, "ownerless", r.Ownerless)
			}
			w.log.Info("rules: daily run done", "took_ms", time.Since(start).Milliseconds())
		}
	}
}

// events applies the event rules to the people named by the outbox
// events after seq that the engine already reflects, and returns the
// last event done. Range events (a generated or replaced population) are
// left to the daily run.
func (w *ruleWorker) events(ctx context.Context, seq int64) (int64, error) {
	applied := w.pop.Applied()
	for seq < applied {
		cs, err := w.db.ChangesAfter(ctx, seq, 500)
		if err != nil || len(cs) == 0 {
			return seq, err
		}
		eng, err := w.pop.Engine()
		if err != nil {
			return seq, err
		}
		now := w.now()
		for _, c := range cs {
			if c.Seq > applied {
				return seq, nil
			}
			for _, id := range c.People {
				if err := w.person(ctx, eng, id, now); err != nil && !apperr.Is(err, apperr.NotFound) {
					return seq, err
				}
			}
			seq = c.Seq
		}
	}
	return seq, nil
}

func (w *ruleWorker) person(ctx context.Context, eng *population.Engine, id int64, now time.Time) error {
	b, err := w.db.ClusterBatch(ctx, id-1, 1)
	if err != nil {
		return err
	}
	if len(b.People) == 0 || b.People[0].ID != id {
		return nil // merged into someone else: their survivor's event covers them
	}
	_, coordinator, err := w.db.AlertOwner(ctx, id)
	if err != nil {
		return err
	}
	p := rules.Person{ID: id, Record: b, ActivePlan: coordinator != 0, InCohort: func(text string) (bool, error) {
		x, err := eng.Parse(text)
		if err != nil {
			return false, err
		}
		return eng.Member(x, id, now)
	}}
	if w.scorer != nil {
		rec := risk.Records(b)[0]
		p.Frailty = func(at time.Time) (int, string, int, error) {
			e, err := w.scorer.EFI(&rec, at)
			if err != nil {
				return 0, "", 0, err
			}
			return slices.Index(frailtyBands, e.Band), string(e.Band), e.Count, nil
		}
	}
	raised, err := w.runner.Person(ctx, p, now)
	if len(raised) > 0 {
		w.log.Info("rules: alerts raised", "count", len(raised))
	}
	return err
}
