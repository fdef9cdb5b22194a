package fhir

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/directory"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/registry"
)

// benchDirectory is a small directory: the benchmark is about people.
func benchDirectory() *directory.Directory {
	d := testDirectory()
	for i := range 20 {
		d.Organisations = append(d.Organisations, directory.Organisation{
			ID: fmt.Sprintf("B%05d", i), Name: fmt.Sprintf("Practice %d", i), Kind: directory.GPPractice, ParentID: "U12345",
		})
	}
	return d
}

// benchBatch makes n people from person id start+1 with a rough primary
// care history each: about 70 resources per person, observation heavy as a
// real record is. It is deterministic.
func benchBatch(start, n int) *record.Batch {
	r := rand.New(rand.NewPCG(uint64(start), 7))
	b := &record.Batch{}
	classes := record.EncounterClasses
	discharges := []string{"home", "care_home", "died", "transfer", "other"}
	obsCodes := []struct {
		c    record.Coding
		unit string
		mean float64
	}{
		{record.Coding{System: record.SNOMED, Code: "271649006", Display: "Systolic blood pressure"}, "mm[Hg]", 135},
		{record.Coding{System: record.SNOMED, Code: "271650006", Display: "Diastolic blood pressure"}, "mm[Hg]", 82},
		{record.Coding{System: record.SNOMED, Code: "999791000000106", Display: "Haemoglobin A1c level - IFCC standardised"}, "mmol/mol", 48},
		{record.Coding{System: record.SNOMED, Code: "27113001", Display: "Body weight"}, "kg", 78},
		{record.Coding{System: record.SNOMED, Code: "60621009", Display: "Body mass index"}, "kg/m2", 27},
		{record.Coding{System: record.SNOMED, Code: "1011481000000105", Display: "eGFR"}, "mL/min/{1.73_m2}", 70},
		{record.Coding{System: record.SNOMED, Code: "276885007", Display: "Core body temperature"}, "Cel", 36.8},
	}
	for i := range n {
		pid := int64(start + i + 1)
		src := record.Provenance{Source: "synth", ReceivedAt: received}
		b.People = append(b.People, registry.Person{
			ID: pid, NHSNumber: fmt.Sprintf("99%08d", pid), NHSNumberStatus: registry.NHSVerified,
			GivenName: "Given", FamilyName: "Family", BirthDate: day(1930+r.IntN(90), time.Month(1+r.IntN(12)), 1+r.IntN(28)),
			Sex: registry.Female, Postcode: "LS1 4AP", IMDDecile: 1 + r.IntN(10), Ethnicity: "A",
			PracticeID: fmt.Sprintf("B%05d", r.IntN(20)), Source: "synth", ReceivedAt: received,
		})
		b.Identities = append(b.Identities, registry.SourceIdentity{PersonID: pid, Source: "synth", LocalID: fmt.Sprintf("S-%d", pid), ReceivedAt: received})
		b.TeamLinks = append(b.TeamLinks, registry.CareTeamLink{PersonID: pid, TeamID: 10, Role: "gp-practice-team", Start: day(2010, 1, 1), Source: "synth", ReceivedAt: received})
		for c := range 4 {
			b.Conditions = append(b.Conditions, record.Condition{PersonID: pid, ID: int64(c + 1),
				Code:  record.Coding{System: record.SNOMED, Code: "13645005", Display: "Chronic obstructive pulmonary disease"},
				Onset: day(2000+r.IntN(24), 1, 1), Status: record.ConditionActive, Provenance: src})
		}
		for e := range 12 {
			start := time.Date(2015+r.IntN(10), time.Month(1+r.IntN(12)), 1+r.IntN(28), r.IntN(24), r.IntN(60), 0, 0, time.UTC)
			cl := classes[r.IntN(len(classes))]
			enc := record.Encounter{PersonID: pid, ID: int64(e + 1), Class: cl, Start: start, End: start.Add(time.Duration(1+r.IntN(72)) * time.Hour), OrgID: "RR8", Provenance: src}
			if cl.Admission() {
				enc.Discharge = discharges[r.IntN(len(discharges))]
				enc.Diagnosis = record.Coding{System: record.ICD10, Code: "J44.1"}
			}
			b.Encounters = append(b.Encounters, enc)
		}
		for o := range 40 {
			oc := obsCodes[r.IntN(len(obsCodes))]
			v := oc.mean * (0.8 + 0.4*r.Float64())
			b.Observations = append(b.Observations, record.Observation{PersonID: pid, ID: int64(o + 1), Code: oc.c, Value: &v, Unit: oc.unit,
				Effective: day(2015+r.IntN(10), 1, 1), EncounterID: int64(1 + r.IntN(12)), Provenance: src})
		}
		b.Observations = append(b.Observations, record.Observation{PersonID: pid, ID: 41, Code: record.Coding{System: record.LOINC, Code: "72166-2"},
			ValueCode: record.Coding{System: record.SNOMED, Code: "8517006", Display: "Ex-smoker"}, Effective: day(2020, 1, 1), Provenance: src})
		for m := range 6 {
			med := record.Medication{PersonID: pid, ID: int64(m + 1), Code: record.Coding{System: record.DMD, Code: "39113611000001102"},
				Start: day(2015+r.IntN(10), 1, 1), Status: record.MedicationActive, Provenance: src}
			if m%2 == 1 {
				med.End, med.Status = med.Start.AddDate(0, 6, 0), record.MedicationCompleted
			}
			b.Medications = append(b.Medications, med)
		}
		for v := range 4 {
			b.Immunisations = append(b.Immunisations, record.Immunisation{PersonID: pid, ID: int64(v + 1), Code: record.Coding{System: record.SNOMED, Code: "1037311000000106"},
				Date: day(2016+v, 10, 1), NotGiven: v == 3, Provenance: src})
		}
		for p := range 3 {
			b.Procedures = append(b.Procedures, record.Procedure{PersonID: pid, ID: int64(p + 1), Code: record.Coding{System: record.SNOMED, Code: "394703002"},
				Date: day(2020+p, 3, 1), EncounterID: int64(1 + r.IntN(12)), Provenance: src})
		}
	}
	return b
}

// BenchmarkWriteNDJSON writes 2,000 people in chunks of 500, as the
// generator does, and reports resources written per second.
func BenchmarkWriteNDJSON(b *testing.B) {
	const people, chunk = 2000, 500
	var batches []*record.Batch
	for s := 0; s < people; s += chunk {
		batches = append(batches, benchBatch(s, chunk))
	}
	d := benchDirectory()
	resources := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		w, err := NewNDJSONWriter(filepath.Join(b.TempDir(), fmt.Sprint(i)))
		if err != nil {
			b.Fatal(err)
		}
		if err := w.WriteDirectory(d); err != nil {
			b.Fatal(err)
		}
		for _, batch := range batches {
			if err := w.WriteBatch(batch); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		resources = 0
		for _, n := range w.Counts() {
			resources += n
		}
	}
	b.ReportMetric(float64(resources)*float64(b.N)/b.Elapsed().Seconds(), "resources/s")
	b.ReportMetric(float64(people)*float64(b.N)/b.Elapsed().Seconds(), "people/s")
}
