package population

import (
	"context"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/registry"
	"github.com/wholecare/wholecare/internal/risk"
	"github.com/wholecare/wholecare/internal/riskmodel"
	"github.com/wholecare/wholecare/internal/segment"
)

// Source is what the engine reads from the store: whole people with all
// their rows, walked by ascending person id. sqlstore.DB implements it.
// An empty batch means there are no more people.
type Source interface {
	RecordBatch(ctx context.Context, after int64, n int) (*record.Batch, error)
}

// BuildBatch is the number of people Build asks the source for at a time.
const BuildBatch = 5000

// Sex codes in the sex column.
const (
	sexUnknown uint8 = iota
	sexFemale
	sexMale
	sexOther
)

func sexCode(s registry.Sex) uint8 {
	switch s {
	case registry.Female:
		return sexFemale
	case registry.Male:
		return sexMale
	case registry.Other:
		return sexOther
	}
	return sexUnknown
}

var sexNames = [...]registry.Sex{sexUnknown: registry.Unknown, sexFemale: registry.Female, sexMale: registry.Male, sexOther: registry.Other}

// events is a structure-of-arrays event store: 10 bytes an event.
type events struct {
	concept []uint16
	day     []int32
	val     []float32 // NaN when the event has no numeric value
}

func (s *events) len() int { return len(s.concept) }

// trim gives back the spare capacity append left behind, when it is worth
// a copy.
func (s *events) trim() {
	if n := len(s.concept); cap(s.concept)-n > n/16 {
		s.concept = slices.Clone(s.concept)
		s.day = slices.Clone(s.day)
		s.val = slices.Clone(s.val)
	}
}

// inExtra marks a person's start offset as pointing into the update
// segment rather than the base segment written by Build.
const inExtra = 1 << 31

// Engine is the population engine. All methods are safe for concurrent
// use. Readers (Eval, Count, Breakdown, Stats) hold a read lock for the
// whole evaluation and Update/Remove/Set* hold the write lock while they
// change a person, so a reader never sees a half-updated person; an update
// waits at most for the evaluations already running (tens of
// milliseconds) and evaluations wait for an update (microseconds).
// Recompute reads under the read lock a chunk of people at a time and
// publishes everyone's new scores and segments at once under the write
// lock.
type Engine struct {
	seg     *segment.Reader
	model   *riskmodel.Model   // nil: no risk scores
	feats   *riskmodel.Builder // the features model reads
	clock   func() time.Time   // the day segments are computed on; see SetClock
	codes   *codes.Set
	cat     catalog
	builtAt time.Time

	mu sync.RWMutex

	rows     map[int64]int32 // person id → row
	id       []int64
	birth    []int32 // day; noDay when unknown
	death    []int32 // day; noDay when alive
	sex      []uint8
	practice []uint16 // index into practices; 0 is "not registered"
	imd      []uint8  // 1..10, 0 unknown
	// Segments, computed from the record whenever a person is put: the
	// Kaiser level plus one (so that 0 stays "unknown"), the Bridges to
	// Health segment and the NW London group (both 1-based already).
	kaiser, bridges, nwl []uint8
	// rules holds, by scheme, the index of the rule that placed the person
	// (segment.Rule), which gives the reason.
	krule, brule, grule []uint8
	// efi and cci are the eFI deficit count and the Charlson score (1987
	// weights, no age points) on the same day.
	efi, cci []uint8
	// score and prev are the 12-month emergency admission risk now and a
	// month ago, from the risk model when one is set (NaN otherwise, or
	// for people the model does not score).
	score, prev []float32
	risk        []uint8  // 0 unknown; set by SetRiskBand
	start       []uint32 // first event; inExtra bit says which segment
	end         []uint32 // one past the last event, in the same segment

	live    Bitmap   // rows in use (removed people are cleared)
	present []Bitmap // by concept: the person has the concept (resolved conditions do not count)
	any     []Bitmap // by concept: the person has at least one event of the concept

	base, extra events
	wasted      int // events in either segment no longer referenced

	mstart, mend []uint32 // a person's marks, as start and end
	marks        marks
	mwasted      int // marks no longer referenced

	cols featureCols // where the risk model's features go

	// While Recompute runs, the rows put or removed meanwhile, which it
	// recomputes again under the write lock before it publishes.
	recomputing bool
	touched     []int32

	practices  []string
	practiceIx map[string]uint16
}

// New returns an empty engine for the concepts of set. Build is the usual
// way to make one.
func New(set *codes.Set, now time.Time) (*Engine, error) {
	if set == nil {
		return nil, apperr.E(apperr.Internal, "population: no code set")
	}
	scorer, err := risk.New(set)
	if err != nil {
		return nil, err
	}
	seg, err := segment.NewReader(set, scorer)
	if err != nil {
		return nil, err
	}
	e := &Engine{
		seg:        seg,
		clock:      func() time.Time { return now },
		codes:      set,
		cat:        newCatalog(set),
		builtAt:    now,
		rows:       map[int64]int32{},
		practices:  []string{""},
		practiceIx: map[string]uint16{"": 0},
	}
	e.present = make([]Bitmap, len(e.cat.names))
	e.any = make([]Bitmap, len(e.cat.names))
	return e, nil
}

// Option configures an engine as Build makes it.
type Option func(*Engine)

// WithRiskModel scores every person the engine builds or updates with m
// (whose features b builds): the risk now and a month ago, for ranking
// (Rank) and the risk band (see RiskBandOf).
func WithRiskModel(m *riskmodel.Model, b *riskmodel.Builder) Option {
	return func(e *Engine) { e.model, e.feats = m, b }
}

// SetClock says what day people's segments are computed on when they are
// updated. An engine starts with the day it was built, so that updates
// agree with a rebuild; a long-running server passes time.Now.
func (e *Engine) SetClock(now func() time.Time) {
	e.mu.Lock()
	e.clock = now
	e.mu.Unlock()
}

// Build makes an engine from every person src holds, reading BuildBatch
// people at a time. progress, when not nil, is called after each batch
// with the number of people loaded so far. now is recorded as the build
// time. ctx is checked between batches.
func Build(ctx context.Context, src Source, set *codes.Set, now time.Time, progress func(done int), opts ...Option) (*Engine, error) {
	e, err := New(set, now)
	if err != nil {
		return nil, err
	}
	for _, o := range opts {
		o(e)
	}
	if e.model != nil {
		if e.cols, err = modelColumns(e.feats, now); err != nil {
			return nil, err
		}
	}
	p := newPreparer(e)
	p.placing = false // everyone is placed at the end, in parallel

	// The next batch is read while this one is mapped: reading a store
	// and mapping rows take about as long as each other, and there are
	// cores for both.
	ctx, cancel := context.WithCancel(ctx)
	batches := make(chan readBatch, 1)
	var reader sync.WaitGroup
	reader.Go(func() { readAll(ctx, src, batches) })
	defer reader.Wait()
	defer cancel()
	for rb := range batches {
		if rb.err != nil {
			return nil, rb.err
		}
		b := rb.b
		if err := p.prepare(b); err != nil {
			return nil, err
		}
		for i := range p.people {
			if _, dup := e.rows[p.people[i].ID]; dup {
				return nil, apperr.Ef(apperr.Internal, "population: person %d read twice", p.people[i].ID)
			}
			e.put(p, i, false)
		}
		if progress != nil {
			progress(len(e.id))
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, apperr.Wrap(apperr.Unavailable, err, "population: build stopped")
	}
	e.base.trim()
	if n := len(e.marks.base); cap(e.marks.base)-n > n/16 {
		e.marks.base = slices.Clone(e.marks.base) // give back what append left spare
	}
	if err := e.Recompute(ctx, now, nil); err != nil {
		return nil, err
	}
	return e, nil
}

// readBatch is one batch read for Build, or the error that ended reading.
type readBatch struct {
	b   *record.Batch
	err error
}

// readAll reads every person src holds, BuildBatch people at a time, into
// out, and closes it: after the last batch, or after an error (sent last).
func readAll(ctx context.Context, src Source, out chan<- readBatch) {
	defer close(out)
	send := func(rb readBatch) bool {
		select {
		case out <- rb:
			return true
		case <-ctx.Done():
			return false
		}
	}
	after := int64(math.MinInt64)
	for {
		if err := ctx.Err(); err != nil {
			send(readBatch{err: apperr.Wrap(apperr.Unavailable, err, "population: build stopped")})
			return
		}
		b, err := src.RecordBatch(ctx, after, BuildBatch)
		if err != nil {
			send(readBatch{err: err})
			return
		}
		if b == nil || len(b.People) == 0 {
			return
		}
		last := b.People[len(b.People)-1].ID
		if last <= after {
			send(readBatch{err: apperr.E(apperr.Internal, "population: source did not advance")})
			return
		}
		after = last
		if !send(readBatch{b: b}) {
			return
		}
	}
}

// Update replaces the people in b (each with all their rows, as a store
// read returns them) or adds them when the engine has not seen them. The
// rows are mapped to events before the write lock is taken.
func (e *Engine) Update(b *record.Batch) error {
	if b == nil || len(b.People) == 0 {
		return nil
	}
	p := newPreparer(e)
	if err := p.prepare(b); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := range p.people {
		e.put(p, i, true)
	}
	return nil
}

// Remove takes a person out of every cohort (a merged-away or erased
// record). Removing an unknown person does nothing.
func (e *Engine) Remove(id int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r, ok := e.rows[id]
	if !ok {
		return
	}
	e.clearRow(int(r))
	e.live.clear(int(r))
	e.birth[r], e.death[r] = noDay, noDay
	e.sex[r], e.practice[r], e.imd[r], e.risk[r] = 0, 0, 0, 0
	e.kaiser[r], e.bridges[r], e.nwl[r] = 0, 0, 0
	e.krule[r], e.brule[r], e.grule[r], e.efi[r], e.cci[r] = 0, 0, 0, 0, 0
	e.score[r], e.prev[r] = nan32, nan32
	e.end[r] = e.start[r]
	e.mwasted += int(e.mend[r]) - int(e.mstart[r]&^inExtra)
	e.mend[r] = e.mstart[r] &^ inExtra
	if e.recomputing {
		e.touched = append(e.touched, r)
	}
}

// Refresh re-reads the given people from src and updates them, removing
// those src no longer holds. It is what a change-event consumer calls.
func (e *Engine) Refresh(ctx context.Context, src Source, ids ...int64) error {
	for _, id := range ids {
		if id == math.MinInt64 {
			continue
		}
		b, err := src.RecordBatch(ctx, id-1, 1)
		if err != nil {
			return err
		}
		if b == nil || len(b.People) == 0 || b.People[0].ID != id {
			e.Remove(id)
			continue
		}
		if err := e.Update(b); err != nil {
			return err
		}
	}
	return nil
}

// Reload re-reads every person src holds with an id in [first, last] and
// updates them, removing from the engine those in the range src no longer
// holds (a replaced synthetic population, say). It is what a change-event
// consumer calls for an event that names a range of people.
func (e *Engine) Reload(ctx context.Context, src Source, first, last int64) error {
	if first > last {
		return nil
	}
	seen := map[int64]bool{}
	after := first - 1
	for after < last {
		b, err := src.RecordBatch(ctx, after, BuildBatch)
		if err != nil {
			return err
		}
		if b == nil || len(b.People) == 0 {
			break
		}
		next := b.People[len(b.People)-1].ID
		if next > last {
			b = onlyPeople(b, func(id int64) bool { return id <= last })
		}
		for _, p := range b.People {
			seen[p.ID] = true
		}
		if err := e.Update(b); err != nil {
			return err
		}
		after = next
	}
	e.mu.RLock()
	var gone []int64
	for id := range e.rows {
		if id >= first && id <= last && !seen[id] {
			gone = append(gone, id)
		}
	}
	e.mu.RUnlock()
	for _, id := range gone {
		e.Remove(id)
	}
	return nil
}

// onlyPeople returns the part of b the engine reads about the people keep
// accepts.
func onlyPeople(b *record.Batch, keep func(id int64) bool) *record.Batch {
	out := &record.Batch{}
	for _, p := range b.People {
		if keep(p.ID) {
			out.People = append(out.People, p)
		}
	}
	for _, r := range b.Conditions {
		if keep(r.PersonID) {
			out.Conditions = append(out.Conditions, r)
		}
	}
	for _, r := range b.Observations {
		if keep(r.PersonID) {
			out.Observations = append(out.Observations, r)
		}
	}
	for _, r := range b.Encounters {
		if keep(r.PersonID) {
			out.Encounters = append(out.Encounters, r)
		}
	}
	for _, r := range b.Medications {
		if keep(r.PersonID) {
			out.Medications = append(out.Medications, r)
		}
	}
	for _, r := range b.Immunisations {
		if keep(r.PersonID) {
			out.Immunisations = append(out.Immunisations, r)
		}
	}
	for _, r := range b.Procedures {
		if keep(r.PersonID) {
			out.Procedures = append(out.Procedures, r)
		}
	}
	return out
}

// SetRiskBand records a person's risk band (1..255; 0 unknown).
func (e *Engine) SetRiskBand(id int64, v uint8) error { return e.setByte(id, e.risk, v) }

func (e *Engine) setByte(id int64, col []uint8, v uint8) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	r, ok := e.rows[id]
	if !ok || !e.live.Has(int(r)) {
		return apperr.Ef(apperr.NotFound, "population: no person %d", id)
	}
	col[r] = v
	return nil
}

// clearRow clears the row's concept bits and releases its events.
func (e *Engine) clearRow(r int) {
	seg, lo, hi := e.span(r)
	for i := lo; i < hi; i++ {
		c := seg.concept[i]
		e.present[c].clear(r)
		e.any[c].clear(r)
	}
	e.wasted += hi - lo
}

func (e *Engine) span(r int) (*events, int, int) {
	s, t := e.start[r], int(e.end[r])
	if s&inExtra != 0 {
		return &e.extra, int(s &^ inExtra), t
	}
	return &e.base, int(s), t
}

func (e *Engine) internPractice(code string) uint16 {
	if i, ok := e.practiceIx[code]; ok {
		return i
	}
	if len(e.practices) > math.MaxUint16 {
		return 0 // more practices than a region has; counted as unregistered
	}
	i := uint16(len(e.practices))
	e.practices = append(e.practices, code)
	e.practiceIx[code] = i
	return i
}

// put writes person i of p into the engine: a new row, or over the
// person's row. Updates write events in place when they fit, else into
// the update segment, so the base segment never grows after Build.
func (e *Engine) put(p *preparer, i int, update bool) {
	per := &p.people[i]
	r, ok := e.rows[per.ID]
	if ok {
		e.clearRow(int(r))
	} else {
		r = int32(len(e.id))
		e.rows[per.ID] = r
		e.id = append(e.id, per.ID)
		e.birth = append(e.birth, 0)
		e.death = append(e.death, 0)
		e.sex = append(e.sex, 0)
		e.practice = append(e.practice, 0)
		e.imd = append(e.imd, 0)
		e.score = append(e.score, nan32)
		e.prev = append(e.prev, nan32)
		e.kaiser = append(e.kaiser, 0)
		e.bridges = append(e.bridges, 0)
		e.nwl = append(e.nwl, 0)
		e.krule = append(e.krule, 0)
		e.brule = append(e.brule, 0)
		e.grule = append(e.grule, 0)
		e.efi = append(e.efi, 0)
		e.cci = append(e.cci, 0)
		e.mstart = append(e.mstart, 0)
		e.mend = append(e.mend, 0)
		e.risk = append(e.risk, 0)
		e.start = append(e.start, 0)
		e.end = append(e.end, 0)
	}
	e.live.set(int(r))
	e.birth[r] = dayOf(per.BirthDate)
	e.death[r] = dayOf(per.DateOfDeath)
	e.sex[r] = sexCode(per.Sex)
	e.practice[r] = e.internPractice(per.PracticeID)
	if per.IMDDecile >= 1 && per.IMDDecile <= 10 {
		e.imd[r] = uint8(per.IMDDecile)
	} else {
		e.imd[r] = 0
	}
	if p.placing {
		e.setPlacement(int(r), p.segs[i])
	}
	if e.recomputing {
		e.touched = append(e.touched, r)
	}
	e.putMarks(int(r), p.marks[p.moff[i]:p.moff[i+1]], update, ok)

	ev := p.ev[p.off[i]:p.off[i+1]]
	var seg *events
	var at int
	switch {
	case !update:
		seg, at = &e.base, e.base.len()
		e.start[r] = uint32(at)
	case ok && len(ev) <= int(e.end[r])-int(e.start[r]&^inExtra):
		seg, at, _ = e.span(int(r))
		e.wasted -= len(ev) // clearRow counted the whole old span as wasted
	default:
		seg, at = &e.extra, e.extra.len()
		e.start[r] = uint32(at) | inExtra
	}
	for j, x := range ev {
		if at+j < seg.len() {
			seg.concept[at+j], seg.day[at+j], seg.val[at+j] = x.c, x.day, x.v
		} else {
			seg.concept = append(seg.concept, x.c)
			seg.day = append(seg.day, x.day)
			seg.val = append(seg.val, x.v)
		}
		e.any[x.c].set(int(r))
		if x.present {
			e.present[x.c].set(int(r))
		}
	}
	e.end[r] = uint32(at + len(ev))
}
