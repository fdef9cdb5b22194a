package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/linkage"
	"github.com/wholecare/wholecare/internal/registry"
)

// ReviewStore is the record-linkage review queue.
type ReviewStore interface {
	PendingReviews(ctx context.Context, limit, offset int) ([]linkage.PairReview, linkage.ReviewCounts, error)
	LinkReview(ctx context.Context, id int64) (linkage.PairReview, error)
	DecideReview(ctx context.Context, id int64, status linkage.ReviewStatus, by int64, reason string, at time.Time) (linkage.PairReview, error)
}

// PeopleMerger merges the retired person into the survivor: what
// confirming a pair does.
type PeopleMerger interface {
	MergePeople(ctx context.Context, survivor, retired int64, reason registry.MergeReason, by string, now time.Time) (registry.Merge, error)
}

type reviewView struct {
	ID          int64           `json:"id"`
	People      [2]int64        `json:"people"`
	Weight      float64         `json:"weight"`
	Probability float64         `json:"probability"`
	Outcome     string          `json:"outcome"`
	Caution     string          `json:"caution,omitempty"`
	Origin      string          `json:"origin"`
	Source      string          `json:"source,omitempty"`
	Status      string          `json:"status"`
	DecidedBy   int64           `json:"decided_by,omitempty"`
	DecidedAt   *time.Time      `json:"decided_at,omitempty"`
	Reason      string          `json:"reason,omitempty"`
	CreatedAt   time.Time       `json:"created_at"`
	Evidence    []evidenceView  `json:"evidence,omitempty"`
	Persons     []reviewedEntry `json:"persons,omitempty"`
}

type evidenceView struct {
	Field  string  `json:"field"`
	Level  string  `json:"level"`
	Weight float64 `json:"weight"`
}

// reviewedEntry is one person of a pair as a reviewer sees them.
type reviewedEntry struct {
	personView
	Found bool `json:"found"` // false when the person is no longer in the registry
}

func reviewViewOf(r linkage.PairReview, withEvidence bool) reviewView {
	v := reviewView{ID: r.ID, People: [2]int64{r.Low, r.High}, Weight: r.Weight, Probability: r.Probability,
		Outcome: r.Outcome.String(), Caution: r.Caution, Origin: string(r.Origin), Source: r.Source, Status: string(r.Status),
		DecidedBy: r.DecidedBy, Reason: r.Reason, CreatedAt: r.CreatedAt}
	if !r.DecidedAt.IsZero() {
		at := r.DecidedAt
		v.DecidedAt = &at
	}
	if withEvidence {
		v.Evidence = make([]evidenceView, len(r.Evidence))
		for i, e := range r.Evidence {
			v.Evidence[i] = evidenceView{e.Field, e.Level, e.Weight}
		}
	}
	return v
}

// handleLinkReviews lists the pairs awaiting a decision, oldest first,
// with the counts in every status. It shows person ids and scores only:
// the demographics are behind handleLinkReview, audited per person.
func (s *Server) handleLinkReviews() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := access.Allow(r.Context(), access.ReviewLinkage)
		if err != nil {
			return err
		}
		limit, offset, err := paging(r, 50)
		if err != nil {
			return err
		}
		rs, counts, err := s.deps.Reviews.PendingReviews(r.Context(), limit, offset)
		if err != nil {
			return err
		}
		if err := s.deps.Policy.Record(r.Context(), access.AdminEvent(p, "link-review-list", "", 0, s.deps.Now())); err != nil {
			return err
		}
		out := make([]reviewView, len(rs))
		for i, rv := range rs {
			out[i] = reviewViewOf(rv, false)
		}
		return encode(w, http.StatusOK, map[string]any{"reviews": out, "pending": counts.Pending, "confirmed": counts.Confirmed,
			"rejected": counts.Rejected, "limit": limit, "offset": offset})
	}
}

// paging reads limit and offset from the query string.
func paging(r *http.Request, def int) (limit, offset int, err error) {
	limit, offset = def, 0
	q := r.URL.Query()
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 1000 {
			return 0, 0, apperr.E(apperr.Invalid, "limit must be a whole number from 1 to 1000")
		}
	}
	if v := q.Get("offset"); v != "" {
		if offset, err = strconv.Atoi(v); err != nil || offset < 0 {
			return 0, 0, apperr.E(apperr.Invalid, "offset must be a whole number, 0 or more")
		}
	}
	return limit, offset, nil
}

// handleLinkReview shows one pair: the evidence field by field and both
// people's demographics, audited as a read of each.
func (s *Server) handleLinkReview() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := access.Allow(r.Context(), access.ReviewLinkage)
		if err != nil {
			return err
		}
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		rv, err := s.deps.Reviews.LinkReview(r.Context(), id)
		if err != nil {
			return err
		}
		v := reviewViewOf(rv, true)
		for _, pid := range v.People {
			ev := access.AdminEvent(p, "link-review-read", "Patient", pid, s.deps.Now())
			ev.Detail = "link review " + strconv.FormatInt(rv.ID, 10)
			if err := s.deps.Policy.Record(r.Context(), ev); err != nil {
				return err
			}
			person, err := s.deps.Data.Person(r.Context(), pid)
			switch {
			case apperr.KindOf(err) == apperr.NotFound:
				v.Persons = append(v.Persons, reviewedEntry{personView: personView{ID: pid}})
			case err != nil:
				return err
			default:
				v.Persons = append(v.Persons, reviewedEntry{personView: personViewOf(person), Found: true})
			}
		}
		return encode(w, http.StatusOK, v)
	}
}

type decisionRequest struct {
	Reason string `json:"reason"`
}

func (q decisionRequest) Valid(context.Context) map[string]string {
	switch r := strings.TrimSpace(q.Reason); {
	case r == "":
		return map[string]string{"reason": "say why: what in the records decided it"}
	case len(r) > 1000:
		return map[string]string{"reason": "at most 1000 characters"}
	}
	return nil
}

// handleDecideLinkReview confirms (status confirmed: the two are one
// person, merged into the older record) or rejects a pair. A confirmation
// merges first and records the decision after, so a merge that fails
// leaves the pair pending; with no merger configured nothing is recorded.
func (s *Server) handleDecideLinkReview(status linkage.ReviewStatus) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := access.Allow(r.Context(), access.ReviewLinkage)
		if err != nil {
			return err
		}
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		var q decisionRequest
		if err := decode(r, &q); err != nil {
			return err
		}
		rv, err := s.decideLinkReview(r.Context(), p, id, status, strings.TrimSpace(q.Reason))
		if err != nil {
			return err
		}
		return encode(w, http.StatusOK, reviewViewOf(rv, true))
	}
}

// decideLinkReview records a decision on a pending pair: what the API and
// the page both do. Confirming merges first (the lower id, the record the
// registry had first, survives) and records the decision after, so a
// merge that fails leaves the pair pending; with no merger configured it
// is refused and nothing is recorded. Each person is audited.
func (s *Server) decideLinkReview(ctx context.Context, p *auth.Principal, id int64, status linkage.ReviewStatus, reason string) (linkage.PairReview, error) {
	if status == linkage.ReviewConfirmed && s.deps.Merger == nil {
		return linkage.PairReview{}, apperr.E(apperr.Unavailable, "confirming a pair merges the two people, and this server has no merge configured: nothing was recorded")
	}
	rv, err := s.deps.Reviews.LinkReview(ctx, id)
	if err != nil {
		return linkage.PairReview{}, err
	}
	if rv.Status != linkage.ReviewPending {
		return linkage.PairReview{}, apperr.Ef(apperr.Conflict, "link review %d was already %s", rv.ID, rv.Status)
	}
	now := s.deps.Now()
	if status == linkage.ReviewConfirmed {
		// The lower id is the record the registry had first.
		if _, err := s.deps.Merger.MergePeople(ctx, rv.Low, rv.High, registry.MergeLinkageConfirmed, p.Name, now); err != nil {
			return linkage.PairReview{}, err
		}
	}
	rv, err = s.deps.Reviews.DecideReview(ctx, id, status, p.UserID, reason, now)
	if err != nil {
		return linkage.PairReview{}, err
	}
	for _, pid := range []int64{rv.Low, rv.High} {
		ev := access.AdminEvent(p, "link-review-"+map[linkage.ReviewStatus]string{linkage.ReviewConfirmed: "confirm", linkage.ReviewRejected: "reject"}[status], "Patient", pid, now)
		ev.Detail = "link review " + strconv.FormatInt(rv.ID, 10)
		ev.Reason = rv.Reason
		if err := s.deps.Policy.Record(ctx, ev); err != nil {
			return linkage.PairReview{}, err
		}
	}
	return rv, nil
}

func personViewOf(p registry.Person) personView {
	return personView{ID: p.ID, NHSNumber: p.NHSNumber, NHSNumberStatus: string(p.NHSNumberStatus),
		GivenName: p.GivenName, FamilyName: p.FamilyName, BirthDate: day(p.BirthDate), Sex: string(p.Sex),
		Postcode: p.Postcode, PracticeID: p.PracticeID, DateOfDeath: day(p.DateOfDeath), Source: p.Source}
}
