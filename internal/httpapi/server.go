// Package httpapi is Wholecare's HTTP edge: the JSON API, the operational
// endpoints (/healthz, /readyz, /metrics) and the middleware every request
// passes through. It turns error kinds into statuses and RFC 9457 problem
// details in one place. It must never put person data in a log line or a
// metric label: requests are logged by route pattern, never by raw path.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/caregaps"
	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/ingest"
	"github.com/wholecare/wholecare/internal/jobs"
	"github.com/wholecare/wholecare/internal/metrics"
	"github.com/wholecare/wholecare/internal/web"
)

// Pinger is what readiness needs of the store.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Deps are the server's dependencies, wired in run. Only Log, Store,
// Metrics and Version are needed for the operational endpoints; the rest
// serve signed-in callers and person data.
type Deps struct {
	Log     *slog.Logger
	Store   Pinger
	Metrics *metrics.Registry
	Version string

	Auth   *auth.Service  // sign-in, sessions, bearer tokens
	Policy *access.Policy // the one door to person data
	Data   DataStore      // people, records, consents, break-glass, users
	Audit  AuditReader    // the audit log, for access logs and privacy officers
	FHIR   http.Handler   // the FHIR R4 API, mounted under /fhir/R4/; nil for none
	// OIDC is an organisation's identity provider; nil when only local
	// accounts sign in. OIDCUsers links its accounts to local users.
	OIDC      OIDC
	OIDCUsers OIDCUsers
	// Population is the in-memory population engine for cohort counts;
	// nil for none.
	Population Population
	// Cohorts keeps saved cohorts; nil for none.
	Cohorts CohortStore
	// Scores reads stored risk scores; nil for none.
	Scores ScoreStore
	// Reviews is record linkage's review queue, nil for none; Merger
	// merges a confirmed pair (without one, confirming is refused).
	Reviews ReviewStore
	Merger  PeopleMerger
	TLS     bool // served over TLS: Secure cookies and HSTS
	Now     func() time.Time

	// Summaries builds person summaries; nil for none.
	Summaries Summaries

	// Registry merges people and serves golden records; nil for none.
	Registry RegistryStore

	// Protocols is the care protocol library; nil for none. Applying one
	// to a person reads their record from Records with the code lists in
	// Codes.
	Protocols ProtocolCatalog
	Records   PersonRecords
	Codes     *codes.Set

	// CareGaps are the care-gap indicators, evaluated on Population; nil
	// for none. Directory groups practices into teams and networks.
	CareGaps  *caregaps.Set
	Directory Directory

	// CarePlans keeps personalised care and support plans; nil for none.
	CarePlans CarePlans

	// Alerts keeps alerts and worklists, raised by Rules; nil for none.
	Alerts Alerts
	Rules  Rules
	// Huddles keeps team huddles (they need Alerts too); nil for none.
	Huddles Huddles

	// Web draws the pages; nil serves the API only.
	Web *web.Renderer

	// Jobs runs long work (recompute, import) in the background with
	// progress; nil for none. Ingest applies what an import job reads;
	// Users adds, disables and enables sign-ins from the administration
	// pages (without it the user list is read-only).
	Jobs   *jobs.Runner
	Ingest *ingest.Service
	Users  UserAdmin
	// People finds people by NHS number, name and date of birth for the
	// "find a person" page; nil for none.
	People PeopleSearcher
}

// Server is the HTTP handler with its instruments.
type Server struct {
	deps     Deps
	mux      *http.ServeMux
	table    []route
	requests *metrics.Counter
	latency  *metrics.Histogram
	flows    *flowStore
}

// New builds the handler and registers its metrics on d.Metrics.
func New(d Deps) *Server {
	if d.Now == nil {
		d.Now = time.Now
	}
	s := &Server{
		deps:  d,
		mux:   http.NewServeMux(),
		flows: newFlowStore(),
		requests: d.Metrics.NewCounter("wholecare_http_requests_total",
			"HTTP requests by route pattern and status code.", "route", "code"),
		latency: d.Metrics.NewHistogram("wholecare_http_request_duration_seconds",
			"HTTP request latency by route pattern.",
			[]float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}, "route"),
	}
	s.routes()
	return s
}

// ServeHTTP logs, measures and recovers around every request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		if v := recover(); v != nil {
			// A panic is a bug: log it with the stack, answer 500, keep serving.
			s.deps.Log.Error("panic serving request", "route", r.Pattern, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if !rec.wrote {
				writeProblem(rec, r, apperr.E(apperr.Internal, "panic"))
			}
		}
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		d := time.Since(start)
		s.requests.Inc(route, strconv.Itoa(rec.status))
		s.latency.Observe(d.Seconds(), route)
		s.deps.Log.Info("request", "method", r.Method, "route", route, "status", rec.status,
			"duration_ms", float64(d.Microseconds())/1000, "bytes", rec.bytes)
	}()
	s.secureHeaders(rec.Header())
	if r.Body != nil {
		r.Body = http.MaxBytesReader(rec, r.Body, bodyLimit(r.URL.Path))
	}
	r, err := s.authenticate(rec, r)
	if err != nil {
		s.fail(rec, r, err)
		return
	}
	s.mux.ServeHTTP(rec, r)
}

// secureHeaders are sent with every response: a strict Content-Security-
// Policy (our own scripts, styles and images only; no framing), no MIME
// sniffing, no referrer, and HSTS when served over TLS.
func (s *Server) secureHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
	if s.deps.TLS {
		h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
	wrote  bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.status = code
		r.wrote = true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(p []byte) (int, error) {
	r.wrote = true
	n, err := r.ResponseWriter.Write(p)
	r.bytes += n
	return n, err
}

// handler is an http handler that returns its error instead of writing it.
type handler func(w http.ResponseWriter, r *http.Request) error

// serve adapts a handler: a returned error becomes problem details, and
// only Internal errors are logged (with their cause), never shown.
func (s *Server) serve(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			if apperr.KindOf(err) == apperr.Internal {
				s.deps.Log.Error("request failed", "route", r.Pattern, "err", err)
			}
			s.fail(w, r, err)
		}
	})
}

// fail answers an error the way the caller reads: an error page for a
// page, problem details for the API and everything else.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if s.deps.Web != nil && isPagePath(r.URL.Path) {
		s.errorPage(w, r, err)
		return
	}
	writeProblem(w, r, err)
}

// Status maps an error kind to an HTTP status.
func Status(k apperr.Kind) int {
	switch k {
	case apperr.Invalid:
		return http.StatusBadRequest
	case apperr.NotFound:
		return http.StatusNotFound
	case apperr.Conflict:
		return http.StatusConflict
	case apperr.Forbidden:
		return http.StatusForbidden
	case apperr.Unavailable:
		return http.StatusServiceUnavailable
	case apperr.Unauthenticated:
		return http.StatusUnauthorized
	case apperr.TooMany:
		return http.StatusTooManyRequests
	default:
		return http.StatusInternalServerError
	}
}

// problem is an RFC 9457 problem details body.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
}

func writeProblem(w http.ResponseWriter, r *http.Request, err error) {
	status := Status(apperr.KindOf(err))
	p := problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: apperr.Message(err)}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(p)
}

// encode writes v as JSON with status.
func encode(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		return errors.Join(apperr.E(apperr.Internal, "encoding response"), err)
	}
	return nil
}
