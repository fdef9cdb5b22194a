package access

import (
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
)

// Purpose is why data is used.
type Purpose string

const (
	DirectCare Purpose = "direct-care" // caring for the person; the purpose every relationship serves
	Research   Purpose = "research"
	Planning   Purpose = "planning" // population planning and commissioning
)

func (p Purpose) valid() bool { return p == DirectCare || p == Research || p == Planning }

// Decision of a consent record.
type ConsentDecision string

const (
	Permit ConsentDecision = "permit"
	Deny   ConsentDecision = "deny"
)

// Consent is a person's decision about sharing their record: with one
// organisation or every one (OrgID ""), for a purpose, for a period.
// Records are never deleted; a withdrawal is recorded on the record.
type Consent struct {
	PersonID   int64
	ID         int64
	Decision   ConsentDecision
	Purpose    Purpose
	OrgID      string    // "" for every organisation in the care economy
	Start      time.Time // zero: from when it was recorded
	End        time.Time // zero: until withdrawn
	RecordedBy int64     // the user who recorded it
	RecordedAt time.Time
	Note       string // how consent was given, e.g. "verbal, at review"; never clinical detail

	WithdrawnAt     time.Time
	WithdrawnBy     int64
	WithdrawnReason string
}

// Withdrawn reports whether the consent has been withdrawn.
func (c Consent) Withdrawn() bool { return !c.WithdrawnAt.IsZero() }

// Valid checks a consent before it is stored.
func (c Consent) Valid() error {
	switch {
	case c.PersonID <= 0:
		return apperr.E(apperr.Invalid, "consent needs a person")
	case c.Decision != Permit && c.Decision != Deny:
		return apperr.E(apperr.Invalid, `consent decision must be "permit" or "deny"`)
	case !c.Purpose.valid():
		return apperr.Ef(apperr.Invalid, "consent purpose must be %s, %s or %s", DirectCare, Research, Planning)
	case !c.End.IsZero() && !c.Start.IsZero() && c.End.Before(c.Start):
		return apperr.E(apperr.Invalid, "consent ends before it starts")
	case len(c.Note) > 500:
		return apperr.E(apperr.Invalid, "consent note must be at most 500 characters")
	case len(c.OrgID) > 20 || strings.ContainsAny(c.OrgID, " \t\n"):
		return apperr.E(apperr.Invalid, "consent organisation must be an ODS code")
	}
	return nil
}

// ConsentModel is how a care economy treats a person with no consent
// record for a purpose.
type ConsentModel string

const (
	// Implied: for direct care, sharing among the organisations caring for
	// the person is permitted unless they object (a deny record) or
	// withdraw a consent they gave. This is how NHS shared care records
	// work. Other purposes always need an explicit permit.
	Implied ConsentModel = "implied"
	// Explicit: every purpose needs a current permit record covering the
	// organisation.
	Explicit ConsentModel = "explicit"
)

// ParseConsentModel checks a model name.
func ParseConsentModel(s string) (ConsentModel, error) {
	switch ConsentModel(s) {
	case Implied, Explicit:
		return ConsentModel(s), nil
	}
	return "", apperr.Ef(apperr.Invalid, "consent model %q: want implied or explicit", s)
}

// consentFor decides whether the person's consents cover sharing with org
// for purpose at now. The most specific record wins (one naming the
// organisation over one for every organisation), then the latest recorded.
// A withdrawn permit denies: the person said stop. It returns why not.
func consentFor(cs []Consent, org string, purpose Purpose, model ConsentModel, now time.Time) (bool, string) {
	var best *Consent
	for i := range cs {
		c := &cs[i]
		if c.Purpose != purpose || (c.OrgID != "" && c.OrgID != org) {
			continue
		}
		if (!c.Start.IsZero() && now.Before(c.Start)) || (!c.End.IsZero() && !now.Before(c.End)) {
			continue
		}
		if c.Decision == Deny && c.Withdrawn() {
			continue // an objection the person has lifted
		}
		if best == nil || (best.OrgID == "" && c.OrgID != "") ||
			(best.OrgID == "") == (c.OrgID == "") && c.RecordedAt.After(best.RecordedAt) {
			best = c
		}
	}
	switch {
	case best == nil && model == Implied && purpose == DirectCare:
		return true, ""
	case best == nil:
		return false, "the person has not consented to sharing for " + string(purpose)
	case best.Decision == Deny:
		return false, "the person has asked that their record is not shared with your organisation"
	case best.Withdrawn():
		return false, "the person has withdrawn their consent to sharing"
	}
	return true, ""
}
