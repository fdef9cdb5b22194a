package audit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
)

// memLog is an in-memory store: the fake behind Writer and Verify tests.
type memLog struct {
	mu          sync.Mutex
	head        Head
	headMissing bool
	rows        []Event
	batches     []int // events per AppendAudit call
	delay       time.Duration
	fail        error
}

func newMemLog() *memLog { return &memLog{head: EmptyHead} }

func (m *memLog) AppendAudit(ctx context.Context, events []Event) ([]Event, error) {
	if m.delay > 0 {
		time.Sleep(m.delay)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return nil, m.fail
	}
	out, h, err := Chain(m.head, events)
	if err != nil {
		return nil, err
	}
	m.rows = append(m.rows, out...)
	m.head = h
	m.batches = append(m.batches, len(events))
	return out, nil
}

func (m *memLog) ScanAudit(ctx context.Context, head func(Head) error, each func(Event) error) error {
	m.mu.Lock()
	h, rows := m.head, slices.Clone(m.rows)
	if m.headMissing {
		h = Head{}
	}
	m.mu.Unlock()
	if err := head(h); err != nil {
		return err
	}
	for _, e := range rows {
		if err := each(e); err != nil {
			return err
		}
	}
	return nil
}

// testLog is a sound log of n entries.
func testLog(t *testing.T, n int) *memLog {
	t.Helper()
	m := newMemLog()
	for i := range n {
		e := readEvent()
		e.At = testAt.Add(time.Duration(i) * time.Second)
		e.PersonID = int64(100 + i%3)
		if _, err := m.AppendAudit(t.Context(), []Event{e}); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

func mustVerify(t *testing.T, src Source, opt VerifyOptions) Report {
	t.Helper()
	r, err := Verify(t.Context(), src, opt)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return r
}

func TestVerifySoundLog(t *testing.T) {
	for _, n := range []int{0, 1, 10} {
		m := testLog(t, n)
		var calls, last int64
		r := mustVerify(t, m, VerifyOptions{Progress: func(done, total int64) { calls++; last = done }})
		if !r.OK() || r.Err() != nil || r.Checked != int64(n) || r.Head != m.head || r.StoredHead != m.head {
			t.Errorf("%d entries: report %+v, want sound with head %v", n, r, m.head)
		}
		if calls < 2 || last != int64(n) {
			t.Errorf("%d entries: progress called %d times, last with %d", n, calls, last)
		}
	}
}

func TestVerifyFindsTampering(t *testing.T) {
	const n = 10
	// recompute rewrites entries from seq on with valid hashes, as someone
	// who knows the algorithm would, and moves the head.
	recompute := func(m *memLog, from int) {
		prev := GenesisHash
		if from > 1 {
			prev = m.rows[from-2].Hash
		}
		for i := from - 1; i < len(m.rows); i++ {
			m.rows[i].Seq, m.rows[i].Prev = int64(i+1), prev
			m.rows[i].Hash = m.rows[i].ComputeHash()
			prev = m.rows[i].Hash
		}
		m.head = Head{Seq: int64(len(m.rows)), Hash: prev}
	}
	tests := []struct {
		name     string
		tamper   func(m *memLog)
		expect   func(orig *memLog) Head
		firstBad int64
		problem  Problem
		detail   string
	}{
		{"edit a field", func(m *memLog) { m.rows[3].PersonID = 999 }, nil,
			4, Edited, "entry 4 was changed after it was written"},
		{"edit the first entry's time", func(m *memLog) { m.rows[0].At = m.rows[0].At.Add(time.Hour) }, nil,
			1, Edited, "entry 1 was changed"},
		{"edit a field and its hash", func(m *memLog) {
			m.rows[3].Purpose = PurposeAdministration
			m.rows[3].Hash = m.rows[3].ComputeHash()
		}, nil, 5, Reordered, "entry 5 does not link to entry 4: entry 4 was rewritten"},
		{"delete a middle entry", func(m *memLog) { m.rows = slices.Delete(m.rows, 4, 5) }, nil,
			5, Removed, "entry 5 is missing: entry 6 follows entry 4"},
		{"delete three middle entries", func(m *memLog) { m.rows = slices.Delete(m.rows, 4, 7) }, nil,
			5, Removed, "entries 5 to 7 are missing"},
		{"delete the first entry", func(m *memLog) { m.rows = m.rows[1:] }, nil,
			1, Removed, "entry 1 is missing: the log starts at entry 2"},
		{"delete the last entry", func(m *memLog) { m.rows = m.rows[:n-1] }, nil,
			n, Truncated, "entry 10 is missing: the log ends at entry 9 but its head records entry 10"},
		{"delete the last three entries", func(m *memLog) { m.rows = m.rows[:n-3] }, nil,
			n - 2, Truncated, "entries 8 to 10 are missing"},
		{"delete every entry", func(m *memLog) { m.rows = nil }, nil,
			1, Truncated, "entries 1 to 10 are missing: the log is empty but its head records entry 10"},
		{"swap two entries' contents", func(m *memLog) {
			m.rows[2], m.rows[6] = m.rows[6], m.rows[2]
			m.rows[2].Seq, m.rows[6].Seq = 3, 7
		}, nil, 3, Reordered, "entry 3 is not the entry written there"},
		{"swap neighbours", func(m *memLog) {
			m.rows[4], m.rows[5] = m.rows[5], m.rows[4]
			m.rows[4].Seq, m.rows[5].Seq = 5, 6
		}, nil, 5, Reordered, "entry 5 is not the entry written there"},
		{"head moved back", func(m *memLog) { m.head = Head{Seq: 8, Hash: m.rows[7].Hash} }, nil,
			9, Added, "entry 9 and after were added outside the log: its head records entry 8"},
		{"entry added beyond the head", func(m *memLog) {
			e := readEvent()
			e.Seq, e.Prev = n+1, m.head.Hash
			e.Hash = e.ComputeHash()
			m.rows = append(m.rows, e)
		}, nil, n + 1, Added, "entry 11 and after"},
		{"head hash changed", func(m *memLog) { m.head.Hash = strings.Repeat("f", 64) }, nil,
			n, HeadChanged, "the head records hash ffffffffffff… for entry 10"},
		{"head missing", func(m *memLog) { m.headMissing = true }, nil,
			0, HeadChanged, "the head record is missing; the log has 10 entries"},
		{"last entry deleted and head moved back, with an expected head", func(m *memLog) {
			m.rows = m.rows[:n-1]
			m.head = Head{Seq: n - 1, Hash: m.rows[n-2].Hash}
		}, func(orig *memLog) Head { return orig.head },
			0, Rewritten, "the expected head, entry 10, is beyond the end of the log (entry 9)"},
		{"rewritten from entry 5, expected head with its seq", func(m *memLog) {
			m.rows[4].Detail = "nothing to see"
			recompute(m, 5)
		}, func(orig *memLog) Head { return Head{Seq: 7, Hash: orig.rows[6].Hash} },
			7, Rewritten, "entry 7 is not the one recorded as head"},
		{"rewritten from entry 5, expected head hash only", func(m *memLog) {
			m.rows = slices.Delete(m.rows, 5, 6)
			recompute(m, 5)
		}, func(orig *memLog) Head { return Head{Hash: orig.rows[6].Hash} },
			0, Rewritten, "is not in the log: the log was rewritten"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig, m := testLog(t, n), testLog(t, n)
			tt.tamper(m)
			var opt VerifyOptions
			if tt.expect != nil {
				opt.ExpectHead = tt.expect(orig)
			}
			r := mustVerify(t, m, opt)
			if r.OK() || r.FirstBad != tt.firstBad || r.Problem != tt.problem || !strings.Contains(r.Detail, tt.detail) {
				t.Errorf("report = first bad %d, %s, %q;\nwant first bad %d, %s, containing %q", r.FirstBad, r.Problem, r.Detail, tt.firstBad, tt.problem, tt.detail)
			}
			err := r.Err()
			if !apperr.Is(err, apperr.Conflict) || (tt.firstBad > 0 && !strings.Contains(err.Error(), fmt.Sprintf("at entry %d (%s)", tt.firstBad, tt.problem))) {
				t.Errorf("Err = %v; want a Conflict naming entry %d", err, tt.firstBad)
			}
		})
	}
}

func TestVerifyExpectedHeadStillThere(t *testing.T) {
	m := testLog(t, 5)
	old := m.head
	oldNoSeq := Head{Hash: m.rows[2].Hash}
	for range 3 {
		if _, err := m.AppendAudit(t.Context(), []Event{readEvent()}); err != nil {
			t.Fatal(err)
		}
	}
	for _, h := range []Head{old, oldNoSeq, EmptyHead, m.head} {
		if r := mustVerify(t, m, VerifyOptions{ExpectHead: h}); !r.OK() || r.Checked != 8 {
			t.Errorf("ExpectHead %v: %+v, want sound", h, r)
		}
	}
	// The right hash at the wrong seq is not the recorded head.
	r := mustVerify(t, m, VerifyOptions{ExpectHead: Head{Seq: 4, Hash: old.Hash}})
	if r.OK() || r.FirstBad != 4 || r.Problem != Rewritten {
		t.Errorf("hash of 5 expected at 4: %+v, want rewritten at 4", r)
	}
}

type failingSource struct{ err error }

func (f failingSource) ScanAudit(ctx context.Context, head func(Head) error, each func(Event) error) error {
	return f.err
}

func TestVerifyReadError(t *testing.T) {
	want := apperr.E(apperr.Unavailable, "database is locked")
	_, err := Verify(t.Context(), failingSource{want}, VerifyOptions{})
	if !errors.Is(err, want) {
		t.Errorf("Verify = %v, want the source's error", err)
	}
}
