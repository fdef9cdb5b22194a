package risk

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/record"
)

// counted and superseded list a Charlson result's conditions.
func counted(c []CharlsonCondition) (in, out []codes.Concept) {
	in, out = []codes.Concept{}, []codes.Concept{}
	for _, x := range c {
		if x.SupersededBy == "" {
			in = append(in, x.Concept)
		} else {
			out = append(out, x.Concept)
		}
	}
	return in, out
}

func TestCharlsonAgePoints(t *testing.T) {
	// Charlson 1994: < 50 none, 50–59 1, 60–69 2, 70–79 3, ≥ 80 4.
	want := map[int]int{0: 0, 49: 0, 50: 1, 59: 1, 60: 2, 69: 2, 70: 3, 79: 3, 80: 4, 104: 4}
	for age, w := range want {
		if got := CharlsonAgePoints(age); got != w {
			t.Errorf("CharlsonAgePoints(%d) = %d, want %d", age, got, w)
		}
	}
}

func TestCharlsonTable(t *testing.T) {
	// The 1987 weights sum to 1×10 + 2×4 + 3 + 6 + 6 = 33.
	sum := 0
	for _, cd := range charlsonTable {
		sum += cd.Weight
	}
	if sum != 33 {
		t.Errorf("1987 weights sum to %d, want 33", sum)
	}
	for _, h := range charlsonSupersedes {
		if charlsonTable[charlsonIndex(h.severe)].Weight <= charlsonTable[charlsonIndex(h.mild)].Weight {
			t.Errorf("%s does not outweigh %s", h.severe, h.mild)
		}
	}
}

func TestCharlson(t *testing.T) {
	s := mustScorer(t)
	born := day(1954, 3, 10) // 72 at testNow
	all := newRecord(born)
	for _, c := range []record.Coding{
		sct("22298006", "Myocardial infarction"), sct("84114007", "Heart failure"),
		sct("399957001", "Peripheral arterial occlusive disease"), sct("230690007", "Cerebrovascular accident"),
		sct("52448006", "Dementia"), sct("13645005", "COPD"), sct("69896004", "Rheumatoid arthritis"),
		sct("13200003", "Peptic ulcer"), sct("19943007", "Cirrhosis of liver"), sct("44054006", "Type 2 diabetes"),
		sct("50582007", "Hemiplegia"), sct("433144002", "CKD stage 3"), sct("4855003", "Diabetic retinopathy"),
		sct("363346000", "Malignant neoplastic disease"), sct("34742003", "Portal hypertension"),
		sct("94391008", "Secondary malignant neoplasm of lung"), sct("62479008", "AIDS"),
	} {
		all.cond(c, day(2020, 1, 1))
	}
	tests := []struct {
		name           string
		r              *Record
		opt            CharlsonOptions
		wantScore      int
		wantTotal      int
		wantCounted    []codes.Concept
		wantSuperseded []codes.Concept
	}{
		{"empty record = 0", newRecord(born).record(), CharlsonOptions{}, 0, 0, []codes.Concept{}, []codes.Concept{}},
		{
			"MI 1 + CHF 1 + COPD 1 = 3",
			newRecord(born).cond(sct("22298006", "Myocardial infarction"), day(2015, 1, 1)).
				cond(sct("84114007", "Heart failure"), day(2018, 1, 1)).cond(sct("13645005", "COPD"), day(2019, 1, 1)).record(),
			CharlsonOptions{}, 3, 3,
			[]codes.Concept{"cci.mi", "cci.chf", "cci.chronic_pulmonary"}, []codes.Concept{},
		},
		{
			"diabetes with retinopathy 2 supersedes diabetes 1 = 2",
			newRecord(born).cond(sct("44054006", "Type 2 diabetes"), day(2010, 1, 1)).
				cond(sct("4855003", "Retinopathy due to diabetes mellitus"), day(2022, 1, 1)).record(),
			CharlsonOptions{}, 2, 2, []codes.Concept{"cci.diabetes_complicated"}, []codes.Concept{"cci.diabetes"},
		},
		{
			"metastatic 6 supersedes malignancy 2 = 6",
			newRecord(born).cond(sct("254837009", "Malignant neoplasm of breast"), day(2021, 1, 1)).
				cond(sct("94381002", "Secondary malignant neoplasm of liver"), day(2023, 1, 1)).record(),
			CharlsonOptions{}, 6, 6, []codes.Concept{"cci.metastatic"}, []codes.Concept{"cci.malignancy"},
		},
		{
			"severe liver 3 supersedes mild liver 1 = 3",
			newRecord(born).cond(sct("19943007", "Cirrhosis of liver"), day(2021, 1, 1)).
				cond(sct("34742003", "Portal hypertension"), day(2023, 1, 1)).record(),
			CharlsonOptions{}, 3, 3, []codes.Concept{"cci.severe_liver"}, []codes.Concept{"cci.mild_liver"},
		},
		{
			"ICD-10 only, from admissions: I21.9 MI 1 + E11.2 diabetes with renal complications 2 (E11 superseded) + C78.7 liver secondaries 6 + C44.3 skin (not counted) = 9",
			newRecord(born).
				enc(record.EmergencyAdmission, day(2024, 1, 1), day(2024, 1, 5), icd("I21.9", "Acute myocardial infarction, unspecified")).
				enc(record.EmergencyAdmission, day(2024, 3, 1), day(2024, 3, 2), icd("E11.2", "Type 2 diabetes mellitus with renal complications")).
				enc(record.ElectiveAdmission, day(2024, 5, 1), day(2024, 5, 1), icd("C78.7", "Secondary malignant neoplasm of liver")).
				enc(record.Outpatient, day(2024, 6, 1), day(2024, 6, 1), icd("C44.3", "Malignant neoplasm of skin of other parts of face")).
				record(),
			CharlsonOptions{}, 9, 9,
			[]codes.Concept{"cci.mi", "cci.diabetes_complicated", "cci.metastatic"}, []codes.Concept{"cci.diabetes"},
		},
		{
			"age points: 72 years (3) + CHF 1 = total 4",
			newRecord(born).cond(sct("84114007", "Heart failure"), day(2018, 1, 1)).record(),
			CharlsonOptions{AgePoints: true}, 1, 4, []codes.Concept{"cci.chf"}, []codes.Concept{},
		},
		{
			"age edge: 50th birthday on the day scored = 1 point, no conditions",
			newRecord(day(1976, 6, 1)).record(),
			CharlsonOptions{AgePoints: true}, 0, 1, []codes.Concept{}, []codes.Concept{},
		},
		{
			"age edge: a day short of 50 = 0 points",
			newRecord(day(1976, 6, 2)).record(),
			CharlsonOptions{AgePoints: true}, 0, 0, []codes.Concept{}, []codes.Concept{},
		},
		{
			"conditions after now are not counted: stroke tomorrow = 0",
			newRecord(born).cond(sct("230690007", "Cerebrovascular accident"), testNow.AddDate(0, 0, 1)).record(),
			CharlsonOptions{}, 0, 0, []codes.Concept{}, []codes.Concept{},
		},
		{
			"resolved history counts: resolved peptic ulcer = 1",
			newRecord(born).resolved(sct("13200003", "Peptic ulcer"), day(2001, 1, 1), day(2001, 6, 1)).record(),
			CharlsonOptions{}, 1, 1, []codes.Concept{"cci.peptic_ulcer"}, []codes.Concept{},
		},
		{
			"all 17 conditions: 33 − diabetes 1 − malignancy 2 − mild liver 1 = 29; with age 72 (3) = 32",
			all.record(), CharlsonOptions{AgePoints: true}, 29, 32,
			[]codes.Concept{
				"cci.mi", "cci.chf", "cci.pvd", "cci.cvd", "cci.dementia", "cci.chronic_pulmonary",
				"cci.connective_tissue", "cci.peptic_ulcer", "cci.hemiplegia", "cci.renal",
				"cci.diabetes_complicated", "cci.severe_liver", "cci.metastatic", "cci.hiv",
			},
			[]codes.Concept{"cci.mild_liver", "cci.diabetes", "cci.malignancy"},
		},
	}
	golden := map[string]Charlson{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Charlson(tt.r, testNow, tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			if got.Score != tt.wantScore || got.Total != tt.wantTotal {
				t.Errorf("score %d total %d, want %d %d", got.Score, got.Total, tt.wantScore, tt.wantTotal)
			}
			in, out := counted(got.Conditions)
			if diff := cmp.Diff(tt.wantCounted, in); diff != "" {
				t.Errorf("counted (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantSuperseded, out); diff != "" {
				t.Errorf("superseded (-want +got):\n%s", diff)
			}
			if got.Convention != CharlsonConvention {
				t.Errorf("convention %q", got.Convention)
			}
			golden[tt.name] = got
		})
	}
	checkGolden(t, "charlson", golden)
}

func TestCharlsonErrors(t *testing.T) {
	s := mustScorer(t)
	if _, err := s.Charlson(newRecord(day(1950, 1, 1)).record(), time.Time{}, CharlsonOptions{}); !apperr.Is(err, apperr.Invalid) {
		t.Errorf("zero now: err = %v, want Invalid", err)
	}
	if _, err := s.Charlson(newRecord(time.Time{}).record(), testNow, CharlsonOptions{AgePoints: true}); !apperr.Is(err, apperr.Invalid) {
		t.Errorf("age points without a birth date: err = %v, want Invalid", err)
	}
	got, err := s.Charlson(newRecord(time.Time{}).record(), testNow, CharlsonOptions{})
	if err != nil || got.AgeScored {
		t.Errorf("no age points asked: %+v, %v", got, err)
	}
}

func TestTenYearSurvival(t *testing.T) {
	// 0.983^(e^(0.9·0)) = 0.983; 0.983^(e^(0.9·2)) = 0.983^6.0496 = 0.9015.
	for _, tt := range []struct {
		total int
		want  float64
	}{{0, 0.983}, {2, 0.9015}} {
		if got := (Charlson{Total: tt.total}).TenYearSurvival(); math.Abs(got-tt.want) > 0.0001 {
			t.Errorf("TenYearSurvival(%d) = %.4f, want %.4f", tt.total, got, tt.want)
		}
	}
}
