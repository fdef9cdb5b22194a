package risk

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/registry"
	"github.com/wholecare/wholecare/internal/synth"
)

// slowMask is what match must find for a coding: the union over the code
// set's concepts for it.
func slowMask(s *Scorer, c record.Coding) mask {
	var m mask
	for _, concept := range s.codes.ConceptsOf(c.System, c.Code) {
		m = m.or(s.concepts[concept])
	}
	return m
}

func maskOf(s *Scorer, c record.Coding) mask {
	var f findings
	s.match(c, Evidence{}, &f)
	var m mask
	for i := range f.efi {
		if f.efi[i].ok {
			m.efi |= 1 << i
		}
	}
	for i := range f.cci {
		if f.cci[i].ok {
			m.cci |= 1 << i
		}
	}
	return m
}

// TestMatchAgreesWithCodeSet checks the SNOMED shortcut against the code
// set for every code of every concept the scores use, and the slow path
// for URIs and padded codes.
func TestMatchAgreesWithCodeSet(t *testing.T) {
	s := mustScorer(t)
	n := 0
	for c := range s.concepts {
		for _, cd := range s.codes.Codes(c) {
			n++
			want := slowMask(s, cd)
			if want == (mask{}) {
				t.Errorf("%s|%s of %s matches nothing", cd.System, cd.Code, c)
			}
			if got := maskOf(s, cd); got != want {
				t.Errorf("%s|%s: match %+v, code set %+v", cd.System, cd.Code, got, want)
			}
		}
	}
	if n < 500 {
		t.Errorf("only %d codes checked", n)
	}
	copd := slowMask(s, sct("13645005", ""))
	for _, c := range []record.Coding{
		{System: "http://snomed.info/sct", Code: "13645005"},
		{System: record.SNOMED, Code: " 13645005 "},
	} {
		if got := maskOf(s, c); got != copd || got == (mask{}) {
			t.Errorf("%q|%q: %+v, want %+v", c.System, c.Code, got, copd)
		}
	}
	if got := maskOf(s, sct("72313002", "Systolic arterial pressure")); got != (mask{}) {
		t.Errorf("systolic BP matches %+v", got)
	}
}

// TestAssessOnSyntheticPeople checks on generated records that Assess
// equals EFI and Charlson computed apart, and that nothing fails.
func TestAssessOnSyntheticPeople(t *testing.T) {
	s := mustScorer(t)
	g, err := synth.NewGenerator(synth.Spec{Seed: 3, People: 400, ChunkSize: 400, Now: benchNow, Version: synth.Version})
	if err != nil {
		t.Fatal(err)
	}
	var batch record.Batch
	g.Chunk(0, 1, &batch)
	recs := splitBatch(&batch)
	if len(recs) != 400 {
		t.Fatalf("%d records", len(recs))
	}
	frail, comorbid, discharges := 0, 0, 0
	for i := range recs {
		r := &recs[i]
		opt := CharlsonOptions{AgePoints: true}
		a, err := s.Assess(r, benchNow, opt)
		if err != nil {
			t.Fatal(err)
		}
		e, err := s.EFI(r, benchNow)
		if err != nil {
			t.Fatal(err)
		}
		c, err := s.Charlson(r, benchNow, opt)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(Assessment{EFI: e, Charlson: c}, a); diff != "" {
			t.Fatalf("person %d: Assess differs (-apart +together):\n%s", r.Person.ID, diff)
		}
		l, err := s.LACE(r, benchNow)
		if err != nil {
			t.Fatal(err)
		}
		discharges += len(l)
		if e.Count > 0 {
			frail++
		}
		if c.Score > 0 {
			comorbid++
		}
	}
	// The generated population has long-term conditions and admissions;
	// if none register, the code lists and the generator have drifted.
	if frail == 0 || comorbid == 0 || discharges == 0 {
		t.Errorf("people with a deficit %d, with a Charlson condition %d, discharges %d: want some of each", frail, comorbid, discharges)
	}
}

func TestRecordsSplitsABatch(t *testing.T) {
	c := func(pid, id int64) record.Condition { return record.Condition{PersonID: pid, ID: id} }
	b := &record.Batch{
		People: []registry.Person{{ID: 1}, {ID: 2}, {ID: 3}},
		// Person 2's rows lie in two runs; person 9 is not in the batch.
		Conditions:  []record.Condition{c(1, 1), c(1, 2), c(2, 1), c(9, 1), c(2, 2), c(3, 1)},
		Encounters:  []record.Encounter{{PersonID: 3, ID: 7}},
		Medications: []record.Medication{{PersonID: 1, ID: 4}, {PersonID: 1, ID: 5}},
	}
	rs := Records(b)
	ids := func(cs []record.Condition) (out []int64) {
		for _, x := range cs {
			out = append(out, x.PersonID*10+x.ID)
		}
		return out
	}
	if len(rs) != 3 || rs[0].Person.ID != 1 || rs[2].Person.ID != 3 {
		t.Fatalf("Records = %+v", rs)
	}
	for i, want := range [][]int64{{11, 12}, {21, 22}, {31}} {
		if got := ids(rs[i].Conditions); !slices.Equal(got, want) {
			t.Errorf("person %d conditions = %v, want %v", i+1, got, want)
		}
	}
	if len(rs[0].Medications) != 2 || len(rs[2].Encounters) != 1 || len(rs[1].Encounters) != 0 {
		t.Errorf("medications/encounters split wrongly: %+v", rs)
	}
	// Appending to a view must not overwrite the next person's rows.
	rs[0].Conditions = append(rs[0].Conditions, c(1, 3))
	if b.Conditions[2] != c(2, 1) {
		t.Errorf("appending to person 1's conditions overwrote the batch: %+v", b.Conditions)
	}
}
