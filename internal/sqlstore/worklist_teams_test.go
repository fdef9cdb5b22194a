package sqlstore

import (
	"os"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/alerts"
)

func TestWorklistTeamsSQLite(t *testing.T) { runWorklistTeamsContract(t, openSQLiteTemp) }

func TestWorklistTeamsPostgres(t *testing.T) {
	if os.Getenv("WHOLECARE_TEST_POSTGRES") == "" {
		t.Skip("WHOLECARE_TEST_POSTGRES is not set")
	}
	runWorklistTeamsContract(t, func(t *testing.T) *DB { return openPostgresSchema(t) })
}

func runWorklistTeamsContract(t *testing.T, open func(t *testing.T) *DB) {
	db := open(t)
	mustMigrate(t, db)
	ctx := t.Context()
	run := mustBegin(t, db, testSpec(), false)
	if err := db.SaveDirectory(ctx, run.ID, testDirectory()); err != nil {
		t.Fatal(err)
	}
	mustSaveChunk(t, db, run.ID, 0, testBatch(1, 3))
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

	// Team 10 with its current member only (Ben left in 2024); an
	// unknown team is left out.
	teams, members, err := db.TeamRosters(ctx, []int64{10, 99}, now)
	if err != nil || len(teams) != 1 || teams[0].Name != "Park Surgery team" {
		t.Fatalf("teams: %+v %v", teams, err)
	}
	if ms := members[10]; len(ms) != 1 || ms[0].ID != 1 || ms[0].FamilyName != "Jones" || ms[0].Profession != "gp" {
		t.Fatalf("members: %+v", members)
	}
	if _, ms, _ := db.TeamRosters(ctx, []int64{10}, time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)); len(ms[10]) != 2 {
		t.Fatalf("members in 2022: %+v", ms[10])
	}
	if ts, ms, err := db.TeamRosters(ctx, nil, now); err != nil || len(ts) != 0 || len(ms) != 0 {
		t.Fatalf("no teams: %v %v %v", ts, ms, err)
	}

	// The test people share one NHS number (but the one with every
	// optional field empty); none has another.
	if ids, err := db.PeopleWithNHSNumber(ctx, "9434765919"); err != nil || len(ids) != 2 || ids[0] != 1 || ids[1] != 3 {
		t.Fatalf("by NHS number: %v %v", ids, err)
	}
	if ids, err := db.PeopleWithNHSNumber(ctx, "9999999999"); err != nil || len(ids) != 0 {
		t.Fatalf("an unknown NHS number: %v %v", ids, err)
	}
	if ids, err := db.PeopleWithNHSNumber(ctx, ""); err != nil || len(ids) != 0 {
		t.Fatalf("no NHS number: %v %v", ids, err)
	}

	// A caller's worklist: their teams' open alerts or those assigned to
	// them, each once, closed ones left out.
	cause := []alerts.Cause{{Kind: "encounter", Ref: "encounter 3", What: "emergency admission ended"}}
	alert := func(person int64, key string, p alerts.Priority, team, assignee int64) alerts.Alert {
		return alerts.Alert{PersonID: person, Rule: "discharge", RuleVer: 1, Key: key, Title: "Follow up", Reason: "discharged",
			Priority: p, TeamID: team, AssigneeID: assignee, Due: now.Add(time.Hour), Causes: cause}
	}
	raised, err := db.RaiseAlerts(ctx, []alerts.Alert{
		alert(1, "a", alerts.Low, 10, 0),
		alert(2, "b", alerts.Urgent, 20, 7), // another team's, assigned to 7
		alert(3, "c", alerts.High, 10, 7),   // both
		alert(1, "d", alerts.Normal, 20, 0), // neither
		alert(2, "e", alerts.High, 10, 0),   // to be resolved
	}, now)
	if err != nil || len(raised) != 5 {
		t.Fatalf("raise: %v %v", raised, err)
	}
	if _, err := db.MoveAlert(ctx, raised[4].ID, alerts.Move{To: alerts.Done, By: "x", Version: 1}, now); err != nil {
		t.Fatal(err)
	}
	wl, total, err := db.Worklist(ctx, alerts.Query{Teams: []int64{10, 30}, Assignee: 7, Limit: 2})
	if err != nil || total != 3 || len(wl) != 2 || wl[0].Key != "b" || wl[1].Key != "c" {
		t.Fatalf("worklist: %d %+v %v", total, wl, err)
	}
	if wl, _, _ := db.Worklist(ctx, alerts.Query{Teams: []int64{10, 30}, Assignee: 7, Limit: 2, Offset: 2}); len(wl) != 1 || wl[0].Key != "a" {
		t.Fatalf("second page: %+v", wl)
	}
	if _, n, _ := db.Worklist(ctx, alerts.Query{Teams: []int64{10}, Assignee: 7, Statuses: []alerts.Status{alerts.Done}, Limit: 10}); n != 1 {
		t.Fatalf("resolved: %d", n)
	}
}
