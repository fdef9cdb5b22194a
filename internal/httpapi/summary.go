package httpapi

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/summary"
)

// Summaries builds person summaries (summary.Service).
type Summaries interface {
	Summary(ctx context.Context, ids []int64, now time.Time) (*summary.Summary, error)
}

// summaryTypes are the FHIR resource types a summary shows data of. A
// token must be scoped for all of them: a summary is not a way round a
// narrower scope.
var summaryTypes = []string{"Patient", "Condition", "Encounter", "MedicationRequest", "Observation", "CareTeam", "Consent"}

// handleSummary shows one person as every source knows them.
func (s *Server) handleSummary() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		// One decision, audited once, for the whole summary. For a token,
		// the decision is asked about the first type its scopes leave out,
		// so the refusal names it and is audited like any other.
		typ := "Patient"
		if p, ok := auth.FromContext(r.Context()); ok && p.Via == auth.ViaToken {
			for _, t := range summaryTypes {
				if !p.Scopes.Allows(t, false) {
					typ = t
					break
				}
			}
		}
		if _, err := s.deps.Policy.Check(r.Context(), "read", access.Request{Perm: access.ReadRecord, PersonID: id, Type: typ}); err != nil {
			return err
		}
		// A person merged with others is summarised as the whole cluster.
		ids := []int64{id}
		if s.deps.Registry != nil {
			c, err := s.deps.Registry.PersonCluster(r.Context(), id)
			if err != nil {
				return err
			}
			// The survivor first: its row is the cluster's golden record.
			ids = append([]int64{c.Survivor}, slices.DeleteFunc(c.Members, func(m int64) bool { return m == c.Survivor })...)
		}
		sum, err := s.deps.Summaries.Summary(r.Context(), ids, s.deps.Now())
		if err != nil {
			return err
		}
		return encode(w, http.StatusOK, sum)
	}
}
