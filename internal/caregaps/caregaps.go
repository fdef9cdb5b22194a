// Package caregaps computes QOF-style care gaps (SPECS.md §5) on the
// population engine: for each indicator, who is eligible (the
// denominator), who meets it (the numerator), who is excepted by a
// personalised care adjustment, and who has a gap — for one person, and
// for the whole population broken down by practice or any other dimension.
//
// Each indicator is three cohorts in the engine's cohort language, so a
// population's figures are a handful of bitmap operations and a person's
// are the same expressions evaluated for that person alone: one definition
// serves both, and the worklists and alerts built on it agree with the
// dashboards.
//
// QOF counts back from the end of its year (31 March); live worklists
// count back from today. Every evaluation takes the day it is as of.
package caregaps

import (
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/population"
)

// Indicator is one care-gap rule.
type Indicator struct {
	ID     string `json:"id"`
	Title  string `json:"title"`
	Source string `json:"source"`
	// Denominator, Numerator and Exception are cohorts. A person is
	// eligible when in the denominator; meets the indicator when also in
	// the numerator; is excepted when eligible, not meeting it, and in the
	// exception cohort (a personalised care adjustment: declined,
	// unsuitable, or invited twice without responding). Everyone else
	// eligible has a gap.
	Denominator string `json:"denominator"`
	Numerator   string `json:"numerator"`
	Exception   string `json:"exception"`
	// Window says in words what the numerator looks back over.
	Window string `json:"window"`
	// Lower and Upper are the payment thresholds, per cent achievement.
	Lower, Upper int `json:"-"`
	// Action is what closes a gap, in plain words.
	Action string `json:"action"`
}

// pca is the personalised care adjustment cohort every indicator shares:
// declined or unsuitable in the window, or two invitations (the QOF rule
// asks for them 7 days apart; the engine counts invitations in the year).
const pca = `count(pca.declined, 12m) >= 1 or count(pca.unsuitable, 12m) >= 1 or count(pca.invite, 12m) >= 2`

// Indicators is the shipped set. Thresholds are the recalled 2023/24–
// 2024/25 values SPECS.md marks as to be confirmed against the SFE.
var Indicators = []Indicator{
	{ID: "AST007", Title: "Asthma: review in the last 12 months", Source: "QOF 2025/26",
		Denominator: "alive and has(asthma) and age >= 6", Numerator: "count(proc.asthma_review, 12m) >= 1", Exception: pca,
		Window: "12 months", Lower: 45, Upper: 70,
		Action: "Invite for an asthma review: control questionnaire, exacerbations, inhaler technique and a written action plan"},
	{ID: "COPD010", Title: "COPD: review with MRC grade in the last 12 months", Source: "QOF 2025/26",
		Denominator: "alive and has(copd)", Numerator: "count(proc.copd_review, 12m) >= 1 and count(obs.mrc_dyspnoea, 12m) >= 1", Exception: pca,
		Window: "12 months", Lower: 50, Upper: 90,
		Action: "Invite for a COPD review recording the MRC dyspnoea grade and exacerbations"},
	{ID: "COPD014", Title: "COPD with MRC grade 3 or worse: pulmonary rehabilitation offered", Source: "QOF 2025/26",
		Denominator: "alive and has(copd) and latest(obs.mrc_dyspnoea, 12m) >= 3 and none(proc.pulmonary_rehab_done, 100y)",
		Numerator:   "count(proc.pulmonary_rehab_offer, 12m) >= 1", Exception: pca,
		Window: "12 months", Lower: 40, Upper: 90,
		Action: "Offer a referral to pulmonary rehabilitation"},
	{ID: "DM012", Title: "Diabetes: foot examination and risk classification in the last 12 months", Source: "QOF 2025/26",
		Denominator: "alive and has(diabetes)", Numerator: "count(proc.diabetes_foot_check, 12m) >= 1", Exception: pca,
		Window: "12 months", Lower: 50, Upper: 90,
		Action: "Examine both feet and record the foot risk"},
	{ID: "DM020", Title: "Diabetes without moderate or severe frailty: HbA1c 58 mmol/mol or less", Source: "QOF 2025/26",
		Denominator: "alive and has(diabetes) and not (has(frailty_moderate) or has(frailty_severe))",
		Numerator:   "latest(obs.hba1c, 12m) <= 58", Exception: pca,
		Window: "last HbA1c in 12 months", Lower: 35, Upper: 75,
		Action: "Review glucose-lowering treatment with the person, or measure HbA1c if none in 12 months"},
	{ID: "DM021", Title: "Diabetes with moderate or severe frailty: HbA1c 75 mmol/mol or less", Source: "QOF 2025/26",
		Denominator: "alive and has(diabetes) and (has(frailty_moderate) or has(frailty_severe))",
		Numerator:   "latest(obs.hba1c, 12m) <= 75", Exception: pca,
		Window: "last HbA1c in 12 months", Lower: 52, Upper: 92,
		Action: "Review treatment with a less tight target suited to frailty, or measure HbA1c if none in 12 months"},
	{ID: "HF003", Title: "Heart failure with reduced ejection fraction: ACE inhibitor or ARB", Source: "QOF 2025/26",
		Denominator: "alive and has(hf_lvsd)", Numerator: "has(med.ace_inhibitor) or has(med.arb)", Exception: pca,
		Window: "a current prescription", Lower: 60, Upper: 92,
		Action: "Start an ACE inhibitor or ARB unless contraindicated, and titrate"},
	{ID: "HF006", Title: "Heart failure with reduced ejection fraction: beta-blocker", Source: "QOF 2025/26",
		Denominator: "alive and has(hf_lvsd)", Numerator: "has(med.beta_blocker)", Exception: pca,
		Window: "a current prescription", Lower: 60, Upper: 92,
		Action: "Start a beta-blocker licensed for heart failure unless contraindicated, and titrate"},
	{ID: "HYP008", Title: "Hypertension, aged 79 or under: blood pressure 140/90 or less", Source: "QOF 2025/26",
		Denominator: "alive and has(hypertension) and age <= 79",
		Numerator:   "latest(obs.systolic_bp, 12m) <= 140 and latest(obs.diastolic_bp, 12m) <= 90", Exception: pca,
		Window: "last reading in 12 months", Lower: 40, Upper: 77,
		Action: "Measure blood pressure (or ask for home readings) and review treatment if above target"},
	{ID: "HYP009", Title: "Hypertension, aged 80 or over: blood pressure 150/90 or less", Source: "QOF 2025/26",
		Denominator: "alive and has(hypertension) and age >= 80",
		Numerator:   "latest(obs.systolic_bp, 12m) <= 150 and latest(obs.diastolic_bp, 12m) <= 90", Exception: pca,
		Window: "last reading in 12 months", Lower: 46, Upper: 86,
		Action: "Measure blood pressure (or ask for home readings) and review treatment if above target"},
	{ID: "DEM004", Title: "Dementia: care plan reviewed face to face in the last 12 months", Source: "QOF 2025/26",
		Denominator: "alive and has(dementia)", Numerator: "count(proc.dementia_care_plan_review, 12m) >= 1", Exception: pca,
		Window: "12 months", Lower: 35, Upper: 70,
		Action: "Arrange a face-to-face review of the person's care plan with them and their carer"},
	{ID: "CKD-MON", Title: "CKD: eGFR and urine ACR in the last 12 months", Source: "NICE QS5; CVDPREVENT CVDP006CKD",
		Denominator: "alive and has(ckd) and age >= 18", Numerator: "count(obs.egfr, 12m) >= 1 and count(obs.acr, 12m) >= 1", Exception: pca,
		Window: "12 months", Action: "Request an eGFR and a urine albumin:creatinine ratio"},
}

// Status is where a person stands on an indicator.
type Status string

const (
	Met      Status = "met"
	Gap      Status = "gap"
	Excepted Status = "excepted"
)

// Set is the indicators compiled against one engine's concepts.
type Set struct {
	ind   []compiled
	codes *codes.Set
}

type compiled struct {
	Indicator
	den, num, exc population.Expr
	// unmeasurable lists numerator concepts with no codes: nobody's record
	// can show them, so every eligible person appears to have a gap.
	unmeasurable []string
}

// Parser parses cohort text (population.Engine.Parse, or population.Parse
// bound to a code set).
type Parser func(text string) (population.Expr, error)

var conceptRE = regexp.MustCompile(`\b((?:proc|obs|med|pca|vacc)\.[a-z0-9_]+)`)

// Compile parses every indicator. A mistake is Internal: the indicators
// ship with the binary.
func Compile(inds []Indicator, parse Parser, set *codes.Set) (*Set, error) {
	s := &Set{codes: set}
	seen := map[string]bool{}
	for _, in := range inds {
		if seen[in.ID] {
			return nil, apperr.Ef(apperr.Internal, "caregaps: indicator %s defined twice", in.ID)
		}
		seen[in.ID] = true
		c := compiled{Indicator: in}
		for _, p := range []struct {
			dst  *population.Expr
			text string
			part string
		}{{&c.den, in.Denominator, "denominator"}, {&c.num, in.Numerator, "numerator"}, {&c.exc, in.Exception, "exception"}} {
			x, err := parse(p.text)
			if err != nil {
				return nil, apperr.Wrap(apperr.Internal, err, fmt.Sprintf("caregaps: %s %s", in.ID, p.part))
			}
			*p.dst = x
		}
		for _, m := range conceptRE.FindAllString(in.Numerator, -1) {
			if len(set.Codes(codes.Concept(m))) == 0 && !slices.Contains(c.unmeasurable, m) {
				c.unmeasurable = append(c.unmeasurable, m)
			}
		}
		s.ind = append(s.ind, c)
	}
	return s, nil
}

// Indicators returns the compiled indicators' definitions, in order.
func (s *Set) Indicators() []Indicator {
	out := make([]Indicator, len(s.ind))
	for i, c := range s.ind {
		out[i] = c.Indicator
	}
	return out
}

// Engine is what the gaps read: population.Engine.
type Engine interface {
	Eval(x population.Expr, now time.Time) (population.Bitmap, error)
	Member(x population.Expr, id int64, now time.Time) (bool, error)
	Breakdown(b population.Bitmap, d population.Dimension, now time.Time) ([]population.Group, error)
	Members(x population.Expr, now time.Time, limit int) ([]int64, int, error)
}

// Open lists, indicator by indicator in order, the people with an open
// gap on day asOf (eligible, not met, not excepted), at most limit each.
func (s *Set) Open(eng Engine, asOf time.Time, limit int) ([]Indicator, [][]int64, error) {
	inds := make([]Indicator, len(s.ind))
	people := make([][]int64, len(s.ind))
	for i, c := range s.ind {
		ids, _, err := eng.Members(population.And(c.den, population.Not(c.num), population.Not(c.exc)), asOf, limit)
		if err != nil {
			return nil, nil, err
		}
		inds[i], people[i] = c.Indicator, ids
	}
	return inds, people, nil
}

// PersonGap is one indicator for one eligible person.
type PersonGap struct {
	Indicator
	Status Status `json:"status"`
	// Unmeasurable names numerator concepts no code can show yet; the
	// status is then not to be trusted.
	Unmeasurable []string `json:"unmeasurable,omitempty"`
}

// Person returns the indicators person id is eligible for on day asOf,
// with their status, in indicator order. A person the engine does not
// hold is NotFound.
func (s *Set) Person(eng Engine, id int64, asOf time.Time) ([]PersonGap, error) {
	var out []PersonGap
	for _, c := range s.ind {
		in, err := eng.Member(c.den, id, asOf)
		if err != nil {
			return nil, err
		}
		if !in {
			continue
		}
		g := PersonGap{Indicator: c.Indicator, Status: Gap, Unmeasurable: c.unmeasurable}
		if met, err := eng.Member(c.num, id, asOf); err != nil {
			return nil, err
		} else if met {
			g.Status = Met
		} else if exc, err := eng.Member(c.exc, id, asOf); err != nil {
			return nil, err
		} else if exc {
			g.Status = Excepted
		}
		out = append(out, g)
	}
	return out, nil
}

// Counts are an indicator's figures for a population or a group of it.
type Counts struct {
	Eligible int `json:"eligible"`
	Met      int `json:"met"`
	Excepted int `json:"excepted"`
	Gaps     int `json:"gaps"`
}

// Achievement is met / (eligible − excepted), as a percentage; ok is false
// when nobody counts.
func (c Counts) Achievement() (pct float64, ok bool) {
	d := c.Eligible - c.Excepted
	if d <= 0 {
		return 0, false
	}
	return 100 * float64(c.Met) / float64(d), true
}

// Report is one indicator over a population.
type Report struct {
	Indicator
	Counts
	// Groups break the counts down by the requested dimension.
	Groups       []GroupCounts `json:"groups,omitempty"`
	Unmeasurable []string      `json:"unmeasurable,omitempty"`
	// Gaps is the set of people with a gap (engine rows), for worklists.
	GapRows population.Bitmap `json:"-"`
}

// GroupCounts is one group of a breakdown.
type GroupCounts struct {
	Key string `json:"key"`
	Counts
}

// Population computes every indicator over the whole population on day
// asOf, broken down by dimension by when it is not zero.
func (s *Set) Population(eng Engine, asOf time.Time, by population.Dimension) ([]Report, error) {
	out := make([]Report, 0, len(s.ind))
	for _, c := range s.ind {
		den, err := eng.Eval(c.den, asOf)
		if err != nil {
			return nil, err
		}
		num, err := eng.Eval(c.num, asOf)
		if err != nil {
			return nil, err
		}
		exc, err := eng.Eval(c.exc, asOf)
		if err != nil {
			return nil, err
		}
		met := den.Clone()
		met.And(num)
		open := den.Clone()
		open.AndNot(num)
		excepted := open.Clone()
		excepted.And(exc)
		gaps := open // reused: open minus excepted
		gaps.AndNot(exc)
		r := Report{Indicator: c.Indicator, Unmeasurable: c.unmeasurable, GapRows: gaps,
			Counts: Counts{Eligible: den.Count(), Met: met.Count(), Excepted: excepted.Count(), Gaps: gaps.Count()}}
		if by != 0 {
			groups := map[string]*GroupCounts{}
			var order []string
			for _, part := range []struct {
				b   population.Bitmap
				set func(g *GroupCounts, n int)
			}{
				{den, func(g *GroupCounts, n int) { g.Eligible = n }},
				{met, func(g *GroupCounts, n int) { g.Met = n }},
				{excepted, func(g *GroupCounts, n int) { g.Excepted = n }},
				{gaps, func(g *GroupCounts, n int) { g.Gaps = n }},
			} {
				gs, err := eng.Breakdown(part.b, by, asOf)
				if err != nil {
					return nil, err
				}
				for _, g := range gs {
					gc, ok := groups[g.Key]
					if !ok {
						gc = &GroupCounts{Key: g.Key}
						groups[g.Key] = gc
						order = append(order, g.Key)
					}
					part.set(gc, g.Count)
				}
			}
			for _, k := range order {
				r.Groups = append(r.Groups, *groups[k])
			}
		}
		out = append(out, r)
	}
	return out, nil
}
