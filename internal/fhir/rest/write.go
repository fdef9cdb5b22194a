package rest

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/fhir"
	"github.com/wholecare/wholecare/internal/fhir/query"
	"github.com/wholecare/wholecare/internal/ingest"
)

// maxEntries bounds the entries of one transaction or batch.
const maxEntries = 10000

// entryState is what became of one entry of a transaction or batch.
type entryState struct {
	typ      string
	err      error // the entry failed; nothing of it was written
	skip     bool  // a conditional create matched: nothing to write
	status   int   // when skipped or written
	location string
	item     int // index into the items applied, -1 for none
}

// handleBundle serves POST [base] with a transaction (all or nothing) or a
// batch (each entry on its own). What is written comes from the calling
// client: its source is "api:" + the principal's name, and a resource's id
// is the client's id for it, so that sending it again updates it.
//
// Ids of the form Wholecare gives Patients (p123) name Wholecare's people:
// a reference to Patient/p123, or a Patient entry with id p123, is about
// person 123, and the client's identity for them is recorded. Rows of the
// record with Wholecare's ids (c12-3) are refused: they belong to the
// source that sent them, and cannot be replaced by another.
//
// The identity links made for those ids and for conditional creates that
// match are written before the items are applied, and stay if a
// transaction then fails: they only record which person the client's id
// names, which was already true.
func (h *Handler) handleBundle(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p, ok := auth.FromContext(ctx)
	if !ok || p.Name == "" {
		return apperr.E(apperr.Forbidden, "no signed-in client: writes need a principal")
	}
	if err := checkFormat(r, r.URL.Query()); err != nil {
		return err
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || (mt != "application/fhir+json" && mt != "application/json") {
		return &statusError{status: http.StatusUnsupportedMediaType, code: "not-supported", msg: "send the bundle as application/fhir+json"}
	}
	b, err := fhir.ReadBundle(http.MaxBytesReader(w, r.Body, h.deps.MaxBody), "Bundle")
	if err != nil {
		return err
	}
	var atomic bool
	switch b.Type {
	case "transaction":
		atomic = true
	case "batch":
	default:
		return apperr.E(apperr.Invalid, "POST to the base takes a Bundle of type transaction or batch")
	}
	if len(b.Entries) > maxEntries {
		return &statusError{status: http.StatusRequestEntityTooLarge, code: "too-costly", msg: "more than " + strconv.Itoa(maxEntries) + " entries in one bundle"}
	}
	source := "api:" + p.Name
	now := h.deps.Now()
	st := make([]entryState, len(b.Entries))
	// fail records an entry's error; in a transaction it ends the request.
	fail := func(i int, err error) error {
		st[i].err = err
		if atomic {
			return err
		}
		return nil
	}

	// 1. The shape of each entry, then the right to write its type.
	canWrite := map[string]error{}
	for i, e := range b.Entries {
		if err := fail(i, h.checkEntry(ctx, e, canWrite)); err != nil {
			return err
		}
		if e.Resource != nil {
			st[i].typ = e.Resource.Type()
		}
	}
	// 2. Mapping to items.
	mapped := b.EntryItems(source, now)
	for i := range st {
		if st[i].err != nil {
			continue
		}
		if m := mapped[i]; !m.Mapped {
			err := m.Err
			if err == nil {
				err = apperr.Ef(apperr.Invalid, "Bundle entry %d: nothing to store", i)
			}
			if err := fail(i, unprocessable(err)); err != nil {
				return err
			}
		}
	}
	// 3. Wholecare's people named by id, and conditional creates.
	linked := map[string]error{}
	for i := range st {
		if st[i].err != nil {
			continue
		}
		it := &mapped[i].Item
		if b.Entries[i].IfNoneExist != "" {
			if err := fail(i, h.conditional(r, b.Entries[i], it, &st[i], source, now)); err != nil {
				return err
			}
			if st[i].err != nil || st[i].skip {
				continue
			}
		}
		if err := fail(i, h.linkWholecareID(r, it.Subject, source, now, linked)); err != nil {
			return err
		}
	}
	// 4. Apply.
	var items []ingest.Item
	for i := range st {
		st[i].item = -1
		if st[i].err == nil && !st[i].skip {
			st[i].item = len(items)
			items = append(items, mapped[i].Item)
		}
	}
	var res ingest.Result
	if len(items) > 0 {
		res, err = h.deps.Ingest.Apply(ctx, items, atomic, now)
		if err != nil {
			if apperr.Is(err, apperr.Invalid) {
				return unprocessable(err)
			}
			return err
		}
	}
	// 5. Statuses and locations.
	touched := map[string][]int64{}
	for i := range st {
		s := &st[i]
		if s.item < 0 {
			continue
		}
		o := res.Outcomes[s.item]
		if o.Err != nil {
			if apperr.Is(o.Err, apperr.Invalid) {
				o.Err = unprocessable(o.Err)
			}
			s.err = o.Err
			continue
		}
		it := &items[s.item]
		action := "update"
		if it.Person != nil {
			s.status = http.StatusOK
			if o.PersonCreated {
				s.status, action = http.StatusCreated, "create"
			}
			s.location = fhir.TypePatient + "/" + fhir.ResourceID(fhir.TypePatient, o.PersonID, 0)
		} else {
			s.status = http.StatusOK
			if o.Inserted > 0 {
				s.status, action = http.StatusCreated, "create"
			}
			if typ, ref, ok := itemRow(it); ok {
				person, row, found, err := h.deps.Store.RowBySource(ctx, typ, source, ref)
				if err != nil {
					return err
				}
				if found {
					s.location = typ + "/" + fhir.ResourceID(typ, person, row)
				}
			}
		}
		k := action + " " + s.typ
		touched[k] = append(touched[k], o.PersonID)
	}
	for k, people := range touched {
		action, typ, _ := strings.Cut(k, " ")
		if err := h.accessed(r, action, typ, people); err != nil {
			return err
		}
	}
	out := &Bundle{ResourceType: "Bundle", Type: b.Type + "-response", Timestamp: fhir.Instant(now)}
	for i := range st {
		s := &st[i]
		resp := &BundleResponse{Status: statusLine(s.status), Location: s.location}
		if s.err != nil {
			status, oo := outcomeOf(s.err)
			if status >= 500 && status != http.StatusServiceUnavailable {
				h.deps.Log.Error("fhir batch entry failed", "entry", i, "type", s.typ, "err", s.err)
			}
			resp = &BundleResponse{Status: statusLine(status), Outcome: &oo}
		}
		out.Entry = append(out.Entry, BundleEntry{Response: resp})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func statusLine(status int) string {
	return strconv.Itoa(status) + " " + http.StatusText(status)
}

// checkEntry checks what an entry asks for before anything is mapped:
// it decoded, it creates or updates a resource of a type the caller may
// write, and its request matches its resource.
func (h *Handler) checkEntry(ctx context.Context, e fhir.BundleEntry, canWrite map[string]error) error {
	pos := "Bundle entry " + strconv.Itoa(e.Index)
	if e.Err != nil {
		var ee *fhir.ElementError
		if errors.As(e.Err, &ee) && ee.Unsupported != "" {
			return unprocessable(apperr.Ef(apperr.Invalid, "%s: resource type %s is not stored by Wholecare", pos, safeToken(ee.Unsupported)))
		}
		return e.Err
	}
	switch e.Method {
	case http.MethodPost, http.MethodPut:
	case "":
		return apperr.Ef(apperr.Invalid, "%s: no request.method", pos)
	default:
		return apperr.Ef(apperr.Invalid, "%s: %s is not supported in a bundle (only POST and PUT)", pos, safeToken(e.Method))
	}
	if e.Resource == nil {
		return apperr.Ef(apperr.Invalid, "%s: no resource", pos)
	}
	typ, id := e.Resource.Type(), e.Resource.ID()
	switch {
	case strings.Contains(e.URL, "?"):
		return apperr.Ef(apperr.Invalid, "%s: conditional update is not supported", pos)
	case e.Method == http.MethodPost && e.URL != typ:
		return apperr.Ef(apperr.Invalid, "%s: request.url of a POST must be the resource type, %s", pos, typ)
	case e.Method == http.MethodPut && (id == "" || e.URL != typ+"/"+id):
		return apperr.Ef(apperr.Invalid, "%s: request.url of a PUT must be %s/ and the resource's id", pos, typ)
	}
	if typ != fhir.TypePatient {
		if _, _, ok := fhir.ParseResourceID(typ, id); ok {
			return unprocessable(apperr.Ef(apperr.Invalid,
				"%s: %s/%s is a Wholecare id: rows of the record belong to the source that sent them and cannot be written through the API; send your own id", pos, typ, id))
		}
	}
	err, seen := canWrite[typ]
	if !seen {
		err = h.deps.Guard.CanWrite(ctx, typ)
		canWrite[typ] = err
	}
	return err
}

// linkWholecareID makes a subject of Wholecare's Patient id form (p123)
// name person 123 for the client's source. NotFound when there is no
// such person.
func (h *Handler) linkWholecareID(r *http.Request, subject, source string, now time.Time, done map[string]error) error {
	person, _, ok := fhir.ParseResourceID(fhir.TypePatient, subject)
	if !ok {
		return nil
	}
	if err, seen := done[subject]; seen {
		return err
	}
	err := h.deps.Store.LinkIdentity(r.Context(), person, source, subject, now)
	if apperr.Is(err, apperr.NotFound) {
		err = apperr.Ef(apperr.NotFound, "no Patient %s", subject)
	}
	done[subject] = err
	return err
}

// conditional evaluates a conditional create (request.ifNoneExist) over
// everything stored, whoever may see it: no match writes the entry, one
// skips it (200 OK; the location is given only to a caller who may read
// the match), more than one is 412. A Patient that matches becomes the
// one the client's id for it names, so other entries referring to it
// land on the match.
func (h *Handler) conditional(r *http.Request, e fhir.BundleEntry, it *ingest.Item, s *entryState, source string, now time.Time) error {
	ctx := r.Context()
	pos := "Bundle entry " + strconv.Itoa(e.Index)
	typ := e.Resource.Type()
	if e.Method != http.MethodPost {
		return apperr.Ef(apperr.Invalid, "%s: ifNoneExist is only for a POST", pos)
	}
	td := h.types[typ]
	if td == nil {
		return apperr.Ef(apperr.Invalid, "%s: conditional create of %s is not supported", pos, typ)
	}
	qs := e.IfNoneExist
	if i := strings.IndexByte(qs, '?'); i >= 0 {
		qs = qs[i+1:]
	}
	values, err := url.ParseQuery(qs)
	if err != nil {
		return apperr.Ef(apperr.Invalid, "%s: ifNoneExist is not a query string", pos)
	}
	sr, err := parseSearchValues(td, values, false)
	if err != nil {
		return apperr.Ef(apperr.Invalid, "%s: ifNoneExist: %s", pos, apperr.Message(err))
	}
	type match struct{ person, row int64 }
	var matches []match
	switch {
	case sr.none:
	case typ == fhir.TypePatient:
		ids, err := h.deps.Store.FindPeople(ctx, query.People{Where: sr.clauses, Limit: 2})
		if err != nil {
			return err
		}
		for _, id := range ids {
			matches = append(matches, match{id, 0})
		}
	default:
		q := query.Rows{Type: typ, Where: sr.clauses, Limit: 2}
		if sr.hasRef {
			q.People = sr.people
		}
		b, err := h.deps.Store.SearchRows(ctx, q)
		if err != nil {
			return err
		}
		for _, res := range rowResources(typ, b) {
			_, row, _ := fhir.ParseResourceID(typ, res.id)
			matches = append(matches, match{res.person, row})
		}
	}
	switch len(matches) {
	case 0:
		return nil
	case 1:
	default:
		return &statusError{status: http.StatusPreconditionFailed, code: "multiple-matches", msg: pos + ": the conditional create matches more than one " + typ}
	}
	m := matches[0]
	if typ == fhir.TypePatient {
		if err := h.deps.Store.LinkIdentity(ctx, m.person, source, it.Subject, now); err != nil {
			return err
		}
	}
	s.skip, s.status = true, http.StatusOK
	if h.deps.Guard.CanRead(ctx, m.person, typ) == nil {
		s.location = typ + "/" + fhir.ResourceID(typ, m.person, m.row)
	}
	return nil
}

// itemRow names the first row a mapped resource gives: the type it
// exports as and the source's id for it. A blood pressure panel gives two
// rows (systolic and diastolic); its location is the first.
func itemRow(it *ingest.Item) (typ, ref string, ok bool) {
	b := &it.Rows
	switch {
	case len(b.Conditions) > 0:
		return fhir.TypeCondition, b.Conditions[0].SourceRef, true
	case len(b.Observations) > 0:
		return fhir.TypeObservation, b.Observations[0].SourceRef, true
	case len(b.Encounters) > 0:
		return fhir.TypeEncounter, b.Encounters[0].SourceRef, true
	case len(b.Medications) > 0:
		return fhir.TypeMedicationRequest, b.Medications[0].SourceRef, true
	case len(b.Immunisations) > 0:
		return fhir.TypeImmunization, b.Immunisations[0].SourceRef, true
	case len(b.Procedures) > 0:
		return fhir.TypeProcedure, b.Procedures[0].SourceRef, true
	}
	return "", "", false
}
