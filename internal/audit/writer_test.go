package audit

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
)

// tagged is an event that says which caller and call it came from.
func tagged(caller, call, part int) Event {
	e := readEvent()
	e.At = time.Time{} // stamped by the writer
	e.Detail = fmt.Sprintf("%d/%d/%d", caller, call, part)
	return e
}

// checkStoredOnce checks that every tagged event is stored exactly once,
// each call's events contiguous and in order, and that the log verifies.
func checkStoredOnce(t *testing.T, m *memLog, callers, calls int, parts func(caller, call int) int) {
	t.Helper()
	seen := map[string]int{}
	for i, e := range m.rows {
		seen[e.Detail]++
		var c, k, p int
		if _, err := fmt.Sscanf(e.Detail, "%d/%d/%d", &c, &k, &p); err != nil {
			t.Fatalf("entry %d detail %q", e.Seq, e.Detail)
		}
		if p > 0 && m.rows[i-1].Detail != fmt.Sprintf("%d/%d/%d", c, k, p-1) {
			t.Errorf("entry %d (%s) does not follow its call's previous event", e.Seq, e.Detail)
		}
	}
	want := 0
	for c := range callers {
		for k := range calls {
			for p := range parts(c, k) {
				want++
				if n := seen[fmt.Sprintf("%d/%d/%d", c, k, p)]; n != 1 {
					t.Errorf("event %d/%d/%d stored %d times, want once", c, k, p, n)
				}
			}
		}
	}
	if len(m.rows) != want {
		t.Errorf("%d entries stored, want %d", len(m.rows), want)
	}
	if r := mustVerify(t, m, VerifyOptions{}); !r.OK() {
		t.Errorf("the log does not verify: %s", r.Err())
	}
}

func TestWriterBatchesConcurrentCallers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMemLog()
		m.delay = time.Millisecond // one commit takes a millisecond of (fake) time
		now := time.Date(2025, 4, 1, 12, 0, 0, 0, time.UTC)
		w := NewWriter(m, nil, func() time.Time { return now })
		const callers, calls = 64, 20
		parts := func(c, k int) int { return 1 + (c+k)%3 } // 1 to 3 events a call
		var wg sync.WaitGroup
		for c := range callers {
			wg.Go(func() {
				for k := range calls {
					evs := make([]Event, parts(c, k))
					for p := range evs {
						evs[p] = tagged(c, k, p)
					}
					if err := w.Record(t.Context(), evs...); err != nil {
						t.Errorf("Record: %v", err)
					}
				}
			})
		}
		wg.Wait()
		w.Close()
		checkStoredOnce(t, m, callers, calls, parts)
		t.Logf("%d calls, %d events in %d batches", callers*calls, len(m.rows), len(m.batches))
		// While one batch commits every other caller queues, so the
		// batches are a few per round of calls, not one per call.
		if len(m.batches) > callers*calls/8 {
			t.Errorf("%d batches for %d calls, want at most %d", len(m.batches), callers*calls, callers*calls/8)
		}
		for _, n := range m.batches {
			if n > MaxBatch+MaxRecord {
				t.Errorf("a batch of %d events, want at most about %d", n, MaxBatch)
			}
		}
		if got := m.rows[0].At; !got.Equal(now) {
			t.Errorf("At = %v, want the writer's clock %v", got, now)
		}
	})
}

// The same under real scheduling, for the race detector: no fake time, a
// store that takes real time.
func TestWriterConcurrentRealTime(t *testing.T) {
	m := newMemLog()
	m.delay = 200 * time.Microsecond
	w := NewWriter(m, nil, time.Now)
	defer w.Close()
	const callers, calls = 16, 25
	one := func(int, int) int { return 1 }
	var wg sync.WaitGroup
	for c := range callers {
		wg.Go(func() {
			for k := range calls {
				if err := w.Record(t.Context(), tagged(c, k, 0)); err != nil {
					t.Errorf("Record: %v", err)
				}
			}
		})
	}
	wg.Wait()
	checkStoredOnce(t, m, callers, calls, one)
	t.Logf("%d events in %d batches", len(m.rows), len(m.batches))
}

func TestWriterLargeBatchesAreSplit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMemLog()
		m.delay = time.Millisecond
		w := NewWriter(m, nil, time.Now)
		var wg sync.WaitGroup
		const callers = 40
		full := func(int, int) int { return MaxRecord / 4 }
		for c := range callers {
			wg.Go(func() {
				evs := make([]Event, MaxRecord/4)
				for p := range evs {
					evs[p] = tagged(c, 0, p)
				}
				if err := w.Record(t.Context(), evs...); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		w.Close()
		checkStoredOnce(t, m, callers, 1, full)
		for _, n := range m.batches {
			if n > MaxBatch {
				t.Errorf("batch of %d events, want at most %d", n, MaxBatch)
			}
		}
	})
}

func TestWriterErrorsReachEveryCallerOfTheBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMemLog()
		m.delay = time.Millisecond
		m.fail = apperr.E(apperr.Unavailable, "database is locked")
		w := NewWriter(m, nil, time.Now)
		defer w.Close()
		var wg sync.WaitGroup
		errs := make([]error, 10)
		for i := range errs {
			wg.Go(func() { errs[i] = w.Record(t.Context(), tagged(i, 0, 0)) })
		}
		wg.Wait()
		for i, err := range errs {
			if !apperr.Is(err, apperr.Unavailable) {
				t.Errorf("caller %d: %v, want the store's Unavailable error", i, err)
			}
		}
		// The writer carries on once the store does.
		m.mu.Lock()
		m.fail = nil
		m.mu.Unlock()
		if err := w.Record(t.Context(), tagged(0, 1, 0)); err != nil {
			t.Errorf("Record after recovery: %v", err)
		}
		if len(m.rows) != 1 {
			t.Errorf("%d rows stored, want 1", len(m.rows))
		}
	})
}

func TestWriterRefusals(t *testing.T) {
	m := newMemLog()
	w := NewWriter(m, nil, time.Now)

	bad := readEvent()
	bad.Outcome = ""
	err := w.Record(t.Context(), readEvent(), bad)
	wantErr(t, err, apperr.Invalid, "outcome is missing")
	chained := readEvent()
	chained.Seq = 3
	err = w.Record(t.Context(), chained)
	wantErr(t, err, apperr.Invalid, "assigned by the log")
	err = w.Record(t.Context(), make([]Event, MaxRecord+1)...)
	wantErr(t, err, apperr.Invalid, "at most "+strconv.Itoa(MaxRecord))
	if len(m.batches) != 0 {
		t.Errorf("refused events reached the store: %v", m.batches)
	}
	if err := w.Record(t.Context()); err != nil {
		t.Errorf("Record of nothing = %v", err)
	}

	w.Close()
	w.Close()
	err = w.Record(t.Context(), readEvent())
	wantErr(t, err, apperr.Unavailable, "closed")
}

func TestWriterCloseDrainsTheQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMemLog()
		m.delay = time.Millisecond
		w := NewWriter(m, nil, time.Now)
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				if err := w.Record(t.Context(), tagged(i, 0, 0)); err != nil {
					t.Error(err)
				}
			})
		}
		synctest.Wait() // every caller is queued or committing
		w.Close()
		if len(m.rows) != 20 {
			t.Errorf("after Close %d entries stored, want 20", len(m.rows))
		}
		wg.Wait()
	})
}

func TestWriterCallerGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMemLog()
		m.delay = time.Second
		w := NewWriter(m, nil, time.Now)
		defer w.Close()
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
		defer cancel()
		err := w.Record(ctx, readEvent())
		wantErr(t, err, apperr.Unavailable, "may still be stored")
	})
}
