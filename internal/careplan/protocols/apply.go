package protocols

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
)

// Person is what Apply needs to know about the person.
type Person struct {
	// Age in whole years on the day of applying; negative when unknown.
	Age int
	// Concepts the person has now: active conditions, current medicines,
	// recorded procedures and values.
	Concepts map[string]bool
	// Latest reading of each observation concept.
	Latest map[string]Reading
	// InPlan holds the keys of protocol items the person's plan already
	// carries (accepted from an earlier application, of any version).
	InPlan map[string]bool
	// InCohort, when not nil, says whether the person is in a cohort (the
	// population engine's answer); without it, or when it answers NotFound
	// (the engine does not hold the person yet), applicability falls back
	// to the protocol's concepts.
	InCohort func(cohort string) (bool, error)
}

// Reading is one observation value.
type Reading struct {
	Value float64   `json:"value"`
	Date  time.Time `json:"date"`
}

// Kind is the kind of a proposed item.
type Kind string

const (
	GoalItem        Kind = "goal"
	ActionItem      Kind = "action"
	MonitoringItem  Kind = "monitoring"
	InformationItem Kind = "information"
	ReviewItem      Kind = "review"
	ActionPlanItem  Kind = "action_plan"
	CareGapItem     Kind = "care_gap"
)

// Proposal is what applying a protocol to a person suggests.
type Proposal struct {
	Protocol string `json:"protocol"`
	Version  int    `json:"version"`
	Title    string `json:"title"`
	// Applies says whether the person is one the protocol is for, and
	// Because says why (or why not) in plain words. A protocol can be
	// applied to someone outside its cohort (a suspected diagnosis, say);
	// the coordinator sees that it does not apply.
	Applies bool   `json:"applies"`
	Because string `json:"because"`
	Items   []Item `json:"items"`
}

// Item is one proposed item. The coordinator accepts, edits or declines
// each one.
type Item struct {
	// Key identifies the item across versions of the protocol:
	// "copd/action/pulmonary-rehab".
	Key  string `json:"key"`
	Kind Kind   `json:"kind"`
	Area Area   `json:"area,omitempty"`
	// Text is the suggestion in the professional's words. For a goal it is
	// a prompt for the conversation, never the goal itself.
	Text string `json:"text"`
	Who  Who    `json:"who,omitempty"`
	Role string `json:"role,omitempty"`
	When string `json:"when,omitempty"`
	Why  string `json:"why,omitempty"`
	// Goal is the key of the goal item an action serves.
	Goal string `json:"goal,omitempty"`
	// NeedsPersonWords is set on goals: accepting one needs the goal in
	// the person's own words.
	NeedsPersonWords bool `json:"needs_person_words,omitempty"`
	// Monitoring: the latest reading and the zone it falls in.
	Concept string   `json:"concept,omitempty"`
	Latest  *Reading `json:"latest,omitempty"`
	Zone    Zone     `json:"zone,omitempty"`
	// Months is the review interval of a review item.
	Months int `json:"months,omitempty"`
	// AlreadyInPlan is set when the plan carries the item already.
	AlreadyInPlan bool `json:"already_in_plan,omitempty"`
}

// ItemKey makes an item key.
func ItemKey(protocol string, k Kind, id string) string {
	return protocol + "/" + string(k) + "/" + id
}

// Apply proposes what p suggests for the person. It never changes a plan.
func Apply(p *Protocol, who Person) (Proposal, error) {
	out := Proposal{Protocol: p.ID, Version: p.Version, Title: p.Title}
	var err error
	out.Applies, out.Because, err = applies(p, who)
	if err != nil {
		return Proposal{}, err
	}
	add := func(it Item) {
		it.AlreadyInPlan = who.InPlan[it.Key]
		out.Items = append(out.Items, it)
	}
	for _, g := range p.Goals {
		add(Item{Key: ItemKey(p.ID, GoalItem, g.ID), Kind: GoalItem, Area: g.Area, Text: g.Prompt, Why: g.Why, NeedsPersonWords: true})
	}
	for _, a := range p.Actions {
		if len(a.If) > 0 && !slices.ContainsFunc(a.If, func(c string) bool { return who.Concepts[c] }) {
			continue
		}
		it := Item{Key: ItemKey(p.ID, ActionItem, a.ID), Kind: ActionItem, Area: a.Area, Text: a.What, Who: a.Who, Role: a.Role, When: a.When}
		if a.Goal != "" {
			it.Goal = ItemKey(p.ID, GoalItem, a.Goal)
		}
		if len(a.If) > 0 {
			it.Why = "recorded: " + strings.Join(a.If, ", ")
		}
		add(it)
	}
	for _, m := range p.Monitoring {
		it := Item{Key: ItemKey(p.ID, MonitoringItem, m.ID), Kind: MonitoringItem, Area: Tools, Concept: m.Concept, Who: m.Who,
			When: fmt.Sprintf("every %s", months(m.Every)), Text: monitorText(m, who.Age)}
		if r, ok := who.Latest[m.Concept]; ok {
			r := r
			it.Latest = &r
			it.Zone = zoneOf(m, r.Value, who.Age)
			it.Why = fmt.Sprintf("latest %g on %s", r.Value, r.Date.Format(time.DateOnly))
			if it.Zone != "" {
				it.Why += " (" + string(it.Zone) + ")"
			}
		} else {
			it.Why = "no reading recorded"
		}
		add(it)
	}
	if p.ActionPlan != "" {
		add(Item{Key: ItemKey(p.ID, ActionPlanItem, p.ActionPlan), Kind: ActionPlanItem, Area: Skills,
			Text: "Agree a " + strings.ReplaceAll(p.ActionPlan, "_", " ") + " action plan (green, amber and red zones) with the person's own thresholds",
			Who:  ByPerson, When: "at this planning conversation"})
	}
	for _, in := range p.Information {
		add(Item{Key: ItemKey(p.ID, InformationItem, in.ID), Kind: InformationItem, Area: Information, Text: in.Title, Why: in.Topic})
	}
	for _, g := range p.CareGaps {
		add(Item{Key: ItemKey(p.ID, CareGapItem, strings.ToLower(g.ID)), Kind: CareGapItem, Area: Clinical, Text: g.Check, Why: g.ID})
	}
	add(Item{Key: ItemKey(p.ID, ReviewItem, "interval"), Kind: ReviewItem, Text: fmt.Sprintf("Review the plan every %s", months(p.ReviewMonths)), Months: p.ReviewMonths})
	return out, nil
}

func months(n int) string {
	if n == 1 {
		return "month"
	}
	if n == 12 {
		return "year"
	}
	return fmt.Sprintf("%d months", n)
}

func applies(p *Protocol, who Person) (bool, string, error) {
	a := p.AppliesTo
	if a.Cohort != "" && who.InCohort != nil {
		in, err := who.InCohort(a.Cohort)
		switch {
		case apperr.Is(err, apperr.NotFound):
			// The engine has not caught up with this person yet: fall
			// back to the concepts.
		case err != nil:
			return false, "", apperr.Wrap(apperr.KindOf(err), err, "protocol "+p.Key()+": applies_to.cohort")
		case in:
			return true, "in the protocol's cohort: " + a.Description, nil
		default:
			return false, "not in the protocol's cohort (" + a.Description + ")", nil
		}
	}
	if len(a.Concepts) == 0 {
		return false, "could not check (" + a.Description + "): the population engine is not running", nil
	}
	var has []string
	for _, c := range a.Concepts {
		if who.Concepts[c] {
			has = append(has, c)
		}
	}
	if len(has) > 0 {
		return true, "has " + strings.Join(has, ", "), nil
	}
	return false, "none of " + strings.Join(a.Concepts, ", ") + " is recorded (" + a.Description + ")", nil
}

// ageHolds reports whether t holds for a person of age (negative: unknown
// age, where only thresholds without an age band hold).
func ageHolds(t Threshold, age int) bool {
	if t.Age == "" {
		return true
	}
	if age < 0 {
		return false
	}
	op, n, ok := parseAge(t.Age)
	if !ok {
		return false
	}
	f, _ := compare(op)
	return f(float64(age), float64(n))
}

// zoneOf is the most urgent zone v falls in: red before amber before
// target; "" when none holds.
func zoneOf(m Monitor, v float64, age int) Zone {
	for _, z := range []Zone{Red, Amber, Target} {
		for _, t := range m.Thresholds {
			if t.Zone != z || !ageHolds(t, age) {
				continue
			}
			if f, ok := compare(t.Op); ok && f(v, t.Value) {
				return z
			}
		}
	}
	return ""
}

func monitorText(m Monitor, age int) string {
	name := strings.ReplaceAll(strings.TrimPrefix(m.Concept, "obs."), "_", " ")
	var parts []string
	for _, t := range m.Thresholds {
		if t.Age != "" && age >= 0 && !ageHolds(t, age) {
			continue
		}
		s := fmt.Sprintf("%s %s %g %s: %s", t.Zone, t.Op, t.Value, t.Unit, t.Meaning)
		if t.Age != "" {
			s += " (age " + t.Age + ")"
		}
		parts = append(parts, strings.Join(strings.Fields(s), " "))
	}
	return fmt.Sprintf("Measure %s every %s. %s", name, months(m.Every), strings.Join(parts, "; "))
}

// Decision is the coordinator's answer to one proposed item.
type Decision struct {
	Key    string `json:"key"`
	Choice Choice `json:"choice"`
	// Text replaces the suggestion when the item is edited.
	Text string `json:"text,omitempty"`
	// PersonWords is the goal in the person's own words: required to
	// accept or edit a goal.
	PersonWords string `json:"person_words,omitempty"`
	// Reason says why an item was declined.
	Reason string `json:"reason,omitempty"`
	// GoalID names the goal in the plan an accepted action serves, when
	// the protocol's own goal for it is not in the plan.
	GoalID string `json:"goal_id,omitempty"`
}

// Choice is accept, edit or decline.
type Choice string

const (
	Accept  Choice = "accept"
	Edit    Choice = "edit"
	Decline Choice = "decline"
)

// Decided is an item with the coordinator's decision applied: what goes
// into the plan (nothing, when declined).
type Decided struct {
	Item     Item     `json:"item"`
	Decision Decision `json:"decision"`
}

// Decide checks one decision against the proposal and returns the item as
// decided. A goal is never accepted without the person's own words, and
// those words are never taken from the protocol.
func Decide(p Proposal, d Decision) (Decided, error) {
	i := slices.IndexFunc(p.Items, func(it Item) bool { return it.Key == d.Key })
	if i < 0 {
		return Decided{}, apperr.Ef(apperr.NotFound, "%s@%d proposes no item %q", p.Protocol, p.Version, d.Key)
	}
	it := p.Items[i]
	d.Text, d.PersonWords, d.Reason = strings.TrimSpace(d.Text), strings.TrimSpace(d.PersonWords), strings.TrimSpace(d.Reason)
	switch d.Choice {
	case Accept, Edit:
		if d.Choice == Edit {
			if d.Text == "" {
				return Decided{}, apperr.Ef(apperr.Invalid, "%s: an edit needs the new text", d.Key)
			}
			it.Text = d.Text
		} else if d.Text != "" {
			return Decided{}, apperr.Ef(apperr.Invalid, "%s: new text means choice edit, not accept", d.Key)
		}
		if it.NeedsPersonWords {
			if d.PersonWords == "" {
				return Decided{}, apperr.Ef(apperr.Invalid, "%s: a goal is written in the person's own words; ask them and record what they said in person_words", d.Key)
			}
			if strings.EqualFold(d.PersonWords, it.Text) {
				return Decided{}, apperr.Ef(apperr.Invalid, "%s: person_words repeats the protocol's prompt; record what the person said", d.Key)
			}
		} else if d.PersonWords != "" {
			return Decided{}, apperr.Ef(apperr.Invalid, "%s: only goals take the person's words", d.Key)
		}
		if it.Kind == GoalItem && d.GoalID != "" {
			return Decided{}, apperr.Ef(apperr.Invalid, "%s: a goal serves no other goal", d.Key)
		}
	case Decline:
		if d.Reason == "" {
			return Decided{}, apperr.Ef(apperr.Invalid, "%s: say why the item is declined", d.Key)
		}
	default:
		return Decided{}, apperr.Ef(apperr.Invalid, "%s: choice %q: want accept, edit or decline", d.Key, d.Choice)
	}
	return Decided{Item: it, Decision: d}, nil
}
