package risk

import (
	"math"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/codes"
)

// CharlsonConvention names the weights, coding and age points this package
// uses; every Charlson result carries it.
const CharlsonConvention = "Charlson 1987 weights; ICD-10 per Quan 2005 plus SNOMED CT; optional age points per Charlson 1994 (50-59: 1, 60-69: 2, 70-79: 3, 80+: 4)"

// charlsonCondition is one row of the index: its concept, its 1987 weight
// and its weight in the LACE paper's modified Charlson (0: not counted).
type charlsonCondition struct {
	Concept    codes.Concept
	Label      string
	Weight     int
	LACEWeight int
}

// charlsonTable is in the order results list conditions. The weights are
// SPECS.md 3a (1987) and 3b (LACE).
var charlsonTable = [...]charlsonCondition{
	{"cci.mi", "Myocardial infarction", 1, 1},
	{"cci.chf", "Congestive heart failure", 1, 2},
	{"cci.pvd", "Peripheral vascular disease", 1, 1},
	{"cci.cvd", "Cerebrovascular disease", 1, 1},
	{"cci.dementia", "Dementia", 1, 3},
	{"cci.chronic_pulmonary", "Chronic pulmonary disease", 1, 2},
	{"cci.connective_tissue", "Connective tissue disease", 1, 3},
	{"cci.peptic_ulcer", "Peptic ulcer disease", 1, 0},
	{"cci.mild_liver", "Mild liver disease", 1, 2},
	{"cci.diabetes", "Diabetes without end-organ damage", 1, 1},
	{"cci.hemiplegia", "Hemiplegia or paraplegia", 2, 0},
	{"cci.renal", "Moderate or severe renal disease", 2, 0},
	{"cci.diabetes_complicated", "Diabetes with end-organ damage", 2, 2},
	{"cci.malignancy", "Any tumour, leukaemia or lymphoma", 2, 2},
	{"cci.severe_liver", "Moderate or severe liver disease", 3, 4},
	{"cci.metastatic", "Metastatic solid tumour", 6, 6},
	{"cci.hiv", "AIDS", 6, 4},
}

const nCharlson = len(charlsonTable)

// charlsonSupersedes pairs a condition with the milder form of the same
// disease it replaces when both are present.
var charlsonSupersedes = [...]struct{ severe, mild codes.Concept }{
	{"cci.diabetes_complicated", "cci.diabetes"},
	{"cci.metastatic", "cci.malignancy"},
	{"cci.severe_liver", "cci.mild_liver"},
}

// CharlsonCondition is one Charlson condition found in a record.
type CharlsonCondition struct {
	Concept  codes.Concept
	Label    string
	Weight   int      // in the scheme of the result it is in (1987 or LACE)
	Evidence Evidence // the most recent row that shows it
	// SupersededBy is set when a more severe form of the same disease is
	// present, so this one is not counted.
	SupersededBy codes.Concept `json:",omitempty"`
}

// CharlsonOptions chooses the optional parts of the index.
type CharlsonOptions struct {
	// AgePoints adds the age points to Total; it needs a birth date.
	AgePoints bool
}

// Charlson is a person's Charlson comorbidity index at a moment.
type Charlson struct {
	Convention string
	// Conditions lists every condition found, in the index's order,
	// superseded ones included with SupersededBy set.
	Conditions []CharlsonCondition
	Score      int  // sum of the weights of the counted conditions
	AgeScored  bool // whether AgePoints was asked for
	AgePoints  int
	Total      int // Score + AgePoints
}

// TenYearSurvival is the estimated 10-year survival SPECS.md 3a gives,
// 0.983^(e^(0.9·Total)). It is applied to Total, which includes age points
// only when they were asked for.
func (c Charlson) TenYearSurvival() float64 {
	return math.Pow(0.983, math.Exp(0.9*float64(c.Total)))
}

// Charlson computes the person's Charlson index at now from every coded
// row dated on or before now.
func (s *Scorer) Charlson(r *Record, now time.Time, opt CharlsonOptions) (Charlson, error) {
	if err := checkNow("Charlson", now); err != nil {
		return Charlson{}, err
	}
	var f findings
	s.scan(r, now, &f)
	return charlsonFrom(r, now, opt, &f)
}

// Assessment is the eFI and the Charlson index of one person at one moment.
type Assessment struct {
	EFI      EFI
	Charlson Charlson
}

// Assess computes EFI and Charlson together, reading the record once: what
// a population run wants.
func (s *Scorer) Assess(r *Record, now time.Time, opt CharlsonOptions) (Assessment, error) {
	if err := checkNow("the assessment", now); err != nil {
		return Assessment{}, err
	}
	var f findings
	s.scan(r, now, &f)
	c, err := charlsonFrom(r, now, opt, &f)
	if err != nil {
		return Assessment{}, err
	}
	return Assessment{EFI: s.efiFrom(r, now, &f), Charlson: c}, nil
}

func charlsonFrom(r *Record, now time.Time, opt CharlsonOptions, f *findings) (Charlson, error) {
	c := Charlson{Convention: CharlsonConvention, AgeScored: opt.AgePoints}
	if opt.AgePoints {
		age := r.Person.AgeAt(now)
		if age < 0 {
			return Charlson{}, apperr.E(apperr.Invalid, "risk: Charlson age points need the person's birth date")
		}
		c.AgePoints = CharlsonAgePoints(age)
	}
	c.Conditions, c.Score = charlsonConditions(f, false)
	c.Total = c.Score + c.AgePoints
	return c, nil
}

// CharlsonAgePoints is the age component of the combined index: none below
// 50, then a point a decade, 4 from 80.
func CharlsonAgePoints(age int) int {
	switch {
	case age < 50:
		return 0
	case age < 60:
		return 1
	case age < 70:
		return 2
	case age < 80:
		return 3
	default:
		return 4
	}
}

// charlsonConditions lists the conditions found and sums their weights,
// with the 1987 weights or the LACE paper's. A condition whose LACE weight
// is 0 is not part of LACE and is left out of a LACE list.
func charlsonConditions(f *findings, lace bool) ([]CharlsonCondition, int) {
	var out []CharlsonCondition
	score := 0
	for i, cd := range charlsonTable {
		if !f.cci[i].ok {
			continue
		}
		w := cd.Weight
		if lace {
			w = cd.LACEWeight
			if w == 0 {
				continue
			}
		}
		c := CharlsonCondition{Concept: cd.Concept, Label: cd.Label, Weight: w, Evidence: f.cci[i].ev}
		for _, h := range charlsonSupersedes {
			if h.mild == cd.Concept && f.cci[charlsonIndex(h.severe)].ok {
				c.SupersededBy = h.severe
			}
		}
		if c.SupersededBy == "" {
			score += w
		}
		out = append(out, c)
	}
	return out, score
}

func charlsonIndex(c codes.Concept) int {
	for i, cd := range charlsonTable {
		if cd.Concept == c {
			return i
		}
	}
	panic("risk: unknown Charlson concept " + string(c))
}
