package codes

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/wholecare/wholecare/internal/record"
)

func mustLoad(t testing.TB) *Set {
	t.Helper()
	s, err := Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return s
}

// noVerifiedCodes lists concepts kept in the index with no codes yet,
// because no code for them could be verified (see the package README in
// data/README.md). efi.polypharmacy is computed and never has codes.
var noVerifiedCodes = []Concept{
	"efi.polypharmacy",
	"carer", "homeless", "physical_disability", "continuing_care", "med.arb", "med.lama",
	"obs.cat_score", "obs.clinical_frailty_scale", "obs.efi_score",
	"proc.asthma_action_plan", "proc.inhaler_technique", "proc.diabetes_foot_check",
	"proc.diabetes_education_referral", "proc.pulmonary_rehab_offer", "proc.pulmonary_rehab_done",
	"proc.dementia_care_plan_review", "proc.hf_review", "proc.care_plan_agreed",
}

func TestEveryConceptHasCodes(t *testing.T) {
	s := mustLoad(t)
	for _, in := range s.Concepts() {
		n := len(s.Codes(in.ID))
		gap := slices.Contains(noVerifiedCodes, in.ID)
		switch {
		case n == 0 && !gap:
			t.Errorf("%s has no codes", in.ID)
		case n > 0 && gap:
			t.Errorf("%s has codes now: remove it from noVerifiedCodes", in.ID)
		case gap && in.ID != "efi.polypharmacy" && !strings.Contains(in.Name, "no verified codes"):
			t.Errorf("%s has no codes but its name does not say so: %q", in.ID, in.Name)
		}
	}
	if in, ok := s.Info("efi.polypharmacy"); !ok || in.Kind != EFIDeficit {
		t.Errorf("efi.polypharmacy = %+v, %v", in, ok)
	}
}

func TestEFIHas36Deficits(t *testing.T) {
	s := mustLoad(t)
	var n int
	for _, in := range s.Concepts() {
		if in.Kind == EFIDeficit {
			n++
			if !strings.HasPrefix(string(in.ID), "efi.") {
				t.Errorf("deficit %s lacks efi. prefix", in.ID)
			}
		}
	}
	if n != 36 {
		t.Errorf("got %d eFI deficits, want 36", n)
	}
}

func TestLoadDeterministic(t *testing.T) {
	a, b := mustLoad(t), mustLoad(t)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two loads differ")
	}
	if !reflect.DeepEqual(a.Concepts(), b.Concepts()) {
		t.Fatal("Concepts order differs")
	}
}

func TestParseErrors(t *testing.T) {
	concepts := "id,kind,name,refset\ncopd,condition,COPD,COPD_COD\n"
	tests := []struct {
		name, concepts, codes, want string
	}{
		{"unknown concept", concepts, "concept,system,code,display\ncopd,sct,13645005,COPD\nasthma,sct,195967001,Asthma\n", "data/codes.csv:3: unknown concept \"asthma\""},
		{"unknown system", concepts, "concept,system,code,display\ncopd,snomed,13645005,COPD\n", "data/codes.csv:2: unknown system"},
		{"bad kind", "id,kind,name,refset\ncopd,disease,COPD,\n", "concept,system,code,display\n", "data/concepts.csv:2: concept \"copd\": unknown kind"},
		{"duplicate code", concepts, "concept,system,code,display\ncopd,icd10,J44,x\ncopd,icd10,J44.,x\n", "data/codes.csv:3: duplicate code"},
		{"wrong fields", concepts, "concept,system,code,display\ncopd,sct,1\n", "data/codes.csv"},
		{"bad header", concepts, "concept,system,code\n", "data/codes.csv"},
		{"empty display", concepts, "concept,system,code,display\ncopd,sct,13645005,\n", "data/codes.csv:2: code sct|13645005: empty display"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse([]byte(tt.concepts), []byte(tt.codes))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want containing %q", err, tt.want)
			}
		})
	}
}

func TestConceptsOf(t *testing.T) {
	s := mustLoad(t)
	tests := []struct {
		system, code string
		want         []Concept
	}{
		{record.SNOMED, "13645005", []Concept{"copd", "efi.respiratory_disease", "cci.chronic_pulmonary"}},
		{"http://snomed.info/sct", " 13645005 ", []Concept{"copd", "efi.respiratory_disease", "cci.chronic_pulmonary"}},
		{record.SNOMED, "49436004", []Concept{"atrial_fibrillation", "efi.atrial_fibrillation"}},
		{record.SNOMED, "44054006", []Concept{"diabetes", "diabetes_type2", "efi.diabetes", "cci.diabetes"}},
		{record.SNOMED, "433144002", []Concept{"ckd", "efi.ckd", "cci.renal"}},
		{record.SNOMED, "431856006", []Concept{"ckd_1_2"}},
		{record.SNOMED, "925831000000107", []Concept{"frailty_moderate"}},
		{record.SNOMED, "0000", nil},
		{record.LOINC, "8480-6", []Concept{"obs.systolic_bp"}},
		{"http://loinc.org", "LA18976-3", []Concept{"value.current_smoker"}},
		{record.CVX, "140", []Concept{"vacc.flu"}},
		{"http://hl7.org/fhir/sid/cvx", "208", []Concept{"vacc.covid19"}},
		{record.RxNorm, "314076", []Concept{"med.ace_inhibitor"}},
		{record.RxNorm, "896209", []Concept{"med.inhaled_corticosteroid", "med.laba"}},
		{record.ICD10, "J44.1", []Concept{"copd", "efi.respiratory_disease", "cci.chronic_pulmonary"}},
		{record.ICD10, "J441", []Concept{"copd", "efi.respiratory_disease", "cci.chronic_pulmonary"}},
		{record.ICD10, "J44.1X", []Concept{"copd", "efi.respiratory_disease", "cci.chronic_pulmonary"}},
		{"http://hl7.org/fhir/sid/icd-10-uk", "j449", []Concept{"copd", "efi.respiratory_disease", "cci.chronic_pulmonary"}},
		{"https://fhir.hl7.org.uk/Id/icd10", "I48.0", []Concept{"atrial_fibrillation", "efi.atrial_fibrillation"}},
		{record.ICD10, "I10X", []Concept{"hypertension", "efi.hypertension"}},
		{record.ICD10, "N18.3", []Concept{"ckd", "efi.ckd", "cci.renal"}},
		{record.ICD10, "N18.2", []Concept{"ckd_1_2"}},
		{record.ICD10, "N18.9", []Concept{"cci.renal"}},
		{record.ICD10, "C34.9", []Concept{"cancer", "cci.malignancy"}},
		{record.ICD10, "C44.9", []Concept{"cancer"}}, // Quan 2005 leaves out non-melanoma skin cancer
		{record.ICD10, "C78.7", []Concept{"cancer", "cci.metastatic"}},
		{record.ICD10, "G30.9+", []Concept{"dementia", "efi.memory_cognitive", "cci.dementia"}},
		{record.ICD10, "E11.2", []Concept{"diabetes", "diabetes_type2", "efi.diabetes", "cci.diabetes", "cci.diabetes_complicated"}},
		{record.SNOMED, "391120009", []Concept{"obs.mrc_dyspnoea"}}, // MRC grade 1 is not an eFI dyspnoea deficit,
		{record.ICD10, "", nil},
		{"http://example.org/unknown", "13645005", nil},
	}
	for _, tt := range tests {
		got := s.ConceptsOf(tt.system, tt.code)
		// Order across ICD-10 prefix levels is not part of the contract.
		got = slices.Clone(got)
		slices.Sort(got)
		want := slices.Clone(tt.want)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("ConceptsOf(%q, %q) = %v, want %v", tt.system, tt.code, got, want)
		}
	}
}

func TestNormaliseICD10(t *testing.T) {
	tests := map[string]string{
		"J44.1": "J441", "J441": "J441", "J44.1X": "J441", "j44.1x": "J441",
		"I10X": "I10", "I10": "I10", "S72.0D": "S720", "G30.9+": "G309",
		"F00.0*": "F000", "M80.05": "M8005", " E11.9 ": "E119", "441": "", "": "", "J4": "J4",
		"T82.4XXA": "T824",
	}
	for in, want := range tests {
		if got := NormaliseICD10(in); got != want {
			t.Errorf("NormaliseICD10(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPreferred(t *testing.T) {
	s := mustLoad(t)
	tests := []struct {
		c      Concept
		system string
		want   string
		ok     bool
	}{
		{"copd", record.SNOMED, "13645005", true},
		{"copd", record.ICD10, "J43", true},
		{"obs.systolic_bp", record.LOINC, "8480-6", true},
		{"obs.hba1c", record.SNOMED, "999791000000106", true},
		{"vacc.flu", record.SNOMED, "822851000000102", true},
		{"vacc.flu", record.CVX, "140", true},
		{"ckd", record.SNOMED, "433144002", true},
		{"copd", record.RxNorm, "", false},
		{"nope", record.SNOMED, "", false},
	}
	for _, tt := range tests {
		got, ok := s.Preferred(tt.c, tt.system)
		if ok != tt.ok || got.Code != tt.want || (ok && got.System != tt.system) {
			t.Errorf("Preferred(%s, %s) = %+v, %v; want %s, %v", tt.c, tt.system, got, ok, tt.want, tt.ok)
		}
	}
}

func TestSystemURIAndToken(t *testing.T) {
	for _, tok := range []string{record.SNOMED, record.ICD10, record.OPCS4, record.DMD, record.LOINC, record.RxNorm, record.CVX} {
		uri := SystemURI(tok)
		if uri == "" {
			t.Errorf("SystemURI(%q) is empty", tok)
			continue
		}
		if got, ok := SystemToken(uri); !ok || got != tok {
			t.Errorf("SystemToken(SystemURI(%q)) = %q, %v", tok, got, ok)
		}
	}
	tests := []struct {
		uri, want string
		ok        bool
	}{
		{"http://snomed.info/sct", record.SNOMED, true},
		{"http://snomed.info/sct/", record.SNOMED, true},
		{"https://dmd.nhs.uk/", record.DMD, true},
		{"http://hl7.org/fhir/sid/icd-10-uk", record.ICD10, true},
		{"https://fhir.hl7.org.uk/Id/icd10", record.ICD10, true},
		{"http://www.nlm.nih.gov/research/umls/rxnorm", record.RxNorm, true},
		{"sct", record.SNOMED, true},
		{"http://example.org", "", false},
	}
	for _, tt := range tests {
		got, ok := SystemToken(tt.uri)
		if got != tt.want || ok != tt.ok {
			t.Errorf("SystemToken(%q) = %q, %v; want %q, %v", tt.uri, got, ok, tt.want, tt.ok)
		}
	}
	if got := SystemURI("sct"); got != "http://snomed.info/sct" {
		t.Errorf("SystemURI(sct) = %q", got)
	}
}

// TestCanonicalCodes pins the codes the synthetic generator emits.
func TestCanonicalCodes(t *testing.T) {
	s := mustLoad(t)
	canon := []struct {
		c            Concept
		system, code string
	}{
		{"asthma", "sct", "195967001"}, {"copd", "sct", "13645005"},
		{"diabetes_type2", "sct", "44054006"}, {"diabetes", "sct", "44054006"},
		{"diabetes_type1", "sct", "46635009"}, {"diabetes", "sct", "46635009"},
		{"hypertension", "sct", "38341003"}, {"heart_failure", "sct", "84114007"},
		{"atrial_fibrillation", "sct", "49436004"}, {"chd", "sct", "53741008"},
		{"stroke_tia", "sct", "230690007"}, {"stroke_tia", "sct", "266257000"},
		{"ckd", "sct", "433144002"}, {"ckd", "sct", "431857002"}, {"ckd", "sct", "433146000"},
		{"dementia", "sct", "52448006"}, {"depression", "sct", "35489007"},
		{"smi", "sct", "58214004"}, {"smi", "sct", "13746004"},
		{"learning_disability", "sct", "110359009"}, {"osteoporosis", "sct", "64859006"},
		{"epilepsy", "sct", "84757009"}, {"rheumatoid_arthritis", "sct", "69896004"},
		{"pad", "sct", "399957001"}, {"ndh", "sct", "700449008"},
		{"osteoarthritis", "sct", "396275006"}, {"cancer", "sct", "363346000"},
		{"obesity", "sct", "414916001"},
		{"frailty_mild", "sct", "925791000000100"}, {"frailty_moderate", "sct", "925831000000107"},
		{"frailty_severe", "sct", "925861000000102"},
		{"obs.systolic_bp", "sct", "72313002"}, {"obs.systolic_bp", "loinc", "8480-6"},
		{"obs.diastolic_bp", "sct", "1091811000000102"}, {"obs.diastolic_bp", "loinc", "8462-4"},
		{"obs.hba1c", "sct", "1049301000000100"}, {"obs.hba1c", "loinc", "4548-4"},
		{"obs.bmi", "sct", "60621009"}, {"obs.bmi", "loinc", "39156-5"},
		{"obs.egfr", "sct", "1011481000000105"}, {"obs.egfr", "loinc", "33914-3"},
		{"obs.acr", "sct", "1023491000000104"}, {"obs.acr", "loinc", "9318-7"},
		{"obs.total_cholesterol", "sct", "1005671000000105"}, {"obs.total_cholesterol", "loinc", "2093-3"},
		{"obs.smoking_status", "loinc", "72166-2"},
		{"obs.peak_flow", "sct", "313193002"},
		{"obs.spo2", "sct", "431314004"}, {"obs.spo2", "loinc", "59408-5"}, {"obs.spo2", "loinc", "2708-6"},
		{"obs.pulse", "sct", "364075005"}, {"obs.pulse", "sct", "78564009"}, {"obs.pulse", "loinc", "8867-4"},
		{"obs.respiratory_rate", "sct", "86290005"}, {"obs.respiratory_rate", "loinc", "9279-1"},
		{"obs.temperature", "sct", "276885007"}, {"obs.temperature", "loinc", "8310-5"},
		{"obs.weight", "sct", "27113001"}, {"obs.weight", "loinc", "29463-7"},
		{"obs.height", "sct", "50373000"}, {"obs.height", "loinc", "8302-2"},
		{"vacc.flu", "sct", "822851000000102"},
		{"vacc.flu", "cvx", "140"}, {"vacc.flu", "cvx", "141"}, {"vacc.flu", "cvx", "158"}, {"vacc.flu", "cvx", "150"},
		{"value.current_smoker", "sct", "77176002"}, {"value.ex_smoker", "sct", "8517006"}, {"value.never_smoked", "sct", "266919005"},
	}
	for _, cc := range canon {
		if !slices.Contains(s.ConceptsOf(cc.system, cc.code), cc.c) {
			t.Errorf("%s|%s does not map to %s", cc.system, cc.code, cc.c)
		}
	}
	// 431856006 is CKD stage 2, not stage 4: it must not be in ckd.
	if slices.Contains(s.ConceptsOf("sct", "431856006"), "ckd") {
		t.Error("431856006 (CKD stage 2) maps to ckd")
	}
}

func BenchmarkConceptsOf(b *testing.B) {
	s := mustLoad(b)
	b.Run("snomed", func(b *testing.B) {
		for b.Loop() {
			_ = s.ConceptsOf(record.SNOMED, "49436004")
		}
	})
	b.Run("uri", func(b *testing.B) {
		for b.Loop() {
			_ = s.ConceptsOf("http://snomed.info/sct", "49436004")
		}
	})
	b.Run("icd10", func(b *testing.B) {
		for b.Loop() {
			_ = s.ConceptsOf(record.ICD10, "J44.1X")
		}
	})
	b.Run("miss", func(b *testing.B) {
		for b.Loop() {
			_ = s.ConceptsOf(record.SNOMED, "999999999")
		}
	})
}
