// Package feed turns HL7 v2 ADT messages arriving over MLLP into changes to
// the registry and record, through the same ingest service as FHIR. Every
// message is written to the message log before it is applied, and its ACK
// is returned only after the change (or the refusal) is committed: AA when
// applied, AE with an ERR segment when it parsed but could not be applied,
// AR when it could not be parsed. A repeated control id is answered from
// the log and applied once. Messages about one patient are applied one at
// a time, in the order they arrive.
//
// It never logs message contents: they are person data.
package feed

import (
	"context"
	"fmt"
	"hash/maphash"
	"log/slog"
	"sync"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/hl7v2"
	"github.com/wholecare/wholecare/internal/ingest"
)

// Log is the message log.
type Log interface {
	LogMessage(ctx context.Context, m ingest.Message) (ingest.Message, bool, error)
	FinishMessage(ctx context.Context, id int64, status ingest.MessageStatus, ackCode string, ack []byte, errText string, at time.Time) error
	Message(ctx context.Context, id int64) (ingest.Message, error)
	Messages(ctx context.Context, f ingest.MessageFilter) ([]ingest.Message, error)
}

// Applier applies ingest items; *ingest.Service is one.
type Applier interface {
	Apply(ctx context.Context, items []ingest.Item, atomic bool, now time.Time) (ingest.Result, error)
	Merge(ctx context.Context, m ingest.Merge, now time.Time) error
}

// Feed handles messages. Its zero value is not usable; use New.
type Feed struct {
	log     Log
	ingest  Applier
	now     func() time.Time
	logger  *slog.Logger
	seed    maphash.Seed
	stripes [256]sync.Mutex
}

// New returns a feed writing to log and applying through ingest.
func New(log Log, ingest Applier, now func() time.Time, logger *slog.Logger) *Feed {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Feed{log: log, ingest: ingest, now: now, logger: logger, seed: maphash.MakeSeed()}
}

// Handle processes one message from peer and returns the ACK to send, or
// nil when the message could not be logged (the store is unavailable):
// then no ACK is sent, and the sender's retry will find the message again.
func (f *Feed) Handle(ctx context.Context, peer string, raw []byte) []byte {
	now := f.now()
	msg, err := hl7v2.Parse(raw)
	if err != nil {
		ack := hl7v2.AckUnparseable(raw, apperr.Message(err), now)
		entry := ingest.Message{ReceivedAt: now, Peer: peer, Raw: raw, Status: ingest.MessageRejected, AckCode: "AR", Ack: ack, Error: apperr.Message(err), AppliedAt: now}
		if _, _, lerr := f.log.LogMessage(ctx, entry); lerr != nil {
			f.logger.Error("hl7v2: cannot log a rejected message; not acknowledging", "peer", peer, "err", lerr)
			return nil
		}
		f.logger.Info("hl7v2 message rejected", "peer", peer, "reason", apperr.Message(err))
		return ack
	}
	entry := ingest.Message{ReceivedAt: now, Peer: peer, Raw: raw, Status: ingest.MessageReceived}
	entry.SendingApp, entry.SendingFacility, entry.ControlID, entry.MessageType = header(msg)
	stored, dup, err := f.log.LogMessage(ctx, entry)
	if err != nil {
		f.logger.Error("hl7v2: cannot log a message; not acknowledging", "peer", peer, "err", err)
		return nil
	}
	if dup && stored.Status != ingest.MessageReceived && len(stored.Ack) > 0 {
		f.logger.Info("hl7v2 repeated message answered from the log", "peer", peer, "message", stored.ID, "ack", stored.AckCode)
		return stored.Ack
	}
	return f.process(ctx, stored.ID, msg, now)
}

// Replay applies a logged message again (after a crash left it received,
// or after an operator fixed what made it fail) and records the new
// outcome. It returns the new log entry.
func (f *Feed) Replay(ctx context.Context, id int64) (ingest.Message, error) {
	m, err := f.log.Message(ctx, id)
	if err != nil {
		return ingest.Message{}, err
	}
	msg, err := hl7v2.Parse(m.Raw)
	if err != nil {
		return m, apperr.Wrap(apperr.Invalid, err, fmt.Sprintf("message %d still cannot be parsed", id))
	}
	if f.process(ctx, id, msg, f.now()) == nil {
		return m, apperr.Ef(apperr.Unavailable, "message %d: the store is unavailable", id)
	}
	return f.log.Message(ctx, id)
}

// Recover replays every message left received by a crash, oldest first.
func (f *Feed) Recover(ctx context.Context) (int, error) {
	pending, err := f.log.Messages(ctx, ingest.MessageFilter{Status: ingest.MessageReceived, Limit: 1000})
	if err != nil {
		return 0, err
	}
	n := 0
	for i := len(pending) - 1; i >= 0; i-- {
		if _, err := f.Replay(ctx, pending[i].ID); err != nil && apperr.KindOf(err) == apperr.Unavailable {
			return n, err
		}
		n++
	}
	return n, nil
}

func header(m *hl7v2.Message) (app, facility, control, typ string) {
	return m.Get("MSH-3.1"), m.Get("MSH-4.1"), m.Get("MSH-10"), m.Get("MSH-9.1") + "^" + m.Get("MSH-9.2")
}

// process applies a logged, parsed message and records its outcome.
func (f *Feed) process(ctx context.Context, id int64, msg *hl7v2.Message, now time.Time) []byte {
	refuse := func(stage string, err error) []byte {
		text := apperr.Message(err)
		ack := hl7v2.AckFor(msg, coded(err), now)
		code, status := ackCode(ack), ingest.MessageError
		if code == "AR" {
			status = ingest.MessageRejected
		}
		if ferr := f.log.FinishMessage(ctx, id, status, code, ack, text, now); ferr != nil {
			f.logger.Error("hl7v2: cannot record a refusal; not acknowledging", "message", id, "err", ferr)
			return nil
		}
		f.logger.Info("hl7v2 message refused", "message", id, "stage", stage, "ack", code, "reason", text)
		return ack
	}
	adt, err := hl7v2.ParseADT(msg)
	if err != nil {
		return refuse("parse", err)
	}
	_, facility, _, _ := header(msg)
	source := "hl7v2:" + facility
	items, merge, err := adt.Items(source, now)
	if err != nil {
		return refuse("map", err)
	}
	unlock := f.lock(source, items, merge)
	err = f.apply(ctx, items, merge, now)
	unlock()
	if err != nil {
		if k := apperr.KindOf(err); k == apperr.Unavailable || k == apperr.Internal {
			f.logger.Error("hl7v2: cannot apply a message; not acknowledging", "message", id, "err", err)
			return nil
		}
		return refuse("apply", err)
	}
	ack := hl7v2.AckFor(msg, nil, now)
	if err := f.log.FinishMessage(ctx, id, ingest.MessageApplied, "AA", ack, "", now); err != nil {
		// Applied but not marked: the sender's retry replays it, which is
		// harmless (ingest is idempotent), so say nothing rather than AA.
		f.logger.Error("hl7v2: cannot record an applied message; not acknowledging", "message", id, "err", err)
		return nil
	}
	return ack
}

func (f *Feed) apply(ctx context.Context, items []ingest.Item, merge *ingest.Merge, now time.Time) error {
	if len(items) > 0 {
		res, err := f.ingest.Apply(ctx, items, true, now)
		if err != nil {
			return err
		}
		for _, o := range res.Outcomes {
			if o.Err != nil {
				return o.Err
			}
		}
	}
	if merge != nil {
		return f.ingest.Merge(ctx, *merge, now)
	}
	return nil
}

// lock serialises messages about the same patient: one stripe per
// (source, subject), taken in a fixed order when a merge names two.
func (f *Feed) lock(source string, items []ingest.Item, merge *ingest.Merge) func() {
	var keys []string
	if len(items) > 0 {
		keys = append(keys, items[0].Subject)
	}
	if merge != nil {
		keys = append(keys, merge.Into, merge.From)
	}
	idx := map[int]bool{}
	for _, k := range keys {
		idx[int(maphash.String(f.seed, source+"\x00"+k)%uint64(len(f.stripes)))] = true
	}
	var order []int
	for i := range f.stripes {
		if idx[i] {
			order = append(order, i)
		}
	}
	for _, i := range order {
		f.stripes[i].Lock()
	}
	return func() {
		for j := len(order) - 1; j >= 0; j-- {
			f.stripes[order[j]].Unlock()
		}
	}
}

// ackCode reads MSA-1 of an ACK we built.
func ackCode(ack []byte) string {
	m, err := hl7v2.Parse(ack)
	if err != nil {
		return "AE"
	}
	return m.Get("MSA-1")
}

// coded gives an error from applying a message its HL7 table 0357 code
// when the parser did not: 204 unknown key for a patient or visit
// Wholecare does not know, 205 duplicate key for a row that belongs to
// someone else, 101 for content the ingest rules refuse.
func coded(err error) error {
	if hl7v2.CodeOf(err) != hl7v2.CodeInternal {
		return err
	}
	switch apperr.KindOf(err) {
	case apperr.NotFound:
		return hl7v2.WithCode(err, hl7v2.CodeUnknownKey)
	case apperr.Conflict:
		return hl7v2.WithCode(err, hl7v2.CodeDuplicateKey)
	case apperr.Invalid:
		return hl7v2.WithCode(err, hl7v2.CodeRequiredFieldMissing)
	}
	return err
}
