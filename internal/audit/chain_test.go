package audit

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wholecare/wholecare/internal/apperr"
)

var testAt = time.Date(2025, 4, 1, 9, 30, 0, 123456000, time.UTC)

// readEvent is a typical entry: a care coordinator reads a person's record.
func readEvent() Event {
	return Event{At: testAt, UserID: 7, UserName: "ann.coordinator", Role: "care_coordinator", OrgID: "Y00001",
		PersonID: 42, Action: ActionRead, ResourceType: "Patient", Purpose: PurposeDirectCare, Basis: BasisCareTeam,
		Outcome: OutcomeAllowed, Detail: "GET /api/people/{id}"}
}

func breakGlassEvent() Event {
	e := readEvent()
	e.At = time.Date(2025, 4, 1, 9, 30, 1, 0, time.UTC)
	e.Action, e.Purpose, e.Basis = ActionBreakGlass, PurposeBreakGlass, BasisBreakGlass
	e.Reason = "Unconscious in ED, no care team reachable"
	return e
}

func mustChain(t *testing.T, head Head, events ...Event) ([]Event, Head) {
	t.Helper()
	out, h, err := Chain(head, events)
	if err != nil {
		t.Fatalf("Chain: %v", err)
	}
	return out, h
}

// The hashes below were computed outside Go (Python's hashlib and struct)
// from the encoding as ComputeHash documents it: a change to the encoding
// breaks every stored log, so it must fail here first.
func TestHashKnownAnswers(t *testing.T) {
	got, head := mustChain(t, EmptyHead, readEvent(), breakGlassEvent())
	want := []string{
		"ed85e36d317cc51cf3c5f4292cc8a6a3298bed9417921e2cc8a8c32e82c7a48a",
		"845d61595838b0ed8198b34b29abdd87fc69e91068fe935362033349f9178619",
	}
	for i, e := range got {
		if e.Hash != want[i] {
			t.Errorf("entry %d hash = %s, want %s", i+1, e.Hash, want[i])
		}
	}
	if head != (Head{Seq: 2, Hash: want[1]}) {
		t.Errorf("head = %v, want 2:%s", head, want[1])
	}
}

func TestChainLinksEntries(t *testing.T) {
	start := Head{Seq: 41, Hash: strings.Repeat("ab", 32)}
	e := readEvent()
	e.At = time.Date(2025, 4, 1, 10, 0, 0, 123456789, time.FixedZone("BST", 3600))
	got, head := mustChain(t, start, e, readEvent(), readEvent())
	if head.Seq != 44 || head.Hash != got[2].Hash {
		t.Errorf("head = %v, want 44 and the last entry's hash", head)
	}
	prev := start.Hash
	for i, g := range got {
		if g.Seq != int64(42+i) || g.Prev != prev || g.Hash != g.ComputeHash() {
			t.Errorf("entry %d = seq %d prev %s hash %s; want seq %d linked to %s", i, g.Seq, g.Prev, g.Hash, 42+i, prev)
		}
		prev = g.Hash
	}
	if want := time.Date(2025, 4, 1, 9, 0, 0, 123456000, time.UTC); !got[0].At.Equal(want) || got[0].At.Location() != time.UTC {
		t.Errorf("At = %v, want %v (UTC, microseconds)", got[0].At, want)
	}

	chained := got[0]
	_, _, err := Chain(head, []Event{chained})
	wantErr(t, err, apperr.Invalid, "already chained")
	_, _, err = Chain(Head{Seq: 1, Hash: "x"}, []Event{readEvent()})
	wantErr(t, err, apperr.Internal, "not a head")
	bad := readEvent()
	bad.Outcome = "maybe"
	_, _, err = Chain(head, []Event{readEvent(), bad})
	wantErr(t, err, apperr.Invalid, "outcome must be allowed, denied or failed")
}

// Every field is covered by the hash, and moving bytes from one text field
// to the next changes it: the encoding is unambiguous.
func TestHashCoversEveryField(t *testing.T) {
	base, _ := mustChain(t, EmptyHead, readEvent())
	changes := map[string]func(e *Event){
		"seq":           func(e *Event) { e.Seq++ },
		"at":            func(e *Event) { e.At = e.At.Add(time.Microsecond) },
		"user id":       func(e *Event) { e.UserID++ },
		"user name":     func(e *Event) { e.UserName += "x" },
		"role":          func(e *Event) { e.Role = "clinician" },
		"org id":        func(e *Event) { e.OrgID = "Y00002" },
		"person id":     func(e *Event) { e.PersonID++ },
		"action":        func(e *Event) { e.Action = ActionUpdate },
		"resource type": func(e *Event) { e.ResourceType = "Observation" },
		"purpose":       func(e *Event) { e.Purpose = PurposeAdministration },
		"basis":         func(e *Event) { e.Basis = BasisPractice },
		"outcome":       func(e *Event) { e.Outcome = OutcomeDenied },
		"reason":        func(e *Event) { e.Reason = "x" },
		"detail":        func(e *Event) { e.Detail = "" },
		"prev":          func(e *Event) { e.Prev = strings.Repeat("1", 64) },
		"name/role boundary": func(e *Event) {
			e.UserName, e.Role = e.UserName+e.Role[:1], e.Role[1:]
		},
		"reason/detail boundary": func(e *Event) {
			e.Reason, e.Detail = e.Detail[:3], e.Detail[3:]
		},
	}
	for name, change := range changes {
		e := base[0]
		change(&e)
		if e.ComputeHash() == base[0].Hash {
			t.Errorf("changing %s leaves the hash as it was", name)
		}
	}
	same := base[0]
	same.At = same.At.In(time.FixedZone("X", -5*3600))
	if same.ComputeHash() != base[0].Hash {
		t.Error("the same instant in another zone hashes differently")
	}
}

func TestValid(t *testing.T) {
	tests := []struct {
		name   string
		change func(e *Event)
		want   string // "" when valid
	}{
		{"typical", func(e *Event) {}, ""},
		{"sign-in without a person or purpose", func(e *Event) {
			e.PersonID, e.Purpose, e.Action, e.ResourceType, e.Basis = 0, "", ActionSignIn, "", BasisNone
		}, ""},
		{"failed sign-in by name only", func(e *Event) {
			e.UserID, e.PersonID, e.Purpose, e.Action, e.Basis, e.Outcome = 0, 0, "", ActionSignIn, BasisNone, OutcomeDenied
		}, ""},
		{"no time", func(e *Event) { e.At = time.Time{} }, "at is missing"},
		{"ancient time", func(e *Event) { e.At = time.Date(1066, 10, 14, 0, 0, 0, 0, time.UTC) }, "at is outside"},
		{"nobody", func(e *Event) { e.UserID, e.UserName = 0, "" }, "user is missing"},
		{"negative person", func(e *Event) { e.PersonID = -1 }, "person id is negative"},
		{"no action", func(e *Event) { e.Action = "" }, "action is missing"},
		{"odd action", func(e *Event) { e.Action = "Read!" }, "action must be"},
		{"person without purpose", func(e *Event) { e.Purpose = "" }, "purpose is missing"},
		{"no basis", func(e *Event) { e.Basis = "" }, "basis is missing"},
		{"no outcome", func(e *Event) { e.Outcome = "" }, "outcome is missing"},
		{"unknown outcome", func(e *Event) { e.Outcome = "ok" }, "outcome must be"},
		{"resource type with a space", func(e *Event) { e.ResourceType = "care plan" }, "resource type must be"},
		{"long detail", func(e *Event) { e.Detail = strings.Repeat("x", maxDetail+1) }, "detail is longer than 500 bytes"},
		{"long reason", func(e *Event) { e.Reason = strings.Repeat("x", maxReason+1) }, "reason is longer"},
		{"long user name", func(e *Event) { e.UserName = strings.Repeat("x", maxName+1) }, "user name is longer"},
		{"bad utf-8", func(e *Event) { e.Detail = "\xff" }, "detail is not valid text"},
		{"nul", func(e *Event) { e.Reason = "a\x00b" }, "reason is not valid text"},
		{"break-glass without a reason", func(e *Event) { e.Basis = BasisBreakGlass }, "reason is required for break-glass"},
		{"break-glass with a blank reason", func(e *Event) { e.Action, e.Reason = ActionBreakGlass, "  " }, "reason is required"},
		{"bad prev", func(e *Event) { e.Prev = "abc" }, "prev is not a hex SHA-256"},
		{"upper-case hash", func(e *Event) { e.Hash = strings.Repeat("A", 64) }, "hash is not a hex SHA-256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := readEvent()
			tt.change(&e)
			err := e.Valid()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Valid = %v, want nil", err)
				}
				return
			}
			wantErr(t, err, apperr.Invalid, tt.want)
		})
	}
	// Messages name the field, never its value.
	e := readEvent()
	e.Reason, e.Basis = strings.Repeat("secret ", 200), BasisBreakGlass
	if err := e.Valid(); err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("Valid = %v; want an error that does not quote the reason", err)
	}
}

func TestLogValueHidesText(t *testing.T) {
	var b strings.Builder
	e := breakGlassEvent()
	slog.New(slog.NewTextHandler(&b, nil)).Info("x", "event", e)
	if got := b.String(); strings.Contains(got, "Unconscious") || strings.Contains(got, "/api/") || !strings.Contains(got, "event.person=42") {
		t.Errorf("logged %q; want ids without the reason or detail", got)
	}
}

func TestParseHead(t *testing.T) {
	h := strings.Repeat("0a", 32)
	tests := []struct {
		in   string
		want Head
		err  string
	}{
		{"12:" + h, Head{12, h}, ""},
		{" " + strings.ToUpper(h) + "\n", Head{0, h}, ""},
		{"0:" + GenesisHash, EmptyHead, ""},
		{"x:" + h, Head{}, "not a number"},
		{"-1:" + h, Head{}, "not a number"},
		{"12:abc", Head{}, "64 hex digits"},
		{"", Head{}, "64 hex digits"},
	}
	for _, tt := range tests {
		got, err := ParseHead(tt.in)
		if tt.err != "" {
			wantErr(t, err, apperr.Invalid, tt.err)
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseHead(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
		if again, _ := ParseHead(got.String()); again != got {
			t.Errorf("ParseHead(%q.String()) = %v", got, again)
		}
	}
}

func TestFilterNormalised(t *testing.T) {
	got, err := Filter{PersonID: 3}.Normalised()
	if diff := cmp.Diff(Filter{PersonID: 3, Limit: DefaultLimit}, got); err != nil || diff != "" {
		t.Errorf("Normalised = %v (-want +got):\n%s", err, diff)
	}
	for _, f := range []Filter{
		{Limit: MaxLimit + 1}, {Limit: -1}, {PersonID: -1}, {AfterSeq: -2}, {Action: "DROP TABLE"},
		{From: testAt, To: testAt},
	} {
		if _, err := f.Normalised(); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("Normalised(%+v) = %v, want Invalid", f, err)
		}
	}
}

func wantErr(t *testing.T, err error, k apperr.Kind, contains string) {
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
}
