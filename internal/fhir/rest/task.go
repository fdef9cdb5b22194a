package rest

import (
	"context"
	"net/http"

	"github.com/wholecare/wholecare/internal/alerts"
	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/fhir"
)

// AlertStore reads alerts (sqlstore.DB).
type AlertStore interface {
	Alert(ctx context.Context, id int64) (alerts.Alert, error)
	Worklist(ctx context.Context, q alerts.Query) ([]alerts.Alert, int, error)
}

// alertCaps are the CapabilityStatement entries of alerts.
var alertCaps = []CapResource{
	{Type: fhir.TypeTask, Interaction: []CapInteraction{{Code: "read"}, {Code: "search-type"}},
		SearchParam: append([]CapSearchParam{
			{Name: "patient", Type: "reference", Documentation: "Whose tasks (required)"},
			{Name: "subject", Type: "reference", Documentation: "The same as patient"},
			{Name: "status", Type: "token", Documentation: "requested, accepted, in-progress, on-hold, completed or cancelled"},
		}, commonParams...)},
	{Type: fhir.TypeFlag, Interaction: []CapInteraction{{Code: "read"}, {Code: "search-type"}},
		SearchParam: append([]CapSearchParam{
			{Name: "patient", Type: "reference", Documentation: "Whose flags (required): open urgent and high-priority alerts"},
			{Name: "subject", Type: "reference", Documentation: "The same as patient"},
		}, commonParams...)},
}

// alertOf reads an alert after asking the guard about its person.
func (h *Handler) alertOf(r *http.Request, typ string, person, id int64) (alerts.Alert, error) {
	if err := h.deps.Guard.CanRead(r.Context(), person, typ); err != nil {
		return alerts.Alert{}, err
	}
	a, err := h.deps.Alerts.Alert(r.Context(), id)
	if apperr.Is(err, apperr.NotFound) || (err == nil && a.PersonID != person) {
		return alerts.Alert{}, apperr.Ef(apperr.NotFound, "no %s with that id", typ)
	}
	return a, err
}

func flagged(a alerts.Alert) bool { return a.Priority <= alerts.High }

func (h *Handler) handleTaskRead(w http.ResponseWriter, r *http.Request) error {
	person, id, ok := fhir.ParseTaskID(r.PathValue("id"))
	if !ok {
		return apperr.E(apperr.NotFound, "no Task with that id")
	}
	a, err := h.alertOf(r, fhir.TypeTask, person, id)
	if err != nil {
		return err
	}
	t := fhir.TaskOf(a)
	if err := h.accessed(r, "read", fhir.TypeTask, []int64{person}); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, &t)
	return nil
}

func (h *Handler) handleFlagRead(w http.ResponseWriter, r *http.Request) error {
	person, id, ok := fhir.ParseFlagID(r.PathValue("id"))
	if !ok {
		return apperr.E(apperr.NotFound, "no Flag with that id")
	}
	a, err := h.alertOf(r, fhir.TypeFlag, person, id)
	if err != nil {
		return err
	}
	if !flagged(a) {
		return apperr.E(apperr.NotFound, "no Flag with that id")
	}
	f := fhir.FlagOf(a)
	if err := h.accessed(r, "read", fhir.TypeFlag, []int64{person}); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, &f)
	return nil
}

// alertSearch lists the alerts of the patients named that the caller may
// see, mapped by each (which may leave an alert out).
func (h *Handler) alertSearch(w http.ResponseWriter, r *http.Request, typ string, statuses []string, each func(a alerts.Alert, want string) (resource, bool)) error {
	return h.personSearch(w, r, typ, "status", statuses, func(ctx context.Context, person int64, want string) ([]resource, error) {
		as, _, err := h.deps.Alerts.Worklist(ctx, alerts.Query{PersonID: person, Statuses: alerts.Statuses, Limit: 500})
		if err != nil {
			return nil, err
		}
		var out []resource
		for _, a := range as {
			if res, ok := each(a, want); ok {
				out = append(out, res)
			}
		}
		return out, nil
	})
}

func (h *Handler) handleTaskSearch(w http.ResponseWriter, r *http.Request) error {
	return h.alertSearch(w, r, fhir.TypeTask, []string{"requested", "accepted", "in-progress", "on-hold", "completed", "cancelled"},
		func(a alerts.Alert, want string) (resource, bool) {
			t := fhir.TaskOf(a)
			return resource{typ: fhir.TypeTask, id: t.ID, person: a.PersonID, body: &t}, want == "" || t.Status == want
		})
}

func (h *Handler) handleFlagSearch(w http.ResponseWriter, r *http.Request) error {
	return h.alertSearch(w, r, fhir.TypeFlag, []string{"active", "inactive"}, func(a alerts.Alert, want string) (resource, bool) {
		if !flagged(a) {
			return resource{}, false
		}
		f := fhir.FlagOf(a)
		return resource{typ: fhir.TypeFlag, id: f.ID, person: a.PersonID, body: &f}, want == "" || f.Status == want
	})
}
