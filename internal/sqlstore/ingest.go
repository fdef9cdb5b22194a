package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/audit"
	"github.com/wholecare/wholecare/internal/ingest"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/registry"
)

var _ ingest.Store = (*DB)(nil)

// EventIngested is the outbox kind written by ApplyItems.
const EventIngested = "ingest.applied"

type ingestEvent struct {
	People []int64 `json:"people"` // the people whose record changed
}

// refTables are the clinical tables an item's rows go to, with how to reach
// row i's provenance and ids in a batch.
var refTables = []struct {
	name  string
	count func(b *record.Batch) int
	row   func(b *record.Batch, i int) (p *record.Provenance, person, id *int64)
}{
	{"conditions", func(b *record.Batch) int { return len(b.Conditions) }, func(b *record.Batch, i int) (*record.Provenance, *int64, *int64) {
		r := &b.Conditions[i]
		return &r.Provenance, &r.PersonID, &r.ID
	}},
	{"observations", func(b *record.Batch) int { return len(b.Observations) }, func(b *record.Batch, i int) (*record.Provenance, *int64, *int64) {
		r := &b.Observations[i]
		return &r.Provenance, &r.PersonID, &r.ID
	}},
	{"encounters", func(b *record.Batch) int { return len(b.Encounters) }, func(b *record.Batch, i int) (*record.Provenance, *int64, *int64) {
		r := &b.Encounters[i]
		return &r.Provenance, &r.PersonID, &r.ID
	}},
	{"medications", func(b *record.Batch) int { return len(b.Medications) }, func(b *record.Batch, i int) (*record.Provenance, *int64, *int64) {
		r := &b.Medications[i]
		return &r.Provenance, &r.PersonID, &r.ID
	}},
	{"immunisations", func(b *record.Batch) int { return len(b.Immunisations) }, func(b *record.Batch, i int) (*record.Provenance, *int64, *int64) {
		r := &b.Immunisations[i]
		return &r.Provenance, &r.PersonID, &r.ID
	}},
	{"procedures", func(b *record.Batch) int { return len(b.Procedures) }, func(b *record.Batch, i int) (*record.Provenance, *int64, *int64) {
		r := &b.Procedures[i]
		return &r.Provenance, &r.PersonID, &r.ID
	}},
}

type identityKey struct{ source, local string }
type rowKey struct{ table, source, ref string }
type personTable struct {
	table  string
	person int64
}
type rowID struct{ person, id int64 }

// applier holds one ApplyItems transaction's lookups, so that a file of
// many resources about few people asks the database once per person.
type applier struct {
	db      *DB
	tx      *cachedTx
	now     time.Time
	persons map[identityKey]int64
	// unnamed holds the identities prefetch found no person for. Only
	// addIdentity records identities during a call, and it fills persons,
	// so resolve need not ask the database about them again (a round trip
	// for every new person on PostgreSQL).
	unnamed map[identityKey]bool
	nextID  map[personTable]int64
	seen    map[rowKey]rowID // rows written by this call
	touched map[int64]bool
	// dirty holds people whose source demographics changed and whose
	// golden record is still to be recomputed (see flushGolden).
	dirty map[int64]bool
	fresh map[int64]bool // people created by this call: they have no rows yet
	// replaced lists, per table, the stored rows that rows of this call
	// replace, deleted together before the new rows are inserted.
	replaced map[string][]rowID
	// known holds what prefetch found of the rows the items refer to, for
	// the tables in prefetched: a row absent from known is not stored.
	known      map[rowKey]rowID
	prefetched map[string]bool
	reviews    []pendingReview // see link
	// conn is the connection tx was begun on, for COPY.
	conn *sql.Conn
	// born holds the people this call creates, and the source identities
	// it records, until they are written together (see writeBorn).
	born born
	// nhs holds what prefetchNHS found: the surviving people with each
	// verified NHS number the items bring (at most two a number). nil
	// when not looked up, or stale after golden records changed.
	nhs map[string][]int64
}

// ApplyItems implements ingest.Store.
func (db *DB) ApplyItems(ctx context.Context, items []ingest.Item, atomic bool, now time.Time) ([]ingest.Outcome, error) {
	if err := db.ready(); err != nil {
		return nil, err
	}
	db.warm(ctx)
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return nil, classify(err, "applying received data")
	}
	defer conn.Close()
	sqlTx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, classify(err, "applying received data")
	}
	defer sqlTx.Rollback()
	if db.d.postgres && bulk(ctx) {
		if _, err := sqlTx.ExecContext(ctx, `SET LOCAL synchronous_commit TO OFF`); err != nil {
			return nil, classify(err, "applying received data")
		}
	}
	tx := db.cached(sqlTx)
	outs, touched, err := db.applyItems(ctx, conn, tx, items, atomic, now)
	if err != nil {
		return nil, err
	}
	if err := db.ingested(ctx, tx, touched, now); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, classify(err, "committing received data")
	}
	db.peopleChanged(ctx, touched)
	return outs, nil
}

// applyItems applies items inside tx, which was begun on conn, and returns
// the people whose record changed, for the outbox.
func (db *DB) applyItems(ctx context.Context, conn *sql.Conn, tx *cachedTx, items []ingest.Item, atomic bool, now time.Time) ([]ingest.Outcome, []int64, error) {
	a := &applier{db: db, tx: tx, now: now, persons: map[identityKey]int64{}, nextID: map[personTable]int64{},
		seen: map[rowKey]rowID{}, touched: map[int64]bool{}, dirty: map[int64]bool{}, fresh: map[int64]bool{}, conn: conn}
	if err := a.prefetch(ctx, items); err != nil {
		return nil, nil, err
	}
	a.born.want = a.mayCreate(items)
	outs := make([]ingest.Outcome, len(items))
	var out record.Batch
	for i := range items {
		o, err := a.item(ctx, &items[i], &out)
		if err != nil {
			if atomic || !isItemError(err) {
				return nil, nil, err
			}
			o.Err = err
		}
		outs[i] = o
	}
	if err := a.deleteReplaced(ctx); err != nil {
		return nil, nil, err
	}
	if err := a.writeBorn(ctx); err != nil {
		return nil, nil, err
	}
	if err := a.releaseIDs(ctx); err != nil {
		return nil, nil, err
	}
	if out.Rows() > 0 {
		if err := db.d.bulkInsert(ctx, conn, tx, &encoder{d: db.d, b: &out}); err != nil {
			return nil, nil, err
		}
	}
	if err := a.flushGolden(ctx); err != nil {
		return nil, nil, err
	}
	if err := a.queueReviews(ctx); err != nil {
		return nil, nil, err
	}
	touched := make([]int64, 0, len(a.touched))
	for p := range a.touched {
		touched = append(touched, p)
	}
	return outs, touched, nil
}

// ingested writes the outbox event saying whose record changed.
func (db *DB) ingested(ctx context.Context, tx queryExecer, people []int64, now time.Time) error {
	if len(people) == 0 {
		return nil
	}
	slices.Sort(people)
	return db.outbox(ctx, tx, EventIngested, ingestEvent{People: slices.Compact(people)}, now)
}

// isItemError reports whether err belongs to one item (the caller's data),
// not to the database.
func isItemError(err error) bool {
	k := apperr.KindOf(err)
	return k == apperr.Invalid || k == apperr.NotFound || k == apperr.Conflict
}

// item applies one item: its person, then its rows into out. Nothing is
// written for the item before every check that can refuse it has passed.
func (a *applier) item(ctx context.Context, it *ingest.Item, out *record.Batch) (ingest.Outcome, error) {
	var o ingest.Outcome
	key := identityKey{it.Source, it.Subject}
	pid, err := a.resolve(ctx, key, it.Person)
	if err != nil {
		return o, err
	}
	// Check rows before any write: a row the source already sent about
	// someone else is refused with the item.
	type plan struct {
		table    string
		i        int
		existing rowID
		found    bool
	}
	var plans []plan
	for _, t := range refTables {
		for i := range t.count(&it.Rows) {
			p, _, _ := t.row(&it.Rows, i)
			existing, found, err := a.findRow(ctx, t.name, p.Source, p.SourceRef)
			if err != nil {
				return o, err
			}
			if found && pid != 0 && existing.person != pid {
				return o, apperr.Ef(apperr.Conflict, "%s: %s row %q from %s is already stored for another person", it.At, t.name, p.SourceRef, p.Source)
			}
			plans = append(plans, plan{t.name, i, existing, found})
		}
	}
	if pid == 0 {
		if it.Person == nil {
			return o, apperr.Ef(apperr.NotFound, "%s: unknown person %q from %s: send the Patient (or PID) first", it.At, it.Subject, it.Source)
		}
		if pid, err = a.createPerson(ctx, key, it.Person); err != nil {
			return o, err
		}
		a.fresh[pid] = true
		o.PersonCreated = true
	} else if it.Person != nil {
		if err := a.updatePerson(ctx, pid, key, it.Person); err != nil {
			return o, err
		}
	}
	o.PersonID = pid
	a.touched[pid] = true

	if c := it.Cancel; c != nil {
		// The row cancelled may be one this call replaces: delete those
		// first, as the cancellation counts what it removed.
		if err := a.deleteReplaced(ctx); err != nil {
			return o, err
		}
		res, err := a.tx.ExecContext(ctx, a.db.d.rebind(`DELETE FROM encounters WHERE person_id = ? AND source = ? AND source_ref = ? AND source_ref <> ''`), pid, it.Source, c.SourceRef)
		if err != nil {
			return o, classify(err, "cancelling an encounter")
		}
		n, _ := res.RowsAffected()
		o.Cancelled = int(n)
		delete(a.seen, rowKey{"encounters", it.Source, c.SourceRef})
	}

	for _, pl := range plans {
		t := tableByName(pl.table)
		p, person, id := t.row(&it.Rows, pl.i)
		*person = pid
		k := rowKey{pl.table, p.Source, p.SourceRef}
		switch {
		case pl.found && a.seen[k] == pl.existing:
			// Written earlier in this call: replace it in the batch.
			removeRow(out, pl.table, pl.existing)
			*id = pl.existing.id
			o.Replaced++
		case pl.found:
			a.replace(pl.table, pl.existing)
			*id = pl.existing.id
			o.Replaced++
		default:
			n, err := a.newID(ctx, pl.table, pid)
			if err != nil {
				return o, err
			}
			*id = n
			o.Inserted++
		}
		a.seen[k] = rowID{pid, *id}
	}
	appendRows(out, &it.Rows)
	return o, nil
}

func tableByName(name string) *struct {
	name  string
	count func(b *record.Batch) int
	row   func(b *record.Batch, i int) (p *record.Provenance, person, id *int64)
} {
	for i := range refTables {
		if refTables[i].name == name {
			return &refTables[i]
		}
	}
	panic("sqlstore: no ref table " + name)
}

// resolve finds the person a source's identifier names: by the identity,
// else by a verified NHS number known to exactly one person, else by
// record linkage when a matcher is set (then the identity is recorded).
// 0 means nobody yet.
func (a *applier) resolve(ctx context.Context, key identityKey, p *registry.Person) (int64, error) {
	if pid, ok := a.persons[key]; ok {
		return pid, nil
	}
	if !a.unnamed[key] {
		var pid int64
		err := a.tx.QueryRowContext(ctx, a.db.d.rebind(`SELECT person_id FROM source_identities WHERE source = ? AND local_id = ?`), key.source, key.local).Scan(&pid)
		switch {
		case err == nil:
			a.persons[key] = pid
			return pid, nil
		case !errors.Is(err, sql.ErrNoRows):
			return 0, classify(err, "finding a person by source identity")
		}
	}
	if p == nil {
		return 0, nil
	}
	if p.NHSNumberStatus != registry.NHSVerified {
		return a.link(ctx, key, p)
	}
	// The lookup reads golden records: bring those this call changed up to date.
	if err := a.flushGolden(ctx); err != nil {
		return 0, err
	}
	// People this call created and has not written yet are candidates
	// too, as they were when each was inserted at once.
	found := slices.Clone(a.born.byNHS[p.NHSNumber])
	if a.nhs != nil {
		found = append(found, a.nhs[p.NHSNumber]...)
	} else {
		stored, err := a.findByNHS(ctx, p.NHSNumber)
		if err != nil {
			return 0, err
		}
		found = append(found, stored...)
	}
	if len(found) != 1 {
		return a.link(ctx, key, p) // none, or ambiguous
	}
	a.addIdentity(found[0], key, "nhs-number")
	return found[0], nil
}

// findByNHS finds the surviving people with a verified NHS number, at
// most two: one query, for when prefetchNHS has not answered.
func (a *applier) findByNHS(ctx context.Context, nhs string) ([]int64, error) {
	// "nhs_number <> ''" lets the planner use the partial index; without
	// it SQLite scans the whole registry. Only survivors are candidates: a
	// retired person shares the number with the survivor of their cluster.
	rows, err := a.tx.QueryContext(ctx, a.db.d.rebind(`SELECT person_id FROM people WHERE nhs_number = ? AND nhs_number <> '' AND nhs_number_status = 'verified'
		AND merged_into IS NULL LIMIT 2`), nhs)
	if err != nil {
		return nil, classify(err, "finding a person by NHS number")
	}
	defer rows.Close()
	var found []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, classify(err, "finding a person by NHS number")
		}
		found = append(found, id)
	}
	return found, classify(rows.Err(), "finding a person by NHS number")
}

// addIdentity records that key names pid. The row is written by
// writeBorn, with the people this call creates: nothing in the call reads
// source_identities back, as a.persons answers first.
func (a *applier) addIdentity(pid int64, key identityKey, how string) {
	a.born.identities = append(a.born.identities, []any{pid, key.source, key.local, how, a.db.d.instant(a.now)})
	a.persons[key] = pid
}

const personWriteCols = `nhs_number = ?, nhs_number_status = ?, given_name = ?, family_name = ?, birth_date = ?, sex = ?,
	postcode = ?, imd_decile = ?, ethnicity = ?, practice_id = ?, date_of_death = ?, source = ?, received_at = ?`

func (a *applier) personArgs(p *registry.Person) []any { return personValues(a.db.d, p) }

// personValues are a person's demographics in personWriteCols order.
func personValues(d dialect, p *registry.Person) []any {
	return []any{p.NHSNumber, string(p.NHSNumberStatus), p.GivenName, p.FamilyName, d.date(p.BirthDate), string(p.Sex),
		p.Postcode, int64(p.IMDDecile), p.Ethnicity, p.PracticeID, d.date(p.DateOfDeath), p.Source, d.instant(p.ReceivedAt)}
}

// createPerson numbers a new person and keeps their rows for writeBorn.
func (a *applier) createPerson(ctx context.Context, key identityKey, p *registry.Person) (int64, error) {
	pid, err := a.personID(ctx)
	if err != nil {
		return 0, err
	}
	// A new person's golden record is their one source record, computed
	// here rather than read back: the same rules, without the queries.
	rec := sourceRecord(pid, key, p, a.now)
	g, _ := registry.ComputeGolden(pid, []registry.SourceRecord{rec}, registry.DefaultTrust)
	a.born.add(pid, append([]any{pid}, a.personArgs(&g.Person)...), &g.Person)
	a.born.putSource(key, a.db.personSourceArgs(&rec))
	a.addIdentity(pid, key, "source")
	return pid, nil
}

// updatePerson keeps what the source now says about the person as that
// source's record; the golden record of the person (and of everyone they
// are merged into) is recomputed by flushGolden, before this call ends.
// The registry's survivorship rules decide each field: the latest message
// no longer simply wins.
//
// Demographics the source already sent for this person, unchanged, change
// nothing, not even the record's receipt time: most HL7 v2 events re-send
// the PID as it was, and writing the record and recomputing the golden
// record for each was about a sixth of an ADT message's CPU in the store,
// even with its statements compiled once. A record's received_at is
// therefore when the source last sent something new, which is also what a
// Patient's meta.lastUpdated should say.
func (a *applier) updatePerson(ctx context.Context, pid int64, key identityKey, p *registry.Person) error {
	rec := sourceRecord(pid, key, p, a.now)
	if a.born.unwritten[pid] {
		a.dirty[pid] = true
		a.born.putSource(key, a.db.personSourceArgs(&rec))
		return nil
	}
	stored, found, err := a.storedSource(ctx, key)
	if err != nil {
		return err
	}
	if found && stored.ID == pid && registry.SameDemographics(&stored.Person, &rec.Person) {
		return nil
	}
	a.dirty[pid] = true
	return a.db.putPersonSource(ctx, a.tx, &rec, found)
}

// storedSource reads the record stored for key, whoever it is with.
func (a *applier) storedSource(ctx context.Context, key identityKey) (registry.SourceRecord, bool, error) {
	r, err := scanSourceRecord(a.tx.QueryRowContext(ctx, a.db.d.rebind(`SELECT `+personSourceCols+` FROM person_sources
		WHERE source = ? AND local_id = ? AND local_id <> ''`), key.source, key.local))
	if errors.Is(err, sql.ErrNoRows) {
		return registry.SourceRecord{}, false, nil
	}
	if err != nil {
		return registry.SourceRecord{}, false, classify(err, "reading a source's demographics")
	}
	return r, true, nil
}

// goldenChunk is how many people one flushChunk reads at a time.
const goldenChunk = 500

// flushGolden recomputes the golden records of the dirty people. People
// in no merge, nearly everyone, are read a few hundred at a time (their
// records, then one UPDATE each), which keeps re-sent demographics about as
// cheap as when the latest message simply overwrote the row; people in a
// merge go through refreshUp one by one.
func (a *applier) flushGolden(ctx context.Context) error {
	if len(a.dirty) == 0 {
		return nil
	}
	// Golden records are read from what is stored, and change here.
	if err := a.writeBorn(ctx); err != nil {
		return err
	}
	a.nhs = nil
	ids := make([]int64, 0, len(a.dirty))
	for id := range a.dirty {
		ids = append(ids, id)
	}
	clear(a.dirty)
	slices.Sort(ids)
	for len(ids) > 0 {
		n := min(len(ids), goldenChunk)
		if err := a.flushChunk(ctx, ids[:n]); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

func (a *applier) flushChunk(ctx context.Context, ids []int64) error {
	db := a.db
	in, args := inList(ids)
	rows, err := a.tx.queryList(ctx, len(ids), db.d.rebind(`SELECT person_id FROM people p WHERE person_id `+in+`
		AND (merged_into IS NOT NULL OR EXISTS (SELECT 1 FROM people c WHERE c.merged_into = p.person_id))`), args...)
	if err != nil {
		return classify(err, "finding merged people")
	}
	merged := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return classify(err, "finding merged people")
		}
		merged[id] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return classify(err, "finding merged people")
	}
	for id := range merged {
		if _, err := db.refreshUp(ctx, a.tx, id); err != nil {
			return err
		}
	}
	recs := make(map[int64][]registry.SourceRecord, len(ids))
	rows, err = a.tx.queryList(ctx, len(ids), db.d.rebind(`SELECT `+personSourceCols+` FROM person_sources WHERE person_id `+in), args...)
	if err != nil {
		return classify(err, "reading source demographics")
	}
	for rows.Next() {
		r, err := scanSourceRecord(rows)
		if err != nil {
			rows.Close()
			return classify(err, "reading source demographics")
		}
		if !merged[r.ID] {
			recs[r.ID] = append(recs[r.ID], r)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return classify(err, "reading source demographics")
	}
	for _, id := range ids {
		if merged[id] || len(recs[id]) == 0 {
			continue
		}
		if err := db.writeGolden(ctx, a.tx, id, recs[id]); err != nil {
			return err
		}
	}
	return nil
}

// findRow finds a row by its source reference.
func (a *applier) findRow(ctx context.Context, table, source, ref string) (rowID, bool, error) {
	if r, ok := a.seen[rowKey{table, source, ref}]; ok {
		return r, true, nil
	}
	if a.prefetched[table] && ref != "" {
		r, ok := a.known[rowKey{table, source, ref}]
		return r, ok, nil
	}
	var r rowID
	// "source_ref <> ''" lets the planner use the partial unique index.
	err := a.tx.QueryRowContext(ctx, a.db.d.rebind(`SELECT person_id, id FROM `+table+` WHERE source = ? AND source_ref = ? AND source_ref <> ''`),
		source, ref).Scan(&r.person, &r.id)
	if errors.Is(err, sql.ErrNoRows) {
		return rowID{}, false, nil
	}
	if err != nil {
		return rowID{}, false, classify(err, "looking up "+table)
	}
	return r, true, nil
}

// prefetchMinItems is the fewest items prefetch looks up together. Fewer
// (an HL7 v2 message's person and encounter) are looked up one by one, with
// as many statements, compiled once, and without numbering rows that turn
// out to exist.
const prefetchMinItems = 8

// prefetch looks up, a chunk at a time, the people the items name and
// every stored row they refer to by source reference, so that applying a
// batch costs a handful of queries per table instead of one per row (a
// fifth of an import's time on SQLite; most of it on PostgreSQL, where each
// query is a round trip). A batch that cancels rows has its rows looked up
// one by one, as a cancelled row must not be found again later in the same
// batch.
func (a *applier) prefetch(ctx context.Context, items []ingest.Item) error {
	if len(items) < prefetchMinItems {
		return nil
	}
	if err := a.prefetchPeople(ctx, items); err != nil {
		return err
	}
	if err := a.prefetchNHS(ctx, items); err != nil {
		return err
	}
	for i := range items {
		if items[i].Cancel != nil {
			return nil
		}
	}
	a.known, a.prefetched = map[rowKey]rowID{}, map[string]bool{}
	for _, t := range refTables {
		bySource := map[string][]string{}
		for i := range items {
			for j := range t.count(&items[i].Rows) {
				p, _, _ := t.row(&items[i].Rows, j)
				if p.SourceRef != "" {
					bySource[p.Source] = append(bySource[p.Source], p.SourceRef)
				}
			}
		}
		for source, refs := range bySource {
			err := lookup(ctx, a, `SELECT source_ref, person_id, id FROM `+t.name+` WHERE source = ? AND source_ref <> '' AND %s`, "source_ref",
				[]any{source}, refs, func(s scanner) error {
					var ref string
					var r rowID
					if err := s.Scan(&ref, &r.person, &r.id); err != nil {
						return err
					}
					a.known[rowKey{t.name, source, ref}] = r
					return nil
				})
			if err != nil {
				return classify(err, "looking up "+t.name)
			}
		}
		a.prefetched[t.name] = true
	}
	return nil
}

// newID numbers a new row from one past the person's highest.
func (a *applier) newID(ctx context.Context, table string, pid int64) (int64, error) {
	k := personTable{table, pid}
	n, ok := a.nextID[k]
	if !ok && a.fresh[pid] {
		n, ok = 1, true
	}
	if !ok {
		if err := a.tx.QueryRowContext(ctx, a.db.d.rebind(`SELECT COALESCE(MAX(id), 0) + 1 FROM `+table+` WHERE person_id = ?`), pid).Scan(&n); err != nil {
			return 0, classify(err, "numbering a "+table+" row")
		}
	}
	a.nextID[k] = n + 1
	return n, nil
}

func appendRows(dst, src *record.Batch) {
	dst.Conditions = append(dst.Conditions, src.Conditions...)
	dst.Observations = append(dst.Observations, src.Observations...)
	dst.Encounters = append(dst.Encounters, src.Encounters...)
	dst.Medications = append(dst.Medications, src.Medications...)
	dst.Immunisations = append(dst.Immunisations, src.Immunisations...)
	dst.Procedures = append(dst.Procedures, src.Procedures...)
}

// removeRow drops an earlier version of a row from the pending batch.
func removeRow(b *record.Batch, table string, r rowID) {
	t := tableByName(table)
	for i := t.count(b) - 1; i >= 0; i-- {
		_, person, id := t.row(b, i)
		if *person == r.person && *id == r.id {
			switch table {
			case "conditions":
				b.Conditions = append(b.Conditions[:i], b.Conditions[i+1:]...)
			case "observations":
				b.Observations = append(b.Observations[:i], b.Observations[i+1:]...)
			case "encounters":
				b.Encounters = append(b.Encounters[:i], b.Encounters[i+1:]...)
			case "medications":
				b.Medications = append(b.Medications[:i], b.Medications[i+1:]...)
			case "immunisations":
				b.Immunisations = append(b.Immunisations[:i], b.Immunisations[i+1:]...)
			case "procedures":
				b.Procedures = append(b.Procedures[:i], b.Procedures[i+1:]...)
			}
			return
		}
	}
}

// ApplyMerge implements ingest.Store: the retired identifier (with the
// demographics it sent) is pointed at the surviving person, the source's
// merge is recorded, and when the identifier named another person the two
// people are merged (registry.MergeSource), all in one transaction.
func (db *DB) ApplyMerge(ctx context.Context, m ingest.Merge, now time.Time) error {
	if err := db.ready(); err != nil {
		return err
	}
	db.warm(ctx)
	sqlTx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return classify(err, "merging identities")
	}
	defer sqlTx.Rollback()
	tx := db.cached(sqlTx)
	into, err := db.applyMerge(ctx, tx, m, now)
	if err != nil {
		return err
	}
	if err := db.ingested(ctx, tx, []int64{into}, now); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return classify(err, "committing a merge")
	}
	db.peopleChanged(ctx, []int64{into})
	return nil
}

// applyMerge records a merge inside tx and returns the surviving person.
//
// The identifier move is the source's own statement and stays even if the
// registry merge is later undone: the source still says the retired id is
// the surviving one, so what it sends under it keeps landing there.
func (db *DB) applyMerge(ctx context.Context, tx *cachedTx, m ingest.Merge, now time.Time) (int64, error) {
	find := func(local string) (int64, bool, error) {
		var pid int64
		err := tx.QueryRowContext(ctx, db.d.rebind(`SELECT person_id FROM source_identities WHERE source = ? AND local_id = ?`), m.Source, local).Scan(&pid)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, false, nil
		}
		return pid, err == nil, classify(err, "merging identities")
	}
	into, ok, err := find(m.Into)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, apperr.Ef(apperr.NotFound, "%s: merge into unknown person %q from %s", m.At, m.Into, m.Source)
	}
	from, fromKnown, err := find(m.From)
	if err != nil {
		return 0, err
	}
	var fromPerson any
	if fromKnown {
		fromPerson = from
		if _, err := tx.ExecContext(ctx, db.d.rebind(`UPDATE source_identities SET person_id = ?, provenance = 'source-merge' WHERE source = ? AND local_id = ?`), into, m.Source, m.From); err != nil {
			return 0, classify(err, "merging identities")
		}
		if _, err := tx.ExecContext(ctx, db.d.rebind(`UPDATE person_sources SET person_id = ? WHERE source = ? AND local_id = ? AND local_id <> ''`), into, m.Source, m.From); err != nil {
			return 0, classify(err, "merging identities")
		}
	} else {
		if _, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO source_identities (person_id, source, local_id, provenance, received_at) VALUES (?, ?, ?, 'source-merge', ?)`),
			into, m.Source, m.From, db.d.instant(now)); err != nil {
			return 0, classify(err, "merging identities")
		}
	}
	if _, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO source_merges (source, into_id, from_id, into_person, from_person, merged_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (source, from_id, into_id) DO NOTHING`), m.Source, m.Into, m.From, into, fromPerson, db.d.instant(now)); err != nil {
		return 0, classify(err, "recording a merge")
	}
	if !fromKnown || from == into {
		return into, nil
	}
	// The source says two of Wholecare's people are one: merge their
	// clusters, survivor's into survivor's, unless they are one already.
	intoChain, err := db.chain(ctx, tx, into)
	if err != nil {
		return 0, err
	}
	fromChain, err := db.chain(ctx, tx, from)
	if err != nil {
		return 0, err
	}
	survivor, retired := intoChain[len(intoChain)-1], fromChain[len(fromChain)-1]
	if survivor != retired {
		merge, err := db.mergeTx(ctx, tx, survivor, retired, registry.MergeSource, m.Source, now)
		if err != nil {
			return 0, err
		}
		// Audited in the same transaction, like a merge a user makes, with
		// the sending system as the one who decided it.
		evs := make([]audit.Event, 0, 2)
		for _, pid := range []int64{survivor, retired} {
			evs = append(evs, audit.Event{At: now, UserName: m.Source, Role: "system", PersonID: pid, Action: "merge",
				ResourceType: "Patient", Purpose: "administration", Basis: "none", Outcome: audit.OutcomeAllowed,
				Reason: "HL7 v2 merge (A40) from " + m.Source, Detail: "merge " + strconv.FormatInt(merge.ID, 10) + " " + m.At})
		}
		if _, err := db.appendAudit(ctx, tx, evs); err != nil {
			return 0, err
		}
	}
	// The moved record left from's part of the cluster and joined into's.
	if _, err := db.refreshUp(ctx, tx, from); err != nil {
		return 0, err
	}
	if _, err := db.refreshUp(ctx, tx, into); err != nil {
		return 0, err
	}
	return into, nil
}
