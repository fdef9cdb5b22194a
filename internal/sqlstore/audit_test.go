package sqlstore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/audit"
)

var (
	_ audit.AppendStore = (*DB)(nil)
	_ audit.Source      = (*DB)(nil)
)

func TestAuditSQLite(t *testing.T) {
	runAuditContract(t, openSQLiteTemp)
}

func TestAuditPostgres(t *testing.T) {
	if os.Getenv("WHOLECARE_TEST_POSTGRES") == "" {
		t.Skip("WHOLECARE_TEST_POSTGRES is not set")
	}
	runAuditContract(t, func(t *testing.T) *DB { return openPostgresSchema(t) })
}

var auditT0 = time.Date(2025, 4, 1, 9, 0, 0, 0, time.UTC)

// auditEvent is entry i of a test log: people 100–102 in turn, users 7 and
// 8 in turn, a second apart, with a sub-microsecond part the store drops.
func auditEvent(i int) audit.Event {
	return audit.Event{
		At: auditT0.Add(time.Duration(i)*time.Second + 1234567*time.Nanosecond), UserID: int64(7 + i%2),
		UserName: fmt.Sprintf("user%d", 7+i%2), Role: "clinician", OrgID: "B86001", PersonID: int64(100 + i%3),
		Action: audit.ActionRead, ResourceType: "Patient", Purpose: audit.PurposeDirectCare, Basis: audit.BasisCareTeam,
		Outcome: audit.OutcomeAllowed, Detail: fmt.Sprintf("GET /api/people/{id} #%d", i),
	}
}

// mustAuditLog appends n entries in batches of three and returns them as
// stored.
func mustAuditLog(t *testing.T, db *DB, n int) []audit.Event {
	t.Helper()
	var all []audit.Event
	for i := 0; i < n; i += 3 {
		var evs []audit.Event
		for j := i; j < min(i+3, n); j++ {
			evs = append(evs, auditEvent(j))
		}
		got, err := db.AppendAudit(t.Context(), evs)
		if err != nil {
			t.Fatalf("AppendAudit: %v", err)
		}
		all = append(all, got...)
	}
	return all
}

func mustVerifyDB(t *testing.T, db *DB, opt audit.VerifyOptions) audit.Report {
	t.Helper()
	r, err := audit.Verify(t.Context(), db, opt)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return r
}

// dropAuditGuards removes the append-only triggers, as someone with the
// database owner's rights would before tampering.
func dropAuditGuards(t *testing.T, db *DB) {
	t.Helper()
	stmts := []string{`DROP TRIGGER audit_events_no_update`, `DROP TRIGGER audit_events_no_delete`}
	if db.d.postgres {
		stmts = []string{`DROP TRIGGER audit_events_no_change ON audit_events`}
	}
	for _, s := range stmts {
		if _, err := db.sql.ExecContext(t.Context(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func mustExec(t *testing.T, db *DB, q string, args ...any) {
	t.Helper()
	res, err := db.sql.ExecContext(t.Context(), db.d.rebind(q), args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	if n, _ := res.RowsAffected(); n < 1 {
		t.Fatalf("%s changed no row", q)
	}
}

// overwriteAuditRow writes e's content, all but seq, into the row at seq:
// raw SQL, as a tamperer would.
func overwriteAuditRow(t *testing.T, db *DB, seq int64, e audit.Event) {
	t.Helper()
	mustExec(t, db, `UPDATE audit_events SET at = ?, user_id = ?, user_name = ?, role = ?, org_id = ?, person_id = ?, action = ?,
		resource_type = ?, purpose = ?, basis = ?, outcome = ?, reason = ?, detail = ?, prev = ?, hash = ? WHERE seq = ?`,
		db.d.instant(e.At), e.UserID, e.UserName, e.Role, e.OrgID, e.PersonID, e.Action, e.ResourceType, e.Purpose, e.Basis,
		e.Outcome, e.Reason, e.Detail, e.Prev, e.Hash, seq)
}

func runAuditContract(t *testing.T, open func(t *testing.T) *DB) {
	t.Run("appended entries come back chained and verify", func(t *testing.T) {
		db := open(t)
		mustMigrate(t, db)
		r := mustVerifyDB(t, db, audit.VerifyOptions{})
		if !r.OK() || r.Checked != 0 || r.Head != audit.EmptyHead || r.StoredHead != audit.EmptyHead {
			t.Errorf("empty log: %+v, want sound with the empty head", r)
		}
		stored := mustAuditLog(t, db, 7)
		for i, e := range stored {
			if e.Seq != int64(i+1) || e.At.Nanosecond()%1000 != 0 {
				t.Errorf("entry %d: seq %d, at %v; want seq %d and whole microseconds", i, e.Seq, e.At, i+1)
			}
		}
		var scanned []audit.Event
		var head audit.Head
		err := db.ScanAudit(t.Context(), func(h audit.Head) error { head = h; return nil },
			func(e audit.Event) error { scanned = append(scanned, e); return nil })
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(stored, scanned, utc); diff != "" {
			t.Errorf("ScanAudit (-appended +scanned):\n%s", diff)
		}
		want := audit.Head{Seq: 7, Hash: stored[6].Hash}
		if got, err := db.AuditHead(t.Context()); err != nil || head != want || got != want {
			t.Errorf("head = %v (scan), %v, %v (AuditHead); want %v", head, got, err, want)
		}
		r = mustVerifyDB(t, db, audit.VerifyOptions{ExpectHead: audit.Head{Seq: 3, Hash: stored[2].Hash}})
		if !r.OK() || r.Checked != 7 || r.Head != want {
			t.Errorf("Verify = %+v, want 7 sound entries", r)
		}
		_, err = db.AppendAudit(t.Context(), []audit.Event{stored[0]})
		wantKind(t, err, apperr.Invalid, "already chained")
	})

	t.Run("entries cannot be updated or deleted", func(t *testing.T) {
		db := open(t)
		mustMigrate(t, db)
		mustAuditLog(t, db, 3)
		for _, q := range []string{`UPDATE audit_events SET detail = 'x' WHERE seq = 2`, `DELETE FROM audit_events WHERE seq = 3`} {
			if _, err := db.sql.ExecContext(t.Context(), q); err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s = %v, want refused as append-only", q, err)
			}
		}
		if r := mustVerifyDB(t, db, audit.VerifyOptions{}); !r.OK() || r.Checked != 3 {
			t.Errorf("Verify = %+v, want 3 sound entries", r)
		}
	})

	t.Run("tampering is found and the first bad entry named", func(t *testing.T) {
		tests := []struct {
			name     string
			tamper   func(t *testing.T, db *DB, log []audit.Event)
			firstBad int64
			problem  audit.Problem
		}{
			{"edit a field", func(t *testing.T, db *DB, log []audit.Event) {
				mustExec(t, db, `UPDATE audit_events SET person_id = 999 WHERE seq = 4`)
			}, 4, audit.Edited},
			{"edit the time", func(t *testing.T, db *DB, log []audit.Event) {
				mustExec(t, db, `UPDATE audit_events SET at = ? WHERE seq = 6`, db.d.instant(log[5].At.Add(time.Microsecond)))
			}, 6, audit.Edited},
			{"delete a row in the middle", func(t *testing.T, db *DB, log []audit.Event) {
				mustExec(t, db, `DELETE FROM audit_events WHERE seq = 5`)
			}, 5, audit.Removed},
			{"delete the last row", func(t *testing.T, db *DB, log []audit.Event) {
				mustExec(t, db, `DELETE FROM audit_events WHERE seq = 10`)
			}, 10, audit.Truncated},
			{"swap two rows' contents", func(t *testing.T, db *DB, log []audit.Event) {
				overwriteAuditRow(t, db, 3, log[6])
				overwriteAuditRow(t, db, 7, log[2])
			}, 3, audit.Reordered},
			{"move the head back", func(t *testing.T, db *DB, log []audit.Event) {
				mustExec(t, db, `UPDATE audit_head SET seq = 8, hash = ?`, log[7].Hash)
			}, 9, audit.Added},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				db := open(t)
				mustMigrate(t, db)
				log := mustAuditLog(t, db, 10)
				dropAuditGuards(t, db)
				tt.tamper(t, db, log)
				r := mustVerifyDB(t, db, audit.VerifyOptions{})
				if r.OK() || r.FirstBad != tt.firstBad || r.Problem != tt.problem {
					t.Errorf("Verify = first bad %d (%s): %s; want first bad %d (%s)", r.FirstBad, r.Problem, r.Detail, tt.firstBad, tt.problem)
				}
				if err := r.Err(); !strings.Contains(fmt.Sprint(err), fmt.Sprintf("entry %d", tt.firstBad)) {
					t.Errorf("Err = %v, want it to name entry %d", err, tt.firstBad)
				}
			})
		}
	})

	t.Run("a missing head stops appends and fails verify", func(t *testing.T) {
		db := open(t)
		mustMigrate(t, db)
		mustAuditLog(t, db, 2)
		mustExec(t, db, `DELETE FROM audit_head`)
		_, err := db.AppendAudit(t.Context(), []audit.Event{auditEvent(9)})
		wantKind(t, err, apperr.Conflict, "head is missing")
		if r := mustVerifyDB(t, db, audit.VerifyOptions{}); r.OK() || r.Problem != audit.HeadChanged {
			t.Errorf("Verify = %+v, want head-changed", r)
		}
	})

	t.Run("access log queries", func(t *testing.T) {
		db := open(t)
		mustMigrate(t, db)
		log := mustAuditLog(t, db, 12) // people 100,101,102 in turn; users 7,8 in turn
		seqs := func(es []audit.Event) []int64 {
			var out []int64
			for _, e := range es {
				out = append(out, e.Seq)
			}
			return out
		}
		tests := []struct {
			name string
			f    audit.Filter
			want []int64
		}{
			{"everything, newest first", audit.Filter{}, []int64{12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1}},
			{"one person", audit.Filter{PersonID: 101}, []int64{11, 8, 5, 2}},
			{"one user", audit.Filter{UserID: 8}, []int64{12, 10, 8, 6, 4, 2}},
			{"person and user", audit.Filter{PersonID: 101, UserID: 8}, []int64{8, 2}},
			{"action", audit.Filter{Action: audit.ActionUpdate}, nil},
			{"time range", audit.Filter{From: log[3].At, To: log[6].At}, []int64{6, 5, 4}},
			{"time range, whole seconds", audit.Filter{From: auditT0.Add(3 * time.Second), To: auditT0.Add(6 * time.Second)}, []int64{6, 5, 4}},
			{"after a seq", audit.Filter{PersonID: 100, AfterSeq: 4}, []int64{10, 7}},
			{"next page", audit.Filter{BeforeSeq: 5, Limit: 2}, []int64{4, 3}},
			{"limit", audit.Filter{Limit: 3}, []int64{12, 11, 10}},
		}
		for _, tt := range tests {
			got, err := db.AuditEvents(t.Context(), tt.f)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if diff := cmp.Diff(tt.want, seqs(got)); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tt.name, diff)
			}
		}
		got, _ := db.AuditEvents(t.Context(), audit.Filter{PersonID: 102, Limit: 1})
		if diff := cmp.Diff(log[11:12], got, utc); diff != "" {
			t.Errorf("entry as listed (-stored +listed):\n%s", diff)
		}
		_, err := db.AuditEvents(t.Context(), audit.Filter{Limit: 5000})
		wantKind(t, err, apperr.Invalid, "limit")
	})

	t.Run("concurrent writers keep one chain", func(t *testing.T) {
		// Two handles on one database stand for two processes; each runs a
		// Writer fed by many goroutines.
		db := open(t)
		mustMigrate(t, db)
		other := reopen(t, db)
		const perWriter, callers = 60, 6
		var wg sync.WaitGroup
		var n atomic.Int64
		for _, h := range []*DB{db, other} {
			w := audit.NewWriter(h, nil, time.Now)
			for range callers {
				wg.Go(func() {
					for range perWriter / callers {
						i := int(n.Add(1))
						if err := w.Record(t.Context(), auditEvent(i)); err != nil {
							t.Errorf("Record: %v", err)
						}
					}
				})
			}
			t.Cleanup(w.Close)
		}
		wg.Wait()
		r := mustVerifyDB(t, db, audit.VerifyOptions{})
		if !r.OK() || r.Checked != 2*perWriter {
			t.Fatalf("Verify = %+v, want %d sound entries", r, 2*perWriter)
		}
		seen := map[string]bool{}
		all, err := db.AuditEvents(t.Context(), audit.Filter{Limit: audit.MaxLimit})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range all {
			if seen[e.Detail] {
				t.Errorf("%q stored twice", e.Detail)
			}
			seen[e.Detail] = true
		}
		if len(seen) != 2*perWriter {
			t.Errorf("%d distinct entries, want %d", len(seen), 2*perWriter)
		}
	})

	t.Run("appends and changes audited in their own transaction keep one chain", func(t *testing.T) {
		// A change audited in its own transaction (an HL7 v2 merge) appends
		// on whichever pooled connection its transaction has, beside the
		// audit writer's appends: each must read the head the other left.
		db := open(t)
		mustMigrate(t, db)
		const rounds = 20
		var wg sync.WaitGroup
		var n atomic.Int64
		for range 3 {
			wg.Go(func() {
				for range rounds {
					if _, err := db.AppendAudit(t.Context(), []audit.Event{auditEvent(int(n.Add(1)))}); err != nil {
						t.Errorf("AppendAudit: %v", err)
						return
					}
				}
			})
			wg.Go(func() {
				for range rounds {
					if err := appendInOwnTx(t.Context(), db, auditEvent(int(n.Add(1)))); err != nil {
						t.Errorf("appending in a change's transaction: %v", err)
						return
					}
				}
			})
		}
		wg.Wait()
		r := mustVerifyDB(t, db, audit.VerifyOptions{})
		if want := int64(6 * rounds); !r.OK() || r.Checked != want || r.Head.Seq != want {
			t.Fatalf("Verify = %+v, want %d sound entries", r, want)
		}
	})
}

// appendInOwnTx audits e the way a change audited with itself does: on a
// pooled connection, inside the change's transaction.
func appendInOwnTx(ctx context.Context, db *DB, e audit.Event) error {
	db.warm(ctx)
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := db.appendAudit(ctx, db.cached(tx), []audit.Event{e}); err != nil {
		return err
	}
	return tx.Commit()
}

// reopen opens a second handle on the same database as db.
func reopen(t *testing.T, db *DB) *DB {
	t.Helper()
	var dsn string
	if db.d.postgres {
		var schema string
		if err := db.sql.QueryRowContext(t.Context(), `SELECT current_schema()`).Scan(&schema); err != nil {
			t.Fatal(err)
		}
		base := os.Getenv("WHOLECARE_TEST_POSTGRES")
		sep := "?"
		if strings.Contains(base, "?") {
			sep = "&"
		}
		dsn = base + sep + "search_path=" + schema
	} else {
		dsn = "sqlite:" + db.where
	}
	h, err := Open(t.Context(), dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// BenchmarkAuditWriterRecord measures Writer.Record with 8 concurrent
// callers, one event a call, on a SQLite file: the cost of auditing each
// request on the demo and single-node deployment.
func BenchmarkAuditWriterRecord(b *testing.B) {
	db, err := Open(b.Context(), "sqlite:"+filepath.Join(b.TempDir(), "audit.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(b.Context()); err != nil {
		b.Fatal(err)
	}
	counter := &countingStore{DB: db}
	w := audit.NewWriter(counter, nil, time.Now)
	defer w.Close()
	const callers = 8
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range callers {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				if err := w.Record(context.Background(), auditEvent(int(i))); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	if c := counter.calls.Load(); c > 0 {
		b.ReportMetric(float64(b.N)/float64(c), "events/commit")
	}
}

// countingStore counts the transactions the Writer makes.
type countingStore struct {
	*DB
	calls atomic.Int64
}

func (c *countingStore) AppendAudit(ctx context.Context, events []audit.Event) ([]audit.Event, error) {
	c.calls.Add(1)
	return c.DB.AppendAudit(ctx, events)
}
