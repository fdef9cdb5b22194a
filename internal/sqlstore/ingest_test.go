package sqlstore

import (
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/ingest"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/registry"
)

func ingestItems(source string) []ingest.Item {
	when := time.Date(2025, 1, 2, 10, 30, 0, 0, time.UTC)
	v := 48.0
	return []ingest.Item{
		{Source: source, Subject: "P1", At: "test:1", Person: &registry.Person{NHSNumber: "9434765919", NHSNumberStatus: registry.NHSVerified,
			GivenName: "Test", FamilyName: "Patient", BirthDate: time.Date(1950, 3, 1, 0, 0, 0, 0, time.UTC), Sex: registry.Female}},
		{Source: source, Subject: "P1", At: "test:2", Rows: record.Batch{
			Conditions: []record.Condition{{Code: record.Coding{System: record.SNOMED, Code: "13645005"}, Onset: when, Provenance: record.Provenance{SourceRef: "c1"}}},
			Observations: []record.Observation{
				{Code: record.Coding{System: record.SNOMED, Code: "999791000000106"}, Value: &v, Unit: "mmol/mol", Effective: when, Provenance: record.Provenance{SourceRef: "o1"}},
				{Code: record.Coding{System: record.SNOMED, Code: "999791000000106"}, Value: &v, Unit: "mmol/mol", Effective: when.AddDate(0, 3, 0), Provenance: record.Provenance{SourceRef: "o2"}},
			},
		}},
		{Source: source, Subject: "P1", At: "test:3", Rows: record.Batch{
			Encounters: []record.Encounter{{Class: record.EmergencyAdmission, Start: when, Provenance: record.Provenance{SourceRef: "v1"}}},
		}},
	}
}

func runIngestContract(t *testing.T, open func(t *testing.T) *DB) {
	now := time.Date(2025, 4, 1, 12, 0, 0, 0, time.UTC)

	t.Run("ingest is idempotent by source reference", func(t *testing.T) {
		db := open(t)
		mustMigrate(t, db)
		svc := ingest.New(db)
		res, err := svc.Apply(t.Context(), ingestItems("fhir:test"), false, now)
		if err != nil {
			t.Fatal(err)
		}
		if res.Failed != 0 || !res.Outcomes[0].PersonCreated || res.Outcomes[1].Inserted != 3 || res.Outcomes[2].Inserted != 1 {
			t.Fatalf("first apply = %+v", res)
		}
		pid := res.Outcomes[0].PersonID
		before := mustCounts(t, db)
		res, err = svc.Apply(t.Context(), ingestItems("fhir:test"), false, now)
		if err != nil {
			t.Fatal(err)
		}
		if res.Outcomes[0].PersonCreated || res.Outcomes[0].PersonID != pid || res.Outcomes[1].Replaced != 3 || res.Outcomes[1].Inserted != 0 {
			t.Errorf("second apply = %+v; want the same person and every row replaced", res)
		}
		after := mustCounts(t, db)
		for _, table := range []string{"people", "source_identities", "conditions", "observations", "encounters"} {
			if before[table] != after[table] {
				t.Errorf("%s: %d rows → %d after a repeated import", table, before[table], after[table])
			}
		}
		rec, err := db.PersonRecord(t.Context(), pid)
		if err != nil {
			t.Fatal(err)
		}
		if len(rec.Conditions) != 1 || !rec.Conditions[0].Onset.Equal(time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)) || rec.Conditions[0].SourceRef != "c1" {
			t.Errorf("condition stored as %+v; want onset as a date and its source reference", rec.Conditions)
		}
		p, err := db.Person(t.Context(), pid)
		if err != nil || p.FamilyName != "Patient" || p.Source != "fhir:test" {
			t.Errorf("person = %+v, %v", p, err)
		}

		// New rows for a person who has some get ids past theirs (on
		// PostgreSQL found for the whole batch at once), beside the
		// replaced ones.
		more := ingestItems("fhir:test")
		more[1].Rows.Observations = append(more[1].Rows.Observations, record.Observation{Code: record.Coding{System: record.SNOMED, Code: "999791000000106"},
			Effective: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), Provenance: record.Provenance{SourceRef: "o3"}})
		more[2].Rows.Encounters = append(more[2].Rows.Encounters, record.Encounter{Class: record.EmergencyAdmission,
			Start: time.Date(2025, 3, 2, 0, 0, 0, 0, time.UTC), Provenance: record.Provenance{SourceRef: "v2"}})
		res, err = svc.Apply(t.Context(), more, false, now)
		if err != nil {
			t.Fatal(err)
		}
		if res.Failed != 0 || res.Outcomes[1].Inserted != 1 || res.Outcomes[1].Replaced != 3 || res.Outcomes[2].Inserted != 1 || res.Outcomes[2].Replaced != 1 {
			t.Errorf("third apply = %+v; want one new observation and one new encounter beside the replaced rows", res)
		}
		final := mustCounts(t, db)
		if final["observations"] != after["observations"]+1 || final["encounters"] != after["encounters"]+1 || final["people"] != after["people"] {
			t.Errorf("counts %v after adding two rows to %v", final, after)
		}
	})

	t.Run("new rows of a known person are numbered past the stored ones", func(t *testing.T) {
		// A batch looks its people and their highest row ids up in one
		// go: the numbering must match a lookup per row, for people
		// already stored, people with no rows in a table yet, and people
		// created in the same batch.
		db := open(t)
		mustMigrate(t, db)
		svc := ingest.New(db)
		first, err := svc.Apply(t.Context(), ingestItems("fhir:test"), false, now)
		if err != nil {
			t.Fatal(err)
		}
		pid := first.Outcomes[0].PersonID
		when := time.Date(2025, 2, 3, 0, 0, 0, 0, time.UTC)
		items := []ingest.Item{
			{Source: "fhir:test", Subject: "P1", At: "test:4", Rows: record.Batch{
				Observations: []record.Observation{{Code: record.Coding{System: record.SNOMED, Code: "271649006"}, Effective: when, Provenance: record.Provenance{SourceRef: "o3"}}},
				Procedures:   []record.Procedure{{Code: record.Coding{System: record.SNOMED, Code: "80146002"}, Date: when, Provenance: record.Provenance{SourceRef: "pr1"}}},
			}},
			{Source: "fhir:test", Subject: "P1", At: "test:5", Rows: record.Batch{
				Observations: []record.Observation{{Code: record.Coding{System: record.SNOMED, Code: "271649006"}, Effective: when.AddDate(0, 0, 1), Provenance: record.Provenance{SourceRef: "o4"}}},
			}},
			{Source: "fhir:test", Subject: "P2", At: "test:6", Person: &registry.Person{GivenName: "Second", FamilyName: "Patient",
				BirthDate: time.Date(1960, 5, 6, 0, 0, 0, 0, time.UTC), Sex: registry.Male}},
			{Source: "fhir:test", Subject: "P2", At: "test:7", Rows: record.Batch{
				Observations: []record.Observation{{Code: record.Coding{System: record.SNOMED, Code: "271649006"}, Effective: when, Provenance: record.Provenance{SourceRef: "o5"}}},
			}},
		}
		res, err := svc.Apply(t.Context(), items, false, now)
		if err != nil {
			t.Fatal(err)
		}
		if res.Failed != 0 || res.Outcomes[0].Inserted != 2 || res.Outcomes[1].Inserted != 1 || !res.Outcomes[2].PersonCreated || res.Outcomes[3].Inserted != 1 {
			t.Fatalf("apply = %+v", res)
		}
		ids := func(pid int64) map[string]int64 {
			t.Helper()
			rec, err := db.PersonRecord(t.Context(), pid)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]int64{}
			for _, o := range rec.Observations {
				got[o.SourceRef] = o.ID
			}
			for _, p := range rec.Procedures {
				got[p.SourceRef] = p.ID
			}
			return got
		}
		if diff := cmp.Diff(map[string]int64{"o1": 1, "o2": 2, "o3": 3, "o4": 4, "pr1": 1}, ids(pid)); diff != "" {
			t.Errorf("ids of the known person (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(map[string]int64{"o5": 1}, ids(res.Outcomes[2].PersonID)); diff != "" {
			t.Errorf("ids of the new person (-want +got):\n%s", diff)
		}
	})

	t.Run("a verified NHS number links a second source to the same person", func(t *testing.T) {
		db := open(t)
		mustMigrate(t, db)
		svc := ingest.New(db)
		a, err := svc.Apply(t.Context(), ingestItems("fhir:gp"), false, now)
		if err != nil {
			t.Fatal(err)
		}
		items := ingestItems("hl7v2:pas")
		for i := range items {
			items[i].Subject = "MRN-77"
			// the hospital's ids for the rows are its own
		}
		b, err := svc.Apply(t.Context(), items, false, now)
		if err != nil {
			t.Fatal(err)
		}
		if b.Outcomes[0].PersonCreated || b.Outcomes[0].PersonID != a.Outcomes[0].PersonID {
			t.Errorf("second source made person %d (created %v); want %d", b.Outcomes[0].PersonID, b.Outcomes[0].PersonCreated, a.Outcomes[0].PersonID)
		}
		if c := mustCounts(t, db); c["people"] != 1 || c["source_identities"] != 2 || c["encounters"] != 2 {
			t.Errorf("counts = %v; want one person with two identities and an encounter from each source", c)
		}
	})

	t.Run("people a batch creates are found by its later items", func(t *testing.T) {
		// New people are written together at the end of a batch: until
		// then a later item must still find them, by identity or by
		// verified NHS number, and re-sent demographics must still count.
		db := open(t)
		mustMigrate(t, db)
		svc := ingest.New(db)
		p1 := ingestItems("fhir:gp")[0]
		resent := p1
		resent.At, resent.Person = "test:2", &registry.Person{NHSNumber: "9434765919", NHSNumberStatus: registry.NHSVerified,
			GivenName: "Test", FamilyName: "Patient", BirthDate: time.Date(1950, 3, 1, 0, 0, 0, 0, time.UTC), Sex: registry.Female, Postcode: "LS1 4AP"}
		hospital := ingestItems("hl7v2:pas")
		hospital[0].Subject, hospital[2].Subject = "MRN-77", "MRN-77"
		other := ingest.Item{Source: "fhir:gp", Subject: "P3", At: "test:4", Person: &registry.Person{GivenName: "Other", FamilyName: "Person",
			BirthDate: time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC), Sex: registry.Male}}
		res, err := svc.Apply(t.Context(), []ingest.Item{p1, hospital[0], resent, hospital[2], other}, false, now)
		if err != nil {
			t.Fatal(err)
		}
		pid := res.Outcomes[0].PersonID
		type got struct {
			Created        []bool
			Person         []int64
			People, Idents int64
		}
		want := got{Created: []bool{true, false, false, false, true}, Person: []int64{pid, pid, pid, pid, pid + 1}, People: 2, Idents: 3}
		g := got{People: mustCounts(t, db)["people"], Idents: mustCounts(t, db)["source_identities"]}
		for _, o := range res.Outcomes {
			g.Created, g.Person = append(g.Created, o.PersonCreated), append(g.Person, o.PersonID)
		}
		if diff := cmp.Diff(want, g); diff != "" {
			t.Errorf("batch outcome (-want +got):\n%s", diff)
		}
		people, _, err := db.Patients(t.Context(), []int64{pid})
		if err != nil {
			t.Fatal(err)
		}
		if len(people) != 1 || people[0].Postcode != "LS1 4AP" {
			t.Errorf("golden record %+v; want the re-sent postcode", people)
		}
		// Person ids stay dense: the ids reserved for the batch and not
		// used (the hospital's identity found a person) go back.
		next, err := svc.Apply(t.Context(), []ingest.Item{{Source: "fhir:gp", Subject: "P4", At: "test:5", Person: other.Person}}, false, now)
		if err != nil {
			t.Fatal(err)
		}
		if next.Outcomes[0].PersonID != pid+2 {
			t.Errorf("next person id = %d; want %d", next.Outcomes[0].PersonID, pid+2)
		}
	})

	t.Run("an NHS number verified earlier in a batch links a later item", func(t *testing.T) {
		db := open(t)
		mustMigrate(t, db)
		svc := ingest.New(db)
		unverified := ingestItems("fhir:gp")[0]
		unverified.Person.NHSNumberStatus = registry.NHSUnverified
		first, err := svc.Apply(t.Context(), []ingest.Item{unverified}, false, now)
		if err != nil {
			t.Fatal(err)
		}
		verified := ingestItems("fhir:gp")[0]
		hospital := ingestItems("hl7v2:pas")[0]
		hospital.Subject = "MRN-77"
		res, err := svc.Apply(t.Context(), []ingest.Item{verified, hospital}, false, now)
		if err != nil {
			t.Fatal(err)
		}
		if o := res.Outcomes[1]; o.PersonCreated || o.PersonID != first.Outcomes[0].PersonID {
			t.Errorf("hospital's item went to person %d (created %v); want %d", o.PersonID, o.PersonCreated, first.Outcomes[0].PersonID)
		}
	})

	t.Run("a row already stored for another person is refused with its item", func(t *testing.T) {
		db := open(t)
		mustMigrate(t, db)
		svc := ingest.New(db)
		first, err := svc.Apply(t.Context(), ingestItems("fhir:test"), false, now)
		if err != nil {
			t.Fatal(err)
		}
		before := mustCounts(t, db)
		// P2 (known, unverified NHS number) claims P1's condition c1; the
		// batch holds two items, so the rows are looked up for it at once.
		p2 := ingest.Item{Source: "fhir:test", Subject: "P2", At: "test:6", Person: &registry.Person{GivenName: "Other", FamilyName: "Person",
			BirthDate: time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC), Sex: registry.Male}}
		claim := ingest.Item{Source: "fhir:test", Subject: "P2", At: "test:7", Rows: record.Batch{
			Conditions: []record.Condition{{Code: record.Coding{System: record.SNOMED, Code: "195967001"}, Provenance: record.Provenance{SourceRef: "c1"}}}}}
		if _, err := svc.Apply(t.Context(), []ingest.Item{p2, {Source: "fhir:test", Subject: "P2", At: "test:6b"}}, false, now); err != nil {
			t.Fatal(err)
		}
		res, err := svc.Apply(t.Context(), []ingest.Item{p2, claim}, false, now)
		if err != nil {
			t.Fatal(err)
		}
		wantKind(t, res.Outcomes[1].Err, apperr.Conflict, "already stored for another person")
		rec, err := db.PersonRecord(t.Context(), first.Outcomes[0].PersonID)
		if err != nil {
			t.Fatal(err)
		}
		if len(rec.Conditions) != 1 || rec.Conditions[0].Code.Code != "13645005" {
			t.Errorf("P1's conditions = %+v; want c1 untouched", rec.Conditions)
		}
		if c := mustCounts(t, db); c["conditions"] != before["conditions"] || c["people"] != before["people"]+1 {
			t.Errorf("counts %v, before %v; want one new person and no condition moved", c, before)
		}
	})

	t.Run("a bad item is skipped, or fails an atomic apply entirely", func(t *testing.T) {
		db := open(t)
		mustMigrate(t, db)
		svc := ingest.New(db)
		items := ingestItems("fhir:test")
		orphan := ingest.Item{Source: "fhir:test", Subject: "nobody", At: "test:4", Rows: record.Batch{
			Conditions: []record.Condition{{Code: record.Coding{System: record.SNOMED, Code: "195967001"}, Provenance: record.Provenance{SourceRef: "c9"}}}}}
		invalid := ingest.Item{Source: "fhir:test", Subject: "P1", At: "test:5", Rows: record.Batch{
			Encounters: []record.Encounter{{Class: "spaceship", Start: now, Provenance: record.Provenance{SourceRef: "v9"}}}}}
		all := append(items, orphan, invalid)

		_, err := svc.Apply(t.Context(), append(items[:len(items):len(items)], orphan), true, now)
		wantKind(t, err, apperr.NotFound, `test:4: unknown person "nobody"`)
		_, err = svc.Apply(t.Context(), all, true, now)
		wantKind(t, err, apperr.Invalid, "test:5: encounters row 0: unknown class")
		if c := mustCounts(t, db); c["people"] != 0 || c["conditions"] != 0 {
			t.Errorf("a failed atomic apply left %v", c)
		}

		res, err := svc.Apply(t.Context(), all, false, now)
		if err != nil {
			t.Fatal(err)
		}
		if res.Failed != 2 {
			t.Errorf("Failed = %d, want 2", res.Failed)
		}
		wantKind(t, res.Outcomes[3].Err, apperr.NotFound, "unknown person")
		wantKind(t, res.Outcomes[4].Err, apperr.Invalid, "test:5: encounters row 0: unknown class")
		if c := mustCounts(t, db); c["people"] != 1 || c["conditions"] != 1 || c["encounters"] != 1 {
			t.Errorf("counts = %v; want the good items applied", c)
		}
	})

	t.Run("a cancelled admission is withdrawn and a merge repoints an identity", func(t *testing.T) {
		db := open(t)
		mustMigrate(t, db)
		svc := ingest.New(db)
		if _, err := svc.Apply(t.Context(), ingestItems("hl7v2:pas"), false, now); err != nil {
			t.Fatal(err)
		}
		res, err := svc.Apply(t.Context(), []ingest.Item{{Source: "hl7v2:pas", Subject: "P1", At: "A11", Cancel: &ingest.Cancel{Table: "encounters", SourceRef: "v1"}}}, false, now)
		if err != nil || res.Outcomes[0].Cancelled != 1 {
			t.Fatalf("cancel = %+v, %v", res, err)
		}
		if c := mustCounts(t, db); c["encounters"] != 0 {
			t.Errorf("encounters = %d after the cancel", c["encounters"])
		}
		second := ingest.Item{Source: "hl7v2:pas", Subject: "P2", At: "A04", Person: &registry.Person{GivenName: "Dup", FamilyName: "Patient"}}
		r2, err := svc.Apply(t.Context(), []ingest.Item{second}, false, now)
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.Merge(t.Context(), ingest.Merge{Source: "hl7v2:pas", Into: "P1", From: "P2", At: "A40"}, now); err != nil {
			t.Fatal(err)
		}
		// What the source now says about P2 lands on P1's person.
		r3, err := svc.Apply(t.Context(), []ingest.Item{{Source: "hl7v2:pas", Subject: "P2", At: "A08", Rows: ingestItems("hl7v2:pas")[2].Rows}}, false, now)
		if err != nil {
			t.Fatal(err)
		}
		if r3.Outcomes[0].PersonID != res.Outcomes[0].PersonID || r3.Outcomes[0].PersonID == r2.Outcomes[0].PersonID {
			t.Errorf("after the merge P2 resolves to %d; want %d", r3.Outcomes[0].PersonID, res.Outcomes[0].PersonID)
		}
		err = svc.Merge(t.Context(), ingest.Merge{Source: "hl7v2:pas", Into: "P404", From: "P2", At: "A40"}, now)
		wantKind(t, err, apperr.NotFound, "merge into unknown person")
	})
}

func runMessageLogContract(t *testing.T, open func(t *testing.T) *DB) {
	t.Run("message log keeps every message and answers repeats", func(t *testing.T) {
		db := open(t)
		mustMigrate(t, db)
		at := time.Date(2025, 4, 1, 9, 0, 0, 0, time.UTC)
		m := ingest.Message{ReceivedAt: at, Peer: "127.0.0.1:5000", SendingApp: "PAS", SendingFacility: "RXX", ControlID: "MSG1",
			MessageType: "ADT^A01", Raw: []byte("MSH|^~\\&|PAS|RXX\r")}
		first, dup, err := db.LogMessage(t.Context(), m)
		if err != nil || dup || first.ID == 0 || first.Status != ingest.MessageReceived {
			t.Fatalf("LogMessage = %+v, %v, %v", first, dup, err)
		}
		if err := db.FinishMessage(t.Context(), first.ID, ingest.MessageApplied, "AA", []byte("MSH|ack"), "", at); err != nil {
			t.Fatal(err)
		}
		again, dup, err := db.LogMessage(t.Context(), m)
		if err != nil || !dup || again.ID != first.ID || again.AckCode != "AA" || string(again.Ack) != "MSH|ack" {
			t.Errorf("repeat = %+v, dup %v, %v; want the first entry with its ACK", again, dup, err)
		}
		// A message whose control id could not be read is always a new entry.
		bad := ingest.Message{ReceivedAt: at, Peer: "p", Raw: []byte("garbage"), Status: ingest.MessageRejected, AckCode: "AR"}
		for range 2 {
			if _, dup, err := db.LogMessage(t.Context(), bad); err != nil || dup {
				t.Fatalf("LogMessage(unparseable) dup=%v err=%v", dup, err)
			}
		}
		all, err := db.Messages(t.Context(), ingest.MessageFilter{})
		if err != nil || len(all) != 3 || all[2].ID != first.ID {
			t.Errorf("Messages = %d entries, %v; want 3, oldest last", len(all), err)
		}
		rej, err := db.Messages(t.Context(), ingest.MessageFilter{Status: ingest.MessageRejected, Limit: 1})
		if err != nil || len(rej) != 1 || rej[0].Status != ingest.MessageRejected {
			t.Errorf("rejected = %+v, %v", rej, err)
		}
		got, err := db.Message(t.Context(), first.ID)
		if err != nil || string(got.Raw) != string(m.Raw) || !got.AppliedAt.Equal(at) {
			t.Errorf("Message = %+v, %v", got, err)
		}
		_, err = db.Message(t.Context(), 9999)
		wantKind(t, err, apperr.NotFound, "no logged message 9999")
	})
}

func TestMessageLogSQLite(t *testing.T) { runMessageLogContract(t, openSQLiteTemp) }

func TestMessageLogPostgres(t *testing.T) {
	if pgOff() {
		t.Skip("WHOLECARE_TEST_POSTGRES is not set")
	}
	runMessageLogContract(t, func(t *testing.T) *DB { return openPostgresSchema(t) })
}

func TestIngestSQLite(t *testing.T) { runIngestContract(t, openSQLiteTemp) }

func TestIngestPostgres(t *testing.T) {
	if pgOff() {
		t.Skip("WHOLECARE_TEST_POSTGRES is not set")
	}
	runIngestContract(t, func(t *testing.T) *DB { return openPostgresSchema(t) })
}

func pgOff() bool { return os.Getenv("WHOLECARE_TEST_POSTGRES") == "" }
