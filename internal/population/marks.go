package population

import (
	"math"
	"slices"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/registry"
	"github.com/wholecare/wholecare/internal/risk"
	"github.com/wholecare/wholecare/internal/riskmodel"
	"github.com/wholecare/wholecare/internal/segment"
)

// Besides its events, the engine keeps each person's marks (risk.Mark):
// the few dated facts of the record that the eFI, the Charlson index, the
// segment rules and the risk model's features read, to the second. Every
// score and segment is computed from them, whether a person is put or
// everyone is recomputed, so Recompute needs no store read and agrees with
// the record-based functions (risk.Scorer, segment.Reader.FactsOf,
// riskmodel.Builder.Row) to the second.

// markObservation: the latest-value observation obsConcepts[Index] was
// taken at From, with the value math.Float64frombits(uint64(Until)). Only
// kept when the engine has a risk model.
const markObservation = segment.MarkOther

// obsConcepts and their columns are the observations the risk model's
// features read (riskmodel's obsConcepts).
var obsConcepts = []codes.Concept{"obs.hba1c", "obs.egfr", "obs.systolic_bp"}

// marks is an append-only arena of marks, in a base segment written by
// Build and an update segment, like events.
type marks struct{ base, extra []risk.Mark }

// appendMarks appends the marks of r to dst.
func (e *Engine) appendMarks(dst []risk.Mark, r *risk.Record) []risk.Mark {
	dst = e.seg.AppendMarks(dst, r)
	if e.model == nil {
		return dst
	}
	for i := range r.Observations {
		o := &r.Observations[i]
		if o.Value == nil {
			continue
		}
		for _, k := range e.codes.ConceptsOf(o.Code.System, o.Code.Code) {
			if j := slices.Index(obsConcepts, k); j >= 0 {
				dst = append(dst, risk.Mark{Kind: markObservation, Index: uint8(j), From: risk.Second(o.Effective), Until: int64(math.Float64bits(*o.Value))})
			}
		}
	}
	return dst
}

// normalPerson is p as the engine's columns keep it: days for dates.
func normalPerson(p registry.Person) registry.Person {
	out := registry.Person{ID: p.ID, Sex: sexNames[sexCode(p.Sex)]}
	if d := dayOf(p.BirthDate); d != noDay {
		out.BirthDate = dayTime(d)
	}
	if d := dayOf(p.DateOfDeath); d != noDay {
		out.DateOfDeath = dayTime(d)
	}
	if p.IMDDecile >= 1 && p.IMDDecile <= 10 {
		out.IMDDecile = p.IMDDecile
	}
	return out
}

// personAt is row r's person as normalPerson makes it. Call with e.mu held.
func (e *Engine) personAt(r int) registry.Person {
	p := registry.Person{ID: e.id[r], Sex: sexNames[e.sex[r]], IMDDecile: int(e.imd[r])}
	if d := e.birth[r]; d != noDay {
		p.BirthDate = dayTime(d)
	}
	if d := e.death[r]; d != noDay {
		p.DateOfDeath = dayTime(d)
	}
	return p
}

// marksOf is row r's marks. Call with e.mu held.
func (e *Engine) marksOf(r int) []risk.Mark {
	s, t := e.mstart[r], int(e.mend[r])
	if s&inExtra != 0 {
		return e.marks.extra[s&^inExtra : t]
	}
	return e.marks.base[s:t]
}

// placement is what the engine computes for one person on one day.
type placement struct {
	rules       segment.Rules
	efi, cci    uint8   // eFI deficits and Charlson score (1987 weights, no age points)
	score, prev float32 // NaN when not scored
}

// placer computes placements; one per goroutine.
type placer struct {
	e   *Engine
	f   segment.Facts
	row []float32
}

func (e *Engine) newPlacer() *placer {
	pl := &placer{e: e}
	if e.feats != nil {
		pl.row = make([]float32, e.feats.Width())
	}
	return pl
}

func (pl *placer) place(p *registry.Person, ms []risk.Mark, now time.Time) (placement, error) {
	e := pl.e
	e.seg.FactsAt(&pl.f, p, ms, now)
	t := risk.Second(now)
	out := placement{rules: segment.RulesOf(&pl.f), efi: uint8(risk.EFICount(ms, t)), cci: uint8(risk.CharlsonScore(ms, t)),
		score: nan32, prev: nan32}
	if e.model == nil {
		return out, nil
	}
	var err error
	if out.score, err = pl.risk(p, ms, now); err != nil {
		return out, err
	}
	if out.prev, err = pl.risk(p, ms, now.AddDate(0, -1, 0)); err != nil {
		return out, err
	}
	return out, nil
}

// risk is the model's 12-month emergency admission risk as of cutoff, NaN
// for someone the model does not score then: riskmodel.Builder.Row from
// marks.
func (pl *placer) risk(p *registry.Person, ms []risk.Mark, cutoff time.Time) (float32, error) {
	if !riskmodel.Eligible(*p, cutoff) {
		return nan32, nil
	}
	c := &pl.e.cols
	dst := pl.row
	clear(dst)
	tb := risk.SecondNotBefore(cutoff) - 1 // the last second before the cut-off
	dst[c.age] = float32(max(p.AgeAt(cutoff), 0))
	if p.Sex == registry.Female {
		dst[c.female] = 1
	}
	if d := p.IMDDecile; d >= 1 && d <= 10 {
		dst[c.imd] = float32(d)
	} else {
		dst[c.imd], dst[c.imdUnknown] = c.imdMissing, 1
	}
	m6, m12, m24 := risk.SecondNotBefore(cutoff.AddDate(0, -6, 0)), risk.SecondNotBefore(cutoff.AddDate(0, -12, 0)), risk.SecondNotBefore(cutoff.AddDate(0, -24, 0))
	since := risk.SecondNotBefore(cutoff.AddDate(0, -riskmodel.ObservationWindow, 0))
	var latest [3]int64
	var value [3]float64
	var seen [3]bool
	nLTC := len(segment.LongTermConditions)
	for i := range ms {
		m := &ms[i]
		if m.From > tb {
			continue
		}
		switch m.Kind {
		case segment.MarkCondition, segment.MarkClosedCondition:
			if int(m.Index) < nLTC && tb < m.Until {
				dst[c.ltc[m.Index]] = 1
			}
		case segment.MarkDiagnosis:
			dst[c.ltc[m.Index]] = 1
		case segment.MarkEncounter:
			window := func(c6, c12, c24 int) {
				if m.From < m24 {
					return
				}
				dst[c24]++
				if m.From >= m12 {
					dst[c12]++
				}
				if m.From >= m6 {
					dst[c6]++
				}
			}
			switch segment.EncounterClasses[m.Index] {
			case record.EmergencyAdmission:
				window(c.ea6, c.ea12, c.ea24)
			case record.AE:
				window(c.ae6, c.ae12, c.ae24)
			case record.SocialCareContact:
				if m.From >= m12 {
					dst[c.social] = 1
				}
			}
		case markObservation:
			j := m.Index
			if m.From >= since && (!seen[j] || m.From > latest[j]) {
				seen[j], latest[j], value[j] = true, m.From, math.Float64frombits(uint64(m.Until))
			}
		}
	}
	for _, j := range c.ltc {
		dst[c.ltcCount] += dst[j]
	}
	dst[c.efi] = float32(float64(risk.EFICount(ms, tb)) / risk.EFIDeficits)
	dst[c.meds] = float32(risk.CurrentMedicines(ms, tb))
	for j := range obsConcepts {
		if seen[j] {
			dst[c.obs[j]] = float32(value[j])
		} else {
			dst[c.obs[j]], dst[c.obsMissing[j]] = c.obsDefault[j], 1
		}
	}
	for j, v := range dst {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nan32, apperr.Ef(apperr.Invalid, "population: person %d: risk model feature %d is not a finite number", p.ID, j)
		}
	}
	return float32(pl.e.model.Risk(dst)), nil
}

// featureCols are the risk model's feature columns, found by name, and the
// values it puts in place of missing ones.
type featureCols struct {
	age, female, imd, imdUnknown               int
	ltc                                        []int // by index in segment.LongTermConditions
	ltcCount, ea6, ea12, ea24, ae6, ae12, ae24 int
	efi, meds, social, carePackage             int
	obs, obsMissing                            [3]int
	imdMissing                                 float32
	obsDefault                                 [3]float32
}

// modelColumns maps the builder's features to the columns the engine
// writes. A feature the engine does not know is Internal: the features
// changed and the engine must learn them before it can score.
func modelColumns(b *riskmodel.Builder, now time.Time) (featureCols, error) {
	c := featureCols{ltc: make([]int, len(segment.LongTermConditions))}
	ptr := map[string]*int{
		"age": &c.age, "female": &c.female, "imd_decile": &c.imd, "imd_unknown": &c.imdUnknown,
		"ltc_count": &c.ltcCount, "emergency_admissions_6m": &c.ea6, "emergency_admissions_12m": &c.ea12,
		"emergency_admissions_24m": &c.ea24, "ae_attendances_6m": &c.ae6, "ae_attendances_12m": &c.ae12,
		"ae_attendances_24m": &c.ae24, "efi": &c.efi, "medicines": &c.meds, "social_care_12m": &c.social,
		"care_package": &c.carePackage,
		"hba1c":        &c.obs[0], "hba1c_missing": &c.obsMissing[0], "egfr": &c.obs[1], "egfr_missing": &c.obsMissing[1],
		"systolic_bp": &c.obs[2], "systolic_bp_missing": &c.obsMissing[2],
	}
	for i, l := range segment.LongTermConditions {
		ptr["ltc."+string(l)] = &c.ltc[i]
	}
	names := b.Names()
	if len(names) != len(ptr) {
		return c, apperr.Ef(apperr.Internal, "population: the risk model has %d features, the engine knows %d", len(names), len(ptr))
	}
	for j, n := range names {
		p, ok := ptr[n]
		if !ok {
			return c, apperr.Ef(apperr.Internal, "population: the engine cannot compute risk model feature %q", n)
		}
		*p = j
	}
	// The values put in place of what is missing: a person with no record.
	row := make([]float32, b.Width())
	probe := &risk.Record{Person: registry.Person{BirthDate: now.AddDate(-50, 0, 0)}}
	if err := b.Row(riskmodel.Person{Record: probe}, now, row); err != nil {
		return c, err
	}
	c.imdMissing = row[c.imd]
	for j := range obsConcepts {
		c.obsDefault[j] = row[c.obs[j]]
	}
	return c, nil
}
