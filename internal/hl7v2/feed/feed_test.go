package feed

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/hl7v2"
	"github.com/wholecare/wholecare/internal/ingest"
	"github.com/wholecare/wholecare/internal/sqlstore"
)

// adt is an A04 (or trigger) for patient mrn, visit visit.
func adt(trigger, control, mrn, visit string) []byte {
	return []byte(strings.Join([]string{
		"MSH|^~\\&|PAS|RTEST|WHOLECARE|ICS|20250401090000||ADT^" + trigger + "^ADT_A01|" + control + "|P|2.5",
		"EVN|" + trigger + "|20250401090000",
		"PID|1||" + mrn + "^^^RTEST^MR||PATIENT^TEST||19500301|F",
		"PV1|1|O|OPD^^^RTEST||||||||||||||||" + visit + "|||||||||||||||||||||||||20250401083000",
	}, "\r") + "\r")
}

// fakeReceiver answers every message as its Answer says, recording the
// batches it was given. A batch can be held at a gate, failed or made to
// panic.
type fakeReceiver struct {
	mu      sync.Mutex
	batches [][]string // control ids
	seen    chan string
	gate    map[string]chan struct{} // a batch holding this control id waits for the channel
	fail    func(controls []string) error
	panicOn string
}

func newFakeReceiver() *fakeReceiver {
	return &fakeReceiver{seen: make(chan string, 100), gate: map[string]chan struct{}{}}
}

func (r *fakeReceiver) Receive(ctx context.Context, ds []ingest.Delivery, now time.Time) ([]ingest.Receipt, error) {
	var controls []string
	for _, d := range ds {
		controls = append(controls, d.Entry.ControlID)
	}
	r.mu.Lock()
	r.batches = append(r.batches, controls)
	var gate chan struct{}
	for _, c := range controls {
		if g, ok := r.gate[c]; ok {
			gate = g
		}
	}
	fail, panicOn := r.fail, r.panicOn
	r.mu.Unlock()
	for _, c := range controls {
		r.seen <- c
	}
	if gate != nil {
		<-gate
	}
	if panicOn != "" && slices.Contains(controls, panicOn) {
		panic("store bug")
	}
	if fail != nil {
		if err := fail(controls); err != nil {
			return nil, err
		}
	}
	rs := make([]ingest.Receipt, len(ds))
	for i, d := range ds {
		e := d.Entry
		if e.Status == "" || e.Status == ingest.MessageReceived {
			a := d.Answer(d.Refused)
			e.Status, e.AckCode, e.Ack, e.Error = a.Status, a.AckCode, a.Ack, a.Error
		}
		e.ID = int64(i + 1)
		rs[i] = ingest.Receipt{Entry: e}
	}
	return rs, nil
}

func (r *fakeReceiver) got() [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.batches)
}

// waitSeen waits until the receiver has been given control.
func (r *fakeReceiver) waitSeen(t *testing.T, control string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case c := <-r.seen:
			if c == control {
				return
			}
		case <-timeout:
			t.Fatalf("the receiver never got %s", control)
		}
	}
}

// waitPending waits until n messages wait for a commit.
func waitPending(t *testing.T, f *Feed, n int) {
	t.Helper()
	for range 1000 {
		f.mu.Lock()
		got := len(f.pending)
		f.mu.Unlock()
		if got >= n {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("never %d messages waiting", n)
}

// patients returns n patient ids of the test sender whose messages f may
// apply side by side: no two share a stripe, which would make one wait for
// the other.
func patients(f *Feed, n int) []string {
	var out []string
	used := map[int]bool{}
	for i := 0; len(out) < n; i++ {
		id := fmt.Sprintf("P%d", i)
		if s := f.stripe("hl7v2:RTEST", id); !used[s] {
			used[s] = true
			out = append(out, id)
		}
	}
	return out
}

// ackOf reads MSA-1 and MSA-2; "" for no ACK.
func ackOf(t *testing.T, ack []byte) string {
	t.Helper()
	if ack == nil {
		return ""
	}
	m, err := hl7v2.Parse(ack)
	if err != nil {
		t.Fatalf("ACK does not parse: %v", err)
	}
	return m.Get("MSA-1") + " " + m.Get("MSA-2")
}

// sender runs Handle calls in the background and collects their ACKs.
type sender struct {
	t    *testing.T
	f    *Feed
	wg   sync.WaitGroup
	mu   sync.Mutex
	acks map[string]string
	pan  map[string]any
}

func newSender(t *testing.T, f *Feed) *sender {
	return &sender{t: t, f: f, acks: map[string]string{}, pan: map[string]any{}}
}

func (s *sender) send(control string, msg []byte) {
	s.wg.Go(func() {
		defer func() {
			if p := recover(); p != nil {
				s.mu.Lock()
				s.pan[control] = p
				s.mu.Unlock()
			}
		}()
		ack := s.f.Handle(context.Background(), "test", msg)
		s.mu.Lock()
		s.acks[control] = ackOf(s.t, ack)
		s.mu.Unlock()
	})
}

func (s *sender) wait() map[string]string {
	s.wg.Wait()
	return s.acks
}

func TestMessagesArrivingDuringACommitAreCommittedTogetherInOrder(t *testing.T) {
	r := newFakeReceiver()
	r.gate["M0"] = make(chan struct{})
	f := New(nil, r, time.Now, nil, Options{})
	ps := patients(f, 6)
	s := newSender(t, f)
	s.send("M0", adt("A04", "M0", ps[0], "V0"))
	r.waitSeen(t, "M0")
	for i := 1; i <= 5; i++ {
		c := fmt.Sprintf("M%d", i)
		s.send(c, adt("A04", c, ps[i], "V"+c))
		waitPending(t, f, i) // so that the order of arrival is known
	}
	close(r.gate["M0"])
	acks := s.wait()

	want := [][]string{{"M0"}, {"M1", "M2", "M3", "M4", "M5"}}
	if got := r.got(); !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("batches %v, want %v", got, want)
	}
	for c, a := range acks {
		if a != "AA "+c {
			t.Errorf("%s answered %q", c, a)
		}
	}
	if st := f.Stats(); st != (Stats{Commits: 2, Messages: 6}) {
		t.Errorf("stats %+v", st)
	}
}

func TestAPatientsNextMessageWaitsForTheLast(t *testing.T) {
	r := newFakeReceiver()
	r.gate["A"] = make(chan struct{})
	// Two committers: without the patient's turn, B would commit beside A.
	f := New(nil, r, time.Now, nil, Options{Committers: 2})
	ps := patients(f, 2)
	s := newSender(t, f)
	s.send("A", adt("A04", "A", ps[0], "V1"))
	r.waitSeen(t, "A")
	s.send("B", adt("A03", "B", ps[0], "V1"))
	s.send("C", adt("A04", "C", ps[1], "V2")) // another patient goes ahead
	r.waitSeen(t, "C")
	for _, b := range r.got() {
		if slices.Contains(b, "B") {
			t.Fatalf("B was committed (batches %v) while A, about the same patient, was still committing", r.got())
		}
	}
	close(r.gate["A"])
	s.wait()
	got := r.got()
	if len(got) != 3 || !slices.Equal(got[2], []string{"B"}) {
		t.Errorf("batches %v; want A, C, then B", got)
	}
}

func TestABadMessageDoesNotFailItsBatch(t *testing.T) {
	r := newFakeReceiver()
	r.gate["M0"] = make(chan struct{})
	r.fail = func(controls []string) error {
		if slices.Contains(controls, "BAD") {
			return apperr.E(apperr.Invalid, "logging a message: the data breaks a rule of the schema")
		}
		return nil
	}
	r.panicOn = "BOOM"
	f := New(nil, r, time.Now, nil, Options{})
	ps := patients(f, 6)
	s := newSender(t, f)
	s.send("M0", adt("A04", "M0", ps[0], "V0"))
	r.waitSeen(t, "M0")
	for i, c := range []string{"G1", "BAD", "G2", "BOOM", "G3"} {
		s.send(c, adt("A04", c, ps[i+1], "V"+c))
		waitPending(t, f, i+1)
	}
	close(r.gate["M0"])
	acks := s.wait()

	for _, c := range []string{"M0", "G1", "G2", "G3"} {
		if acks[c] != "AA "+c {
			t.Errorf("%s answered %q, want AA", c, acks[c])
		}
	}
	if a, ok := acks["BAD"]; !ok || a != "" {
		t.Errorf("BAD answered %q; want no ACK (the sender will retry)", a)
	}
	if p := s.pan["BOOM"]; p != "store bug" {
		t.Errorf("BOOM's Handle panicked with %v; want the store's panic, for the MLLP server to answer", p)
	}
	want := [][]string{{"M0"}, {"G1", "BAD", "G2", "BOOM", "G3"}, {"G1"}, {"BAD"}, {"G2"}, {"BOOM"}, {"G3"}}
	if got := r.got(); !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("batches %v, want %v", got, want)
	}
}

func TestAnUnavailableStoreAnswersNothing(t *testing.T) {
	r := newFakeReceiver()
	r.gate["M0"] = make(chan struct{})
	f := New(nil, r, time.Now, nil, Options{})
	ps := patients(f, 3)
	s := newSender(t, f)
	s.send("M0", adt("A04", "M0", ps[0], "V0"))
	r.waitSeen(t, "M0")
	r.mu.Lock()
	r.fail = func([]string) error { return apperr.E(apperr.Unavailable, "database is locked") }
	r.mu.Unlock()
	s.send("M1", adt("A04", "M1", ps[1], "V1"))
	waitPending(t, f, 1)
	s.send("M2", adt("A04", "M2", ps[2], "V2"))
	waitPending(t, f, 2)
	close(r.gate["M0"])
	acks := s.wait()
	if acks["M0"] != "AA M0" || acks["M1"] != "" || acks["M2"] != "" {
		t.Errorf("ACKs %v; want M0's alone (the store went down after it)", acks)
	}
	if got := r.got(); len(got) != 2 {
		t.Errorf("batches %v; want two and no retries one by one: the store is down", got)
	}
}

func TestRefusalsAndRejectionsAreAnswered(t *testing.T) {
	r := newFakeReceiver()
	f := New(nil, r, time.Now, nil, Options{})
	tests := []struct {
		name string
		msg  []byte
		want string
	}{
		{"applied", adt("A04", "OK1", "P1", "V1"), "AA OK1"},
		{"no patient class", []byte(strings.Replace(string(adt("A04", "NC1", "P1", "V1")), "PV1|1|O|", "PV1|1||", 1)), "AE NC1"},
		{"unsupported event", adt("A99", "UE1", "P1", "V1"), "AR UE1"},
		{"not HL7", []byte("garbage"), "AR "},
	}
	for _, tt := range tests {
		if got := ackOf(t, f.Handle(t.Context(), "test", tt.msg)); got != tt.want {
			t.Errorf("%s: ACK %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestLingerWaitsOnlyForTheMessagesItExpects(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newFakeReceiver()
		r.gate["M0"] = make(chan struct{})
		f := New(nil, r, time.Now, nil, Options{Linger: 5 * time.Millisecond})
		ps := patients(f, 4) // a goroutine waiting on a stripe is not durably blocked
		s := newSender(t, f)
		s.send("M0", adt("A04", "M0", ps[0], "V0"))
		synctest.Wait()
		for i := 1; i <= 3; i++ {
			c := fmt.Sprintf("M%d", i)
			s.send(c, adt("A04", c, ps[i], "V"+c))
			synctest.Wait()
		}
		close(r.gate["M0"])
		s.wait() // a batch of three: the next expects three

		start := time.Now()
		f.Handle(t.Context(), "test", adt("A04", "L1", "PL1", "VL1"))
		if waited := time.Since(start); waited != 5*time.Millisecond {
			t.Errorf("a message after a batch of three waited %v for the others, want the linger, 5ms", waited)
		}
		start = time.Now()
		f.Handle(t.Context(), "test", adt("A04", "L2", "PL2", "VL2"))
		if waited := time.Since(start); waited != 0 {
			t.Errorf("a lone sender's message waited %v; want no wait", waited)
		}
	})
}

// The whole path on SQLite: eight senders at once, each patient's
// messages in order on one of them.
func TestFeedOnSQLite(t *testing.T) {
	db, err := sqlstore.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "feed.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	f := New(db, ingest.New(db), time.Now, nil, Options{})
	const senders, patients = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, senders*patients*3)
	for s := range senders {
		wg.Go(func() {
			for p := range patients {
				mrn, visit := fmt.Sprintf("S%dP%d", s, p), fmt.Sprintf("S%dV%d", s, p)
				for i, trigger := range []string{"A01", "A08", "A03"} {
					control := fmt.Sprintf("%s-%d", mrn, i)
					msg := strings.Replace(string(adt(trigger, control, mrn, visit)), "PV1|1|O|", "PV1|1|I|", 1)
					if trigger == "A03" {
						msg = strings.Replace(msg, "20250401083000", "20250401083000|20250402100000", 1)
					}
					if got := ackOf(t, f.Handle(t.Context(), "test", []byte(msg))); got != "AA "+control {
						errs <- fmt.Errorf("%s answered %q", control, got)
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	st := f.Stats()
	if st.Messages != senders*patients*3 || st.Commits >= st.Messages {
		t.Errorf("stats %+v; want every message, in fewer commits", st)
	}
	t.Logf("%d messages in %d commits", st.Messages, st.Commits)
	c, err := db.Counts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if c["people"] != senders*patients || c["encounters"] != senders*patients {
		t.Errorf("counts %v; want a person and a stay per patient", c)
	}
	// Each stay ended: the discharge came last.
	for id := int64(1); id <= senders*patients; id++ {
		rec, err := db.PersonRecord(t.Context(), id)
		if err != nil || len(rec.Encounters) != 1 || rec.Encounters[0].End.IsZero() {
			t.Fatalf("person %d: %+v, %v; want one finished stay", id, rec.Encounters, err)
		}
	}

	// A repeat is answered from the log with the same ACK and not applied.
	first := f.Handle(t.Context(), "test", adt("A04", "REP1", "R1", "RV1"))
	again := f.Handle(t.Context(), "test", adt("A04", "REP1", "R1", "RV1"))
	if string(first) != string(again) {
		t.Errorf("repeat ACK\n%q\nwant\n%q", again, first)
	}
	msgs, err := db.Messages(t.Context(), ingest.MessageFilter{Limit: 1000})
	if err != nil || len(msgs) != senders*patients*3+1 {
		t.Errorf("log has %d entries, %v; want %d", len(msgs), err, senders*patients*3+1)
	}

	// A message a crash left logged and unapplied is applied on recovery.
	stored, _, err := db.LogMessage(t.Context(), ingest.Message{ReceivedAt: time.Now(), Peer: "test", SendingApp: "PAS", SendingFacility: "RTEST",
		ControlID: "CRASH1", MessageType: "ADT^A04", Raw: adt("A04", "CRASH1", "C1", "CV1")})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := f.Recover(t.Context()); err != nil || n != 1 {
		t.Fatalf("Recover = %d, %v", n, err)
	}
	if m, err := db.Message(t.Context(), stored.ID); err != nil || m.Status != ingest.MessageApplied || m.AckCode != "AA" {
		t.Errorf("recovered entry = %+v, %v", m, err)
	}
	if _, err := f.Replay(t.Context(), 99999); apperr.KindOf(err) != apperr.NotFound {
		t.Errorf("Replay of no message = %v; want NotFound", err)
	}
}
