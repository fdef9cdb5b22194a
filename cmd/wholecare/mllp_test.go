package main

import (
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/hl7v2"
	"github.com/wholecare/wholecare/internal/hl7v2/mllp"
	"github.com/wholecare/wholecare/internal/ingest"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/sqlstore"
)

// pv1 builds a PV1 segment from field number → value.
func pv1(f map[int]string) string {
	fields := make([]string, 46)
	fields[0] = "PV1"
	for n, v := range f {
		fields[n] = v
	}
	return strings.Join(fields, "|")
}

func adt(trigger, control, pid, pv string) []byte {
	segs := []string{
		"MSH|^~\\&|PAS|RTEST|WHOLECARE|ICS|20250401090000||ADT^" + trigger + "^ADT_A01|" + control + "|P|2.4",
		"EVN|" + trigger + "|20250401090000",
		pid,
	}
	if pv != "" {
		segs = append(segs, pv)
	}
	return []byte(strings.Join(segs, "\r") + "\r")
}

// dialMLLP waits for a server started by startServing to say where its
// MLLP listener is, and connects to it; the connection closes with the test.
func dialMLLP(t testing.TB, out *syncBuffer) net.Conn {
	t.Helper()
	re := regexp.MustCompile(`MLLP\) listening on (\S+)`)
	var addr string
	for range 100 {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			addr = m[1]
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if addr == "" {
		t.Fatalf("no MLLP address in the output:\n%s", out.String())
	}
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func TestMLLPEndToEnd(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "mllp.db")
	_, out := startServing(t, envOf(map[string]string{"WHOLECARE_DB": db}), "serve", "--addr", "127.0.0.1:0", "--mllp-addr", "127.0.0.1:0")
	conn := dialMLLP(t, out)
	rd := mllp.NewReader(conn, 1<<20)
	send := func(msg []byte) (code, errCode string) {
		t.Helper()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		if err := mllp.WriteFrame(conn, msg); err != nil {
			t.Fatal(err)
		}
		ack, err := rd.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		m, err := hl7v2.Parse(ack)
		if err != nil {
			t.Fatalf("ACK does not parse: %v", err)
		}
		return m.Get("MSA-1"), m.Get("ERR-3.1")
	}

	pid := "PID|1||MRN001^^^RTEST^MR~9434765919^^^NHS^NH||PATIENT^TEST||19500301|F|||1 TEST ROAD^^LEEDS^^LS1 4AP"
	admit := adt("A01", "MSG0002", pid, pv1(map[int]string{1: "1", 2: "I", 3: "WARD1^^^RTEST", 4: "E", 19: "V001", 44: "20250401083000"}))
	steps := []struct {
		name     string
		msg      []byte
		code     string
		errCode  string
		describe string
	}{
		{"admit", admit, "AA", "", "an emergency admission is applied"},
		{"admit again", admit, "AA", "", "a repeated control id is acknowledged again"},
		{"discharge", adt("A03", "MSG0003", pid, pv1(map[int]string{1: "1", 2: "I", 3: "WARD1^^^RTEST", 4: "E", 19: "V001", 36: "01", 44: "20250401083000", 45: "20250404110000"})), "AA", "", "the discharge ends the stay"},
		{"unknown patient", adt("A03", "MSG0004", "PID|1||MRN999^^^RTEST^MR", pv1(map[int]string{1: "1", 2: "I", 19: "V999", 44: "20250401083000", 45: "20250402110000"})), "AE", "204", "a discharge for a patient nobody sent is refused"},
		{"garbage", []byte("this is not HL7"), "AR", "", "bytes that are not a message are rejected"},
	}
	for _, s := range steps {
		code, errCode := send(s.msg)
		if code != s.code || (s.errCode != "" && errCode != s.errCode) {
			t.Errorf("%s: ACK %s (ERR-3 %q), want %s %s: %s", s.name, code, errCode, s.code, s.errCode, s.describe)
		}
	}

	sdb, err := sqlstore.Open(t.Context(), db, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	c, err := sdb.Counts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if c["people"] != 1 || c["encounters"] != 1 {
		t.Fatalf("counts %v; want one person with one stay (the repeat applied once)", c)
	}
	rec, err := sdb.PersonRecord(t.Context(), firstPersonID(t, sdb))
	if err != nil {
		t.Fatal(err)
	}
	e := rec.Encounters[0]
	if e.Class != record.EmergencyAdmission || e.End.IsZero() || e.SourceRef != "V001" || !strings.HasPrefix(e.Source, "hl7v2:") {
		t.Errorf("encounter = %+v; want a finished emergency admission keyed by the visit number", e)
	}
	msgs, err := sdb.Messages(t.Context(), ingest.MessageFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 4 {
		t.Errorf("message log has %d entries, want 4 (the repeat is not a new entry)", len(msgs))
	}
	for _, m := range msgs {
		if m.AckCode == "" || m.Status == ingest.MessageReceived {
			t.Errorf("message %d left %s without an ACK", m.ID, m.Status)
		}
	}
}

func firstPersonID(t *testing.T, db *sqlstore.DB) int64 {
	t.Helper()
	for id := int64(1); id < 100; id++ {
		if _, err := db.Person(t.Context(), id); err == nil {
			return id
		}
	}
	t.Fatal("no person with an id below 100")
	return 0
}
