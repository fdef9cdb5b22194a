package linkage

import (
	"log/slog"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/registry"
)

// PersonRecord is a registry person as linkage compares them. An NHS
// number the registry holds as invalid is left out, so it can never link
// anyone; only a verified one is marked verified.
func PersonRecord(p registry.Person) Record {
	r := Record{GivenName: p.GivenName, FamilyName: p.FamilyName, Sex: p.Sex, Postcode: p.Postcode}
	if !p.BirthDate.IsZero() {
		r.BirthDate = Date{p.BirthDate.Year(), int(p.BirthDate.Month()), p.BirthDate.Day()}
	}
	switch p.NHSNumberStatus {
	case registry.NHSVerified:
		r.NHSNumber, r.NHSVerified = p.NHSNumber, true
	case registry.NHSUnverified:
		r.NHSNumber = p.NHSNumber
	}
	return r
}

// PutPerson adds a registry person to the index or replaces what it held
// for them.
func (ix *Index) PutPerson(p registry.Person) error { return ix.Add(p.ID, PersonRecord(p)) }

// MatchPerson is the registry's best candidate for an incoming person
// (never the person themself, when p.ID is set); false when nobody shares
// a blocking key with them.
func (ix *Index) MatchPerson(p registry.Person) (Candidate, bool) {
	for _, c := range ix.Match(PersonRecord(p), 2) {
		if c.PersonID != p.ID {
			return c, true
		}
	}
	return Candidate{}, false
}

// ReviewStatus is where a pair stands in the review queue.
type ReviewStatus string

const (
	ReviewPending   ReviewStatus = "pending"
	ReviewConfirmed ReviewStatus = "confirmed" // one person: merged
	ReviewRejected  ReviewStatus = "rejected"  // two people: never asked again
)

// ReviewOrigin says what put a pair up for review.
type ReviewOrigin string

const (
	OriginIncoming ReviewOrigin = "incoming" // a record a source sent, against the registry
	OriginBatch    ReviewOrigin = "batch"    // a batch deduplication of the registry
)

// PairReview is a pair of registry people the evidence could not decide. The
// pair is unordered: Low is always the smaller person id.
type PairReview struct {
	ID          int64
	Low, High   int64
	Weight      float64
	Probability float64
	Outcome     Outcome
	Caution     string
	Evidence    []FieldEvidence
	Origin      ReviewOrigin
	Source      string // for an incoming record, the system that sent it
	Status      ReviewStatus
	DecidedBy   int64 // user id; 0 while pending
	DecidedAt   time.Time
	Reason      string
	CreatedAt   time.Time
}

// LogValue logs a review by its id and people only.
func (r PairReview) LogValue() slog.Value {
	return slog.GroupValue(slog.Int64("review", r.ID), slog.Int64("low", r.Low), slog.Int64("high", r.High))
}

// ReviewCounts is how many pairs stand in each status.
type ReviewCounts struct {
	Pending, Confirmed, Rejected int
}

// NewReview puts the pair of people a and b, scored as c, up for review.
func NewReview(a, b int64, c Candidate, origin ReviewOrigin, source string, now time.Time) (PairReview, error) {
	if a <= 0 || b <= 0 || a == b {
		return PairReview{}, apperr.E(apperr.Invalid, "linkage: a review needs two different people")
	}
	if origin != OriginIncoming && origin != OriginBatch {
		return PairReview{}, apperr.Ef(apperr.Invalid, "linkage: unknown review origin %q", origin)
	}
	return PairReview{Low: min(a, b), High: max(a, b), Weight: c.Weight, Probability: c.Probability, Outcome: c.Outcome,
		Caution: c.Caution, Evidence: c.Evidence, Origin: origin, Source: source, Status: ReviewPending, CreatedAt: now}, nil
}

// ParseOutcome reads an outcome as String writes it.
func ParseOutcome(s string) (Outcome, error) {
	for _, o := range []Outcome{NoLink, Review, Link} {
		if o.String() == s {
			return o, nil
		}
	}
	return NoLink, apperr.Ef(apperr.Invalid, "linkage: unknown outcome %q", s)
}

// PersonCandidates is the registry's best max candidates for an incoming
// person (never the person themself, when p.ID is set), most likely
// first.
func (ix *Index) PersonCandidates(p registry.Person, max int) []Candidate {
	cs := ix.Match(PersonRecord(p), max+1)
	out := cs[:0]
	for _, c := range cs {
		if c.PersonID != p.ID {
			out = append(out, c)
		}
	}
	return out[:min(len(out), max)]
}
