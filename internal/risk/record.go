package risk

import (
	"log/slog"
	"math/bits"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/registry"
)

// Record is what the scores read of one person's record. Rows may come in
// any order; they must all belong to Person. The scores never modify it.
type Record struct {
	Person       registry.Person
	Conditions   []record.Condition
	Observations []record.Observation
	Procedures   []record.Procedure
	Encounters   []record.Encounter
	Medications  []record.Medication
}

// LogValue logs the person's ID only.
func (r Record) LogValue() slog.Value { return slog.Int64Value(r.Person.ID) }

// Source names the kind of record row a piece of evidence is.
type Source string

const (
	FromCondition   Source = "condition"
	FromObservation Source = "observation" // the observation's code or its coded value
	FromProcedure   Source = "procedure"
	FromEncounter   Source = "encounter" // the encounter's diagnosis
	FromMedication  Source = "medication"
)

// Evidence points at the record row that shows a deficit or a condition, so
// a score can be explained and checked.
type Evidence struct {
	Source Source
	ID     int64 // the row's ID within the person
	Code   record.Coding
	Date   time.Time `json:",omitzero"` // onset, effective date, procedure date, encounter start or course start; zero when unknown
}

// Scorer computes the coded scores against one loaded set of code lists.
// It is immutable after New and safe for concurrent use.
type Scorer struct {
	codes *codes.Set
	// concepts maps each eFI deficit and Charlson concept to its bit;
	// snomed maps each of their SNOMED codes to all its bits, so that the
	// common case costs one lookup. Other systems go through the code set
	// (ICD-10 matches by prefix).
	concepts map[codes.Concept]mask
	snomed   map[string]mask
	names    map[codes.Concept]string // eFI deficit names, for explanations
}

// mask marks eFI deficits (by index in efiDeficits) and Charlson conditions
// (by index in charlsonTable).
type mask struct {
	efi uint64
	cci uint32
}

// The tables must fit the masks: these fail to compile otherwise.
var (
	_ [64 - EFIDeficits]struct{}
	_ [32 - nCharlson]struct{}
)

func (m mask) or(o mask) mask { return mask{m.efi | o.efi, m.cci | o.cci} }

// New checks that set defines every concept the scores use and indexes
// them. A missing concept is a bug in the shipped code lists: Internal.
func New(set *codes.Set) (*Scorer, error) {
	if set == nil {
		return nil, apperr.E(apperr.Internal, "risk: no code lists")
	}
	s := &Scorer{
		codes:    set,
		concepts: map[codes.Concept]mask{},
		snomed:   map[string]mask{},
		names:    map[codes.Concept]string{},
	}
	for i, c := range efiDeficits {
		in, ok := set.Info(c)
		if !ok || in.Kind != codes.EFIDeficit {
			return nil, apperr.Ef(apperr.Internal, "risk: eFI deficit %s is not an efi_deficit concept in the code lists", c)
		}
		s.concepts[c] = s.concepts[c].or(mask{efi: 1 << i})
		s.names[c] = strings.TrimPrefix(in.Name, "eFI: ")
	}
	n := 0
	for _, in := range set.Concepts() {
		if in.Kind == codes.EFIDeficit {
			n++
		}
	}
	if n != EFIDeficits {
		return nil, apperr.Ef(apperr.Internal, "risk: the code lists define %d eFI deficits, want %d", n, EFIDeficits)
	}
	for i, cd := range charlsonTable {
		if _, ok := set.Info(cd.Concept); !ok {
			return nil, apperr.Ef(apperr.Internal, "risk: Charlson condition %s is not in the code lists", cd.Concept)
		}
		s.concepts[cd.Concept] = s.concepts[cd.Concept].or(mask{cci: 1 << i})
	}
	for c, m := range s.concepts {
		for _, cd := range set.Codes(c) {
			if cd.System == record.SNOMED {
				s.snomed[cd.Code] = s.snomed[cd.Code].or(m)
			}
		}
	}
	return s, nil
}

// findings holds, for each eFI deficit and Charlson condition, the most
// recent row that shows it.
type findings struct {
	efi [EFIDeficits]found
	cci [nCharlson]found
}

type found struct {
	ok bool
	ev Evidence
}

// note keeps ev if it is the first or the latest evidence seen. A row with
// no date counts, but loses to any dated row.
func (f *found) note(ev Evidence) {
	if !f.ok || ev.Date.After(f.ev.Date) {
		f.ok, f.ev = true, ev
	}
}

// scan reads every coded row dated on or before until. A zero date is
// unknown and is taken as before until.
func (s *Scorer) scan(r *Record, until time.Time, f *findings) {
	for i := range r.Conditions {
		c := &r.Conditions[i]
		if c.Onset.After(until) {
			continue
		}
		s.match(c.Code, Evidence{Source: FromCondition, ID: c.ID, Code: c.Code, Date: c.Onset}, f)
	}
	for i := range r.Observations {
		o := &r.Observations[i]
		if o.Effective.After(until) {
			continue
		}
		s.match(o.Code, Evidence{Source: FromObservation, ID: o.ID, Code: o.Code, Date: o.Effective}, f)
		if o.ValueCode.Code != "" {
			s.match(o.ValueCode, Evidence{Source: FromObservation, ID: o.ID, Code: o.ValueCode, Date: o.Effective}, f)
		}
	}
	for i := range r.Procedures {
		p := &r.Procedures[i]
		if p.Date.After(until) {
			continue
		}
		s.match(p.Code, Evidence{Source: FromProcedure, ID: p.ID, Code: p.Code, Date: p.Date}, f)
	}
	for i := range r.Encounters {
		e := &r.Encounters[i]
		if e.Diagnosis.Code == "" || e.Start.After(until) {
			continue
		}
		s.match(e.Diagnosis, Evidence{Source: FromEncounter, ID: e.ID, Code: e.Diagnosis, Date: e.Start}, f)
	}
}

// match notes ev under every deficit and condition c belongs to.
func (s *Scorer) match(c record.Coding, ev Evidence, f *findings) {
	if c.Code == "" {
		return
	}
	m := s.maskOf(c)
	for b := m.efi; b != 0; b &= b - 1 {
		f.efi[bits.TrailingZeros64(b)].note(ev)
	}
	for b := m.cci; b != 0; b &= b - 1 {
		f.cci[bits.TrailingZeros32(b)].note(ev)
	}
}

// maskOf is every deficit and condition c belongs to. A SNOMED code of
// ours is one map lookup; anything else (ICD-10 by prefix, FHIR system
// URIs, stray spaces) goes through the code set.
func (s *Scorer) maskOf(c record.Coding) mask {
	var m mask
	if c.System == record.SNOMED && strings.TrimSpace(c.Code) == c.Code {
		return s.snomed[c.Code]
	}
	for _, concept := range s.codes.ConceptsOf(c.System, c.Code) {
		m = m.or(s.concepts[concept])
	}
	return m
}

func checkNow(score string, now time.Time) error {
	if now.IsZero() {
		return apperr.Ef(apperr.Invalid, "risk: %s needs the time it is computed at", score)
	}
	return nil
}

// Records splits a batch of whole people into one Record per person, in
// the order of b.People. Rows of people not in b.People are ignored. A
// person's rows that lie together in b (as a store read returns them) are
// shared with b, not copied: the Records are views of b.
func Records(b *record.Batch) []Record {
	out := make([]Record, len(b.People))
	at := make(map[int64]int, len(b.People))
	for i, p := range b.People {
		out[i].Person = p
		at[p.ID] = i
	}
	split(b.Conditions, func(r *record.Condition) int64 { return r.PersonID }, at, func(i int) *[]record.Condition { return &out[i].Conditions })
	split(b.Observations, func(r *record.Observation) int64 { return r.PersonID }, at, func(i int) *[]record.Observation { return &out[i].Observations })
	split(b.Procedures, func(r *record.Procedure) int64 { return r.PersonID }, at, func(i int) *[]record.Procedure { return &out[i].Procedures })
	split(b.Encounters, func(r *record.Encounter) int64 { return r.PersonID }, at, func(i int) *[]record.Encounter { return &out[i].Encounters })
	split(b.Medications, func(r *record.Medication) int64 { return r.PersonID }, at, func(i int) *[]record.Medication { return &out[i].Medications })
	return out
}

// split hands each run of rows about one person to that person's slice:
// the run itself when it is the person's first (capped, so that appending
// to it copies rather than overwrites b), appended otherwise.
func split[T any](rows []T, person func(*T) int64, at map[int64]int, dst func(i int) *[]T) {
	for lo := 0; lo < len(rows); {
		id := person(&rows[lo])
		hi := lo + 1
		for hi < len(rows) && person(&rows[hi]) == id {
			hi++
		}
		if i, ok := at[id]; ok {
			if d := dst(i); *d == nil {
				*d = rows[lo:hi:hi]
			} else {
				*d = append(*d, rows[lo:hi]...)
			}
		}
		lo = hi
	}
}
