package risk

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/record"
)

// deficitCodes is one SNOMED code for each coded deficit, in reporting
// order (polypharmacy has none), each taken from the deficit's list.
var deficitCodes = []struct {
	deficit codes.Concept
	code    record.Coding
}{
	{"efi.activity_limitation", sct("21134002", "Disability")},
	{"efi.anaemia", sct("87522002", "Iron deficiency anaemia")},
	{"efi.arthritis", sct("396275006", "Osteoarthritis")},
	{"efi.atrial_fibrillation", sct("49436004", "Atrial fibrillation")},
	{"efi.cerebrovascular_disease", sct("230690007", "Cerebrovascular accident")},
	{"efi.ckd", sct("433144002", "Chronic kidney disease stage 3")},
	{"efi.diabetes", sct("44054006", "Diabetes mellitus type 2")},
	{"efi.dizziness", sct("404640003", "Dizziness")},
	{"efi.dyspnoea", sct("267036007", "Dyspnoea")},
	{"efi.falls", sct("1912002", "Fall")},
	{"efi.foot_problems", sct("185303007", "Seen by podiatrist")},
	{"efi.fragility_fracture", sct("5913000", "Fracture of neck of femur")},
	{"efi.hearing_impairment", sct("15188001", "Hearing loss")},
	{"efi.heart_failure", sct("84114007", "Heart failure")},
	{"efi.heart_valve_disease", sct("60573004", "Aortic valve stenosis")},
	{"efi.housebound", sct("160689007", "Housebound")},
	{"efi.hypertension", sct("38341003", "Hypertensive disorder, systemic arterial")},
	{"efi.hypotension_syncope", sct("271594007", "Syncope")},
	{"efi.ihd", sct("53741008", "Coronary arteriosclerosis")},
	{"efi.memory_cognitive", sct("386807006", "Memory impairment")},
	{"efi.mobility_transfer", sct("8510008", "Reduced mobility")},
	{"efi.osteoporosis", sct("64859006", "Osteoporosis")},
	{"efi.parkinsonism_tremor", sct("49049000", "Parkinson's disease")},
	{"efi.peptic_ulcer", sct("13200003", "Peptic ulcer")},
	{"efi.pvd", sct("399957001", "Peripheral arterial occlusive disease")},
	{"efi.requirement_for_care", sct("160774006", "Home help attends")},
	{"efi.respiratory_disease", sct("13645005", "Chronic obstructive pulmonary disease")},
	{"efi.skin_ulcer", sct("46742003", "Skin ulcer")},
	{"efi.sleep_disturbance", sct("193462001", "Insomnia")},
	{"efi.social_vulnerability", sct("105529008", "Lives alone")},
	{"efi.thyroid_disease", sct("40930008", "Hypothyroidism")},
	{"efi.urinary_incontinence", sct("165232002", "Urinary incontinence")},
	{"efi.urinary_system_disease", sct("197927001", "Recurrent urinary tract infection")},
	{"efi.visual_impairment", sct("397540003", "Visual impairment")},
	{"efi.weight_loss_anorexia", sct("89362005", "Weight loss")},
}

// withDeficits is a 80-year-old's record with the first n coded deficits,
// one condition each, recorded a year apart ending a month before testNow.
func withDeficits(n int) *builder {
	b := newRecord(day(1946, 3, 1))
	for i := range n {
		b.cond(deficitCodes[i].code, testNow.AddDate(-n+i, -1, 0))
	}
	return b
}

// fiveMedicines are five distinct current repeat medicines.
func fiveMedicines(b *builder) *builder {
	start := day(2024, 1, 1)
	for _, m := range []record.Coding{
		sct("386872004", "Ramipril"), sct("386864001", "Amlodipine"), sct("373444002", "Atorvastatin"),
		sct("372567009", "Metformin"), sct("387458008", "Aspirin"),
	} {
		b.med(m, start, time.Time{}, record.MedicationActive)
	}
	return b
}

func TestPolypharmacyIndex(t *testing.T) {
	if efiDeficits[efiPolyIndex] != Polypharmacy {
		t.Fatalf("efiDeficits[%d] = %s, want %s", efiPolyIndex, efiDeficits[efiPolyIndex], Polypharmacy)
	}
	if len(deficitCodes) != EFIDeficits-1 {
		t.Fatalf("deficitCodes has %d, want one per coded deficit (%d)", len(deficitCodes), EFIDeficits-1)
	}
}

func TestNewNeedsCodes(t *testing.T) {
	if _, err := New(nil); !apperr.Is(err, apperr.Internal) {
		t.Errorf("New(nil) = %v, want an Internal error", err)
	}
}

// TestEachDeficitRecognised checks each coded deficit on its own: one code,
// exactly that deficit.
func TestEachDeficitRecognised(t *testing.T) {
	s := mustScorer(t)
	for _, dc := range deficitCodes {
		r := newRecord(day(1946, 3, 1)).cond(dc.code, day(2020, 1, 1)).record()
		got, err := s.EFI(r, testNow)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Deficits) != 1 || got.Deficits[0].Concept != dc.deficit {
			t.Errorf("%s %s: deficits %v, want only %s", dc.code.Code, dc.code.Display, deficitIDs(got), dc.deficit)
		}
	}
}

func deficitIDs(e EFI) []codes.Concept {
	var out []codes.Concept
	for _, d := range e.Deficits {
		out = append(out, d.Concept)
	}
	return out
}

func TestEFIBand(t *testing.T) {
	// Hand-worked: n/36 against fit ≤ 0.12 < mild ≤ 0.24 < moderate ≤ 0.36 < severe.
	// 4/36 = 0.111, 5/36 = 0.139, 8/36 = 0.222, 9/36 = 0.250,
	// 12/36 = 0.333, 13/36 = 0.361.
	want := map[int]FrailtyBand{}
	for n := 0; n <= 36; n++ {
		switch {
		case n <= 4:
			want[n] = Fit
		case n <= 8:
			want[n] = MildFrailty
		case n <= 12:
			want[n] = ModerateFrailty
		default:
			want[n] = SevereFrailty
		}
	}
	for n := 0; n <= 36; n++ {
		if got := EFIBand(n); got != want[n] {
			t.Errorf("EFIBand(%d) = %s, want %s", n, got, want[n])
		}
	}
}

func TestEFI(t *testing.T) {
	s := mustScorer(t)
	tests := []struct {
		name      string
		r         *Record
		wantCount int
		wantBand  FrailtyBand
		want      []codes.Concept // nil: only count and band checked here
	}{
		{"empty record: 0/36 = 0.000 fit", newRecord(day(1946, 3, 1)).record(), 0, Fit, nil},
		{"4 deficits: 4/36 = 0.111 fit (upper edge)", withDeficits(4).record(), 4, Fit, nil},
		{"5 deficits: 5/36 = 0.139 mild (lower edge)", withDeficits(5).record(), 5, MildFrailty, nil},
		{"8 deficits: 8/36 = 0.222 mild (upper edge)", withDeficits(8).record(), 8, MildFrailty, nil},
		{"9 deficits: 9/36 = 0.250 moderate (lower edge)", withDeficits(9).record(), 9, ModerateFrailty, nil},
		{"12 deficits: 12/36 = 0.333 moderate (upper edge)", withDeficits(12).record(), 12, ModerateFrailty, nil},
		{"13 deficits: 13/36 = 0.361 severe (lower edge)", withDeficits(13).record(), 13, SevereFrailty, nil},
		{"all 35 coded + polypharmacy: 36/36 = 1.000 severe", fiveMedicines(withDeficits(35)).record(), 36, SevereFrailty, nil},
		{
			"repeats count once: hypertension twice, AF as condition and as ICD-10 admission diagnosis = 2/36 fit",
			newRecord(day(1946, 3, 1)).
				cond(sct("38341003", "Hypertensive disorder"), day(2010, 1, 1)).
				cond(sct("38341003", "Hypertensive disorder"), day(2015, 1, 1)).
				cond(sct("49436004", "Atrial fibrillation"), day(2018, 5, 1)).
				enc(record.EmergencyAdmission, day(2025, 2, 1), day(2025, 2, 3), icd("I48.9", "Atrial fibrillation and atrial flutter, unspecified")).
				record(),
			2, Fit, []codes.Concept{"efi.atrial_fibrillation", "efi.hypertension"},
		},
		{
			"rows after now are not known yet: fall dated the day after now = 0/36",
			newRecord(day(1946, 3, 1)).cond(sct("1912002", "Fall"), testNow.AddDate(0, 0, 1)).record(),
			0, Fit, []codes.Concept{},
		},
		{
			"resolved conditions still count (history): resolved insomnia = 1/36",
			newRecord(day(1946, 3, 1)).resolved(sct("193462001", "Insomnia"), day(2019, 1, 1), day(2019, 6, 1)).record(),
			1, Fit, []codes.Concept{"efi.sleep_disturbance"},
		},
		{
			"every row kind: observation code (falls referral), observation value (housebound), procedure (podiatry referral), admission diagnosis R55 (syncope) = 4/36",
			newRecord(day(1946, 3, 1)).
				obs(sct("247541000000106", "Referral to falls service"), record.Coding{}, day(2025, 1, 1)).
				obs(record.Coding{System: record.Local, Code: "home-status", Display: "Home status"}, sct("160689007", "Housebound"), day(2025, 2, 1)).
				proc(sct("306351008", "Referral to community-based podiatrist"), day(2025, 3, 1)).
				enc(record.EmergencyAdmission, day(2025, 4, 1), day(2025, 4, 2), icd("R55", "Syncope and collapse")).
				record(),
			4, Fit, []codes.Concept{"efi.falls", "efi.foot_problems", "efi.housebound", "efi.hypotension_syncope"},
		},
		{
			"polypharmacy: 5 distinct current medicines = 1/36",
			fiveMedicines(newRecord(day(1946, 3, 1))).record(),
			1, Fit, []codes.Concept{Polypharmacy},
		},
		{
			"not polypharmacy: 4 current + a repeat of one of them + one stopped + one ended + one starting tomorrow = 4 distinct, 0/36",
			newRecord(day(1946, 3, 1)).
				med(sct("386872004", "Ramipril"), day(2024, 1, 1), time.Time{}, record.MedicationActive).
				med(sct("386872004", "Ramipril"), day(2025, 1, 1), time.Time{}, record.MedicationActive).
				med(sct("386864001", "Amlodipine"), day(2024, 1, 1), testNow.AddDate(0, 1, 0), record.MedicationCompleted).
				med(sct("373444002", "Atorvastatin"), day(2024, 1, 1), time.Time{}, ""). // status unknown: current
				med(sct("372567009", "Metformin"), day(2024, 1, 1), time.Time{}, record.MedicationActive).
				med(sct("387458008", "Aspirin"), day(2024, 1, 1), time.Time{}, record.MedicationStopped).
				med(sct("386952008", "Clopidogrel"), day(2024, 1, 1), testNow, record.MedicationCompleted). // ended at now
				med(sct("387137007", "Omeprazole"), testNow.AddDate(0, 0, 1), time.Time{}, record.MedicationActive).
				record(),
			0, Fit, []codes.Concept{},
		},
		{
			"evidence is the most recent row: falls 2019 and 2024, undated dizziness = 2/36",
			newRecord(day(1946, 3, 1)).
				cond(sct("1912002", "Fall"), day(2019, 1, 1)).
				cond(sct("279992002", "Recurrent falls"), day(2024, 1, 1)).
				cond(sct("404640003", "Dizziness"), time.Time{}).
				record(),
			2, Fit, []codes.Concept{"efi.dizziness", "efi.falls"},
		},
	}
	golden := map[string]EFI{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.EFI(tt.r, testNow)
			if err != nil {
				t.Fatal(err)
			}
			if got.Count != tt.wantCount || got.Band != tt.wantBand {
				t.Errorf("count %d band %s, want %d %s", got.Count, got.Band, tt.wantCount, tt.wantBand)
			}
			if want := float64(tt.wantCount) / 36; got.Score != want {
				t.Errorf("score %v, want %v", got.Score, want)
			}
			if tt.want != nil {
				ids := deficitIDs(got)
				if ids == nil {
					ids = []codes.Concept{}
				}
				if diff := cmp.Diff(tt.want, ids); diff != "" {
					t.Errorf("deficits (-want +got):\n%s", diff)
				}
			}
			golden[tt.name] = got
		})
	}
	checkGolden(t, "efi", golden)
}

func TestEFINeedsNow(t *testing.T) {
	s := mustScorer(t)
	if _, err := s.EFI(newRecord(day(1946, 3, 1)).record(), time.Time{}); !apperr.Is(err, apperr.Invalid) {
		t.Errorf("err = %v, want Invalid", err)
	}
}

func ExampleEFIBand() {
	for _, n := range []int{4, 5, 12, 13} {
		fmt.Printf("%d/36 = %.3f %s\n", n, float64(n)/36, EFIBand(n))
	}
	// Output:
	// 4/36 = 0.111 fit
	// 5/36 = 0.139 mild
	// 12/36 = 0.333 moderate
	// 13/36 = 0.361 severe
}
