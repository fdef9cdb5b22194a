package access

import (
	"context"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/audit"
	"github.com/wholecare/wholecare/internal/auth"
)

// Guard is the policy as the FHIR API and exports use it: decisions for
// reads, searches and writes by resource type, and one audit entry per
// person whose data a response carries.
type Guard struct{ pol *Policy }

// Guard returns the policy's guard.
func (pol *Policy) Guard() *Guard { return &Guard{pol: pol} }

func (g *Guard) principal(ctx context.Context) (*auth.Principal, error) {
	p, _ := auth.FromContext(ctx)
	if p == nil {
		return nil, apperr.E(apperr.Unauthenticated, "sign in or send a bearer token")
	}
	return p, nil
}

// CanRead decides whether the caller may read resourceType data of a
// person. A denial is audited; an allowed read is audited by Accessed
// once the response is built.
func (g *Guard) CanRead(ctx context.Context, personID int64, resourceType string) error {
	p, err := g.principal(ctx)
	if err != nil {
		return err
	}
	r := Request{Perm: readPerm(resourceType), PersonID: personID, Type: resourceType}
	d, err := g.pol.Decide(ctx, p, r)
	if err != nil {
		return err
	}
	if d.Allowed {
		return nil
	}
	ev := Event(p, "read", resourceType, personID, DirectCare, d, g.pol.now())
	ev.Reason = d.Why
	if err := g.pol.rec.Record(ctx, ev); err != nil {
		return apperr.Wrap(apperr.Unavailable, err, "the audit log is not available")
	}
	return apperr.E(apperr.Forbidden, d.Why)
}

// Visible keeps, in order, the people whose resourceType data the caller
// may read. People who do not exist are dropped. With a store that reads
// many people at once (BatchStore) it decides them all from a few queries,
// by the same rules as Decide, and remembers the decisions in the
// request's memo; otherwise it decides them one by one.
func (g *Guard) Visible(ctx context.Context, personIDs []int64, resourceType string) ([]int64, error) {
	p, err := g.principal(ctx)
	if err != nil {
		return nil, err
	}
	out := personIDs[:0:0]
	r := Request{Perm: readPerm(resourceType), Type: resourceType}
	if bs, ok := g.pol.store.(BatchStore); ok {
		ds, err := g.pol.decideMany(ctx, bs, p, r, personIDs)
		if err != nil {
			return nil, err
		}
		for _, id := range personIDs {
			if ds[id].Allowed {
				out = append(out, id)
			}
		}
		return out, nil
	}
	for _, id := range personIDs {
		r.PersonID = id
		d, err := g.pol.Decide(ctx, p, r)
		if apperr.Is(err, apperr.NotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if d.Allowed {
			out = append(out, id)
		}
	}
	return out, nil
}

// ReadsAll reports whether the caller may read resourceType of everyone:
// a system client whose token scopes cover it.
func (g *Guard) ReadsAll(ctx context.Context, resourceType string) bool {
	p, _ := auth.FromContext(ctx)
	return p != nil && p.Role == auth.SystemClient && p.Via == auth.ViaToken && p.Scopes.Allows(resourceType, false)
}

// CanWrite decides whether the caller may create or update resourceType
// through the API: system clients with a write scope for it.
func (g *Guard) CanWrite(ctx context.Context, resourceType string) error {
	p, err := g.principal(ctx)
	if err != nil {
		return err
	}
	if p.Role != auth.SystemClient || p.Via != auth.ViaToken || !p.Scopes.Allows(resourceType, true) {
		return apperr.Ef(apperr.Forbidden, "writing %s needs a system client token with system/%s.write", resourceType, resourceType)
	}
	return nil
}

// CanExport decides whether the caller may export the whole population:
// a system client with system/*.read.
func (g *Guard) CanExport(ctx context.Context) error {
	p, err := g.principal(ctx)
	if err != nil {
		return err
	}
	if p.Role != auth.SystemClient || p.Via != auth.ViaToken || !p.Scopes.Allows("*", false) {
		return apperr.E(apperr.Forbidden, "a bulk export needs a system client token with system/*.read")
	}
	return nil
}

// Accessed records that the caller did action on resourceType data of
// these people (nil: population-wide, such as a bulk export). It is durable
// before it returns.
func (g *Guard) Accessed(ctx context.Context, action, resourceType string, personIDs []int64) error {
	p, err := g.principal(ctx)
	if err != nil {
		return err
	}
	now := g.pol.now()
	basis := NoBasis
	if p.Role == auth.SystemClient {
		basis = SystemScope
	}
	var evs []audit.Event
	if personIDs == nil {
		ev := Event(p, action, resourceType, 0, DirectCare, Decision{Allowed: true, Basis: basis}, now)
		ev.Detail = "population-wide"
		evs = append(evs, ev)
	}
	for _, id := range personIDs {
		d := Decision{Allowed: true, Basis: basis}
		if p.Role != auth.SystemClient {
			// Record the basis the read rested on, as the person will see it.
			var err error
			if d, err = g.pol.Decide(ctx, p, Request{Perm: readPerm(resourceType), PersonID: id, Type: resourceType}); err != nil {
				return err
			}
			if !d.Allowed {
				return apperr.Ef(apperr.Internal, "access: %s read of a person the caller may not see", resourceType)
			}
		}
		evs = append(evs, Event(p, action, resourceType, id, DirectCare, d, now))
	}
	if len(evs) == 0 {
		return nil
	}
	if err := g.pol.rec.Record(ctx, evs...); err != nil {
		return apperr.Wrap(apperr.Unavailable, err, "the audit log is not available, so no record can be shown")
	}
	return nil
}

// readPerm is the permission reading a resource type needs.
func readPerm(resourceType string) Permission {
	if resourceType == "Consent" {
		return ReadConsent
	}
	return ReadRecord
}

// CanReadAudit decides whether the caller may read audit entries: a
// privacy officer (the ReadAudit permission) may read any (personID 0
// for entries about anyone); a person, or their carer, may read the
// entries about their own record. The reading is itself audited.
func (g *Guard) CanReadAudit(ctx context.Context, personID int64) error {
	p, err := g.principal(ctx)
	if err != nil {
		return err
	}
	if Has(p.Role, ReadAudit) && p.Via != auth.ViaToken {
		return g.pol.Record(ctx, AdminEvent(p, "audit-read", "AuditEvent", personID, g.pol.now()))
	}
	if personID == 0 {
		return apperr.E(apperr.Forbidden, "only a privacy officer may read the audit log; a person may read the entries about their own record (give patient)")
	}
	_, err = g.pol.Check(ctx, "read", Request{Perm: ReadAccessLog, PersonID: personID, Type: "AuditEvent"})
	return err
}
