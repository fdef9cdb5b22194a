package segment

import (
	"fmt"

	"github.com/wholecare/wholecare/internal/risk"
)

// A rule places a person in a segment when its test holds. Each scheme is
// an ordered list of rules, most severe need first; the first that holds
// wins, so every person gets exactly one segment and one reason.
type rule[S any] struct {
	segment S
	reason  string // plain words, shown to care teams as the reason
	test    func(f *Facts) bool
}

// Assignment is a person's place in one scheme and the rule that put them
// there.
type Assignment[S any] struct {
	Segment S
	Reason  string
}

func assign[S any](rules []rule[S], f *Facts) Assignment[S] {
	r := &rules[ruleIndex(rules, f)]
	return Assignment[S]{r.segment, r.reason}
}

func ruleIndex[S any](rules []rule[S], f *Facts) int {
	for i := range rules {
		if rules[i].test(f) {
			return i
		}
	}
	// Every scheme ends with a rule that always holds; reaching here is a
	// bug in a table, caught by the tests.
	panic("segment: no rule matched")
}

func always(*Facts) bool { return true }

func severelyFrail(f *Facts) bool {
	return f.Frailty == risk.SevereFrailty || f.Has["frailty_severe"]
}

// Level is a Kaiser Permanente pyramid level. Level 0 is outside the
// pyramid: no long-term condition (and neither at the end of life nor
// severely frail, which put a person at level 3 whatever is coded).
type Level uint8

// Levels lists the levels, lowest need first.
var Levels = []Level{0, 1, 2, 3}

func (l Level) String() string {
	switch l {
	case 0:
		return "no long-term condition"
	case 1:
		return "level 1: supported self-care"
	case 2:
		return "level 2: care management"
	case 3:
		return "level 3: case management"
	}
	return fmt.Sprintf("level %d", uint8(l))
}

// kaiserRules: level 3 is high complexity (end of life, severe frailty,
// repeated emergency admissions, or heavy multimorbidity that has already
// led to an admission); level 2 is high risk (three or more long-term
// conditions, two at 65 or over, or one with an admission or moderate
// frailty); level 1 is anyone else with a long-term condition. On a
// generated population of 50,000 this gives shares within SPECS.md §4a
// (see BENCHMARKS.md "Segmentation").
var kaiserRules = []rule[Level]{
	{3, "on the palliative care register", func(f *Facts) bool { return f.Has["palliative_care"] }},
	{3, "severe frailty", severelyFrail},
	{3, "a long-term condition and two or more emergency admissions in the last 12 months", func(f *Facts) bool {
		return f.EmergencyAdmissions12m >= 2 && f.LTCs() >= 1
	}},
	{3, "five or more long-term conditions and an emergency admission in the last 12 months", func(f *Facts) bool {
		return f.EmergencyAdmissions12m >= 1 && f.LTCs() >= 5
	}},
	{2, "three or more long-term conditions", func(f *Facts) bool { return f.LTCs() >= 3 }},
	{2, "two long-term conditions at 65 or over", func(f *Facts) bool { return f.Age >= 65 && f.LTCs() >= 2 }},
	{2, "a long-term condition and an emergency admission in the last 12 months", func(f *Facts) bool {
		return f.EmergencyAdmissions12m >= 1 && f.LTCs() >= 1
	}},
	{2, "a long-term condition and moderate frailty", func(f *Facts) bool {
		return f.Frailty == risk.ModerateFrailty && f.LTCs() >= 1
	}},
	{1, "one or more long-term conditions", func(f *Facts) bool { return f.LTCs() >= 1 }},
	{0, "no long-term condition", always},
}

// Kaiser places f on the pyramid.
func Kaiser(f *Facts) Assignment[Level] { return assign(kaiserRules, f) }

// Bridges is a Bridges to Health segment, numbered as Lynn et al. number them.
type Bridges uint8

const (
	Healthy Bridges = iota + 1
	MaternalInfant
	AcutelyIll
	ChronicNormalFunction
	StableDisability
	ShortDecline
	OrganFailure
	LongDecline
)

// BridgesSegments lists the segments in their published order.
var BridgesSegments = []Bridges{Healthy, MaternalInfant, AcutelyIll, ChronicNormalFunction, StableDisability, ShortDecline, OrganFailure, LongDecline}

func (b Bridges) String() string {
	switch b {
	case Healthy:
		return "healthy"
	case MaternalInfant:
		return "maternal and infant"
	case AcutelyIll:
		return "acutely ill, likely to return to health"
	case ChronicNormalFunction:
		return "chronic conditions, normal function"
	case StableDisability:
		return "stable serious disability"
	case ShortDecline:
		return "short decline before dying"
	case OrganFailure:
		return "limited reserve with exacerbations (organ failure)"
	case LongDecline:
		return "long decline (dementia or frailty)"
	}
	return fmt.Sprintf("segment %d", uint8(b))
}

// bridgesRules, most severe need first: end of life, then long decline,
// organ failure, disability; maternity comes before chronic conditions
// because while it lasts it sets the priorities of care; a recent acute
// episode matters only for people with none of these.
var bridgesRules = []rule[Bridges]{
	{ShortDecline, "on the palliative care register", func(f *Facts) bool { return f.Has["palliative_care"] }},
	{ShortDecline, "metastatic cancer", func(f *Facts) bool { return f.Has["cci.metastatic"] }},
	{LongDecline, "dementia", func(f *Facts) bool { return f.Has["dementia"] }},
	{LongDecline, "severe frailty", severelyFrail},
	{OrganFailure, "heart failure", func(f *Facts) bool { return f.Has["heart_failure"] }},
	{OrganFailure, "chronic liver disease", func(f *Facts) bool { return f.Has["chronic_liver_disease"] }},
	{OrganFailure, "COPD or chronic kidney disease with an emergency admission in the last 12 months", func(f *Facts) bool {
		return f.EmergencyAdmissions12m >= 1 && f.any("copd", "ckd")
	}},
	{StableDisability, "learning disability", func(f *Facts) bool { return f.Has["learning_disability"] }},
	{StableDisability, "serious mental illness", func(f *Facts) bool { return f.Has["smi"] }},
	{StableDisability, "physical or neurological disability", func(f *Facts) bool {
		return f.any("physical_disability", "chronic_neuro_disease")
	}},
	{MaternalInfant, "pregnant", func(f *Facts) bool { return f.Has["pregnancy"] }},
	{MaternalInfant, "under one year old", func(f *Facts) bool { return f.Age == 0 }},
	{ChronicNormalFunction, "one or more long-term conditions", func(f *Facts) bool { return f.LTCs() >= 1 }},
	{AcutelyIll, "an emergency admission or A&E attendance in the last 3 months", func(f *Facts) bool {
		return f.EmergencyAdmissions3m+f.AEAttendances3m >= 1
	}},
	{Healthy, "none of the above", always},
}

// BridgesOf places f in a Bridges to Health segment.
func BridgesOf(f *Facts) Assignment[Bridges] { return assign(bridgesRules, f) }

// Group is a North West London whole-systems group, numbered as the
// toolkit numbers them.
type Group uint8

// Groups lists the fifteen groups in their published order.
var Groups = []Group{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}

var groupNames = [...]string{
	1:  "mostly healthy children (0–12)",
	2:  "mostly healthy young people (13–17)",
	3:  "mostly healthy adults (18–64)",
	4:  "mostly healthy older people (65+)",
	5:  "children and young people with a long-term condition or cancer",
	6:  "adults with one or more long-term conditions",
	7:  "older people with one or more long-term conditions",
	8:  "adults and older people with cancer",
	9:  "children with intensive continuing-care needs",
	10: "young people with intensive continuing-care needs",
	11: "serious and enduring mental illness",
	12: "learning disability",
	13: "physical disability",
	14: "advanced dementia",
	15: "homeless",
}

func (g Group) String() string {
	if g >= 1 && int(g) < len(groupNames) {
		return groupNames[g]
	}
	return fmt.Sprintf("group %d", uint8(g))
}

// An unknown age (-1) is taken as an adult of working age: the groups that
// depend on age then fall to the adult ones, the largest.
func child(f *Facts) bool { return f.Age >= 0 && f.Age <= 12 }
func young(f *Facts) bool { return f.Age >= 13 && f.Age <= 17 }
func older(f *Facts) bool { return f.Age >= 65 }

// nwlRules: one group per person by most severe primary need. The toolkit
// names the groups but not their order, so the order is ours: conditions
// that shape all of a person's care (advanced dementia, homelessness,
// learning disability, serious mental illness, continuing care, physical
// disability) before cancer, then long-term conditions by age, then the
// mostly healthy by age.
var nwlRules = []rule[Group]{
	{14, "dementia with severe frailty or living in a care home", func(f *Facts) bool {
		return f.Has["dementia"] && (severelyFrail(f) || f.Has["care_home_resident"])
	}},
	{15, "homeless", func(f *Facts) bool { return f.Has["homeless"] }},
	{12, "learning disability", func(f *Facts) bool { return f.Has["learning_disability"] }},
	{11, "serious mental illness", func(f *Facts) bool { return f.Has["smi"] }},
	{9, "a child with continuing-care needs", func(f *Facts) bool { return f.Has["continuing_care"] && child(f) }},
	{10, "a young person with continuing-care needs", func(f *Facts) bool { return f.Has["continuing_care"] && young(f) }},
	{13, "physical disability", func(f *Facts) bool { return f.Has["physical_disability"] }},
	{5, "a child or young person with a long-term condition or cancer", func(f *Facts) bool {
		return (child(f) || young(f)) && f.LTCs() >= 1
	}},
	{8, "cancer", func(f *Facts) bool { return f.Has["cancer"] }},
	{7, "65 or over with one or more long-term conditions", func(f *Facts) bool { return older(f) && f.LTCs() >= 1 }},
	{6, "18 to 64 with one or more long-term conditions", func(f *Facts) bool { return f.LTCs() >= 1 }},
	{1, "aged 0 to 12", child},
	{2, "aged 13 to 17", young},
	{4, "aged 65 or over", older},
	{3, "aged 18 to 64", always},
}

// NWL places f in one North West London group.
func NWL(f *Facts) Assignment[Group] { return assign(nwlRules, f) }
