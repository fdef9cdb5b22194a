package sqlstore

import (
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/record"
)

// bulkTable describes how one table of a record.Batch is written by the
// bulk path: its columns, and how to lay row i out as column values. The
// same description drives SQLite's multi-row INSERTs and PostgreSQL's COPY.
type bulkTable struct {
	name  string
	cols  []string
	count func(b *record.Batch) int
	fill  func(e *encoder, i int, dst []any)
}

// encoder lays batch rows out as driver values for one dialect. Its first
// bad value is kept in err rather than returned from every column, so the
// fill functions stay a flat list of columns.
type encoder struct {
	d   dialect
	b   *record.Batch
	err error
	// locals maps a person of b to their local id in the source of their
	// demographics, for person_sources; built on first use.
	locals map[int64]string
}

// localID is the identity under which person i of the batch's
// demographics are kept in person_sources: the person's identity from
// their own source, "" when the batch gives none.
func (e *encoder) localID(i int) string {
	if e.locals == nil {
		e.locals = make(map[int64]string, len(e.b.People))
		source := make(map[int64]string, len(e.b.People))
		for j := range e.b.People {
			source[e.b.People[j].ID] = e.b.People[j].Source
		}
		for j := range e.b.Identities {
			id := &e.b.Identities[j]
			if _, done := e.locals[id.PersonID]; !done && source[id.PersonID] == id.Source {
				e.locals[id.PersonID] = id.LocalID
			}
		}
	}
	return e.locals[e.b.People[i].ID]
}

// date checks that t is a calendar date (a UTC midnight) before encoding it.
// A time of day in a date column would be silently dropped by PostgreSQL's
// date type, so it is refused on both dialects instead.
func (e *encoder) date(t time.Time, col string) any {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	if u.Hour() != 0 || u.Minute() != 0 || u.Second() != 0 || u.Nanosecond() != 0 {
		if e.err == nil {
			e.err = apperr.Ef(apperr.Invalid, "%s is not a date (a UTC midnight)", col)
		}
		return nil
	}
	return e.d.date(u)
}

func (e *encoder) instant(t time.Time) any { return e.d.instant(t) }

// optionalID stores "none" (0) as NULL so joins on it behave.
func optionalID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func optionalFloat(v *float64) any {
	if v == nil {
		return nil
	}
	return *v
}

// personOwnedTables lists every table whose rows belong to one person,
// children first so that deleting in this order respects foreign keys.
var personOwnedTables = []string{
	"source_identities", "person_sources", "person_care_teams", "conditions", "observations", "encounters",
	"medications", "immunisations", "procedures", "activity_costs", "social_care_packages",
	"people",
}

// allTables is every data table, for Counts.
var allTables = append([]string{
	"organisations", "professionals", "care_teams", "care_team_members",
	"generation_runs", "outbox",
}, personOwnedTables...)

// bulkTables is read-only: the order is the insert order (people first, for
// the foreign keys).
var bulkTables = []bulkTable{
	{
		name: "people",
		cols: []string{"person_id", "nhs_number", "nhs_number_status", "given_name", "family_name", "birth_date",
			"sex", "postcode", "imd_decile", "ethnicity", "practice_id", "date_of_death", "source", "received_at"},
		count: func(b *record.Batch) int { return len(b.People) },
		fill: func(e *encoder, i int, d []any) {
			p := &e.b.People[i]
			d[0], d[1], d[2], d[3], d[4] = p.ID, p.NHSNumber, string(p.NHSNumberStatus), p.GivenName, p.FamilyName
			d[5], d[6], d[7], d[8] = e.date(p.BirthDate, "birth_date"), string(p.Sex), p.Postcode, int64(p.IMDDecile)
			d[9], d[10], d[11], d[12], d[13] = p.Ethnicity, p.PracticeID, e.date(p.DateOfDeath, "date_of_death"), p.Source, e.instant(p.ReceivedAt)
		},
	},
	{
		// A bulk-loaded person has one source record: their demographics,
		// under their identity from the same source. people.provenance
		// stays NULL, which says exactly that (see migration 0007).
		name: "person_sources",
		cols: []string{"person_id", "source", "local_id", "nhs_number", "nhs_number_status", "given_name", "family_name",
			"birth_date", "sex", "postcode", "imd_decile", "ethnicity", "practice_id", "date_of_death", "received_at"},
		count: func(b *record.Batch) int { return len(b.People) },
		fill: func(e *encoder, i int, d []any) {
			p := &e.b.People[i]
			d[0], d[1], d[2], d[3], d[4], d[5], d[6] = p.ID, p.Source, e.localID(i), p.NHSNumber, string(p.NHSNumberStatus), p.GivenName, p.FamilyName
			d[7], d[8], d[9], d[10] = e.date(p.BirthDate, "birth_date"), string(p.Sex), p.Postcode, int64(p.IMDDecile)
			d[11], d[12], d[13], d[14] = p.Ethnicity, p.PracticeID, e.date(p.DateOfDeath, "date_of_death"), e.instant(p.ReceivedAt)
		},
	},
	{
		name:  "source_identities",
		cols:  []string{"person_id", "source", "local_id", "provenance", "received_at"},
		count: func(b *record.Batch) int { return len(b.Identities) },
		fill: func(e *encoder, i int, d []any) {
			s := &e.b.Identities[i]
			d[0], d[1], d[2], d[3], d[4] = s.PersonID, s.Source, s.LocalID, s.Provenance, e.instant(s.ReceivedAt)
		},
	},
	{
		name:  "person_care_teams",
		cols:  []string{"person_id", "team_id", "role", "start_date", "end_date", "source", "received_at"},
		count: func(b *record.Batch) int { return len(b.TeamLinks) },
		fill: func(e *encoder, i int, d []any) {
			l := &e.b.TeamLinks[i]
			d[0], d[1], d[2], d[3] = l.PersonID, l.TeamID, l.Role, e.date(l.Start, "start_date")
			d[4], d[5], d[6] = e.date(l.End, "end_date"), l.Source, e.instant(l.ReceivedAt)
		},
	},
	{
		name: "conditions",
		cols: []string{"person_id", "id", "code_system", "code", "display", "onset", "abatement", "status",
			"source", "source_ref", "received_at"},
		count: func(b *record.Batch) int { return len(b.Conditions) },
		fill: func(e *encoder, i int, d []any) {
			c := &e.b.Conditions[i]
			d[0], d[1], d[2], d[3], d[4] = c.PersonID, c.ID, c.Code.System, c.Code.Code, c.Code.Display
			d[5], d[6], d[7] = e.date(c.Onset, "onset"), e.date(c.Abatement, "abatement"), string(c.Status)
			d[8], d[9], d[10] = c.Source, c.SourceRef, e.instant(c.ReceivedAt)
		},
	},
	{
		name: "observations",
		cols: []string{"person_id", "id", "code_system", "code", "display", "value", "unit",
			"value_code_system", "value_code", "value_display", "effective_at", "encounter_id",
			"source", "source_ref", "received_at"},
		count: func(b *record.Batch) int { return len(b.Observations) },
		fill: func(e *encoder, i int, d []any) {
			o := &e.b.Observations[i]
			d[0], d[1], d[2], d[3], d[4] = o.PersonID, o.ID, o.Code.System, o.Code.Code, o.Code.Display
			d[5], d[6], d[7], d[8], d[9] = optionalFloat(o.Value), o.Unit, o.ValueCode.System, o.ValueCode.Code, o.ValueCode.Display
			d[10], d[11] = e.instant(o.Effective), optionalID(o.EncounterID)
			d[12], d[13], d[14] = o.Source, o.SourceRef, e.instant(o.ReceivedAt)
		},
	},
	{
		name: "encounters",
		cols: []string{"person_id", "id", "class", "start_at", "end_at", "org_id",
			"diagnosis_system", "diagnosis_code", "diagnosis_display", "discharge",
			"source", "source_ref", "received_at"},
		count: func(b *record.Batch) int { return len(b.Encounters) },
		fill: func(e *encoder, i int, d []any) {
			c := &e.b.Encounters[i]
			d[0], d[1], d[2], d[3], d[4], d[5] = c.PersonID, c.ID, string(c.Class), e.instant(c.Start), e.instant(c.End), c.OrgID
			d[6], d[7], d[8], d[9] = c.Diagnosis.System, c.Diagnosis.Code, c.Diagnosis.Display, c.Discharge
			d[10], d[11], d[12] = c.Source, c.SourceRef, e.instant(c.ReceivedAt)
		},
	},
	{
		name: "medications",
		cols: []string{"person_id", "id", "code_system", "code", "display", "start_date", "end_date", "status",
			"source", "source_ref", "received_at"},
		count: func(b *record.Batch) int { return len(b.Medications) },
		fill: func(e *encoder, i int, d []any) {
			m := &e.b.Medications[i]
			d[0], d[1], d[2], d[3], d[4] = m.PersonID, m.ID, m.Code.System, m.Code.Code, m.Code.Display
			d[5], d[6], d[7] = e.date(m.Start, "start_date"), e.date(m.End, "end_date"), string(m.Status)
			d[8], d[9], d[10] = m.Source, m.SourceRef, e.instant(m.ReceivedAt)
		},
	},
	{
		name: "immunisations",
		cols: []string{"person_id", "id", "code_system", "code", "display", "event_date", "not_given",
			"source", "source_ref", "received_at"},
		count: func(b *record.Batch) int { return len(b.Immunisations) },
		fill: func(e *encoder, i int, d []any) {
			m := &e.b.Immunisations[i]
			d[0], d[1], d[2], d[3], d[4] = m.PersonID, m.ID, m.Code.System, m.Code.Code, m.Code.Display
			d[5], d[6] = e.date(m.Date, "event_date"), m.NotGiven
			d[7], d[8], d[9] = m.Source, m.SourceRef, e.instant(m.ReceivedAt)
		},
	},
	{
		name: "procedures",
		cols: []string{"person_id", "id", "code_system", "code", "display", "event_date", "encounter_id",
			"source", "source_ref", "received_at"},
		count: func(b *record.Batch) int { return len(b.Procedures) },
		fill: func(e *encoder, i int, d []any) {
			p := &e.b.Procedures[i]
			d[0], d[1], d[2], d[3], d[4] = p.PersonID, p.ID, p.Code.System, p.Code.Code, p.Code.Display
			d[5], d[6] = e.date(p.Date, "event_date"), optionalID(p.EncounterID)
			d[7], d[8], d[9] = p.Source, p.SourceRef, e.instant(p.ReceivedAt)
		},
	},
	{
		name: "activity_costs",
		cols: []string{"person_id", "id", "encounter_id", "event_date", "setting", "provider_id", "pence",
			"source", "source_ref", "received_at"},
		count: func(b *record.Batch) int { return len(b.Costs) },
		fill: func(e *encoder, i int, d []any) {
			c := &e.b.Costs[i]
			d[0], d[1], d[2], d[3], d[4], d[5], d[6] = c.PersonID, c.ID, optionalID(c.EncounterID), e.date(c.Date, "event_date"), c.Setting, c.ProviderID, c.Pence
			d[7], d[8], d[9] = c.Source, c.SourceRef, e.instant(c.ReceivedAt)
		},
	},
	{
		name: "social_care_packages",
		cols: []string{"person_id", "id", "provider_id", "kind", "hours_per_week", "weekly_pence", "start_date", "end_date",
			"source", "source_ref", "received_at"},
		count: func(b *record.Batch) int { return len(b.Packages) },
		fill: func(e *encoder, i int, d []any) {
			p := &e.b.Packages[i]
			d[0], d[1], d[2], d[3], d[4], d[5] = p.PersonID, p.ID, p.ProviderID, p.Kind, p.HoursPerWeek, p.WeeklyPence
			d[6], d[7] = e.date(p.Start, "start_date"), e.date(p.End, "end_date")
			d[8], d[9], d[10] = p.Source, p.SourceRef, e.instant(p.ReceivedAt)
		},
	},
}

// badRow names the row that held a bad value. Person data never goes into
// the message: only the table, the row's place in the batch and the column.
func (t *bulkTable) badRow(i int, err error) error {
	return apperr.Ef(apperr.Invalid, "%s row %d of the batch: %s", t.name, i, apperr.Message(err))
}
