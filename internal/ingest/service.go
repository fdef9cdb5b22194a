package ingest

import (
	"context"
	"fmt"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/registry"
)

// Store applies validated items. It is implemented by sqlstore.
type Store interface {
	// ApplyItems applies items in order in one transaction. For each item
	// it finds the person by (Source, Subject), else by a verified NHS
	// number, else creates one when the item carries a Person; rows are
	// inserted, or replace the row stored under the same (source,
	// SourceRef). An item that cannot be applied (its person is unknown)
	// gets an error in its Outcome and is skipped — unless atomic, when the
	// whole call fails with that error and nothing is written.
	ApplyItems(ctx context.Context, items []Item, atomic bool, now time.Time) ([]Outcome, error)
	// ApplyMerge records that a source merged two of its identities.
	ApplyMerge(ctx context.Context, m Merge, now time.Time) error
	// ReceiveMessages logs, applies and answers deliveries in order in one
	// transaction, as Service.Receive describes; the items are already
	// valid. An error return means nothing was committed.
	ReceiveMessages(ctx context.Context, ds []Delivery, now time.Time) ([]Receipt, error)
}

// Outcome is what applying one item did.
type Outcome struct {
	PersonID      int64
	PersonCreated bool
	Inserted      int // rows new to Wholecare
	Replaced      int // rows that replaced an earlier version
	Cancelled     int // rows withdrawn
	Err           error
}

// Service validates items and applies them.
type Service struct {
	store Store
}

// New returns a service over store.
func New(store Store) *Service { return &Service{store: store} }

// Result sums up an Apply call.
type Result struct {
	Outcomes []Outcome // one per item given, in order
	Failed   int       // items rejected (by validation or by the store)
}

// Apply validates and normalises every item, then applies the valid ones.
// Invalid items get an error outcome and are skipped; when atomic, any
// invalid item fails the whole call (a FHIR transaction bundle) and nothing
// is written. An error return means nothing was applied.
func (s *Service) Apply(ctx context.Context, items []Item, atomic bool, now time.Time) (Result, error) {
	res := Result{Outcomes: make([]Outcome, len(items))}
	valid := make([]Item, 0, len(items))
	index := make([]int, 0, len(items))
	for i := range items {
		it := items[i]
		if err := Normalise(&it); err != nil {
			if atomic {
				return Result{}, err
			}
			res.Outcomes[i].Err = err
			res.Failed++
			continue
		}
		valid = append(valid, it)
		index = append(index, i)
	}
	if len(valid) == 0 {
		return res, nil
	}
	outs, err := s.store.ApplyItems(ctx, valid, atomic, now)
	if err != nil {
		return Result{}, err
	}
	if len(outs) != len(valid) {
		return Result{}, apperr.Ef(apperr.Internal, "ingest: store returned %d outcomes for %d items", len(outs), len(valid))
	}
	for j, o := range outs {
		res.Outcomes[index[j]] = o
		if o.Err != nil {
			res.Failed++
		}
	}
	return res, nil
}

// Merge validates and applies a source's merge of two identities.
func (s *Service) Merge(ctx context.Context, m Merge, now time.Time) error {
	if err := validMerge(m); err != nil {
		return err
	}
	return s.store.ApplyMerge(ctx, m, now)
}

func validMerge(m Merge) error {
	switch {
	case m.Source == "":
		return apperr.Ef(apperr.Invalid, "%s: merge has no source", m.At)
	case m.Into == "" || m.From == "":
		return apperr.Ef(apperr.Invalid, "%s: merge needs both the surviving and the retired identifier", m.At)
	case m.Into == m.From:
		return apperr.Ef(apperr.Invalid, "%s: merge of an identifier into itself", m.At)
	}
	return nil
}

// Receive logs, applies and answers a batch of received messages in one
// transaction, in order, so that a feed commits once for many messages.
// Each keeps its own outcome: a message whose items or merge are invalid,
// or that the store refuses (an unknown person, a row of someone else's),
// is answered by its Answer with nothing of it applied, and the others are
// unaffected. A repeated control id is answered from the log. An error
// return means nothing was committed, not even the log entries.
func (s *Service) Receive(ctx context.Context, ds []Delivery, now time.Time) ([]Receipt, error) {
	for i := range ds {
		d := &ds[i]
		if d.Entry.ID == 0 && d.Entry.Status != "" && d.Entry.Status != MessageReceived {
			continue // answered already
		}
		if d.Answer == nil {
			return nil, apperr.Ef(apperr.Internal, "ingest: delivery %d has no Answer", i)
		}
		if d.Refused != nil {
			continue
		}
		for j := range d.Items {
			if err := Normalise(&d.Items[j]); err != nil {
				d.Refused = err
				break
			}
		}
		if d.Refused == nil && d.Merge != nil {
			d.Refused = validMerge(*d.Merge)
		}
	}
	rs, err := s.store.ReceiveMessages(ctx, ds, now)
	if err != nil {
		return nil, err
	}
	if len(rs) != len(ds) {
		return nil, apperr.Ef(apperr.Internal, "ingest: store returned %d receipts for %d messages", len(rs), len(ds))
	}
	return rs, nil
}

// Normalise checks an item and puts it in the form the store keeps: dates
// as calendar dates (UTC midnight), instants in UTC, provenance filled from
// the item. Its errors name the item's place (At), the table and the field,
// never a value.
func Normalise(it *Item) error {
	fail := func(format string, args ...any) error {
		return apperr.Ef(apperr.Invalid, "%s: %s", it.At, fmt.Sprintf(format, args...))
	}
	if it.Source == "" {
		return fail("no source system")
	}
	if it.Subject == "" {
		return fail("no subject: the item does not say which person it is about")
	}
	nothing := it.Person == nil && it.Cancel == nil && it.Rows.Rows() == 0
	if nothing {
		return fail("nothing to store")
	}
	if len(it.Rows.People) > 0 || len(it.Rows.Identities) > 0 || len(it.Rows.TeamLinks) > 0 {
		return fail("people, identities and care team links are not rows of an item")
	}
	if p := it.Person; p != nil {
		if err := normalisePerson(p, it.Source); err != nil {
			return fail("%s", apperr.Message(err))
		}
	}
	if c := it.Cancel; c != nil && (c.Table != "encounters" || c.SourceRef == "") {
		return fail("only encounters can be cancelled, by their source reference")
	}
	b := &it.Rows
	prov := func(table string, i int, p *record.Provenance) error {
		if p.Source == "" {
			p.Source = it.Source
		}
		if p.Source != it.Source {
			return fail("%s row %d: source differs from the item's", table, i)
		}
		if p.SourceRef == "" {
			return fail("%s row %d: no source reference (the sender's id for the row)", table, i)
		}
		p.ReceivedAt = p.ReceivedAt.UTC()
		return nil
	}
	for i := range b.Conditions {
		c := &b.Conditions[i]
		if err := prov("conditions", i, &c.Provenance); err != nil {
			return err
		}
		if c.Code.Code == "" {
			return fail("conditions row %d: no code", i)
		}
		c.Onset, c.Abatement = Day(c.Onset), Day(c.Abatement)
		switch c.Status {
		case record.ConditionActive, record.ConditionResolved, record.ConditionInactive:
		case "":
			c.Status = record.ConditionActive
			if !c.Abatement.IsZero() {
				c.Status = record.ConditionResolved
			}
		default:
			return fail("conditions row %d: unknown status", i)
		}
	}
	for i := range b.Observations {
		o := &b.Observations[i]
		if err := prov("observations", i, &o.Provenance); err != nil {
			return err
		}
		if o.Code.Code == "" {
			return fail("observations row %d: no code", i)
		}
		if o.Effective.IsZero() {
			return fail("observations row %d: no effective time", i)
		}
		o.Effective = o.Effective.UTC()
	}
	for i := range b.Encounters {
		e := &b.Encounters[i]
		if err := prov("encounters", i, &e.Provenance); err != nil {
			return err
		}
		if !e.Class.Valid() {
			return fail("encounters row %d: unknown class", i)
		}
		if e.Start.IsZero() {
			return fail("encounters row %d: no start time", i)
		}
		e.Start, e.End = e.Start.UTC(), e.End.UTC()
		if !e.End.IsZero() && e.End.Before(e.Start) {
			return fail("encounters row %d: ends before it starts", i)
		}
	}
	for i := range b.Medications {
		m := &b.Medications[i]
		if err := prov("medications", i, &m.Provenance); err != nil {
			return err
		}
		if m.Code.Code == "" {
			return fail("medications row %d: no code", i)
		}
		m.Start, m.End = Day(m.Start), Day(m.End)
		switch m.Status {
		case record.MedicationActive, record.MedicationCompleted, record.MedicationStopped:
		case "":
			m.Status = record.MedicationActive
		default:
			return fail("medications row %d: unknown status", i)
		}
	}
	for i := range b.Immunisations {
		m := &b.Immunisations[i]
		if err := prov("immunisations", i, &m.Provenance); err != nil {
			return err
		}
		if m.Code.Code == "" || m.Date.IsZero() {
			return fail("immunisations row %d: needs a vaccine code and a date", i)
		}
		m.Date = Day(m.Date)
	}
	for i := range b.Procedures {
		p := &b.Procedures[i]
		if err := prov("procedures", i, &p.Provenance); err != nil {
			return err
		}
		if p.Code.Code == "" || p.Date.IsZero() {
			return fail("procedures row %d: needs a code and a date", i)
		}
		p.Date = Day(p.Date)
		p.EncounterID = 0 // encounter ids are Wholecare's; a source's are not known here
	}
	for i := range b.Observations {
		b.Observations[i].EncounterID = 0
	}
	if len(b.Costs) > 0 || len(b.Packages) > 0 {
		return fail("activity costs and care packages cannot be imported yet")
	}
	return nil
}

func normalisePerson(p *registry.Person, source string) error {
	if p.Source == "" {
		p.Source = source
	}
	p.BirthDate, p.DateOfDeath = Day(p.BirthDate), Day(p.DateOfDeath)
	p.ReceivedAt = p.ReceivedAt.UTC()
	switch p.Sex {
	case registry.Female, registry.Male, registry.Other, registry.Unknown:
	case "":
		p.Sex = registry.Unknown
	default:
		return apperr.E(apperr.Invalid, "person: unknown sex")
	}
	if p.IMDDecile < 0 || p.IMDDecile > 10 {
		return apperr.E(apperr.Invalid, "person: deprivation decile outside 1–10")
	}
	if p.NHSNumber == "" {
		p.NHSNumberStatus = registry.NHSAbsent
	} else if !registry.ValidNHSNumber(p.NHSNumber) {
		// Kept as data, never used to link.
		p.NHSNumberStatus = registry.NHSInvalid
	} else if p.NHSNumberStatus == "" || p.NHSNumberStatus == registry.NHSAbsent || p.NHSNumberStatus == registry.NHSInvalid {
		p.NHSNumberStatus = registry.NHSUnverified
	}
	return nil
}

// Day is the calendar date of t in UTC; the zero time stays zero.
func Day(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
