package synth

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/wholecare/wholecare/internal/record"
)

// Base annual rates by age, before the person's multipliers. The emergency
// admission base is set so that the population rate comes out near
// England's ≈ 0.10 per person-year once conditions, latent ill-health,
// deprivation and prior use have multiplied it.
func baseEmergency(age int) float64 {
	switch {
	case age < 1:
		return 0.12
	case age < 5:
		return 0.05
	case age < 15:
		return 0.022
	case age < 40:
		return 0.035
	case age < 60:
		return 0.035
	case age < 70:
		return 0.045
	case age < 80:
		return 0.065
	case age < 90:
		return 0.11
	default:
		return 0.16
	}
}

func baseAE(age int) float64 {
	switch {
	case age < 5:
		return 0.35
	case age < 15:
		return 0.18
	case age < 30:
		return 0.30
	case age < 60:
		return 0.20
	case age < 80:
		return 0.20
	default:
		return 0.35
	}
}

func baseElective(age int) float64 {
	switch {
	case age < 18:
		return 0.02
	case age < 50:
		return 0.05
	case age < 70:
		return 0.10
	default:
		return 0.16
	}
}

// monthStart is the first day of month m of the window (m may be negative:
// the year before the window is simulated, unrecorded, so that prior use is
// known from the start).
func (g *Generator) monthStart(m int) int32 {
	return g.winStart + int32(math.Round(float64(m)*float64(g.now-g.winStart)/(historyYears*12)))
}

// emitActivity simulates encounters month by month. Emergency admissions
// and A&E attendances are a self-exciting process: their hazard depends on
// age, which conditions are active, latent ill-health (frailty),
// deprivation and the person's own admissions and attendances in the last
// 12 months, so that prior use truly predicts future use.
func (g *Generator) emitActivity(r *rand.Rand, p *person, e *emitter) {
	routineStart := g.now - routineDays
	var eaRing, aeRing [12]int
	ea12, ae12 := 0, 0
	monthLen := float64(g.now-g.winStart) / (historyYears * 12)
	dep := depTerm(p.dep)
	// Latent ill-health enters the hazard through exp(0.45·z), capped so a
	// few extreme draws do not dominate the totals.
	zMult := math.Exp(0.35 * clamp(p.z, -3, 3))
	for m := -12; m < historyYears*12; m++ {
		slot := (m + 12) % 12
		ea12 -= eaRing[slot]
		ae12 -= aeRing[slot]
		eaRing[slot], aeRing[slot] = 0, 0
		d0, d1 := g.monthStart(m), g.monthStart(m+1)
		if d0 >= p.stop {
			break
		}
		lo, hi := max(d0, p.birth), min(d1, p.stop)
		if hi <= lo {
			continue
		}
		span := hi - lo
		frac := float64(span) / monthLen
		age := p.ageAt(lo)
		nAct, logRR := 0, 0.0
		for c := range nCond {
			if p.active(c, lo) {
				logRR += conditionTable[c].AdmitLogRR
				if c != cObesity && c != cOA && c != cHypothyroid && c != cNDH {
					nAct++
				}
			}
		}
		frail := 0
		if age >= 65 {
			frail = p.frail
		}
		terminal := 1.0
		if p.death != 0 && p.death-lo < 180 {
			terminal = 2
		}
		// Conditions multiply the hazard, with diminishing returns: the
		// log rate ratios add up to a cap, as the sickest cannot be
		// admitted more than about monthly.
		prior := 1 + 0.7*float64(min(ea12, 4)) + 0.2*float64(min(ae12, 4))
		lamEA := baseEmergency(age) / 12 * math.Exp(math.Min(0.7*logRR+0.05*float64(nAct), 2.2)+0.3*dep) * zMult * prior * terminal * frac
		if r.Float64() < -math.Expm1(-lamEA) {
			day := lo + int32(r.IntN(int(span)))
			g.admission(r, p, e, day, age, day >= routineStart, false)
			eaRing[slot]++
			ea12++
		}
		lamAE := baseAE(age) / 12 * math.Exp(0.5*logRR+0.3*dep) * math.Sqrt(zMult) *
			(1 + 0.5*float64(ae12) + 0.3*float64(ea12)) * frac
		if r.Float64() < -math.Expm1(-lamAE) {
			day := lo + int32(r.IntN(int(span)))
			if day >= g.winStart {
				t := at(day, r.IntN(24))
				enc := e.encounter(record.AE, t, t.Add(time.Duration(1+r.IntN(6))*time.Hour), p.prac.acute, nil, "", costAENonAdmitted, 1)
				if day >= routineStart {
					e.vitals(r, t, enc, 0)
				}
			}
			aeRing[slot]++
			ae12++
		}
		if d0 < g.winStart {
			continue
		}
		lamEL := baseElective(age) / 12 * (1 + 0.25*float64(nAct)) * frac
		if r.Float64() < -math.Expm1(-lamEL) {
			day := lo + int32(r.IntN(int(span)))
			t := at(day, 8)
			los := r.IntN(3)
			end := at(day+int32(los), 11)
			if day+int32(los) >= p.stop {
				end = time.Time{}
			}
			e.encounter(record.ElectiveAdmission, t, end, p.prac.acute, electiveDiagnosis(r, p, age, day), dischargeIf(end, "home"), costElectiveSpell, 2)
		}
		if d0 < routineStart {
			continue
		}
		g.routine(r, p, e, lo, span, frac, age, nAct, frail)
	}
	if p.deathInHospital {
		los := 1 + int32(r.ExpFloat64()*7)
		g.admission(r, p, e, max(p.death-los, p.birth), p.ageAt(p.death), p.death-los >= routineStart, true)
	}
}

// routine writes a month's routine contacts: primary care, outpatients,
// community nursing, mental health and social care.
func (g *Generator) routine(r *rand.Rand, p *person, e *emitter, lo, span int32, frac float64, age, nAct, frail int) {
	day := func() int32 { return lo + int32(r.IntN(int(span))) }
	gpRate := 2.2 + 0.03*math.Max(0, float64(age-30)) + 0.8*float64(nAct) + 0.8*float64(frail) + 0.4*clamp(p.z, -1, 3)
	for range poisson(r, gpRate/12*frac) {
		t := at(day(), 8+r.IntN(10))
		if r.Float64() < 0.65 {
			e.encounter(record.PrimaryCare, t, t.Add(10*time.Minute), p.prac.id, nil, "", costGPAppointment, 0)
		} else {
			e.encounter(record.PrimaryCare, t, t.Add(15*time.Minute), p.prac.id, nil, "", costNurseContact, 0)
		}
	}
	opRate := 0.25 + 0.35*float64(nAct) + 2*boolf(p.active(cCancer, lo))
	for range poisson(r, opRate/12*frac) {
		t := at(day(), 9+r.IntN(8))
		e.encounter(record.Outpatient, t, t.Add(30*time.Minute), p.prac.acute, nil, "", costOutpatient, 2)
	}
	commRate := [4]float64{0, 0, 4, 12}[frail] + 12*boolf(p.active(cPalliative, lo))
	for range poisson(r, commRate/12*frac) {
		t := at(day(), 9+r.IntN(8))
		e.encounter(record.Community, t, t.Add(45*time.Minute), g.orgs.community, nil, "", costCommunityVisit, 1)
	}
	mhRate := 6 * boolf(p.active(cSMI, lo))
	if p.active(cDepression, lo) && p.z > 1.2 && age < 65 {
		mhRate += 3
	}
	for range poisson(r, mhRate/12*frac) {
		t := at(day(), 9+r.IntN(8))
		e.encounter(record.MentalHealth, t, t.Add(time.Hour), g.orgs.mentalHealth, nil, "", costMHContact, 1)
	}
	if p.pkgKind != "" && p.pkgStart <= lo {
		for range poisson(r, 2.0/12*frac) {
			hours := 1 + r.IntN(2)
			t := at(day(), 9+r.IntN(8))
			e.encounter(record.SocialCareContact, t, t.Add(time.Duration(hours)*time.Hour), g.orgs.socialCare, nil, "", int64(hours)*costSocialHour, 1)
		}
	}
}

// admission writes an emergency admission starting on day, usually through
// A&E, with a length of stay that grows with age and a discharge
// destination. A terminal admission ends in death.
func (g *Generator) admission(r *rand.Rand, p *person, e *emitter, day int32, age int, vitals, terminal bool) {
	var los int32
	if terminal {
		los = p.death - day
	} else if r.Float64() >= 0.2 {
		median := 2.5 + 0.06*math.Max(0, float64(age-50))
		los = int32(math.Round(math.Exp(math.Log(median) + 0.95*r.NormFloat64())))
		los = min(los, 120)
	}
	if day < g.winStart {
		return
	}
	diag := emergencyDiagnosis(r, p, age, day)
	t := at(day, r.IntN(24))
	if r.Float64() < 0.75 {
		enc := e.encounter(record.AE, t.Add(-3*time.Hour), t, p.prac.acute, nil, "", costAEAdmitted, 1)
		if vitals {
			e.vitals(r, t.Add(-2*time.Hour), enc, 1)
		}
	}
	end := at(day+los, 10+r.IntN(8))
	if !end.After(t) {
		// A same-day stay that began after the usual discharge hours.
		end = t.Add(6 * time.Hour)
	}
	discharge := "home"
	switch u := r.Float64(); {
	case terminal:
		discharge = "died"
	case age >= 75 && p.frail >= 2 && u < 0.08:
		discharge = "care_home"
	case u < 0.03:
		discharge = "transfer"
	case u < 0.05:
		discharge = "other"
	}
	if !terminal && day+los >= p.stop {
		if p.death == 0 {
			end, discharge = time.Time{}, "" // still in hospital at Now
		} else {
			end, discharge = at(p.death, 6+r.IntN(12)), "died"
		}
	}
	pence := int64(costNELBase + costNELPerBedDay*int64(los))
	e.encounter(record.EmergencyAdmission, t, end, p.prac.acute, diag, discharge, pence, 2)
	if discharge == "home" && age >= 65 && r.Float64() < 0.12 && day+los+42 < p.stop {
		start := day + los
		e.pkg(g.orgs.socialCare, "reablement", 10, 10*costSocialHour, start, start+42)
		g.packageCost(p, e, 10*costSocialHour, start, start+42, g.orgs.socialCare)
	}
}

func dischargeIf(end time.Time, d string) string {
	if end.IsZero() {
		return ""
	}
	return d
}

// vitals writes the observations taken at A&E triage; sicker when the
// attendance leads to admission.
func (e *emitter) vitals(r *rand.Rand, t time.Time, enc int64, sick float64) {
	e.observation(&codeSpO2, math.Round(clamp(97-2.5*sick+1.5*r.NormFloat64(), 82, 100)), "%", t, enc, 1)
	e.observation(&codePulse, math.Round(clamp(82+12*sick+14*r.NormFloat64(), 40, 170)), "/min", t, enc, 1)
	e.observation(&codeRespRate, math.Round(clamp(16+3*sick+3*r.NormFloat64(), 8, 40)), "/min", t, enc, 1)
	e.observation(&codeTemperature, math.Round(clamp(36.9+0.5*sick+0.5*r.NormFloat64(), 34.5, 41)*10)/10, "Cel", t, enc, 1)
}

func at(day int32, hour int) time.Time {
	return time.Unix(int64(day)*dayDuration+int64(hour)*3600, 0).UTC()
}

// poisson draws a Poisson count by inversion; the rates here are small.
func poisson(r *rand.Rand, lam float64) int {
	if lam <= 0 {
		return 0
	}
	limit := math.Exp(-lam)
	k := 0
	for x := r.Float64(); x > limit; x *= r.Float64() {
		k++
	}
	return k
}

// emergencyDiagnosis picks a primary diagnosis consistent with the
// person's active conditions and age.
func emergencyDiagnosis(r *rand.Rand, p *person, age int, day int32) *code {
	type wd struct {
		w float64
		c *code
	}
	old := boolf(age >= 70)
	child := age < 5
	cands := [...]wd{
		{6 * boolf(p.active(cCOPD, day)), &icdCOPDExac},
		{5 * boolf(p.active(cHF, day)), &icdHF},
		{1 + 2*old + boolf(p.active(cCOPD, day)), &icdPneumonia},
		{0.5 + 1.5*old + boolf(p.active(cDementia, day)) + 0.5*float64(p.sex), &icdUTI},
		{0.6 + old, &icdSyncope},
		{(0.2 + 1.5*boolf(p.active(cOsteoporosis, day)) + 0.7*float64(p.frail)) * boolf(age >= 60), &icdHipFracture},
		{1.5 * boolf(p.active(cCHD, day)), &icdMI},
		{1.5*boolf(p.active(cStroke, day)) + 0.7*boolf(p.active(cAF, day)), &icdStroke},
		{1.2 * boolf(p.active(cDiabetes, day)), &icdDiabetes},
		{2 * boolf(p.active(cAsthma, day)), &icdAsthma},
		{1.2 * boolf(age >= 18), &icdChestPain},
		{0.3 + 0.3*old, &icdGIBleed},
		{1.0, &icdAbdoPain},
		{0.5, &icdCellulitis},
		{1.2 * boolf(p.active(cAF, day)), &icdAF},
		{1.5 * boolf(p.active(cCKD, day)), &icdAKI},
		{2 * boolf(p.active(cDementia, day)), &icdDelirium},
		{4 * boolf(child), &icdBronchiol},
		{3 * boolf(p.active(cEpilepsy, day)), &icdSeizure},
		{3 * boolf(p.active(cSMI, day)), &icdPsychosis},
		{0.8 * boolf(p.active(cDepression, day) && age < 65), &icdSelfHarm},
	}
	var total float64
	for _, c := range cands {
		total += c.w
	}
	u := r.Float64() * total
	for _, c := range cands {
		if u < c.w {
			return c.c
		}
		u -= c.w
	}
	return &icdAbdoPain
}

func electiveDiagnosis(r *rand.Rand, p *person, age int, day int32) *code {
	type wd struct {
		w float64
		c *code
	}
	cands := [...]wd{
		{4 * boolf(p.active(cCancer, day)), &icdChemo},
		{1.5 * boolf(p.active(cOA, day)), &icdKneeOA},
		{1.0 * boolf(p.active(cOA, day)), &icdHipOA},
		{2 * boolf(age >= 60), &icdCataract},
		{1, &icdGallstones},
		{0.8 * boolf(p.sex == 0), &icdHernia},
		{0.8 * boolf(age >= 40), &icdDiverticul},
	}
	var total float64
	for _, c := range cands {
		total += c.w
	}
	u := r.Float64() * total
	for _, c := range cands {
		if u < c.w {
			return c.c
		}
		u -= c.w
	}
	return &icdGallstones
}
