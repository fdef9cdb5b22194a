package sqlstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/directory"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/registry"
	"github.com/wholecare/wholecare/internal/synth"
)

var _ synth.Store = (*DB)(nil)

func TestSQLite(t *testing.T) {
	runContract(t, openSQLiteTemp)
}

func TestPostgres(t *testing.T) {
	if os.Getenv("WHOLECARE_TEST_POSTGRES") == "" {
		t.Skip("WHOLECARE_TEST_POSTGRES is not set")
	}
	runContract(t, func(t *testing.T) *DB { return openPostgresSchema(t) })
}

// openSQLiteTemp opens an unmigrated SQLite file of its own.
func openSQLiteTemp(t *testing.T) *DB {
	t.Helper()
	db, err := Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "test.db"), nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// openPostgresSchema opens an unmigrated, empty schema of its own in the
// database named by WHOLECARE_TEST_POSTGRES, dropped when the test ends.
func openPostgresSchema(t testing.TB) *DB {
	t.Helper()
	base := os.Getenv("WHOLECARE_TEST_POSTGRES")
	admin, err := Open(t.Context(), base, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { admin.Close() })
	schema := "t_" + randomHex(t, 6)
	if _, err := admin.sql.ExecContext(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("creating schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.sql.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	db, err := Open(t.Context(), u.String(), nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func mustMigrate(t *testing.T, db *DB) {
	t.Helper()
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
}

func mustBegin(t *testing.T, db *DB, spec synth.Spec, replace bool) synth.Run {
	t.Helper()
	run, err := db.BeginGeneration(t.Context(), spec, replace)
	if err != nil {
		t.Fatalf("BeginGeneration: %v", err)
	}
	return run
}

func mustSaveChunk(t *testing.T, db *DB, runID int64, chunk int, b *record.Batch) {
	t.Helper()
	if err := db.SaveChunk(t.Context(), runID, chunk, b); err != nil {
		t.Fatalf("SaveChunk(%d): %v", chunk, err)
	}
}

func mustCounts(t *testing.T, db *DB) map[string]int64 {
	t.Helper()
	c, err := db.Counts(t.Context())
	if err != nil {
		t.Fatalf("Counts: %v", err)
	}
	return c
}

func wantKind(t *testing.T, err error, k apperr.Kind, contains string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v error containing %q", k, contains)
	}
	if got := apperr.KindOf(err); got != k {
		t.Errorf("error %q has kind %v, want %v", err, got, k)
	}
	if !strings.Contains(err.Error(), contains) {
		t.Errorf("error %q does not contain %q", err, contains)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error %q is more than one line", err)
	}
}

var testNow = time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)

func testSpec() synth.Spec {
	return synth.Spec{Seed: 1, People: 6, ChunkSize: 3, Now: testNow, Version: "test-1"}
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func testDirectory() *directory.Directory {
	return &directory.Directory{
		Organisations: []directory.Organisation{
			{ID: "B86001", Name: "Park Surgery", Kind: directory.GPPractice, ParentID: "U12345", Postcode: "LS1 4AP", ListSize: 9000},
			{ID: "QWO", Name: "West Yorkshire ICB", Kind: directory.ICB},
			{ID: "U12345", Name: "Leeds Central PCN", Kind: directory.PCN, ParentID: "QWO", Postcode: "LS1 1AA"},
		},
		Professionals: []directory.Professional{
			{ID: 1, GivenName: "Ada", FamilyName: "Jones", Profession: "gp", OrgID: "B86001", RegistrationID: "GMC1234567"},
			{ID: 2, GivenName: "Ben", FamilyName: "Okafor", Profession: "community-matron", OrgID: "B86001"},
		},
		Teams: []directory.CareTeam{{ID: 10, Name: "Park Surgery team", OrgID: "B86001", Kind: "gp-practice"}},
		Members: []directory.CareTeamMember{
			{TeamID: 10, ProfessionalID: 1, Role: "lead", Start: day(2020, 1, 1)},
			{TeamID: 10, ProfessionalID: 2, Role: "member", Start: day(2021, 6, 1), End: day(2024, 6, 1)},
		},
	}
}

// testBatch builds people first..first+n-1 with every kind of row, zero
// and non-zero times, nil and non-nil values.
func testBatch(first int64, n int) *record.Batch {
	recv := time.Date(2025, 3, 31, 23, 59, 58, 123456000, time.UTC)
	v := 7.25
	zero := 0.0
	b := &record.Batch{}
	for k := range n {
		id := first + int64(k)
		prov := record.Provenance{Source: "synth", SourceRef: "r" + strconv.FormatInt(id, 10), ReceivedAt: recv}
		p := registry.Person{ID: id, NHSNumber: "9434765919", NHSNumberStatus: registry.NHSVerified, GivenName: "Ann",
			FamilyName: "Smith", BirthDate: day(1950+k, 2, 28), Sex: registry.Female, Postcode: "LS1 4AP", IMDDecile: 3,
			Ethnicity: "A", PracticeID: "B86001", Source: "synth", ReceivedAt: recv}
		if k == 1 {
			p = registry.Person{ID: id, NHSNumberStatus: registry.NHSAbsent, Sex: registry.Unknown, Source: "synth"} // every optional field empty
		}
		if k == 2 {
			p.DateOfDeath = day(2024, 12, 25)
		}
		b.People = append(b.People, p)
		b.Identities = append(b.Identities,
			registry.SourceIdentity{PersonID: id, Source: "synth", LocalID: "L" + hex.EncodeToString([]byte{byte(id)}), ReceivedAt: recv, Provenance: "source"})
		b.TeamLinks = append(b.TeamLinks,
			registry.CareTeamLink{PersonID: id, TeamID: 10, Role: "gp-practice-team", Start: day(2010, 1, 1), Source: "synth", ReceivedAt: recv})
		b.Conditions = append(b.Conditions,
			record.Condition{PersonID: id, ID: 1, Code: record.Coding{System: record.SNOMED, Code: "13645005", Display: "COPD"},
				Onset: day(2015, 5, 5), Status: record.ConditionActive, Provenance: prov},
			record.Condition{PersonID: id, ID: 2, Code: record.Coding{System: record.ICD10, Code: "E11"},
				Onset: day(2016, 1, 1), Abatement: day(2017, 1, 1), Status: record.ConditionResolved, Provenance: prov})
		b.Encounters = append(b.Encounters,
			record.Encounter{PersonID: id, ID: 1, Class: record.EmergencyAdmission, Start: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
				End: time.Date(2024, 1, 5, 10, 0, 0, 0, time.UTC), OrgID: "RR8", Diagnosis: record.Coding{System: record.ICD10, Code: "J44.1", Display: "COPD exacerbation"},
				Discharge: "home", Provenance: prov},
			record.Encounter{PersonID: id, ID: 2, Class: record.PrimaryCare, Start: time.Date(2024, 2, 1, 9, 0, 0, 0, time.UTC), OrgID: "B86001", Provenance: prov})
		b.Observations = append(b.Observations,
			record.Observation{PersonID: id, ID: 1, Code: record.Coding{System: record.SNOMED, Code: "1003671000000109", Display: "HbA1c"},
				Value: &v, Unit: "mmol/mol", Effective: time.Date(2024, 2, 1, 9, 10, 0, 0, time.UTC), EncounterID: 2, Provenance: prov},
			record.Observation{PersonID: id, ID: 2, Code: record.Coding{System: record.SNOMED, Code: "228277007"},
				ValueCode: record.Coding{System: record.SNOMED, Code: "8517006", Display: "Ex-smoker"}, Effective: time.Date(2024, 2, 1, 9, 11, 0, 0, time.UTC), Provenance: prov},
			record.Observation{PersonID: id, ID: 3, Code: record.Coding{System: record.LOINC, Code: "8480-6"}, Value: &zero, Unit: "mm[Hg]", Provenance: prov})
		b.Medications = append(b.Medications,
			record.Medication{PersonID: id, ID: 1, Code: record.Coding{System: record.DMD, Code: "39113611000001102"}, Start: day(2020, 1, 1), Status: record.MedicationActive, Provenance: prov},
			record.Medication{PersonID: id, ID: 2, Code: record.Coding{System: record.DMD, Code: "3"}, Start: day(2020, 1, 1), End: day(2020, 2, 1), Status: record.MedicationCompleted, Provenance: prov})
		b.Immunisations = append(b.Immunisations,
			record.Immunisation{PersonID: id, ID: 1, Code: record.Coding{System: record.SNOMED, Code: "822851000000102"}, Date: day(2024, 10, 1), Provenance: prov},
			record.Immunisation{PersonID: id, ID: 2, Code: record.Coding{System: record.SNOMED, Code: "822851000000102"}, Date: day(2023, 10, 1), NotGiven: true, Provenance: prov})
		b.Procedures = append(b.Procedures,
			record.Procedure{PersonID: id, ID: 1, Code: record.Coding{System: record.OPCS4, Code: "K40.1"}, Date: day(2024, 1, 3), EncounterID: 1, Provenance: prov})
		b.Costs = append(b.Costs,
			record.ActivityCost{PersonID: id, ID: 1, EncounterID: 1, Date: day(2024, 1, 2), Setting: string(record.EmergencyAdmission), ProviderID: "RR8", Pence: 412_345_67, Provenance: prov},
			record.ActivityCost{PersonID: id, ID: 2, Date: day(2024, 3, 1), Setting: "prescribing", ProviderID: "B86001", Pence: 1234, Provenance: prov})
		b.Packages = append(b.Packages,
			record.SocialCarePackage{PersonID: id, ID: 1, ProviderID: "LA123", Kind: "home_care", HoursPerWeek: 10.5, WeeklyPence: 25_000, Start: day(2023, 1, 1), Provenance: prov})
	}
	// A source's reference names one row of a table.
	for _, t := range refTables {
		for i := range t.count(b) {
			p, person, id := t.row(b, i)
			p.SourceRef = "r" + strconv.FormatInt(*person, 10) + "." + strconv.FormatInt(*id, 10)
		}
	}
	return b
}

// onePerson filters a batch down to one person's rows.
func onePerson(b *record.Batch, id int64) *record.Batch {
	keep := func(pid int64) bool { return pid == id }
	out := &record.Batch{}
	for _, r := range b.People {
		if keep(r.ID) {
			out.People = append(out.People, r)
		}
	}
	out.Identities = slices.DeleteFunc(slices.Clone(b.Identities), func(r registry.SourceIdentity) bool { return !keep(r.PersonID) })
	out.TeamLinks = slices.DeleteFunc(slices.Clone(b.TeamLinks), func(r registry.CareTeamLink) bool { return !keep(r.PersonID) })
	out.Conditions = slices.DeleteFunc(slices.Clone(b.Conditions), func(r record.Condition) bool { return !keep(r.PersonID) })
	out.Observations = slices.DeleteFunc(slices.Clone(b.Observations), func(r record.Observation) bool { return !keep(r.PersonID) })
	out.Encounters = slices.DeleteFunc(slices.Clone(b.Encounters), func(r record.Encounter) bool { return !keep(r.PersonID) })
	out.Medications = slices.DeleteFunc(slices.Clone(b.Medications), func(r record.Medication) bool { return !keep(r.PersonID) })
	out.Immunisations = slices.DeleteFunc(slices.Clone(b.Immunisations), func(r record.Immunisation) bool { return !keep(r.PersonID) })
	out.Procedures = slices.DeleteFunc(slices.Clone(b.Procedures), func(r record.Procedure) bool { return !keep(r.PersonID) })
	out.Costs = slices.DeleteFunc(slices.Clone(b.Costs), func(r record.ActivityCost) bool { return !keep(r.PersonID) })
	out.Packages = slices.DeleteFunc(slices.Clone(b.Packages), func(r record.SocialCarePackage) bool { return !keep(r.PersonID) })
	return out
}

// utc compares times as instants shown in UTC.
var utc = cmp.Transformer("utc", func(t time.Time) time.Time { return t.UTC() })

// runContract is the store contract; open returns a fresh, unmigrated
// database for each subtest.
func runContract(t *testing.T, open func(t *testing.T) *DB) {
	t.Run("migrate is idempotent", func(t *testing.T) {
		db := open(t)
		got, err := db.Migrate(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"0001_foundation", "0002_users", "0003_ingest", "0004_message_log", "0005_trust", "0006_audit", "0007_registry", "0008_link_reviews", "0009_segments", "0010_risk_scores_cohorts", "0011_careplans", "0012_protocols", "0013_alerts", "0014_huddles", "0015_people_search"}, got); diff != "" {
			t.Errorf("first Migrate (-want +got):\n%s", diff)
		}
		got, err = db.Migrate(t.Context())
		if err != nil || len(got) != 0 {
			t.Errorf("second Migrate = %v, %v; want nothing applied", got, err)
		}
		st, err := db.MigrationStatus(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range st {
			if m.AppliedAt.IsZero() {
				t.Errorf("migration %d still pending", m.Version)
			}
		}
	})

	t.Run("users are created, replaced and listed", func(t *testing.T) {
		db := open(t)
		mustMigrate(t, db)
		_, err := db.UserByName(t.Context(), "ann.coordinator")
		wantKind(t, err, apperr.NotFound, `no user named "ann.coordinator"`)
		u := auth.User{Name: "ann.coordinator", DisplayName: "Ann Example", Role: auth.CareCoordinator,
			OrgID: "Y00001", PasswordHash: "$argon2id$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA"}
		first, err := db.PutUser(t.Context(), u)
		if err != nil {
			t.Fatal(err)
		}
		if first.ID == 0 || first.CreatedAt.IsZero() {
			t.Errorf("PutUser = %+v; want an id and a creation time", first)
		}
		u.Role, u.PasswordHash, u.Disabled = auth.TeamLead, "$argon2id$v=19$m=1,t=1,p=1$c2FsdA$b3RoZXI", true
		second, err := db.PutUser(t.Context(), u)
		if err != nil {
			t.Fatal(err)
		}
		if second.ID != first.ID || second.Role != auth.TeamLead || !second.Disabled || second.PasswordHash != u.PasswordHash {
			t.Errorf("replacing gave %+v; want id %d, team lead, disabled, new hash", second, first.ID)
		}
		got, err := db.UserByName(t.Context(), "ann.coordinator")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(second, got); diff != "" {
			t.Errorf("UserByName (-put +got):\n%s", diff)
		}
		_, err = db.PutUser(t.Context(), auth.User{Name: "Bad Name", DisplayName: "x", Role: auth.Clinician, PasswordHash: "h"})
		wantKind(t, err, apperr.Invalid, "user name may hold only")
		if _, err := db.PutUser(t.Context(), auth.User{Name: "bob", DisplayName: "Bob", Role: auth.Analyst, PasswordHash: "h"}); err != nil {
			t.Fatal(err)
		}
		all, err := db.Users(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 2 || all[0].Name != "ann.coordinator" || all[1].Name != "bob" {
			t.Errorf("Users = %+v; want ann.coordinator then bob", all)
		}
	})

	t.Run("unmigrated database says so", func(t *testing.T) {
		db := open(t)
		st, err := db.MigrationStatus(t.Context())
		if err != nil || len(st) == 0 || !st[0].AppliedAt.IsZero() {
			t.Errorf("MigrationStatus = %v, %v; want all pending", st, err)
		}
		_, err = db.Person(t.Context(), 1)
		wantKind(t, err, apperr.Unavailable, "run wholecare migrate")
		_, err = db.BeginGeneration(t.Context(), testSpec(), false)
		wantKind(t, err, apperr.Unavailable, "run wholecare migrate")
		mustMigrate(t, db)
		_, err = db.Person(t.Context(), 1)
		wantKind(t, err, apperr.NotFound, "no person 1")
	})

	t.Run("directory and batch round-trip", func(t *testing.T) {
		db := open(t)
		mustMigrate(t, db)
		run := mustBegin(t, db, testSpec(), false)
		if err := db.SaveDirectory(t.Context(), run.ID, testDirectory()); err != nil {
			t.Fatal(err)
		}
		// Saving it again (a resumed run does) changes nothing.
		if err := db.SaveDirectory(t.Context(), run.ID, testDirectory()); err != nil {
			t.Fatal(err)
		}
		gotDir, err := db.Directory(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(testDirectory(), gotDir, utc, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("Directory (-want +got):\n%s", diff)
		}

		b := testBatch(run.BasePersonID, 3)
		mustSaveChunk(t, db, run.ID, 0, b)
		for _, p := range b.People {
			got, err := db.PersonRecord(t.Context(), p.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(onePerson(b, p.ID), got, utc, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("PersonRecord(%d) (-want +got):\n%s", p.ID, diff)
			}
			gotP, err := db.Person(t.Context(), p.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(p, gotP, utc); diff != "" {
				t.Errorf("Person(%d) (-want +got):\n%s", p.ID, diff)
			}
		}
		if got, _ := db.PersonRecord(t.Context(), run.BasePersonID+1); got.Observations[2].Value == nil || got.Observations[1].Value != nil {
			t.Error("nil and non-nil (zero) values were not kept apart")
		}
		_, err = db.PersonRecord(t.Context(), run.BasePersonID+3)
		wantKind(t, err, apperr.NotFound, "no person")

		c := mustCounts(t, db)
		want := map[string]int64{"people": 3, "conditions": 6, "observations": 9, "outbox": 1, "generation_runs": 1, "organisations": 3, "care_team_members": 2}
		for k, n := range want {
			if c[k] != n {
				t.Errorf("Counts[%s] = %d, want %d", k, c[k], n)
			}
		}
		var kind, payload string
		if err := db.sql.QueryRowContext(t.Context(), `SELECT kind, payload FROM outbox`).Scan(&kind, &payload); err != nil {
			t.Fatal(err)
		}
		wantPayload := `{"run":` + itoa(run.ID) + `,"chunk":0,"first_person_id":` + itoa(run.BasePersonID) + `,"last_person_id":` + itoa(run.BasePersonID+2) + `}`
		if kind != EventChunkLoaded || payload != wantPayload {
			t.Errorf("outbox = %s %s, want %s %s", kind, payload, EventChunkLoaded, wantPayload)
		}
	})

	t.Run("chunks are saved in order and runs resume", func(t *testing.T) {
		db := open(t)
		mustMigrate(t, db)
		spec := testSpec()
		run := mustBegin(t, db, spec, false)
		if err := db.SaveDirectory(t.Context(), run.ID, testDirectory()); err != nil {
			t.Fatal(err)
		}
		err := db.SaveChunk(t.Context(), run.ID, 1, testBatch(run.BasePersonID+3, 3))
		wantKind(t, err, apperr.Conflict, "chunk 1 is out of order")
		mustSaveChunk(t, db, run.ID, 0, testBatch(run.BasePersonID, 3))
		err = db.SaveChunk(t.Context(), run.ID, 0, testBatch(run.BasePersonID, 3))
		wantKind(t, err, apperr.Conflict, "out of order")
		err = db.FinishGeneration(t.Context(), run.ID)
		wantKind(t, err, apperr.Conflict, "1 of 2 chunks")

		resumed := mustBegin(t, db, spec, false)
		if resumed.ID != run.ID || resumed.ChunksDone != 1 || resumed.Complete || resumed.BasePersonID != run.BasePersonID {
			t.Errorf("resumed run = %+v, want run %d with 1 chunk done", resumed, run.ID)
		}
		mustSaveChunk(t, db, run.ID, 1, testBatch(run.BasePersonID+3, 3))
		if err := db.FinishGeneration(t.Context(), run.ID); err != nil {
			t.Fatal(err)
		}
		if err := db.FinishGeneration(t.Context(), run.ID); err != nil {
			t.Errorf("second FinishGeneration: %v", err)
		}
		done := mustBegin(t, db, spec, false)
		if !done.Complete || done.ChunksDone != 2 || done.FinishedAt.IsZero() {
			t.Errorf("finished run = %+v, want complete", done)
		}
		latest, ok, err := db.LatestRun(t.Context())
		if err != nil || !ok {
			t.Fatalf("LatestRun = %v, %v", ok, err)
		}
		if diff := cmp.Diff(done, latest, utc); diff != "" {
			t.Errorf("LatestRun (-want +got):\n%s", diff)
		}
		if !latest.Spec.Now.Equal(testNow) || !latest.Spec.Now.Equal(spec.Now) {
			t.Errorf("run Now = %v, want %v", latest.Spec.Now, testNow)
		}
		err = db.SaveChunk(t.Context(), run.ID, 2, testBatch(run.BasePersonID+6, 1))
		wantKind(t, err, apperr.Conflict, "already complete")
	})

	t.Run("a different spec conflicts unless replaced", func(t *testing.T) {
		db := open(t)
		mustMigrate(t, db)
		old := mustBegin(t, db, testSpec(), false)
		if err := db.SaveDirectory(t.Context(), old.ID, testDirectory()); err != nil {
			t.Fatal(err)
		}
		mustSaveChunk(t, db, old.ID, 0, testBatch(old.BasePersonID, 3))
		before := mustCounts(t, db)

		other := testSpec()
		other.Seed = 2
		_, err := db.BeginGeneration(t.Context(), other, false)
		wantKind(t, err, apperr.Conflict, "already holds a synthetic population (seed 1, 6 people")
		wantKind(t, err, apperr.Conflict, "--replace")
		if diff := cmp.Diff(before, mustCounts(t, db)); diff != "" {
			t.Errorf("a refused BeginGeneration changed the database (-before +after):\n%s", diff)
		}

		run := mustBegin(t, db, other, true)
		if run.ID == old.ID || run.ChunksDone != 0 || run.BasePersonID < old.BasePersonID+int64(old.Spec.People) {
			t.Errorf("replacement run = %+v, want a new run with a fresh id block after %d", run, old.BasePersonID+int64(old.Spec.People)-1)
		}
		c := mustCounts(t, db)
		for _, tab := range personOwnedTables {
			if c[tab] != 0 {
				t.Errorf("after replace %s has %d rows, want 0", tab, c[tab])
			}
		}
		if c["generation_runs"] != 1 || c["organisations"] != 3 {
			t.Errorf("after replace counts = %v, want one run and the directory kept", c)
		}
		if err := db.SaveChunk(t.Context(), old.ID, 1, testBatch(old.BasePersonID+3, 3)); !apperr.Is(err, apperr.NotFound) {
			t.Errorf("SaveChunk on the replaced run = %v, want NotFound", err)
		}
		mustSaveChunk(t, db, run.ID, 0, testBatch(run.BasePersonID, 3))
	})

	t.Run("a failing chunk leaves nothing behind", func(t *testing.T) {
		db := open(t)
		mustMigrate(t, db)
		run := mustBegin(t, db, testSpec(), false)
		if err := db.SaveDirectory(t.Context(), run.ID, testDirectory()); err != nil {
			t.Fatal(err)
		}
		before := mustCounts(t, db)
		tests := []struct {
			name     string
			change   func(b *record.Batch)
			kind     apperr.Kind
			contains string
		}{
			{"duplicate key", func(b *record.Batch) { b.Conditions = append(b.Conditions, b.Conditions[0]) }, apperr.Conflict, "same key"},
			{"unknown care team", func(b *record.Batch) { b.TeamLinks[0].TeamID = 999 }, apperr.Invalid, "breaks a rule"},
			{"date with a time", func(b *record.Batch) { b.Medications[3].Start = b.Medications[3].Start.Add(time.Hour) }, apperr.Invalid, "medications row 3 of the batch: start_date is not a date"},
			{"person outside the run", func(b *record.Batch) { b.People[2].ID += 100 }, apperr.Invalid, "outside this run"},
			{"row without its person", func(b *record.Batch) { b.Procedures[0].PersonID += 3 }, apperr.Invalid, "procedures: person"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				b := testBatch(run.BasePersonID, 3)
				tt.change(b)
				err := db.SaveChunk(t.Context(), run.ID, 0, b)
				wantKind(t, err, tt.kind, tt.contains)
				if diff := cmp.Diff(before, mustCounts(t, db)); diff != "" {
					t.Errorf("a failed chunk changed the database (-before +after):\n%s", diff)
				}
				if r, _, _ := db.LatestRun(t.Context()); r.ChunksDone != 0 {
					t.Errorf("ChunksDone = %d after a failed chunk, want 0", r.ChunksDone)
				}
			})
		}
		mustSaveChunk(t, db, run.ID, 0, testBatch(run.BasePersonID, 3))
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestMigrationSetsMatch(t *testing.T) {
	names := func(dir string) []string {
		entries, err := fs.ReadDir(migrationFiles, dir)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range entries {
			out = append(out, e.Name())
		}
		return out
	}
	sqlite, pg := names("migrations/sqlite"), names("migrations/postgres")
	if diff := cmp.Diff(sqlite, pg); diff != "" {
		t.Errorf("migration files differ between dialects (-sqlite +postgres):\n%s", diff)
	}
	for _, d := range []dialect{{}, {postgres: true}} {
		if _, err := d.migrations(); err != nil {
			t.Errorf("%s migrations: %v", d, err)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "plain-file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	notDB := filepath.Join(dir, "not-a-db")
	if err := os.WriteFile(notDB, []byte(strings.Repeat("not a database ", 100)), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		dsn      string
		kind     apperr.Kind
		contains string
	}{
		{"unknown scheme", "mysql://x", apperr.Invalid, `database "mysql://x" not understood: use sqlite:PATH or a postgres:// URL`},
		{"password is hidden", "mysql://u:secret@x", apperr.Invalid, "not understood"},
		{"empty sqlite path", "sqlite:", apperr.Invalid, "has no path"},
		{"bad postgres url", "postgres://x:notaport/db", apperr.Invalid, "PostgreSQL URL not understood"},
		{"postgres not running", "postgres://postgres@127.0.0.1:1/x?sslmode=disable&connect_timeout=5", apperr.Unavailable, "cannot reach PostgreSQL at 127.0.0.1:1: connection refused; is it running?"},
		{"missing directory", "sqlite:" + filepath.Join(dir, "missing", "x.db"), apperr.Invalid, filepath.Join(dir, "missing", "x.db") + " is not writable: directory " + filepath.Join(dir, "missing") + " does not exist"},
		{"parent is a file", "sqlite:" + filepath.Join(file, "x.db"), apperr.Invalid, file + " is not a directory"},
		{"not a database", "sqlite:" + notDB, apperr.Invalid, "is not a SQLite database"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := Open(t.Context(), tt.dsn, nil)
			if err == nil {
				db.Close()
			}
			wantKind(t, err, tt.kind, tt.contains)
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

func TestOpenReadOnlyDirectory(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root may write to a 0555 directory")
	}
	dir := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o755) })
	path := filepath.Join(dir, "x.db")
	_, err := Open(t.Context(), "sqlite:"+path, nil)
	wantKind(t, err, apperr.Unavailable, path+" is not writable")
}

func TestOpenLockedSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	holder, err := Open(t.Context(), "sqlite:"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	// Another process holding the write lock looks, to us, like this.
	tx, err := holder.sql.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	o := defaultOptions()
	o.busyTimeout = 100 * time.Millisecond
	_, err = open(t.Context(), "sqlite:"+path, nil, o)
	wantKind(t, err, apperr.Unavailable, "is locked by another process")
}

func TestMemory(t *testing.T) {
	db, err := Open(t.Context(), "sqlite::memory:", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mustMigrate(t, db)
	run := mustBegin(t, db, testSpec(), false)
	if err := db.SaveDirectory(t.Context(), run.ID, testDirectory()); err != nil {
		t.Fatal(err)
	}
	mustSaveChunk(t, db, run.ID, 0, testBatch(run.BasePersonID, 3))
	if c := mustCounts(t, db); c["people"] != 3 {
		t.Errorf("people = %d, want 3", c["people"])
	}
	if db.Dialect() != "sqlite" {
		t.Errorf("Dialect = %q", db.Dialect())
	}
}
