package httpapi

import (
	"net/http"
	"strings"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/linkage"
)

// guard is what a route demands before its handler runs.
type guard uint8

const (
	// public routes carry no person data and need no sign-in: health,
	// metrics, version, sign-in itself, the FHIR CapabilityStatement.
	public guard = iota
	// signedIn routes need a principal and touch only the caller's own
	// account (their session, their profile).
	signedIn
	// person routes need a principal and reach person data only through
	// access.Policy (Check or the FHIR Guard), which also audits.
	person
	// permitted routes need a principal with a permission that is not about
	// one person (access.Allow): audit, users, aggregates.
	permitted
)

func (g guard) String() string {
	return [...]string{"public", "signed-in", "person", "permitted"}[g]
}

// route is one entry of the route table.
type route struct {
	pattern string
	guard   guard
	h       http.Handler
}

// routes is the one place every route is declared, each with its guard.
// A test walks this table: every route but the public ones must refuse a
// caller who has not signed in, and every person route must refuse a
// signed-in caller with no relationship to the person.
func (s *Server) routes() {
	s.add("GET /healthz", public, s.serve(s.handleHealthz()))
	s.add("GET /readyz", public, s.serve(s.handleReadyz()))
	s.add("GET /metrics", public, s.serve(s.handleMetrics()))
	s.add("GET /api/v1/version", public, s.serve(s.handleVersion()))

	if s.deps.Auth != nil {
		s.add("POST /api/v1/session", public, s.serve(s.handleSignIn()))
		s.add("GET /api/v1/session", signedIn, s.serve(s.handleSession()))
		s.add("DELETE /api/v1/session", signedIn, s.serve(s.handleSignOut()))
		s.add("POST /api/v1/session/sign-out-everywhere", signedIn, s.serve(s.handleSignOutEverywhere()))
		s.add("GET /api/v1/me", signedIn, s.serve(s.handleMe()))
		if s.deps.OIDC != nil && s.deps.OIDCUsers != nil {
			s.add("GET /auth/oidc/login", public, s.serve(s.handleOIDCLogin()))
			s.add("GET /auth/oidc/callback", public, s.serve(s.handleOIDCCallback()))
		}
	}
	if s.deps.Policy != nil && s.deps.Data != nil {
		s.add("GET /api/v1/people/{id}", person, s.serve(s.handlePerson()))
		s.add("GET /api/v1/people/{id}/consents", person, s.serve(s.handleConsents()))
		s.add("POST /api/v1/people/{id}/consents", person, s.serve(s.handleAddConsent()))
		s.add("POST /api/v1/people/{id}/consents/{cid}/withdraw", person, s.serve(s.handleWithdrawConsent()))
		s.add("POST /api/v1/people/{id}/break-glass", person, s.serve(s.handleBreakGlass()))
		s.add("GET /api/v1/people/{id}/access-log", person, s.serve(s.handleAccessLog()))
		s.add("GET /api/v1/me/access-log", person, s.serve(s.handleMyAccessLog()))
		if s.deps.Summaries != nil {
			s.add("GET /api/v1/people/{id}/summary", person, s.serve(s.handleSummary()))
		}
		if s.deps.Scores != nil {
			s.add("GET /api/v1/people/{id}/risk-scores", person, s.serve(s.handleRiskScores()))
		}

		s.add("GET /api/v1/break-glass", permitted, s.serve(s.handleGrants()))
		s.add("POST /api/v1/break-glass/{id}/review", permitted, s.serve(s.handleReviewGrant()))
		s.add("GET /api/v1/users", permitted, s.serve(s.handleUsers()))
		s.add("GET /api/v1/stats/people-by-practice", permitted, s.serve(s.handlePeopleByPractice()))
		if s.deps.Population != nil {
			s.add("GET /api/v1/cohorts/count", permitted, s.serve(s.handleCohortCount()))
			s.add("GET /api/v1/casefinding", person, s.serve(s.handleCaseFinding()))
			if s.deps.CareGaps != nil {
				s.add("GET /api/v1/caregaps", permitted, s.serve(s.handleCareGaps()))
				s.add("GET /api/v1/people/{id}/caregaps", person, s.serve(s.handlePersonCareGaps()))
			}
			if s.deps.Cohorts != nil {
				s.add("POST /api/v1/cohorts", permitted, s.serve(s.handleSaveCohort()))
				s.add("GET /api/v1/cohorts", permitted, s.serve(s.handleCohorts()))
				s.add("GET /api/v1/cohorts/{id}", permitted, s.serve(s.handleCohort()))
			}
		}
		if s.deps.Audit != nil {
			s.add("GET /api/v1/audit", permitted, s.serve(s.handleAudit()))
		}
		if s.deps.Reviews != nil {
			s.add("GET /api/v1/linkage/reviews", permitted, s.serve(s.handleLinkReviews()))
			s.add("GET /api/v1/linkage/reviews/{id}", permitted, s.serve(s.handleLinkReview()))
			s.add("POST /api/v1/linkage/reviews/{id}/confirm", permitted, s.serve(s.handleDecideLinkReview(linkage.ReviewConfirmed)))
			s.add("POST /api/v1/linkage/reviews/{id}/reject", permitted, s.serve(s.handleDecideLinkReview(linkage.ReviewRejected)))
		}
		if s.deps.CarePlans != nil {
			s.carePlanRoutes()
		}
		if s.deps.Alerts != nil {
			s.add("GET /api/v1/worklist", person, s.serve(s.handleWorklist()))
			s.add("GET /api/v1/teams/{team}/worklist", person, s.serve(s.handleWorklist()))
			s.add("GET /api/v1/alerts/{id}", person, s.serve(s.handleAlert()))
			s.add("POST /api/v1/alerts/{id}/move", person, s.serve(s.handleMoveAlert()))
			s.add("POST /api/v1/alerts/{id}/assign", person, s.serve(s.handleAssignAlert()))
		}
		if s.deps.Huddles != nil && s.deps.Alerts != nil {
			s.add("POST /api/v1/teams/{team}/huddles", person, s.serve(s.handleAddHuddle()))
			s.add("GET /api/v1/teams/{team}/huddles", person, s.serve(s.handleTeamHuddles()))
			s.add("POST /api/v1/huddles/{id}/meetings", person, s.serve(s.handleOpenMeeting()))
			s.add("POST /api/v1/huddles/{id}/items", person, s.serve(s.handleAddItem()))
			s.add("GET /api/v1/huddles/{id}/metrics", person, s.serve(s.handleHuddleMetrics()))
			s.add("GET /api/v1/meetings/{id}", person, s.serve(s.handleMeeting()))
			s.add("POST /api/v1/meetings/{id}/close", person, s.serve(s.handleCloseMeeting()))
			s.add("POST /api/v1/huddle-items/{id}/decision", person, s.serve(s.handleDecide()))
		}
		if s.deps.Rules != nil {
			s.add("GET /api/v1/rules", permitted, s.serve(s.handleRules()))
			s.add("GET /api/v1/rules/{id}/dry-run", person, s.serve(s.handleDryRun()))
		}
		if s.deps.Registry != nil {
			s.add("GET /api/v1/people/{id}/golden", person, s.serve(s.handleGolden()))
			s.add("POST /api/v1/people/{id}/merge", permitted, s.serve(s.handleMerge()))
			s.add("GET /api/v1/people/{id}/merges", permitted, s.serve(s.handlePersonMerges()))
			s.add("POST /api/v1/merges/{id}/unmerge", permitted, s.serve(s.handleUnmerge()))
		}
		if s.deps.Protocols != nil {
			s.add("GET /api/v1/protocols", permitted, s.serve(s.handleProtocols()))
			s.add("POST /api/v1/protocols", permitted, s.serve(s.handleAddProtocol()))
			s.add("GET /api/v1/protocols/{id}", permitted, s.serve(s.handleProtocol()))
			s.add("GET /api/v1/protocols/{id}/versions", permitted, s.serve(s.handleProtocolVersions()))
			s.add("POST /api/v1/people/{id}/protocols/{protocol}/apply", person, s.serve(s.handleApplyProtocol()))
			if s.deps.CarePlans != nil {
				cp := func(h handler) http.Handler { return s.serve(s.staleAs412(h)) }
				s.add("GET /api/v1/careplans/{id}/protocols/{protocol}/proposal", person, cp(s.handlePlanProtocolProposal()))
				s.add("POST /api/v1/careplans/{id}/protocols/{protocol}/decisions", person, cp(s.handlePlanProtocolDecisions()))
			}
		}
	}
	if s.deps.FHIR != nil {
		s.add("GET /fhir/R4/metadata", public, s.deps.FHIR)
		s.add("/fhir/R4/", person, s.deps.FHIR)
	}
	if s.deps.Web != nil {
		s.pageRoutes()
	}
	s.mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, apperr.E(apperr.NotFound, "There is no page at this address."))
	}))
}

// add registers a route behind its guard. Every guard but public refuses
// a caller without a principal, and sets Cache-Control: no-store so no
// cache keeps person or account data.
func (s *Server) add(pattern string, g guard, h http.Handler) {
	s.table = append(s.table, route{pattern: pattern, guard: g, h: h})
	if g == public {
		s.mux.Handle(pattern, h)
		return
	}
	s.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if _, ok := auth.FromContext(r.Context()); !ok {
			if strings.HasPrefix(r.URL.Path, "/fhir/") {
				w.Header().Set("WWW-Authenticate", `Bearer realm="wholecare"`)
			}
			s.fail(w, r, apperr.E(apperr.Unauthenticated, "sign in, or send Authorization: Bearer TOKEN"))
			return
		}
		h.ServeHTTP(w, r)
	}))
}

// bodyLimit is the most a request body may hold: FHIR bundles may be
// large, everything else is a small JSON document or form.
func bodyLimit(path string) int64 {
	if strings.HasPrefix(path, "/fhir/") {
		return 64 << 20
	}
	if path == "/jobs/import" {
		return importMaxBytes + 1<<20 // the file and the form around it
	}
	return 1 << 20
}
