package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/registry"
)

// Outbox kinds written by merges: consumers (the population engine) reload
// the people named, as cluster membership and golden records changed.
const (
	EventMerged   = "registry.merged"
	EventUnmerged = "registry.unmerged"
)

type mergeEvent struct {
	Merge    int64   `json:"merge"`
	Survivor int64   `json:"survivor"`
	Retired  int64   `json:"retired"`
	People   []int64 `json:"people"` // every member of the clusters concerned
}

// maxMergeDepth bounds the walk up merged_into: the rules make cycles
// impossible, and this keeps a damaged database from looping forever.
const maxMergeDepth = 10_000

const personSourceCols = `person_id, source, local_id, nhs_number, nhs_number_status, given_name, family_name,
	birth_date, sex, postcode, imd_decile, ethnicity, practice_id, date_of_death, received_at`

// sourceRecord makes the person_sources record of demographics p received
// from key; a record without its own receipt time takes now.
func sourceRecord(pid int64, key identityKey, p *registry.Person, now time.Time) registry.SourceRecord {
	r := registry.SourceRecord{LocalID: key.local, Person: *p}
	r.ID, r.Source = pid, key.source
	if r.ReceivedAt.IsZero() {
		r.ReceivedAt = now
	}
	r.ReceivedAt = r.ReceivedAt.UTC().Truncate(time.Microsecond)
	return r
}

func (db *DB) personSourceArgs(r *registry.SourceRecord) []any {
	d := db.d
	return []any{r.ID, r.Source, r.LocalID, r.NHSNumber, string(r.NHSNumberStatus), r.GivenName, r.FamilyName,
		d.date(r.BirthDate), string(r.Sex), r.Postcode, int64(r.IMDDecile), r.Ethnicity, r.PracticeID, d.date(r.DateOfDeath), d.instant(r.ReceivedAt)}
}

// putPersonSource stores the latest demographics of one (source, local id),
// replacing what it sent before (stored says there is such a row). The row
// stays with the person it was first stored for: it moves only with its
// identity (an A40). An UPDATE, or an INSERT when there is nothing to
// update: on SQLite an upsert (INSERT … ON CONFLICT) cost twice as much for
// the common case of a re-sent record.
func (db *DB) putPersonSource(ctx context.Context, tx queryExecer, r *registry.SourceRecord, stored bool) error {
	d := db.d
	if stored {
		res, err := tx.ExecContext(ctx, d.rebind(`UPDATE person_sources SET nhs_number = ?, nhs_number_status = ?, given_name = ?,
		family_name = ?, birth_date = ?, sex = ?, postcode = ?, imd_decile = ?, ethnicity = ?, practice_id = ?, date_of_death = ?,
		received_at = ? WHERE source = ? AND local_id = ? AND local_id <> ''`),
			r.NHSNumber, string(r.NHSNumberStatus), r.GivenName, r.FamilyName, d.date(r.BirthDate), string(r.Sex), r.Postcode,
			int64(r.IMDDecile), r.Ethnicity, r.PracticeID, d.date(r.DateOfDeath), d.instant(r.ReceivedAt), r.Source, r.LocalID)
		if err != nil {
			return classify(err, "storing a source's demographics")
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return classify(err, "storing a source's demographics")
		}
		// Deleted since it was read (by another transaction, on
		// PostgreSQL): store it anew.
	}
	_, err := tx.ExecContext(ctx, d.rebind(`INSERT INTO person_sources (`+personSourceCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`), db.personSourceArgs(r)...)
	return classify(err, "storing a source's demographics")
}

// treeCTE lists a person and everyone merged into them, at any depth.
const treeCTE = `WITH RECURSIVE tree (person_id) AS (
	SELECT person_id FROM people WHERE person_id = ?
	UNION ALL
	SELECT p.person_id FROM people p JOIN tree t ON p.merged_into = t.person_id)`

// treeRecords reads the source records of id and everyone merged into them.
// Most people have nobody merged into them: for them a plain read replaces
// the recursive query, which SQLite runs five times slower (it made
// re-sending a person's demographics cost 690 µs instead of 140).
func (db *DB) treeRecords(ctx context.Context, tx *cachedTx, id int64) ([]registry.SourceRecord, error) {
	var members bool
	if err := tx.QueryRowContext(ctx, db.d.rebind(`SELECT EXISTS (SELECT 1 FROM people WHERE merged_into = ?)`), id).Scan(&members); err != nil {
		return nil, classify(err, "reading source demographics")
	}
	q := `SELECT ` + personSourceCols + ` FROM person_sources WHERE person_id = ?`
	if members {
		q = treeCTE + ` SELECT ps.person_id, ps.source, ps.local_id, ps.nhs_number,
		ps.nhs_number_status, ps.given_name, ps.family_name, ps.birth_date, ps.sex, ps.postcode, ps.imd_decile, ps.ethnicity,
		ps.practice_id, ps.date_of_death, ps.received_at FROM person_sources ps JOIN tree t ON ps.person_id = t.person_id`
	}
	rows, err := tx.QueryContext(ctx, db.d.rebind(q), id)
	if err != nil {
		return nil, classify(err, "reading source demographics")
	}
	defer rows.Close()
	var out []registry.SourceRecord
	for rows.Next() {
		r, err := scanSourceRecord(rows)
		if err != nil {
			return nil, classify(err, "reading source demographics")
		}
		out = append(out, r)
	}
	return out, classify(rows.Err(), "reading source demographics")
}

// scanSourceRecord reads a row of personSourceCols.
func scanSourceRecord(s interface{ Scan(...any) error }) (registry.SourceRecord, error) {
	var r registry.SourceRecord
	err := s.Scan(&r.ID, &r.Source, &r.LocalID, &r.NHSNumber, &r.NHSNumberStatus, &r.GivenName, &r.FamilyName,
		timeDest{&r.BirthDate}, &r.Sex, &r.Postcode, &r.IMDDecile, &r.Ethnicity, &r.PracticeID, timeDest{&r.DateOfDeath},
		timeDest{&r.ReceivedAt})
	return r, err
}

// treeMembers lists id and everyone merged into them, ascending.
func (db *DB) treeMembers(ctx context.Context, tx *cachedTx, id int64) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, db.d.rebind(treeCTE+` SELECT person_id FROM tree`), id)
	if err != nil {
		return nil, classify(err, "reading a cluster")
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var m int64
		if err := rows.Scan(&m); err != nil {
			return nil, classify(err, "reading a cluster")
		}
		out = append(out, m)
	}
	slices.Sort(out)
	return out, classify(rows.Err(), "reading a cluster")
}

// chain is id followed by the people it is merged into, up to its survivor.
// NotFound when id is nobody.
func (db *DB) chain(ctx context.Context, tx *cachedTx, id int64) ([]int64, error) {
	out := []int64{id}
	for at := id; ; {
		var next sql.NullInt64
		err := tx.QueryRowContext(ctx, db.d.rebind(`SELECT merged_into FROM people WHERE person_id = ?`), at).Scan(&next)
		if errors.Is(err, sql.ErrNoRows) {
			if at == id {
				return nil, apperr.Ef(apperr.NotFound, "no person %d", id)
			}
			return nil, apperr.Ef(apperr.Internal, "sqlstore: person %d is merged into missing person %d", out[len(out)-2], at)
		}
		if err != nil {
			return nil, classify(err, "following a merge")
		}
		if !next.Valid {
			return out, nil
		}
		if len(out) > maxMergeDepth || slices.Contains(out, next.Int64) {
			return nil, apperr.Ef(apperr.Internal, "sqlstore: the merges above person %d form a cycle", id)
		}
		out = append(out, next.Int64)
		at = next.Int64
	}
}

// provenanceJSON is how people.provenance is stored: field name to record.
type provenanceJSON map[registry.Field]struct {
	PersonID   int64     `json:"person_id"`
	Source     string    `json:"source"`
	LocalID    string    `json:"local_id"`
	ReceivedAt time.Time `json:"received_at"`
	Tier       string    `json:"tier,omitempty"`
}

func encodeProvenance(p registry.Provenance) (string, error) {
	out := make(provenanceJSON, len(p))
	for f, s := range p {
		v := out[f]
		v.PersonID, v.Source, v.LocalID, v.ReceivedAt, v.Tier = s.PersonID, s.Source, s.LocalID, s.ReceivedAt.UTC(), s.Tier
		out[f] = v
	}
	b, err := json.Marshal(out)
	if err != nil {
		return "", apperr.Wrap(apperr.Internal, err, "encoding provenance")
	}
	return string(b), nil
}

func decodeProvenance(s string) (registry.Provenance, error) {
	var in provenanceJSON
	if err := json.Unmarshal([]byte(s), &in); err != nil {
		return nil, apperr.Wrap(apperr.Internal, err, "reading a golden record's provenance")
	}
	out := make(registry.Provenance, len(in))
	for f, v := range in {
		out[f] = registry.FieldSource{PersonID: v.PersonID, Source: v.Source, LocalID: v.LocalID, ReceivedAt: v.ReceivedAt.UTC(), Tier: v.Tier}
	}
	return out, nil
}

// goldenArgs are the people columns of a golden record, as personWriteCols
// lists them, then provenance: NULL when a single record supplied it all.
func (db *DB) goldenArgs(g *registry.Golden, records int) ([]any, error) {
	args := personValues(db.d, &g.Person)
	if records <= 1 {
		return append(args, nil), nil
	}
	s, err := encodeProvenance(g.Provenance)
	if err != nil {
		return nil, err
	}
	return append(args, s), nil
}

// refreshGolden recomputes id's golden record from their source records and
// those of everyone merged into them. A person left with no source record
// (their only identity moved away by an A40) keeps the row they had.
func (db *DB) refreshGolden(ctx context.Context, tx *cachedTx, id int64) error {
	recs, err := db.treeRecords(ctx, tx, id)
	if err != nil {
		return err
	}
	return db.writeGolden(ctx, tx, id, recs)
}

// writeGolden stores the golden record computed from recs as id's row.
func (db *DB) writeGolden(ctx context.Context, tx *cachedTx, id int64, recs []registry.SourceRecord) error {
	g, ok := registry.ComputeGolden(id, recs, registry.DefaultTrust)
	if !ok {
		return nil
	}
	args, err := db.goldenArgs(&g, len(recs))
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, db.d.rebind(`UPDATE people SET `+personWriteCols+`, provenance = ? WHERE person_id = ?`), append(args, id)...); err != nil {
		return classify(err, "updating a golden record")
	}
	return nil
}

// refreshUp recomputes the golden record of id and of every person above
// them, up to the survivor, and returns the survivor.
func (db *DB) refreshUp(ctx context.Context, tx *cachedTx, id int64) (int64, error) {
	ch, err := db.chain(ctx, tx, id)
	if err != nil {
		return 0, err
	}
	for _, p := range ch {
		if err := db.refreshGolden(ctx, tx, p); err != nil {
			return 0, err
		}
	}
	return ch[len(ch)-1], nil
}

const mergeCols = `id, survivor, retired, reason, decided_by, merged_at, unmerged_at, unmerged_by, unmerge_reason`

func scanMerge(s interface{ Scan(...any) error }) (registry.Merge, error) {
	var m registry.Merge
	err := s.Scan(&m.ID, &m.Survivor, &m.Retired, &m.Reason, &m.DecidedBy, timeDest{&m.MergedAt}, timeDest{&m.UnmergedAt},
		&m.UnmergedBy, &m.UnmergeReason)
	return m, err
}

// begin starts a registry write transaction with compiled statements.
func (db *DB) begin(ctx context.Context, what string) (*cachedTx, error) {
	if err := db.ready(); err != nil {
		return nil, err
	}
	db.warm(ctx)
	sqlTx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return nil, classify(err, what)
	}
	return db.cached(sqlTx), nil
}

// MergePeople merges retired into survivor (see registry.Merge): retired's
// merged_into names survivor, the merge is recorded, the survivor's golden
// record is recomputed over the whole cluster and an outbox event names the
// cluster, all in one transaction.
func (db *DB) MergePeople(ctx context.Context, survivor, retired int64, reason registry.MergeReason, by string, now time.Time) (registry.Merge, error) {
	if err := checkMergeInput(reason, by); err != nil {
		return registry.Merge{}, err
	}
	tx, err := db.begin(ctx, "merging people")
	if err != nil {
		return registry.Merge{}, err
	}
	defer tx.Rollback()
	m, err := db.mergeTx(ctx, tx, survivor, retired, reason, by, now)
	if err != nil {
		return registry.Merge{}, err
	}
	if err := tx.Commit(); err != nil {
		return registry.Merge{}, classify(err, "committing a merge")
	}
	db.peopleChanged(ctx, []int64{survivor, retired})
	return m, nil
}

func checkMergeInput(reason registry.MergeReason, by string) error {
	if err := registry.CheckMergeReason(reason); err != nil {
		return err
	}
	if strings.TrimSpace(by) == "" {
		return apperr.E(apperr.Invalid, "registry: a merge needs who decided it")
	}
	return nil
}

// lockPeople reads the merge state of people inside tx, locking their rows
// on PostgreSQL so that two merges of the same people cannot interleave
// (SQLite's write transactions are already serial).
func (db *DB) lockPeople(ctx context.Context, tx *cachedTx, ids ...int64) (map[int64]registry.MergeState, error) {
	in, args := inList(ids)
	q := `SELECT person_id, merged_into FROM people WHERE person_id ` + in + ` ORDER BY person_id`
	if db.d.postgres {
		q += ` FOR UPDATE`
	}
	rows, err := tx.Tx.QueryContext(ctx, db.d.rebind(q), args...)
	if err != nil {
		return nil, classify(err, "reading people to merge")
	}
	defer rows.Close()
	out := map[int64]registry.MergeState{}
	for rows.Next() {
		var s registry.MergeState
		if err := rows.Scan(&s.ID, idDest{&s.MergedInto}); err != nil {
			return nil, classify(err, "reading people to merge")
		}
		out[s.ID] = s
	}
	if err := rows.Err(); err != nil {
		return nil, classify(err, "reading people to merge")
	}
	for _, id := range ids {
		if _, ok := out[id]; !ok {
			return nil, apperr.Ef(apperr.NotFound, "no person %d", id)
		}
	}
	return out, nil
}

// mergeTx is MergePeople inside tx.
func (db *DB) mergeTx(ctx context.Context, tx *cachedTx, survivor, retired int64, reason registry.MergeReason, by string, now time.Time) (registry.Merge, error) {
	states, err := db.lockPeople(ctx, tx, survivor, retired)
	if err != nil {
		return registry.Merge{}, err
	}
	if err := registry.CheckMerge(states[survivor], states[retired]); err != nil {
		return registry.Merge{}, err
	}
	m := registry.Merge{Survivor: survivor, Retired: retired, Reason: reason, DecidedBy: by, MergedAt: now.UTC().Truncate(time.Microsecond)}
	if _, err := tx.ExecContext(ctx, db.d.rebind(`UPDATE people SET merged_into = ? WHERE person_id = ?`), survivor, retired); err != nil {
		return registry.Merge{}, classify(err, "merging people")
	}
	if err := tx.QueryRowContext(ctx, db.d.rebind(`INSERT INTO person_merges (survivor, retired, reason, decided_by, merged_at)
		VALUES (?, ?, ?, ?, ?) RETURNING id`), survivor, retired, string(reason), by, db.d.instant(m.MergedAt)).Scan(&m.ID); err != nil {
		return registry.Merge{}, classify(err, "recording a merge")
	}
	if err := db.refreshGolden(ctx, tx, survivor); err != nil {
		return registry.Merge{}, err
	}
	members, err := db.treeMembers(ctx, tx, survivor)
	if err != nil {
		return registry.Merge{}, err
	}
	if err := db.outbox(ctx, tx, EventMerged, mergeEvent{Merge: m.ID, Survivor: survivor, Retired: retired, People: members}, now); err != nil {
		return registry.Merge{}, err
	}
	return m, nil
}

// UnmergePeople undoes a merge exactly: the retired person stands alone
// again with their own rows, identities and golden record, the survivor's
// golden record (and that of anyone they were merged into since) is
// recomputed without them, and the merge keeps its history with who undid
// it and why.
func (db *DB) UnmergePeople(ctx context.Context, mergeID int64, by, why string, now time.Time) (registry.Merge, error) {
	by, why = strings.TrimSpace(by), strings.TrimSpace(why)
	switch {
	case by == "":
		return registry.Merge{}, apperr.E(apperr.Invalid, "registry: an unmerge needs who decided it")
	case why == "":
		return registry.Merge{}, apperr.E(apperr.Invalid, "registry: say why the merge is undone")
	}
	tx, err := db.begin(ctx, "unmerging people")
	if err != nil {
		return registry.Merge{}, err
	}
	defer tx.Rollback()
	q := `SELECT ` + mergeCols + ` FROM person_merges WHERE id = ?`
	if db.d.postgres {
		q += ` FOR UPDATE`
	}
	m, err := scanMerge(tx.Tx.QueryRowContext(ctx, db.d.rebind(q), mergeID))
	if errors.Is(err, sql.ErrNoRows) {
		return registry.Merge{}, apperr.Ef(apperr.NotFound, "no merge %d", mergeID)
	}
	if err != nil {
		return registry.Merge{}, classify(err, "reading a merge")
	}
	if !m.Active() {
		return registry.Merge{}, apperr.Ef(apperr.Conflict, "merge %d was already undone at %s", m.ID, m.UnmergedAt.Format(time.RFC3339))
	}
	states, err := db.lockPeople(ctx, tx, m.Survivor, m.Retired)
	if err != nil {
		return registry.Merge{}, err
	}
	if states[m.Retired].MergedInto != m.Survivor {
		return registry.Merge{}, apperr.Ef(apperr.Internal, "sqlstore: merge %d stands but person %d is not merged into %d", m.ID, m.Retired, m.Survivor)
	}
	m.UnmergedAt, m.UnmergedBy, m.UnmergeReason = now.UTC().Truncate(time.Microsecond), by, why
	if _, err := tx.ExecContext(ctx, db.d.rebind(`UPDATE people SET merged_into = NULL WHERE person_id = ?`), m.Retired); err != nil {
		return registry.Merge{}, classify(err, "unmerging people")
	}
	if _, err := tx.ExecContext(ctx, db.d.rebind(`UPDATE person_merges SET unmerged_at = ?, unmerged_by = ?, unmerge_reason = ? WHERE id = ?`),
		db.d.instant(m.UnmergedAt), by, why, m.ID); err != nil {
		return registry.Merge{}, classify(err, "recording an unmerge")
	}
	if err := db.refreshGolden(ctx, tx, m.Retired); err != nil {
		return registry.Merge{}, err
	}
	root, err := db.refreshUp(ctx, tx, m.Survivor)
	if err != nil {
		return registry.Merge{}, err
	}
	kept, err := db.treeMembers(ctx, tx, root)
	if err != nil {
		return registry.Merge{}, err
	}
	freed, err := db.treeMembers(ctx, tx, m.Retired)
	if err != nil {
		return registry.Merge{}, err
	}
	people := slices.Sorted(slices.Values(append(kept, freed...)))
	if err := db.outbox(ctx, tx, EventUnmerged, mergeEvent{Merge: m.ID, Survivor: m.Survivor, Retired: m.Retired, People: people}, now); err != nil {
		return registry.Merge{}, err
	}
	if err := tx.Commit(); err != nil {
		return registry.Merge{}, classify(err, "committing an unmerge")
	}
	db.peopleChanged(ctx, people)
	return m, nil
}

// PersonCluster returns the cluster id belongs to: the survivor (id
// itself when it was never merged) and every member.
func (db *DB) PersonCluster(ctx context.Context, id int64) (registry.Cluster, error) {
	if err := db.ready(); err != nil {
		return registry.Cluster{}, err
	}
	sqlTx, err := db.sql.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return registry.Cluster{}, classify(err, "reading a cluster")
	}
	defer sqlTx.Rollback()
	tx := &cachedTx{Tx: sqlTx}
	return db.cluster(ctx, tx, id)
}

func (db *DB) cluster(ctx context.Context, tx *cachedTx, id int64) (registry.Cluster, error) {
	ch, err := db.chain(ctx, tx, id)
	if err != nil {
		return registry.Cluster{}, err
	}
	c := registry.Cluster{Survivor: ch[len(ch)-1]}
	if c.Members, err = db.treeMembers(ctx, tx, c.Survivor); err != nil {
		return registry.Cluster{}, err
	}
	return c, nil
}

// PersonMerges lists, oldest first, every merge (standing or undone) that
// involved a member of id's cluster.
func (db *DB) PersonMerges(ctx context.Context, id int64) ([]registry.Merge, error) {
	if err := db.ready(); err != nil {
		return nil, err
	}
	sqlTx, err := db.sql.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, classify(err, "reading merges")
	}
	defer sqlTx.Rollback()
	tx := &cachedTx{Tx: sqlTx}
	c, err := db.cluster(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	in, args := inList(c.Members)
	rows, err := tx.QueryContext(ctx, db.d.rebind(`SELECT `+mergeCols+` FROM person_merges WHERE survivor `+in+` OR retired `+in+` ORDER BY id`),
		append(args, args...)...)
	if err != nil {
		return nil, classify(err, "reading merges")
	}
	defer rows.Close()
	var out []registry.Merge
	for rows.Next() {
		m, err := scanMerge(rows)
		if err != nil {
			return nil, classify(err, "reading merges")
		}
		out = append(out, m)
	}
	return out, classify(rows.Err(), "reading merges")
}

// GoldenRecord returns the golden record of id's cluster (the survivor's
// materialised row and the provenance of each field) and the cluster.
func (db *DB) GoldenRecord(ctx context.Context, id int64) (registry.Golden, registry.Cluster, error) {
	if err := db.ready(); err != nil {
		return registry.Golden{}, registry.Cluster{}, err
	}
	sqlTx, err := db.sql.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return registry.Golden{}, registry.Cluster{}, classify(err, "reading a golden record")
	}
	defer sqlTx.Rollback()
	tx := &cachedTx{Tx: sqlTx}
	c, err := db.cluster(ctx, tx, id)
	if err != nil {
		return registry.Golden{}, registry.Cluster{}, err
	}
	var g registry.Golden
	var prov sql.NullString
	row := tx.QueryRowContext(ctx, db.d.rebind(`SELECT `+personColumns+`, provenance FROM people WHERE person_id = ?`), c.Survivor)
	var p registry.Person
	if err := row.Scan(&p.ID, &p.NHSNumber, &p.NHSNumberStatus, &p.GivenName, &p.FamilyName, timeDest{&p.BirthDate},
		&p.Sex, &p.Postcode, &p.IMDDecile, &p.Ethnicity, &p.PracticeID, timeDest{&p.DateOfDeath}, &p.Source, timeDest{&p.ReceivedAt}, &prov); err != nil {
		return registry.Golden{}, registry.Cluster{}, classify(err, "reading a golden record")
	}
	g.Person = p
	if prov.Valid {
		if g.Provenance, err = decodeProvenance(prov.String); err != nil {
			return registry.Golden{}, registry.Cluster{}, err
		}
		return g, c, nil
	}
	// NULL: the one source record supplied every field (migration 0007).
	recs, err := db.treeRecords(ctx, tx, c.Survivor)
	if err != nil {
		return registry.Golden{}, registry.Cluster{}, err
	}
	computed, _ := registry.ComputeGolden(c.Survivor, recs, registry.DefaultTrust)
	g.Provenance = computed.Provenance
	return g, c, nil
}
