package sqlstore

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/ingest"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/registry"
)

func TestRegistrySQLite(t *testing.T) { runRegistryContract(t, openSQLiteTemp) }

func TestRegistryPostgres(t *testing.T) {
	if pgOff() {
		t.Skip("WHOLECARE_TEST_POSTGRES is not set")
	}
	runRegistryContract(t, func(t *testing.T) *DB { return openPostgresSchema(t) })
}

var regDay = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

// demog is a Person item from source about subject, received at.
func demog(source, subject string, at time.Time, set func(p *registry.Person)) ingest.Item {
	p := &registry.Person{GivenName: "Ann", FamilyName: "Lee", BirthDate: time.Date(1950, 5, 6, 0, 0, 0, 0, time.UTC),
		Sex: registry.Female, ReceivedAt: at}
	if set != nil {
		set(p)
	}
	return ingest.Item{Source: source, Subject: subject, At: source + " " + subject, Person: p}
}

// clinical is an item of one condition, one observation and one encounter
// from source about subject, with source refs made from tag.
func clinical(source, subject, tag string, at time.Time) ingest.Item {
	v := 7.5
	return ingest.Item{Source: source, Subject: subject, At: source + " " + tag, Rows: record.Batch{
		Conditions: []record.Condition{{Code: record.Coding{System: record.SNOMED, Code: "44054006"}, Onset: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
			Provenance: record.Provenance{SourceRef: "c-" + tag, ReceivedAt: at}}},
		Observations: []record.Observation{{Code: record.Coding{System: record.SNOMED, Code: "1003671000000109"}, Value: &v, Unit: "%",
			Effective: at, Provenance: record.Provenance{SourceRef: "o-" + tag, ReceivedAt: at}}},
		Encounters: []record.Encounter{{Class: record.EmergencyAdmission, Start: at, Provenance: record.Provenance{SourceRef: "e-" + tag, ReceivedAt: at}}},
	}}
}

func mustApply(t *testing.T, db *DB, items ...ingest.Item) []ingest.Outcome {
	t.Helper()
	res, err := ingest.New(db).Apply(t.Context(), items, true, regDay)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return res.Outcomes
}

func mustMerge(t *testing.T, db *DB, survivor, retired int64) registry.Merge {
	t.Helper()
	m, err := db.MergePeople(t.Context(), survivor, retired, registry.MergeManual, "test.user", regDay)
	if err != nil {
		t.Fatalf("MergePeople(%d, %d): %v", survivor, retired, err)
	}
	return m
}

func mustCluster(t *testing.T, db *DB, id int64) registry.Cluster {
	t.Helper()
	c, err := db.PersonCluster(t.Context(), id)
	if err != nil {
		t.Fatalf("PersonCluster(%d): %v", id, err)
	}
	return c
}

// snapshot is every row of every person-owned table (people, their source
// demographics and identities, and the clinical record), each row written
// out and sorted, so two databases can be compared whole.
func snapshot(t *testing.T, db *DB) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, table := range personOwnedTables {
		rows, err := db.sql.QueryContext(t.Context(), `SELECT * FROM `+table)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for i, v := range vals {
				if bs, ok := v.([]byte); ok {
					v = string(bs)
				}
				if tm, ok := v.(time.Time); ok {
					v = tm.UTC().Format(time.RFC3339Nano)
				}
				fmt.Fprintf(&b, "%s=%v ", cols[i], v)
			}
			out[table] = append(out[table], b.String())
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		slices.Sort(out[table])
	}
	return out
}

// outboxOf returns the payloads of the outbox events of kind, in order.
func outboxOf(t *testing.T, db *DB, kind string) []mergeEvent {
	t.Helper()
	rows, err := db.sql.QueryContext(t.Context(), db.d.rebind(`SELECT payload FROM outbox WHERE kind = ? ORDER BY seq`), kind)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []mergeEvent
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		var e mergeEvent
		if err := json.Unmarshal([]byte(s), &e); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// checkGolden checks that the stored golden record of id is the one the
// rules compute from the records of id's part of the cluster.
func checkGolden(t *testing.T, db *DB, id int64) registry.Golden {
	t.Helper()
	g, _, err := db.GoldenRecord(t.Context(), id)
	if err != nil {
		t.Fatalf("GoldenRecord(%d): %v", id, err)
	}
	tx, err := db.sql.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	recs, err := db.treeRecords(t.Context(), &cachedTx{Tx: tx}, g.Person.ID)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := registry.ComputeGolden(g.Person.ID, recs, registry.DefaultTrust)
	if diff := cmp.Diff(want, g, utc); diff != "" {
		t.Errorf("stored golden record of %d differs from the computed one (-computed +stored):\n%s", g.Person.ID, diff)
	}
	return g
}

func runRegistryContract(t *testing.T, open func(t *testing.T) *DB) {
	t.Run("every source's demographics are kept and the golden record chooses among them", func(t *testing.T) {
		db := open(t)
		mustMigrate(t, db)
		out := mustApply(t, db, demog("fhir:gp-emis", "G1", regDay.Add(-48*time.Hour), func(p *registry.Person) {
			p.NHSNumber, p.Postcode, p.PracticeID = "9434765919", "LS1 4AP", "B86001"
		}))
		pid := out[0].PersonID
		// The hospital knows the same person (found by the GP's number once
		// it is verified) with a newer address and a typo in the name.
		mustApply(t, db, demog("fhir:gp-emis", "G1", regDay.Add(-24*time.Hour), func(p *registry.Person) {
			p.NHSNumber, p.NHSNumberStatus, p.Postcode, p.PracticeID = "9434765919", registry.NHSVerified, "LS1 4AP", "B86001"
		}))
		out = mustApply(t, db, demog("hl7v2:pas", "H1", regDay, func(p *registry.Person) {
			p.NHSNumber, p.NHSNumberStatus, p.GivenName, p.Postcode, p.PracticeID = "9434765919", registry.NHSVerified, "Anne", "LS6 2AB", ""
		}))
		if out[0].PersonID != pid {
			t.Fatalf("the hospital's record went to person %d, want %d", out[0].PersonID, pid)
		}
		if c := mustCounts(t, db); c["people"] != 1 || c["person_sources"] != 2 {
			t.Errorf("counts %v; want one person with two source records", c)
		}
		g := checkGolden(t, db, pid)
		// Both verified: the newer (the hospital) wins the name and address;
		// only the GP gave a practice.
		if g.Person.GivenName != "Anne" || g.Person.Postcode != "LS6 2AB" || g.Person.PracticeID != "B86001" || g.Person.NHSNumberStatus != registry.NHSVerified {
			t.Errorf("golden = %+v", g.Person)
		}
		if s := g.Provenance[registry.FieldPracticeID]; s.Source != "fhir:gp-emis" || s.LocalID != "G1" || s.PersonID != pid {
			t.Errorf("practice from %+v, want the GP's record", s)
		}
		if s := g.Provenance[registry.FieldGivenName]; s.Source != "hl7v2:pas" || !s.ReceivedAt.Equal(regDay) {
			t.Errorf("given name from %+v, want the hospital's record of %s", s, regDay)
		}
		p, err := db.Person(t.Context(), pid)
		if err != nil || p.GivenName != "Anne" {
			t.Errorf("Person = %+v, %v; want the golden record", p, err)
		}
		// Within one call, a number a source has just added is found by the
		// next item's verified number: golden records are current before
		// any lookup by NHS number.
		y := mustApply(t, db, demog("hl7v2:pas", "Y1", regDay, nil))[0].PersonID
		out = mustApply(t, db,
			demog("hl7v2:pas", "Y1", regDay, func(p *registry.Person) { p.NHSNumber, p.NHSNumberStatus = "4010232137", registry.NHSVerified }),
			demog("fhir:gp-emis", "Y-gp", regDay, func(p *registry.Person) { p.NHSNumber, p.NHSNumberStatus = "4010232137", registry.NHSVerified }),
		)
		if out[1].PersonID != y || out[1].PersonCreated {
			t.Errorf("the GP's record went to %d (created %v), want %d", out[1].PersonID, out[1].PersonCreated, y)
		}
		checkGolden(t, db, y)
		// A generated person (bulk path) has one source record too.
		run := mustBegin(t, db, testSpec(), false)
		if err := db.SaveDirectory(t.Context(), run.ID, testDirectory()); err != nil {
			t.Fatal(err)
		}
		b := testBatch(run.BasePersonID, 3)
		mustSaveChunk(t, db, run.ID, 0, b)
		if c := mustCounts(t, db); c["person_sources"] != 7 {
			t.Errorf("person_sources = %d after a chunk of 3 people, want 7", c["person_sources"])
		}
		gen := checkGolden(t, db, run.BasePersonID)
		if gen.Person.GivenName != b.People[0].GivenName || len(gen.Provenance) == 0 {
			t.Errorf("generated person's golden record = %+v", gen)
		}
	})

	t.Run("re-sent demographics change nothing unless they differ", func(t *testing.T) {
		db := open(t)
		mustMigrate(t, db)
		nhs := func(p *registry.Person) { p.NHSNumber, p.NHSNumberStatus = "9434765919", registry.NHSVerified }
		pid := mustApply(t, db, demog("hl7v2:pas", "R1", regDay, nhs))[0].PersonID
		if out := mustApply(t, db, demog("fhir:gp-emis", "G1", regDay.Add(time.Hour), nhs)); out[0].PersonID != pid {
			t.Fatalf("the GP's record went to person %d, want %d", out[0].PersonID, pid)
		}
		before := snapshot(t, db)
		// The same demographics later, alone and twice in one call (as a
		// feed's A02, A08 and A03 re-send the A01's PID).
		mustApply(t, db, demog("hl7v2:pas", "R1", regDay.Add(2*time.Hour), nhs))
		mustApply(t, db, demog("hl7v2:pas", "R1", regDay.Add(3*time.Hour), nhs), demog("fhir:gp-emis", "G1", regDay.Add(3*time.Hour), nhs))
		if diff := cmp.Diff(before, snapshot(t, db)); diff != "" {
			t.Errorf("unchanged demographics changed the store (-before +after):\n%s", diff)
		}
		g := checkGolden(t, db, pid)
		if s := g.Provenance[registry.FieldGivenName]; s.Source != "fhir:gp-emis" || !s.ReceivedAt.Equal(regDay.Add(time.Hour)) {
			t.Errorf("given name from %+v, want the GP's record of %s", s, regDay.Add(time.Hour))
		}
		// A change, even of one field, is kept and chosen (both records are
		// verified: the newer wins).
		mustApply(t, db, demog("hl7v2:pas", "R1", regDay.Add(4*time.Hour), func(p *registry.Person) { nhs(p); p.Postcode = "LS6 2AB" }))
		g = checkGolden(t, db, pid)
		if g.Person.Postcode != "LS6 2AB" || !g.Person.ReceivedAt.Equal(regDay.Add(4*time.Hour)) {
			t.Errorf("golden record after a new postcode = %+v", g.Person)
		}
		if s := g.Provenance[registry.FieldPostcode]; s.Source != "hl7v2:pas" || s.LocalID != "R1" || !s.ReceivedAt.Equal(regDay.Add(4*time.Hour)) {
			t.Errorf("postcode from %+v, want the hospital's record of %s", s, regDay.Add(4*time.Hour))
		}
		// Sending the old demographics again is a change too.
		mustApply(t, db, demog("hl7v2:pas", "R1", regDay.Add(5*time.Hour), nhs))
		if g := checkGolden(t, db, pid); g.Person.Postcode != "" || !g.Person.ReceivedAt.Equal(regDay.Add(5*time.Hour)) {
			t.Errorf("golden record after the postcode was withdrawn = %+v", g.Person)
		}
	})

	t.Run("merge and unmerge round-trip exactly", func(t *testing.T) {
		// control sees the same data arrive without the merge; test merges,
		// receives the data, and unmerges. They must then be identical.
		control, test := open(t), open(t)
		seed := func(db *DB) (a, b, c int64) {
			mustMigrate(t, db)
			out := mustApply(t, db,
				demog("hl7v2:pas", "A1", regDay.Add(-72*time.Hour), func(p *registry.Person) { p.Postcode, p.GivenName = "LS6 2AB", "Annie" }),
				clinical("hl7v2:pas", "A1", "a1", regDay.Add(-72*time.Hour)),
				demog("fhir:gp-emis", "B1", regDay.Add(-96*time.Hour), func(p *registry.Person) {
					p.NHSNumber, p.NHSNumberStatus, p.PracticeID = "9434765919", registry.NHSVerified, "B86001"
				}),
				clinical("fhir:gp-emis", "B1", "b1", regDay.Add(-96*time.Hour)),
				// The community service knows B by the same verified number.
				demog("csv:community", "B1-c", regDay.Add(-10*time.Hour), func(p *registry.Person) {
					p.NHSNumber, p.NHSNumberStatus, p.Ethnicity = "9434765919", registry.NHSVerified, "A"
				}),
				demog("csv:community", "C9", regDay, func(p *registry.Person) { p.GivenName, p.FamilyName = "Carl", "Other" }),
				clinical("csv:community", "C9", "c9", regDay),
			)
			if out[4].PersonID != out[2].PersonID {
				t.Fatalf("the community record went to %d, want B (%d)", out[4].PersonID, out[2].PersonID)
			}
			return out[0].PersonID, out[2].PersonID, out[5].PersonID
		}
		later := regDay.Add(24 * time.Hour)
		newData := func(db *DB) {
			mustApply(t, db,
				demog("hl7v2:pas", "A1", later, func(p *registry.Person) { p.Postcode, p.GivenName = "LS7 3CD", "Annie" }),
				clinical("hl7v2:pas", "A1", "a2", later),
				clinical("fhir:gp-emis", "B1", "b2", later),
			)
		}

		ca, cb, _ := seed(control)
		a, b, c := seed(test)
		if ca != a || cb != b {
			t.Fatalf("the two databases numbered people differently: %d,%d and %d,%d", ca, cb, a, b)
		}
		before := snapshot(t, test)
		goldenA := checkGolden(t, test, a)
		if goldenA.Person.Postcode != "LS6 2AB" {
			t.Fatalf("A's golden record before = %+v", goldenA.Person)
		}

		m := mustMerge(t, test, b, a)
		if m.ID == 0 || m.Survivor != b || m.Retired != a || m.Reason != registry.MergeManual || m.DecidedBy != "test.user" || !m.Active() {
			t.Errorf("merge = %+v", m)
		}
		for _, id := range []int64{a, b} {
			if cl := mustCluster(t, test, id); cl.Survivor != b || !slices.Equal(cl.Members, []int64{min(a, b), max(a, b)}) {
				t.Errorf("cluster of %d = %+v, want survivor %d with %d and %d", id, cl, b, a, b)
			}
		}
		if cl := mustCluster(t, test, c); cl.Survivor != c || !slices.Equal(cl.Members, []int64{c}) {
			t.Errorf("cluster of the unrelated person = %+v", cl)
		}
		merged := checkGolden(t, test, a) // asked for the retired person: the survivor's record
		if merged.Person.ID != b || merged.Person.NHSNumber != "9434765919" || merged.Person.PracticeID != "B86001" || merged.Person.Ethnicity != "A" {
			t.Errorf("golden record of the cluster = %+v", merged.Person)
		}
		// B's spine-verified records outrank A's hospital record.
		if merged.Person.GivenName != "Ann" || merged.Provenance[registry.FieldGivenName].Tier != "spine-verified" {
			t.Errorf("given name %q from %+v; want the verified GP record's", merged.Person.GivenName, merged.Provenance[registry.FieldGivenName])
		}
		// ... but A's record fills what B's sources left empty.
		if merged.Person.Postcode != "LS6 2AB" || merged.Provenance[registry.FieldPostcode].PersonID != a {
			t.Errorf("postcode %q from %+v; want A's", merged.Person.Postcode, merged.Provenance[registry.FieldPostcode])
		}
		if ev := outboxOf(t, test, EventMerged); len(ev) != 1 || ev[0].Merge != m.ID || !slices.Equal(ev[0].People, []int64{min(a, b), max(a, b)}) {
			t.Errorf("merge events = %+v", ev)
		}

		// New data for both, after the merge: A's lands on A.
		newData(control)
		newData(test)
		var onA int
		if err := test.sql.QueryRowContext(t.Context(), test.d.rebind(`SELECT count(*) FROM encounters WHERE person_id = ? AND source_ref = 'e-a2'`), a).Scan(&onA); err != nil || onA != 1 {
			t.Errorf("A's new encounter on A: %d, %v", onA, err)
		}
		if g := checkGolden(t, test, b); g.Person.Postcode != "LS7 3CD" {
			t.Errorf("the cluster's postcode after A's new address = %q", g.Person.Postcode)
		}

		u, err := test.UnmergePeople(t.Context(), m.ID, "test.lead", "two different people: different mothers' names", later)
		if err != nil {
			t.Fatal(err)
		}
		if u.Active() || u.UnmergedBy != "test.lead" || !u.UnmergedAt.Equal(later) || u.UnmergeReason == "" {
			t.Errorf("unmerge = %+v", u)
		}
		if diff := cmp.Diff(snapshot(t, control), snapshot(t, test)); diff != "" {
			t.Errorf("after merge, new data and unmerge, the database differs from one that never merged (-never merged +unmerged):\n%s", diff)
		}
		// And against the snapshot before the merge, only the new data differs.
		after := snapshot(t, test)
		if diff := cmp.Diff(before["source_identities"], after["source_identities"]); diff != "" {
			t.Errorf("source identities changed (-before +after):\n%s", diff)
		}
		if got, want := len(after["encounters"]), len(before["encounters"])+2; got != want {
			t.Errorf("%d encounters after, want %d", got, want)
		}
		for _, id := range []int64{a, b} {
			if cl := mustCluster(t, test, id); cl.Survivor != id || len(cl.Members) != 1 {
				t.Errorf("cluster of %d after the unmerge = %+v", id, cl)
			}
			checkGolden(t, test, id)
		}
		if ev := outboxOf(t, test, EventUnmerged); len(ev) != 1 || ev[0].Merge != m.ID || !slices.Equal(ev[0].People, []int64{min(a, b), max(a, b)}) {
			t.Errorf("unmerge events = %+v", ev)
		}
		ms, err := test.PersonMerges(t.Context(), a)
		if err != nil || len(ms) != 1 || ms[0].Active() || ms[0].UnmergeReason != u.UnmergeReason {
			t.Errorf("merges of A = %+v, %v; want the undone merge kept", ms, err)
		}
		// Merging the pair again after an unmerge is allowed.
		mustMerge(t, test, b, a)
	})

	t.Run("clusters are followed through chains of merges", func(t *testing.T) {
		db := open(t)
		mustMigrate(t, db)
		out := mustApply(t, db,
			demog("hl7v2:pas", "X1", regDay, func(p *registry.Person) { p.Postcode = "LS1 1AA" }),
			demog("hl7v2:pas", "X2", regDay.Add(time.Hour), func(p *registry.Person) { p.Postcode = ""; p.Ethnicity = "B" }),
			demog("hl7v2:pas", "X3", regDay.Add(2*time.Hour), func(p *registry.Person) { p.Postcode = ""; p.PracticeID = "Y01" }),
		)
		x1, x2, x3 := out[0].PersonID, out[1].PersonID, out[2].PersonID
		mustMerge(t, db, x2, x1)
		m23 := mustMerge(t, db, x3, x2)
		for _, id := range []int64{x1, x2, x3} {
			if cl := mustCluster(t, db, id); cl.Survivor != x3 || !slices.Equal(cl.Members, []int64{x1, x2, x3}) {
				t.Errorf("cluster of %d = %+v", id, cl)
			}
		}
		g := checkGolden(t, db, x1)
		if g.Person.Postcode != "LS1 1AA" || g.Person.Ethnicity != "B" || g.Person.PracticeID != "Y01" {
			t.Errorf("golden of three = %+v", g.Person)
		}
		// New demographics for X1 land on X1 and reach the survivor two levels up.
		mustApply(t, db, demog("hl7v2:pas", "X1", regDay.Add(3*time.Hour), func(p *registry.Person) { p.Postcode = "LS9 9ZZ" }))
		if g := checkGolden(t, db, x3); g.Person.Postcode != "LS9 9ZZ" || g.Provenance[registry.FieldPostcode].PersonID != x1 {
			t.Errorf("after X1's new address the survivor has %q from %+v", g.Person.Postcode, g.Provenance[registry.FieldPostcode])
		}
		// Undoing the top merge leaves X1 with X2, and X3 alone again.
		if _, err := db.UnmergePeople(t.Context(), m23.ID, "test.lead", "not the same", regDay); err != nil {
			t.Fatal(err)
		}
		if cl := mustCluster(t, db, x1); cl.Survivor != x2 || !slices.Equal(cl.Members, []int64{x1, x2}) {
			t.Errorf("cluster of X1 = %+v", cl)
		}
		if g := checkGolden(t, db, x3); g.Person.Postcode != "" || g.Person.Ethnicity != "" || g.Person.PracticeID != "Y01" {
			t.Errorf("X3 alone again = %+v", g.Person)
		}
		checkGolden(t, db, x2)
		// A verified NHS number shared by a retired person and their
		// survivor still finds one person: the survivor.
		mustApply(t, db,
			demog("hl7v2:pas", "X1", regDay.Add(4*time.Hour), func(p *registry.Person) { p.NHSNumber, p.NHSNumberStatus = "4010232137", registry.NHSVerified }),
			demog("hl7v2:pas", "X2", regDay.Add(4*time.Hour), func(p *registry.Person) { p.NHSNumber, p.NHSNumberStatus = "4010232137", registry.NHSVerified }),
		)
		out = mustApply(t, db, demog("fhir:gp-emis", "NEW", regDay.Add(5*time.Hour), func(p *registry.Person) {
			p.NHSNumber, p.NHSNumberStatus = "4010232137", registry.NHSVerified
		}))
		if out[0].PersonID != x2 || out[0].PersonCreated {
			t.Errorf("a verified number shared by a cluster went to %d (created %v), want the survivor %d", out[0].PersonID, out[0].PersonCreated, x2)
		}
	})

	t.Run("merge and unmerge refuse what the rules forbid and change nothing", func(t *testing.T) {
		db := open(t)
		mustMigrate(t, db)
		out := mustApply(t, db, demog("hl7v2:pas", "E1", regDay, nil), demog("hl7v2:pas", "E2", regDay, nil), demog("hl7v2:pas", "E3", regDay, nil))
		e1, e2, e3 := out[0].PersonID, out[1].PersonID, out[2].PersonID
		m := mustMerge(t, db, e1, e2)
		before := snapshot(t, db)
		merge := func(s, r int64, reason registry.MergeReason, by string) error {
			_, err := db.MergePeople(t.Context(), s, r, reason, by, regDay)
			return err
		}
		wantKind(t, merge(e1, e1, registry.MergeManual, "u"), apperr.Invalid, "into themselves")
		wantKind(t, merge(e1, 999, registry.MergeManual, "u"), apperr.NotFound, "no person 999")
		wantKind(t, merge(e1, e3, "because", "u"), apperr.Invalid, "merge reason")
		wantKind(t, merge(e1, e3, registry.MergeManual, " "), apperr.Invalid, "who decided")
		wantKind(t, merge(e1, e2, registry.MergeManual, "u"), apperr.Conflict, fmt.Sprintf("already merged into person %d", e1))
		wantKind(t, merge(e2, e3, registry.MergeManual, "u"), apperr.Conflict, fmt.Sprintf("merge into %d instead", e1))
		wantKind(t, merge(e2, e1, registry.MergeManual, "u"), apperr.Conflict, fmt.Sprintf("merge into %d instead", e1)) // a cycle
		wantKind(t, merge(e3, e2, registry.MergeManual, "u"), apperr.Conflict, "unmerge that first")
		unmerge := func(id int64, by, why string) error {
			_, err := db.UnmergePeople(t.Context(), id, by, why, regDay)
			return err
		}
		wantKind(t, unmerge(m.ID+100, "u", "why"), apperr.NotFound, "no merge")
		wantKind(t, unmerge(m.ID, "u", " "), apperr.Invalid, "say why")
		wantKind(t, unmerge(m.ID, "", "why"), apperr.Invalid, "who decided")
		_, err := db.PersonCluster(t.Context(), 999)
		wantKind(t, err, apperr.NotFound, "no person 999")
		if diff := cmp.Diff(before, snapshot(t, db)); diff != "" {
			t.Errorf("refused operations changed the database (-before +after):\n%s", diff)
		}
		if err := unmerge(m.ID, "u", "wrong person"); err != nil {
			t.Fatal(err)
		}
		wantKind(t, unmerge(m.ID, "u", "again"), apperr.Conflict, "already undone")
	})
}

// BenchmarkPersonUpdate measures what a source re-sending demographics
// costs: the per-source record, and the golden record recomputed from the
// person's records. 1,000 Person items a transaction, as an import sends.
func BenchmarkPersonUpdate(b *testing.B) {
	db, err := Open(b.Context(), "sqlite:"+filepath.Join(b.TempDir(), "bench.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(b.Context()); err != nil {
		b.Fatal(err)
	}
	const n = 1000
	items := make([]ingest.Item, n)
	for i := range items {
		items[i] = demog("fhir:bench", "P"+strconv.Itoa(i), regDay, func(p *registry.Person) { p.Postcode = "LS1 4AP" })
	}
	svc := ingest.New(db)
	if _, err := svc.Apply(b.Context(), items, true, regDay); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if _, err := svc.Apply(b.Context(), items, true, regDay); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "updates/s")
}
