// Package protocols is Wholecare's library of care protocols: for each
// long-term condition (and for frailty and multimorbidity), to whom it
// applies, the goals worth talking about with the person, the actions
// that usually help across the five self-care areas, what to monitor and
// at which thresholds, how often to review, which care gaps to check and
// what information to offer.
//
// Protocols are data: JSON documents, one per protocol version, shipped
// in library/ and embedded in the binary; administrators add and revise
// them through the store (a revision is a new version, old versions stay
// readable because plans record the version they applied).
//
// Applying a protocol to a person (Apply) only proposes: every item is a
// suggestion the care coordinator accepts, edits or declines. A goal is
// proposed as a prompt for a conversation, never as words put in the
// person's mouth: an accepted goal needs the person's own words.
package protocols

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/wholecare/wholecare/internal/apperr"
)

// Area is where an action or goal sits: one of the five self-care areas of
// personalised care, or clinical care.
type Area string

const (
	Information Area = "information" // information prescriptions
	Skills      Area = "skills"      // skills and education
	Tools       Area = "tools"       // tools and monitoring devices
	Lifestyle   Area = "lifestyle"   // healthy lifestyle
	Support     Area = "support"     // support networks
	Clinical    Area = "clinical"    // clinical care and treatment
)

// Areas lists the areas in the order plans show them.
var Areas = []Area{Information, Skills, Tools, Lifestyle, Support, Clinical}

// Label is the area's name in plain words.
func (a Area) Label() string {
	switch a {
	case Information:
		return "Information"
	case Skills:
		return "Skills and education"
	case Tools:
		return "Tools and monitoring devices"
	case Lifestyle:
		return "Healthy lifestyle"
	case Support:
		return "Support networks"
	case Clinical:
		return "Clinical care"
	}
	return string(a)
}

// Who says who usually carries out an action.
type Who string

const (
	ByPerson       Who = "person"
	ByCarer        Who = "carer"
	ByProfessional Who = "professional"
	ByOrganisation Who = "organisation"
)

var whos = []Who{ByPerson, ByCarer, ByProfessional, ByOrganisation}

// Zone is a level of a monitoring threshold or a condition action plan.
type Zone string

const (
	Target Zone = "target" // where the reading should be
	Amber  Zone = "amber"  // act: contact the team, adjust treatment
	Red    Zone = "red"    // urgent help
)

var zones = []Zone{Target, Amber, Red}

// ActionPlans are the condition action plan templates a protocol may ask
// for (green/amber/red zones with the person's own thresholds).
var ActionPlans = []string{"copd", "asthma", "heart_failure"}

// Protocol is one version of a care protocol.
type Protocol struct {
	ID      string   `json:"id"`      // stable, lower case: "copd", "type-2-diabetes"
	Version int      `json:"version"` // 1, 2, …: a revision is a new version
	Title   string   `json:"title"`
	Summary string   `json:"summary"`
	Sources []string `json:"sources"` // the guidance it follows
	// Changes says what this version changed from the one before.
	Changes   string        `json:"changes,omitempty"`
	AppliesTo Applicability `json:"applies_to"`
	// ReviewMonths is the usual interval between reviews of a plan that
	// follows this protocol.
	ReviewMonths int          `json:"review_months"`
	Goals        []GoalPrompt `json:"goals"`
	Actions      []Action     `json:"actions"`
	Monitoring   []Monitor    `json:"monitoring"`
	// ActionPlan names the condition action plan the protocol asks for
	// ("copd", "asthma", "heart_failure"), or is empty.
	ActionPlan  string     `json:"action_plan,omitempty"`
	CareGaps    []CareGap  `json:"care_gaps"`
	Information []InfoItem `json:"information"`
}

// Applicability says to whom a protocol applies: people in the cohort
// (population engine cohort language) or, where no engine is running,
// people with any of the concepts.
type Applicability struct {
	Cohort   string   `json:"cohort"`
	Concepts []string `json:"concepts"`
	// Description is the same in plain words.
	Description string `json:"description"`
}

// GoalPrompt is a goal worth talking about. Prompt is a question or topic
// for the conversation; the goal itself is written by the person.
type GoalPrompt struct {
	ID     string `json:"id"`
	Area   Area   `json:"area"`
	Prompt string `json:"prompt"`
	Why    string `json:"why"`
}

// Action is a suggested action.
type Action struct {
	ID   string `json:"id"`
	Area Area   `json:"area"`
	What string `json:"what"`
	Who  Who    `json:"who"`
	// Role names the professional or organisation when Who is one: "practice
	// nurse", "community pharmacist", "pulmonary rehabilitation service".
	Role string `json:"role,omitempty"`
	When string `json:"when"`
	// Goal is the id of the goal prompt the action serves, if any.
	Goal string `json:"goal,omitempty"`
	// If narrows the action to people with one of these concepts (an
	// action for people who smoke, say); empty means everyone.
	If []string `json:"if,omitempty"`
}

// Monitor is something to measure, how often, and what the readings mean.
type Monitor struct {
	ID         string      `json:"id"`
	Concept    string      `json:"concept"` // an observation concept, "obs.hba1c"
	Every      int         `json:"every_months"`
	Who        Who         `json:"who"`
	Thresholds []Threshold `json:"thresholds"`
}

// Threshold is one band of a monitored value.
type Threshold struct {
	Zone    Zone    `json:"zone"`
	Op      string  `json:"op"` // "<", "<=", ">", ">="
	Value   float64 `json:"value"`
	Unit    string  `json:"unit"`
	Meaning string  `json:"meaning"`
	// Age narrows the threshold to an age band, "<80" or ">=80".
	Age string `json:"age,omitempty"`
}

// CareGap is a care-gap check the protocol carries (QOF-style indicator).
type CareGap struct {
	ID    string `json:"id"` // "COPD010"
	Check string `json:"check"`
}

// InfoItem is information to offer the person.
type InfoItem struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	// Topic is the information prescription topic.
	Topic string `json:"topic"`
}

// Key is the protocol's id and version, "copd@2".
func (p *Protocol) Key() string { return fmt.Sprintf("%s@%d", p.ID, p.Version) }

var idRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,47}$`)

// CohortChecker parses cohort text and returns its mistake, if any (the
// population engine's parser).
type CohortChecker func(text string) error

// ConceptChecker says whether a concept id is known.
type ConceptChecker func(concept string) bool

// Validate checks a protocol. cohort and concept, when not nil, check the
// cohort text and every concept the protocol names. Every mistake is
// listed, each naming the element.
func (p *Protocol) Validate(cohort CohortChecker, concept ConceptChecker) error {
	var errs []string
	bad := func(path, format string, a ...any) {
		errs = append(errs, path+": "+fmt.Sprintf(format, a...))
	}
	if !idRE.MatchString(p.ID) {
		bad("id", "%q: want lower-case letters, digits and hyphens, starting with a letter", p.ID)
	}
	if p.Version < 1 {
		bad("version", "%d: want 1 or more", p.Version)
	}
	if strings.TrimSpace(p.Title) == "" {
		bad("title", "required")
	}
	if strings.TrimSpace(p.Summary) == "" {
		bad("summary", "required")
	}
	if len(p.Sources) == 0 {
		bad("sources", "name the guidance the protocol follows")
	}
	if p.Version > 1 && strings.TrimSpace(p.Changes) == "" {
		bad("changes", "a revision says what it changed")
	}
	a := p.AppliesTo
	if strings.TrimSpace(a.Cohort) == "" && len(a.Concepts) == 0 {
		bad("applies_to", "a cohort or concepts are required")
	}
	if a.Cohort != "" && cohort != nil {
		if err := cohort(a.Cohort); err != nil {
			bad("applies_to.cohort", "%v", err)
		}
	}
	checkConcepts := func(path string, cs []string) {
		for i, c := range cs {
			if concept != nil && !concept(c) {
				bad(fmt.Sprintf("%s[%d]", path, i), "unknown concept %q", c)
			}
		}
	}
	checkConcepts("applies_to.concepts", a.Concepts)
	if strings.TrimSpace(a.Description) == "" {
		bad("applies_to.description", "required")
	}
	if p.ReviewMonths < 1 || p.ReviewMonths > 24 {
		bad("review_months", "%d: want 1 to 24", p.ReviewMonths)
	}
	ids := map[string]string{}
	uniq := func(path, id string) {
		if !idRE.MatchString(id) {
			bad(path+".id", "%q: want lower-case letters, digits and hyphens", id)
			return
		}
		if prev, dup := ids[id]; dup {
			bad(path+".id", "%q is also used by %s", id, prev)
			return
		}
		ids[id] = path
	}
	area := func(path string, ar Area) {
		if !slices.Contains(Areas, ar) {
			bad(path+".area", "%q: want one of %v", ar, Areas)
		}
	}
	goals := map[string]bool{}
	for i, g := range p.Goals {
		path := fmt.Sprintf("goals[%d]", i)
		uniq(path, g.ID)
		goals[g.ID] = true
		area(path, g.Area)
		if strings.TrimSpace(g.Prompt) == "" {
			bad(path+".prompt", "required")
		}
		if strings.TrimSpace(g.Why) == "" {
			bad(path+".why", "required")
		}
	}
	if len(p.Actions) == 0 {
		bad("actions", "at least one action")
	}
	seen := map[Area]bool{}
	for i, x := range p.Actions {
		path := fmt.Sprintf("actions[%d]", i)
		uniq(path, x.ID)
		area(path, x.Area)
		seen[x.Area] = true
		if strings.TrimSpace(x.What) == "" {
			bad(path+".what", "required")
		}
		if !slices.Contains(whos, x.Who) {
			bad(path+".who", "%q: want one of %v", x.Who, whos)
		}
		if (x.Who == ByProfessional || x.Who == ByOrganisation) && strings.TrimSpace(x.Role) == "" {
			bad(path+".role", "say which professional or organisation")
		}
		if strings.TrimSpace(x.When) == "" {
			bad(path+".when", "required")
		}
		if x.Goal != "" && !goals[x.Goal] {
			bad(path+".goal", "no goal %q in this protocol", x.Goal)
		}
		checkConcepts(path+".if", x.If)
	}
	for _, ar := range []Area{Information, Skills, Tools, Lifestyle, Support} {
		if !seen[ar] {
			bad("actions", "no action in the %q self-care area", ar)
		}
	}
	for i, m := range p.Monitoring {
		path := fmt.Sprintf("monitoring[%d]", i)
		uniq(path, m.ID)
		if !strings.HasPrefix(m.Concept, "obs.") {
			bad(path+".concept", "%q: want an observation concept (obs.…)", m.Concept)
		} else if concept != nil && !concept(m.Concept) {
			bad(path+".concept", "unknown concept %q", m.Concept)
		}
		if m.Every < 1 || m.Every > 24 {
			bad(path+".every_months", "%d: want 1 to 24", m.Every)
		}
		if !slices.Contains(whos, m.Who) {
			bad(path+".who", "%q: want one of %v", m.Who, whos)
		}
		if len(m.Thresholds) == 0 {
			bad(path+".thresholds", "at least one threshold")
		}
		for j, t := range m.Thresholds {
			tp := fmt.Sprintf("%s.thresholds[%d]", path, j)
			if !slices.Contains(zones, t.Zone) {
				bad(tp+".zone", "%q: want one of %v", t.Zone, zones)
			}
			if _, ok := compare(t.Op); !ok {
				bad(tp+".op", "%q: want <, <=, > or >=", t.Op)
			}
			if strings.TrimSpace(t.Meaning) == "" {
				bad(tp+".meaning", "required")
			}
			if t.Age != "" {
				if _, _, ok := parseAge(t.Age); !ok {
					bad(tp+".age", "%q: want an age comparison such as <80 or >=80", t.Age)
				}
			}
		}
	}
	if p.ActionPlan != "" && !slices.Contains(ActionPlans, p.ActionPlan) {
		bad("action_plan", "%q: want one of %v", p.ActionPlan, ActionPlans)
	}
	for i, g := range p.CareGaps {
		path := fmt.Sprintf("care_gaps[%d]", i)
		if strings.TrimSpace(g.ID) == "" || strings.TrimSpace(g.Check) == "" {
			bad(path, "id and check are required")
		}
	}
	if len(p.Information) == 0 {
		bad("information", "at least one item of information to offer")
	}
	for i, in := range p.Information {
		path := fmt.Sprintf("information[%d]", i)
		uniq(path, in.ID)
		if strings.TrimSpace(in.Title) == "" || strings.TrimSpace(in.Topic) == "" {
			bad(path, "title and topic are required")
		}
	}
	if len(errs) > 0 {
		return apperr.Ef(apperr.Invalid, "protocol %s: %s", p.Key(), strings.Join(errs, "; "))
	}
	return nil
}

// compare returns the comparison an operator names.
func compare(op string) (func(a, b float64) bool, bool) {
	switch op {
	case "<":
		return func(a, b float64) bool { return a < b }, true
	case "<=":
		return func(a, b float64) bool { return a <= b }, true
	case ">":
		return func(a, b float64) bool { return a > b }, true
	case ">=":
		return func(a, b float64) bool { return a >= b }, true
	}
	return nil, false
}

// parseAge reads "<80", ">=80" and the like.
func parseAge(s string) (op string, age int, ok bool) {
	for _, o := range []string{"<=", ">=", "<", ">"} {
		if rest, found := strings.CutPrefix(s, o); found {
			n := 0
			if _, err := fmt.Sscanf(rest, "%d", &n); err != nil || fmt.Sprint(n) != rest || n < 0 || n > 130 {
				return "", 0, false
			}
			return o, n, true
		}
	}
	return "", 0, false
}
