package httpapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/careplan/protocols"
	"github.com/wholecare/wholecare/internal/record"
)

// ProtocolCatalog is the care protocol library (protocols.Catalog).
type ProtocolCatalog interface {
	Library() *protocols.Library
	About(p *protocols.Protocol) protocols.Stored
	Add(ctx context.Context, doc []byte, author string) (*protocols.Protocol, error)
}

// PersonRecords reads one person's whole record, merged records folded
// in (sqlstore.DB's ClusterBatch).
type PersonRecords interface {
	ClusterBatch(ctx context.Context, after int64, n int) (*record.Batch, error)
}

type protocolView struct {
	*protocols.Protocol
	Author    string    `json:"author"`
	CreatedAt time.Time `json:"created_at"`
}

type protocolSummary struct {
	ID        string    `json:"id"`
	Version   int       `json:"version"`
	Title     string    `json:"title"`
	AppliesTo string    `json:"applies_to"`
	Author    string    `json:"author"`
	CreatedAt time.Time `json:"created_at"`
}

func (s *Server) protocolSummary(p *protocols.Protocol) protocolSummary {
	a := s.deps.Protocols.About(p)
	return protocolSummary{ID: p.ID, Version: p.Version, Title: p.Title, AppliesTo: p.AppliesTo.Description, Author: a.Author, CreatedAt: a.CreatedAt}
}

// handleProtocols lists the current version of every protocol.
func (s *Server) handleProtocols() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if _, err := access.Allow(r.Context(), access.ReadProtocols); err != nil {
			return err
		}
		cur := s.deps.Protocols.Library().Current()
		out := make([]protocolSummary, len(cur))
		for i, p := range cur {
			out[i] = s.protocolSummary(p)
		}
		return encode(w, http.StatusOK, map[string]any{"protocols": out})
	}
}

// handleProtocol shows one protocol: the current version, or ?version=N.
func (s *Server) handleProtocol() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if _, err := access.Allow(r.Context(), access.ReadProtocols); err != nil {
			return err
		}
		ref := r.PathValue("id")
		if v := r.URL.Query().Get("version"); v != "" {
			ref += "@" + v
		}
		p, err := s.deps.Protocols.Library().Get(ref)
		if err != nil {
			return err
		}
		a := s.deps.Protocols.About(p)
		return encode(w, http.StatusOK, protocolView{Protocol: p, Author: a.Author, CreatedAt: a.CreatedAt})
	}
}

// handleProtocolVersions lists every version of a protocol, oldest first.
func (s *Server) handleProtocolVersions() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if _, err := access.Allow(r.Context(), access.ReadProtocols); err != nil {
			return err
		}
		vs := s.deps.Protocols.Library().Versions(r.PathValue("id"))
		if len(vs) == 0 {
			return apperr.Ef(apperr.NotFound, "no protocol %q", r.PathValue("id"))
		}
		out := make([]map[string]any, len(vs))
		for i, p := range vs {
			out[i] = map[string]any{"version": s.protocolSummary(p), "changes": p.Changes}
		}
		return encode(w, http.StatusOK, map[string]any{"id": vs[0].ID, "versions": out})
	}
}

// handleAddProtocol stores a new protocol (version 1) or a revision (the
// next version) sent as the protocol document.
func (s *Server) handleAddProtocol() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := access.Allow(r.Context(), access.ManageProtocols)
		if err != nil {
			return err
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			return apperr.E(apperr.Invalid, "send the protocol document as application/json")
		}
		doc, err := io.ReadAll(r.Body)
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return apperr.Ef(apperr.Invalid, "the request body is over %d bytes", tooBig.Limit)
			}
			return apperr.Wrap(apperr.Invalid, err, "reading the protocol document")
		}
		added, err := s.deps.Protocols.Add(r.Context(), doc, "user:"+p.Name)
		if err != nil {
			return err
		}
		w.Header().Set("Location", "/api/v1/protocols/"+added.ID+"?version="+strconv.Itoa(added.Version))
		return encode(w, http.StatusCreated, s.protocolSummary(added))
	}
}

// handleApplyProtocol proposes what a protocol suggests for one person.
// It changes nothing: the coordinator decides item by item when adding
// them to the person's plan. Reading the person's record for it is a read
// of person data, checked and audited.
func (s *Server) handleApplyProtocol() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		p, err := s.deps.Protocols.Library().Get(r.PathValue("protocol"))
		if err != nil {
			return err
		}
		if _, err := s.deps.Policy.Check(r.Context(), "read", access.Request{Perm: access.ReadRecord, PersonID: id, Type: "Patient"}); err != nil {
			return err
		}
		start := time.Now()
		prop, err := s.applyProtocol(r.Context(), p, id, nil)
		if err != nil {
			return err
		}
		return encode(w, http.StatusOK, map[string]any{"person": id, "proposal": prop, "took_ms": float64(time.Since(start).Microseconds()) / 1000})
	}
}

// applyProtocol proposes p for person id; inPlan holds the keys of items
// the person's plan already carries.
func (s *Server) applyProtocol(ctx context.Context, p *protocols.Protocol, id int64, inPlan map[string]bool) (protocols.Proposal, error) {
	if s.deps.Records == nil || s.deps.Codes == nil {
		return protocols.Proposal{}, apperr.E(apperr.Unavailable, "applying protocols needs the record store")
	}
	b, err := s.deps.Records.ClusterBatch(ctx, id-1, 1)
	if err != nil {
		return protocols.Proposal{}, err
	}
	if len(b.People) == 0 || b.People[0].ID != id {
		return protocols.Proposal{}, apperr.Ef(apperr.NotFound, "no person %d, or the record was merged into another: use the surviving record", id)
	}
	now := s.deps.Now()
	who := protocols.PersonFrom(b, id, s.deps.Codes, now)
	who.InPlan = inPlan
	if s.deps.Population != nil {
		if eng, err := s.deps.Population.Engine(); err == nil {
			who.InCohort = func(text string) (bool, error) {
				x, err := eng.Parse(text)
				if err != nil {
					return false, err
				}
				return eng.Member(x, id, now)
			}
		}
	}
	return protocols.Apply(p, who)
}
