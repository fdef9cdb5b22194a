package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/directory"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/registry"
)

// timeDest scans a date or instant from either dialect (SQLite TEXT,
// PostgreSQL date/timestamptz) into a UTC time; NULL becomes the zero time.
type timeDest struct{ t *time.Time }

func (d timeDest) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*d.t = time.Time{}
		return nil
	case time.Time:
		*d.t = x.UTC()
		return nil
	case string:
		return d.parse(x)
	case []byte:
		return d.parse(string(x))
	}
	return fmt.Errorf("cannot read %T as a time", v)
}

func (d timeDest) parse(s string) error {
	layout := time.RFC3339Nano
	if len(s) == len(time.DateOnly) {
		layout = time.DateOnly
	}
	t, err := time.Parse(layout, s)
	if err != nil {
		return err
	}
	*d.t = t.UTC()
	return nil
}

// idDest scans an optional id: NULL is 0.
type idDest struct{ id *int64 }

func (d idDest) Scan(v any) error {
	var n sql.NullInt64
	if err := n.Scan(v); err != nil {
		return err
	}
	*d.id = n.Int64
	return nil
}

// floatDest scans an optional number: NULL is a nil pointer.
type floatDest struct{ f **float64 }

func (d floatDest) Scan(v any) error {
	var n sql.NullFloat64
	if err := n.Scan(v); err != nil {
		return err
	}
	*d.f = nil
	if n.Valid {
		f := n.Float64
		*d.f = &f
	}
	return nil
}

const personColumns = `person_id, nhs_number, nhs_number_status, given_name, family_name, birth_date, sex, postcode,
	imd_decile, ethnicity, practice_id, date_of_death, source, received_at`

func scanPerson(s interface{ Scan(...any) error }) (registry.Person, error) {
	var p registry.Person
	err := s.Scan(&p.ID, &p.NHSNumber, &p.NHSNumberStatus, &p.GivenName, &p.FamilyName, timeDest{&p.BirthDate},
		&p.Sex, &p.Postcode, &p.IMDDecile, &p.Ethnicity, &p.PracticeID, timeDest{&p.DateOfDeath}, &p.Source, timeDest{&p.ReceivedAt})
	return p, err
}

// Person returns one person's demographics; NotFound when there is none.
func (db *DB) Person(ctx context.Context, id int64) (registry.Person, error) {
	if err := db.ready(); err != nil {
		return registry.Person{}, err
	}
	p, err := scanPerson(db.sql.QueryRowContext(ctx, db.d.rebind(`SELECT `+personColumns+` FROM people WHERE person_id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return p, apperr.Ef(apperr.NotFound, "no person %d", id)
	}
	return p, classify(err, "reading a person")
}

// PersonRecord returns a person with every row of their record, each kind
// in id order, read from one snapshot. NotFound when there is no such person.
func (db *DB) PersonRecord(ctx context.Context, id int64) (*record.Batch, error) {
	if err := db.ready(); err != nil {
		return nil, err
	}
	tx, err := db.sql.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, classify(err, "reading a record")
	}
	defer tx.Rollback()
	p, err := scanPerson(tx.QueryRowContext(ctx, db.d.rebind(`SELECT `+personColumns+` FROM people WHERE person_id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.Ef(apperr.NotFound, "no person %d", id)
	}
	if err != nil {
		return nil, classify(err, "reading a person")
	}
	b := &record.Batch{People: []registry.Person{p}}
	q := func(sql string, scan func(s *sql.Rows) error) error {
		rows, err := tx.QueryContext(ctx, db.d.rebind(sql), id)
		if err != nil {
			return classify(err, "reading a record")
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return classify(err, "reading a record")
			}
		}
		return classify(rows.Err(), "reading a record")
	}
	err = errors.Join(
		q(`SELECT person_id, source, local_id, received_at, provenance FROM source_identities WHERE person_id = ? ORDER BY source, local_id`,
			func(s *sql.Rows) error {
				var r registry.SourceIdentity
				err := s.Scan(&r.PersonID, &r.Source, &r.LocalID, timeDest{&r.ReceivedAt}, &r.Provenance)
				b.Identities = append(b.Identities, r)
				return err
			}),
		q(`SELECT person_id, team_id, role, start_date, end_date, source, received_at FROM person_care_teams WHERE person_id = ? ORDER BY team_id, role, start_date`,
			func(s *sql.Rows) error {
				var r registry.CareTeamLink
				err := s.Scan(&r.PersonID, &r.TeamID, &r.Role, timeDest{&r.Start}, timeDest{&r.End}, &r.Source, timeDest{&r.ReceivedAt})
				b.TeamLinks = append(b.TeamLinks, r)
				return err
			}),
		q(`SELECT person_id, id, code_system, code, display, onset, abatement, status, source, source_ref, received_at FROM conditions WHERE person_id = ? ORDER BY id`,
			func(s *sql.Rows) error {
				var r record.Condition
				err := s.Scan(&r.PersonID, &r.ID, &r.Code.System, &r.Code.Code, &r.Code.Display, timeDest{&r.Onset}, timeDest{&r.Abatement}, &r.Status,
					&r.Source, &r.SourceRef, timeDest{&r.ReceivedAt})
				b.Conditions = append(b.Conditions, r)
				return err
			}),
		q(`SELECT person_id, id, code_system, code, display, value, unit, value_code_system, value_code, value_display, effective_at, encounter_id,
			source, source_ref, received_at FROM observations WHERE person_id = ? ORDER BY id`,
			func(s *sql.Rows) error {
				var r record.Observation
				err := s.Scan(&r.PersonID, &r.ID, &r.Code.System, &r.Code.Code, &r.Code.Display, floatDest{&r.Value}, &r.Unit,
					&r.ValueCode.System, &r.ValueCode.Code, &r.ValueCode.Display, timeDest{&r.Effective}, idDest{&r.EncounterID},
					&r.Source, &r.SourceRef, timeDest{&r.ReceivedAt})
				b.Observations = append(b.Observations, r)
				return err
			}),
		q(`SELECT person_id, id, class, start_at, end_at, org_id, diagnosis_system, diagnosis_code, diagnosis_display, discharge,
			source, source_ref, received_at FROM encounters WHERE person_id = ? ORDER BY id`,
			func(s *sql.Rows) error {
				var r record.Encounter
				err := s.Scan(&r.PersonID, &r.ID, &r.Class, timeDest{&r.Start}, timeDest{&r.End}, &r.OrgID,
					&r.Diagnosis.System, &r.Diagnosis.Code, &r.Diagnosis.Display, &r.Discharge, &r.Source, &r.SourceRef, timeDest{&r.ReceivedAt})
				b.Encounters = append(b.Encounters, r)
				return err
			}),
		q(`SELECT person_id, id, code_system, code, display, start_date, end_date, status, source, source_ref, received_at FROM medications WHERE person_id = ? ORDER BY id`,
			func(s *sql.Rows) error {
				var r record.Medication
				err := s.Scan(&r.PersonID, &r.ID, &r.Code.System, &r.Code.Code, &r.Code.Display, timeDest{&r.Start}, timeDest{&r.End}, &r.Status,
					&r.Source, &r.SourceRef, timeDest{&r.ReceivedAt})
				b.Medications = append(b.Medications, r)
				return err
			}),
		q(`SELECT person_id, id, code_system, code, display, event_date, not_given, source, source_ref, received_at FROM immunisations WHERE person_id = ? ORDER BY id`,
			func(s *sql.Rows) error {
				var r record.Immunisation
				err := s.Scan(&r.PersonID, &r.ID, &r.Code.System, &r.Code.Code, &r.Code.Display, timeDest{&r.Date}, &r.NotGiven,
					&r.Source, &r.SourceRef, timeDest{&r.ReceivedAt})
				b.Immunisations = append(b.Immunisations, r)
				return err
			}),
		q(`SELECT person_id, id, code_system, code, display, event_date, encounter_id, source, source_ref, received_at FROM procedures WHERE person_id = ? ORDER BY id`,
			func(s *sql.Rows) error {
				var r record.Procedure
				err := s.Scan(&r.PersonID, &r.ID, &r.Code.System, &r.Code.Code, &r.Code.Display, timeDest{&r.Date}, idDest{&r.EncounterID},
					&r.Source, &r.SourceRef, timeDest{&r.ReceivedAt})
				b.Procedures = append(b.Procedures, r)
				return err
			}),
		q(`SELECT person_id, id, encounter_id, event_date, setting, provider_id, pence, source, source_ref, received_at FROM activity_costs WHERE person_id = ? ORDER BY id`,
			func(s *sql.Rows) error {
				var r record.ActivityCost
				err := s.Scan(&r.PersonID, &r.ID, idDest{&r.EncounterID}, timeDest{&r.Date}, &r.Setting, &r.ProviderID, &r.Pence,
					&r.Source, &r.SourceRef, timeDest{&r.ReceivedAt})
				b.Costs = append(b.Costs, r)
				return err
			}),
		q(`SELECT person_id, id, provider_id, kind, hours_per_week, weekly_pence, start_date, end_date, source, source_ref, received_at
			FROM social_care_packages WHERE person_id = ? ORDER BY id`,
			func(s *sql.Rows) error {
				var r record.SocialCarePackage
				err := s.Scan(&r.PersonID, &r.ID, &r.ProviderID, &r.Kind, &r.HoursPerWeek, &r.WeeklyPence, timeDest{&r.Start}, timeDest{&r.End},
					&r.Source, &r.SourceRef, timeDest{&r.ReceivedAt})
				b.Packages = append(b.Packages, r)
				return err
			}),
	)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// Counts returns the number of rows in every table. It counts exactly, so
// on a large population it reads every table: call it for metrics and
// benchmarks, not per request.
func (db *DB) Counts(ctx context.Context) (map[string]int64, error) {
	if err := db.ready(); err != nil {
		return nil, err
	}
	tx, err := db.sql.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, classify(err, "counting rows")
	}
	defer tx.Rollback()
	out := make(map[string]int64, len(allTables))
	for _, t := range allTables {
		var n int64
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM `+t).Scan(&n); err != nil {
			return nil, classify(err, "counting rows in "+t)
		}
		out[t] = n
	}
	return out, nil
}

// Directory returns the whole directory, each list in id order.
func (db *DB) Directory(ctx context.Context) (*directory.Directory, error) {
	if err := db.ready(); err != nil {
		return nil, err
	}
	tx, err := db.sql.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, classify(err, "reading the directory")
	}
	defer tx.Rollback()
	d := &directory.Directory{}
	q := func(sql string, scan func(s *sql.Rows) error) error {
		rows, err := tx.QueryContext(ctx, sql)
		if err != nil {
			return classify(err, "reading the directory")
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return classify(err, "reading the directory")
			}
		}
		return classify(rows.Err(), "reading the directory")
	}
	err = errors.Join(
		q(`SELECT id, name, kind, parent_id, postcode, list_size FROM organisations ORDER BY id`, func(s *sql.Rows) error {
			var o directory.Organisation
			err := s.Scan(&o.ID, &o.Name, &o.Kind, &o.ParentID, &o.Postcode, &o.ListSize)
			d.Organisations = append(d.Organisations, o)
			return err
		}),
		q(`SELECT id, given_name, family_name, profession, org_id, registration_id FROM professionals ORDER BY id`, func(s *sql.Rows) error {
			var p directory.Professional
			err := s.Scan(&p.ID, &p.GivenName, &p.FamilyName, &p.Profession, &p.OrgID, &p.RegistrationID)
			d.Professionals = append(d.Professionals, p)
			return err
		}),
		q(`SELECT id, name, org_id, kind FROM care_teams ORDER BY id`, func(s *sql.Rows) error {
			var t directory.CareTeam
			err := s.Scan(&t.ID, &t.Name, &t.OrgID, &t.Kind)
			d.Teams = append(d.Teams, t)
			return err
		}),
		q(`SELECT team_id, professional_id, role, start_date, end_date FROM care_team_members ORDER BY team_id, professional_id`, func(s *sql.Rows) error {
			var m directory.CareTeamMember
			err := s.Scan(&m.TeamID, &m.ProfessionalID, &m.Role, timeDest{&m.Start}, timeDest{&m.End})
			d.Members = append(d.Members, m)
			return err
		}),
	)
	if err != nil {
		return nil, err
	}
	return d, nil
}
