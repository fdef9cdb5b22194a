package synth

import (
	"time"

	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/registry"
)

// emitter appends one person's rows to a batch, numbering them per table
// from 1. Numeric values live in a slab shared by the chunk, so an
// observation costs no allocation of its own. SourceRef is "" on every
// clinical row: the generator is the source and row IDs are its
// identifiers.
type emitter struct {
	b    *record.Batch
	now  int32
	pid  int64
	vals []float64

	idCond, idObs, idEnc, idMed, idImm, idProc, idCost, idPkg int64
}

func (e *emitter) startPerson(p *person) {
	e.pid = p.id
	e.idCond, e.idObs, e.idEnc, e.idMed, e.idImm, e.idProc, e.idCost, e.idPkg = 0, 0, 0, 0, 0, 0, 0, 0
}

// prov is the provenance of a row for an event at t, received lag days
// later but never after Now.
func (e *emitter) prov(t time.Time, lag int) record.Provenance {
	rt := t.AddDate(0, 0, lag)
	if n := dayTime(e.now); rt.After(n) {
		rt = n
	}
	return record.Provenance{Source: "synth", ReceivedAt: rt}
}

func (e *emitter) value(v float64) *float64 {
	if len(e.vals) == cap(e.vals) {
		// Earlier pointers keep the old slab alive; never copy it.
		e.vals = make([]float64, 0, 4096)
	}
	e.vals = append(e.vals, v)
	return &e.vals[len(e.vals)-1]
}

func (e *emitter) teamLink(team int64, role string, start, death int32) {
	l := registry.CareTeamLink{PersonID: e.pid, TeamID: team, Role: role, Start: dayTime(start), Source: "synth", ReceivedAt: dayTime(start)}
	if death != 0 {
		l.End = dayTime(death)
	}
	e.b.TeamLinks = append(e.b.TeamLinks, l)
}

func (e *emitter) condition(c *code, onset int32) {
	e.idCond++
	t := dayTime(onset)
	e.b.Conditions = append(e.b.Conditions, record.Condition{
		PersonID: e.pid, ID: e.idCond, Code: c.Coding, Onset: t, Status: record.ConditionActive, Provenance: e.prov(t, 0),
	})
}

func (e *emitter) medication(d *drug, start, end int32, status record.MedicationStatus) {
	e.idMed++
	m := record.Medication{PersonID: e.pid, ID: e.idMed, Code: d.Coding, Start: dayTime(start), Status: status, Provenance: e.prov(dayTime(start), 0)}
	if end != 0 {
		m.End = dayTime(end)
	}
	e.b.Medications = append(e.b.Medications, m)
}

func (e *emitter) observation(c *code, v float64, unit string, t time.Time, enc int64, lag int) {
	e.idObs++
	e.b.Observations = append(e.b.Observations, record.Observation{
		PersonID: e.pid, ID: e.idObs, Code: c.Coding, Value: e.value(v), Unit: unit, Effective: t, EncounterID: enc, Provenance: e.prov(t, lag),
	})
}

// finding is a coded observation with no value, such as a smoking status.
func (e *emitter) finding(c *code, t time.Time) {
	e.idObs++
	e.b.Observations = append(e.b.Observations, record.Observation{
		PersonID: e.pid, ID: e.idObs, Code: c.Coding, Effective: t, Provenance: e.prov(t, 0),
	})
}

func (e *emitter) procedure(c *code, t time.Time, enc int64) {
	e.idProc++
	e.b.Procedures = append(e.b.Procedures, record.Procedure{PersonID: e.pid, ID: e.idProc, Code: c.Coding, Date: midnight(t), EncounterID: enc, Provenance: e.prov(t, 0)})
}

func (e *emitter) immunisation(c *code, t time.Time, notGiven bool) {
	e.idImm++
	e.b.Immunisations = append(e.b.Immunisations, record.Immunisation{PersonID: e.pid, ID: e.idImm, Code: c.Coding, Date: midnight(t), NotGiven: notGiven, Provenance: e.prov(t, 0)})
}

// encounter writes an encounter and its cost, and returns its ID.
func (e *emitter) encounter(class record.EncounterClass, start, end time.Time, org string, diag *code, discharge string, pence int64, lag int) int64 {
	e.idEnc++
	en := record.Encounter{PersonID: e.pid, ID: e.idEnc, Class: class, Start: start, End: end, OrgID: org, Discharge: discharge, Provenance: e.prov(start, lag)}
	if diag != nil {
		en.Diagnosis = diag.Coding
	}
	e.b.Encounters = append(e.b.Encounters, en)
	e.idCost++
	e.b.Costs = append(e.b.Costs, record.ActivityCost{
		PersonID: e.pid, ID: e.idCost, EncounterID: e.idEnc, Date: midnight(start), Setting: string(class), ProviderID: org, Pence: pence, Provenance: e.prov(start, lag),
	})
	return e.idEnc
}

// cost writes a cost that is not an encounter's (prescribing, packages).
func (e *emitter) costRow(day int32, setting, provider string, pence int64) {
	e.idCost++
	t := dayTime(day)
	e.b.Costs = append(e.b.Costs, record.ActivityCost{
		PersonID: e.pid, ID: e.idCost, Date: t, Setting: setting, ProviderID: provider, Pence: pence, Provenance: e.prov(t, 0),
	})
}

func (e *emitter) pkg(org, kind string, hours float64, weekly int64, start, end int32) {
	e.idPkg++
	sp := record.SocialCarePackage{
		PersonID: e.pid, ID: e.idPkg, ProviderID: org, Kind: kind, HoursPerWeek: hours, WeeklyPence: weekly,
		Start: dayTime(start), Provenance: e.prov(dayTime(start), 0),
	}
	if end != 0 {
		sp.End = dayTime(end)
	}
	e.b.Packages = append(e.b.Packages, sp)
}

// midnight is the calendar date of t: procedures and immunisations are
// recorded by date, their provenance keeps the time.
func midnight(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
