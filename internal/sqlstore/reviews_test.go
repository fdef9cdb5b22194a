package sqlstore

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/ingest"
	"github.com/wholecare/wholecare/internal/linkage"
	"github.com/wholecare/wholecare/internal/registry"
)

func TestLinkageSQLite(t *testing.T) { runLinkageContract(t, openSQLiteTemp) }

func TestLinkagePostgres(t *testing.T) {
	if os.Getenv("WHOLECARE_TEST_POSTGRES") == "" {
		t.Skip("WHOLECARE_TEST_POSTGRES is not set")
	}
	runLinkageContract(t, func(t *testing.T) *DB { return openPostgresSchema(t) })
}

func mustReview(t *testing.T, a, b int64, weight float64, now time.Time) linkage.PairReview {
	t.Helper()
	c := linkage.Candidate{Weight: weight, Probability: 0.7, Outcome: linkage.Review,
		Evidence: []linkage.FieldEvidence{{Field: "family_name", Level: "exact", Weight: 4.5}, {Field: "birth_date", Level: "null"}}}
	r, err := linkage.NewReview(a, b, c, linkage.OriginBatch, "", now)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// mustIndexOf builds a linkage index of every person in db, as serve
// does, and has ingest use it.
func mustIndexOf(t *testing.T, db *DB) *linkage.Index {
	t.Helper()
	m, err := linkage.DefaultModel()
	if err != nil {
		t.Fatal(err)
	}
	ix, err := linkage.NewIndex(m, linkage.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.EachPerson(t.Context(), ix.PutPerson); err != nil {
		t.Fatal(err)
	}
	ix.Calibrate()
	db.SetMatcher(ix)
	return ix
}

func demographicsItem(source, subject string, p registry.Person) ingest.Item {
	return ingest.Item{Source: source, Subject: subject, At: source + ":" + subject, Person: &p}
}

func runLinkageContract(t *testing.T, open func(t *testing.T) *DB) {
	now := time.Date(2025, 4, 1, 12, 0, 0, 0, time.UTC)

	t.Run("the review queue remembers decisions", func(t *testing.T) {
		db := open(t)
		mustMigrate(t, db)
		ctx := t.Context()
		first, queued, err := db.QueueReview(ctx, mustReview(t, 5, 3, 9.5, now))
		if err != nil || !queued {
			t.Fatalf("QueueReview = %v, %v", queued, err)
		}
		if first.Low != 3 || first.High != 5 || first.Status != linkage.ReviewPending || first.ID == 0 || !first.CreatedAt.Equal(now) {
			t.Errorf("queued %+v", first)
		}
		if diff := cmp.Diff(mustReview(t, 3, 5, 9.5, now).Evidence, first.Evidence); diff != "" {
			t.Errorf("evidence (-want +got):\n%s", diff)
		}
		// The same pair, either way round, is one entry.
		again, queued, err := db.QueueReview(ctx, mustReview(t, 3, 5, 1, now))
		if err != nil || queued || again.ID != first.ID || again.Weight != 9.5 {
			t.Errorf("queueing the pair again = %+v, %v, %v; want the first entry, unchanged", again, queued, err)
		}
		for i := range 3 {
			if _, _, err := db.QueueReview(ctx, mustReview(t, int64(10+i), int64(20+i), 1, now)); err != nil {
				t.Fatal(err)
			}
		}
		page, counts, err := db.PendingReviews(ctx, 3, 0)
		if err != nil || len(page) != 3 || counts != (linkage.ReviewCounts{Pending: 4}) || page[0].ID != first.ID {
			t.Fatalf("first page: %d reviews, %+v, %v", len(page), counts, err)
		}
		page, _, err = db.PendingReviews(ctx, 3, 3)
		if err != nil || len(page) != 1 || page[0].Low != 12 {
			t.Fatalf("second page: %+v, %v", page, err)
		}

		decided, err := db.DecideReview(ctx, first.ID, linkage.ReviewRejected, 42, "different middle names on the letters", now.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if decided.Status != linkage.ReviewRejected || decided.DecidedBy != 42 || !decided.DecidedAt.Equal(now.Add(time.Hour)) || decided.Reason == "" {
			t.Errorf("decided %+v", decided)
		}
		_, err = db.DecideReview(ctx, first.ID, linkage.ReviewConfirmed, 43, "", now)
		wantKind(t, err, apperr.Conflict, "already rejected")
		// A decided pair queued again is not asked again.
		again, queued, err = db.QueueReview(ctx, mustReview(t, 5, 3, 30, now.Add(2*time.Hour)))
		if err != nil || queued || again.Status != linkage.ReviewRejected || again.DecidedBy != 42 {
			t.Errorf("re-queueing a decided pair = %+v, %v, %v", again, queued, err)
		}
		_, counts, err = db.PendingReviews(ctx, 10, 0)
		if err != nil || counts != (linkage.ReviewCounts{Pending: 3, Rejected: 1}) {
			t.Errorf("counts %+v, %v", counts, err)
		}
		got, err := db.LinkReview(ctx, first.ID)
		if err != nil || got.Status != linkage.ReviewRejected {
			t.Errorf("LinkReview = %+v, %v", got, err)
		}
		_, err = db.LinkReview(ctx, 999)
		wantKind(t, err, apperr.NotFound, "no link review 999")
		_, err = db.DecideReview(ctx, 999, linkage.ReviewConfirmed, 1, "", now)
		wantKind(t, err, apperr.NotFound, "no link review 999")
		_, err = db.DecideReview(ctx, page[0].ID, "maybe", 1, "", now)
		wantKind(t, err, apperr.Invalid, "confirmed or rejected")
		_, _, err = db.PendingReviews(ctx, 0, 0)
		wantKind(t, err, apperr.Invalid, "1 to 1000")
	})

	t.Run("incoming people are linked, reviewed or created", func(t *testing.T) {
		db := open(t)
		mustMigrate(t, db)
		ctx := t.Context()
		svc := ingest.New(db)
		born := time.Date(1950, 3, 14, 0, 0, 0, 0, time.UTC)
		margaret := registry.Person{GivenName: "Margaret", FamilyName: "Tullaroop", BirthDate: born, Sex: registry.Female,
			Postcode: "LS6 2AB", NHSNumber: "9434765919", NHSNumberStatus: registry.NHSUnverified}
		// A registry of a few hundred others, so that the index has
		// something to tell Margaret from.
		items := []ingest.Item{demographicsItem("fhir:gp", "M", margaret)}
		for i := range 300 {
			items = append(items, demographicsItem("fhir:gp", fmt.Sprint("X", i), registry.Person{
				GivenName: []string{"John", "Amy", "Priya", "Tom", "Ivy"}[i%5], FamilyName: fmt.Sprintf("Stanfield%c", 'a'+i%26),
				BirthDate: born.AddDate(i%40, i%12, i%28), Sex: registry.Male, Postcode: fmt.Sprintf("BD%d %dQX", 1+i%20, i%10)}))
		}
		res, err := svc.Apply(ctx, items, true, now)
		if err != nil {
			t.Fatal(err)
		}
		mid := res.Outcomes[0].PersonID
		ix := mustIndexOf(t, db)

		// The hospital knows her with a typo and without her NHS number.
		hospital := margaret
		hospital.GivenName, hospital.NHSNumber, hospital.NHSNumberStatus = "Margret", "", registry.NHSAbsent
		// Her twin sister lives with her.
		twin := margaret
		twin.GivenName, twin.NHSNumber, twin.NHSNumberStatus = "Elizabeth", "", registry.NHSAbsent
		// Someone else quotes her NHS number, but the number is marked
		// invalid: it must not link them.
		stranger := registry.Person{GivenName: "Zachary", FamilyName: "Quill", BirthDate: born.AddDate(30, 0, 0), Sex: registry.Male,
			Postcode: "YO1 7ZZ", NHSNumber: "9434765919", NHSNumberStatus: registry.NHSInvalid}
		for _, tc := range []struct {
			name string
			p    registry.Person
			want linkage.Outcome
		}{{"hospital", hospital, linkage.Link}, {"twin", twin, linkage.Review}, {"stranger", stranger, linkage.NoLink}} {
			c, ok := ix.MatchPerson(tc.p)
			if !ok {
				c.Outcome = linkage.NoLink
			}
			if c.Outcome != tc.want {
				t.Fatalf("the index says %v for the %s (p=%.3f), the test needs %v", c.Outcome, tc.name, c.Probability, tc.want)
			}
		}
		incoming := []ingest.Item{demographicsItem("hl7v2:HOSP", "H1", hospital), demographicsItem("hl7v2:HOSP", "H2", twin), demographicsItem("hl7v2:HOSP", "H3", stranger)}
		before := mustCounts(t, db)
		res, err = svc.Apply(ctx, incoming, true, now)
		if err != nil {
			t.Fatal(err)
		}
		if o := res.Outcomes[0]; o.PersonCreated || o.PersonID != mid {
			t.Errorf("hospital record: person %d (created %v), want %d", o.PersonID, o.PersonCreated, mid)
		}
		twinID, strangerID := res.Outcomes[1].PersonID, res.Outcomes[2].PersonID
		if !res.Outcomes[1].PersonCreated || !res.Outcomes[2].PersonCreated || twinID == mid || strangerID == mid {
			t.Errorf("twin and stranger: %+v; want new people", res.Outcomes[1:])
		}
		_, ids, err := db.Patients(ctx, []int64{mid})
		if err != nil {
			t.Fatal(err)
		}
		var prov []string
		for _, si := range ids {
			prov = append(prov, si.Source+"/"+si.LocalID+"/"+si.Provenance)
		}
		if diff := cmp.Diff([]string{"fhir:gp/M/source", "hl7v2:HOSP/H1/linkage"}, prov); diff != "" {
			t.Errorf("identities (-want +got):\n%s", diff)
		}
		page, counts, err := db.PendingReviews(ctx, 10, 0)
		if err != nil || len(page) != 1 || counts.Pending != 1 {
			t.Fatalf("reviews %+v %+v %v; want the twins", page, counts, err)
		}
		if r := page[0]; r.Low != mid || r.High != twinID || r.Origin != linkage.OriginIncoming || r.Source != "hl7v2:HOSP" ||
			r.Caution != linkage.CautionTwins || len(r.Evidence) == 0 {
			t.Errorf("review %+v", r)
		}

		// The index heard about the new people when the batch committed.
		if c, ok := ix.MatchPerson(stranger); !ok || c.PersonID != strangerID {
			t.Errorf("after the commit the stranger matches %+v, %v; want person %d", c, ok, strangerID)
		}

		// Sending the same records again changes nothing.
		mid2 := mustCounts(t, db)
		res, err = svc.Apply(ctx, incoming, true, now)
		if err != nil {
			t.Fatal(err)
		}
		for i, o := range res.Outcomes {
			if o.PersonCreated {
				t.Errorf("re-import created person for item %d", i)
			}
		}
		after := mustCounts(t, db)
		delete(mid2, "outbox") // every apply says whose record it touched
		delete(after, "outbox")
		if diff := cmp.Diff(mid2, after); diff != "" {
			t.Errorf("a repeated import changed counts (-before +after):\n%s", diff)
		}
		if after["people"] != before["people"]+2 {
			t.Errorf("people %d → %d, want two more", before["people"], after["people"])
		}
		if _, counts, _ := db.PendingReviews(ctx, 10, 0); counts.Pending != 1 {
			t.Errorf("pending reviews after a repeat: %d", counts.Pending)
		}

		// Without a matcher, ingest creates people as before.
		db.SetMatcher(nil)
		res, err = svc.Apply(ctx, []ingest.Item{demographicsItem("hl7v2:OTHER", "Z1", hospital)}, true, now)
		if err != nil || !res.Outcomes[0].PersonCreated {
			t.Errorf("without a matcher: %+v, %v", res.Outcomes, err)
		}
	})

	t.Run("merged people leave the index and an unmerge brings them back", func(t *testing.T) {
		db := open(t)
		mustMigrate(t, db)
		ctx := t.Context()
		born := time.Date(1961, 7, 2, 0, 0, 0, 0, time.UTC)
		var items []ingest.Item
		for i := range 50 {
			items = append(items, demographicsItem("fhir:gp", fmt.Sprint("P", i), registry.Person{
				GivenName: []string{"Ruth", "Owen", "Asha", "Lee", "Nia"}[i%5], FamilyName: fmt.Sprintf("Pennard%c", 'a'+i%26),
				BirthDate: born.AddDate(i%30, i%12, i%28), Sex: registry.Female, Postcode: fmt.Sprintf("CF%d %dQX", 1+i%20, i%10)}))
		}
		res, err := ingest.New(db).Apply(ctx, items, true, now)
		if err != nil {
			t.Fatal(err)
		}
		ix := mustIndexOf(t, db)
		before := ix.Len()
		a, b := res.Outcomes[0].PersonID, res.Outcomes[1].PersonID
		m, err := db.MergePeople(ctx, a, b, registry.MergeManual, "test", now)
		if err != nil {
			t.Fatal(err)
		}
		if ix.Len() != before-1 {
			t.Errorf("after a merge the index holds %d people, want %d", ix.Len(), before-1)
		}
		if rebuilt := mustIndexOf(t, db); rebuilt.Len() != before-1 {
			t.Errorf("an index built after the merge holds %d people, want %d", rebuilt.Len(), before-1)
		}
		db.SetMatcher(ix)
		if _, err := db.UnmergePeople(ctx, m.ID, "test", "two people after all", now); err != nil {
			t.Fatal(err)
		}
		if ix.Len() != before {
			t.Errorf("after the unmerge the index holds %d people, want %d", ix.Len(), before)
		}
	})
}

// TestMigrationsMayLeaveAGapButNeverGoBack: migrations merged from
// parallel work may skip a number, but one numbered below a migration a
// database already has is refused, so every database applies them in one
// order.
func TestMigrationsMayLeaveAGapButNeverGoBack(t *testing.T) {
	db := openSQLiteTemp(t)
	mustMigrate(t, db)
	if _, err := db.sql.ExecContext(t.Context(), `DELETE FROM schema_migrations WHERE version = 6`); err != nil {
		t.Fatal(err)
	}
	_, err := db.Migrate(t.Context())
	wantKind(t, err, apperr.Internal, "0006_audit is older than one this database already has")
}
