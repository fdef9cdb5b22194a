package httpapi

import (
	"context"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/audit"
	"github.com/wholecare/wholecare/internal/auth"
)

// handleGrants lists break-glass grants for a privacy officer.
func (s *Server) handleGrants() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if _, err := access.Allow(r.Context(), access.ReviewBreakGlass); err != nil {
			return err
		}
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		gs, err := s.deps.Data.Grants(r.Context(), r.URL.Query().Get("unreviewed") != "false", limit)
		if err != nil {
			return err
		}
		out := make([]grantView, len(gs))
		for i, g := range gs {
			out[i] = grantViewOf(g)
		}
		return encode(w, http.StatusOK, map[string]any{"break_glass": out})
	}
}

type reviewRequest struct {
	Note string `json:"note"`
}

func (q reviewRequest) Valid(context.Context) map[string]string {
	if strings.TrimSpace(q.Note) == "" {
		return map[string]string{"note": "record what the review found"}
	}
	return nil
}

func (s *Server) handleReviewGrant() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := access.Allow(r.Context(), access.ReviewBreakGlass)
		if err != nil {
			return err
		}
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		var q reviewRequest
		if err := decode(r, &q); err != nil {
			return err
		}
		g, err := s.deps.Data.ReviewGrant(r.Context(), id, p.UserID, strings.TrimSpace(q.Note), s.deps.Now())
		if err != nil {
			return err
		}
		ev := access.AdminEvent(p, "break-glass-review", "", g.PersonID, s.deps.Now())
		ev.Detail = "grant " + strconv.FormatInt(g.ID, 10)
		if err := s.deps.Policy.Record(r.Context(), ev); err != nil {
			return err
		}
		return encode(w, http.StatusOK, grantViewOf(g))
	}
}

type adminUserView struct {
	ID             int64     `json:"id"`
	Name           string    `json:"name"`
	DisplayName    string    `json:"display_name"`
	Role           auth.Role `json:"role"`
	OrgID          string    `json:"org_id,omitempty"`
	ProfessionalID int64     `json:"professional_id,omitempty"`
	Disabled       bool      `json:"disabled"`
	CreatedAt      time.Time `json:"created_at"`
}

func (s *Server) handleUsers() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if _, err := access.Allow(r.Context(), access.ManageUsers); err != nil {
			return err
		}
		us, err := s.deps.Data.Users(r.Context())
		if err != nil {
			return err
		}
		out := make([]adminUserView, len(us))
		for i, u := range us {
			out[i] = adminUserView{ID: u.ID, Name: u.Name, DisplayName: u.DisplayName, Role: u.Role, OrgID: u.OrgID,
				ProfessionalID: u.ProfessionalID, Disabled: u.Disabled, CreatedAt: u.CreatedAt}
		}
		return encode(w, http.StatusOK, map[string]any{"users": out})
	}
}

type practiceCount struct {
	PracticeID string `json:"practice_id"`
	People     *int64 `json:"people"` // null when suppressed
	Suppressed bool   `json:"suppressed,omitempty"`
}

// handlePeopleByPractice counts registered people per practice. Counts
// from 1 to 4 are suppressed for every caller: an aggregate that may be
// exported must never single anyone out.
func (s *Server) handlePeopleByPractice() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if _, err := access.Allow(r.Context(), access.ReadAggregates); err != nil {
			return err
		}
		counts, err := s.deps.Data.PeopleByPractice(r.Context())
		if err != nil {
			return err
		}
		out := make([]practiceCount, 0, len(counts))
		for id, n := range counts {
			c := practiceCount{PracticeID: id}
			if v, ok := access.Suppress(n); ok {
				c.People = &v
			} else {
				c.Suppressed = true
			}
			out = append(out, c)
		}
		sort.Slice(out, func(i, j int) bool { return out[i].PracticeID < out[j].PracticeID })
		return encode(w, http.StatusOK, map[string]any{"practices": out, "suppression": "counts of 1 to 4 are not shown"})
	}
}

type auditView struct {
	Seq          int64     `json:"seq"`
	At           time.Time `json:"at"`
	UserID       int64     `json:"user_id,omitempty"`
	UserName     string    `json:"user_name,omitempty"`
	Role         string    `json:"role,omitempty"`
	OrgID        string    `json:"org_id,omitempty"`
	PersonID     int64     `json:"person_id,omitempty"`
	Action       string    `json:"action"`
	ResourceType string    `json:"resource_type,omitempty"`
	Purpose      string    `json:"purpose,omitempty"`
	Basis        string    `json:"basis,omitempty"`
	Outcome      string    `json:"outcome"`
	Reason       string    `json:"reason,omitempty"`
	Detail       string    `json:"detail,omitempty"`
	Hash         string    `json:"hash"`
}

// handleAudit lets a privacy officer read the audit log; the reading is
// itself audited.
func (s *Server) handleAudit() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := access.Allow(r.Context(), access.ReadAudit)
		if err != nil {
			return err
		}
		q := r.URL.Query()
		f := audit.Filter{Action: q.Get("action")}
		f.PersonID, _ = strconv.ParseInt(q.Get("person"), 10, 64)
		f.UserID, _ = strconv.ParseInt(q.Get("user"), 10, 64)
		f.AfterSeq, _ = strconv.ParseInt(q.Get("after"), 10, 64)
		f.Limit, _ = strconv.Atoi(q.Get("limit"))
		if f.Limit <= 0 || f.Limit > 1000 {
			f.Limit = 100
		}
		if err := s.deps.Policy.Record(r.Context(), access.AdminEvent(p, "audit-read", "AuditEvent", f.PersonID, s.deps.Now())); err != nil {
			return err
		}
		evs, err := s.deps.Audit.AuditEvents(r.Context(), f)
		if err != nil {
			return err
		}
		out := make([]auditView, len(evs))
		for i, e := range evs {
			out[i] = auditView{Seq: e.Seq, At: e.At, UserID: e.UserID, UserName: e.UserName, Role: e.Role, OrgID: e.OrgID,
				PersonID: e.PersonID, Action: e.Action, ResourceType: e.ResourceType, Purpose: e.Purpose, Basis: e.Basis,
				Outcome: e.Outcome, Reason: e.Reason, Detail: e.Detail, Hash: e.Hash}
		}
		return encode(w, http.StatusOK, map[string]any{"events": out})
	}
}
