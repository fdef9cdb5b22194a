package synth

import (
	"math"
	"math/rand/v2"

	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/registry"
)

// person is the generator's working state for one person. It is reset for
// every person and never escapes Chunk.
type person struct {
	idx, id  int64
	sex      int // 0 male, 1 female
	birth    int32
	death    int32 // 0 when alive at Now
	ref      int32 // Now, or the day of death
	stop     int32 // events happen on days before stop
	age      int   // at ref
	dep      int
	z        float64
	prac     *practice
	eth      string
	regStart int32

	has   [nCond]bool
	onset [nCond]int32

	frail           int // 0 fit .. 3 severe (65+ only)
	frailCoded      bool
	frailOnset      int32
	dmType1         bool
	ckdStage        int // 3, 4, 5
	ckd3b           bool
	tia             bool
	schizo          bool
	smoking         int // 0 never, 1 ex, 2 current; -1 not recorded (children)
	bpCtl           float64
	hba1c           float64 // person's usual HbA1c (diabetes)
	bmi             float64
	height          float64
	mrc             int
	vax             float64 // propensity to take up vaccines
	deathInHospital bool

	drugs     uint64
	drugStart [nDrugs]int32

	pkgKind  string // "" none
	pkgStart int32
	pkgHours float64
	pkgOrg   string
}

func (p *person) active(c int, day int32) bool { return p.has[c] && p.onset[c] <= day }

func (p *person) ageAt(day int32) int { return int(float64(day-p.birth) / 365.25) }

// Chunk fills b with chunk k's people (IDs base + k·ChunkSize + i) and all
// their rows. It draws only from chunk k's own random stream, so any chunk
// can be generated alone and comes out the same.
func (g *Generator) Chunk(k int, base int64, b *record.Batch) {
	b.Reset()
	first := k * g.spec.ChunkSize
	if k < 0 || first >= g.spec.People {
		return
	}
	n := min(g.spec.ChunkSize, g.spec.People-first)
	r := rand.New(rand.NewPCG(uint64(g.spec.Seed), uint64(k)))
	e := emitter{b: b, now: g.now, vals: make([]float64, 0, n*16)}
	var p person
	for i := range n {
		idx := int64(first + i)
		p = person{idx: idx, id: base + idx}
		g.makePerson(r, &p)
		e.startPerson(&p)
		g.emitPerson(r, &p, &e)
	}
}

// makePerson draws who the person is: demographics, conditions, risk
// factors, medicines and social care.
func (g *Generator) makePerson(r *rand.Rand, p *person) {
	decedent := r.Float64() < g.decedent
	var cell int
	if decedent {
		p.death = g.winStart + int32(r.IntN(int(g.now-g.winStart)))
		p.ref = p.death
		p.stop = p.death
		cell = drawCum(g.deathCum, r.Float64())
	} else {
		p.ref = g.now
		p.stop = g.now
		cell = drawCum(g.aliveCum, r.Float64())
	}
	p.sex, p.age = cell/(maxAge+1), cell%(maxAge+1)
	p.birth = p.ref - int32(float64(p.age)*365.25) - int32(r.IntN(365))
	p.prac = &g.practices[drawCum(g.listCum, r.Float64())]
	p.dep = personDecile(r, p.prac.meanDep)
	p.eth = ethnicities[drawCum(g.ethCum[:], r.Float64()*g.ethCum[len(g.ethCum)-1])].code
	// A proportional-hazards death model with hazard ∝ exp(0.8·z) makes z
	// among the dead N(0.8, 1), and multiplies the odds of each condition
	// among them by its hazard ratio (Bayes' rule, for rare conditions):
	// that is how decedents are drawn, so the living keep exactly the
	// calibrated prevalence.
	p.z = r.NormFloat64()
	if decedent {
		p.z += 0.8
	}
	p.regStart = max(p.birth, p.ref-int32(r.ExpFloat64()*10*365))

	m := &g.model
	dep := depTerm(p.dep)
	for c := range nCond {
		ct := &conditionTable[c]
		if p.age < ct.MinAge {
			continue
		}
		x := m.alpha[c] + m.curve[c][p.age] + ct.Dep*dep + ct.Z*p.z
		if p.sex == 0 {
			x += ct.Male
		}
		if decedent {
			x += ct.DeathLogHR
		}
		if r.Float64() >= logistic(x) {
			continue
		}
		p.has[c] = true
		p.onset[c] = onsetDay(r, p, ct.Duration, ct.MinOnset)
	}
	if p.has[cDiabetes] {
		p.dmType1 = r.Float64() < 0.10
		if p.dmType1 {
			p.onset[cDiabetes] = max(p.birth+int32((5+20*r.Float64())*365), p.onset[cDiabetes]-int32(20*365*r.Float64()))
			p.onset[cDiabetes] = min(p.onset[cDiabetes], p.ref-1)
		}
		p.hba1c = math.Exp(math.Log(52) + 0.26*r.NormFloat64())
	}
	if p.has[cCKD] {
		switch u := r.Float64(); {
		case u < 0.88:
			p.ckdStage = 3
			p.ckd3b = r.Float64() < 0.3
		case u < 0.97:
			p.ckdStage = 4
		default:
			p.ckdStage = 5
		}
	}
	p.tia = r.Float64() < 0.35
	p.schizo = r.Float64() < 0.5
	if p.age >= 65 {
		s := frailZ*p.z + frailAge*float64(p.age-76) + frailNoise*r.NormFloat64()
		for _, cut := range m.frailCut {
			if s > cut {
				p.frail++
			}
		}
		if p.frail > 0 && r.Float64() < frailCodedShare[p.frail] {
			p.frailCoded = true
			p.frailOnset = max(p.birth+65*365, p.ref-1-int32(r.ExpFloat64()*2*365))
		}
	}
	p.smoking = -1
	if p.age >= 16 {
		x := -1.85 + 0.7*dep + 0.3*p.z - 0.03*math.Max(0, float64(p.age-50))
		if p.has[cCOPD] {
			x += 1.5
		}
		switch {
		case r.Float64() < logistic(x):
			p.smoking = 2
		case r.Float64() < logistic(-1.2+0.035*float64(p.age-40)+boolf(p.has[cCOPD])*2):
			p.smoking = 1
		default:
			p.smoking = 0
		}
	}
	p.bpCtl = r.NormFloat64()
	if p.sex == 0 {
		p.height = 176 + 7*r.NormFloat64()
	} else {
		p.height = 163 + 6.5*r.NormFloat64()
	}
	if p.has[cObesity] {
		p.bmi = math.Min(30+r.ExpFloat64()*4, 60)
	} else {
		p.bmi = clamp(26.5+4*r.NormFloat64(), 17.5, 45)
	}
	p.mrc = 1 + int(clamp(1.3+0.6*p.z+1.1*r.NormFloat64(), 0, 4.4))
	p.vax = r.NormFloat64()
	p.deathInHospital = decedent && r.Float64() < 0.45
	g.socialCare(r, p)
	prescribe(r, p)
}

func boolf(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// personDecile scatters a person's deprivation decile around their
// practice's mean, reflecting at the ends so that a uniform spread of
// practice means gives a uniform spread of people.
func personDecile(r *rand.Rand, mean float64) int {
	x := mean + 1.3*r.NormFloat64()
	for x < 0.5 || x > 10.5 {
		if x < 0.5 {
			x = 1 - x
		} else {
			x = 21 - x
		}
	}
	return min(10, max(1, int(math.Round(x))))
}

// onsetDay is a plausible diagnosis day: an exponential time before the
// reference day, no earlier than the youngest age at onset. Conditions with
// no duration (learning disability) are diagnosed in childhood.
func onsetDay(r *rand.Rand, p *person, meanYears float64, minOnset int) int32 {
	if meanYears == 0 {
		return min(p.ref-1, p.birth+int32(r.Float64()*8*365))
	}
	earliest := p.birth + int32(float64(minOnset)*365.25)
	if earliest >= p.ref {
		earliest = max(p.birth, p.ref-365)
	}
	d := p.ref - 1 - int32(r.ExpFloat64()*meanYears*365.25)
	return max(d, earliest)
}

// socialCare decides whether an older person has a long-term social care
// package: about 4–5% of people 65+, concentrated among the frail and
// people with dementia.
func (g *Generator) socialCare(r *rand.Rand, p *person) {
	if p.age < 65 {
		return
	}
	prob := [4]float64{0.003, 0.02, 0.12, 0.35}[p.frail]
	if p.has[cDementia] {
		prob = math.Min(0.9, 2*prob+0.08)
	}
	if r.Float64() >= prob {
		return
	}
	u := r.Float64()
	heavy := p.frail == 3 || (p.has[cDementia] && p.frail >= 2)
	switch {
	case (heavy && u < 0.35) || (!heavy && u < 0.10):
		p.pkgKind, p.pkgOrg = "nursing", p.prac.careHome
	case (heavy && u < 0.70) || (!heavy && u < 0.25):
		p.pkgKind, p.pkgOrg = "residential", p.prac.careHome
	default:
		p.pkgKind, p.pkgOrg = "home_care", g.orgs.voluntary[int(p.prac.district)%len(g.orgs.voluntary)]
		p.pkgHours = math.Round(clamp(10+4*r.NormFloat64(), 3, 30))
	}
	p.pkgStart = max(p.birth+65*365, p.ref-1-int32(r.ExpFloat64()*1.5*365))
}

// prescribe chooses repeat medicines from the person's conditions, as UK
// primary care typically would. Polypharmacy in older multimorbid people
// follows from the conditions rather than being drawn.
func prescribe(r *rand.Rand, p *person) {
	add := func(d, c int, prob float64) {
		if !p.has[c] || p.drugs&(1<<d) != 0 || r.Float64() >= prob {
			return
		}
		start := p.onset[c] + int32(r.IntN(90))
		if start >= p.stop {
			return
		}
		p.drugs |= 1 << d
		p.drugStart[d] = start
	}
	one := func(c int, prob float64, a, b int, pa float64) {
		if r.Float64() < pa {
			add(a, c, prob)
		} else {
			add(b, c, prob)
		}
	}
	one(cHypertension, 0.85, drRamipril, drAmlodipine, 0.55)
	add(drIndapamide, cHypertension, 0.25)
	add(drAtorvastatin, cHypertension, boolf(p.age >= 40)*0.35)
	if p.has[cDiabetes] {
		if p.dmType1 {
			add(drInsulinGlargine, cDiabetes, 1)
			add(drInsulinAspart, cDiabetes, 0.9)
		} else {
			add(drMetformin, cDiabetes, 0.85)
			add(drGliclazide, cDiabetes, 0.25)
			add(drDapagliflozin, cDiabetes, 0.25)
			add(drInsulinGlargine, cDiabetes, 0.10)
		}
		add(drAtorvastatin, cDiabetes, 0.7)
		add(drRamipril, cDiabetes, 0.3)
	}
	add(drTiotropium, cCOPD, 0.7)
	add(drSalmeterol, cCOPD, 0.4)
	add(drSalbutamol, cCOPD, 0.95)
	add(drBeclometasone, cAsthma, 0.75)
	add(drSalbutamol, cAsthma, 0.95)
	add(drRamipril, cHF, 0.8)
	add(drBisoprolol, cHF, 0.8)
	add(drFurosemide, cHF, 0.7)
	add(drSpironolactone, cHF, 0.35)
	add(drApixaban, cAF, 0.8)
	add(drBisoprolol, cAF, 0.7)
	add(drAtorvastatin, cCHD, 0.85)
	one(cCHD, 0.85, drAspirin, drClopidogrel, 0.8)
	add(drBisoprolol, cCHD, 0.4)
	add(drAtorvastatin, cStroke, 0.85)
	add(drClopidogrel, cStroke, 0.7)
	add(drAtorvastatin, cPAD, 0.8)
	add(drClopidogrel, cPAD, 0.6)
	add(drAtorvastatin, cCKD, 0.5)
	if r.Float64() < 0.75 {
		switch u := r.Float64(); {
		case u < 0.6:
			add(drSertraline, cDepression, 1)
		case u < 0.85:
			add(drCitalopram, cDepression, 1)
		default:
			add(drMirtazapine, cDepression, 1)
		}
	}
	one(cSMI, 0.8, drOlanzapine, drQuetiapine, 0.7)
	if !p.schizo {
		add(drLithium, cSMI, 0.3)
	}
	add(drDonepezil, cDementia, 0.6)
	switch u := r.Float64(); {
	case u < 0.45:
		add(drLevetiracetam, cEpilepsy, 0.9)
	case u < 0.8:
		add(drLamotrigine, cEpilepsy, 0.9)
	default:
		add(drValproate, cEpilepsy, 0.9)
	}
	add(drAlendronate, cOsteoporosis, 0.7)
	add(drColecalciferol, cOsteoporosis, 0.6)
	add(drMethotrexate, cRA, 0.7)
	if p.drugs&(1<<drMethotrexate) != 0 {
		add(drFolicAcid, cRA, 1)
	}
	add(drParacetamol, cOA, 0.4)
	add(drCodeine, cOA, 0.15)
	add(drNaproxen, cOA, 0.1)
	add(drLevothyroxine, cHypothyroid, 0.95)
	add(drMorphine, cPalliative, 0.5)
	// Gastro-protection follows antiplatelets and age.
	if p.drugs&(1<<drAspirin|1<<drClopidogrel) != 0 || (p.age >= 65 && r.Float64() < 0.2) {
		if r.Float64() < 0.7 {
			d := drOmeprazole
			if r.Float64() < 0.4 {
				d = drLansoprazole
			}
			start := p.ref - 1 - int32(r.ExpFloat64()*3*365)
			if start > p.birth+18*365 && p.drugs&(1<<d) == 0 {
				p.drugs |= 1 << d
				p.drugStart[d] = start
			}
		}
	}
}

// emitPerson writes the person and all their rows.
func (g *Generator) emitPerson(r *rand.Rand, p *person, e *emitter) {
	b := e.b
	var nhsBuf [10]byte
	nhs := g.nhs.number(p.idx, &nhsBuf)
	status := registry.NHSVerified
	switch {
	case nhs == "":
		status = registry.NHSAbsent
	case r.Float64() < 0.025:
		status = registry.NHSUnverified
	}
	sex, given := registry.Male, maleNames[r.IntN(len(maleNames))]
	if p.sex == 1 {
		sex, given = registry.Female, femaleNames[r.IntN(len(femaleNames))]
	}
	person := registry.Person{
		ID: p.id, NHSNumber: nhs, NHSNumberStatus: status,
		GivenName: given, FamilyName: familyNames[r.IntN(len(familyNames))],
		BirthDate: dayTime(p.birth), Sex: sex, Postcode: postcode(r, p.prac.district),
		IMDDecile: p.dep, Ethnicity: p.eth, PracticeID: p.prac.id,
		Source: "synth", ReceivedAt: dayTime(max(p.regStart, g.winStart)),
	}
	if p.death != 0 {
		person.DateOfDeath = dayTime(p.death)
	}
	b.People = append(b.People, person)
	b.Identities = append(b.Identities, registry.SourceIdentity{
		PersonID: p.id, Source: "synth", LocalID: uuidLike(r), ReceivedAt: person.ReceivedAt, Provenance: "source",
	})
	e.teamLink(p.prac.teamID, "gp-practice-team", p.regStart, p.death)
	if p.frail >= 2 || p.has[cPalliative] {
		e.teamLink(p.prac.commTeam, "community-nursing", max(p.regStart, p.ref-365-int32(r.IntN(365))), p.death)
	}
	if p.pkgKind != "" {
		e.teamLink(p.prac.swTeam, "social-work", p.pkgStart, p.death)
	}
	if p.has[cSMI] {
		e.teamLink(p.prac.mhTeam, "mental-health", p.onset[cSMI], p.death)
	}

	g.emitConditions(p, e)
	g.emitMedications(r, p, e)
	g.emitActivity(r, p, e)
	g.emitAnnual(r, p, e)
	g.emitImmunisations(r, p, e)
	g.emitPackage(p, e)
	g.emitFrailtyDeficits(p, e)
}

func (g *Generator) emitConditions(p *person, e *emitter) {
	for c := range nCond {
		if !p.has[c] {
			continue
		}
		var cd *code
		switch c {
		case cAF:
			cd = &codeAF
		case cAsthma:
			cd = &codeAsthma
		case cCancer:
			cd = &codeCancer
		case cCHD:
			cd = &codeCHD
		case cCKD:
			cd = [6]*code{3: &codeCKD3, 4: &codeCKD4, 5: &codeCKD5}[p.ckdStage]
		case cCOPD:
			cd = &codeCOPD
		case cDementia:
			cd = &codeDementia
		case cDepression:
			cd = &codeDepression
		case cDiabetes:
			cd = &codeT2DM
			if p.dmType1 {
				cd = &codeT1DM
			}
		case cEpilepsy:
			cd = &codeEpilepsy
		case cHF:
			cd = &codeHF
		case cHypertension:
			cd = &codeHypertension
		case cLD:
			cd = &codeLD
		case cSMI:
			cd = &codeBipolar
			if p.schizo {
				cd = &codeSchizo
			}
		case cNDH:
			cd = &codeNDH
		case cObesity:
			cd = &codeObesity
		case cOsteoporosis:
			cd = &codeOsteoporosis
		case cPAD:
			cd = &codePAD
		case cPalliative:
			cd = &codePalliative
		case cRA:
			cd = &codeRA
		case cStroke:
			cd = &codeStroke
			if p.tia {
				cd = &codeTIA
			}
		case cOA:
			cd = &codeOA
		case cHypothyroid:
			cd = &codeHypothyroid
		}
		e.condition(cd, p.onset[c])
	}
	if p.frailCoded {
		e.condition([4]*code{1: &codeFrailMild, 2: &codeFrailMod, 3: &codeFrailSevere}[p.frail], p.frailOnset)
	}
}

// costYears are the two 12-month periods of the routine feed window, in
// which prescribing and package costs are recorded.
func (g *Generator) costYears() [2][2]int32 {
	return [2][2]int32{{g.now - routineDays, g.now - 365}, {g.now - 365, g.now}}
}

func overlap(a0, a1, b0, b1 int32) int32 { return max(0, min(a1, b1)-max(a0, b0)) }

func (g *Generator) emitMedications(r *rand.Rand, p *person, e *emitter) {
	for d := range nDrugs {
		if p.drugs&(1<<d) == 0 {
			continue
		}
		start := p.drugStart[d]
		// Some first-line treatments were switched: record the stopped
		// course of the alternative before the current one.
		if alt := switchedFrom(d); alt >= 0 && p.drugs&(1<<alt) == 0 && r.Float64() < 0.12 && start-p.birth > 400 {
			altStart := start - 60 - int32(r.IntN(300))
			e.medication(&drugTable[alt], altStart, start, record.MedicationStopped)
			g.prescribingCost(p, e, alt, altStart, start)
		}
		if p.death != 0 {
			e.medication(&drugTable[d], start, p.death, record.MedicationStopped)
		} else {
			e.medication(&drugTable[d], start, 0, record.MedicationActive)
		}
		g.prescribingCost(p, e, d, start, p.stop)
	}
}

func switchedFrom(d int) int {
	switch d {
	case drRamipril:
		return drAmlodipine
	case drAmlodipine:
		return drRamipril
	case drSertraline:
		return drCitalopram
	case drCitalopram:
		return drSertraline
	}
	return -1
}

func (g *Generator) prescribingCost(p *person, e *emitter, d int, from, to int32) {
	for _, y := range g.costYears() {
		days := overlap(from, to, y[0], y[1])
		if days <= 0 {
			continue
		}
		pence := int64(math.Round(float64(drugTable[d].MonthlyPence) * float64(days) / 30.4375))
		e.costRow(max(from, y[0]), "prescribing", p.prac.id, pence)
	}
}

func (g *Generator) emitPackage(p *person, e *emitter) {
	if p.pkgKind == "" {
		return
	}
	weekly := int64(p.pkgHours * costSocialHour)
	switch p.pkgKind {
	case "residential":
		weekly = costResidentialWk
	case "nursing":
		weekly = costNursingWk
	}
	e.pkg(p.pkgOrg, p.pkgKind, p.pkgHours, weekly, p.pkgStart, p.death)
	g.packageCost(p, e, weekly, p.pkgStart, p.stop, p.pkgOrg)
}

func (g *Generator) packageCost(p *person, e *emitter, weekly int64, from, to int32, org string) {
	for _, y := range g.costYears() {
		days := overlap(from, to, y[0], y[1])
		if days <= 0 {
			continue
		}
		e.costRow(max(from, y[0]), "social_care_package", org, weekly*int64(days)/7)
	}
}

// postcode is an invented postcode in the practice's ZZ district.
func postcode(r *rand.Rand, district int) string {
	var buf [8]byte
	n := copy(buf[:], "ZZ")
	if district >= 10 {
		buf[n] = byte('0' + district/10)
		n++
	}
	buf[n] = byte('0' + district%10)
	buf[n+1] = ' '
	buf[n+2] = byte('1' + r.IntN(9))
	buf[n+3] = postcodeLetters[r.IntN(len(postcodeLetters))]
	buf[n+4] = postcodeLetters[r.IntN(len(postcodeLetters))]
	return string(buf[:n+5])
}

// uuidLike is a random version-4-shaped UUID from the person's stream.
func uuidLike(r *rand.Rand) string {
	const hex = "0123456789abcdef"
	var buf [36]byte
	a, b := r.Uint64(), r.Uint64()
	j := 0
	for i := range 32 {
		if i == 8 || i == 12 || i == 16 || i == 20 {
			buf[j] = '-'
			j++
		}
		var nib uint64
		if i < 16 {
			nib = a >> (60 - 4*i) & 0xf
		} else {
			nib = b >> (60 - 4*(i-16)) & 0xf
		}
		switch i {
		case 12:
			nib = 4
		case 16:
			nib = 8 | nib&3
		}
		buf[j] = hex[nib]
		j++
	}
	return string(buf[:])
}
