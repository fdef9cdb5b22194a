package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/audit"
	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/registry"
)

// DataStore is what the JSON API reads and writes beyond the policy.
type DataStore interface {
	Person(ctx context.Context, id int64) (registry.Person, error)
	Consents(ctx context.Context, personID int64) ([]access.Consent, error)
	AddConsent(ctx context.Context, c access.Consent) (access.Consent, error)
	WithdrawConsent(ctx context.Context, personID, id, by int64, reason string, at time.Time) (access.Consent, error)
	CreateGrant(ctx context.Context, g access.Grant) (access.Grant, error)
	Grants(ctx context.Context, unreviewed bool, limit int) ([]access.Grant, error)
	ReviewGrant(ctx context.Context, id, by int64, note string, at time.Time) (access.Grant, error)
	Users(ctx context.Context) ([]auth.User, error)
	PeopleByPractice(ctx context.Context) (map[string]int64, error)
}

// AuditReader reads the audit log.
type AuditReader interface {
	AuditEvents(ctx context.Context, f audit.Filter) ([]audit.Event, error)
}

func pathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, apperr.Ef(apperr.NotFound, "no such %s: check the address", name)
	}
	return id, nil
}

type personView struct {
	ID              int64  `json:"id"`
	NHSNumber       string `json:"nhs_number,omitempty"`
	NHSNumberStatus string `json:"nhs_number_status"`
	GivenName       string `json:"given_name"`
	FamilyName      string `json:"family_name"`
	BirthDate       string `json:"birth_date,omitempty"`
	Sex             string `json:"sex"`
	Postcode        string `json:"postcode,omitempty"`
	PracticeID      string `json:"practice_id,omitempty"`
	DateOfDeath     string `json:"date_of_death,omitempty"`
	Source          string `json:"source"`
}

func day(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.DateOnly)
}

// handlePerson returns a person's demographics.
func (s *Server) handlePerson() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		if _, err := s.deps.Policy.Check(r.Context(), "read", access.Request{Perm: access.ReadRecord, PersonID: id, Type: "Patient"}); err != nil {
			return err
		}
		p, err := s.deps.Data.Person(r.Context(), id)
		if err != nil {
			return err
		}
		return encode(w, http.StatusOK, personView{ID: p.ID, NHSNumber: p.NHSNumber, NHSNumberStatus: string(p.NHSNumberStatus),
			GivenName: p.GivenName, FamilyName: p.FamilyName, BirthDate: day(p.BirthDate), Sex: string(p.Sex),
			Postcode: p.Postcode, PracticeID: p.PracticeID, DateOfDeath: day(p.DateOfDeath), Source: p.Source})
	}
}

type consentView struct {
	ID              int64     `json:"id"`
	Decision        string    `json:"decision"`
	Purpose         string    `json:"purpose"`
	OrgID           string    `json:"org_id,omitempty"`
	Start           string    `json:"start,omitempty"`
	End             string    `json:"end,omitempty"`
	RecordedBy      int64     `json:"recorded_by"`
	RecordedAt      time.Time `json:"recorded_at"`
	Note            string    `json:"note,omitempty"`
	WithdrawnAt     string    `json:"withdrawn_at,omitempty"`
	WithdrawnBy     int64     `json:"withdrawn_by,omitempty"`
	WithdrawnReason string    `json:"withdrawn_reason,omitempty"`
}

func consentViewOf(c access.Consent) consentView {
	v := consentView{ID: c.ID, Decision: string(c.Decision), Purpose: string(c.Purpose), OrgID: c.OrgID, Start: day(c.Start),
		End: day(c.End), RecordedBy: c.RecordedBy, RecordedAt: c.RecordedAt, Note: c.Note,
		WithdrawnBy: c.WithdrawnBy, WithdrawnReason: c.WithdrawnReason}
	if c.Withdrawn() {
		v.WithdrawnAt = c.WithdrawnAt.UTC().Format(time.RFC3339)
	}
	return v
}

func (s *Server) handleConsents() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		if _, err := s.deps.Policy.Check(r.Context(), "read", access.Request{Perm: access.ReadConsent, PersonID: id, Type: "Consent"}); err != nil {
			return err
		}
		cs, err := s.deps.Data.Consents(r.Context(), id)
		if err != nil {
			return err
		}
		out := make([]consentView, len(cs))
		for i, c := range cs {
			out[i] = consentViewOf(c)
		}
		return encode(w, http.StatusOK, map[string]any{"consents": out})
	}
}

type consentRequest struct {
	Decision string `json:"decision"`
	Purpose  string `json:"purpose"`
	OrgID    string `json:"org_id"`
	Start    string `json:"start"`
	End      string `json:"end"`
	Note     string `json:"note"`
}

func (q consentRequest) Valid(context.Context) map[string]string {
	p := map[string]string{}
	if q.Decision != string(access.Permit) && q.Decision != string(access.Deny) {
		p["decision"] = `give "permit" or "deny"`
	}
	if q.Purpose == "" {
		p["purpose"] = "give the purpose, e.g. direct-care"
	}
	for field, v := range map[string]string{"start": q.Start, "end": q.End} {
		if v != "" {
			if _, err := time.Parse(time.DateOnly, v); err != nil {
				p[field] = "give a date as YYYY-MM-DD"
			}
		}
	}
	return p
}

func (s *Server) handleAddConsent() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		var q consentRequest
		if err := decode(r, &q); err != nil {
			return err
		}
		if _, err := s.deps.Policy.Check(r.Context(), "create", access.Request{Perm: access.WriteConsent, PersonID: id, Type: "Consent"}); err != nil {
			return err
		}
		p, _ := auth.FromContext(r.Context())
		start, _ := time.Parse(time.DateOnly, q.Start)
		end, _ := time.Parse(time.DateOnly, q.End)
		c, err := s.deps.Data.AddConsent(r.Context(), access.Consent{PersonID: id, Decision: access.ConsentDecision(q.Decision),
			Purpose: access.Purpose(q.Purpose), OrgID: strings.ToUpper(strings.TrimSpace(q.OrgID)), Start: start, End: end,
			RecordedBy: p.UserID, RecordedAt: s.deps.Now(), Note: q.Note})
		if err != nil {
			return err
		}
		return encode(w, http.StatusCreated, consentViewOf(c))
	}
}

type withdrawRequest struct {
	Reason string `json:"reason"`
}

func (q withdrawRequest) Valid(context.Context) map[string]string {
	if strings.TrimSpace(q.Reason) == "" {
		return map[string]string{"reason": "say why consent is withdrawn (for example, the person's own words)"}
	}
	return nil
}

func (s *Server) handleWithdrawConsent() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		cid, err := pathID(r, "cid")
		if err != nil {
			return err
		}
		var q withdrawRequest
		if err := decode(r, &q); err != nil {
			return err
		}
		if _, err := s.deps.Policy.Check(r.Context(), "update", access.Request{Perm: access.WriteConsent, PersonID: id, Type: "Consent"}); err != nil {
			return err
		}
		p, _ := auth.FromContext(r.Context())
		c, err := s.deps.Data.WithdrawConsent(r.Context(), id, cid, p.UserID, strings.TrimSpace(q.Reason), s.deps.Now())
		if err != nil {
			return err
		}
		return encode(w, http.StatusOK, consentViewOf(c))
	}
}

type breakGlassRequest struct {
	Reason string `json:"reason"`
}

func (q breakGlassRequest) Valid(context.Context) map[string]string {
	if len(strings.TrimSpace(q.Reason)) < access.MinReasonLength {
		return map[string]string{"reason": "say why you need emergency access, in at least 15 characters"}
	}
	return nil
}

type grantView struct {
	ID         int64     `json:"id"`
	UserID     int64     `json:"user_id"`
	PersonID   int64     `json:"person_id"`
	Reason     string    `json:"reason"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	ReviewedAt string    `json:"reviewed_at,omitempty"`
	ReviewedBy int64     `json:"reviewed_by,omitempty"`
	ReviewNote string    `json:"review_note,omitempty"`
}

func grantViewOf(g access.Grant) grantView {
	v := grantView{ID: g.ID, UserID: g.UserID, PersonID: g.PersonID, Reason: g.Reason, CreatedAt: g.CreatedAt, ExpiresAt: g.ExpiresAt,
		ReviewedBy: g.ReviewedBy, ReviewNote: g.ReviewNote}
	if !g.ReviewedAt.IsZero() {
		v.ReviewedAt = g.ReviewedAt.UTC().Format(time.RFC3339)
	}
	return v
}

// handleBreakGlass opens emergency access to a person for the caller.
func (s *Server) handleBreakGlass() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		var q breakGlassRequest
		if err := decode(r, &q); err != nil {
			return err
		}
		g, err := s.deps.Policy.BreakGlass(r.Context(), s.deps.Data, id, q.Reason)
		if err != nil {
			return err
		}
		return encode(w, http.StatusCreated, grantViewOf(g))
	}
}

type accessView struct {
	At       time.Time `json:"at"`
	Who      string    `json:"who"`
	Role     string    `json:"role"`
	OrgID    string    `json:"org_id,omitempty"`
	Action   string    `json:"action"`
	What     string    `json:"what,omitempty"`
	Purpose  string    `json:"purpose"`
	Basis    string    `json:"basis"`
	Outcome  string    `json:"outcome"`
	Reason   string    `json:"reason,omitempty"`
	Sequence int64     `json:"seq"`
}

func (s *Server) accessLog(w http.ResponseWriter, r *http.Request, personID int64) error {
	if _, err := s.deps.Policy.Check(r.Context(), "read", access.Request{Perm: access.ReadAccessLog, PersonID: personID, Type: "AuditEvent"}); err != nil {
		return err
	}
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	evs, err := s.deps.Audit.AuditEvents(r.Context(), audit.Filter{PersonID: personID, Limit: limit})
	if err != nil {
		return err
	}
	out := make([]accessView, 0, len(evs))
	for _, e := range evs {
		out = append(out, accessView{At: e.At, Who: e.UserName, Role: e.Role, OrgID: e.OrgID, Action: e.Action, What: e.ResourceType,
			Purpose: e.Purpose, Basis: e.Basis, Outcome: e.Outcome, Reason: e.Reason, Sequence: e.Seq})
	}
	return encode(w, http.StatusOK, map[string]any{"person_id": personID, "accesses": out})
}

// handleAccessLog shows who looked at a person's record and why.
func (s *Server) handleAccessLog() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		if s.deps.Audit == nil {
			return apperr.E(apperr.Unavailable, "the audit log is not available")
		}
		return s.accessLog(w, r, id)
	}
}

// handleMyAccessLog shows a service user (or their carer) who looked at
// their record and why.
func (s *Server) handleMyAccessLog() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, _ := auth.FromContext(r.Context())
		if p.PersonID == 0 {
			return apperr.E(apperr.NotFound, "your account is not linked to a person's record")
		}
		if s.deps.Audit == nil {
			return apperr.E(apperr.Unavailable, "the audit log is not available")
		}
		return s.accessLog(w, r, p.PersonID)
	}
}
