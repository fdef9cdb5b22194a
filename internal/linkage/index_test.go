package linkage

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// mustIndex makes an index with the default model.
func mustIndex(t testing.TB, cfg Config) *Index {
	t.Helper()
	m, err := DefaultModel()
	if err != nil {
		t.Fatal(err)
	}
	ix, err := NewIndex(m, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

// personOf is the generator's person number of a record id ("p12-3" → 13,
// so that no person is 0) and whether it is the first record of them.
func personOf(t testing.TB, id string) (int64, bool) {
	t.Helper()
	p, k, ok := strings.Cut(strings.TrimPrefix(id, "p"), "-")
	n, err := strconv.ParseInt(p, 10, 64)
	if !ok || err != nil {
		t.Fatalf("record id %q", id)
	}
	return n + 1, k == "0"
}

// TestIndexMatchesIncomingRecords puts the first record of every
// generated person in a registry and matches the rest against it: each
// a duplicate with one to three errors, and people the registry has never
// seen.
func TestIndexMatchesIncomingRecords(t *testing.T) {
	recs, _ := genRecords(20_000, 0.3, 11)
	ix := mustIndex(t, Config{})
	var incoming []Record
	for _, r := range recs {
		if id, first := personOf(t, r.ID); first {
			if err := ix.Add(id, r); err != nil {
				t.Fatal(err)
			}
		} else {
			incoming = append(incoming, r)
		}
	}
	ix.Calibrate()
	strangers, _ := genRecords(5_000, 0, 12)

	var found, wrong, review, missed, strangerLinks int
	for _, r := range incoming {
		want, _ := personOf(t, r.ID)
		cs := ix.Match(r, 5)
		switch {
		case len(cs) == 0 || cs[0].Outcome == NoLink:
			missed++
		case cs[0].Outcome == Review:
			review++
		case cs[0].PersonID == want:
			found++
		default:
			wrong++
		}
	}
	for _, r := range strangers {
		if cs := ix.Match(r, 1); len(cs) > 0 && cs[0].Outcome == Link {
			strangerLinks++
		}
	}
	precision := float64(found) / float64(found+wrong+strangerLinks)
	recall := float64(found) / float64(len(incoming))
	t.Logf("%d in the registry, %d duplicates: linked %d right, %d wrong, %d to review, %d missed; %d of %d strangers linked; precision %.3f recall %.3f; %.1f candidates per record",
		ix.Len(), len(incoming), found, wrong, review, missed, strangerLinks, len(strangers), precision, recall, ix.CandidatesPerRecord())
	if precision < 0.98 || recall < 0.85 {
		t.Errorf("precision %.3f (want ≥ 0.98), recall %.3f (want ≥ 0.85)", precision, recall)
	}
}

func TestIndexEvidence(t *testing.T) {
	ix := mustIndex(t, Config{})
	base := Record{GivenName: "Margaret", FamilyName: "Tullaroop", BirthDate: Date{1950, 3, 14}, Sex: "female", Postcode: "LS6 2AB"}
	mustAdd(t, ix, 7, base)
	in := base
	in.GivenName = "Peggy"
	in.BirthDate = Date{1950, 3, 14}
	cs := ix.Match(in, 0)
	if len(cs) != 1 || cs[0].PersonID != 7 {
		t.Fatalf("candidates %+v", cs)
	}
	got := map[string]string{}
	sum := 0.0
	for _, e := range cs[0].Evidence {
		got[e.Field] = e.Level
		sum += e.Weight
	}
	for f, want := range map[string]string{"given_name": "nickname", "family_name": "exact", "birth_date": "exact", "postcode": "exact", "nhs_number": "null"} {
		if got[f] != want {
			t.Errorf("%s: level %q, want %q", f, got[f], want)
		}
	}
	if diff := sum - cs[0].Weight; diff > 1e-9 || diff < -1e-9 {
		t.Errorf("evidence weights add to %v, candidate weight %v", sum, cs[0].Weight)
	}
}

func mustAdd(t testing.TB, ix *Index, id int64, r Record) {
	t.Helper()
	if err := ix.Add(id, r); err != nil {
		t.Fatal(err)
	}
}

func TestIndexAddReplaceRemove(t *testing.T) {
	ix := mustIndex(t, Config{})
	alice := Record{GivenName: "Alice", FamilyName: "Ashworth", BirthDate: Date{1980, 1, 2}, Postcode: "LS1 1AA", Sex: "female"}
	bob := Record{GivenName: "Robert", FamilyName: "Stanfield", BirthDate: Date{1971, 5, 6}, Postcode: "BD7 3QX", Sex: "male"}
	mustAdd(t, ix, 1, alice)
	mustAdd(t, ix, 2, bob)
	top := func(r Record) int64 {
		if cs := ix.Match(r, 1); len(cs) > 0 && cs[0].Outcome == Link {
			return cs[0].PersonID
		}
		return 0
	}
	if got := top(alice); got != 1 {
		t.Fatalf("alice matched %d", got)
	}
	// Person 1's demographics change to Bob's: Alice is nobody now.
	mustAdd(t, ix, 1, bob)
	if got := top(alice); got != 0 {
		t.Errorf("after the change, alice matched %d", got)
	}
	ix.Remove(2)
	ix.Remove(2) // unknown now: ignored
	if got := top(bob); got != 1 {
		t.Errorf("bob matched %d, want 1", got)
	}
	ix.Remove(1)
	if cs := ix.Match(bob, 0); len(cs) != 0 || ix.Len() != 0 {
		t.Errorf("empty index: %d candidates, len %d", len(cs), ix.Len())
	}
	// A freed slot is reused, and finds the new person only.
	mustAdd(t, ix, 3, alice)
	if got := top(alice); got != 3 {
		t.Errorf("alice matched %d, want 3", got)
	}
	if err := ix.Add(0, alice); err == nil {
		t.Error("person 0 accepted")
	}
}

// TestIndexNHSNumbers: only two verified numbers agreeing link whatever
// else differs; an unverified one agreeing is weighed, and an invalid one
// is not used at all.
func TestIndexNHSNumbers(t *testing.T) {
	const nhs, invalid = "9434765919", "9434765918"
	reg := Record{GivenName: "Ann", FamilyName: "Holmfirth", BirthDate: Date{1960, 7, 8}, Postcode: "HD1 2XY", NHSNumber: nhs, NHSVerified: true}
	other := Record{GivenName: "Zachary", FamilyName: "Quill", BirthDate: Date{1999, 12, 30}, Postcode: "YO1 7ZZ"}
	tests := []struct {
		name     string
		reg, in  Record
		want     Outcome
		nhsLevel string
	}{
		{"both verified", reg, with(other, nhs, true), Link, "same"},
		{"incoming unverified", reg, with(other, nhs, false), NoLink, "same"},
		{"unverified agrees with the rest", reg, with(reg, nhs, false), Link, "same"},
		{"invalid number", with(reg, invalid, false), with(other, invalid, false), NoLink, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix := mustIndex(t, Config{Blocking: []string{"nhs-number", "postcode"}})
			mustAdd(t, ix, 1, tt.reg)
			cs := ix.Match(tt.in, 0)
			if tt.nhsLevel == "" {
				if len(cs) != 0 {
					t.Fatalf("an invalid NHS number found %+v", cs)
				}
				return
			}
			if len(cs) != 1 {
				t.Fatalf("candidates %+v", cs)
			}
			if cs[0].Outcome != tt.want {
				t.Errorf("outcome %v (p=%.3f), want %v", cs[0].Outcome, cs[0].Probability, tt.want)
			}
			for _, e := range cs[0].Evidence {
				if e.Field == "nhs_number" && e.Level != tt.nhsLevel {
					t.Errorf("nhs_number level %q, want %q", e.Level, tt.nhsLevel)
				}
			}
		})
	}
}

func with(r Record, nhs string, verified bool) Record {
	r.NHSNumber, r.NHSVerified = nhs, verified
	return r
}

// TestIndexConcurrentUse matches while people are added, changed and
// removed (run with -race).
func TestIndexConcurrentUse(t *testing.T) {
	recs, _ := genRecords(4000, 0.2, 5)
	ix := mustIndex(t, Config{})
	for i, r := range recs[:2000] {
		mustAdd(t, ix, int64(i+1), r)
	}
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Go(func() {
			for i := g; i < 2000; i += 2 {
				ix.Match(recs[2000+i], 3)
			}
		})
	}
	wg.Go(func() {
		for i, r := range recs[2000:] {
			if err := ix.Add(int64(i+2001), r); err != nil {
				panic(fmt.Sprint(err))
			}
			if i%3 == 0 {
				ix.Remove(int64(i + 1))
			}
		}
	})
	wg.Wait()
	if want := 4000 - 667; ix.Len() != want {
		t.Errorf("len %d, want %d", ix.Len(), want)
	}
}
