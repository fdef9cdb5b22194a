package synth

import (
	"math"
	"math/rand/v2"
	"time"
)

// emitAnnual writes, for each of the five 12-month periods ending at Now,
// the monitoring a practice records: blood pressure, HbA1c, kidney
// function, cholesterol, BMI, smoking status, and the QOF-style reviews.
// Completion varies with the practice (quality) so that care gaps differ
// between practices.
func (g *Generator) emitAnnual(r *rand.Rand, p *person, e *emitter) {
	q := p.prac.quality
	bmiYear := r.IntN(historyYears) // the year a non-obese adult's BMI is recorded, if at all
	smokYear := r.IntN(historyYears)
	rehabOffered := false
	for y := range historyYears {
		y0 := g.now - int32((historyYears-y)*365)
		y1 := y0 + 365
		if y == historyYears-1 {
			y1 = g.now
		}
		lo, hi := max(y0, p.birth), min(y1, p.stop)
		if hi <= lo {
			continue
		}
		span := int(hi - lo)
		day := func() int32 { return lo + int32(r.IntN(span)) }
		mid := lo + int32(span/2)
		age := p.ageAt(mid)
		if age < 18 {
			if p.active(cAsthma, mid) && r.Float64() < 0.6*q {
				t := at(day(), 10)
				e.procedure(&codeAsthmaReview, t, 0)
			}
			continue
		}
		lastYear := y == historyYears-1
		dm := p.active(cDiabetes, mid)
		hyp := p.active(cHypertension, mid)
		ckd := p.active(cCKD, mid)
		cvd := p.active(cCHD, mid) || p.active(cStroke, mid) || p.active(cPAD, mid)
		monitored := dm || hyp || ckd || cvd

		// Blood pressure: yearly on the registers, about every three years
		// for other adults over 40.
		if (monitored && r.Float64() < 0.92*q) || (!monitored && r.Float64() < [2]float64{0.06, 0.33}[b2i(age >= 40)]) {
			t := at(day(), 9+r.IntN(8))
			sys := 118 + 0.35*float64(age-30) + 8*p.bpCtl + 8*r.NormFloat64()
			if hyp {
				sys = 133 + 9*p.bpCtl + 7*r.NormFloat64()
				if age >= 80 {
					sys += 4
				}
			}
			sys = math.Round(clamp(sys, 85, 220))
			dia := math.Round(clamp(0.45*sys+20+6*r.NormFloat64(), 45, 130))
			e.observation(&codeSystolic, sys, "mm[Hg]", t, 0, 0)
			e.observation(&codeDiastolic, dia, "mm[Hg]", t, 0, 0)
		}
		if dm {
			for range 1 + b2i(r.Float64() < 0.5) {
				if r.Float64() < 0.95*q {
					e.observation(&codeHbA1c, math.Round(clamp(p.hba1c+4*r.NormFloat64(), 30, 150)), "mmol/mol", at(day(), 9), 0, 2)
				}
			}
			if r.Float64() < 0.88*q {
				e.procedure(&codeDMFootCheck, at(day(), 10), 0)
			}
		} else if p.active(cNDH, mid) && r.Float64() < 0.5 {
			e.observation(&codeHbA1c, float64(42+r.IntN(6)), "mmol/mol", at(day(), 9), 0, 2)
		}
		if (dm || hyp || ckd) && r.Float64() < 0.8*q {
			t := at(day(), 9)
			e.observation(&codeEGFR, egfr(r, p, age, ckd), "mL/min/{1.73_m2}", t, 0, 2)
			if dm || ckd || r.Float64() < 0.4 {
				acr := math.Exp(math.Log(1.2) + 0.9*r.NormFloat64() + 0.8*boolf(ckd) + 0.4*boolf(dm))
				e.observation(&codeACR, math.Round(acr*10)/10, "mg/mmol", t, 0, 2)
			}
		}
		if (dm || cvd || (hyp && r.Float64() < 0.5)) && r.Float64() < 0.7*q {
			chol := 5.0 + 0.9*r.NormFloat64()
			if p.drugs&(1<<drAtorvastatin) != 0 && p.drugStart[drAtorvastatin] < mid {
				chol -= 1.1
			}
			e.observation(&codeCholesterol, math.Round(clamp(chol, 2.0, 10)*10)/10, "mmol/L", at(day(), 9), 0, 2)
		}
		// BMI: the obesity register needs a BMI ≥ 30 in the last 12 months;
		// other adults have one recorded now and then, below 30 whenever it
		// falls in the last 12 months so it never contradicts the register.
		obese := p.active(cObesity, mid)
		if obese || dm || (y == bmiYear && r.Float64() < 0.6 && (p.bmi < 30 || !lastYear)) {
			if obese || !lastYear || p.bmi < 30 || (dm && p.bmi < 30) {
				bmi := p.bmi
				if obese && bmi < 30 {
					bmi = 30
				}
				if !obese && lastYear {
					bmi = math.Min(bmi, 29.9)
				}
				t := at(day(), 10)
				h := p.height / 100
				e.observation(&codeBMI, math.Round(bmi*10)/10, "kg/m2", t, 0, 0)
				e.observation(&codeWeight, math.Round(bmi*h*h*10)/10, "kg", t, 0, 0)
				if y == bmiYear {
					e.observation(&codeHeight, math.Round(p.height), "cm", t, 0, 0)
				}
			}
		}
		if p.smoking >= 0 && (y == smokYear || (monitored && p.smoking == 2)) && r.Float64() < 0.85 {
			e.finding([3]*code{&codeNeverSmoked, &codeExSmoker, &codeSmoker}[p.smoking], at(day(), 10))
		}
		if p.active(cAsthma, mid) && r.Float64() < 0.65*q {
			t := at(day(), 10)
			e.procedure(&codeAsthmaReview, t, 0)
			pef := (400 + 100*boolf(p.sex == 0)) * (1 - 0.004*math.Max(0, float64(age-30))) * (0.85 + 0.1*r.NormFloat64())
			e.observation(&codePeakFlow, math.Round(clamp(pef, 120, 750)/10)*10, "L/min", t, 0, 0)
		}
		if p.active(cCOPD, mid) && r.Float64() < 0.8*q {
			t := at(day(), 10)
			e.procedure(&codeCOPDReview, t, 0)
			e.observation(&codeMRC, float64(p.mrc), "{score}", t, 0, 0)
			if p.mrc >= 3 && !rehabOffered && r.Float64() < 0.55*q {
				e.procedure(&codePulRehabOffer, t, 0)
				rehabOffered = true
			}
		}
		if p.active(cDementia, mid) && r.Float64() < 0.7*q {
			e.procedure(&codeDemCarePlanRev, at(day(), 11), 0)
		}
		if p.drugs != 0 && r.Float64() < 0.7*q {
			t := at(day(), 11)
			if onDrugs(p, mid) > 0 {
				if (p.frail >= 2 || onDrugs(p, mid) >= 8) && r.Float64() < 0.4 {
					e.procedure(&codeSMR, t, 0)
				} else {
					e.procedure(&codeMedReview, t, 0)
				}
			}
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// onDrugs counts the repeat medicines active on day.
func onDrugs(p *person, day int32) int {
	n := 0
	for d := range nDrugs {
		if p.drugs&(1<<d) != 0 && p.drugStart[d] <= day {
			n++
		}
	}
	return n
}

// egfr is an eGFR consistent with the CKD stage (G3a 45–59, G3b 30–44, G4
// 15–29, G5 below 15), and at least 60 without CKD.
func egfr(r *rand.Rand, p *person, age int, ckd bool) float64 {
	if !ckd {
		return math.Round(clamp(100-0.6*math.Max(0, float64(age-30))+10*r.NormFloat64(), 60, 130))
	}
	switch p.ckdStage {
	case 4:
		return float64(15 + r.IntN(15))
	case 5:
		return float64(5 + r.IntN(10))
	}
	if p.ckd3b {
		return float64(30 + r.IntN(15))
	}
	return float64(45 + r.IntN(15))
}

// emitImmunisations writes flu vaccines each autumn for the eligible
// (65+, 18–64 in a Green Book risk group, 2–3 year olds), with uptake that
// is lower with deprivation and consistent within a person; and a
// pneumococcal vaccine at 65 and a shingles vaccine at 70.
func (g *Generator) emitImmunisations(r *rand.Rand, p *person, e *emitter) {
	dep := depTerm(p.dep)
	first := dayTime(g.winStart).Year()
	for year := first; year <= dayTime(g.now).Year(); year++ {
		sep1 := dayOf(time.Date(year, time.September, 1, 0, 0, 0, 0, time.UTC))
		if sep1 < g.winStart || sep1 >= p.stop || sep1 < p.birth {
			continue
		}
		age := p.ageAt(sep1)
		var base float64
		switch {
		case age >= 65:
			base = 2.0
		case age >= 18 && g.fluRisk(p, sep1):
			base = -0.27
		case age == 2 || age == 3:
			base = -0.27
		default:
			continue
		}
		day := sep1 + int32(r.IntN(105))
		if day >= p.stop || day >= g.now {
			continue
		}
		if r.Float64() < logistic(base+1.5*p.vax-0.5*dep) {
			e.immunisation(&codeFluVaccine, at(day, 9+r.IntN(8)), false)
		} else if r.Float64() < 0.05 {
			e.immunisation(&codeFluVaccine, at(day, 9+r.IntN(8)), true)
		}
	}
	once := func(atAge int, prob float64, c *code) {
		d := p.birth + int32(float64(atAge)*365.25) + int32(r.IntN(365))
		if d >= g.winStart && d < p.stop && d < g.now && r.Float64() < logistic(math.Log(prob/(1-prob))+1.2*p.vax-0.4*dep) {
			e.immunisation(c, at(d, 10), false)
		}
	}
	once(65, 0.7, &codePneumoVaccine)
	once(70, 0.45, &codeShinglesVaccin)
}

// fluRisk is the Green Book chapter 19 clinical risk groups the record can
// show (asthma counts only for some: those on continuous steroids).
func (g *Generator) fluRisk(p *person, day int32) bool {
	for _, c := range [...]int{cDiabetes, cCOPD, cCHD, cHF, cAF, cCKD, cStroke, cLD, cDementia, cPalliative} {
		if p.active(c, day) {
			return true
		}
	}
	return p.active(cAsthma, day) && p.drugs&(1<<drBeclometasone) != 0 && p.idx%3 == 0
}
