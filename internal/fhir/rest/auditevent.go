package rest

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/audit"
	"github.com/wholecare/wholecare/internal/fhir"
	"github.com/wholecare/wholecare/internal/fhir/query"
)

// The audit log as AuditEvents. Guard.CanReadAudit decides who may read
// which entries and records the reading, so these handlers make no
// Accessed call: a privacy officer may read any entry, a person (or their
// carer) the entries about their own record.

// readAuditEvent serves GET AuditEvent/[id]. The id says nothing about
// whose entry it is, so the entry is fetched first and the guard asked
// about its person.
func (h *Handler) readAuditEvent(w http.ResponseWriter, r *http.Request, id string) error {
	seq, ok := fhir.ParseAuditEventID(id)
	if !ok {
		return apperr.E(apperr.NotFound, "no AuditEvent with that id")
	}
	ctx := r.Context()
	evs, err := h.deps.Store.AuditEvents(ctx, audit.Filter{AfterSeq: seq - 1, BeforeSeq: seq + 1, Limit: 1})
	if err != nil {
		return err
	}
	if len(evs) == 0 || evs[0].Seq != seq {
		return apperr.Ef(apperr.NotFound, "no AuditEvent %s", id)
	}
	if err := h.deps.Guard.CanReadAudit(ctx, evs[0].PersonID); err != nil {
		return err
	}
	ae := fhir.AuditEventFrom(evs[0])
	writeJSON(w, http.StatusOK, &ae)
	return nil
}

// searchAudit serves an AuditEvent search, newest first. Pages are keyed
// by seq (the next link's _before), so they stay put while the log grows,
// and there is no total: counting would scan the log's matching entries on
// every page, and the log only grows.
func (h *Handler) searchAudit(w http.ResponseWriter, r *http.Request, s *search) error {
	ctx := r.Context()
	var f audit.Filter
	none := s.none
	if s.hasRef {
		switch len(s.people) {
		case 0:
			// No Patient Wholecare knows, so no entries: nothing to guard.
			writeJSON(w, http.StatusOK, h.keysetSearchset(r, s, nil, 0))
			return nil
		case 1:
			f.PersonID = s.people[0]
		default:
			return invalidValue("patient", "an AuditEvent search takes one patient")
		}
	}
	var agent string
	for _, c := range s.clauses {
		if len(c) > 1 {
			return apperr.E(apperr.Invalid, "an AuditEvent search takes one value per parameter (repeat date for a range)")
		}
		if len(c) == 0 {
			continue // s.none says so
		}
		switch fl := c[0]; fl.Field {
		case query.Date:
			from, to := auditRange(fl.Date)
			if !from.IsZero() && from.After(f.From) {
				f.From = from
			}
			if !to.IsZero() && (f.To.IsZero() || to.Before(f.To)) {
				f.To = to
			}
		case fieldAgent:
			none = none || agent != "" && agent != fl.Value
			agent = fl.Value
		case fieldAction:
			none = none || f.Action != "" && f.Action != fl.Value
			f.Action = fl.Value
		}
	}
	none = none || !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To)

	if err := h.deps.Guard.CanReadAudit(ctx, f.PersonID); err != nil {
		return err
	}
	if !none && agent != "" {
		u, err := h.deps.Store.UserByName(ctx, agent)
		switch {
		case apperr.Is(err, apperr.NotFound):
			none = true
		case err != nil:
			// The store's message names the user: keep it out of the log.
			return apperr.E(apperr.KindOf(err), "finding the agent's user")
		default:
			f.UserID = u.ID
		}
	}
	var rs []resource
	var next int64
	if !none && s.count > 0 {
		f.BeforeSeq, f.Limit = s.before, s.count+1
		evs, err := h.deps.Store.AuditEvents(ctx, f)
		if err != nil {
			return err
		}
		if len(evs) > s.count {
			evs = evs[:s.count]
			next = evs[len(evs)-1].Seq
		}
		for _, e := range evs {
			ae := fhir.AuditEventFrom(e)
			rs = append(rs, resource{fhir.TypeAuditEvent, ae.ID, e.PersonID, &ae})
		}
	}
	writeJSON(w, http.StatusOK, h.keysetSearchset(r, s, rs, next))
	return nil
}

// auditRange turns a date search value into the [from, to) range of
// recording times it matches; a zero end is open.
func auditRange(d query.DateRange) (from, to time.Time) {
	switch d.Prefix {
	case query.Ge:
		return d.From, time.Time{}
	case query.Gt:
		return d.To, time.Time{}
	case query.Le:
		return time.Time{}, d.To
	case query.Lt:
		return time.Time{}, d.From
	}
	return d.From, d.To
}

// keysetSearchset builds a searchset paged newest first: self, first (when
// this is not the first page) and next (before the seq next, when there is
// more) links, and no total.
func (h *Handler) keysetSearchset(r *http.Request, s *search, match []resource, next int64) *Bundle {
	base := h.base(r)
	b := &Bundle{ResourceType: "Bundle", Type: "searchset", Timestamp: fhir.Instant(h.deps.Now())}
	link := func(rel string, before int64) {
		u := searchURL(base, s, func(v url.Values) {
			v.Set("_count", strconv.Itoa(s.count))
			if before > 0 {
				v.Set("_before", strconv.FormatInt(before, 10))
			}
		})
		b.Link = append(b.Link, BundleLink{Relation: rel, URL: u})
	}
	link("self", s.before)
	if s.before > 0 {
		link("first", 0)
	}
	if next > 0 {
		link("next", next)
	}
	b.Entry = appendEntries(make([]BundleEntry, 0, len(match)), base, "match", match)
	return b
}
