package audit

import (
	"context"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
)

// AppendStore stores entries durably. AppendAudit must, in one transaction,
// read the head (locking it against other writers), Chain the events onto
// it, insert them and move the head, and return the chained events only
// once the transaction has committed.
type AppendStore interface {
	AppendAudit(ctx context.Context, events []Event) ([]Event, error)
}

// Batch limits.
const (
	// MaxBatch is about how many events one store transaction holds; a
	// batch is closed once it reaches this, so it may exceed it by less
	// than one Record's worth.
	MaxBatch = 512
	// MaxRecord is the most events one Record call may hold.
	MaxRecord = 256
	// queueLen is how many Record calls may wait for the next batch
	// before callers block on the queue itself.
	queueLen = 4096
	// commitTimeout bounds one batch's store transaction: the callers of a
	// batch share it, so no caller's context may cut it short, but a hung
	// database must not hang every caller forever.
	commitTimeout = 30 * time.Second
)

// Writer records entries with group commit: Record blocks until its events
// are committed, and the Record calls that arrive while one batch is being
// committed are committed together in the next store transaction. One
// transaction (and, on SQLite, one fsync) then serves many requests, which
// is what lets every read be audited before its response is sent.
//
// A Writer is safe for concurrent use. Close drains it.
type Writer struct {
	store AppendStore
	log   *slog.Logger
	now   func() time.Time

	queue chan *pending
	done  chan struct{} // closed when the committing goroutine has exited

	mu     sync.RWMutex // held for reading while sending on queue
	closed bool
}

type pending struct {
	events []Event
	result chan error // buffered: the committer never waits for a caller
}

// NewWriter starts a writer over store. now stamps events that arrive with
// no time (time.Now when nil).
func NewWriter(store AppendStore, log *slog.Logger, now func() time.Time) *Writer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	w := &Writer{
		store: store,
		log:   log,
		now:   now,
		queue: make(chan *pending, queueLen),
		done:  make(chan struct{}),
	}
	go w.run()
	return w
}

// Record appends events to the log and returns once they are durably
// stored, in the order given and contiguous in the chain. An event with no
// At is stamped with the writer's clock. Invalid events are refused before
// anything is queued, so one caller's mistake never fails another's batch.
// If ctx ends first, Record returns an Unavailable error, and the events may
// or may not be stored: the caller must treat the action as unaudited and
// not complete it.
func (w *Writer) Record(ctx context.Context, events ...Event) error {
	if len(events) == 0 {
		return nil
	}
	if len(events) > MaxRecord {
		return apperr.Ef(apperr.Invalid, "audit: %d events in one record, at most %d", len(events), MaxRecord)
	}
	at := w.now()
	evs := make([]Event, len(events))
	for i, e := range events {
		if e.Seq != 0 || e.Prev != "" || e.Hash != "" {
			return apperr.Ef(apperr.Invalid, "audit: event %d has a seq or hash: they are assigned by the log", i)
		}
		if e.At.IsZero() {
			e.At = at
		}
		if err := e.Valid(); err != nil {
			return err
		}
		evs[i] = e
	}
	p := &pending{events: evs, result: make(chan error, 1)}

	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return apperr.E(apperr.Unavailable, "audit: the audit writer is closed")
	}
	select {
	case w.queue <- p:
		w.mu.RUnlock()
	case <-ctx.Done():
		w.mu.RUnlock()
		return apperr.Wrap(apperr.Unavailable, ctx.Err(), "audit: gave up waiting to record")
	}

	select {
	case err := <-p.result:
		return err
	case <-ctx.Done():
		return apperr.Wrap(apperr.Unavailable, ctx.Err(), "audit: gave up waiting for the audit log (the entry may still be stored)")
	}
}

// Close stops accepting events, commits everything already queued and
// returns when it is stored (or has failed). Calling it again does nothing.
func (w *Writer) Close() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.queue)
	}
	w.mu.Unlock()
	<-w.done
}

// run is the committing goroutine: it takes the first waiting call, adds
// every other call already queued (up to MaxBatch events), commits them in
// one store transaction and answers each caller. Calls that arrive during
// the commit wait in the queue and make up the next batch, so the batch
// grows with the load and no timer is needed.
func (w *Writer) run() {
	defer close(w.done)
	var batch []*pending
	for {
		p, ok := <-w.queue
		if !ok {
			return
		}
		batch = append(batch[:0], p)
		n := len(p.events)
		// The callers just answered are usually about to queue again; let
		// them, so that they join this batch rather than the next.
		runtime.Gosched()
	collect:
		for n < MaxBatch {
			select {
			case q, ok := <-w.queue:
				if !ok {
					break collect // closed: commit this batch; the next receive ends the loop
				}
				batch = append(batch, q)
				n += len(q.events)
			default:
				break collect
			}
		}
		w.commit(batch, n)
		clear(batch) // let the answered calls' events be collected
	}
}

func (w *Writer) commit(batch []*pending, n int) {
	events := make([]Event, 0, n)
	for _, p := range batch {
		events = append(events, p.events...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	_, err := w.store.AppendAudit(ctx, events)
	cancel()
	if err != nil {
		// Every caller gets the error and will refuse its request; the log
		// line is the one place an operator sees that auditing is failing.
		w.log.Error("audit entries not stored", "events", n, "callers", len(batch), "kind", apperr.KindOf(err).String(), "err", err)
		err = apperr.Wrap(apperr.KindOf(err), err, "audit: storing the audit entries")
	}
	for _, p := range batch {
		p.result <- err
	}
}
