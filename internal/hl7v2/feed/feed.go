// Package feed turns HL7 v2 ADT messages arriving over MLLP into changes to
// the registry and record, through the same ingest service as FHIR. Every
// message is written to the message log in the transaction that applies
// it, and its ACK is returned only after that transaction (the log entry,
// the change or the refusal, and the answer) is committed: AA when
// applied, AE with an ERR segment when it parsed but could not be applied,
// AR when it could not be parsed. A repeated control id is answered from
// the log and applied once.
//
// Messages that arrive while a commit runs are committed together in the
// next (a group commit), so that one transaction and one flush serve many
// senders; each message keeps its own outcome, and one refused or failing
// never fails the others. Messages about one patient are applied one at a
// time, in the order they arrive.
//
// It never logs message contents: they are person data.
package feed

import (
	"context"
	"fmt"
	"hash/maphash"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/hl7v2"
	"github.com/wholecare/wholecare/internal/ingest"
)

// Log reads the message log.
type Log interface {
	Message(ctx context.Context, id int64) (ingest.Message, error)
	Messages(ctx context.Context, f ingest.MessageFilter) ([]ingest.Message, error)
}

// Receiver logs, applies and answers messages, one transaction a batch;
// *ingest.Service is one.
type Receiver interface {
	Receive(ctx context.Context, ds []ingest.Delivery, now time.Time) ([]ingest.Receipt, error)
}

// Options tune how a feed commits. Zero values take the defaults.
type Options struct {
	// Committers is how many batches may commit at once (default 1).
	// SQLite writes one transaction at a time anyway; with PostgreSQL,
	// more let one batch's round trips and commit overlap another's.
	Committers int
	// MaxBatch bounds the messages committed together (default
	// DefaultMaxBatch).
	MaxBatch int
	// Linger is how long a batch may wait for the messages it expects
	// (default DefaultLinger; negative: never wait).
	Linger time.Duration
}

// DefaultLinger is a little longer than a sender on the same network takes
// to read an ACK and send its next message.
const DefaultLinger = time.Millisecond

// DefaultMaxBatch is enough for every connection an MLLP server allows to
// have a message waiting, and few enough to keep one transaction short.
const DefaultMaxBatch = 64

// Feed handles messages. Its zero value is not usable; use New.
type Feed struct {
	log        Log
	receiver   Receiver
	now        func() time.Time
	logger     *slog.Logger
	committers int
	maxBatch   int
	linger     time.Duration
	seed       maphash.Seed
	stripes    [256]sync.Mutex

	mu      sync.Mutex
	pending []*job        // waiting for a commit, in arrival order
	wake    chan struct{} // closed when a message arrives, for a lingering leader
	running int           // batches being committed
	last    int           // messages in the last batch
	stats   Stats
}

// Stats counts what a feed committed.
type Stats struct {
	Commits  int64 // store transactions, one a batch
	Messages int64 // messages in them
}

// Stats returns the counts so far.
func (f *Feed) Stats() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stats
}

// job is one message waiting for its batch.
type job struct {
	ctx     context.Context
	d       ingest.Delivery
	refusal error // what refused it, when Answer was called with an error

	lead  chan struct{} // closed when batch is this job's caller's to commit
	batch []*job
	done  chan struct{} // closed when r, err and panicked are set
	r     ingest.Receipt
	err   error // the batch failed: nothing of this message was committed
	// panicked is what the store panicked with while this message was
	// alone in a batch; its caller panics with it in turn.
	panicked any
}

// New returns a feed logging and applying through receiver and reading the
// log through log.
func New(log Log, receiver Receiver, now func() time.Time, logger *slog.Logger, opts Options) *Feed {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	f := &Feed{log: log, receiver: receiver, now: now, logger: logger, committers: opts.Committers, maxBatch: opts.MaxBatch,
		linger: opts.Linger, seed: maphash.MakeSeed()}
	if f.committers < 1 {
		f.committers = 1
	}
	if f.maxBatch < 1 {
		f.maxBatch = DefaultMaxBatch
	}
	if f.linger == 0 {
		f.linger = DefaultLinger
	}
	return f
}

// Handle processes one message from peer and returns the ACK to send, or
// nil when the message could not be logged or applied because of the
// store: then no ACK is sent, and the sender's retry finds the message
// again.
func (f *Feed) Handle(ctx context.Context, peer string, raw []byte) []byte {
	now := f.now()
	j := &job{ctx: ctx}
	stage := "apply"
	msg, err := hl7v2.Parse(raw)
	if err != nil {
		ack := hl7v2.AckUnparseable(raw, apperr.Message(err), now)
		j.d.Entry = ingest.Message{ReceivedAt: now, Peer: peer, Raw: raw, Status: ingest.MessageRejected, AckCode: "AR", Ack: ack, Error: apperr.Message(err), AppliedAt: now}
		stage = "parse"
	} else {
		j.d.Entry = ingest.Message{ReceivedAt: now, Peer: peer, Raw: raw, Status: ingest.MessageReceived}
		j.d.Entry.SendingApp, j.d.Entry.SendingFacility, j.d.Entry.ControlID, j.d.Entry.MessageType = header(msg)
		if stage, err = f.prepare(j, msg, now); err != nil {
			j.d.Refused = err
		}
	}
	f.run(j)
	r := j.r
	switch {
	case j.err != nil:
		f.logger.Error("hl7v2: cannot log a message; not acknowledging", "peer", peer, "err", j.err)
		return nil
	case r.Err != nil:
		f.logger.Error("hl7v2: cannot apply a message; not acknowledging", "peer", peer, "message", r.Entry.ID, "err", r.Err)
		return nil
	case r.Duplicate:
		f.logger.Info("hl7v2 repeated message answered from the log", "peer", peer, "message", r.Entry.ID, "ack", r.Entry.AckCode)
	case stage == "parse":
		f.logger.Info("hl7v2 message rejected", "peer", peer, "message", r.Entry.ID, "reason", r.Entry.Error)
	case r.Entry.Status != ingest.MessageApplied:
		// Not the reason: ingest's errors may quote the patient's
		// identifier. `wholecare messages show` has it.
		f.logger.Info("hl7v2 message refused", "peer", peer, "message", r.Entry.ID, "stage", stage, "ack", r.Entry.AckCode,
			"kind", apperr.KindOf(j.refusal).String(), "code", int(hl7v2.CodeOf(coded(j.refusal))))
	}
	return r.Entry.Ack
}

// run commits j, holding the stripes of the patients it is about so that
// a later message about one of them waits for it.
func (f *Feed) run(j *job) {
	unlock := f.lock(j.d.Items, j.d.Merge)
	defer unlock()
	f.submit(j)
	if j.panicked != nil {
		panic(j.panicked)
	}
}

// prepare maps a parsed message to what ingest applies and sets how it is
// answered. An error refuses the message at the stage named.
func (f *Feed) prepare(j *job, msg *hl7v2.Message, now time.Time) (stage string, err error) {
	j.d.Answer = func(err error) ingest.Answer {
		if err == nil {
			return ingest.Answer{Status: ingest.MessageApplied, AckCode: "AA", Ack: hl7v2.AckFor(msg, nil, now)}
		}
		j.refusal = err
		ack := hl7v2.AckFor(msg, coded(err), now)
		code, status := ackCode(ack), ingest.MessageError
		if code == "AR" {
			status = ingest.MessageRejected
		}
		return ingest.Answer{Status: status, AckCode: code, Ack: ack, Error: apperr.Message(err)}
	}
	adt, err := hl7v2.ParseADT(msg)
	if err != nil {
		return "parse", err
	}
	_, facility, _, _ := header(msg)
	j.d.Items, j.d.Merge, err = adt.Items("hl7v2:"+facility, now)
	if err != nil {
		return "map", err
	}
	return "apply", nil
}

// submit waits until j is committed (or has failed). A caller that finds
// fewer than Committers batches running leads a batch: it gathers the
// messages waiting, lingers for the ones it expects (see fill), commits
// them, and hands the messages that arrived meanwhile to the oldest of
// their callers to lead next, so that no caller commits for others for
// long and the feed needs no goroutine of its own.
func (f *Feed) submit(j *job) {
	j.lead, j.done = make(chan struct{}), make(chan struct{})
	f.mu.Lock()
	f.pending = append(f.pending, j)
	if f.wake != nil {
		close(f.wake)
		f.wake = nil
	}
	if f.running < f.committers {
		// Nothing was waiting: a leader that ends with messages waiting
		// hands them on rather than leaving its place free.
		f.running++
		j.batch = f.takeLocked(f.maxBatch)
		f.mu.Unlock()
	} else {
		f.mu.Unlock()
		select {
		case <-j.done:
			return
		case <-j.lead:
		}
	}
	batch := f.fill(j.batch)
	f.commit(batch)
	f.mu.Lock()
	f.stats.Commits++
	f.stats.Messages += int64(len(batch))
	f.last = len(batch)
	if len(f.pending) > 0 {
		next := f.takeLocked(f.maxBatch)
		next[0].batch = next
		close(next[0].lead)
	} else {
		f.running--
	}
	f.mu.Unlock()
}

// fill waits up to Linger for the batch to grow to the size of the last
// one, taking messages as they arrive. When senders each wait for their
// ACK before sending again, the senders of the last batch send again a
// moment after it commits: waiting for them commits them together rather
// than in twos and threes, and a commit (with its writes and flush) costs
// about as much for eight messages as for one. A lone sender, whose
// batches are of one, never waits.
func (f *Feed) fill(batch []*job) []*job {
	if f.linger <= 0 {
		return batch
	}
	var timer *time.Timer
	for {
		f.mu.Lock()
		batch = append(batch, f.takeLocked(f.maxBatch-len(batch))...)
		if len(batch) >= min(f.last, f.maxBatch) {
			f.mu.Unlock()
			return batch
		}
		if f.wake == nil {
			f.wake = make(chan struct{})
		}
		wake := f.wake
		f.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(f.linger)
			defer timer.Stop()
		}
		select {
		case <-wake:
		case <-timer.C:
			f.mu.Lock()
			batch = append(batch, f.takeLocked(f.maxBatch-len(batch))...)
			f.mu.Unlock()
			return batch
		}
	}
}

// takeLocked removes the oldest waiting messages, up to n.
func (f *Feed) takeLocked(n int) []*job {
	n = min(len(f.pending), max(n, 0))
	batch := f.pending[:n:n]
	f.pending = f.pending[n:]
	if len(f.pending) == 0 {
		f.pending = nil
	}
	return batch
}

// commit receives a batch and finishes its jobs. When the batch fails for
// a reason other than the store being unavailable (one message's log entry
// cannot be stored, say) or panics, each message is committed alone, so
// that only the one at fault fails.
func (f *Feed) commit(batch []*job) {
	rs, p, err := f.receive(batch)
	if len(batch) > 1 && (p != nil || err != nil && !apperr.Is(err, apperr.Unavailable)) {
		f.logger.Warn("hl7v2: a batch of messages failed; committing them one at a time", "messages", len(batch), "err", err, "panicked", p != nil)
		for _, j := range batch {
			f.commit([]*job{j})
		}
		return
	}
	for i, j := range batch {
		switch {
		case p != nil:
			j.panicked = p
		case err != nil:
			j.err = err
		default:
			j.r = rs[i]
		}
		close(j.done)
	}
}

// receive commits a batch, turning a panic into a value.
func (f *Feed) receive(batch []*job) (rs []ingest.Receipt, panicked any, err error) {
	defer func() {
		if p := recover(); p != nil {
			panicked = p
			f.logger.Error("hl7v2: committing messages panicked", "messages", len(batch), "panic", fmt.Sprintf("%T", p))
		}
	}()
	ds := make([]ingest.Delivery, len(batch))
	for i, j := range batch {
		ds[i] = j.d
	}
	// The oldest message's context governs the commit: the MLLP server
	// gives all of them the same one.
	rs, err = f.receiver.Receive(batch[0].ctx, ds, f.now())
	return rs, nil, err
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
	j := &job{ctx: ctx, d: ingest.Delivery{Entry: m}}
	if _, err := f.prepare(j, msg, f.now()); err != nil {
		j.d.Refused = err
	}
	f.run(j)
	if err := firstErr(j.err, j.r.Err); err != nil {
		return m, apperr.Wrap(apperr.Unavailable, err, fmt.Sprintf("message %d could not be applied", id))
	}
	return f.log.Message(ctx, id)
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
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

// lock serialises messages about the same patient: one stripe per
// (source, subject), taken in a fixed order when a merge names two.
func (f *Feed) lock(items []ingest.Item, merge *ingest.Merge) func() {
	var order []int
	if len(items) > 0 {
		order = append(order, f.stripe(items[0].Source, items[0].Subject))
	}
	if merge != nil {
		order = append(order, f.stripe(merge.Source, merge.Into), f.stripe(merge.Source, merge.From))
	}
	slices.Sort(order)
	order = slices.Compact(order)
	for _, i := range order {
		f.stripes[i].Lock()
	}
	return func() {
		for j := len(order) - 1; j >= 0; j-- {
			f.stripes[order[j]].Unlock()
		}
	}
}

// stripe is the stripe of a source's patient.
func (f *Feed) stripe(source, subject string) int {
	return int(maphash.String(f.seed, source+"\x00"+subject) % uint64(len(f.stripes)))
}

func header(m *hl7v2.Message) (app, facility, control, typ string) {
	return m.Get("MSH-3.1"), m.Get("MSH-4.1"), m.Get("MSH-10"), m.Get("MSH-9.1") + "^" + m.Get("MSH-9.2")
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
