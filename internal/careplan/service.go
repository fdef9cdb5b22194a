package careplan

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/directory"
)

// Store is what the care plan service needs of the database.
type Store interface {
	// Professional returns a professional from the directory; NotFound
	// when there is none.
	Professional(ctx context.Context, id int64) (directory.Professional, error)
	// CreatePlan stores version 1 of a new plan and returns it with its
	// plan id.
	CreatePlan(ctx context.Context, v Version) (Version, error)
	// AppendPlanVersion stores v as the plan's next version. It refuses
	// with a Conflict wrapping ErrStale, writing nothing, unless the
	// plan's current version is v.Number-1 when it commits.
	AppendPlanVersion(ctx context.Context, v Version) (Version, error)
	// PlanVersion returns one version of a plan, the current one for 0.
	PlanVersion(ctx context.Context, planID int64, number int) (Version, error)
	// PlanHistory lists every version of a plan, oldest first, without
	// their documents.
	PlanHistory(ctx context.Context, planID int64) ([]VersionInfo, error)
	// PlanHeader returns what may be known of a plan without its content.
	PlanHeader(ctx context.Context, planID int64) (Header, error)
	// PersonPlans lists a person's plans, newest first.
	PersonPlans(ctx context.Context, personID int64) ([]Header, error)
	// OverdueReviews lists plans in use whose next review is before q.Before.
	OverdueReviews(ctx context.Context, q OverdueQuery) ([]Header, error)
}

// OverdueQuery selects overdue reviews: plans in use (agreed, active or
// under review) whose next review date is before Before, of the people a
// professional works with: those now with a care team the professional is
// now a member of, and those whose plan they coordinate. TeamID, when set,
// narrows to the people of that one team (which must be one of the
// professional's own).
type OverdueQuery struct {
	Before         Date
	ProfessionalID int64
	TeamID         int64
	Limit          int
}

// Service keeps care plans.
type Service struct {
	store Store
	now   func() time.Time
}

// NewService returns a care plan service.
func NewService(store Store, now func() time.Time) *Service {
	return &Service{store: store, now: now}
}

// Current returns the current version of a plan.
func (s *Service) Current(ctx context.Context, planID int64) (Version, error) {
	return s.store.PlanVersion(ctx, planID, 0)
}

// Version returns version n of a plan.
func (s *Service) Version(ctx context.Context, planID int64, n int) (Version, error) {
	if n <= 0 {
		return Version{}, apperr.E(apperr.NotFound, "careplan: versions are numbered from 1")
	}
	return s.store.PlanVersion(ctx, planID, n)
}

// History lists a plan's versions.
func (s *Service) History(ctx context.Context, planID int64) ([]VersionInfo, error) {
	return s.store.PlanHistory(ctx, planID)
}

// Header returns what may be known of a plan without its content.
func (s *Service) Header(ctx context.Context, planID int64) (Header, error) {
	return s.store.PlanHeader(ctx, planID)
}

// PersonPlans lists a person's plans.
func (s *Service) PersonPlans(ctx context.Context, personID int64) ([]Header, error) {
	return s.store.PersonPlans(ctx, personID)
}

// Overdue lists overdue reviews as of today.
func (s *Service) Overdue(ctx context.Context, q OverdueQuery) ([]Header, error) {
	if q.Before == "" {
		q.Before = DateOf(s.now())
	}
	if q.Limit <= 0 || q.Limit > 1000 {
		q.Limit = 200
	}
	return s.store.OverdueReviews(ctx, q)
}

// Diff compares two versions of a plan.
func (s *Service) Diff(ctx context.Context, planID int64, from, to int) (Diff, error) {
	a, err := s.Version(ctx, planID, from)
	if err != nil {
		return Diff{}, err
	}
	b, err := s.Version(ctx, planID, to)
	if err != nil {
		return Diff{}, err
	}
	return Compare(a, b)
}

func checkReason(reason string) error {
	if strings.TrimSpace(reason) == "" {
		return apperr.E(apperr.Invalid, "careplan: say why the plan is changed")
	}
	if utf8.RuneCountInString(reason) > 500 {
		return apperr.E(apperr.Invalid, "careplan: the reason is longer than 500 characters")
	}
	return nil
}

// Create starts a plan for a person, as a draft. Agreements and reviews
// are recorded afterwards; ids of needs, goals and actions given are kept
// (so the request can link them) and the rest assigned.
func (s *Service) Create(ctx context.Context, a Actor, personID int64, pl Plan, reason string) (Version, error) {
	if personID <= 0 {
		return Version{}, apperr.E(apperr.Invalid, "careplan: a plan needs a person")
	}
	if reason == "" {
		reason = "plan started"
	}
	if err := checkReason(reason); err != nil {
		return Version{}, err
	}
	pl.Status, pl.Agreements, pl.Reviews, pl.ContentVersion = Draft, nil, nil, 1
	if err := s.fillCoordinator(ctx, &pl); err != nil {
		return Version{}, err
	}
	normaliseIDs(&pl)
	if err := pl.Validate(); err != nil {
		return Version{}, err
	}
	v := Version{Number: 1, PersonID: personID, Plan: pl, Change: Change{Kind: Created, Reason: reason, By: a.stored(), At: s.now().UTC()}}
	return s.store.CreatePlan(ctx, v)
}

// fillCoordinator completes the coordinator from the directory.
func (s *Service) fillCoordinator(ctx context.Context, pl *Plan) error {
	id := pl.Coordinator.ProfessionalID
	if id <= 0 {
		return apperr.E(apperr.Invalid, "careplan: the plan needs a coordinator (a professional from the directory)")
	}
	p, err := s.store.Professional(ctx, id)
	if apperr.Is(err, apperr.NotFound) {
		return apperr.Ef(apperr.Invalid, "careplan: coordinator %d is not a professional in the directory", id)
	}
	if err != nil {
		return err
	}
	pl.Coordinator.Name = strings.TrimSpace(p.GivenName + " " + p.FamilyName)
	pl.Coordinator.Profession, pl.Coordinator.OrgID = p.Profession, p.OrgID
	return nil
}

// normaliseIDs gives every need, goal and action without an id the next
// one, after any numbered id already present.
func normaliseIDs(pl *Plan) {
	for _, id := range allIDs(pl) {
		if len(id) > 1 {
			if n, err := strconv.Atoi(id[1:]); err == nil && n > pl.NextID {
				pl.NextID = n
			}
		}
	}
	for i := range pl.Needs {
		if pl.Needs[i].ID == "" {
			pl.Needs[i].ID = pl.newID("n")
		}
	}
	for i := range pl.Goals {
		if pl.Goals[i].ID == "" {
			pl.Goals[i].ID = pl.newID("g")
		}
		if pl.Goals[i].Status == "" {
			pl.Goals[i].Status = GoalActive
		}
	}
	for i := range pl.Actions {
		if pl.Actions[i].ID == "" {
			pl.Actions[i].ID = pl.newID("a")
		}
		if pl.Actions[i].Status == "" {
			pl.Actions[i].Status = ActionPlanned
		}
	}
}

func allIDs(pl *Plan) []string {
	var ids []string
	for _, n := range pl.Needs {
		ids = append(ids, n.ID)
	}
	for _, g := range pl.Goals {
		ids = append(ids, g.ID)
	}
	for _, a := range pl.Actions {
		ids = append(ids, a.ID)
	}
	return ids
}

// clone deep-copies a plan, so a failed change leaves the read version as
// it was.
func clone(pl Plan) (Plan, error) {
	b, err := json.Marshal(pl)
	if err != nil {
		return Plan{}, apperr.Wrap(apperr.Internal, err, "careplan: copying a plan")
	}
	var out Plan
	if err := json.Unmarshal(b, &out); err != nil {
		return Plan{}, apperr.Wrap(apperr.Internal, err, "careplan: copying a plan")
	}
	return out, nil
}

// apply makes the next version of a plan from the version basedOn by f.
// A stale basedOn is refused before anything is computed, and again by
// the store if another write commits first.
func (s *Service) apply(ctx context.Context, a Actor, planID int64, basedOn int, kind ChangeKind, reason string,
	f func(pl *Plan, next int) error) (Version, error) {
	if err := checkReason(reason); err != nil {
		return Version{}, err
	}
	if basedOn <= 0 {
		return Version{}, apperr.E(apperr.Invalid, "careplan: say which version the change is based on (If-Match: W/\"N\" or based_on)")
	}
	cur, err := s.store.PlanVersion(ctx, planID, 0)
	if err != nil {
		return Version{}, err
	}
	if cur.Number != basedOn {
		return Version{}, Stale(basedOn, cur.Number)
	}
	if cur.Plan.Status == Closed {
		return Version{}, apperr.E(apperr.Conflict, "careplan: the plan is closed; start a new plan")
	}
	pl, err := clone(cur.Plan)
	if err != nil {
		return Version{}, err
	}
	next := cur.Number + 1
	before := pl.Status
	if err := f(&pl, next); err != nil {
		return Version{}, err
	}
	if kind.contentChange() {
		pl.ContentVersion = next
		if before == Agreed && pl.Status == Agreed {
			pl.Status = Draft // the agreement was to the old content
		}
	}
	if err := pl.Validate(); err != nil {
		return Version{}, err
	}
	v := Version{PlanID: planID, Number: next, PersonID: cur.PersonID, Plan: pl,
		Change: Change{Kind: kind, Reason: strings.TrimSpace(reason), By: a.stored(), At: s.now().UTC()}}
	return s.store.AppendPlanVersion(ctx, v)
}

// Update replaces the content of a plan (everything but its status,
// agreements and reviews) with content's.
func (s *Service) Update(ctx context.Context, a Actor, planID int64, basedOn int, content Plan, reason string) (Version, error) {
	return s.apply(ctx, a, planID, basedOn, Updated, reason, func(pl *Plan, _ int) error {
		content.Status, content.Agreements, content.Reviews = pl.Status, pl.Agreements, pl.Reviews
		content.ContentVersion, content.NextID = pl.ContentVersion, pl.NextID
		if content.Coordinator.ProfessionalID != pl.Coordinator.ProfessionalID {
			if err := s.fillCoordinator(ctx, &content); err != nil {
				return err
			}
		} else {
			contact := content.Coordinator.Contact
			content.Coordinator = pl.Coordinator
			if contact != "" {
				content.Coordinator.Contact = contact
			}
		}
		normaliseIDs(&content)
		*pl = content
		return nil
	})
}

// PutGoal adds a goal (no id) or replaces one, and returns the new
// version and the goal's id.
func (s *Service) PutGoal(ctx context.Context, a Actor, planID int64, basedOn int, g Goal, reason string) (Version, string, error) {
	var id string
	v, err := s.apply(ctx, a, planID, basedOn, GoalPut, reason, func(pl *Plan, _ int) error {
		var err error
		id, err = pl.PutGoal(g)
		return err
	})
	return v, id, err
}

// PutAction adds an action (no id) or replaces one.
func (s *Service) PutAction(ctx context.Context, a Actor, planID int64, basedOn int, ac Action, reason string) (Version, string, error) {
	var id string
	v, err := s.apply(ctx, a, planID, basedOn, ActionPut, reason, func(pl *Plan, _ int) error {
		var err error
		id, err = pl.PutAction(ac)
		return err
	})
	return v, id, err
}

// PutNeed adds a need (no id) or replaces one.
func (s *Service) PutNeed(ctx context.Context, a Actor, planID int64, basedOn int, n Need, reason string) (Version, string, error) {
	var id string
	v, err := s.apply(ctx, a, planID, basedOn, NeedPut, reason, func(pl *Plan, _ int) error {
		var err error
		id, err = pl.PutNeed(n)
		return err
	})
	return v, id, err
}

// SetAboutMe replaces the About Me section: the person's own words.
func (s *Service) SetAboutMe(ctx context.Context, a Actor, planID int64, basedOn int, am AboutMe, reason string) (Version, error) {
	if reason == "" {
		reason = "About Me updated"
	}
	return s.apply(ctx, a, planID, basedOn, AboutMePut, reason, func(pl *Plan, _ int) error {
		if am.Date == "" {
			am.Date = DateOf(s.now())
		}
		pl.AboutMe = am
		return nil
	})
}

// PutActionPlan adds or replaces the action plan for its condition. An
// action plan without zones gets the default zones for the condition,
// worked out from the person's thresholds.
func (s *Service) PutActionPlan(ctx context.Context, a Actor, planID int64, basedOn int, ap ActionPlan, reason string) (Version, error) {
	return s.apply(ctx, a, planID, basedOn, ActionPlans, reason, func(pl *Plan, _ int) error {
		if len(ap.Zones) == 0 {
			def := DefaultActionPlan(ap.Condition, ap.Thresholds)
			ap.Zones = def.Zones
		}
		for i := range pl.ActionPlans {
			if pl.ActionPlans[i].Condition == ap.Condition {
				pl.ActionPlans[i] = ap
				return nil
			}
		}
		pl.ActionPlans = append(pl.ActionPlans, ap)
		return nil
	})
}

// Agree records the actor's agreement, for their party, to the plan's
// current content. A draft becomes agreed once the person (or their
// named representative) and a professional have both agreed it.
func (s *Service) Agree(ctx context.Context, a Actor, planID int64, basedOn int, note string) (Version, error) {
	reason := "agreed by the " + string(a.Party)
	return s.apply(ctx, a, planID, basedOn, AgreedTo, reason, func(pl *Plan, _ int) error {
		switch a.Party {
		case PartyPerson:
		case PartyProfessional:
			if a.ProfessionalID == 0 {
				return apperr.E(apperr.Forbidden, "careplan: only a professional in the directory may agree a plan for the professionals")
			}
		case PartyRepresentative:
			if pl.Representative == nil || pl.Representative.UserID == 0 || pl.Representative.UserID != a.UserID {
				return apperr.E(apperr.Forbidden, "careplan: only the representative the plan names may agree it on the person's behalf")
			}
		default:
			return apperr.E(apperr.Forbidden, "careplan: you may not agree this plan")
		}
		if utf8.RuneCountInString(note) > maxShort {
			return apperr.Ef(apperr.Invalid, "careplan: the agreement note is longer than %d characters", maxShort)
		}
		for _, g := range pl.Agreements {
			if g.Version == pl.ContentVersion && g.Party == a.Party && g.UserID == a.UserID {
				return apperr.E(apperr.Conflict, "careplan: you have already agreed this version of the plan")
			}
		}
		pl.Agreements = append(pl.Agreements, Agreement{Party: a.Party, UserID: a.UserID, Name: a.Name, ProfessionalID: a.ProfessionalID,
			Version: pl.ContentVersion, At: s.now().UTC(), Note: note})
		if pl.Status == Draft && pl.FullyAgreed() {
			pl.Status = Agreed
		}
		return nil
	})
}

// SetStatus moves a plan along its lifecycle.
func (s *Service) SetStatus(ctx context.Context, a Actor, planID int64, basedOn int, to Status, reason string) (Version, error) {
	return s.apply(ctx, a, planID, basedOn, StatusSet, reason, func(pl *Plan, _ int) error {
		if !validStatus(to) {
			return apperr.Ef(apperr.Invalid, "careplan: status %q is not one of %v", to, Statuses)
		}
		if !CanMove(pl.Status, to) {
			return apperr.Ef(apperr.Conflict, "careplan: a plan that is %s cannot become %s (it may become %v)", pl.Status, to, transitions[pl.Status])
		}
		if (to == Agreed || (to == Active && pl.Status == Agreed)) && !pl.FullyAgreed() {
			person, prof := pl.AgreedBy()
			return apperr.Ef(apperr.Conflict, "careplan: the plan is not agreed (the person or their representative: %v; a professional: %v)", person, prof)
		}
		pl.Status = to
		return nil
	})
}

// RecordReview records a review of an active plan (or one under review):
// progress on every open goal, what changed and the next review date.
// The plan becomes active again. A review that changes a goal's words
// changes the content, which then needs agreeing again.
func (s *Service) RecordReview(ctx context.Context, a Actor, planID int64, basedOn int, r Review) (Version, error) {
	reason := "scheduled review"
	if !r.Scheduled {
		reason = "unscheduled review"
	}
	if r.Trigger != "" {
		reason += ": " + trim(r.Trigger, 200)
	}
	changed := false
	v, err := s.apply(ctx, a, planID, basedOn, Reviewed, reason, func(pl *Plan, next int) error {
		if pl.Status != Active && pl.Status != UnderReview {
			return apperr.Ef(apperr.Conflict, "careplan: a plan that is %s is not reviewed; agree it and make it active first", pl.Status)
		}
		if r.Date == "" {
			r.Date = DateOf(s.now())
		}
		r.By, r.At, r.Version = a.stored(), s.now().UTC(), next
		for _, g := range r.Goals {
			changed = changed || g.Progress == ProgressChanged
		}
		if err := pl.applyReview(r); err != nil {
			return err
		}
		if changed {
			pl.ContentVersion = next
		}
		return nil
	})
	return v, err
}
