package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/fhir/query"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/registry"
)

// The FHIR REST API's reads (fhir/rest.Store). Every query here either
// names a person (the primary keys lead with person_id) or is a search the
// API bounds: people by NHS number or source identity use their indexes;
// name, birth date and gender searches and population-wide row searches
// scan, which the API allows only with a cap on candidates or to a caller
// that reads the whole population, and always paged.

// maxInList bounds the ids bound into one IN list (SQLite allows 32766
// variables; PostgreSQL 65535).
const maxInList = 1000

// Patients returns the people among ids that exist, in id order, with
// their source identities (in person, source, local id order). One query
// per chunk of ids brings both, joined: reading one Patient is the API's
// hottest path, and SQLite spends as long preparing a statement as running
// a small one.
func (db *DB) Patients(ctx context.Context, ids []int64) ([]registry.Person, []registry.SourceIdentity, error) {
	if err := db.ready(); err != nil {
		return nil, nil, err
	}
	var people []registry.Person
	var idents []registry.SourceIdentity
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), maxInList)]
		ids = ids[len(chunk):]
		// inKeys, not inList: on PostgreSQL one statement for any number
		// of ids. After every ingest commit the linkage index reads the
		// people touched, a different number each time; preparing an IN
		// list of each length cost a tenth of a PostgreSQL import.
		in, args := inKeys(db.d, "p.person_id", chunk)
		rows, err := db.sql.QueryContext(ctx, db.d.rebind(`SELECT `+personJoinColumns+`, si.source, si.local_id, si.received_at, si.provenance
			FROM people p LEFT JOIN source_identities si ON si.person_id = p.person_id
			WHERE `+in+` ORDER BY p.person_id, si.source, si.local_id`), args...)
		if err != nil {
			return nil, nil, classify(err, "reading people")
		}
		for rows.Next() {
			var p registry.Person
			var si registry.SourceIdentity
			var source, local, prov sql.NullString
			err := rows.Scan(&p.ID, &p.NHSNumber, &p.NHSNumberStatus, &p.GivenName, &p.FamilyName, timeDest{&p.BirthDate},
				&p.Sex, &p.Postcode, &p.IMDDecile, &p.Ethnicity, &p.PracticeID, timeDest{&p.DateOfDeath}, &p.Source, timeDest{&p.ReceivedAt},
				&source, &local, timeDest{&si.ReceivedAt}, &prov)
			if err != nil {
				rows.Close()
				return nil, nil, classify(err, "reading people")
			}
			if len(people) == 0 || people[len(people)-1].ID != p.ID {
				people = append(people, p)
			}
			if source.Valid {
				si.PersonID, si.Source, si.LocalID, si.Provenance = p.ID, source.String, local.String, prov.String
				idents = append(idents, si)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, nil, classify(err, "reading people")
		}
	}
	slices.SortFunc(people, func(a, b registry.Person) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortStableFunc(idents, func(a, b registry.SourceIdentity) int { return cmp.Compare(a.PersonID, b.PersonID) })
	return people, idents, nil
}

// personJoinColumns is personColumns of people aliased p.
var personJoinColumns = func() string {
	cols := strings.Split(personColumns, ",")
	for i, c := range cols {
		cols[i] = "p." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}()

// inList is "IN (?, ?, …)" for ids, with its arguments.
func inList(ids []int64) (string, []any) {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	if len(ids) == 0 {
		return "IN (NULL)", nil
	}
	return "IN (" + strings.Repeat("?, ", len(ids)-1) + "?)", args
}

// FindPeople returns the ids of the people matching q, in id order.
func (db *DB) FindPeople(ctx context.Context, q query.People) ([]int64, error) {
	if err := db.ready(); err != nil {
		return nil, err
	}
	where, args, err := db.peopleWhere(q.Where)
	if err != nil {
		return nil, err
	}
	sqlText := `SELECT person_id FROM people` + where + ` ORDER BY person_id` + db.limitOffset(q.Limit, q.Offset)
	rows, err := db.sql.QueryContext(ctx, db.d.rebind(sqlText), args...)
	if err != nil {
		return nil, classify(err, "searching people")
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, classify(err, "searching people")
		}
		ids = append(ids, id)
	}
	return ids, classify(rows.Err(), "searching people")
}

// CountPeople counts the people matching q (Offset and Limit ignored).
func (db *DB) CountPeople(ctx context.Context, q query.People) (int, error) {
	if err := db.ready(); err != nil {
		return 0, err
	}
	where, args, err := db.peopleWhere(q.Where)
	if err != nil {
		return 0, err
	}
	var n int
	err = db.sql.QueryRowContext(ctx, db.d.rebind(`SELECT count(*) FROM people`+where), args...).Scan(&n)
	return n, classify(err, "counting people")
}

// limitOffset pages a query; 0 means no limit (SQLite writes that LIMIT -1,
// PostgreSQL LIMIT ALL).
func (db *DB) limitOffset(limit, offset int) string {
	s := ""
	switch {
	case limit > 0:
		s = " LIMIT " + strconv.Itoa(limit)
	case offset > 0 && db.d.postgres:
		s = " LIMIT ALL"
	case offset > 0:
		s = " LIMIT -1"
	}
	if offset > 0 {
		s += " OFFSET " + strconv.Itoa(offset)
	}
	return s
}

// like is the case-insensitive LIKE of the dialect: SQLite's LIKE already
// ignores case (ASCII letters only); PostgreSQL's ILIKE folds every letter.
func (db *DB) like() string {
	if db.d.postgres {
		return "ILIKE"
	}
	return "LIKE"
}

// likePrefix escapes s for a LIKE pattern that matches what starts with it.
func likePrefix(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s) + "%"
}

// whereBuilder collects AND-ed conditions and their arguments.
type whereBuilder struct {
	conds []string
	args  []any
}

func (w *whereBuilder) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

func (w *whereBuilder) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// clauses adds each clause as an OR of its filters, each made by one.
func (w *whereBuilder) clauses(cs []query.Clause, one func(f query.Filter) (string, []any, error)) error {
	for _, c := range cs {
		if len(c) == 0 {
			continue
		}
		parts := make([]string, 0, len(c))
		var args []any
		for _, f := range c {
			s, a, err := one(f)
			if err != nil {
				return err
			}
			parts = append(parts, s)
			args = append(args, a...)
		}
		w.add("("+strings.Join(parts, " OR ")+")", args...)
	}
	return nil
}

func (db *DB) peopleWhere(cs []query.Clause) (string, []any, error) {
	var w whereBuilder
	like := db.like()
	err := w.clauses(cs, func(f query.Filter) (string, []any, error) {
		switch f.Field {
		case query.Identifier:
			switch {
			case f.AnySystem:
				// nhs_number <> '' lets SQLite use the partial index on
				// NHS numbers (people without one are not in it).
				return `((nhs_number <> '' AND nhs_number = ?) OR person_id IN (SELECT person_id FROM source_identities WHERE local_id = ?))`, []any{f.Value, f.Value}, nil
			case f.System == query.IdentifierNHS:
				return `(nhs_number <> '' AND nhs_number = ? AND nhs_number_status <> 'invalid')`, []any{f.Value}, nil
			case f.System == query.IdentifierInvalidNHS:
				return `(nhs_number <> '' AND nhs_number = ? AND nhs_number_status = 'invalid')`, []any{f.Value}, nil
			}
			return `person_id IN (SELECT person_id FROM source_identities WHERE source = ? AND local_id = ?)`, []any{f.System, f.Value}, nil
		case query.Name:
			p := likePrefix(f.Value)
			return `(family_name ` + like + ` ? ESCAPE '\' OR given_name ` + like + ` ? ESCAPE '\' OR given_name ` + like + ` ? ESCAPE '\')`,
				[]any{p, p, "% " + p}, nil
		case query.Family:
			return `family_name ` + like + ` ? ESCAPE '\'`, []any{likePrefix(f.Value)}, nil
		case query.Given:
			// The registry keeps given names joined by spaces; each is a
			// given name of its own for the search.
			p := likePrefix(f.Value)
			return `(given_name ` + like + ` ? ESCAPE '\' OR given_name ` + like + ` ? ESCAPE '\')`, []any{p, "% " + p}, nil
		case query.BirthDate:
			s, a := dateCond("birth_date", f.Date, db.d.date)
			return s, a, nil
		case query.Gender:
			return `sex = ?`, []any{f.Value}, nil
		}
		return "", nil, apperr.Ef(apperr.Internal, "sqlstore: people cannot be searched by field %d", f.Field)
	})
	return w.String(), w.args, err
}

// dateCond tests a point-like date column against a search range; enc
// encodes a bound for the column's type.
func dateCond(col string, r query.DateRange, enc func(time.Time) any) (string, []any) {
	switch r.Prefix {
	case query.Ge:
		return col + ` >= ?`, []any{enc(r.From)}
	case query.Gt:
		return col + ` >= ?`, []any{enc(r.To)}
	case query.Le:
		return col + ` < ?`, []any{enc(r.To)}
	case query.Lt:
		return col + ` < ?`, []any{enc(r.From)}
	}
	return `(` + col + ` >= ? AND ` + col + ` < ?)`, []any{enc(r.From), enc(r.To)}
}

// periodCond tests a period (start, end; no end = ongoing) against a
// search range, as query.DateRange describes.
func periodCond(start, end string, r query.DateRange, enc func(time.Time) any) (string, []any) {
	switch r.Prefix {
	case query.Ge:
		return `(` + end + ` IS NULL OR ` + end + ` >= ?)`, []any{enc(r.From)}
	case query.Gt:
		return `(` + end + ` IS NULL OR ` + end + ` >= ?)`, []any{enc(r.To)}
	case query.Le:
		return start + ` < ?`, []any{enc(r.To)}
	case query.Lt:
		return start + ` < ?`, []any{enc(r.From)}
	}
	return `(` + start + ` >= ? AND ` + end + ` IS NOT NULL AND ` + end + ` < ?)`, []any{enc(r.From), enc(r.To)}
}

// fhirTable is one kind of the record as the REST API reads it.
type fhirTable struct {
	typ, name string
	cols      string
	scan      func(s *sql.Rows, b *record.Batch) error
	date      func(db *DB, r query.DateRange) (string, []any)
	status    func(v string) (string, []any)
}

func (t *fhirTable) dateIs(col string, instant bool) func(db *DB, r query.DateRange) (string, []any) {
	return func(db *DB, r query.DateRange) (string, []any) {
		if instant {
			return dateCond(col, r, db.d.instant)
		}
		return dateCond(col, r, db.d.date)
	}
}

// never is a condition no row meets: a status the export never writes.
func never() (string, []any) { return "1 = 0", nil }

var fhirTables = func() []*fhirTable {
	ts := []*fhirTable{
		{
			typ: "Condition", name: "conditions",
			cols: `person_id, id, code_system, code, display, onset, abatement, status, source, source_ref, received_at`,
			scan: func(s *sql.Rows, b *record.Batch) error {
				var r record.Condition
				err := s.Scan(&r.PersonID, &r.ID, &r.Code.System, &r.Code.Code, &r.Code.Display, timeDest{&r.Onset}, timeDest{&r.Abatement}, &r.Status,
					&r.Source, &r.SourceRef, timeDest{&r.ReceivedAt})
				b.Conditions = append(b.Conditions, r)
				return err
			},
			// As the export writes it (con-4): an abatement date makes an
			// active condition resolved.
			status: func(v string) (string, []any) {
				switch v {
				case "active":
					return `(status IN ('active', '') AND abatement IS NULL)`, nil
				case "resolved":
					return `(status = 'resolved' OR (status IN ('active', '') AND abatement IS NOT NULL))`, nil
				case "inactive":
					return `status = 'inactive'`, nil
				}
				return never()
			},
		},
		{
			typ: "Observation", name: "observations",
			cols: `person_id, id, code_system, code, display, value, unit, value_code_system, value_code, value_display, effective_at, encounter_id,
				source, source_ref, received_at`,
			scan: func(s *sql.Rows, b *record.Batch) error {
				var r record.Observation
				err := s.Scan(&r.PersonID, &r.ID, &r.Code.System, &r.Code.Code, &r.Code.Display, floatDest{&r.Value}, &r.Unit,
					&r.ValueCode.System, &r.ValueCode.Code, &r.ValueCode.Display, timeDest{&r.Effective}, idDest{&r.EncounterID},
					&r.Source, &r.SourceRef, timeDest{&r.ReceivedAt})
				b.Observations = append(b.Observations, r)
				return err
			},
			status: func(v string) (string, []any) {
				if v == "final" {
					return "1 = 1", nil
				}
				return never()
			},
		},
		{
			typ: "Encounter", name: "encounters",
			cols: `person_id, id, class, start_at, end_at, org_id, diagnosis_system, diagnosis_code, diagnosis_display, discharge,
				source, source_ref, received_at`,
			scan: func(s *sql.Rows, b *record.Batch) error {
				var r record.Encounter
				err := s.Scan(&r.PersonID, &r.ID, &r.Class, timeDest{&r.Start}, timeDest{&r.End}, &r.OrgID,
					&r.Diagnosis.System, &r.Diagnosis.Code, &r.Diagnosis.Display, &r.Discharge, &r.Source, &r.SourceRef, timeDest{&r.ReceivedAt})
				b.Encounters = append(b.Encounters, r)
				return err
			},
			date: func(db *DB, r query.DateRange) (string, []any) {
				return periodCond("start_at", "end_at", r, db.d.instant)
			},
			status: func(v string) (string, []any) {
				switch v {
				case "in-progress":
					return `end_at IS NULL`, nil
				case "finished":
					return `end_at IS NOT NULL`, nil
				}
				return never()
			},
		},
		{
			typ: "MedicationRequest", name: "medications",
			cols: `person_id, id, code_system, code, display, start_date, end_date, status, source, source_ref, received_at`,
			scan: func(s *sql.Rows, b *record.Batch) error {
				var r record.Medication
				err := s.Scan(&r.PersonID, &r.ID, &r.Code.System, &r.Code.Code, &r.Code.Display, timeDest{&r.Start}, timeDest{&r.End}, &r.Status,
					&r.Source, &r.SourceRef, timeDest{&r.ReceivedAt})
				b.Medications = append(b.Medications, r)
				return err
			},
			status: func(v string) (string, []any) {
				switch v {
				case "active", "completed", "stopped":
					return `status = ?`, []any{v}
				case "unknown":
					return `status NOT IN ('active', 'completed', 'stopped')`, nil
				}
				return never()
			},
		},
		{
			typ: "Immunization", name: "immunisations",
			cols: `person_id, id, code_system, code, display, event_date, not_given, source, source_ref, received_at`,
			scan: func(s *sql.Rows, b *record.Batch) error {
				var r record.Immunisation
				err := s.Scan(&r.PersonID, &r.ID, &r.Code.System, &r.Code.Code, &r.Code.Display, timeDest{&r.Date}, &r.NotGiven,
					&r.Source, &r.SourceRef, timeDest{&r.ReceivedAt})
				b.Immunisations = append(b.Immunisations, r)
				return err
			},
			status: func(v string) (string, []any) {
				switch v {
				case "completed":
					return `not_given = ?`, []any{false}
				case "not-done":
					return `not_given = ?`, []any{true}
				}
				return never()
			},
		},
		{
			typ: "Procedure", name: "procedures",
			cols: `person_id, id, code_system, code, display, event_date, encounter_id, source, source_ref, received_at`,
			scan: func(s *sql.Rows, b *record.Batch) error {
				var r record.Procedure
				err := s.Scan(&r.PersonID, &r.ID, &r.Code.System, &r.Code.Code, &r.Code.Display, timeDest{&r.Date}, idDest{&r.EncounterID},
					&r.Source, &r.SourceRef, timeDest{&r.ReceivedAt})
				b.Procedures = append(b.Procedures, r)
				return err
			},
			status: func(v string) (string, []any) {
				if v == "completed" {
					return "1 = 1", nil
				}
				return never()
			},
		},
	}
	dates := map[string]struct {
		col     string
		instant bool
	}{
		"conditions": {"onset", false}, "observations": {"effective_at", true}, "medications": {"start_date", false},
		"immunisations": {"event_date", false}, "procedures": {"event_date", false},
	}
	for _, t := range ts {
		if d, ok := dates[t.name]; ok {
			t.date = t.dateIs(d.col, d.instant)
		}
	}
	return ts
}()

func fhirTableOf(typ string) (*fhirTable, error) {
	for _, t := range fhirTables {
		if t.typ == typ {
			return t, nil
		}
	}
	return nil, apperr.Ef(apperr.Invalid, "sqlstore: %s is not a row type of the record", typ)
}

func (db *DB) rowsWhere(t *fhirTable, q query.Rows) (string, []any, error) {
	var w whereBuilder
	if q.People != nil {
		in, args := inList(q.People)
		w.add("person_id "+in, args...)
	}
	err := w.clauses(q.Where, func(f query.Filter) (string, []any, error) {
		switch f.Field {
		case query.Code:
			switch {
			case f.AnySystem:
				return `code = ?`, []any{f.Value}, nil
			case f.Value == "":
				return `code_system = ?`, []any{f.System}, nil
			}
			return `(code_system = ? AND code = ?)`, []any{f.System, f.Value}, nil
		case query.Date:
			s, a := t.date(db, f.Date)
			return s, a, nil
		case query.Status:
			s, a := t.status(f.Value)
			return s, a, nil
		case query.Class:
			if t.name != "encounters" {
				break
			}
			return `class = ?`, []any{f.Value}, nil
		}
		return "", nil, apperr.Ef(apperr.Internal, "sqlstore: %s cannot be searched by field %d", t.typ, f.Field)
	})
	return w.String(), w.args, err
}

// SearchRows returns the rows of q.Type matching q, in (person, id) order,
// in the batch's slice for that type.
func (db *DB) SearchRows(ctx context.Context, q query.Rows) (*record.Batch, error) {
	if err := db.ready(); err != nil {
		return nil, err
	}
	b := &record.Batch{}
	if q.People != nil && len(q.People) == 0 {
		return b, nil
	}
	t, err := fhirTableOf(q.Type)
	if err != nil {
		return nil, err
	}
	where, args, err := db.rowsWhere(t, q)
	if err != nil {
		return nil, err
	}
	rows, err := db.sql.QueryContext(ctx, db.d.rebind(`SELECT `+t.cols+` FROM `+t.name+where+` ORDER BY person_id, id`+db.limitOffset(q.Limit, q.Offset)), args...)
	if err != nil {
		return nil, classify(err, "searching "+t.name)
	}
	defer rows.Close()
	for rows.Next() {
		if err := t.scan(rows, b); err != nil {
			return nil, classify(err, "searching "+t.name)
		}
	}
	return b, classify(rows.Err(), "searching "+t.name)
}

// CountRows counts the rows matching q (Offset and Limit ignored).
func (db *DB) CountRows(ctx context.Context, q query.Rows) (int, error) {
	if err := db.ready(); err != nil {
		return 0, err
	}
	if q.People != nil && len(q.People) == 0 {
		return 0, nil
	}
	t, err := fhirTableOf(q.Type)
	if err != nil {
		return 0, err
	}
	where, args, err := db.rowsWhere(t, q)
	if err != nil {
		return 0, err
	}
	var n int
	err = db.sql.QueryRowContext(ctx, db.d.rebind(`SELECT count(*) FROM `+t.name+where), args...).Scan(&n)
	return n, classify(err, "counting "+t.name)
}

// Row returns one row of the record, of the kind that exports as typ, in
// the batch's slice for that type; NotFound when there is none.
func (db *DB) Row(ctx context.Context, typ string, person, id int64) (*record.Batch, error) {
	if err := db.ready(); err != nil {
		return nil, err
	}
	t, err := fhirTableOf(typ)
	if err != nil {
		return nil, err
	}
	rows, err := db.sql.QueryContext(ctx, db.d.rebind(`SELECT `+t.cols+` FROM `+t.name+` WHERE person_id = ? AND id = ?`), person, id)
	if err != nil {
		return nil, classify(err, "reading "+t.name)
	}
	defer rows.Close()
	b := &record.Batch{}
	found := false
	for rows.Next() {
		if err := t.scan(rows, b); err != nil {
			return nil, classify(err, "reading "+t.name)
		}
		found = true
	}
	if err := rows.Err(); err != nil {
		return nil, classify(err, "reading "+t.name)
	}
	if !found {
		return nil, apperr.Ef(apperr.NotFound, "no %s %d of person %d", typ, id, person)
	}
	return b, nil
}

// RowBySource finds the row of the kind that exports as typ that source
// sent under ref: (person, id), or found false.
func (db *DB) RowBySource(ctx context.Context, typ, source, ref string) (person, id int64, found bool, err error) {
	if err := db.ready(); err != nil {
		return 0, 0, false, err
	}
	t, err := fhirTableOf(typ)
	if err != nil {
		return 0, 0, false, err
	}
	// "source_ref <> ''" lets the planner use the partial unique index.
	err = db.sql.QueryRowContext(ctx, db.d.rebind(`SELECT person_id, id FROM `+t.name+` WHERE source = ? AND source_ref = ? AND source_ref <> ''`),
		source, ref).Scan(&person, &id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, false, nil
	}
	if err != nil {
		return 0, 0, false, classify(err, "looking up "+t.name)
	}
	return person, id, true, nil
}

// LinkIdentity records that source's local id names the person, unless it
// already does. NotFound when there is no such person; Conflict when the
// local id already names someone else. It is how a client of the REST API
// refers to a Wholecare person in what it writes.
func (db *DB) LinkIdentity(ctx context.Context, person int64, source, local string, now time.Time) error {
	if err := db.ready(); err != nil {
		return err
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return classify(err, "linking an identity")
	}
	defer tx.Rollback()
	var got int64
	err = tx.QueryRowContext(ctx, db.d.rebind(`SELECT person_id FROM source_identities WHERE source = ? AND local_id = ?`), source, local).Scan(&got)
	switch {
	case err == nil && got == person:
		return nil
	case err == nil:
		return apperr.Ef(apperr.Conflict, "%s already names another person for %s", local, source)
	case !errors.Is(err, sql.ErrNoRows):
		return classify(err, "linking an identity")
	}
	var exists int
	err = tx.QueryRowContext(ctx, db.d.rebind(`SELECT count(*) FROM people WHERE person_id = ?`), person).Scan(&exists)
	if err != nil {
		return classify(err, "linking an identity")
	}
	if exists == 0 {
		return apperr.Ef(apperr.NotFound, "no person %d", person)
	}
	if _, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO source_identities (person_id, source, local_id, provenance, received_at) VALUES (?, ?, ?, 'api-reference', ?)`),
		person, source, local, db.d.instant(now)); err != nil {
		return classify(err, "linking an identity")
	}
	return classify(tx.Commit(), "linking an identity")
}

// RecordBatch returns the next people (at most n) with ids above after,
// with every row of their records (activity costs and care packages left
// out: they are not exported), read from one snapshot. An empty batch means
// there are no more. Walking the population this way keeps memory to one
// batch and every query on the primary keys.
func (db *DB) RecordBatch(ctx context.Context, after int64, n int) (*record.Batch, error) {
	return db.recordBatch(ctx, after, n, false)
}

// ClusterBatch is RecordBatch with merged records folded together: it
// returns up to n people who are not merged into anyone, in id order after
// after, each with their own rows and those of every record merged into
// them (at any depth), relabelled as theirs. It is how whole-population
// work (the population engine, segmentation) counts a person once.
// Folded rows keep their ids, which are unique only within their record.
func (db *DB) ClusterBatch(ctx context.Context, after int64, n int) (*record.Batch, error) {
	return db.recordBatch(ctx, after, n, true)
}

func (db *DB) recordBatch(ctx context.Context, after int64, n int, clusters bool) (*record.Batch, error) {
	if err := db.ready(); err != nil {
		return nil, err
	}
	if n <= 0 {
		return nil, apperr.E(apperr.Invalid, "sqlstore: record batch of no people")
	}
	tx, err := db.sql.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, classify(err, "reading records")
	}
	defer tx.Rollback()
	b := &record.Batch{}
	survivors := ""
	if clusters {
		survivors = ` AND merged_into IS NULL`
	}
	rows, err := tx.QueryContext(ctx, db.d.rebind(`SELECT `+personColumns+` FROM people WHERE person_id > ?`+survivors+` ORDER BY person_id LIMIT `+strconv.Itoa(n)), after)
	if err != nil {
		return nil, classify(err, "reading people")
	}
	for rows.Next() {
		p, err := scanPerson(rows)
		if err != nil {
			rows.Close()
			return nil, classify(err, "reading people")
		}
		b.People = append(b.People, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, classify(err, "reading people")
	}
	if len(b.People) == 0 {
		return b, nil
	}
	lo, hi := b.People[0].ID, b.People[len(b.People)-1].ID
	// owner maps every record folded into this batch to the survivor it
	// belongs to; outside lists those whose rows the range read misses.
	var owner map[int64]int64
	var outside []int64
	if clusters {
		if owner, err = db.clusterMembers(ctx, tx, b.People, lo, hi); err != nil {
			return nil, err
		}
		for m := range owner {
			if m < lo || m > hi {
				outside = append(outside, m)
			}
		}
		slices.Sort(outside)
	}
	q := func(sqlText, what string, scan func(s *sql.Rows) error) error {
		read := func(text string, args ...any) error {
			rows, err := tx.QueryContext(ctx, db.d.rebind(text), args...)
			if err != nil {
				return classify(err, "reading "+what)
			}
			defer rows.Close()
			for rows.Next() {
				if err := scan(rows); err != nil {
					return classify(err, "reading "+what)
				}
			}
			return classify(rows.Err(), "reading "+what)
		}
		if err := read(sqlText, lo, hi); err != nil || len(outside) == 0 {
			return err
		}
		cond, args := inKeys(db.d, "person_id", outside)
		return read(strings.Replace(sqlText, "person_id BETWEEN ? AND ?", cond, 1), args...)
	}
	err = q(`SELECT person_id, source, local_id, received_at, provenance FROM source_identities WHERE person_id BETWEEN ? AND ? ORDER BY person_id, source, local_id`,
		"identities", func(s *sql.Rows) error {
			var r registry.SourceIdentity
			err := s.Scan(&r.PersonID, &r.Source, &r.LocalID, timeDest{&r.ReceivedAt}, &r.Provenance)
			b.Identities = append(b.Identities, r)
			return err
		})
	if err == nil {
		err = q(`SELECT person_id, team_id, role, start_date, end_date, source, received_at FROM person_care_teams WHERE person_id BETWEEN ? AND ?
			ORDER BY person_id, team_id, role, start_date`, "care team links", func(s *sql.Rows) error {
			var r registry.CareTeamLink
			err := s.Scan(&r.PersonID, &r.TeamID, &r.Role, timeDest{&r.Start}, timeDest{&r.End}, &r.Source, timeDest{&r.ReceivedAt})
			b.TeamLinks = append(b.TeamLinks, r)
			return err
		})
	}
	for _, t := range fhirTables {
		if err != nil {
			break
		}
		err = q(`SELECT `+t.cols+` FROM `+t.name+` WHERE person_id BETWEEN ? AND ? ORDER BY person_id, id`, t.name, func(s *sql.Rows) error {
			return t.scan(s, b)
		})
	}
	if err != nil {
		return nil, err
	}
	if clusters {
		foldClusters(b, owner)
	}
	return b, nil
}

// clusterMembers finds, for the survivors in people (ids lo..hi), every
// record merged into them at any depth: a chain of merges is followed a
// level at a time. The result maps each member to its survivor.
func (db *DB) clusterMembers(ctx context.Context, tx *sql.Tx, people []registry.Person, lo, hi int64) (map[int64]int64, error) {
	owner := map[int64]int64{}
	inBatch := make(map[int64]bool, len(people))
	for _, p := range people {
		inBatch[p.ID] = true
	}
	// The first level by range (the partial index on merged_into makes it
	// cheap when merges are few), deeper levels by the members found.
	text := `SELECT person_id, merged_into FROM people WHERE merged_into IS NOT NULL AND merged_into BETWEEN ? AND ?`
	args := []any{lo, hi}
	for depth := 0; ; depth++ {
		rows, err := tx.QueryContext(ctx, db.d.rebind(text), args...)
		if err != nil {
			return nil, classify(err, "reading merged records")
		}
		var next []int64
		for rows.Next() {
			var m, into int64
			if err := rows.Scan(&m, &into); err != nil {
				rows.Close()
				return nil, classify(err, "reading merged records")
			}
			top, ok := owner[into]
			if !ok && inBatch[into] {
				top, ok = into, true
			}
			if ok {
				owner[m] = top
				next = append(next, m)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, classify(err, "reading merged records")
		}
		if len(next) == 0 {
			return owner, nil
		}
		if depth > 100 {
			return nil, apperr.E(apperr.Internal, "sqlstore: merges nested more than 100 deep (a cycle?)")
		}
		cond, a := inKeys(db.d, "merged_into", next)
		text, args = `SELECT person_id, merged_into FROM people WHERE `+cond, a
	}
}

// foldClusters relabels the rows of merged records as their survivor's
// and drops rows of records that belong to no one in the batch (retired
// people whose survivor is outside it).
func foldClusters(b *record.Batch, owner map[int64]int64) {
	keep := make(map[int64]bool, len(b.People))
	for _, p := range b.People {
		keep[p.ID] = true
	}
	to := func(pid *int64) bool {
		if keep[*pid] {
			return true
		}
		top, ok := owner[*pid]
		*pid = top
		return ok
	}
	fold(&b.Identities, func(r *registry.SourceIdentity) *int64 { return &r.PersonID }, to)
	fold(&b.TeamLinks, func(r *registry.CareTeamLink) *int64 { return &r.PersonID }, to)
	fold(&b.Conditions, func(r *record.Condition) *int64 { return &r.PersonID }, to)
	fold(&b.Observations, func(r *record.Observation) *int64 { return &r.PersonID }, to)
	fold(&b.Encounters, func(r *record.Encounter) *int64 { return &r.PersonID }, to)
	fold(&b.Medications, func(r *record.Medication) *int64 { return &r.PersonID }, to)
	fold(&b.Immunisations, func(r *record.Immunisation) *int64 { return &r.PersonID }, to)
	fold(&b.Procedures, func(r *record.Procedure) *int64 { return &r.PersonID }, to)
	fold(&b.Costs, func(r *record.ActivityCost) *int64 { return &r.PersonID }, to)
	fold(&b.Packages, func(r *record.SocialCarePackage) *int64 { return &r.PersonID }, to)
}

// fold relabels each row's person with to, dropping the rows to refuses.
func fold[T any](rows *[]T, person func(*T) *int64, to func(*int64) bool) {
	out := (*rows)[:0]
	for i := range *rows {
		if to(person(&(*rows)[i])) {
			out = append(out, (*rows)[i])
		}
	}
	*rows = out
}
