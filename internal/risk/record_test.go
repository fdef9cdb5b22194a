package risk

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/wholecare/wholecare/internal/record"
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
