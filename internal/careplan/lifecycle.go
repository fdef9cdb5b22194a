package careplan

import (
	"errors"
	"fmt"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
)

// transitions are the status changes a caller may ask for. Agreement moves
// a draft to agreed by itself once both parties have agreed; recording a
// review moves a plan back to active; changing the content of an agreed
// plan returns it to draft.
var transitions = map[Status][]Status{
	Draft:       {Agreed, Closed},
	Agreed:      {Active, Draft, Closed},
	Active:      {UnderReview, Closed},
	UnderReview: {Active, Draft, Closed},
	Closed:      nil,
}

// CanMove reports whether a plan may go from one status to another.
func CanMove(from, to Status) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Party is who agrees a plan.
type Party string

const (
	PartyPerson         Party = "person"
	PartyRepresentative Party = "representative" // the person's named representative
	PartyProfessional   Party = "professional"   // the responsible professional
)

// Actor is who is making a change, as the edge has authenticated them.
type Actor struct {
	UserID         int64  `json:"user_id"`
	Name           string `json:"name"`
	Role           string `json:"role"`
	ProfessionalID int64  `json:"professional_id,omitempty"`
	// Party is the side the actor agrees for, decided by the edge from
	// their role: the person, a representative or a professional.
	Party Party `json:"-"`
}

// stored is the actor as a version records them: the party is the
// edge's answer for this request, not part of who they are.
func (a Actor) stored() Actor {
	a.Party = ""
	return a
}

// Agreement is one party's agreement to a content version.
type Agreement struct {
	Party          Party     `json:"party"`
	UserID         int64     `json:"user_id"`
	Name           string    `json:"name"`
	ProfessionalID int64     `json:"professional_id,omitempty"`
	Version        int       `json:"version"` // the content version agreed
	At             time.Time `json:"at"`
	Note           string    `json:"note,omitempty"` // e.g. "agreed at home visit, copy given"
}

// AgreedBy reports whether the current content has the agreement of the
// person (or their representative) and of a professional.
func (pl *Plan) AgreedBy() (person, professional bool) {
	for _, a := range pl.Agreements {
		if a.Version != pl.ContentVersion {
			continue
		}
		switch a.Party {
		case PartyPerson, PartyRepresentative:
			person = true
		case PartyProfessional:
			professional = true
		}
	}
	return person, professional
}

// FullyAgreed reports whether both parties agreed the current content.
func (pl *Plan) FullyAgreed() bool {
	p, q := pl.AgreedBy()
	return p && q
}

// ChangeKind is what a version changed.
type ChangeKind string

const (
	Created      ChangeKind = "created"
	Updated      ChangeKind = "updated" // the content, whole
	GoalPut      ChangeKind = "goal"
	ActionPut    ChangeKind = "action"
	NeedPut      ChangeKind = "need"
	AboutMePut   ChangeKind = "about-me"
	ActionPlans  ChangeKind = "action-plans"
	AgreedTo     ChangeKind = "agreement"
	StatusSet    ChangeKind = "status"
	Reviewed     ChangeKind = "review"
	FromProtocol ChangeKind = "protocol"
)

// contentChange reports whether a change of this kind changes the content
// that parties agree to.
func (k ChangeKind) contentChange() bool {
	return k != AgreedTo && k != StatusSet && k != Reviewed
}

// Change is who made a version, when and why.
type Change struct {
	Kind   ChangeKind `json:"kind"`
	Reason string     `json:"reason"`
	By     Actor      `json:"by"`
	At     time.Time  `json:"at"`
}

// Version is one immutable version of a plan.
type Version struct {
	PlanID   int64  `json:"plan_id"`
	Number   int    `json:"version"`
	PersonID int64  `json:"person_id"`
	Plan     Plan   `json:"plan"`
	Change   Change `json:"change"`
}

// VersionInfo is a version without its document, for a history list.
type VersionInfo struct {
	Number int    `json:"version"`
	Status Status `json:"status"`
	Change Change `json:"change"`
}

// ErrStale is the cause of the Conflict a write gets when the version it
// was based on is no longer the current one: nothing was written, and the
// caller should read the current version, merge and try again.
var ErrStale = errors.New("careplan: stale version")

// Stale is the error for a write based on version basedOn when current is
// the latest.
func Stale(basedOn, current int) error {
	return &apperr.Error{Kind: apperr.Conflict, Err: ErrStale,
		Msg: fmt.Sprintf("the plan has changed since version %d (it is now at version %d): read it again and reapply your change", basedOn, current)}
}

func notFound(kind, id string) error {
	return apperr.Ef(apperr.NotFound, "careplan: no %s %q in the plan", kind, id)
}
