package sqlstore

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/audit"
	"github.com/wholecare/wholecare/internal/ingest"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/registry"
)

// delivery is a message for ReceiveMessages whose ACK is its answer code
// followed by its control id.
func delivery(control string, items ...ingest.Item) ingest.Delivery {
	at := time.Date(2025, 4, 1, 9, 0, 0, 0, time.UTC)
	return ingest.Delivery{
		Entry: ingest.Message{ReceivedAt: at, Peer: "127.0.0.1:5000", SendingApp: "PAS", SendingFacility: "RXX",
			ControlID: control, MessageType: "ADT^A01", Raw: []byte("MSH|^~\\&|PAS|RXX|||||ADT^A01|" + control + "\r")},
		Items: items,
		Answer: func(err error) ingest.Answer {
			if err != nil {
				return ingest.Answer{Status: ingest.MessageError, AckCode: "AE", Ack: []byte("AE " + control), Error: apperr.Message(err)}
			}
			return ingest.Answer{Status: ingest.MessageApplied, AckCode: "AA", Ack: []byte("AA " + control)}
		},
	}
}

func personItem(subject, family string) ingest.Item {
	return ingest.Item{Source: "hl7v2:RXX", Subject: subject, At: "test " + subject,
		Person: &registry.Person{GivenName: "Test", FamilyName: family, Sex: registry.Female}}
}

func visitItem(subject, visit string) ingest.Item {
	return ingest.Item{Source: "hl7v2:RXX", Subject: subject, At: "test " + subject, Rows: record.Batch{
		Encounters: []record.Encounter{{Class: record.EmergencyAdmission, Start: time.Date(2025, 4, 1, 8, 0, 0, 0, time.UTC),
			Provenance: record.Provenance{SourceRef: visit}}}}}
}

func mustReceive(t *testing.T, svc *ingest.Service, ds ...ingest.Delivery) []ingest.Receipt {
	t.Helper()
	rs, err := svc.Receive(t.Context(), ds, time.Date(2025, 4, 1, 9, 0, 1, 0, time.UTC))
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	return rs
}

// personBySubject finds the person a source identity names, 0 for none.
func personBySubject(t *testing.T, db *DB, subject string) int64 {
	t.Helper()
	var pid int64
	err := db.sql.QueryRowContext(t.Context(), db.d.rebind(`SELECT person_id FROM source_identities WHERE source = ? AND local_id = ?`), "hl7v2:RXX", subject).Scan(&pid)
	if err != nil {
		return 0
	}
	return pid
}

func outboxPeople(t *testing.T, db *DB) []string {
	t.Helper()
	rows, err := db.sql.QueryContext(t.Context(), `SELECT payload FROM outbox WHERE kind = '`+EventIngested+`' ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func runReceiveContract(t *testing.T, open func(t *testing.T) *DB) {
	t.Run("each message of a batch keeps its own outcome", func(t *testing.T) {
		db := open(t)
		mustMigrate(t, db)
		svc := ingest.New(db)
		// P2 exists before the batch, with visit V2.
		mustReceive(t, svc, delivery("M0", personItem("P2", "Before"), visitItem("P2", "V2")))
		outboxBefore := len(outboxPeople(t, db))

		refused := delivery("M5")
		refused.Refused = apperr.E(apperr.Invalid, "hl7v2: A01 PV1-2 patient class is missing")
		unparseable := ingest.Message{ReceivedAt: time.Date(2025, 4, 1, 9, 0, 0, 0, time.UTC), Peer: "p", Raw: []byte("garbage"),
			Status: ingest.MessageRejected, AckCode: "AR", Ack: []byte("AR"), Error: "not HL7"}
		rs := mustReceive(t, svc,
			delivery("M1", personItem("P1", "One"), visitItem("P1", "V1")), // applied
			delivery("M2", visitItem("nobody", "V9")),                      // unknown person: AE
			// P2's new name goes with the refusal: V1 is P1's.
			delivery("M3", personItem("P2", "After"), visitItem("P2", "V1")),
			delivery("M1", personItem("P1", "Changed"), visitItem("P1", "V1")), // a repeat within the batch
			ingest.Delivery{Entry: unparseable},
			refused,
			delivery("M6", ingest.Item{Source: "hl7v2:RXX", Subject: "P1", At: "test M6", Rows: record.Batch{
				Encounters: []record.Encounter{{Class: "spaceship", Start: time.Date(2025, 4, 1, 8, 0, 0, 0, time.UTC),
					Provenance: record.Provenance{SourceRef: "V6"}}}}}), // invalid item: AE
		)
		type outcome struct {
			Status    ingest.MessageStatus
			Ack       string
			Duplicate bool
			Logged    bool
		}
		var got []outcome
		for _, r := range rs {
			if r.Err != nil {
				t.Errorf("receipt error: %v", r.Err)
			}
			got = append(got, outcome{r.Entry.Status, string(r.Entry.Ack), r.Duplicate, r.Entry.ID != 0})
		}
		want := []outcome{
			{ingest.MessageApplied, "AA M1", false, true},
			{ingest.MessageError, "AE M2", false, true},
			{ingest.MessageError, "AE M3", false, true},
			{ingest.MessageApplied, "AA M1", true, true},
			{ingest.MessageRejected, "AR", false, true},
			{ingest.MessageError, "AE M5", false, true},
			{ingest.MessageError, "AE M6", false, true},
		}
		if !slices.Equal(got, want) {
			t.Errorf("outcomes\n got %+v\nwant %+v", got, want)
		}
		if rs[3].Entry.ID != rs[0].Entry.ID {
			t.Errorf("the repeat answered from entry %d, want %d", rs[3].Entry.ID, rs[0].Entry.ID)
		}
		if e, err := db.Message(t.Context(), rs[1].Entry.ID); err != nil || !strings.Contains(e.Error, `unknown person "nobody"`) {
			t.Errorf("refused entry = %+v, %v; want why in its error", e, err)
		}

		if personBySubject(t, db, "nobody") != 0 {
			t.Error("the refused message created its person")
		}
		p1, p2 := personBySubject(t, db, "P1"), personBySubject(t, db, "P2")
		if p, err := db.Person(t.Context(), p1); err != nil || p.FamilyName != "One" {
			t.Errorf("P1 = %+v, %v; want the first message's name, not the repeat's", p, err)
		}
		if p, err := db.Person(t.Context(), p2); err != nil || p.FamilyName != "Before" {
			t.Errorf("P2 = %+v, %v; want its name before the refused message", p, err)
		}
		rec, err := db.PersonRecord(t.Context(), p1)
		if err != nil || len(rec.Encounters) != 1 || rec.Encounters[0].SourceRef != "V1" {
			t.Errorf("P1's encounters = %+v, %v; want V1 alone", rec.Encounters, err)
		}
		log, err := db.Messages(t.Context(), ingest.MessageFilter{})
		if err != nil || len(log) != 7 { // M0 and six entries of the batch (not the repeat)
			t.Errorf("message log has %d entries, %v; want 7", len(log), err)
		}
		if ob := outboxPeople(t, db); len(ob) != outboxBefore+1 {
			t.Errorf("outbox events %d → %d; want one for the batch", outboxBefore, len(ob))
		}

		// A later repeat is answered from the log; a replay of a refused
		// message applies it once its person is known.
		rs = mustReceive(t, svc, delivery("M1", personItem("P1", "Again")), delivery("N1", personItem("nobody", "Late")))
		if !rs[0].Duplicate || string(rs[0].Entry.Ack) != "AA M1" {
			t.Errorf("repeat = %+v; want the stored AA", rs[0])
		}
		m2 := delivery("M2", visitItem("nobody", "V9"))
		for _, e := range log {
			if e.ControlID == "M2" {
				m2.Entry = e
			}
		}
		rs = mustReceive(t, svc, m2)
		if rs[0].Entry.Status != ingest.MessageApplied || rs[0].Duplicate {
			t.Errorf("replay = %+v; want it applied", rs[0])
		}
		if e, err := db.Message(t.Context(), m2.Entry.ID); err != nil || e.Status != ingest.MessageApplied || e.AckCode != "AA" {
			t.Errorf("replayed entry = %+v, %v", e, err)
		}
	})

	t.Run("a failure outside any one message's apply commits nothing", func(t *testing.T) {
		db := open(t)
		mustMigrate(t, db)
		svc := ingest.New(db)
		bad := delivery("B2", personItem("Q2", "Two"))
		bad.Answer = func(error) ingest.Answer { return ingest.Answer{Status: "bogus", AckCode: "AA"} } // breaks the log's CHECK
		_, err := svc.Receive(t.Context(), []ingest.Delivery{delivery("B1", personItem("Q1", "One")), bad}, time.Now())
		if err == nil {
			t.Fatal("no error")
		}
		if log, _ := db.Messages(t.Context(), ingest.MessageFilter{}); len(log) != 0 {
			t.Errorf("%d log entries committed, want none", len(log))
		}
		if c := mustCounts(t, db); c["people"] != 0 {
			t.Errorf("%d people committed, want none", c["people"])
		}
	})

	t.Run("a merge in a batch", func(t *testing.T) {
		db := open(t)
		mustMigrate(t, db)
		svc := ingest.New(db)
		merge := delivery("G3")
		merge.Merge = &ingest.Merge{Source: "hl7v2:RXX", Into: "G1", From: "G2", At: "test G3"}
		badMerge := delivery("G4")
		badMerge.Merge = &ingest.Merge{Source: "hl7v2:RXX", Into: "G404", From: "G2", At: "test G4"}
		selfMerge := delivery("G5")
		selfMerge.Merge = &ingest.Merge{Source: "hl7v2:RXX", Into: "G1", From: "G1", At: "test G5"}
		rs := mustReceive(t, svc, delivery("G1", personItem("G1", "One")), delivery("G2", personItem("G2", "Two")), merge, badMerge, selfMerge)
		// G2 had a person of its own before the merge moved the identity.
		var g2Person int64
		if err := db.sql.QueryRowContext(t.Context(), `SELECT from_person FROM source_merges WHERE from_id = 'G2'`).Scan(&g2Person); err != nil {
			t.Fatal(err)
		}
		var codes []string
		for _, r := range rs {
			codes = append(codes, r.Entry.AckCode)
		}
		if want := []string{"AA", "AA", "AA", "AE", "AE"}; !slices.Equal(codes, want) {
			t.Errorf("ACK codes %v, want %v", codes, want)
		}
		if a, b := personBySubject(t, db, "G1"), personBySubject(t, db, "G2"); a == 0 || a != b {
			t.Errorf("after the merge G1 is person %d and G2 person %d; want the same", a, b)
		}
		// The A40 also merged the two people, in the same transaction:
		// G2's old person is retired into G1's, its record keeps its rows.
		g1 := personBySubject(t, db, "G1")
		c, err := db.PersonCluster(t.Context(), g2Person)
		if err != nil || c.Survivor != g1 || !slices.Equal(c.Members, []int64{min(g1, g2Person), max(g1, g2Person)}) {
			t.Errorf("cluster of G2's person %d = %+v, %v; want survivor %d with both", g2Person, c, err, g1)
		}
		ms, err := db.PersonMerges(t.Context(), g1)
		if err != nil || len(ms) != 1 || ms[0].Reason != registry.MergeSource || ms[0].DecidedBy != "hl7v2:RXX" ||
			ms[0].Survivor != g1 || ms[0].Retired != g2Person {
			t.Errorf("merges = %+v, %v; want one source-merge of %d into %d decided by the source", ms, err, g2Person, g1)
		}
		// It is in the audit log against both people, decided by the source,
		// and the chain still verifies.
		for _, pid := range []int64{g1, g2Person} {
			evs, err := db.AuditEvents(t.Context(), audit.Filter{PersonID: pid, Limit: 10})
			if err != nil || len(evs) != 1 || evs[0].Action != "merge" || evs[0].UserName != "hl7v2:RXX" || evs[0].Role != "system" ||
				!strings.Contains(evs[0].Reason, "A40") {
				t.Errorf("audit of person %d = %+v, %v; want one merge by hl7v2:RXX", pid, evs, err)
			}
		}
		if rep, err := audit.Verify(t.Context(), db, audit.VerifyOptions{}); err != nil || !rep.OK() {
			t.Errorf("audit verify after the A40: %+v, %v", rep, err)
		}
		// The survivor's golden record now holds both sources' records: the
		// moved identity's demographics came with it.
		g, _, err := db.GoldenRecord(t.Context(), g2Person)
		if err != nil || g.Person.ID != g1 || g.Provenance[registry.FieldFamilyName].LocalID == "" {
			t.Errorf("golden record via the retired person = %+v, %v", g, err)
		}
		// A repeat of the A40 changes nothing more.
		again := delivery("G6")
		again.Merge = merge.Merge
		mustReceive(t, svc, again)
		if ms, _ := db.PersonMerges(t.Context(), g1); len(ms) != 1 {
			t.Errorf("after a repeated A40: %d merges, want 1", len(ms))
		}
	})
}

func TestReceiveSQLite(t *testing.T) { runReceiveContract(t, openSQLiteTemp) }

func TestReceivePostgres(t *testing.T) {
	if pgOff() {
		t.Skip("WHOLECARE_TEST_POSTGRES is not set")
	}
	runReceiveContract(t, func(t *testing.T) *DB { return openPostgresSchema(t) })
}
