package sqlstore

import (
	"os"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/alerts"
	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/huddle"
)

func TestHuddlesSQLite(t *testing.T) { runHuddlesContract(t, openSQLiteTemp) }

func TestHuddlesPostgres(t *testing.T) {
	if os.Getenv("WHOLECARE_TEST_POSTGRES") == "" {
		t.Skip("WHOLECARE_TEST_POSTGRES is not set")
	}
	runHuddlesContract(t, func(t *testing.T) *DB { return openPostgresSchema(t) })
}

func runHuddlesContract(t *testing.T, open func(t *testing.T) *DB) {
	db := open(t)
	mustMigrate(t, db)
	ctx := t.Context()
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	h, err := db.AddHuddle(ctx, huddle.Huddle{TeamID: 5, Title: "MDT", EveryDays: 7, CreatedBy: "lead", CreatedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddHuddle(ctx, huddle.Huddle{TeamID: 5, Title: "", EveryDays: 7}); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("untitled huddle: %v", err)
	}
	cause := []alerts.Cause{{Kind: "x", Ref: "y", What: "z"}}
	as, err := db.RaiseAlerts(ctx, []alerts.Alert{
		{PersonID: 1, Rule: "discharge-follow-up", RuleVer: 1, Key: "a", Title: "t", Reason: "r", Priority: alerts.High, TeamID: 5, Due: t0, Causes: cause},
		{PersonID: 2, Rule: "care-gaps", RuleVer: 1, Key: "b", Title: "t", Reason: "r", Priority: alerts.Normal, TeamID: 5, Due: t0, Causes: cause}, // not an agenda rule
		{PersonID: 3, Rule: "risk-rise", RuleVer: 1, Key: "c", Title: "t", Reason: "r", Priority: alerts.High, TeamID: 6, Due: t0, Causes: cause},   // another team
	}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddHuddleItem(ctx, h.ID, 4, "worried", "nurse", t0); err != nil {
		t.Fatal(err)
	}
	m, err := db.OpenMeeting(ctx, h.ID, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	// The person added before the meeting waited for it (item 1), then the
	// team's discharge (item 2); not the care gap, not the other team's.
	if len(m.Items) != 2 || m.Items[0].Kind != huddle.Added || m.Items[0].MeetingID != m.ID || m.Items[1].AlertID != as[0].ID {
		t.Fatalf("agenda: %+v", m.Items)
	}
	if _, err := db.OpenMeeting(ctx, h.ID, t0.Add(time.Hour)); !apperr.Is(err, apperr.Conflict) {
		t.Fatalf("second open meeting: %v", err)
	}
	it, err := db.AddHuddleItem(ctx, h.ID, 7, "raised in the meeting", "gp", t0.Add(2*time.Hour))
	if err != nil || it.MeetingID != m.ID {
		t.Fatalf("added during the meeting: %+v %v", it, err)
	}
	if _, err := db.DecideItem(ctx, m.Items[1].ID, huddle.Decision{Outcome: huddle.NoAction, Text: "fine", By: "lead", At: t0.Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.DecideItem(ctx, m.Items[1].ID, huddle.Decision{Outcome: huddle.NoAction, Text: "again", By: "lead", At: t0}); !apperr.Is(err, apperr.Conflict) {
		t.Fatalf("deciding twice: %v", err)
	}
	if _, err := db.CloseMeeting(ctx, m.ID, t0.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.DecideItem(ctx, it.ID, huddle.Decision{Outcome: huddle.NoAction, Text: "late", By: "lead", At: t0}); !apperr.Is(err, apperr.Conflict) {
		t.Fatalf("deciding on a closed meeting: %v", err)
	}
	m2, err := db.OpenMeeting(ctx, h.ID, t0.AddDate(0, 0, 7))
	if err != nil {
		t.Fatal(err)
	}
	if len(m2.Items) != 2 || m2.Items[0].RolledFrom == 0 || m2.Items[1].RolledFrom == 0 {
		t.Fatalf("second agenda: %+v", m2.Items)
	}
	ms, err := db.HuddleMeetings(ctx, h.ID)
	if err != nil || len(ms) != 2 || ms[0].Open || !ms[1].Open {
		t.Fatalf("meetings: %+v %v", ms, err)
	}
	if mt := huddle.MetricsOf(ms); mt.Items != 3 || mt.Decided != 1 || mt.RolledOver != 2 || mt.MedianMinutes != 60 {
		t.Fatalf("metrics: %+v", mt)
	}
}
