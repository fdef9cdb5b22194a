package rest

import (
	"net/http"
	"strings"

	"github.com/wholecare/wholecare/internal/apperr"
)

// routes is the one place every route is declared.
func (h *Handler) routes() {
	p := Prefix
	h.mux.Handle("GET "+p+"/metadata", h.serve(h.handleMetadata))
	h.mux.Handle("POST "+p+"/{$}", h.serve(h.handleBundle))
	h.mux.Handle("POST "+p, h.serve(h.handleBundle))
	h.mux.Handle("GET "+p+"/$export", h.serve(h.handleExport))
	h.mux.Handle("GET "+p+"/$export-status/{job}", h.serve(h.handleExportStatus))
	h.mux.Handle("DELETE "+p+"/$export-status/{job}", h.serve(h.handleExportDelete))
	h.mux.Handle("GET "+p+"/$export-file/{job}/{file}", h.serve(h.handleExportFile))
	h.mux.Handle("GET "+p+"/Patient/{id}/$everything", h.serve(h.handleEverything))
	h.mux.Handle("GET "+p+"/CareTeam", h.serve(h.handleCareTeamSearch))
	h.mux.Handle("POST "+p+"/CareTeam/_search", h.serve(h.handleCareTeamSearch))
	h.mux.Handle("GET "+p+"/CareTeam/{id}", h.serve(h.handleCareTeamRead))
	h.mux.Handle("POST "+p+"/Patient/$match", h.serve(h.handleMatch))
	if h.deps.Protocols != nil && h.deps.Codes != nil {
		h.mux.Handle("GET "+p+"/PlanDefinition", h.serve(h.handlePlanDefinitionSearch))
		h.mux.Handle("POST "+p+"/PlanDefinition/_search", h.serve(h.handlePlanDefinitionSearch))
		h.mux.Handle("GET "+p+"/PlanDefinition/{id}", h.serve(h.handlePlanDefinitionRead))
		h.mux.Handle("GET "+p+"/PlanDefinition/{id}/_history", h.serve(h.handlePlanDefinitionHistory))
		h.mux.Handle("GET "+p+"/PlanDefinition/{id}/_history/{vid}", h.serve(h.handlePlanDefinitionVRead))
		h.mux.Handle("GET "+p+"/PlanDefinition/{id}/$apply", h.serve(h.handlePlanDefinitionApply))
		h.mux.Handle("POST "+p+"/PlanDefinition/{id}/$apply", h.serve(h.handlePlanDefinitionApply))
	}
	if h.deps.CarePlans != nil {
		h.mux.Handle("GET "+p+"/CarePlan", h.serve(h.handleCarePlanSearch))
		h.mux.Handle("POST "+p+"/CarePlan/_search", h.serve(h.handleCarePlanSearch))
		h.mux.Handle("GET "+p+"/CarePlan/{id}", h.serve(h.handleCarePlanRead))
		h.mux.Handle("GET "+p+"/CarePlan/{id}/_history/{vid}", h.serve(h.handleCarePlanRead))
		h.mux.Handle("GET "+p+"/Goal", h.serve(h.handleGoalSearch))
		h.mux.Handle("POST "+p+"/Goal/_search", h.serve(h.handleGoalSearch))
		h.mux.Handle("GET "+p+"/Goal/{id}", h.serve(h.handleGoalRead))
		h.mux.Handle("GET "+p+"/Goal/{id}/_history/{vid}", h.serve(h.handleGoalRead))
		if h.deps.PlanWriter != nil {
			h.mux.Handle("POST "+p+"/CarePlan", h.serve(h.handleCarePlanCreate))
			h.mux.Handle("PUT "+p+"/Goal/{id}", h.serve(h.handleGoalUpdate))
			h.mux.Handle("POST "+p+"/Goal", h.serve(h.handleGoalCreate))
			h.mux.Handle("PUT "+p+"/CarePlan/{id}", h.serve(h.handleCarePlanUpdate))
		}
	}
	if h.deps.Alerts != nil {
		h.mux.Handle("GET "+p+"/Task", h.serve(h.handleTaskSearch))
		h.mux.Handle("POST "+p+"/Task/_search", h.serve(h.handleTaskSearch))
		h.mux.Handle("GET "+p+"/Task/{id}", h.serve(h.handleTaskRead))
		h.mux.Handle("GET "+p+"/Flag", h.serve(h.handleFlagSearch))
		h.mux.Handle("POST "+p+"/Flag/_search", h.serve(h.handleFlagSearch))
		h.mux.Handle("GET "+p+"/Flag/{id}", h.serve(h.handleFlagRead))
	}
	if h.deps.CareGaps != nil && h.deps.Population != nil {
		h.mux.Handle("GET "+p+"/Measure/{id}/$evaluate-measure", h.serve(h.handleEvaluateMeasure))
		h.mux.Handle("POST "+p+"/Measure/{id}/$evaluate-measure", h.serve(h.handleEvaluateMeasure))
		h.mux.Handle("GET "+p+"/Measure/$care-gaps", h.serve(h.handleCareGaps))
		h.mux.Handle("POST "+p+"/Measure/$care-gaps", h.serve(h.handleCareGaps))
	}
	h.mux.Handle("GET "+p+"/{type}", h.serve(h.handleSearch))
	h.mux.Handle("POST "+p+"/{type}/_search", h.serve(h.handleSearch))
	h.mux.Handle("GET "+p+"/{type}/{id}", h.serve(h.handleRead))
	h.mux.Handle(p+"/", h.serve(h.handleUnmatched))
}

// handleUnmatched answers what no route serves: an interaction the API
// does not offer on a path it knows is 405, anything else 404.
func (h *Handler) handleUnmatched(w http.ResponseWriter, r *http.Request) error {
	rest := strings.Trim(strings.TrimPrefix(r.URL.Path, Prefix), "/")
	segs := strings.Split(rest, "/")
	if rest != "" && len(segs) <= 2 && h.types[segs[0]] != nil {
		w.Header().Set("Allow", "GET")
		return &statusError{status: http.StatusMethodNotAllowed, code: "not-supported",
			msg: r.Method + " is not supported here: the API offers read and search, Patient/$everything, transaction and batch bundles (POST to the base) and $export"}
	}
	if len(segs) <= 2 && segs[0] != "" && segs[0][0] >= 'A' && segs[0][0] <= 'Z' {
		return apperr.Ef(apperr.NotFound, "resource type %s is not supported (see /metadata)", safeToken(segs[0]))
	}
	return apperr.E(apperr.NotFound, "no such FHIR endpoint (see /metadata)")
}

// safeToken echoes a resource type name only when it looks like one, so
// that no request text of any other shape is reflected back.
func safeToken(s string) string {
	if len(s) > 64 {
		return "(unknown)"
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return "(unknown)"
		}
	}
	return s
}
