package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/audit"
	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/registry"
)

// RegistryStore is what the registry routes need: merges and golden
// records.
type RegistryStore interface {
	MergePeople(ctx context.Context, survivor, retired int64, reason registry.MergeReason, by string, now time.Time) (registry.Merge, error)
	UnmergePeople(ctx context.Context, mergeID int64, by, why string, now time.Time) (registry.Merge, error)
	PersonMerges(ctx context.Context, id int64) ([]registry.Merge, error)
	GoldenRecord(ctx context.Context, id int64) (registry.Golden, registry.Cluster, error)
	PersonCluster(ctx context.Context, id int64) (registry.Cluster, error)
}

type mergeView struct {
	ID            int64     `json:"id"`
	Survivor      int64     `json:"survivor"`
	Retired       int64     `json:"retired"`
	Reason        string    `json:"reason"`
	DecidedBy     string    `json:"decided_by"`
	MergedAt      time.Time `json:"merged_at"`
	Active        bool      `json:"active"`
	UnmergedAt    string    `json:"unmerged_at,omitempty"`
	UnmergedBy    string    `json:"unmerged_by,omitempty"`
	UnmergeReason string    `json:"unmerge_reason,omitempty"`
}

func mergeViewOf(m registry.Merge) mergeView {
	v := mergeView{ID: m.ID, Survivor: m.Survivor, Retired: m.Retired, Reason: string(m.Reason), DecidedBy: m.DecidedBy,
		MergedAt: m.MergedAt, Active: m.Active(), UnmergedBy: m.UnmergedBy, UnmergeReason: m.UnmergeReason}
	if !m.Active() {
		v.UnmergedAt = m.UnmergedAt.UTC().Format(time.RFC3339)
	}
	return v
}

type mergeRequest struct {
	Retired int64  `json:"retired"`
	Reason  string `json:"reason"` // "manual" (the default) or "linkage-confirmed"
	Note    string `json:"note"`   // why, kept in the audit log
}

func (q mergeRequest) Valid(context.Context) map[string]string {
	p := map[string]string{}
	if q.Retired <= 0 {
		p["retired"] = "give the id of the person to merge into this one"
	}
	switch registry.MergeReason(q.Reason) {
	case "", registry.MergeManual, registry.MergeLinkageConfirmed:
	default:
		// source-merge is said only by a source, in an HL7 v2 A40.
		p["reason"] = `give "manual" or "linkage-confirmed"`
	}
	if len(q.Note) > 1000 {
		p["note"] = "keep the note under 1000 characters"
	}
	return p
}

// mergeEvents are the audit entries of a merge or unmerge: one for each
// person, so that both people's access logs show it.
func mergeEvents(p *auth.Principal, action string, m registry.Merge, why string, at time.Time) []audit.Event {
	detail := fmt.Sprintf("merge %d: person %d into %d (%s)", m.ID, m.Retired, m.Survivor, m.Reason)
	evs := make([]audit.Event, 0, 2)
	for _, id := range []int64{m.Survivor, m.Retired} {
		ev := access.AdminEvent(p, action, "Patient", id, at)
		ev.Detail, ev.Reason = detail, why
		evs = append(evs, ev)
	}
	return evs
}

// handleMerge merges the person in the body (retired) into the person in
// the path (the survivor).
func (s *Server) handleMerge() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := access.Allow(r.Context(), access.MergeRecords)
		if err != nil {
			return err
		}
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		var q mergeRequest
		if err := decode(r, &q); err != nil {
			return err
		}
		reason := registry.MergeReason(q.Reason)
		if reason == "" {
			reason = registry.MergeManual
		}
		now := s.deps.Now()
		m, err := s.deps.Registry.MergePeople(r.Context(), id, q.Retired, reason, p.Name, now)
		if err != nil {
			return err
		}
		if err := s.deps.Policy.Record(r.Context(), mergeEvents(p, "merge", m, strings.TrimSpace(q.Note), now)...); err != nil {
			return err
		}
		return encode(w, http.StatusCreated, mergeViewOf(m))
	}
}

type unmergeRequest struct {
	Reason string `json:"reason"`
}

func (q unmergeRequest) Valid(context.Context) map[string]string {
	switch n := len(strings.TrimSpace(q.Reason)); {
	case n == 0:
		return map[string]string{"reason": "say why the merge is wrong"}
	case n > 1000:
		return map[string]string{"reason": "keep the reason under 1000 characters"}
	}
	return nil
}

func (s *Server) handleUnmerge() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := access.Allow(r.Context(), access.MergeRecords)
		if err != nil {
			return err
		}
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		var q unmergeRequest
		if err := decode(r, &q); err != nil {
			return err
		}
		now := s.deps.Now()
		m, err := s.deps.Registry.UnmergePeople(r.Context(), id, p.Name, strings.TrimSpace(q.Reason), now)
		if err != nil {
			return err
		}
		if err := s.deps.Policy.Record(r.Context(), mergeEvents(p, "unmerge", m, m.UnmergeReason, now)...); err != nil {
			return err
		}
		return encode(w, http.StatusOK, mergeViewOf(m))
	}
}

// handlePersonMerges lists the merges of a person's cluster, standing and
// undone, for whoever may merge (to find the one to undo).
func (s *Server) handlePersonMerges() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := access.Allow(r.Context(), access.MergeRecords)
		if err != nil {
			return err
		}
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		ms, err := s.deps.Registry.PersonMerges(r.Context(), id)
		if err != nil {
			return err
		}
		if err := s.deps.Policy.Record(r.Context(), access.AdminEvent(p, audit.ActionRead, "PersonMerge", id, s.deps.Now())); err != nil {
			return err
		}
		out := make([]mergeView, len(ms))
		for i, m := range ms {
			out[i] = mergeViewOf(m)
		}
		return encode(w, http.StatusOK, map[string]any{"merges": out})
	}
}

type goldenField struct {
	Field      string    `json:"field"`
	Value      any       `json:"value"`
	FromPerson int64     `json:"from_person,omitempty"`
	Source     string    `json:"source,omitempty"`
	LocalID    string    `json:"local_id,omitempty"`
	ReceivedAt time.Time `json:"received_at,omitzero"`
	Tier       string    `json:"tier,omitempty"`
}

type goldenView struct {
	ID        int64         `json:"id"`        // the survivor
	Requested int64         `json:"requested"` // the id asked for
	Members   []int64       `json:"members"`
	Person    personView    `json:"person"`
	Fields    []goldenField `json:"fields"`
}

func goldenValue(p *registry.Person, f registry.Field) any {
	switch f {
	case registry.FieldNHSNumber:
		return p.NHSNumber
	case registry.FieldGivenName:
		return p.GivenName
	case registry.FieldFamilyName:
		return p.FamilyName
	case registry.FieldBirthDate:
		return day(p.BirthDate)
	case registry.FieldSex:
		return string(p.Sex)
	case registry.FieldPostcode:
		return p.Postcode
	case registry.FieldIMDDecile:
		return p.IMDDecile
	case registry.FieldEthnicity:
		return p.Ethnicity
	case registry.FieldPracticeID:
		return p.PracticeID
	case registry.FieldDateOfDeath:
		return day(p.DateOfDeath)
	}
	return nil
}

// handleGolden returns a person's golden record with the source of each
// field. A retired person's answer is their survivor's record, which the
// caller must also be allowed to read.
func (s *Server) handleGolden() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		req := access.Request{Perm: access.ReadRecord, PersonID: id, Type: "Patient"}
		if _, err := s.deps.Policy.Check(r.Context(), "read", req); err != nil {
			return err
		}
		g, c, err := s.deps.Registry.GoldenRecord(r.Context(), id)
		if err != nil {
			return err
		}
		if c.Survivor != id {
			req.PersonID = c.Survivor
			if _, err := s.deps.Policy.Check(r.Context(), "read", req); err != nil {
				return err
			}
		}
		p := &g.Person
		v := goldenView{ID: c.Survivor, Requested: id, Members: c.Members,
			Person: personView{ID: p.ID, NHSNumber: p.NHSNumber, NHSNumberStatus: string(p.NHSNumberStatus),
				GivenName: p.GivenName, FamilyName: p.FamilyName, BirthDate: day(p.BirthDate), Sex: string(p.Sex),
				Postcode: p.Postcode, PracticeID: p.PracticeID, DateOfDeath: day(p.DateOfDeath), Source: p.Source}}
		for _, f := range registry.Fields {
			gf := goldenField{Field: string(f), Value: goldenValue(p, f)}
			if src, ok := g.Provenance[f]; ok {
				gf.FromPerson, gf.Source, gf.LocalID, gf.ReceivedAt, gf.Tier = src.PersonID, src.Source, src.LocalID, src.ReceivedAt, src.Tier
			}
			v.Fields = append(v.Fields, gf)
		}
		return encode(w, http.StatusOK, v)
	}
}
