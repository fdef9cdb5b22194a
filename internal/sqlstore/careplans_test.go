package sqlstore

import (
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/careplan"
)

var _ careplan.Store = (*DB)(nil)

func TestCarePlansSQLite(t *testing.T) { runCarePlanContract(t, openSQLiteTemp) }

func TestCarePlansPostgres(t *testing.T) {
	if os.Getenv("WHOLECARE_TEST_POSTGRES") == "" {
		t.Skip("WHOLECARE_TEST_POSTGRES is not set")
	}
	runCarePlanContract(t, func(t *testing.T) *DB { return openPostgresSchema(t) })
}

// carePlanWorld is three people of testBatch (with team 10) and the
// directory of testDirectory.
func carePlanWorld(t *testing.T, db *DB) int64 {
	t.Helper()
	mustMigrate(t, db)
	run := mustBegin(t, db, testSpec(), false)
	if err := db.SaveDirectory(t.Context(), run.ID, testDirectory()); err != nil {
		t.Fatal(err)
	}
	mustSaveChunk(t, db, run.ID, 0, testBatch(run.BasePersonID, 3))
	return run.BasePersonID
}

func testPlan() careplan.Plan {
	return careplan.Plan{
		Title:           "My plan",
		WhatMattersMost: "Staying in my own home",
		Goals:           []careplan.Goal{{Text: "Walk to the post office", Importance: 8}},
		Coordinator:     careplan.Coordinator{ProfessionalID: 2, Contact: "0113 000 0000"},
		Review:          careplan.ReviewSchedule{IntervalMonths: 6, Next: "2025-10-01"},
	}
}

func runCarePlanContract(t *testing.T, open func(t *testing.T) *DB) {
	clock := time.Date(2025, 4, 1, 9, 30, 15, 123456789, time.UTC)
	now := func() time.Time { return clock }
	prof := careplan.Actor{UserID: 5, Name: "ben", Role: "care_coordinator", ProfessionalID: 2, Party: careplan.PartyProfessional}
	self := careplan.Actor{UserID: 6, Name: "mary", Role: "service_user", Party: careplan.PartyPerson}

	t.Run("versions are stored whole and never change", func(t *testing.T) {
		db := open(t)
		first := carePlanWorld(t, db)
		svc := careplan.NewService(db, now)
		ctx := t.Context()
		v1, err := svc.Create(ctx, prof, first, testPlan(), "first conversation")
		if err != nil {
			t.Fatal(err)
		}
		if v1.PlanID == 0 || v1.Plan.Coordinator.Name != "Ben Okafor" {
			t.Fatalf("created %+v", v1)
		}
		got, err := svc.Current(ctx, v1.PlanID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(v1, got); diff != "" {
			t.Errorf("current after create (-created +read):\n%s", diff)
		}
		v2, _, err := svc.PutGoal(ctx, prof, v1.PlanID, 1, careplan.Goal{ID: "g1", Text: "Walk to the post office and back", Importance: 9}, "her words")
		if err != nil {
			t.Fatal(err)
		}
		v3, err := svc.Agree(ctx, self, v1.PlanID, 2, "")
		if err != nil {
			t.Fatal(err)
		}
		again, err := svc.Version(ctx, v1.PlanID, 1)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(v1, again); diff != "" {
			t.Errorf("version 1 changed after later versions (-then +now):\n%s", diff)
		}
		if cur, _ := svc.Current(ctx, v1.PlanID); cur.Number != 3 || cur.Plan.Goals[0].Text != "Walk to the post office and back" {
			t.Errorf("current = %d %+v", cur.Number, cur.Plan.Goals)
		}
		// The database itself refuses to change a version.
		_, err = db.sql.ExecContext(ctx, db.d.rebind(`UPDATE careplan_versions SET reason = 'rewritten' WHERE plan_id = ?`), v1.PlanID)
		if err == nil {
			t.Error("an UPDATE of careplan_versions succeeded")
		}
		hist, err := svc.History(ctx, v1.PlanID)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []careplan.ChangeKind
		for _, h := range hist {
			kinds = append(kinds, h.Change.Kind)
		}
		if diff := cmp.Diff([]careplan.ChangeKind{careplan.Created, careplan.GoalPut, careplan.AgreedTo}, kinds); diff != "" {
			t.Errorf("history kinds (-want +got):\n%s", diff)
		}
		if hist[1].Change.Reason != "her words" || hist[1].Change.By != v2.Change.By || !hist[2].Change.At.Equal(v3.Change.At) {
			t.Errorf("history %+v", hist)
		}
		d, err := svc.Diff(ctx, v1.PlanID, 1, 3)
		if err != nil || len(d.Changes) != 2 {
			t.Errorf("diff 1→3: %+v %v; want the goal and the agreement", d.Changes, err)
		}
		h, err := svc.Header(ctx, v1.PlanID)
		if err != nil {
			t.Fatal(err)
		}
		want := careplan.Header{PlanID: v1.PlanID, PersonID: first, Title: "My plan", Status: careplan.Draft, Version: 3,
			Coordinator: v1.Plan.Coordinator, NextReview: "2025-10-01", CreatedAt: v1.Change.At, UpdatedAt: v3.Change.At}
		if diff := cmp.Diff(want, h); diff != "" {
			t.Errorf("header (-want +got):\n%s", diff)
		}
		plans, err := svc.PersonPlans(ctx, first)
		if err != nil || len(plans) != 1 || plans[0] != h {
			t.Errorf("PersonPlans = %+v, %v", plans, err)
		}
		if other, err := svc.PersonPlans(ctx, first+1); err != nil || len(other) != 0 {
			t.Errorf("another person's plans = %+v, %v", other, err)
		}
		var events int
		if err := db.sql.QueryRowContext(ctx, db.d.rebind(`SELECT count(*) FROM outbox WHERE kind = ?`), EventCarePlanChanged).Scan(&events); err != nil || events != 3 {
			t.Errorf("outbox holds %d care plan events (%v), want 3", events, err)
		}
	})

	t.Run("missing things are not found", func(t *testing.T) {
		db := open(t)
		first := carePlanWorld(t, db)
		svc := careplan.NewService(db, now)
		ctx := t.Context()
		_, err := svc.Create(ctx, prof, first+99, testPlan(), "")
		wantKind(t, err, apperr.NotFound, "no person")
		_, err = svc.Current(ctx, 12345)
		wantKind(t, err, apperr.NotFound, "no care plan 12345")
		v, err := svc.Create(ctx, prof, first, testPlan(), "")
		if err != nil {
			t.Fatal(err)
		}
		_, err = svc.Version(ctx, v.PlanID, 2)
		wantKind(t, err, apperr.NotFound, "no version 2")
		_, err = svc.History(ctx, 12345)
		wantKind(t, err, apperr.NotFound, "no care plan")
		pl := testPlan()
		pl.Coordinator.ProfessionalID = 77
		_, err = svc.Create(ctx, prof, first, pl, "")
		wantKind(t, err, apperr.Invalid, "not a professional in the directory")
	})

	t.Run("a stale write is refused and loses nothing", func(t *testing.T) {
		db := open(t)
		first := carePlanWorld(t, db)
		svc := careplan.NewService(db, now)
		ctx := t.Context()
		v, err := svc.Create(ctx, prof, first, testPlan(), "")
		if err != nil {
			t.Fatal(err)
		}
		// The store itself refuses a version that does not follow the current one.
		stale := v
		stale.Number = 3
		stale.Change.Reason = "skipping ahead"
		_, err = db.AppendPlanVersion(ctx, stale)
		wantKind(t, err, apperr.Conflict, "since version 2 (it is now at version 1)")
		if !errors.Is(err, careplan.ErrStale) {
			t.Errorf("%v does not wrap ErrStale", err)
		}
		// Two editors based on version 1 at once: exactly one wins.
		const editors = 8
		var wg sync.WaitGroup
		errs := make([]error, editors)
		for i := range editors {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _, errs[i] = svc.PutGoal(ctx, prof, v.PlanID, 1, careplan.Goal{Text: "goal of editor " + itoa(int64(i))}, "editor")
			}()
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case errors.Is(err, careplan.ErrStale):
			case apperr.Is(err, apperr.Unavailable): // SQLite busy under contention: also nothing written
			default:
				t.Errorf("editor: %v", err)
			}
		}
		if won != 1 {
			t.Errorf("%d editors won, want exactly 1", won)
		}
		hist, err := svc.History(ctx, v.PlanID)
		if err != nil || len(hist) != 2 {
			t.Fatalf("history has %d versions (%v), want 2", len(hist), err)
		}
		cur, _ := svc.Current(ctx, v.PlanID)
		if len(cur.Plan.Goals) != 2 {
			t.Errorf("current goals %+v; want the first goal and the winner's", cur.Plan.Goals)
		}
	})

	t.Run("overdue reviews by team and by coordinator", func(t *testing.T) {
		db := open(t)
		first := carePlanWorld(t, db)
		svc := careplan.NewService(db, now)
		ctx := t.Context()
		mk := func(person int64, coordinator int64, next careplan.Date, activate bool) careplan.Version {
			t.Helper()
			pl := testPlan()
			pl.Coordinator.ProfessionalID = coordinator
			pl.Review.Next = next
			v, err := svc.Create(ctx, prof, person, pl, "")
			if err != nil {
				t.Fatal(err)
			}
			if !activate {
				return v
			}
			for _, a := range []careplan.Actor{self, prof} {
				if v, err = svc.Agree(ctx, a, v.PlanID, v.Number, ""); err != nil {
					t.Fatal(err)
				}
			}
			if v, err = svc.SetStatus(ctx, prof, v.PlanID, v.Number, careplan.Active, "started"); err != nil {
				t.Fatal(err)
			}
			return v
		}
		late := mk(first, 2, "2025-02-01", true)
		later := mk(first+1, 1, "2025-01-01", true)
		mk(first+2, 2, "2025-02-01", false) // a draft is not reviewed
		mk(first+2, 2, "2025-06-01", true)  // not yet due
		overdue := func(q careplan.OverdueQuery, want ...int64) {
			t.Helper()
			got, err := svc.Overdue(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, h := range got {
				ids = append(ids, h.PlanID)
			}
			if diff := cmp.Diff(want, ids); diff != "" {
				t.Errorf("Overdue(%+v) (-want +got):\n%s", q, diff)
			}
		}
		// Professional 1 is in team 10, which all three people are with.
		overdue(careplan.OverdueQuery{ProfessionalID: 1}, later.PlanID, late.PlanID)
		overdue(careplan.OverdueQuery{ProfessionalID: 1, TeamID: 10}, later.PlanID, late.PlanID)
		// Professional 2 left team 10 in 2024: only the plan they coordinate.
		overdue(careplan.OverdueQuery{ProfessionalID: 2}, late.PlanID)
		overdue(careplan.OverdueQuery{ProfessionalID: 2, TeamID: 10})
		overdue(careplan.OverdueQuery{ProfessionalID: 1, TeamID: 99})
		// A review moves the date on.
		if _, err := svc.RecordReview(ctx, prof, late.PlanID, late.Number, careplan.Review{Scheduled: true, NextReview: "2025-10-01",
			Goals: []careplan.GoalProgress{{GoalID: "g1", Progress: careplan.ProgressPartly}}}); err != nil {
			t.Fatal(err)
		}
		overdue(careplan.OverdueQuery{ProfessionalID: 1}, later.PlanID)
	})
}
