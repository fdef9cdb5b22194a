package careplan

import (
	"fmt"
	"strings"
)

// Need is a need, concern or problem, as the person puts it.
type Need struct {
	ID          string `json:"id"`
	Description string `json:"description"`
}

func (n Need) validate(p *problems) {
	p.required("need "+n.ID+": description", n.Description, maxText)
}

// GoalStatus is where a goal stands.
type GoalStatus string

const (
	GoalActive   GoalStatus = "active"
	GoalOnHold   GoalStatus = "on-hold"
	GoalAchieved GoalStatus = "achieved"
	GoalStopped  GoalStatus = "stopped" // no longer wanted or attainable
)

// Open reports whether the goal is still being worked on, and so must be
// reviewed.
func (s GoalStatus) Open() bool { return s == GoalActive || s == GoalOnHold }

func (s GoalStatus) valid() bool {
	return s == GoalActive || s == GoalOnHold || s == GoalAchieved || s == GoalStopped
}

// Goal is a goal or hope, in the person's words.
type Goal struct {
	ID         string     `json:"id"`
	NeedID     string     `json:"need_id,omitempty"`
	Text       string     `json:"text"`                 // in the person's words
	Importance int        `json:"importance,omitempty"` // 1 (a little) to 10 (most), as the person scores it; 0 not asked
	TargetDate Date       `json:"target_date,omitempty"`
	Status     GoalStatus `json:"status"`
	// FromProtocol is the protocol item the goal was agreed from
	// ("copd/goal/breathing"), when it was.
	FromProtocol string `json:"from_protocol,omitempty"`
}

func (g Goal) validate(p *problems) {
	f := "goal " + g.ID
	p.required(f+": text", g.Text, maxText)
	if g.Importance < 0 || g.Importance > 10 {
		p.add("%s: importance must be 1 to 10 (0 when not asked)", f)
	}
	if !g.TargetDate.valid() {
		p.add("%s: target date is not YYYY-MM-DD", f)
	}
	if !g.Status.valid() {
		p.add("%s: status %q is not active, on-hold, achieved or stopped", f, g.Status)
	}
}

// Area is what kind of support an action is: one of the five areas of
// self-care support (information; skills and education; tools and
// monitoring devices; healthy lifestyle; support networks) or clinical
// care.
type Area string

const (
	Information     Area = "information"
	SkillsEducation Area = "skills-education"
	ToolsDevices    Area = "tools-devices"
	HealthyLife     Area = "healthy-lifestyle"
	SupportNetworks Area = "support-networks"
	Clinical        Area = "clinical"
)

// Areas lists every area.
var Areas = []Area{Information, SkillsEducation, ToolsDevices, HealthyLife, SupportNetworks, Clinical}

// WhoKind is who does an action.
type WhoKind string

const (
	ByPerson       WhoKind = "person"
	ByCarer        WhoKind = "carer"
	ByProfessional WhoKind = "professional"
	ByOrganisation WhoKind = "organisation"
)

// Who does an action: the person, a carer, a named professional (from the
// directory when known) or an organisation.
type Who struct {
	Kind           WhoKind `json:"kind"`
	Name           string  `json:"name,omitempty"`
	ProfessionalID int64   `json:"professional_id,omitempty"`
	OrgID          string  `json:"org_id,omitempty"`
}

// ActionStatus is where an action stands.
type ActionStatus string

const (
	ActionPlanned    ActionStatus = "planned"
	ActionInProgress ActionStatus = "in-progress"
	ActionDone       ActionStatus = "done"
	ActionStopped    ActionStatus = "stopped"
)

// Action is something someone will do towards a goal.
type Action struct {
	ID     string       `json:"id"`
	GoalID string       `json:"goal_id"`
	What   string       `json:"what"`
	Who    Who          `json:"who"`
	When   string       `json:"when,omitempty"` // "every morning", "by the end of May"
	Due    Date         `json:"due,omitempty"`
	Area   Area         `json:"area"`
	Status ActionStatus `json:"status"`
	// Confidence is how confident the person is that it will happen, 0 to
	// 10; nil when not asked.
	Confidence *int   `json:"confidence,omitempty"`
	Strategies string `json:"strategies,omitempty"`
	// FromProtocol is the protocol item the action was accepted from, when
	// it was.
	FromProtocol string `json:"from_protocol,omitempty"`
}

func (a Action) validate(p *problems) {
	f := "action " + a.ID
	if a.GoalID == "" {
		p.add("%s: name the goal it serves", f)
	}
	p.required(f+": what", a.What, maxText)
	p.text(f+": when", a.When, maxShort)
	p.text(f+": strategies", a.Strategies, maxText)
	if !a.Due.valid() {
		p.add("%s: due date is not YYYY-MM-DD", f)
	}
	ok := false
	for _, ar := range Areas {
		ok = ok || a.Area == ar
	}
	if !ok {
		p.add("%s: area %q is not one of %s", f, a.Area, joinAreas())
	}
	switch a.Status {
	case ActionPlanned, ActionInProgress, ActionDone, ActionStopped:
	default:
		p.add("%s: status %q is not planned, in-progress, done or stopped", f, a.Status)
	}
	if a.Confidence != nil && (*a.Confidence < 0 || *a.Confidence > 10) {
		p.add("%s: confidence must be 0 to 10", f)
	}
	switch a.Who.Kind {
	case ByPerson:
	case ByCarer, ByOrganisation:
		p.required(f+": who (name)", a.Who.Name, maxShort)
	case ByProfessional:
		if a.Who.ProfessionalID == 0 && strings.TrimSpace(a.Who.Name) == "" {
			p.add("%s: name the professional", f)
		}
		p.text(f+": who (name)", a.Who.Name, maxShort)
	default:
		p.add("%s: who must be the person, a carer, a professional or an organisation", f)
	}
}

func joinAreas() string {
	s := make([]string, len(Areas))
	for i, a := range Areas {
		s[i] = string(a)
	}
	return strings.Join(s, ", ")
}

// newID gives the next id of a kind ("n", "g" or "a").
func (pl *Plan) newID(prefix string) string {
	pl.NextID++
	return fmt.Sprintf("%s%d", prefix, pl.NextID)
}

// Goal returns the goal with id.
func (pl *Plan) Goal(id string) (*Goal, bool) {
	for i := range pl.Goals {
		if pl.Goals[i].ID == id {
			return &pl.Goals[i], true
		}
	}
	return nil, false
}

// PutGoal adds a goal (empty id) or replaces the goal with its id, and
// returns its id. A new goal starts active.
func (pl *Plan) PutGoal(g Goal) (string, error) {
	if g.ID == "" {
		g.ID = pl.newID("g")
		if g.Status == "" {
			g.Status = GoalActive
		}
		pl.Goals = append(pl.Goals, g)
		return g.ID, nil
	}
	old, ok := pl.Goal(g.ID)
	if !ok {
		return "", notFound("goal", g.ID)
	}
	if g.Status == "" {
		g.Status = old.Status
	}
	*old = g
	return g.ID, nil
}

// PutNeed adds a need (empty id) or replaces the need with its id.
func (pl *Plan) PutNeed(n Need) (string, error) {
	if n.ID == "" {
		n.ID = pl.newID("n")
		pl.Needs = append(pl.Needs, n)
		return n.ID, nil
	}
	for i := range pl.Needs {
		if pl.Needs[i].ID == n.ID {
			pl.Needs[i] = n
			return n.ID, nil
		}
	}
	return "", notFound("need", n.ID)
}

// PutAction adds an action (empty id) or replaces the action with its id.
// A new action starts planned.
func (pl *Plan) PutAction(a Action) (string, error) {
	if a.ID == "" {
		a.ID = pl.newID("a")
		if a.Status == "" {
			a.Status = ActionPlanned
		}
		pl.Actions = append(pl.Actions, a)
		return a.ID, nil
	}
	for i := range pl.Actions {
		if pl.Actions[i].ID == a.ID {
			if a.Status == "" {
				a.Status = pl.Actions[i].Status
			}
			pl.Actions[i] = a
			return a.ID, nil
		}
	}
	return "", notFound("action", a.ID)
}
