package sqlstore

import (
	"os"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/registry"
	"github.com/wholecare/wholecare/internal/summary"
)

var _ summary.Store = (*DB)(nil)

func TestSummarySourceSQLite(t *testing.T) { testSummarySource(t, openSQLiteTemp) }

func TestSummarySourcePostgres(t *testing.T) {
	if os.Getenv("WHOLECARE_TEST_POSTGRES") == "" {
		t.Skip("WHOLECARE_TEST_POSTGRES is not set")
	}
	testSummarySource(t, func(t *testing.T) *DB { return openPostgresSchema(t) })
}

// testSummarySource checks that the store picks the current, recent and
// latest rows itself, for one person and for a set.
func testSummarySource(t *testing.T, open func(t *testing.T) *DB) {
	db := open(t)
	mustMigrate(t, db)
	run := mustBegin(t, db, testSpec(), false)
	if err := db.SaveDirectory(t.Context(), run.ID, testDirectory()); err != nil {
		t.Fatal(err)
	}
	b := testBatch(run.BasePersonID, 3)
	mustSaveChunk(t, db, run.ID, 0, b)
	p0, p2 := run.BasePersonID, run.BasePersonID+2
	c, err := db.AddConsent(t.Context(), access.Consent{PersonID: p0, Decision: access.Deny, Purpose: access.Research,
		RecordedBy: 1, RecordedAt: testNow, Note: "at review"})
	if err != nil {
		t.Fatal(err)
	}
	hba1c := record.Coding{System: record.SNOMED, Code: "1003671000000109"}
	sbp := record.Coding{System: record.LOINC, Code: "8480-6"}
	// Wanted in SNOMED: the smoking status row shares no code, and the
	// LOINC systolic row must not be taken for a SNOMED code of the same text.
	q := summary.Query{People: []int64{p0}, Today: testNow, Encounters: 1, Observations: []record.Coding{hba1c, sbp, {System: record.SNOMED, Code: "8480-6"}}}
	got, err := db.SummarySource(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	one := onePerson(b, p0)
	dir := testDirectory()
	want := &summary.Source{
		People:        one.People,
		Identities:    one.Identities,
		TeamLinks:     one.TeamLinks,
		Teams:         dir.Teams,
		Members:       dir.Members[:1], // the second member left the team in 2024
		Staff:         dir.Professionals[:1],
		Organisations: dir.Organisations[:1], // the practice; RR8 is not in the directory
		Conditions:    one.Conditions[:1],    // the second is resolved
		Encounters:    one.Encounters[1:2],   // the newest
		Medications:   one.Medications[:1],   // the second is completed
		Observations:  []record.Observation{one.Observations[2], one.Observations[0]},
		Consents:      []access.Consent{c},
	}
	for i := range want.Observations {
		want.Observations[i].EncounterID = 0 // not read for a summary
	}
	if diff := cmp.Diff(want, got, utc, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("SummarySource(one person) (-want +got):\n%s", diff)
	}

	// A set: rows of both, the limit across both, one latest per code.
	q.People, q.Encounters = []int64{p0, p2}, 3
	got, err = db.SummarySource(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	two := onePerson(b, p2)
	ids := func(people []registry.Person) []int64 {
		var out []int64
		for _, p := range people {
			out = append(out, p.ID)
		}
		return out
	}
	type enc struct {
		person int64
		class  record.EncounterClass
	}
	var gotEnc []enc
	for _, e := range got.Encounters {
		gotEnc = append(gotEnc, enc{e.PersonID, e.Class})
	}
	wantEnc := []enc{{p0, record.PrimaryCare}, {p2, record.PrimaryCare}, {p0, record.EmergencyAdmission}}
	if diff := cmp.Diff(wantEnc, gotEnc, cmp.AllowUnexported(enc{})); diff != "" {
		t.Errorf("encounters of the set (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int64{p0, p2}, ids(got.People)); diff != "" {
		t.Errorf("people of the set (-want +got):\n%s", diff)
	}
	if len(got.Conditions) != 2 || got.Conditions[1].PersonID != p2 || len(got.Observations) != 2 || len(got.TeamLinks) != 2 ||
		len(got.Teams) != 1 || len(got.Members) != 1 || len(got.Consents) != 1 {
		t.Errorf("set: %d conditions, %d observations, %d team links, %d teams, %d members, %d consents; want 2, 2, 2, 1, 1, 1",
			len(got.Conditions), len(got.Observations), len(got.TeamLinks), len(got.Teams), len(got.Members), len(got.Consents))
	}
	if !slices.EqualFunc(got.Conditions, append(one.Conditions[:1:1], two.Conditions[0]), func(a, b record.Condition) bool {
		return a.PersonID == b.PersonID && a.ID == b.ID
	}) {
		t.Errorf("conditions of the set: %+v", got.Conditions)
	}

	// A care team link that ended, and a team link not yet started, are not current.
	later := summary.Query{People: []int64{p0}, Today: time.Date(2009, 1, 1, 0, 0, 0, 0, time.UTC), Encounters: 1}
	got, err = db.SummarySource(t.Context(), later)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.TeamLinks) != 0 || len(got.Teams) != 0 || len(got.Members) != 0 {
		t.Errorf("before the link started: %d links, %d teams, %d members; want none", len(got.TeamLinks), len(got.Teams), len(got.Members))
	}

	got, err = db.SummarySource(t.Context(), summary.Query{People: []int64{p2 + 100}, Today: testNow, Encounters: 5})
	if err != nil || len(got.People) != 0 {
		t.Errorf("an unknown person: %+v, %v; want no rows and no error (the service says NotFound)", got, err)
	}
	_, err = db.SummarySource(t.Context(), summary.Query{Today: testNow})
	wantKind(t, err, apperr.Invalid, "no people")
}
