package synth

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/directory"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/registry"
)

var testNow = time.Date(2025, time.April, 1, 0, 0, 0, 0, time.UTC)

func testSpec(people, chunk int) Spec {
	return Spec{Seed: 42, People: people, ChunkSize: chunk, Now: testNow, Version: Version}
}

func mustGenerator(t testing.TB, spec Spec) *Generator {
	t.Helper()
	g, err := NewGenerator(spec)
	if err != nil {
		t.Fatalf("NewGenerator(%+v): %v", spec, err)
	}
	return g
}

func mustChunk(t testing.TB, g *Generator, k int, base int64) *record.Batch {
	t.Helper()
	b := new(record.Batch)
	g.Chunk(k, base, b)
	return b
}

func TestNewGeneratorValidates(t *testing.T) {
	ok := testSpec(10, 10)
	tests := []struct {
		name string
		edit func(*Spec)
		want string // "" for no error
	}{
		{"ok", func(*Spec) {}, ""},
		{"no people", func(s *Spec) { s.People = 0 }, "people must be between"},
		{"too many people", func(s *Spec) { s.People = MaxPeople + 1 }, "people must be between"},
		{"no chunk", func(s *Spec) { s.ChunkSize = 0 }, "chunk size"},
		{"huge chunk", func(s *Spec) { s.ChunkSize = MaxChunkSize + 1 }, "chunk size"},
		{"no now", func(s *Spec) { s.Now = time.Time{} }, "now must be set"},
		{"other version", func(s *Spec) { s.Version = "synth-0" }, "version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := ok
			tt.edit(&spec)
			_, err := NewGenerator(spec)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("NewGenerator: %v", err)
				}
				return
			}
			if !apperr.Is(err, apperr.Invalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewGenerator error = %v, want Invalid containing %q", err, tt.want)
			}
		})
	}
}

func TestNewGeneratorIsFast(t *testing.T) {
	start := time.Now()
	mustGenerator(t, testSpec(1_000_000, 10_000))
	if got := time.Since(start); got > 200*time.Millisecond && !testing.Short() {
		t.Logf("NewGenerator took %v (target < 200 ms; machine may be loaded)", got)
	}
}

func TestDeterminism(t *testing.T) {
	spec := testSpec(2500, 1000)
	g1, g2 := mustGenerator(t, spec), mustGenerator(t, spec)
	if diff := cmp.Diff(g1.Directory(), g2.Directory()); diff != "" {
		t.Fatalf("directories differ (-first +second):\n%s", diff)
	}
	var full []*record.Batch
	for k := range spec.Chunks() {
		full = append(full, mustChunk(t, g1, k, 1))
	}
	for k := range spec.Chunks() {
		if diff := cmp.Diff(full[k], mustChunk(t, g2, k, 1)); diff != "" {
			t.Fatalf("chunk %d differs between runs (-first +second):\n%s", k, diff)
		}
	}
	alone := mustChunk(t, mustGenerator(t, spec), 2, 1)
	if diff := cmp.Diff(full[2], alone); diff != "" {
		t.Fatalf("chunk 2 alone differs from chunk 2 of a full run (-full +alone):\n%s", diff)
	}
	if got, want := len(full[2].People), 500; got != want {
		t.Errorf("last chunk has %d people, want %d", got, want)
	}
	if got, want := full[1].People[0].ID, int64(1001); got != want {
		t.Errorf("first person of chunk 1 has ID %d, want %d", got, want)
	}
	other := mustChunk(t, mustGenerator(t, Spec{Seed: 43, People: 2500, ChunkSize: 1000, Now: testNow, Version: Version}), 0, 1)
	if cmp.Equal(full[0].People, other.People) {
		t.Error("another seed gave the same people")
	}
}

func TestPeopleAndRows(t *testing.T) {
	g := mustGenerator(t, testSpec(20_000, 5000))
	seen := map[string]bool{}
	for k := range 4 {
		b := mustChunk(t, g, k, 1)
		for _, p := range b.People {
			if !validNHSNumber(p.NHSNumber) || !strings.HasPrefix(p.NHSNumber, "999") {
				t.Fatalf("person %d: NHS number %q is not a valid test-range number", p.ID, p.NHSNumber)
			}
			if seen[p.NHSNumber] {
				t.Fatalf("NHS number %s given twice", p.NHSNumber)
			}
			seen[p.NHSNumber] = true
			if !strings.HasPrefix(p.Postcode, "ZZ") || strings.HasPrefix(p.Postcode, "ZZ99") {
				t.Fatalf("person %d: postcode %q is not in the invented ZZ area", p.ID, p.Postcode)
			}
			if !p.Sex.Valid() || p.IMDDecile < 1 || p.IMDDecile > 10 || p.Ethnicity == "" || p.PracticeID == "" {
				t.Fatalf("person %d is incomplete: %+v", p.ID, p)
			}
			if p.BirthDate.After(testNow) || (!p.DateOfDeath.IsZero() && p.DateOfDeath.Before(p.BirthDate)) {
				t.Fatalf("person %d: born %v, died %v", p.ID, p.BirthDate, p.DateOfDeath)
			}
		}
		checkRows(t, b)
	}
}

// checkRows checks that every row belongs to a person of the batch, row IDs
// run 1, 2, 3… per person and table, provenance is set, and nothing
// happens after Now or after death.
func checkRows(t *testing.T, b *record.Batch) {
	t.Helper()
	died := map[int64]time.Time{}
	for _, p := range b.People {
		died[p.ID] = p.DateOfDeath
	}
	type key struct {
		table  string
		person int64
	}
	next := map[key]int64{}
	check := func(table string, person, id int64, when time.Time, prov record.Provenance) {
		t.Helper()
		d, ok := died[person]
		if !ok {
			t.Fatalf("%s row of person %d, who is not in the batch", table, person)
		}
		k := key{table, person}
		next[k]++
		if id != next[k] {
			t.Fatalf("%s row of person %d has ID %d, want %d", table, person, id, next[k])
		}
		if prov.Source != "synth" || prov.ReceivedAt.IsZero() || prov.ReceivedAt.After(testNow) {
			t.Fatalf("%s row %d/%d has provenance %+v", table, person, id, prov)
		}
		if when.After(testNow) || (!d.IsZero() && when.After(d)) {
			t.Fatalf("%s row %d/%d happens %v, after Now or death (%v)", table, person, id, when, d)
		}
	}
	for _, r := range b.Conditions {
		check("condition", r.PersonID, r.ID, r.Onset, r.Provenance)
	}
	for _, r := range b.Observations {
		check("observation", r.PersonID, r.ID, r.Effective, r.Provenance)
	}
	for _, r := range b.Encounters {
		check("encounter", r.PersonID, r.ID, r.Start, r.Provenance)
		if !r.Class.Valid() {
			t.Fatalf("encounter class %q", r.Class)
		}
		if !r.End.IsZero() && r.End.Before(r.Start) {
			t.Fatalf("person %d encounter %d ends (%s) before it starts (%s)", r.PersonID, r.ID, r.End, r.Start)
		}
	}
	for _, r := range b.Medications {
		check("medication", r.PersonID, r.ID, r.Start, r.Provenance)
	}
	for _, r := range b.Immunisations {
		check("immunisation", r.PersonID, r.ID, r.Date, r.Provenance)
	}
	for _, r := range b.Procedures {
		check("procedure", r.PersonID, r.ID, r.Date, r.Provenance)
	}
	for _, r := range b.Costs {
		check("cost", r.PersonID, r.ID, r.Date, r.Provenance)
		if r.Pence <= 0 {
			t.Fatalf("cost %d/%d is %d pence", r.PersonID, r.ID, r.Pence)
		}
	}
	for _, r := range b.Packages {
		check("package", r.PersonID, r.ID, r.Start, r.Provenance)
	}
}

func TestDirectory(t *testing.T) {
	for _, people := range []int{50, 20_000, 600_000} {
		t.Run(strconv.Itoa(people), func(t *testing.T) {
			d := mustGenerator(t, testSpec(people, 1000)).Directory()
			kinds := map[directory.OrgKind]int{}
			lists, pcnList, pcnPractices := 0, map[string]int{}, map[string]int{}
			ids := map[string]bool{}
			for _, o := range d.Organisations {
				if ids[o.ID] {
					t.Fatalf("organisation %s twice", o.ID)
				}
				ids[o.ID] = true
				if !strings.HasPrefix(o.ID, "ZZ") {
					t.Errorf("organisation code %s does not start ZZ", o.ID)
				}
				kinds[o.Kind]++
				if o.Kind == directory.GPPractice {
					lists += o.ListSize
					pcnList[o.ParentID] += o.ListSize
					pcnPractices[o.ParentID]++
				}
			}
			if kinds[directory.GPPractice] < 3 || kinds[directory.ICB] != 1 || kinds[directory.AcuteTrust] < 1 ||
				kinds[directory.CommunityTrust] != 1 || kinds[directory.MentalHealthTrust] != 1 || kinds[directory.SocialCare] != 1 ||
				kinds[directory.VoluntarySector] < 3 || kinds[directory.CareHome] < 1 || kinds[directory.PCN] < 1 {
				t.Errorf("organisation kinds %v", kinds)
			}
			if math.Abs(float64(lists-people)) > 0.01*float64(people)+float64(kinds[directory.GPPractice]) {
				t.Errorf("lists sum to %d, want about %d", lists, people)
			}
			if people >= 100_000 {
				mean := float64(lists) / float64(kinds[directory.GPPractice])
				if mean < 7000 || mean > 13000 {
					t.Errorf("mean list size %.0f, want about 10,000", mean)
				}
				if got, want := kinds[directory.AcuteTrust], 1; got != want {
					t.Errorf("%d acute trusts for %d people, want %d", got, people, want)
				}
				for pcn, n := range pcnPractices {
					if n < 3 || n > 8 || pcnList[pcn] < 20_000 || pcnList[pcn] > 80_000 {
						t.Errorf("PCN %s: %d practices, list %d", pcn, n, pcnList[pcn])
					}
				}
			}
			teams := map[int64]bool{}
			for _, tm := range d.Teams {
				teams[tm.ID] = true
			}
			for _, m := range d.Members {
				if !teams[m.TeamID] {
					t.Fatalf("member of unknown team %d", m.TeamID)
				}
			}
		})
	}
}

// fakeStore is an in-memory Store that keeps copies of what it is given.
type fakeStore struct {
	runs      []Run
	dirs      int
	chunks    map[int]*record.Batch
	afterSave func(chunk int)
}

func (s *fakeStore) BeginGeneration(_ context.Context, spec Spec, replace bool) (Run, error) {
	for _, r := range s.runs {
		if r.Spec == spec {
			return r, nil
		}
	}
	if len(s.runs) > 0 && !replace {
		return Run{}, apperr.E(apperr.Conflict, "another run")
	}
	s.runs = []Run{{ID: int64(len(s.runs) + 1), Spec: spec, BasePersonID: 1000}}
	s.chunks = map[int]*record.Batch{}
	return s.runs[0], nil
}

func (s *fakeStore) SaveDirectory(context.Context, int64, *directory.Directory) error {
	s.dirs++
	return nil
}

func (s *fakeStore) SaveChunk(_ context.Context, _ int64, chunk int, b *record.Batch) error {
	if s.runs[0].ChunksDone != chunk {
		return apperr.Ef(apperr.Conflict, "chunk %d saved when %d are done", chunk, s.runs[0].ChunksDone)
	}
	s.chunks[chunk] = cloneBatch(b)
	s.runs[0].ChunksDone++
	if s.afterSave != nil {
		s.afterSave(chunk)
	}
	return nil
}

func (s *fakeStore) FinishGeneration(context.Context, int64) error {
	s.runs[0].Complete = true
	return nil
}

func cloneBatch(b *record.Batch) *record.Batch {
	return &record.Batch{
		People: slices.Clone(b.People), Identities: slices.Clone(b.Identities), TeamLinks: slices.Clone(b.TeamLinks),
		Conditions: slices.Clone(b.Conditions), Observations: slices.Clone(b.Observations), Encounters: slices.Clone(b.Encounters),
		Medications: slices.Clone(b.Medications), Immunisations: slices.Clone(b.Immunisations), Procedures: slices.Clone(b.Procedures),
		Costs: slices.Clone(b.Costs), Packages: slices.Clone(b.Packages),
	}
}

func TestLoadResumesExactly(t *testing.T) {
	spec := testSpec(3500, 500) // 7 chunks
	whole := &fakeStore{}
	run, err := Load(t.Context(), whole, spec, false, nil)
	if err != nil || !run.Complete || run.ChunksDone != 7 {
		t.Fatalf("uninterrupted Load = %+v, %v", run, err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	interrupted := &fakeStore{afterSave: func(chunk int) {
		if chunk == 2 {
			cancel()
		}
	}}
	_, err = Load(ctx, interrupted, spec, false, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted Load error = %v, want context.Canceled", err)
	}
	if got, want := interrupted.runs[0].ChunksDone, 3; got != want {
		t.Fatalf("interrupted after %d chunks, want %d", got, want)
	}
	interrupted.afterSave = nil
	var progress [][2]int
	run, err = Load(t.Context(), interrupted, spec, false, func(done, total int) { progress = append(progress, [2]int{done, total}) })
	if err != nil || !run.Complete {
		t.Fatalf("resumed Load = %+v, %v", run, err)
	}
	if diff := cmp.Diff([][2]int{{2000, 3500}, {2500, 3500}, {3000, 3500}, {3500, 3500}}, progress); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(whole.chunks, interrupted.chunks); diff != "" {
		t.Fatalf("resumed population differs (-uninterrupted +resumed):\n%s", diff)
	}
	again, err := Load(t.Context(), interrupted, spec, false, nil)
	if err != nil || !again.Complete || interrupted.dirs != 2 {
		t.Errorf("Load of a complete run = %+v, %v (directory saved %d times, want 2)", again, err, interrupted.dirs)
	}
	if _, err := Load(t.Context(), interrupted, testSpec(100, 50), false, nil); !apperr.Is(err, apperr.Conflict) {
		t.Errorf("Load of another spec without replace: %v, want Conflict", err)
	}
}

// qofTargets reads England's 2020/21 QOF prevalence (register ÷ list,
// summed over regions) from the shared data, or skips.
func qofTargets(t *testing.T) map[string]float64 {
	t.Helper()
	dir := os.Getenv("WHOLECARE_SHARED_DATA")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "data")
	}
	f, err := os.Open(filepath.Join(dir, "codelists", "qof", "qof_prevalence_region_fy20to21.csv"))
	if err != nil {
		t.Skipf("QOF prevalence file not found (set WHOLECARE_SHARED_DATA to the shared data folder): %v", err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	reg, list := map[string]float64{}, map[string]float64{}
	for _, row := range rows[1:] {
		r, err1 := strconv.ParseFloat(row[2], 64)
		l, err2 := strconv.ParseFloat(row[3], 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("bad row %v", row)
		}
		reg[row[0]] += r
		list[row[0]] += l
	}
	out := map[string]float64{}
	for k := range reg {
		out[k] = reg[k] / list[k]
	}
	return out
}

// groupOfCode maps the canonical condition codes to QOF groups.
func groupOfCode() map[string]string {
	m := map[string]string{}
	for c, ct := range conditionTable {
		_ = c
		m[ct.Key] = ct.Key
	}
	add := func(group string, cs ...code) {
		for _, c := range cs {
			m[c.Code] = group
		}
	}
	add("AF", codeAF)
	add("AST", codeAsthma)
	add("CAN", codeCancer)
	add("CHD", codeCHD)
	add("CKD", codeCKD3, codeCKD4, codeCKD5)
	add("COPD", codeCOPD)
	add("DEM", codeDementia)
	add("DEP", codeDepression)
	add("DM", codeT1DM, codeT2DM)
	add("EP", codeEpilepsy)
	add("HF", codeHF)
	add("HYP", codeHypertension)
	add("LD", codeLD)
	add("MH", codeSchizo, codeBipolar)
	add("NDH", codeNDH)
	add("OB", codeObesity)
	add("OST", codeOsteoporosis)
	add("PAD", codePAD)
	add("PC", codePalliative)
	add("RA", codeRA)
	add("STIA", codeStroke, codeTIA)
	add("OA", codeOA)
	add("THY", codeHypothyroid)
	add("FRAIL1", codeFrailMild)
	add("FRAIL2", codeFrailMod)
	add("FRAIL3", codeFrailSevere)
	return m
}

// TestPopulation generates 100,000 people and compares them with England.
func TestPopulation(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 100,000 people")
	}
	targets := qofTargets(t)
	minAge := map[string]int{"AST": 6, "CKD": 18, "DEP": 18, "DM": 17, "EP": 18, "NDH": 18, "OB": 18, "OST": 50, "RA": 16, "OA": 45}
	spec := testSpec(100_000, 10_000)
	g := mustGenerator(t, spec)
	groups := groupOfCode()
	now := testNow
	winStart := now.AddDate(-historyYears, 0, 0)

	type ageBand struct {
		lo, hi int
	}
	mmBands := []ageBand{{0, 17}, {18, 39}, {40, 59}, {60, 74}, {75, 200}}
	var (
		alive, alive65, alive85, female, rows int
		count                                 = map[string]int{}
		denom                                 = map[string]int{}
		mmN, mmMulti                          = make([]int, len(mmBands)), make([]int, len(mmBands))
		depN, depMulti                        [11]int
		eaCount, eaYears                      float64
		eaBand, yrsBand                       = map[string]float64{}, map[string]float64{}
		y1Adm, y1AdmY2, y1No, y1NoY2          int
		losList                               []float64
		eaPence                               int64
		eaN                                   int
		deaths, inHospitalDeaths              int
		flu65, flu65Eligible                  int
		poly5, poly10, pkg65, smokers, adults int
		frailCoded                            [4]int
		alive65Frail                          int
	)
	band := func(age int) string {
		switch {
		case age < 20:
			return "0-19"
		case age < 40:
			return "20-39"
		case age < 65:
			return "40-64"
		case age < 85:
			return "65-84"
		}
		return "85+"
	}
	var b record.Batch
	for k := range spec.Chunks() {
		g.Chunk(k, 1, &b)
		rows += b.Rows()
		conds := map[int64]map[string]bool{}
		for _, c := range b.Conditions {
			if conds[c.PersonID] == nil {
				conds[c.PersonID] = map[string]bool{}
			}
			conds[c.PersonID][groups[c.Code.Code]] = true
		}
		type use struct{ y1, y2 bool }
		adm := map[int64]*use{}
		ea := map[int64][]time.Time{}
		for _, e := range b.Encounters {
			if e.Class != record.EmergencyAdmission {
				continue
			}
			ea[e.PersonID] = append(ea[e.PersonID], e.Start)
			if !e.End.IsZero() {
				los := e.End.Sub(e.Start).Hours() / 24
				losList = append(losList, math.Round(los))
			}
			if e.Discharge == "died" {
				inHospitalDeaths++
			}
			eaPence += 0
			eaN++
			u := adm[e.PersonID]
			if u == nil {
				u = &use{}
				adm[e.PersonID] = u
			}
			switch {
			case !e.Start.Before(now.AddDate(-1, 0, 0)):
				u.y2 = true
			case !e.Start.Before(now.AddDate(-2, 0, 0)):
				u.y1 = true
			}
		}
		for _, c := range b.Costs {
			if c.Setting == string(record.EmergencyAdmission) {
				eaPence += c.Pence
			}
		}
		flu := map[int64]int{}
		for _, im := range b.Immunisations {
			if im.Code.Code == codeFluVaccine.Code && !im.NotGiven && !im.Date.Before(now.AddDate(0, -7, 0)) {
				flu[im.PersonID]++
			}
		}
		meds := map[int64]int{}
		for _, m := range b.Medications {
			if m.Status == record.MedicationActive {
				meds[m.PersonID]++
			}
		}
		pkgs := map[int64]bool{}
		for _, p := range b.Packages {
			if p.End.IsZero() && p.Kind != "reablement" {
				pkgs[p.PersonID] = true
			}
		}
		smoke := map[int64]bool{}
		for _, o := range b.Observations {
			if o.Code.Code == codeSmoker.Code {
				smoke[o.PersonID] = true
			}
		}
		for _, p := range b.People {
			// person-years in the window by age band, year by year
			for y := range historyYears {
				y0 := winStart.AddDate(y, 0, 0)
				y1 := y0.AddDate(1, 0, 0)
				if p.BirthDate.After(y0) {
					y0 = p.BirthDate
				}
				if p.Dead(y1) {
					y1 = p.DateOfDeath
				}
				if !y1.After(y0) {
					continue
				}
				yrs := y1.Sub(y0).Hours() / 24 / 365.25
				eaYears += yrs
				yrsBand[band(p.AgeAt(y0))] += yrs
			}
			for _, s := range ea[p.ID] {
				if !s.Before(winStart) {
					eaCount++
					eaBand[band(p.AgeAt(s))]++
				}
			}
			if p.Dead(now) {
				deaths++
				continue
			}
			alive++
			age := p.AgeAt(now)
			if p.Sex == registry.Female {
				female++
			}
			if age >= 65 {
				alive65++
				if age >= 85 {
					alive85++
				}
				flu65Eligible++
				if flu[p.ID] > 0 {
					flu65++
				}
				if meds[p.ID] >= 5 {
					poly5++
				}
				if meds[p.ID] >= 10 {
					poly10++
				}
				if pkgs[p.ID] {
					pkg65++
				}
				alive65Frail++
				for lvl := 1; lvl <= 3; lvl++ {
					if conds[p.ID][fmt.Sprintf("FRAIL%d", lvl)] {
						frailCoded[lvl]++
					}
				}
			}
			if age >= 18 {
				adults++
				if smoke[p.ID] {
					smokers++
				}
			}
			for key := range targets {
				if age >= minAge[key] {
					denom[key]++
					if conds[p.ID][key] {
						count[key]++
					}
				}
			}
			for _, key := range []string{"OA", "THY"} {
				if age >= minAge[key] {
					denom[key]++
					if conds[p.ID][key] {
						count[key]++
					}
				}
			}
			n := 0
			for key := range conds[p.ID] {
				if _, ok := targets[key]; ok && key != "OB" && key != "NDH" {
					n++
				}
			}
			for i, bd := range mmBands {
				if age >= bd.lo && age <= bd.hi {
					mmN[i]++
					if n >= 2 {
						mmMulti[i]++
					}
				}
			}
			depN[p.IMDDecile]++
			if n >= 2 {
				depMulti[p.IMDDecile]++
			}
			if u := adm[p.ID]; u != nil || p.BirthDate.Before(now.AddDate(-2, 0, 0)) {
				if u == nil {
					u = &use{}
				}
				if u.y1 {
					y1Adm++
					if u.y2 {
						y1AdmY2++
					}
				} else {
					y1No++
					if u.y2 {
						y1NoY2++
					}
				}
			}
		}
	}

	keys := make([]string, 0, len(targets))
	for k := range targets {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var tab strings.Builder
	fmt.Fprintf(&tab, "\n%-5s %8s %9s %8s %8s\n", "group", "target%", "generated%", "register", "denom")
	for _, k := range keys {
		got := float64(count[k]) / float64(denom[k])
		want := targets[k]
		fmt.Fprintf(&tab, "%-5s %8.2f %9.2f %8d %8d\n", k, 100*want, 100*got, count[k], denom[k])
		if rel, abs := math.Abs(got-want)/want, math.Abs(got-want); rel > 0.15 && abs > 0.003 {
			t.Errorf("%s prevalence %.2f%%, England %.2f%%", k, 100*got, 100*want)
		}
	}
	for _, k := range []string{"OA", "THY"} {
		fmt.Fprintf(&tab, "%-5s %8s %9.2f %8d %8d\n", k, "-", 100*float64(count[k])/float64(denom[k]), count[k], denom[k])
	}
	t.Log(tab.String())

	share65 := float64(alive65) / float64(alive)
	t.Logf("alive at Now %d (died in window %d, %d of them in hospital); female %.1f%%, 65+ %.1f%%, 85+ %.2f%%; rows/person %.1f",
		alive, deaths, inHospitalDeaths, 100*float64(female)/float64(alive), 100*share65, 100*float64(alive85)/float64(alive), float64(rows)/float64(spec.People))
	if share65 < 0.17 || share65 > 0.20 {
		t.Errorf("share aged 65+ is %.1f%%, want 17–20%%", 100*share65)
	}

	var mm strings.Builder
	prev := -1.0
	for i, bd := range mmBands {
		share := float64(mmMulti[i]) / float64(mmN[i])
		fmt.Fprintf(&mm, " %d-%d: %.1f%%", bd.lo, min(bd.hi, 99), 100*share)
		if share <= prev {
			t.Errorf("multimorbidity does not rise with age: band %v is %.1f%%", bd, 100*share)
		}
		prev = share
	}
	deprived := float64(depMulti[1]+depMulti[2]) / float64(depN[1]+depN[2])
	affluent := float64(depMulti[9]+depMulti[10]) / float64(depN[9]+depN[10])
	t.Logf("multimorbidity (≥2 QOF LTCs) by age:%s; deciles 1–2 %.1f%%, 9–10 %.1f%%", mm.String(), 100*deprived, 100*affluent)
	if deprived <= affluent {
		t.Errorf("multimorbidity in deciles 1–2 (%.1f%%) not above deciles 9–10 (%.1f%%)", 100*deprived, 100*affluent)
	}

	rate := 1000 * eaCount / eaYears
	var bands strings.Builder
	for _, k := range []string{"0-19", "20-39", "40-64", "65-84", "85+"} {
		fmt.Fprintf(&bands, " %s: %.0f", k, 1000*eaBand[k]/yrsBand[k])
	}
	sort.Float64s(losList)
	rr := (float64(y1AdmY2) / float64(y1Adm)) / (float64(y1NoY2) / float64(y1No))
	t.Logf("emergency admissions per 1,000 person-years: %.1f;%s", rate, bands.String())
	t.Logf("LOS median %.0f days, mean %.1f, p90 %.0f; mean cost £%.0f; next-year admission RR after an admission %.1f (%d/%d vs %d/%d)",
		losList[len(losList)/2], mean(losList), losList[len(losList)*9/10], float64(eaPence)/float64(eaN)/100, rr, y1AdmY2, y1Adm, y1NoY2, y1No)
	t.Logf("65+: flu vaccinated last autumn %.1f%%, ≥5 active repeats %.1f%%, ≥10 %.1f%%, current care package %.1f%%, coded frailty mild/moderate/severe %.1f/%.1f/%.1f%%; adult smokers recorded %.1f%%",
		100*float64(flu65)/float64(flu65Eligible), 100*float64(poly5)/float64(alive65), 100*float64(poly10)/float64(alive65), 100*float64(pkg65)/float64(alive65),
		100*float64(frailCoded[1])/float64(alive65Frail), 100*float64(frailCoded[2])/float64(alive65Frail), 100*float64(frailCoded[3])/float64(alive65Frail),
		100*float64(smokers)/float64(adults))
	if rate < 70 || rate > 140 {
		t.Errorf("emergency admission rate %.1f per 1,000 person-years, want 70–140", rate)
	}
	if old, young := eaBand["85+"]/yrsBand["85+"], eaBand["20-39"]/yrsBand["20-39"]; old < 4*young {
		t.Errorf("admission rate at 85+ (%.3f) is not much higher than at 20–39 (%.3f)", old, young)
	}
	if rr <= 2 {
		t.Errorf("relative risk of admission after an admission is %.2f, want > 2", rr)
	}
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func BenchmarkChunk(b *testing.B) {
	spec := testSpec(1_000_000, 10_000)
	g := mustGenerator(b, spec)
	var batch record.Batch
	var people, rows int
	b.ResetTimer()
	k := 0
	for b.Loop() {
		g.Chunk(k%spec.Chunks(), 1, &batch)
		people += len(batch.People)
		rows += batch.Rows()
		k++
	}
	b.ReportMetric(float64(people)/b.Elapsed().Seconds(), "people/s")
	b.ReportMetric(float64(rows)/float64(people), "rows/person")
}
