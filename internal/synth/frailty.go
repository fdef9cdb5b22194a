package synth

import (
	"math"
	"math/rand/v2"
)

// The eFI counts 36 deficits. The diseases among them (hypertension,
// diabetes, AF, heart failure, CKD, COPD, osteoporosis, arthritis ...) come
// from the condition model; the symptoms, functional problems and social
// circumstances below do not, so without them nearly everyone 65+ scored
// "fit". They are recorded for people 65+ by their latent frailty level
// (model.go: fit/mild/moderate/severe are 50/35/12/3 % of people 65+, the
// eFI's own population quartiles, SPECS §2a), so that the eFI bands the
// record gives approach the same shares. Each code belongs to its eFI
// deficit's list in internal/codes and to no concept the segment rules or
// the QOF registers read, except housebound.
var frailtyDeficits = []struct {
	code   code
	weight float64 // relative prevalence among frail older people
	ageing float64 // how much more common per year of age over 75
}{
	{sct("1912002", "Fall", "unverified"), 1.0, 0.02},
	{sct("8510008", "Reduced mobility", "unverified"), 1.0, 0.03},
	{sct("15188001", "Hearing loss", "unverified"), 1.0, 0.04},
	{sct("397540003", "Visual impairment", "unverified"), 0.9, 0.04},
	{sct("165232002", "Urinary incontinence", "unverified"), 0.8, 0.02},
	{sct("185303007", "Seen by podiatrist", "unverified"), 0.8, 0.02},
	{sct("105529008", "Lives alone", "unverified"), 0.7, 0.03},
	{sct("21134002", "Disability", "unverified"), 0.6, 0.02},
	{sct("404640003", "Dizziness", "unverified"), 0.6, 0.01},
	{sct("267036007", "Dyspnoea", "unverified"), 0.6, 0.01},
	{sct("193462001", "Insomnia", "unverified"), 0.6, 0.0},
	{sct("160689007", "Housebound", "unverified"), 0.5, 0.04},
	{sct("160774006", "Home help attends", "unverified"), 0.5, 0.04},
	{sct("271737000", "Anaemia", "unverified"), 0.4, 0.02},
	{sct("386807006", "Memory impairment", "unverified"), 0.4, 0.04},
	{sct("89362005", "Weight loss", "unverified"), 0.3, 0.02},
	{sct("46742003", "Skin ulcer", "unverified"), 0.3, 0.02},
	{sct("271594007", "Syncope", "unverified"), 0.3, 0.01},
}

// frailtyDeficitsExpected is the expected number of the deficits above a
// person 65+ has recorded, by latent frailty level: added to the diseases
// they already have, it puts most of each level in the eFI band of the
// same name (0–4, 5–8, 9–12, 13+ deficits). Calibrated on 40,000 people
// (seed 7): eFI fit/mild/moderate/severe 50.9/34.0/12.4/2.8 % of people
// 65+, against 50/35/12/3 % (before: 89.9/9.6/0.5/0.0 %).
var frailtyDeficitsExpected = [4]float64{1.6, 4.3, 4.6, 5.5}

// streamFrailty is the PCG stream of a person's frailty deficits (xor the
// person's id), apart from the chunk's stream so that adding them left
// every other row of the population as it was.
const streamFrailty = 1 << 61

// emitFrailtyDeficits records the symptom, function and social deficits
// of a person 65+ at ref, each with an onset in the years before ref and
// not before 60.
func (g *Generator) emitFrailtyDeficits(p *person, e *emitter) {
	if p.age < 65 {
		return
	}
	r := rand.New(rand.NewPCG(uint64(g.spec.Seed), streamFrailty^uint64(p.id)))
	var total float64
	for _, d := range frailtyDeficits {
		total += d.weight
	}
	scale := frailtyDeficitsExpected[p.frail] / total
	earliest := p.birth + int32(60*365.25)
	for i := range frailtyDeficits {
		d := &frailtyDeficits[i]
		prob := math.Min(0.95, d.weight*scale*math.Max(0.3, 1+d.ageing*float64(p.age-75)))
		if r.Float64() >= prob {
			continue
		}
		onset := max(earliest, p.ref-1-int32(r.ExpFloat64()*3*365))
		if onset >= p.ref {
			onset = p.ref - 1
		}
		e.condition(&d.code, onset)
	}
}
