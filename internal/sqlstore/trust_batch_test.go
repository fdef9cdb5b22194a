package sqlstore

import (
	"os"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/auth"
)

func TestTrustBatchSQLite(t *testing.T) { runTrustBatch(t, openSQLiteTemp) }

func TestTrustBatchPostgres(t *testing.T) {
	if os.Getenv("WHOLECARE_TEST_POSTGRES") == "" {
		t.Skip("WHOLECARE_TEST_POSTGRES is not set")
	}
	runTrustBatch(t, func(t *testing.T) *DB { return openPostgresSchema(t) })
}

// runTrustBatch: PeopleFacts and ActiveGrants answer, for more people
// than one query takes, exactly what PersonFacts and ActiveGrant answer
// person by person; people who do not exist are absent.
func runTrustBatch(t *testing.T, open func(t *testing.T) *DB) {
	db := open(t)
	mustMigrate(t, db)
	ctx := t.Context()
	now := time.Date(2025, 4, 1, 12, 0, 0, 0, time.UTC)
	today := now.Truncate(24 * time.Hour)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.sql.ExecContext(ctx, db.d.rebind(q), args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for team := 1; team <= 3; team++ {
		exec(`INSERT INTO care_teams (id, name, org_id, kind) VALUES (?, ?, 'ZZ0001', 'mdt')`, team, "team "+itoa(int64(team)))
	}
	u, err := db.PutUser(ctx, auth.User{Name: "sys.batch", DisplayName: "batch", Role: auth.SystemClient})
	if err != nil {
		t.Fatal(err)
	}
	u2, err := db.PutUser(ctx, auth.User{Name: "sys.other", DisplayName: "other", Role: auth.SystemClient})
	if err != nil {
		t.Fatal(err)
	}
	const people = 1200 // more than one SQLite chunk (500)
	plan := int64(0)
	for i := int64(1); i <= people; i++ {
		exec(`INSERT INTO people (person_id, nhs_number, nhs_number_status, given_name, family_name, birth_date, sex, postcode,
			imd_decile, ethnicity, practice_id, source) VALUES (?, '', 'absent', 'A', 'B', ?, 'female', '', 0, '', ?, 'test')`,
			i, db.d.date(day(1950, 1, 1)), "P"+itoa(i%3))
		team := func(id int64, start, end time.Time) {
			var e any
			if !end.IsZero() {
				e = db.d.date(end)
			}
			exec(`INSERT INTO person_care_teams (person_id, team_id, role, start_date, end_date, source) VALUES (?, ?, 'member', ?, ?, 'test')`,
				i, id, db.d.date(start), e)
		}
		if i%5 == 0 {
			team(1, today.AddDate(-1, 0, 0), time.Time{})
			team(2, today.AddDate(-1, 0, 0), today.AddDate(1, 0, 0))
		}
		if i%7 == 0 {
			team(3, today.AddDate(-1, 0, 0), today) // ended today: not current
		}
		if i%11 == 0 {
			team(3, today.AddDate(0, 0, 1), time.Time{}) // starts tomorrow
		}
		careplan := func(status string, coordinator int64) {
			plan++
			exec(`INSERT INTO careplans (person_id, plan_id, status, title, coordinator_id, coordinator, current_version, created_at, updated_at)
				VALUES (?, ?, ?, 'plan', ?, 'c', 1, ?, ?)`, i, plan, status, coordinator, db.d.instant(now), db.d.instant(now))
		}
		if i%4 == 0 {
			careplan("active", i%3+1)
			careplan("draft", 7)
		}
		if i%13 == 0 {
			careplan("closed", 8)
		}
		if i%17 == 0 {
			careplan("active", 0)
		}
		if i%50 == 0 {
			c, err := db.AddConsent(ctx, access.Consent{PersonID: i, Decision: access.Permit, Purpose: access.DirectCare, RecordedBy: u.ID,
				RecordedAt: now.Add(-48 * time.Hour), Note: "verbal"})
			if err != nil {
				t.Fatal(err)
			}
			if i%100 == 0 {
				if _, err := db.WithdrawConsent(ctx, i, c.ID, u.ID, "changed mind", now.Add(-time.Hour)); err != nil {
					t.Fatal(err)
				}
			}
		}
		if i%75 == 0 {
			if _, err := db.AddConsent(ctx, access.Consent{PersonID: i, Decision: access.Deny, Purpose: access.DirectCare, OrgID: "ZZ0002",
				RecordedBy: u.ID, RecordedAt: now.Add(-24 * time.Hour), Note: "objects"}); err != nil {
				t.Fatal(err)
			}
		}
		grant := func(user int64, expires time.Time) {
			if _, err := db.CreateGrant(ctx, access.Grant{UserID: user, PersonID: i, Reason: "emergency for " + itoa(i),
				CreatedAt: expires.Add(-4 * time.Hour), ExpiresAt: expires}); err != nil {
				t.Fatal(err)
			}
		}
		if i%20 == 0 {
			grant(u.ID, now.Add(time.Hour))
		}
		if i%30 == 0 {
			grant(u.ID, now.Add(-time.Minute)) // expired
		}
		if i%40 == 0 {
			grant(u.ID, now.Add(3*time.Hour)) // a later one: it is the one kept
		}
		if i%9 == 0 {
			grant(u2.ID, now.Add(time.Hour)) // another user's
		}
	}

	var ids []int64
	for i := int64(people + 60); i >= 0; i-- { // 0 and above people do not exist; any order
		ids = append(ids, i)
	}
	facts, err := db.PeopleFacts(ctx, ids, now)
	if err != nil {
		t.Fatal(err)
	}
	grants, err := db.ActiveGrants(ctx, u.ID, ids, now)
	if err != nil {
		t.Fatal(err)
	}
	norm := func(f access.Facts) access.Facts {
		slices.Sort(f.TeamIDs)
		slices.Sort(f.Coordinators)
		return f
	}
	var withTeams, withCoords, withConsents, withGrants int
	for _, id := range ids {
		want, err := db.PersonFacts(ctx, id, now)
		got, ok := facts[id]
		switch {
		case apperr.Is(err, apperr.NotFound):
			if ok {
				t.Errorf("person %d does not exist, but PeopleFacts has %+v", id, got)
			}
			continue
		case err != nil:
			t.Fatal(err)
		case !ok:
			t.Errorf("person %d missing from PeopleFacts", id)
			continue
		}
		if !reflect.DeepEqual(norm(got), norm(want)) {
			t.Errorf("person %d: PeopleFacts %+v, PersonFacts %+v", id, got, want)
		}
		withTeams += min(len(want.TeamIDs), 1)
		withCoords += min(len(want.Coordinators), 1)
		withConsents += min(len(want.Consents), 1)

		wantG, wantOK, err := db.ActiveGrant(ctx, u.ID, id, now)
		if err != nil {
			t.Fatal(err)
		}
		gotG, gotOK := grants[id]
		if gotOK != wantOK || !reflect.DeepEqual(gotG, wantG) {
			t.Errorf("person %d: ActiveGrants %+v %v, ActiveGrant %+v %v", id, gotG, gotOK, wantG, wantOK)
		}
		if wantOK {
			withGrants++
		}
	}
	if len(facts) != people {
		t.Errorf("PeopleFacts found %d people, want %d", len(facts), people)
	}
	// The world is varied enough to mean something.
	if withTeams != people/5 || withCoords != people/4 || withConsents == 0 || withGrants != people/20 {
		t.Errorf("%d with teams, %d with coordinators, %d with consents, %d with grants", withTeams, withCoords, withConsents, withGrants)
	}
	if f := facts[40]; len(f.Coordinators) != 2 || len(f.TeamIDs) != 2 {
		t.Errorf("person 40: %+v, want 2 current teams and 2 coordinators", f)
	}
	if g := grants[40]; !g.ExpiresAt.Equal(now.Add(3 * time.Hour)) {
		t.Errorf("person 40's grant expires %v, want the latest", g.ExpiresAt)
	}
	if m, err := db.PeopleFacts(ctx, nil, now); err != nil || len(m) != 0 {
		t.Errorf("no ids: %v, %v", m, err)
	}
}
