package population

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/risk"
	"github.com/wholecare/wholecare/internal/segment"
)

// putMarks writes row r's marks: at the end of the base segment during
// Build; on an update over the person's old marks when they fit, else at
// the end of the update segment, so that the base never grows after
// Build. Call with e.mu held.
func (e *Engine) putMarks(r int, ms []risk.Mark, update, existing bool) {
	if !update {
		e.mstart[r] = uint32(len(e.marks.base))
		e.marks.base = append(e.marks.base, ms...)
		e.mend[r] = uint32(len(e.marks.base))
		return
	}
	if existing {
		old := e.marksOf(r)
		e.mwasted += len(old)
		if len(ms) <= len(old) {
			copy(old, ms)
			e.mend[r] = (e.mstart[r] &^ inExtra) + uint32(len(ms))
			e.mwasted -= len(ms)
			return
		}
	}
	e.mstart[r] = uint32(len(e.marks.extra)) | inExtra
	e.marks.extra = append(e.marks.extra, ms...)
	e.mend[r] = uint32(len(e.marks.extra))
}

// setPlacement writes row r's scores and segments. Call with e.mu held
// for writing.
func (e *Engine) setPlacement(r int, p placement) {
	k, _ := segment.Rule(segment.KaiserScheme, p.rules.Kaiser)
	b, _ := segment.Rule(segment.BridgesScheme, p.rules.Bridges)
	g, _ := segment.Rule(segment.NWLScheme, p.rules.NWL)
	e.kaiser[r], e.bridges[r], e.nwl[r] = k+1, b, g
	e.krule[r], e.brule[r], e.grule[r] = p.rules.Kaiser, p.rules.Bridges, p.rules.NWL
	e.efi[r], e.cci[r] = p.efi, p.cci
	e.score[r], e.prev[r] = p.score, p.prev
	if e.model != nil {
		e.risk[r] = RiskBandOf(p.score)
	}
}

// recomputeChunk is how many people a Recompute worker places under one
// read lock: a few milliseconds, so that an update never waits longer.
const recomputeChunk = 2048

// Recompute recomputes everyone's eFI, Charlson index, segments and, with
// a risk model, risk scores (now and a month before) and risk band, as of
// now, from the engine's own marks: no store read. It runs on every core
// (GOMAXPROCS), holding the read lock a chunk of people at a time, into
// new columns that it publishes at once under the write lock, so readers
// see everyone as before or everyone as after, never a mix or a
// half-updated person. People updated or removed while it runs are
// placed again as of now before it publishes. progress, when not nil, is
// called now and then with the number of people done. ctx is checked
// between chunks; a cancelled Recompute changes nothing.
func (e *Engine) Recompute(ctx context.Context, now time.Time, progress func(done int)) error {
	if now.IsZero() {
		return apperr.E(apperr.Invalid, "population: recompute needs a day")
	}
	e.mu.Lock()
	if e.recomputing {
		e.mu.Unlock()
		return apperr.E(apperr.Conflict, "population: a recompute is already running")
	}
	e.recomputing, e.touched = true, e.touched[:0]
	n := len(e.id)
	e.mu.Unlock()
	done := func() {
		e.recomputing, e.touched = false, nil
	}

	out := make([]placement, n)
	var next, finished atomic.Int64
	var mu sync.Mutex // progress and firstErr
	var firstErr error
	var wg sync.WaitGroup
	for range max(1, min(runtime.GOMAXPROCS(0), (n+recomputeChunk-1)/recomputeChunk)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pl := e.newPlacer()
			for {
				lo := int(next.Add(recomputeChunk)) - recomputeChunk
				if lo >= n {
					return
				}
				if err := ctx.Err(); err != nil {
					mu.Lock()
					firstErr = cmpErr(firstErr, apperr.Wrap(apperr.Unavailable, err, "population: recompute stopped"))
					mu.Unlock()
					return
				}
				hi := min(lo+recomputeChunk, n)
				e.mu.RLock()
				err := e.placeRows(pl, out, lo, hi, now)
				e.mu.RUnlock()
				d := finished.Add(int64(hi - lo))
				mu.Lock()
				if err != nil {
					firstErr = cmpErr(firstErr, err)
				} else if progress != nil {
					progress(int(d))
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
	}
	wg.Wait()

	e.mu.Lock()
	defer e.mu.Unlock()
	defer done()
	if firstErr != nil {
		return firstErr
	}
	// People put or removed meanwhile, and those added, placed again.
	pl := e.newPlacer()
	for _, r := range e.touched {
		if int(r) < n {
			if err := e.placeRows(pl, out, int(r), int(r)+1, now); err != nil {
				return err
			}
		}
	}
	if len(e.id) > n {
		out = append(out, make([]placement, len(e.id)-n)...)
		if err := e.placeRows(pl, out, n, len(e.id), now); err != nil {
			return err
		}
	}
	for r := range out {
		if e.live.Has(r) {
			e.setPlacement(r, out[r])
		}
	}
	return nil
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// placeRows places rows [lo, hi) into out. Call with e.mu held.
func (e *Engine) placeRows(pl *placer, out []placement, lo, hi int, now time.Time) error {
	for r := lo; r < hi; r++ {
		if !e.live.Has(r) {
			continue
		}
		p := e.personAt(r)
		x, err := pl.place(&p, e.marksOf(r), now)
		if err != nil {
			return err
		}
		out[r] = x
	}
	return nil
}

// Scores is one person's scores and segments as last computed.
type Scores struct {
	EFIDeficits int // eFI = EFIDeficits / 36
	Charlson    int // 1987 weights, no age points
	Rules       segment.Rules
	Risk, Prev  float32 // NaN when not scored
}

// ScoresOf returns a person's scores; false when the engine does not hold
// them.
func (e *Engine) ScoresOf(id int64) (Scores, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	r, ok := e.rows[id]
	if !ok || !e.live.Has(int(r)) {
		return Scores{}, false
	}
	return Scores{EFIDeficits: int(e.efi[r]), Charlson: int(e.cci[r]),
		Rules: segment.Rules{Kaiser: e.krule[r], Bridges: e.brule[r], NWL: e.grule[r]},
		Risk:  e.score[r], Prev: e.prev[r]}, true
}

// Placements calls fn with the segment placements (from day) of every
// person alive on day, by ascending person id, at most batch people at a
// time, as last computed (Recompute on the same day first). fn runs
// without the engine's lock held.
func (e *Engine) Placements(day time.Time, batch int, fn func(ps []segment.Placement) error) error {
	if batch <= 0 {
		batch = BuildBatch
	}
	d := dayOf(day)
	e.mu.RLock()
	rows := make([]int32, 0, len(e.id))
	for r := range e.id {
		if e.live.Has(r) && (e.death[r] == noDay || e.death[r] > d) {
			rows = append(rows, int32(r))
		}
	}
	slices.SortFunc(rows, func(a, b int32) int {
		switch x, y := e.id[a], e.id[b]; {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	})
	e.mu.RUnlock()
	ps := make([]segment.Placement, 0, 3*batch)
	for lo := 0; lo < len(rows); lo += batch {
		ps = ps[:0]
		e.mu.RLock()
		for _, r := range rows[lo:min(lo+batch, len(rows))] {
			if !e.live.Has(int(r)) {
				continue
			}
			ps = append(ps, segment.PlaceRules(e.id[r], segment.Rules{Kaiser: e.krule[r], Bridges: e.brule[r], NWL: e.grule[r]}, day)...)
		}
		e.mu.RUnlock()
		if err := fn(ps); err != nil {
			return err
		}
	}
	return nil
}
