package rest

import (
	"context"
	"net/http"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/fhir"
	"github.com/wholecare/wholecare/internal/record"
)

// careTeamCap is the CapabilityStatement entry of CareTeam: a person's
// placements under the directory's care teams.
var careTeamCap = CapResource{Type: fhir.TypeCareTeam, Interaction: []CapInteraction{{Code: "read"}, {Code: "search-type"}},
	SearchParam: append([]CapSearchParam{
		{Name: "patient", Type: "reference", Documentation: "Whose care teams (required)"},
		{Name: "subject", Type: "reference", Documentation: "The same as patient"},
		{Name: "status", Type: "token", Documentation: "active or inactive"},
	}, commonParams...)}

// careTeams maps a person's care team placements.
func (h *Handler) careTeams(ctx context.Context, person int64) ([]resource, error) {
	b, err := h.deps.Store.PersonRecord(ctx, person)
	if apperr.Is(err, apperr.NotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return rowResources("", &record.Batch{TeamLinks: b.TeamLinks}), nil
}

// handleCareTeamRead serves CareTeam/[id], a person's placement under a
// care team.
func (h *Handler) handleCareTeamRead(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	person, ok := fhir.ParseCareTeamLinkID(id)
	if !ok {
		return apperr.E(apperr.NotFound, "no CareTeam with that id")
	}
	if err := h.deps.Guard.CanRead(r.Context(), person, fhir.TypeCareTeam); err != nil {
		return err
	}
	rs, err := h.careTeams(r.Context(), person)
	if err != nil {
		return err
	}
	for _, res := range rs {
		if res.id == id {
			if err := h.accessed(r, "read", fhir.TypeCareTeam, []int64{person}); err != nil {
				return err
			}
			writeJSON(w, http.StatusOK, res.body)
			return nil
		}
	}
	return apperr.E(apperr.NotFound, "no CareTeam with that id")
}

// handleCareTeamSearch serves a CareTeam search by patient.
func (h *Handler) handleCareTeamSearch(w http.ResponseWriter, r *http.Request) error {
	return h.personSearch(w, r, fhir.TypeCareTeam, "status", []string{"active", "inactive"}, func(ctx context.Context, person int64, want string) ([]resource, error) {
		rs, err := h.careTeams(ctx, person)
		if err != nil || want == "" {
			return rs, err
		}
		var out []resource
		for _, res := range rs {
			if ct, ok := res.body.(*fhir.CareTeam); ok && ct.Status == want {
				out = append(out, res)
			}
		}
		return out, nil
	})
}
