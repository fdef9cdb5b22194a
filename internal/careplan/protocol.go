package careplan

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/careplan/protocols"
)

// AppliedProtocol records one application of a protocol to a plan: which
// version, when, by whom, and what became of each item decided.
type AppliedProtocol struct {
	Protocol string        `json:"protocol"`
	Version  int           `json:"version"`
	At       time.Time     `json:"at"`
	By       string        `json:"by"`
	Items    []AppliedItem `json:"items"`
}

// AppliedItem is the decision about one proposed item.
type AppliedItem struct {
	Key    string           `json:"key"`
	Kind   protocols.Kind   `json:"kind"`
	Choice protocols.Choice `json:"choice"`
	Reason string           `json:"reason,omitempty"` // why it was declined
	// Into is the goal or action the item became ("g3", "a7"), or
	// "review" when it set the review interval; empty when declined.
	Into string `json:"into,omitempty"`
}

// InPlan returns the keys of protocol items the plan carries: goals and
// actions accepted from a protocol, and review intervals set by one.
func (pl *Plan) InPlan() map[string]bool {
	in := map[string]bool{}
	for _, g := range pl.Goals {
		if g.FromProtocol != "" {
			in[g.FromProtocol] = true
		}
	}
	for _, a := range pl.Actions {
		if a.FromProtocol != "" {
			in[a.FromProtocol] = true
		}
	}
	for _, ap := range pl.Protocols {
		for _, it := range ap.Items {
			if it.Into == "review" {
				in[it.Key] = true
			}
		}
	}
	return in
}

// areaOf maps a protocol's area to the plan's.
func areaOf(a protocols.Area) Area {
	switch a {
	case protocols.Information:
		return Information
	case protocols.Skills:
		return SkillsEducation
	case protocols.Tools:
		return ToolsDevices
	case protocols.Lifestyle:
		return HealthyLife
	case protocols.Support:
		return SupportNetworks
	}
	return Clinical
}

// whoOf maps who carries an item out.
func whoOf(it protocols.Item) Who {
	name := it.Role
	switch it.Who {
	case protocols.ByPerson:
		return Who{Kind: ByPerson}
	case protocols.ByCarer:
		if name == "" {
			name = "carer"
		}
		return Who{Kind: ByCarer, Name: name}
	case protocols.ByOrganisation:
		return Who{Kind: ByOrganisation, Name: name}
	}
	if name == "" {
		name = "care team"
	}
	return Who{Kind: ByProfessional, Name: name}
}

// ApplyProtocol makes the next version of a plan from the coordinator's
// decisions about a protocol's proposal, item by item: an accepted or
// edited goal becomes a goal in the person's own words (never the
// protocol's), an accepted action, monitoring, information or care-gap
// item becomes an action serving the goal it names (its protocol goal, if
// that is in the plan, or the decision's goal_id), a review item sets the
// review interval, and a declined item is recorded with its reason. Items
// not decided are left for later. The whole set is one version.
func (s *Service) ApplyProtocol(ctx context.Context, a Actor, planID int64, basedOn int, p *protocols.Protocol, prop protocols.Proposal,
	decisions []protocols.Decision, reason string) (Version, error) {
	if p == nil || prop.Protocol != p.ID || prop.Version != p.Version {
		return Version{}, apperr.E(apperr.Internal, "careplan: the proposal is not of this protocol version")
	}
	if len(decisions) == 0 {
		return Version{}, apperr.E(apperr.Invalid, "careplan: decide at least one item (accept, edit or decline)")
	}
	seen := map[string]bool{}
	decided := make([]protocols.Decided, 0, len(decisions))
	for _, d := range decisions {
		if seen[d.Key] {
			return Version{}, apperr.Ef(apperr.Invalid, "careplan: %s is decided twice", d.Key)
		}
		seen[d.Key] = true
		dd, err := protocols.Decide(prop, d)
		if err != nil {
			return Version{}, err
		}
		if dd.Item.AlreadyInPlan && d.Choice != protocols.Decline {
			return Version{}, apperr.Ef(apperr.Conflict, "careplan: %s is already in the plan", d.Key)
		}
		decided = append(decided, dd)
	}
	// Goals first, so that actions decided in the same set can serve them.
	slices.SortStableFunc(decided, func(x, y protocols.Decided) int {
		return boolInt(x.Item.Kind != protocols.GoalItem) - boolInt(y.Item.Kind != protocols.GoalItem)
	})
	if strings.TrimSpace(reason) == "" {
		reason = fmt.Sprintf("%d items of the %s protocol (version %d) decided", len(decided), p.Title, p.Version)
	}
	return s.apply(ctx, a, planID, basedOn, FromProtocol, reason, func(pl *Plan, _ int) error {
		if in := pl.InPlan(); len(in) > 0 {
			for _, d := range decided {
				if in[d.Item.Key] && d.Decision.Choice != protocols.Decline {
					return apperr.Ef(apperr.Conflict, "careplan: %s is already in the plan", d.Item.Key)
				}
			}
		}
		rec := AppliedProtocol{Protocol: p.ID, Version: p.Version, At: s.now().UTC(), By: a.Name}
		for _, d := range decided {
			it := AppliedItem{Key: d.Item.Key, Kind: d.Item.Kind, Choice: d.Decision.Choice}
			if d.Decision.Choice == protocols.Decline {
				it.Reason = d.Decision.Reason
				rec.Items = append(rec.Items, it)
				continue
			}
			switch d.Item.Kind {
			case protocols.GoalItem:
				id, err := pl.PutGoal(Goal{Text: d.Decision.PersonWords, Status: GoalActive, FromProtocol: d.Item.Key})
				if err != nil {
					return err
				}
				it.Into = id
			case protocols.ReviewItem:
				pl.Review.IntervalMonths = d.Item.Months
				if pl.Review.Next == "" {
					pl.Review.Next = DateOf(s.now().AddDate(0, d.Item.Months, 0))
				}
				it.Into = "review"
			default:
				goal := d.Decision.GoalID
				if goal == "" && d.Item.Goal != "" {
					if i := slices.IndexFunc(pl.Goals, func(g Goal) bool { return g.FromProtocol == d.Item.Goal }); i >= 0 {
						goal = pl.Goals[i].ID
					}
				}
				if goal == "" {
					return apperr.Ef(apperr.Invalid, "careplan: %s: say which goal in the plan it serves (goal_id)", d.Item.Key)
				}
				ac := Action{GoalID: goal, What: d.Item.Text, Who: whoOf(d.Item), When: d.Item.When, Area: areaOf(d.Item.Area),
					Status: ActionPlanned, FromProtocol: d.Item.Key}
				if d.Item.Kind == protocols.MonitoringItem {
					ac.Area = ToolsDevices
				}
				id, err := pl.PutAction(ac)
				if err != nil {
					return err
				}
				it.Into = id
			}
			rec.Items = append(rec.Items, it)
		}
		pl.Protocols = append(pl.Protocols, rec)
		return nil
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
