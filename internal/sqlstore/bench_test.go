package sqlstore

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/registry"
	"github.com/wholecare/wholecare/internal/synth"
)

const benchPeople = 5000

func BenchmarkSaveChunk(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		db, err := Open(b.Context(), "sqlite:"+filepath.Join(b.TempDir(), "bench.db"), nil)
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		benchSaveChunk(b, db)
	})
	b.Run("postgres", func(b *testing.B) {
		if os.Getenv("WHOLECARE_TEST_POSTGRES") == "" {
			b.Skip("WHOLECARE_TEST_POSTGRES is not set")
		}
		benchSaveChunk(b, openPostgresSchema(b))
	})
}

func benchSaveChunk(b *testing.B, db *DB) {
	if _, err := db.Migrate(b.Context()); err != nil {
		b.Fatal(err)
	}
	spec := synth.Spec{Seed: 1, People: b.N * benchPeople, ChunkSize: benchPeople, Now: testNow, Version: "bench"}
	run, err := db.BeginGeneration(b.Context(), spec, false)
	if err != nil {
		b.Fatal(err)
	}
	if err := db.SaveDirectory(b.Context(), run.ID, testDirectory()); err != nil {
		b.Fatal(err)
	}
	batch := benchBatch(run.BasePersonID, benchPeople)
	rows := batch.Rows()
	b.ResetTimer()
	for i := range b.N {
		if i > 0 {
			b.StopTimer()
			shiftPeople(batch, benchPeople)
			b.StartTimer()
		}
		if err := db.SaveChunk(b.Context(), run.ID, i, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(rows)/benchPeople, "rows/person")
}

// benchBatch is synthetic-looking: about 30 rows a person in the proportions
// a primary-care-heavy record has, with realistic string lengths.
func benchBatch(first int64, n int) *record.Batch {
	r := rand.New(rand.NewPCG(1, 2))
	recv := time.Date(2025, 3, 31, 12, 0, 0, 0, time.UTC)
	b := &record.Batch{}
	snomed := []record.Coding{
		{System: record.SNOMED, Code: "13645005", Display: "Chronic obstructive lung disease"},
		{System: record.SNOMED, Code: "44054006", Display: "Diabetes mellitus type 2"},
		{System: record.SNOMED, Code: "38341003", Display: "Hypertensive disorder"},
		{System: record.SNOMED, Code: "195967001", Display: "Asthma"},
	}
	obs := []record.Coding{
		{System: record.SNOMED, Code: "271649006", Display: "Systolic blood pressure"},
		{System: record.SNOMED, Code: "271650006", Display: "Diastolic blood pressure"},
		{System: record.SNOMED, Code: "1003671000000109", Display: "Haemoglobin A1c level"},
		{System: record.SNOMED, Code: "60621009", Display: "Body mass index"},
	}
	for k := range n {
		id := first + int64(k)
		prov := func(i int) record.Provenance {
			return record.Provenance{Source: "synth", SourceRef: strconv.FormatInt(id, 10) + "/" + strconv.Itoa(i), ReceivedAt: recv}
		}
		b.People = append(b.People, registry.Person{ID: id, NHSNumber: strconv.FormatInt(9_000_000_000+id, 10), NHSNumberStatus: registry.NHSVerified,
			GivenName: "Olivia", FamilyName: "Smith", BirthDate: day(1930+r.IntN(90), time.Month(1+r.IntN(12)), 1+r.IntN(28)), Sex: registry.Female,
			Postcode: "LS1 4AP", IMDDecile: 1 + r.IntN(10), Ethnicity: "A", PracticeID: "B86001", Source: "synth", ReceivedAt: recv})
		b.Identities = append(b.Identities, registry.SourceIdentity{PersonID: id, Source: "synth", LocalID: "synth-" + strconv.FormatInt(id, 10), ReceivedAt: recv, Provenance: "source"})
		b.TeamLinks = append(b.TeamLinks, registry.CareTeamLink{PersonID: id, TeamID: 10, Role: "gp-practice-team", Start: day(2010, 1, 1), Source: "synth", ReceivedAt: recv})
		row := 0
		next := func() int64 { row++; return int64(row) }
		for range 1 + r.IntN(4) {
			i := next()
			b.Conditions = append(b.Conditions, record.Condition{PersonID: id, ID: i, Code: snomed[r.IntN(len(snomed))], Onset: day(2000+r.IntN(24), 1, 1), Status: record.ConditionActive, Provenance: prov(int(i))})
		}
		var encs []int64
		for range 3 + r.IntN(5) {
			i := next()
			encs = append(encs, i)
			start := time.Date(2020+r.IntN(5), time.Month(1+r.IntN(12)), 1+r.IntN(28), 9+r.IntN(8), 0, 0, 0, time.UTC)
			b.Encounters = append(b.Encounters, record.Encounter{PersonID: id, ID: i, Class: record.PrimaryCare, Start: start, End: start.Add(15 * time.Minute), OrgID: "B86001", Provenance: prov(int(i))})
			b.Costs = append(b.Costs, record.ActivityCost{PersonID: id, ID: next(), EncounterID: i, Date: day(start.Year(), start.Month(), start.Day()), Setting: "primary_care", ProviderID: "B86001", Pence: 4200, Provenance: prov(int(i))})
		}
		for range 8 + r.IntN(8) {
			i := next()
			v := 40 + r.Float64()*100
			b.Observations = append(b.Observations, record.Observation{PersonID: id, ID: i, Code: obs[r.IntN(len(obs))], Value: &v, Unit: "mm[Hg]",
				Effective: time.Date(2020+r.IntN(5), time.Month(1+r.IntN(12)), 1+r.IntN(28), 10, 0, 0, 0, time.UTC), EncounterID: encs[r.IntN(len(encs))], Provenance: prov(int(i))})
		}
		for range 1 + r.IntN(4) {
			i := next()
			b.Medications = append(b.Medications, record.Medication{PersonID: id, ID: i, Code: record.Coding{System: record.DMD, Code: "39113611000001102", Display: "Salbutamol 100micrograms/dose inhaler"},
				Start: day(2018+r.IntN(6), 1, 1), Status: record.MedicationActive, Provenance: prov(int(i))})
		}
		for range r.IntN(3) {
			i := next()
			b.Immunisations = append(b.Immunisations, record.Immunisation{PersonID: id, ID: i, Code: record.Coding{System: record.SNOMED, Code: "822851000000102", Display: "Seasonal influenza vaccination"},
				Date: day(2019+r.IntN(6), 10, 1), Provenance: prov(int(i))})
		}
		if r.IntN(3) == 0 {
			i := next()
			b.Procedures = append(b.Procedures, record.Procedure{PersonID: id, ID: i, Code: record.Coding{System: record.OPCS4, Code: "K40.1", Display: "Saphenous vein graft"}, Date: day(2022, 3, 3), EncounterID: encs[0], Provenance: prov(int(i))})
		}
	}
	return b
}

// shiftPeople moves a batch on to the next block of people.
func shiftPeople(b *record.Batch, d int64) {
	for i := range b.People {
		b.People[i].ID += d
		b.People[i].NHSNumber = strconv.FormatInt(9_000_000_000+b.People[i].ID, 10)
	}
	for i := range b.Identities {
		b.Identities[i].PersonID += d
		b.Identities[i].LocalID = "synth-" + strconv.FormatInt(b.Identities[i].PersonID, 10)
	}
	for i := range b.TeamLinks {
		b.TeamLinks[i].PersonID += d
	}
	for i := range b.Conditions {
		b.Conditions[i].PersonID += d
	}
	for i := range b.Observations {
		b.Observations[i].PersonID += d
	}
	for i := range b.Encounters {
		b.Encounters[i].PersonID += d
	}
	for i := range b.Medications {
		b.Medications[i].PersonID += d
	}
	for i := range b.Immunisations {
		b.Immunisations[i].PersonID += d
	}
	for i := range b.Procedures {
		b.Procedures[i].PersonID += d
	}
	for i := range b.Costs {
		b.Costs[i].PersonID += d
	}
	for i := range b.Packages {
		b.Packages[i].PersonID += d
	}
}
