package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/directory"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/registry"
	"github.com/wholecare/wholecare/internal/summary"
)

// SummarySource reads what a person summary needs for a set of person ids
// in one read-only snapshot and eleven queries, however many people are in
// the set and however long their records: every query takes the whole set
// (person_id IN …) and the current, recent or latest rows are chosen in
// SQL, so a long history is not carried back to be thrown away.
func (db *DB) SummarySource(ctx context.Context, q summary.Query) (*summary.Source, error) {
	if err := db.ready(); err != nil {
		return nil, err
	}
	if len(q.People) == 0 {
		return nil, apperr.E(apperr.Invalid, "summary: no people")
	}
	tx, err := db.sql.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, classify(err, "reading a summary")
	}
	defer tx.Rollback()

	in := "(?" + strings.Repeat(", ?", len(q.People)-1) + ")"
	ids := make([]any, len(q.People))
	for i, id := range q.People {
		ids[i] = id
	}
	today := db.d.date(q.Today)
	with := func(extra ...any) []any { return append(slices.Clone(ids), extra...) }
	src := &summary.Source{}
	run := func(query string, args []any, scan func(s *sql.Rows) error) error {
		rows, err := tx.QueryContext(ctx, db.d.rebind(query), args...)
		if err != nil {
			return classify(err, "reading a summary")
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return classify(err, "reading a summary")
			}
		}
		return classify(rows.Err(), "reading a summary")
	}
	// The teams a person is under today; members and their organisations
	// are read through it.
	currentTeams := `SELECT team_id FROM person_care_teams WHERE person_id IN ` + in + ` AND start_date <= ? AND (end_date IS NULL OR end_date >= ?)`

	err = errors.Join(
		run(`SELECT `+personColumns+` FROM people WHERE person_id IN `+in+` ORDER BY person_id`, ids, func(s *sql.Rows) error {
			p, err := scanPerson(s)
			src.People = append(src.People, p)
			return err
		}),
		run(`SELECT person_id, source, local_id, received_at, provenance FROM source_identities WHERE person_id IN `+in+`
			ORDER BY received_at, source, local_id`, ids, func(s *sql.Rows) error {
			var r registry.SourceIdentity
			err := s.Scan(&r.PersonID, &r.Source, &r.LocalID, timeDest{&r.ReceivedAt}, &r.Provenance)
			src.Identities = append(src.Identities, r)
			return err
		}),
		run(`SELECT person_id, team_id, role, start_date, end_date, source, received_at FROM person_care_teams
			WHERE person_id IN `+in+` AND start_date <= ? AND (end_date IS NULL OR end_date >= ?) ORDER BY team_id, start_date`,
			with(today, today), func(s *sql.Rows) error {
				var r registry.CareTeamLink
				err := s.Scan(&r.PersonID, &r.TeamID, &r.Role, timeDest{&r.Start}, timeDest{&r.End}, &r.Source, timeDest{&r.ReceivedAt})
				src.TeamLinks = append(src.TeamLinks, r)
				return err
			}),
		run(`SELECT id, name, org_id, kind FROM care_teams WHERE id IN (`+currentTeams+`) ORDER BY id`,
			with(today, today), func(s *sql.Rows) error {
				var t directory.CareTeam
				err := s.Scan(&t.ID, &t.Name, &t.OrgID, &t.Kind)
				src.Teams = append(src.Teams, t)
				return err
			}),
		run(`SELECT m.team_id, m.professional_id, m.role, m.start_date, m.end_date,
				p.id, p.given_name, p.family_name, p.profession, p.org_id, p.registration_id
			FROM care_team_members m JOIN professionals p ON p.id = m.professional_id
			WHERE m.team_id IN (`+currentTeams+`) AND (m.start_date IS NULL OR m.start_date <= ?) AND (m.end_date IS NULL OR m.end_date >= ?)
			ORDER BY m.team_id, m.professional_id`,
			with(today, today, today, today), func(s *sql.Rows) error {
				var m directory.CareTeamMember
				var p directory.Professional
				err := s.Scan(&m.TeamID, &m.ProfessionalID, &m.Role, timeDest{&m.Start}, timeDest{&m.End},
					&p.ID, &p.GivenName, &p.FamilyName, &p.Profession, &p.OrgID, &p.RegistrationID)
				src.Members = append(src.Members, m)
				if !slices.ContainsFunc(src.Staff, func(x directory.Professional) bool { return x.ID == p.ID }) {
					src.Staff = append(src.Staff, p)
				}
				return err
			}),
		run(`SELECT person_id, id, code_system, code, display, onset, abatement, status, source, source_ref, received_at
			FROM conditions WHERE person_id IN `+in+` AND status = 'active' AND (abatement IS NULL OR abatement > ?)
			ORDER BY person_id, id`, with(today), func(s *sql.Rows) error {
			var r record.Condition
			err := s.Scan(&r.PersonID, &r.ID, &r.Code.System, &r.Code.Code, &r.Code.Display, timeDest{&r.Onset}, timeDest{&r.Abatement}, &r.Status,
				&r.Source, &r.SourceRef, timeDest{&r.ReceivedAt})
			src.Conditions = append(src.Conditions, r)
			return err
		}),
		run(`SELECT person_id, id, class, start_at, end_at, org_id, diagnosis_system, diagnosis_code, diagnosis_display, discharge,
				source, source_ref, received_at
			FROM encounters WHERE person_id IN `+in+` ORDER BY (start_at IS NULL), start_at DESC, person_id, id DESC LIMIT ?`,
			with(q.Encounters), func(s *sql.Rows) error {
				var r record.Encounter
				err := s.Scan(&r.PersonID, &r.ID, &r.Class, timeDest{&r.Start}, timeDest{&r.End}, &r.OrgID,
					&r.Diagnosis.System, &r.Diagnosis.Code, &r.Diagnosis.Display, &r.Discharge, &r.Source, &r.SourceRef, timeDest{&r.ReceivedAt})
				src.Encounters = append(src.Encounters, r)
				return err
			}),
		run(`SELECT person_id, id, code_system, code, display, start_date, end_date, status, source, source_ref, received_at
			FROM medications WHERE person_id IN `+in+` AND status = 'active' AND (end_date IS NULL OR end_date >= ?)
			ORDER BY person_id, id`, with(today), func(s *sql.Rows) error {
			var r record.Medication
			err := s.Scan(&r.PersonID, &r.ID, &r.Code.System, &r.Code.Code, &r.Code.Display, timeDest{&r.Start}, timeDest{&r.End}, &r.Status,
				&r.Source, &r.SourceRef, timeDest{&r.ReceivedAt})
			src.Medications = append(src.Medications, r)
			return err
		}),
		db.latestObservations(ctx, run, in, ids, q.Observations, src),
		run(`SELECT `+consentColumns+` FROM consents WHERE person_id IN `+in+` ORDER BY person_id, id`, ids, func(s *sql.Rows) error {
			c, err := scanConsent(s)
			src.Consents = append(src.Consents, c)
			return err
		}),
	)
	if err != nil {
		return nil, err
	}
	if err := db.summaryOrganisations(run, src); err != nil {
		return nil, err
	}
	return src, nil
}

// latestObservations reads the latest row of each wanted code among the
// people: the window keeps one row per code in the database. Rows with no
// time sort last in both dialects (they disagree where NULL goes).
func (db *DB) latestObservations(_ context.Context, run func(string, []any, func(*sql.Rows) error) error, in string, ids []any,
	want []record.Coding, src *summary.Source) error {
	if len(want) == 0 {
		return nil
	}
	wanted := map[record.Coding]bool{}
	var codeArgs []any
	for _, c := range want {
		k := record.Coding{System: c.System, Code: c.Code}
		if !wanted[k] {
			wanted[k] = true
			codeArgs = append(codeArgs, c.Code)
		}
	}
	codeIn := "(?" + strings.Repeat(", ?", len(codeArgs)-1) + ")"
	args := append(slices.Clone(ids), codeArgs...)
	return run(`SELECT person_id, id, code_system, code, display, value, unit, value_code_system, value_code, value_display,
			effective_at, source, source_ref, received_at
		FROM (SELECT o.*, ROW_NUMBER() OVER (PARTITION BY code_system, code ORDER BY (effective_at IS NULL), effective_at DESC, person_id, id DESC) AS latest
			FROM observations o WHERE person_id IN `+in+` AND code IN `+codeIn+`) AS l
		WHERE latest = 1 ORDER BY code_system, code`, args, func(s *sql.Rows) error {
		var r record.Observation
		err := s.Scan(&r.PersonID, &r.ID, &r.Code.System, &r.Code.Code, &r.Code.Display, floatDest{&r.Value}, &r.Unit,
			&r.ValueCode.System, &r.ValueCode.Code, &r.ValueCode.Display, timeDest{&r.Effective},
			&r.Source, &r.SourceRef, timeDest{&r.ReceivedAt})
		// A code wanted in one system may be sent in another.
		if err == nil && wanted[record.Coding{System: r.Code.System, Code: r.Code.Code}] {
			src.Observations = append(src.Observations, r)
		}
		return err
	})
}

// summaryOrganisations reads the organisations the other rows name.
func (db *DB) summaryOrganisations(run func(string, []any, func(*sql.Rows) error) error, src *summary.Source) error {
	var named []any
	seen := map[string]bool{"": true}
	add := func(id string) {
		if !seen[id] {
			seen[id] = true
			named = append(named, id)
		}
	}
	for _, p := range src.People {
		add(p.PracticeID)
	}
	for _, e := range src.Encounters {
		add(e.OrgID)
	}
	for _, t := range src.Teams {
		add(t.OrgID)
	}
	if len(named) == 0 {
		return nil
	}
	return run(`SELECT id, name, kind, parent_id, postcode, list_size FROM organisations WHERE id IN (?`+strings.Repeat(", ?", len(named)-1)+`) ORDER BY id`,
		named, func(s *sql.Rows) error {
			var o directory.Organisation
			err := s.Scan(&o.ID, &o.Name, &o.Kind, &o.ParentID, &o.Postcode, &o.ListSize)
			src.Organisations = append(src.Organisations, o)
			return err
		})
}
