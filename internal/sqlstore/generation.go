package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/directory"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/synth"
)

// Outbox event kinds written by the generation path.
const (
	EventChunkLoaded        = "population.chunk_loaded"
	EventPopulationReplaced = "population.replaced"
)

// chunkEvent is the payload of EventChunkLoaded (and, without Chunk, of
// EventPopulationReplaced): consumers reload the people in the range.
type chunkEvent struct {
	Run           int64 `json:"run"`
	Chunk         *int  `json:"chunk,omitempty"`
	FirstPersonID int64 `json:"first_person_id"`
	LastPersonID  int64 `json:"last_person_id"`
}

const runColumns = `id, seed, people, chunk_size, now_date, version, base_person_id, chunks_done, complete, started_at, finished_at`

func scanRun(s interface{ Scan(...any) error }) (synth.Run, error) {
	var r synth.Run
	err := s.Scan(&r.ID, &r.Spec.Seed, &r.Spec.People, &r.Spec.ChunkSize, timeDest{&r.Spec.Now}, &r.Spec.Version,
		&r.BasePersonID, &r.ChunksDone, &r.Complete, timeDest{&r.StartedAt}, timeDest{&r.FinishedAt})
	return r, err
}

func validSpec(s synth.Spec) error {
	switch {
	case s.People <= 0:
		return apperr.E(apperr.Invalid, "a synthetic population needs at least one person")
	case s.ChunkSize <= 0:
		return apperr.E(apperr.Invalid, "the chunk size must be at least one person")
	case s.Now.IsZero() || !s.Now.Equal(s.Now.UTC().Truncate(24*time.Hour)):
		return apperr.E(apperr.Invalid, "the generation day (now) must be a UTC midnight")
	}
	return nil
}

func sameSpec(a, b synth.Spec) bool {
	return a.Seed == b.Seed && a.People == b.People && a.ChunkSize == b.ChunkSize && a.Now.Equal(b.Now) && a.Version == b.Version
}

// BeginGeneration implements synth.Store: it returns the run for an equal
// spec (finished, or to resume from ChunksDone), or starts a new run with a
// fresh block of person IDs. A run for another spec is a Conflict unless
// replace, in which case that run and every row of its people go first, in
// the same transaction.
func (db *DB) BeginGeneration(ctx context.Context, spec synth.Spec, replace bool) (synth.Run, error) {
	if err := db.ready(); err != nil {
		return synth.Run{}, err
	}
	if err := validSpec(spec); err != nil {
		return synth.Run{}, err
	}
	spec.Now = spec.Now.UTC()
	now := time.Now()
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return synth.Run{}, classify(err, "beginning generation")
	}
	defer tx.Rollback()

	rows, err := tx.QueryContext(ctx, `SELECT `+runColumns+` FROM generation_runs ORDER BY id DESC`)
	if err != nil {
		return synth.Run{}, classify(err, "reading generation runs")
	}
	var runs []synth.Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			rows.Close()
			return synth.Run{}, classify(err, "reading generation runs")
		}
		runs = append(runs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return synth.Run{}, classify(err, "reading generation runs")
	}
	for _, r := range runs {
		if sameSpec(r.Spec, spec) {
			return r, nil
		}
	}
	if len(runs) > 0 && !replace {
		o := runs[0].Spec
		return synth.Run{}, apperr.Ef(apperr.Conflict,
			"the database already holds a synthetic population (seed %d, %d people, chunks of %d, history to %s, generator %s); run again with --replace to replace it",
			o.Seed, o.People, o.ChunkSize, o.Now.Format(time.DateOnly), o.Version)
	}
	for _, r := range runs {
		if err := db.deleteRun(ctx, tx, r, now); err != nil {
			return synth.Run{}, err
		}
	}

	var next int64
	if err := tx.QueryRowContext(ctx, db.d.rebind(`UPDATE id_counters SET next = next + ? WHERE name = 'person' RETURNING next`),
		int64(spec.People)).Scan(&next); err != nil {
		return synth.Run{}, classify(err, "reserving person ids")
	}
	run := synth.Run{Spec: spec, BasePersonID: next - int64(spec.People), StartedAt: now.UTC().Truncate(time.Microsecond)}
	if err := tx.QueryRowContext(ctx, db.d.rebind(`INSERT INTO generation_runs
		(seed, people, chunk_size, now_date, version, base_person_id, chunks_done, complete, started_at)
		VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?) RETURNING id`),
		spec.Seed, spec.People, spec.ChunkSize, db.d.date(spec.Now), spec.Version, run.BasePersonID, false, db.d.instant(now),
	).Scan(&run.ID); err != nil {
		return synth.Run{}, classify(err, "recording the generation run")
	}
	if err := tx.Commit(); err != nil {
		return synth.Run{}, classify(err, "beginning generation")
	}
	db.log.Info("generation run started", "run", run.ID, "people", spec.People, "base_person_id", run.BasePersonID)
	return run, nil
}

// deleteRun removes a run and every row of its people. Person IDs of a run
// are a block reserved from id_counters, so the range holds nobody else.
func (db *DB) deleteRun(ctx context.Context, tx *sql.Tx, r synth.Run, now time.Time) error {
	first, last := r.BasePersonID, r.BasePersonID+int64(r.Spec.People)-1
	for _, t := range personOwnedTables {
		if _, err := tx.ExecContext(ctx, db.d.rebind(`DELETE FROM `+t+` WHERE person_id BETWEEN ? AND ?`), first, last); err != nil {
			return classify(err, "removing the previous population from "+t)
		}
	}
	// Merges go with the people they joined; anyone outside the run who
	// was merged into one of them stands alone again, with their own
	// golden record, which merging never changed.
	if _, err := tx.ExecContext(ctx, db.d.rebind(`DELETE FROM person_merges WHERE survivor BETWEEN ? AND ? OR retired BETWEEN ? AND ?`), first, last, first, last); err != nil {
		return classify(err, "removing the previous population's merges")
	}
	if _, err := tx.ExecContext(ctx, db.d.rebind(`UPDATE people SET merged_into = NULL WHERE merged_into BETWEEN ? AND ?`), first, last); err != nil {
		return classify(err, "removing the previous population's merges")
	}
	if _, err := tx.ExecContext(ctx, db.d.rebind(`DELETE FROM generation_runs WHERE id = ?`), r.ID); err != nil {
		return classify(err, "removing the previous generation run")
	}
	db.log.Info("generation run replaced", "run", r.ID, "people", r.Spec.People)
	return db.outbox(ctx, tx, EventPopulationReplaced, chunkEvent{Run: r.ID, FirstPersonID: first, LastPersonID: last}, now)
}

func (db *DB) outbox(ctx context.Context, tx queryExecer, kind string, payload any, now time.Time) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return apperr.Wrap(apperr.Internal, err, "encoding an outbox event")
	}
	if _, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO outbox (kind, person_id, payload, created_at) VALUES (?, NULL, ?, ?)`),
		kind, string(b), db.d.instant(now)); err != nil {
		return classify(err, "writing the outbox")
	}
	return nil
}

// runForUpdate reads a run inside tx; NotFound when there is none.
func (db *DB) runForUpdate(ctx context.Context, tx *sql.Tx, runID int64) (synth.Run, error) {
	r, err := scanRun(tx.QueryRowContext(ctx, db.d.rebind(`SELECT `+runColumns+` FROM generation_runs WHERE id = ?`), runID))
	if errors.Is(err, sql.ErrNoRows) {
		return r, apperr.Ef(apperr.NotFound, "no generation run %d (it may have been replaced)", runID)
	}
	if err != nil {
		return r, classify(err, "reading the generation run")
	}
	return r, nil
}

// SaveDirectory implements synth.Store: it upserts the whole directory, so
// saving it again (on resume) changes nothing.
func (db *DB) SaveDirectory(ctx context.Context, runID int64, d *directory.Directory) error {
	if err := db.ready(); err != nil {
		return err
	}
	if d == nil {
		return apperr.E(apperr.Invalid, "no directory to save")
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return classify(err, "saving the directory")
	}
	defer tx.Rollback()
	if _, err := db.runForUpdate(ctx, tx, runID); err != nil {
		return err
	}
	enc := &encoder{d: db.d}
	type upsert struct {
		table string
		sql   string
		n     int
		args  func(i int) []any
	}
	ups := []upsert{
		{"organisations", `INSERT INTO organisations (id, name, kind, parent_id, postcode, list_size) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind, parent_id = excluded.parent_id,
			postcode = excluded.postcode, list_size = excluded.list_size`,
			len(d.Organisations), func(i int) []any {
				o := &d.Organisations[i]
				return []any{o.ID, o.Name, string(o.Kind), o.ParentID, o.Postcode, int64(o.ListSize)}
			}},
		{"professionals", `INSERT INTO professionals (id, given_name, family_name, profession, org_id, registration_id) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET given_name = excluded.given_name, family_name = excluded.family_name,
			profession = excluded.profession, org_id = excluded.org_id, registration_id = excluded.registration_id`,
			len(d.Professionals), func(i int) []any {
				p := &d.Professionals[i]
				return []any{p.ID, p.GivenName, p.FamilyName, p.Profession, p.OrgID, p.RegistrationID}
			}},
		{"care_teams", `INSERT INTO care_teams (id, name, org_id, kind) VALUES (?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, org_id = excluded.org_id, kind = excluded.kind`,
			len(d.Teams), func(i int) []any {
				t := &d.Teams[i]
				return []any{t.ID, t.Name, t.OrgID, t.Kind}
			}},
		{"care_team_members", `INSERT INTO care_team_members (team_id, professional_id, role, start_date, end_date) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (team_id, professional_id) DO UPDATE SET role = excluded.role, start_date = excluded.start_date, end_date = excluded.end_date`,
			len(d.Members), func(i int) []any {
				m := &d.Members[i]
				return []any{m.TeamID, m.ProfessionalID, m.Role, enc.date(m.Start, "start_date"), enc.date(m.End, "end_date")}
			}},
	}
	for _, u := range ups {
		if u.n == 0 {
			continue
		}
		stmt, err := tx.PrepareContext(ctx, db.d.rebind(u.sql))
		if err != nil {
			return classify(err, "saving "+u.table)
		}
		for i := range u.n {
			args := u.args(i)
			if enc.err != nil {
				stmt.Close()
				return apperr.Ef(apperr.Invalid, "%s row %d: %s", u.table, i, apperr.Message(enc.err))
			}
			if _, err := stmt.ExecContext(ctx, args...); err != nil {
				stmt.Close()
				return classify(err, "saving "+u.table)
			}
		}
		stmt.Close()
	}
	if err := tx.Commit(); err != nil {
		return classify(err, "saving the directory")
	}
	return nil
}

// SaveChunk implements synth.Store: the whole batch, the run's progress and
// one outbox event commit together or not at all.
func (db *DB) SaveChunk(ctx context.Context, runID int64, chunk int, b *record.Batch) error {
	if err := db.ready(); err != nil {
		return err
	}
	if b == nil {
		return apperr.E(apperr.Invalid, "no batch to save")
	}
	now := time.Now()
	// A dedicated connection: on PostgreSQL the COPYs must run on the
	// connection that holds the transaction.
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return classify(err, "saving a chunk")
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return classify(err, "saving a chunk")
	}
	defer tx.Rollback()

	// Advance first: on PostgreSQL this locks the run row, so a second
	// writer of the same chunk waits here and then finds it done.
	res, err := tx.ExecContext(ctx, db.d.rebind(`UPDATE generation_runs SET chunks_done = chunks_done + 1
		WHERE id = ? AND chunks_done = ? AND complete = ?`), runID, chunk, false)
	if err != nil {
		return classify(err, "saving a chunk")
	}
	run, err := db.runForUpdate(ctx, tx, runID)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		switch {
		case err != nil:
			return classify(err, "saving a chunk")
		case run.Complete:
			return apperr.Ef(apperr.Conflict, "generation run %d is already complete", runID)
		default:
			return apperr.Ef(apperr.Conflict, "chunk %d is out of order: run %d has %d chunks saved, so chunk %d comes next", chunk, runID, run.ChunksDone, run.ChunksDone)
		}
	}
	if chunk < 0 || chunk >= run.Spec.Chunks() {
		return apperr.Ef(apperr.Invalid, "chunk %d is outside run %d, which has %d chunks", chunk, runID, run.Spec.Chunks())
	}
	first, last, err := personRange(b, run.BasePersonID, run.BasePersonID+int64(run.Spec.People)-1)
	if err != nil {
		return err
	}
	if err := db.d.bulkInsert(ctx, conn, &cachedTx{Tx: tx}, &encoder{d: db.d, b: b}); err != nil {
		return err
	}
	if err := db.outbox(ctx, tx, EventChunkLoaded, chunkEvent{Run: runID, Chunk: &chunk, FirstPersonID: first, LastPersonID: last}, now); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return classify(err, "committing a chunk")
	}
	return nil
}

// personRange checks that the batch holds whole people of the run's block:
// every person's id is in the block (replace deletes by that range, so a row
// outside it would outlive its population) and every row belongs to one of
// the batch's people (the schema has no foreign key to people; see 0001). It
// returns the batch's lowest and highest person id.
func personRange(b *record.Batch, lo, hi int64) (first, last int64, err error) {
	in := make(map[int64]struct{}, len(b.People))
	for i := range b.People {
		id := b.People[i].ID
		if id < lo || id > hi {
			return 0, 0, apperr.Ef(apperr.Invalid, "people: person %d is outside this run's person ids %d..%d", id, lo, hi)
		}
		if first == 0 || id < first {
			first = id
		}
		last = max(last, id)
		in[id] = struct{}{}
	}
	checks := []struct {
		table string
		n     int
		pid   func(int) int64
	}{
		{"source_identities", len(b.Identities), func(i int) int64 { return b.Identities[i].PersonID }},
		{"person_care_teams", len(b.TeamLinks), func(i int) int64 { return b.TeamLinks[i].PersonID }},
		{"conditions", len(b.Conditions), func(i int) int64 { return b.Conditions[i].PersonID }},
		{"observations", len(b.Observations), func(i int) int64 { return b.Observations[i].PersonID }},
		{"encounters", len(b.Encounters), func(i int) int64 { return b.Encounters[i].PersonID }},
		{"medications", len(b.Medications), func(i int) int64 { return b.Medications[i].PersonID }},
		{"immunisations", len(b.Immunisations), func(i int) int64 { return b.Immunisations[i].PersonID }},
		{"procedures", len(b.Procedures), func(i int) int64 { return b.Procedures[i].PersonID }},
		{"activity_costs", len(b.Costs), func(i int) int64 { return b.Costs[i].PersonID }},
		{"social_care_packages", len(b.Packages), func(i int) int64 { return b.Packages[i].PersonID }},
	}
	for _, c := range checks {
		for i := range c.n {
			if _, ok := in[c.pid(i)]; !ok {
				return 0, 0, apperr.Ef(apperr.Invalid, "%s: person %d is not one of the batch's people", c.table, c.pid(i))
			}
		}
	}
	return first, last, nil
}

// FinishGeneration implements synth.Store: it marks a run whose every chunk
// is saved as complete. Finishing a complete run again changes nothing.
func (db *DB) FinishGeneration(ctx context.Context, runID int64) error {
	if err := db.ready(); err != nil {
		return err
	}
	now := time.Now()
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return classify(err, "finishing generation")
	}
	defer tx.Rollback()
	run, err := db.runForUpdate(ctx, tx, runID)
	if err != nil {
		return err
	}
	if run.Complete {
		return nil
	}
	if run.ChunksDone < run.Spec.Chunks() {
		return apperr.Ef(apperr.Conflict, "generation run %d has %d of %d chunks saved; it cannot finish yet", runID, run.ChunksDone, run.Spec.Chunks())
	}
	if _, err := tx.ExecContext(ctx, db.d.rebind(`UPDATE generation_runs SET complete = ?, finished_at = ? WHERE id = ?`),
		true, db.d.instant(now), runID); err != nil {
		return classify(err, "finishing generation")
	}
	if err := tx.Commit(); err != nil {
		return classify(err, "finishing generation")
	}
	return nil
}

// LatestRun returns the newest generation run, if there is one.
func (db *DB) LatestRun(ctx context.Context) (synth.Run, bool, error) {
	if err := db.ready(); err != nil {
		return synth.Run{}, false, err
	}
	r, err := scanRun(db.sql.QueryRowContext(ctx, `SELECT `+runColumns+` FROM generation_runs ORDER BY id DESC LIMIT 1`))
	if errors.Is(err, sql.ErrNoRows) {
		return synth.Run{}, false, nil
	}
	if err != nil {
		return synth.Run{}, false, classify(err, "reading the latest generation run")
	}
	return r, true, nil
}
