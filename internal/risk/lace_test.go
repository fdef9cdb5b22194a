package risk

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/record"
)

// admitAt is the admission time of the LACE cases: 10 March 2026, 14:00.
var admitAt = time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC)

var noDiag record.Coding

// stay makes a record whose first encounter (ID 1) is an admission of the
// class lasting days calendar days, discharged at 11:00.
func stay(class record.EncounterClass, days int) *builder {
	end := time.Date(2026, 3, 10+days, 11, 0, 0, 0, time.UTC)
	if days == 0 {
		end = admitAt.Add(5 * time.Hour)
	}
	return newRecord(day(1948, 1, 1)).enc(class, admitAt, end, noDiag)
}

// ae adds an A&E attendance starting at t lasting 4 hours.
func (b *builder) ae(t time.Time) *builder { return b.enc(record.AE, t, t.Add(4*time.Hour), noDiag) }

func TestLACELengthPoints(t *testing.T) {
	// SPECS.md 3b: < 1 day 0; 1 = 1; 2 = 2; 3 = 3; 4–6 = 4; 7–13 = 5; ≥ 14 = 7.
	want := map[int]int{0: 0, 1: 1, 2: 2, 3: 3, 4: 4, 6: 4, 7: 5, 13: 5, 14: 7, 60: 7}
	for days, w := range want {
		if got := laceLengthPoints(days); got != w {
			t.Errorf("laceLengthPoints(%d) = %d, want %d", days, got, w)
		}
	}
}

func TestLACEBand(t *testing.T) {
	want := map[int]LACEBand{0: LACELow, 4: LACELow, 5: LACEModerate, 9: LACEModerate, 10: LACEHigh, 19: LACEHigh}
	for score, w := range want {
		if got := LACEBandOf(score); got != w {
			t.Errorf("LACEBandOf(%d) = %s, want %s", score, got, w)
		}
	}
}

func TestLACE(t *testing.T) {
	s := mustScorer(t)
	chf, copd := sct("84114007", "Heart failure"), sct("13645005", "COPD")
	dementia, mi := sct("52448006", "Dementia"), sct("22298006", "Myocardial infarction")
	past := day(2020, 1, 1)
	fiveAE := func(b *builder) *builder {
		for m := 1; m <= 5; m++ {
			b.ae(admitAt.AddDate(0, -m, 0))
		}
		return b
	}
	type lace struct{ LOS, L, A, C, E, Score int }
	tests := []struct {
		name string
		r    *Record
		want lace
		band LACEBand
	}{
		// Length of stay buckets: elective, no comorbidity, no A&E, so the score is L.
		{"LOS same day: L0 = 0 low", stay(record.ElectiveAdmission, 0).record(), lace{0, 0, 0, 0, 0, 0}, LACELow},
		{"LOS 1 day: L1 = 1", stay(record.ElectiveAdmission, 1).record(), lace{1, 1, 0, 0, 0, 1}, LACELow},
		{"LOS 2 days: L2 = 2", stay(record.ElectiveAdmission, 2).record(), lace{2, 2, 0, 0, 0, 2}, LACELow},
		{"LOS 3 days: L3 = 3", stay(record.ElectiveAdmission, 3).record(), lace{3, 3, 0, 0, 0, 3}, LACELow},
		{"LOS 4 days: L4 = 4", stay(record.ElectiveAdmission, 4).record(), lace{4, 4, 0, 0, 0, 4}, LACELow},
		{"LOS 6 days: L4 = 4", stay(record.ElectiveAdmission, 6).record(), lace{6, 4, 0, 0, 0, 4}, LACELow},
		{"LOS 7 days: L5 = 5 moderate", stay(record.ElectiveAdmission, 7).record(), lace{7, 5, 0, 0, 0, 5}, LACEModerate},
		{"LOS 13 days: L5 = 5", stay(record.ElectiveAdmission, 13).record(), lace{13, 5, 0, 0, 0, 5}, LACEModerate},
		{"LOS 14 days: L7 = 7", stay(record.ElectiveAdmission, 14).record(), lace{14, 7, 0, 0, 0, 7}, LACEModerate},
		{
			"LOS counts calendar dates: 23:00 to 01:00 next day = 1 day, L1",
			newRecord(day(1948, 1, 1)).enc(record.ElectiveAdmission, day(2026, 3, 10).Add(23*time.Hour), day(2026, 3, 11).Add(time.Hour), noDiag).record(),
			lace{1, 1, 0, 0, 0, 1}, LACELow,
		},
		{
			"worked example: emergency 5 days L4 + A3 + CHF 2 + COPD 2 = 4 → C5 + A&E 2 and 5 months before (E2; the admitting attendance, one 7 months before and one during the stay not counted) = 14 high",
			stay(record.EmergencyAdmission, 5).cond(chf, past).cond(copd, past).
				ae(admitAt.Add(-3 * time.Hour)). // the attendance that led to the admission
				ae(admitAt.AddDate(0, -2, 0)).ae(admitAt.AddDate(0, -5, 0)).
				ae(admitAt.AddDate(0, -7, 0)).ae(admitAt.AddDate(0, 0, 1)).record(),
			lace{5, 4, 3, 5, 2, 14}, LACEHigh,
		},
		{
			"A&E window edge: exactly 6 months before counts, 6 months and an hour does not: L1 + E1 = 2",
			stay(record.ElectiveAdmission, 1).ae(admitAt.AddDate(0, -6, 0)).ae(admitAt.AddDate(0, -6, 0).Add(-time.Hour)).record(),
			lace{1, 1, 0, 0, 1, 2}, LACELow,
		},
		{
			"elective admissions have no index attendance: A&E the same morning counts, L1 + E1 = 2",
			stay(record.ElectiveAdmission, 1).ae(admitAt.Add(-5 * time.Hour)).record(),
			lace{1, 1, 0, 0, 1, 2}, LACELow,
		},
		{
			"index attendance still open at admission is excluded: L1 + A3 = 4",
			stay(record.EmergencyAdmission, 1).enc(record.AE, admitAt.Add(-2*time.Hour), time.Time{}, noDiag).record(),
			lace{1, 1, 3, 0, 0, 4}, LACELow,
		},
		{"band edge: same day L0 + 5 A&E visits capped E4 = 4 low", fiveAE(stay(record.ElectiveAdmission, 0)).record(), lace{0, 0, 0, 0, 4, 4}, LACELow},
		{"band edge: L1 + E4 = 5 moderate", fiveAE(stay(record.ElectiveAdmission, 1)).record(), lace{1, 1, 0, 0, 4, 5}, LACEModerate},
		{
			"band edge: emergency 1 day L1 + A3 + dementia 3 (C3) + A&E twice E2 = 9 moderate",
			stay(record.EmergencyAdmission, 1).cond(dementia, past).ae(admitAt.AddDate(0, -1, 0)).ae(admitAt.AddDate(0, -3, 0)).record(),
			lace{1, 1, 3, 3, 2, 9}, LACEModerate,
		},
		{
			"band edge: emergency 2 days L2 + A3 + dementia C3 + E2 = 10 high",
			stay(record.EmergencyAdmission, 2).cond(dementia, past).ae(admitAt.AddDate(0, -1, 0)).ae(admitAt.AddDate(0, -3, 0)).record(),
			lace{2, 2, 3, 3, 2, 10}, LACEHigh,
		},
		{
			"comorbidity edge: dementia 3 + MI 1 = 4 → C5; elective 1 day L1 = 6",
			stay(record.ElectiveAdmission, 1).cond(dementia, past).cond(mi, past).record(),
			lace{1, 1, 0, 5, 0, 6}, LACEModerate,
		},
		{
			"LACE weights: peptic ulcer, hemiplegia and renal disease score nothing (C0); L1 = 1",
			stay(record.ElectiveAdmission, 1).cond(sct("13200003", "Peptic ulcer"), past).
				cond(sct("50582007", "Hemiplegia"), past).cond(sct("433144002", "CKD stage 3"), past).record(),
			lace{1, 1, 0, 0, 0, 1}, LACELow,
		},
		{
			"LACE weights with hierarchy: metastatic 6 supersedes tumour 2, and diabetes with retinopathy 2 supersedes diabetes 1 = 8 → C5; L1 = 6",
			stay(record.ElectiveAdmission, 1).cond(sct("363346000", "Malignant neoplastic disease"), past).
				cond(sct("94222008", "Secondary malignant neoplasm of bone"), past).
				cond(sct("44054006", "Type 2 diabetes"), past).cond(sct("4855003", "Diabetic retinopathy"), past).record(),
			lace{1, 1, 0, 5, 0, 6}, LACEModerate,
		},
		{
			"comorbidity recorded after discharge is not counted; the admission's own diagnosis is: I50.9 CHF 2 → C2; L1 + A3 = 6",
			newRecord(day(1948, 1, 1)).
				enc(record.EmergencyAdmission, admitAt, day(2026, 3, 11).Add(11*time.Hour), icd("I50.9", "Heart failure, unspecified")).
				cond(dementia, day(2026, 4, 1)).record(),
			lace{1, 1, 3, 2, 0, 6}, LACEModerate,
		},
	}
	golden := map[string]LACE{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.LACEForDischarge(tt.r, 1)
			if err != nil {
				t.Fatal(err)
			}
			g := lace{got.LengthOfStay, got.L, got.A, got.C, got.E, got.Score}
			if diff := cmp.Diff(tt.want, g); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if got.Band != tt.band {
				t.Errorf("band %s, want %s", got.Band, tt.band)
			}
			golden[tt.name] = got
		})
	}
	checkGolden(t, "lace", golden)
}

func TestLACEEveryDischarge(t *testing.T) {
	s := mustScorer(t)
	r := newRecord(day(1948, 1, 1)).
		enc(record.EmergencyAdmission, day(2026, 2, 1), day(2026, 2, 4), noDiag).         // 1: discharged, second
		enc(record.ElectiveAdmission, day(2025, 6, 1), day(2025, 6, 2), noDiag).          // 2: discharged, first
		enc(record.EmergencyAdmission, day(2026, 5, 20), time.Time{}, noDiag).            // 3: still in hospital
		enc(record.EmergencyAdmission, day(2026, 5, 30), testNow.Add(time.Hour), noDiag). // 4: discharged after now
		enc(record.Outpatient, day(2026, 1, 5), day(2026, 1, 5).Add(time.Hour), noDiag).  // 5: not an admission
		enc(record.AE, day(2026, 1, 20), day(2026, 1, 20).Add(3*time.Hour), noDiag).      // 6: A&E 12 days before 1
		record()
	got, err := s.LACE(r, testNow)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		ID            int64
		LOS, E, Score int
	}
	var rows []row
	for _, l := range got {
		rows = append(rows, row{l.EncounterID, l.LengthOfStay, l.E, l.Score})
	}
	// 2: elective 1 day L1 = 1. 1: emergency 3 days L3 + A3 + the A&E 12
	// days earlier (ended long before the admission, so not the index) E1 = 7.
	want := []row{{2, 1, 0, 1}, {1, 3, 1, 7}}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestLACEErrors(t *testing.T) {
	s := mustScorer(t)
	r := newRecord(day(1948, 1, 1)).
		enc(record.Outpatient, day(2026, 1, 5), day(2026, 1, 5), noDiag).
		enc(record.EmergencyAdmission, day(2026, 5, 20), time.Time{}, noDiag).
		enc(record.EmergencyAdmission, day(2026, 5, 20), day(2026, 5, 19), noDiag).
		record()
	for _, tt := range []struct {
		id   int64
		kind apperr.Kind
	}{{1, apperr.Invalid}, {2, apperr.Invalid}, {3, apperr.Invalid}, {99, apperr.NotFound}} {
		if _, err := s.LACEForDischarge(r, tt.id); !apperr.Is(err, tt.kind) {
			t.Errorf("encounter %d: err = %v, want %s", tt.id, err, tt.kind)
		}
	}
	if _, err := s.LACE(r, testNow); !apperr.Is(err, apperr.Invalid) {
		t.Errorf("LACE with a discharge before admission: err = %v, want Invalid", err)
	}
	if _, err := s.LACE(newRecord(day(1948, 1, 1)).record(), time.Time{}); !apperr.Is(err, apperr.Invalid) {
		t.Errorf("zero now: err = %v, want Invalid", err)
	}
}
