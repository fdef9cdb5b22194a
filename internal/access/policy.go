package access

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/audit"
	"github.com/wholecare/wholecare/internal/auth"
)

// Basis is why access was allowed.
type Basis string

const (
	Self        Basis = "self"             // the person's own record
	CarerOf     Basis = "carer"            // an authorised carer
	CareTeam    Basis = "care-team"        // a member of one of the person's care teams
	Practice    Basis = "practice"         // staff of the person's registered practice
	Coordinator Basis = "plan-coordinator" // the coordinator of one of the person's care plans
	BreakGlassB Basis = "break-glass"      // emergency access with a reason, under review
	SystemScope Basis = "system-scope"     // a system client's token scope
	NoBasis     Basis = "none"
)

// Facts are what the store knows of a person that decides access.
type Facts struct {
	PracticeID string
	TeamIDs    []int64 // care teams the person is with now
	// Coordinators are the professionals coordinating the person's care
	// plans that are not closed.
	Coordinators []int64
	Consents     []Consent
}

// Grant is a break-glass: a user's time-limited access to one person,
// with the reason they typed, awaiting a privacy officer's review.
type Grant struct {
	ID         int64
	UserID     int64
	PersonID   int64
	Reason     string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	ReviewedAt time.Time
	ReviewedBy int64
	ReviewNote string
}

// Store is what the policy needs of the database.
type Store interface {
	// PersonFacts returns the person's practice, current care teams and
	// consents; NotFound when there is no such person.
	PersonFacts(ctx context.Context, personID int64, now time.Time) (Facts, error)
	// ProfessionalTeams returns the care teams a professional is a current member of.
	ProfessionalTeams(ctx context.Context, professionalID int64, now time.Time) ([]int64, error)
	// ActiveGrant returns the user's unexpired break-glass grant for the person, if any.
	ActiveGrant(ctx context.Context, userID, personID int64, now time.Time) (Grant, bool, error)
}

// Recorder writes audit events durably before returning.
type Recorder interface {
	Record(ctx context.Context, events ...audit.Event) error
}

// Config holds the policy's knobs.
type Config struct {
	Model         ConsentModel  // default Implied
	BreakGlassTTL time.Duration // default 4 hours
}

// Policy decides and records access to person data.
type Policy struct {
	store Store
	rec   Recorder
	cfg   Config
	now   func() time.Time
	log   *slog.Logger
	teams *teamCache
}

// New returns a policy.
func New(store Store, rec Recorder, cfg Config, log *slog.Logger, now func() time.Time) *Policy {
	if cfg.Model == "" {
		cfg.Model = Implied
	}
	if cfg.BreakGlassTTL <= 0 {
		cfg.BreakGlassTTL = 4 * time.Hour
	}
	return &Policy{store: store, rec: rec, cfg: cfg, now: now, log: log, teams: newTeamCache(time.Minute, 10_000)}
}

// Decision is the outcome of a check.
type Decision struct {
	Allowed bool
	Basis   Basis
	Why     string // for a denial: what the caller can do about it
	Grant   int64  // the break-glass grant used, if any
	// GrantReason is the reason typed when glass was broken: every access
	// under it is audited with it.
	GrantReason string
	// ExistenceOnly is set by CheckExistence when the caller has a
	// relationship with the person but may not see the content (Why says
	// why not): they may know only that it exists and whom to contact.
	ExistenceOnly bool
}

// Request is one question: may the caller do Perm on a person's data of
// Type (a FHIR resource type such as Patient or Observation, used to check
// token scopes) for Purpose?
type Request struct {
	Perm     Permission
	PersonID int64
	Type     string
	Purpose  Purpose // default DirectCare
}

// Decide answers a request for principal p without recording anything.
// It returns an error only when the answer cannot be found (the person
// does not exist, the store fails); a denial is a Decision.
func (pol *Policy) Decide(ctx context.Context, p *auth.Principal, r Request) (Decision, error) {
	if p == nil {
		return Decision{Basis: NoBasis, Why: "sign in first"}, nil
	}
	if r.Purpose == "" {
		r.Purpose = DirectCare
	}
	memo := memoFrom(ctx)
	if memo == nil {
		return pol.decide(ctx, p, r)
	}
	k := memoKey{user: p.UserID, token: p.TokenID, req: r}
	if d, ok := memo.get(k); ok {
		return d, nil
	}
	d, err := pol.decide(ctx, p, r)
	if err == nil {
		memo.put(k, d)
	}
	return d, err
}

func (pol *Policy) decide(ctx context.Context, p *auth.Principal, r Request) (Decision, error) {
	if d, done := gate(p, r); done {
		return d, nil
	}
	now := pol.now()
	facts, err := pol.store.PersonFacts(ctx, r.PersonID, now)
	if err != nil {
		return Decision{}, err
	}
	return pol.rule(ctx, p, r, facts, now, func() (Grant, bool, error) {
		return pol.store.ActiveGrant(ctx, p.UserID, r.PersonID, now)
	})
}

// gate is the part of a decision that needs nothing of the person: the
// role's permission and a token's scopes. done reports that it decided
// (a denial), before the store is asked whether the person exists.
func gate(p *auth.Principal, r Request) (d Decision, done bool) {
	if !Has(p.Role, r.Perm) {
		return Decision{Basis: NoBasis, Why: "your role (" + string(p.Role) + ") may not do this"}, true
	}
	write := writes[r.Perm]
	if p.Via == auth.ViaToken && !p.Scopes.Allows(r.Type, write) {
		return Decision{Basis: NoBasis, Why: "the token's scopes (" + p.Scopes.String() + ") do not cover " + r.Type}, true
	}
	return Decision{}, false
}

// rule decides a request that passed gate from the facts of a person who
// exists. It is the one place the policy's rules live: decide feeds it one
// person read from the store, decideMany many people read together, so
// both answer alike. grant looks up the caller's active break-glass for
// the person; it is called only when nothing else allows the access.
func (pol *Policy) rule(ctx context.Context, p *auth.Principal, r Request, facts Facts, now time.Time, grant func() (Grant, bool, error)) (Decision, error) {
	switch p.Role {
	case auth.SystemClient:
		// A system client's scopes are its authority (checked by gate); it
		// must still name a person that exists, which facts prove.
		return Decision{Allowed: true, Basis: SystemScope}, nil
	case auth.ServiceUser:
		if p.PersonID == r.PersonID {
			return Decision{Allowed: true, Basis: Self}, nil
		}
		return Decision{Basis: NoBasis, Why: "you may see only your own record"}, nil
	case auth.Carer:
		if p.PersonID == r.PersonID {
			return Decision{Allowed: true, Basis: CarerOf}, nil
		}
		return Decision{Basis: NoBasis, Why: "you may see only the record of the person you care for"}, nil
	}
	basis, err := pol.relationship(ctx, p, facts, now)
	if err != nil {
		return Decision{}, err
	}
	why := "you have no care relationship with this person (not their practice or care team)"
	if basis != NoBasis {
		ok, reason := consentFor(facts.Consents, p.OrgID, r.Purpose, pol.cfg.Model, now)
		if ok {
			return Decision{Allowed: true, Basis: basis}, nil
		}
		why = reason
	}
	if Has(p.Role, BreakGlass) {
		g, ok, err := grant()
		if err != nil {
			return Decision{}, err
		}
		if ok {
			return Decision{Allowed: true, Basis: BreakGlassB, Grant: g.ID, GrantReason: g.Reason}, nil
		}
		why += "; in an emergency you may break glass, giving a reason"
	}
	return Decision{Basis: NoBasis, Why: why}, nil
}

// BatchStore is what deciding many people at once needs of the database:
// the facts of many people, and the caller's active break-glass grants for
// them, each in a few queries rather than one or two per person. It is
// optional (Visible type-asserts the Store): the per-person Store methods
// stay the reference, every small test fake implements only those, and a
// store without the batch methods still answers, one person at a time.
type BatchStore interface {
	// PeopleFacts returns, for each id that names a person, what
	// PersonFacts returns; a person who does not exist is absent.
	PeopleFacts(ctx context.Context, personIDs []int64, now time.Time) (map[int64]Facts, error)
	// ActiveGrants returns, for each person the user has an unexpired
	// break-glass grant for, what ActiveGrant returns.
	ActiveGrants(ctx context.Context, userID int64, personIDs []int64, now time.Time) (map[int64]Grant, error)
}

// decideMany answers the request r (for every person in ids; r.PersonID
// is ignored) as Decide would, reading the people's facts together. A
// person who does not exist is absent from the answer. Decisions are
// taken from, and put in, the request's memo, so a later Decide for one of
// them does not go back to the store.
func (pol *Policy) decideMany(ctx context.Context, bs BatchStore, p *auth.Principal, r Request, ids []int64) (map[int64]Decision, error) {
	if r.Purpose == "" {
		r.Purpose = DirectCare
	}
	memo := memoFrom(ctx)
	key := func(id int64) memoKey {
		rr := r
		rr.PersonID = id
		return memoKey{user: p.UserID, token: p.TokenID, req: rr}
	}
	out := make(map[int64]Decision, len(ids))
	var ask []int64 // undecided, each once, in order
	queued := map[int64]bool{}
	for _, id := range ids {
		if _, ok := out[id]; ok {
			continue
		}
		if memo != nil {
			if d, ok := memo.get(key(id)); ok {
				out[id] = d
				continue
			}
		}
		rr := r
		rr.PersonID = id
		if d, done := gate(p, rr); done {
			out[id] = d
			if memo != nil {
				memo.put(key(id), d)
			}
			continue
		}
		if !queued[id] {
			queued[id] = true
			ask = append(ask, id)
		}
	}
	if len(ask) == 0 {
		return out, nil
	}
	now := pol.now()
	facts, err := bs.PeopleFacts(ctx, ask, now)
	if err != nil {
		return nil, err
	}
	var grants map[int64]Grant
	if Has(p.Role, BreakGlass) && p.Role != auth.SystemClient && p.Role != auth.ServiceUser && p.Role != auth.Carer {
		exist := make([]int64, 0, len(facts))
		for _, id := range ask {
			if _, ok := facts[id]; ok {
				exist = append(exist, id)
			}
		}
		if len(exist) > 0 {
			if grants, err = bs.ActiveGrants(ctx, p.UserID, exist, now); err != nil {
				return nil, err
			}
		}
	}
	for _, id := range ask {
		f, ok := facts[id]
		if !ok {
			continue // no such person: like NotFound from Decide, not remembered
		}
		rr := r
		rr.PersonID = id
		d, err := pol.rule(ctx, p, rr, f, now, func() (Grant, bool, error) {
			g, ok := grants[id]
			return g, ok, nil
		})
		if err != nil {
			return nil, err
		}
		out[id] = d
		if memo != nil {
			memo.put(key(id), d)
		}
	}
	return out, nil
}

// relationship is a professional's legitimate relationship with a person
// whose facts are given: their registered practice, or one of their
// current care teams. Consent is not considered.
func (pol *Policy) relationship(ctx context.Context, p *auth.Principal, facts Facts, now time.Time) (Basis, error) {
	if p.OrgID != "" && p.OrgID == facts.PracticeID {
		return Practice, nil
	}
	if p.ProfessionalID != 0 && slices.Contains(facts.Coordinators, p.ProfessionalID) {
		return Coordinator, nil
	}
	if p.ProfessionalID != 0 && len(facts.TeamIDs) > 0 {
		teams, err := pol.teams.get(ctx, pol.store, p.ProfessionalID, now)
		if err != nil {
			return NoBasis, err
		}
		for _, t := range teams {
			if slices.Contains(facts.TeamIDs, t) {
				return CareTeam, nil
			}
		}
	}
	return NoBasis, nil
}

// CheckExistence is the door to the fact that something of a person's
// exists (that they have a care plan, who coordinates it and how to reach
// them) rather than to its content. Everyone with a legitimate
// relationship may know it even when the person's consent keeps the
// content from them: knowing whom to call is part of caring safely. It
// answers the full decision when the caller may see the content
// (ExistenceOnly false); when only the relationship stands it answers
// Allowed with ExistenceOnly true; otherwise it refuses like Check. The
// decision is audited either way before it returns.
func (pol *Policy) CheckExistence(ctx context.Context, action string, r Request) (Decision, error) {
	p, _ := auth.FromContext(ctx)
	if p == nil {
		return Decision{}, apperr.E(apperr.Unauthenticated, "sign in first")
	}
	d, err := pol.Decide(ctx, p, r)
	if err != nil {
		return Decision{}, err
	}
	now := pol.now()
	detail := ""
	if !d.Allowed && Has(p.Role, r.Perm) && p.Role != auth.ServiceUser && p.Role != auth.Carer && p.Role != auth.SystemClient {
		facts, err := pol.store.PersonFacts(ctx, r.PersonID, now)
		if err != nil {
			return Decision{}, err
		}
		basis, err := pol.relationship(ctx, p, facts, now)
		if err != nil {
			return Decision{}, err
		}
		if basis != NoBasis {
			d = Decision{Allowed: true, Basis: basis, ExistenceOnly: true, Why: d.Why}
			detail = "existence only: " + d.Why
		}
	}
	ev := Event(p, action, r.Type, r.PersonID, r.Purpose, d, now)
	ev.Detail = detail
	if !d.Allowed {
		ev.Reason = d.Why
	}
	if err := pol.rec.Record(ctx, ev); err != nil {
		return Decision{}, apperr.Wrap(apperr.Unavailable, err, "the audit log is not available, so no record can be shown")
	}
	if !d.Allowed {
		return d, apperr.E(apperr.Forbidden, d.Why)
	}
	return d, nil
}

// Event builds the audit event for principal p doing action on a person.
func Event(p *auth.Principal, action, resourceType string, personID int64, purpose Purpose, d Decision, at time.Time) audit.Event {
	e := audit.Event{At: at, PersonID: personID, Action: action, ResourceType: resourceType,
		Purpose: string(purpose), Basis: string(d.Basis), Outcome: "allowed"}
	if e.Purpose == "" {
		e.Purpose = string(DirectCare)
	}
	if d.Basis == BreakGlassB {
		e.Purpose = "break-glass"
		e.Reason = d.GrantReason
	}
	if !d.Allowed {
		e.Outcome = "denied"
	}
	if p != nil {
		e.UserID, e.UserName, e.Role, e.OrgID = p.UserID, p.Name, string(p.Role), p.OrgID
	}
	return e
}

// AdminEvent builds the audit event for principal p doing an
// administrative action (reading the audit log, reviewing a break-glass)
// that is allowed by permission rather than by a relationship; personID is
// the person it concerns, 0 for none.
func AdminEvent(p *auth.Principal, action, resourceType string, personID int64, at time.Time) audit.Event {
	return audit.Event{At: at, UserID: p.UserID, UserName: p.Name, Role: string(p.Role), OrgID: p.OrgID, PersonID: personID,
		Action: action, ResourceType: resourceType, Purpose: "administration", Basis: string(NoBasis), Outcome: "allowed"}
}

// Check is the door every person-data route goes through: it decides,
// records the decision in the audit log (allowed or denied) and returns
// an error for a denial — Unauthenticated without a principal, Forbidden
// with what to do otherwise. The audit entry is durable before it returns,
// so no data leaves unrecorded.
func (pol *Policy) Check(ctx context.Context, action string, r Request) (Decision, error) {
	p, _ := auth.FromContext(ctx)
	if p == nil {
		return Decision{}, apperr.E(apperr.Unauthenticated, "sign in first")
	}
	d, err := pol.Decide(ctx, p, r)
	if err != nil {
		return Decision{}, err
	}
	ev := Event(p, action, r.Type, r.PersonID, r.Purpose, d, pol.now())
	if !d.Allowed {
		ev.Reason = d.Why
	}
	if err := pol.rec.Record(ctx, ev); err != nil {
		return Decision{}, apperr.Wrap(apperr.Unavailable, err, "the audit log is not available, so no record can be shown")
	}
	if !d.Allowed {
		return d, apperr.E(apperr.Forbidden, d.Why)
	}
	return d, nil
}

// Record writes events that are not decisions about a person (sign-ins,
// reads of the audit log) to the audit log.
func (pol *Policy) Record(ctx context.Context, evs ...audit.Event) error {
	if err := pol.rec.Record(ctx, evs...); err != nil {
		return apperr.Wrap(apperr.Unavailable, err, "the audit log is not available")
	}
	return nil
}

// Allow checks a permission that is not about one person (reading the
// audit log, managing users, aggregates).
func Allow(ctx context.Context, perm Permission) (*auth.Principal, error) {
	p, _ := auth.FromContext(ctx)
	if p == nil {
		return nil, apperr.E(apperr.Unauthenticated, "sign in first")
	}
	if personal[perm] {
		return nil, apperr.Ef(apperr.Internal, "access: %s is about a person: use Check", perm)
	}
	if !Has(p.Role, perm) {
		return nil, apperr.Ef(apperr.Forbidden, "your role (%s) may not do this", p.Role)
	}
	return p, nil
}

// BreakGlassStore is what breaking glass needs of the database.
type BreakGlassStore interface {
	CreateGrant(ctx context.Context, g Grant) (Grant, error)
}

// MinReasonLength is the shortest break-glass reason accepted: enough to
// say what the emergency is.
const MinReasonLength = 15

// BreakGlass opens time-limited emergency access to a person for the
// caller, with a typed reason, recorded and flagged for review.
func (pol *Policy) BreakGlass(ctx context.Context, store BreakGlassStore, personID int64, reason string) (Grant, error) {
	p, _ := auth.FromContext(ctx)
	if p == nil {
		return Grant{}, apperr.E(apperr.Unauthenticated, "sign in first")
	}
	if !Has(p.Role, BreakGlass) || p.Via == auth.ViaToken {
		return Grant{}, apperr.Ef(apperr.Forbidden, "your role (%s) may not break glass", p.Role)
	}
	reason = strings.TrimSpace(reason)
	if len(reason) < MinReasonLength || len(reason) > 1000 {
		return Grant{}, apperr.Ef(apperr.Invalid, "say why you need emergency access in %d to 1000 characters", MinReasonLength)
	}
	now := pol.now()
	if _, err := pol.store.PersonFacts(ctx, personID, now); err != nil {
		return Grant{}, err
	}
	g, err := store.CreateGrant(ctx, Grant{UserID: p.UserID, PersonID: personID, Reason: reason, CreatedAt: now,
		ExpiresAt: now.Add(pol.cfg.BreakGlassTTL)})
	if err != nil {
		return Grant{}, err
	}
	ev := Event(p, "break-glass", "Patient", personID, DirectCare, Decision{Allowed: true, Basis: BreakGlassB, Grant: g.ID, GrantReason: reason}, now)
	if err := pol.rec.Record(ctx, ev); err != nil {
		return Grant{}, apperr.Wrap(apperr.Unavailable, err, "the audit log is not available")
	}
	return g, nil
}
