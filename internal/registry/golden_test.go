package registry

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// rec builds a source record received on day d of January 2025.
func rec(person int64, source, local string, d int, set func(p *Person)) SourceRecord {
	r := SourceRecord{LocalID: local, Person: Person{ID: person, Source: source, ReceivedAt: day(2025, time.January, d),
		NHSNumberStatus: NHSAbsent, Sex: Unknown}}
	if set != nil {
		set(&r.Person)
	}
	return r
}

func TestComputeGolden(t *testing.T) {
	const (
		valid1  = "9434765919" // the NHS Digital worked example
		valid2  = "4010232137"
		invalid = "9434765918" // wrong check digit
	)
	type fieldWant struct {
		source, local string
		tier          string
	}
	tests := []struct {
		name string
		recs []SourceRecord
		want Person
		from map[Field]fieldWant // provenance of these fields; others unchecked
		none []Field             // fields that must have no provenance
	}{
		{
			name: "one record is the golden record",
			recs: []SourceRecord{rec(1, "hl7v2:pas", "H1", 3, func(p *Person) {
				p.NHSNumber, p.NHSNumberStatus, p.GivenName, p.FamilyName = valid1, NHSUnverified, "Ann", "Lee"
				p.BirthDate, p.Sex, p.Postcode, p.IMDDecile, p.Ethnicity, p.PracticeID = day(1950, 5, 6), Female, "LS1 4AP", 3, "A", "B86001"
			})},
			want: Person{ID: 1, NHSNumber: valid1, NHSNumberStatus: NHSUnverified, GivenName: "Ann", FamilyName: "Lee",
				BirthDate: day(1950, 5, 6), Sex: Female, Postcode: "LS1 4AP", IMDDecile: 3, Ethnicity: "A", PracticeID: "B86001",
				Source: "hl7v2:pas", ReceivedAt: day(2025, 1, 3)},
			from: map[Field]fieldWant{FieldGivenName: {"hl7v2:pas", "H1", ""}, FieldNHSNumber: {"hl7v2:pas", "H1", ""}},
			none: []Field{FieldDateOfDeath},
		},
		{
			name: "no records: an empty person",
			want: Person{ID: 1, NHSNumberStatus: NHSAbsent, Sex: Unknown},
			none: Fields,
		},
		{
			name: "empties never win: each field from the newest record that has it",
			recs: []SourceRecord{
				rec(1, "csv:community", "C1", 9, func(p *Person) { p.GivenName, p.Postcode = "Annie", "" }),
				rec(1, "hl7v2:pas", "H1", 5, func(p *Person) { p.GivenName, p.FamilyName, p.Postcode = "Ann", "Lee", "LS1 4AP" }),
				rec(1, "fhir:hosp", "F1", 7, func(p *Person) { p.FamilyName, p.BirthDate, p.IMDDecile = "Leigh", day(1950, 5, 6), 4 }),
			},
			want: Person{ID: 1, NHSNumberStatus: NHSAbsent, GivenName: "Annie", FamilyName: "Leigh", BirthDate: day(1950, 5, 6),
				Sex: Unknown, Postcode: "LS1 4AP", IMDDecile: 4, Source: "csv:community", ReceivedAt: day(2025, 1, 9)},
			from: map[Field]fieldWant{FieldGivenName: {"csv:community", "C1", ""}, FieldFamilyName: {"fhir:hosp", "F1", ""},
				FieldPostcode: {"hl7v2:pas", "H1", ""}, FieldSex: {"csv:community", "C1", ""}},
			none: []Field{FieldNHSNumber, FieldEthnicity, FieldPracticeID, FieldDateOfDeath},
		},
		{
			name: "a spine-verified record beats a newer one, and a GP record beats a newer hospital one",
			recs: []SourceRecord{
				rec(1, "hl7v2:pas", "H1", 20, func(p *Person) {
					p.NHSNumber, p.NHSNumberStatus, p.GivenName, p.Postcode, p.PracticeID = valid2, NHSUnverified, "Anne", "LS2 1AA", "Y00001"
				}),
				rec(1, "fhir:gp-emis", "G1", 10, func(p *Person) { p.GivenName, p.Postcode, p.PracticeID = "Ann", "LS3 3CC", "B86001" }),
				rec(1, "fhir:spine-feed", "S1", 1, func(p *Person) { p.NHSNumber, p.NHSNumberStatus, p.GivenName = valid1, NHSVerified, "Ann-Marie" }),
			},
			want: Person{ID: 1, NHSNumber: valid1, NHSNumberStatus: NHSVerified, GivenName: "Ann-Marie", Sex: Unknown,
				Postcode: "LS3 3CC", PracticeID: "B86001", Source: "fhir:spine-feed", ReceivedAt: day(2025, 1, 20)},
			from: map[Field]fieldWant{FieldNHSNumber: {"fhir:spine-feed", "S1", "spine-verified"}, FieldGivenName: {"fhir:spine-feed", "S1", "spine-verified"},
				FieldPostcode: {"fhir:gp-emis", "G1", "gp"}, FieldPracticeID: {"fhir:gp-emis", "G1", "gp"}},
		},
		{
			name: "an invalid NHS number is never chosen over a valid one, however trusted its source",
			recs: []SourceRecord{
				rec(1, "fhir:gp-emis", "G1", 30, func(p *Person) { p.NHSNumber, p.NHSNumberStatus = invalid, NHSInvalid }),
				rec(1, "csv:community", "C1", 2, func(p *Person) { p.NHSNumber, p.NHSNumberStatus = valid2, NHSUnverified }),
			},
			want: Person{ID: 1, NHSNumber: valid2, NHSNumberStatus: NHSUnverified, Sex: Unknown, Source: "fhir:gp-emis", ReceivedAt: day(2025, 1, 30)},
			from: map[Field]fieldWant{FieldNHSNumber: {"csv:community", "C1", ""}},
		},
		{
			name: "a record claiming a verified number that fails the check digit is treated as invalid",
			recs: []SourceRecord{
				rec(1, "fhir:spine-feed", "S1", 30, func(p *Person) { p.NHSNumber, p.NHSNumberStatus, p.GivenName = invalid, NHSVerified, "Bo" }),
				rec(1, "hl7v2:pas", "H1", 2, func(p *Person) { p.GivenName = "Bob" }),
			},
			// Not in the spine-verified tier either: the newer record wins the name.
			want: Person{ID: 1, NHSNumber: invalid, NHSNumberStatus: NHSInvalid, GivenName: "Bo", Sex: Unknown, Source: "fhir:spine-feed", ReceivedAt: day(2025, 1, 30)},
			from: map[Field]fieldWant{FieldNHSNumber: {"fhir:spine-feed", "S1", ""}},
		},
		{
			name: "only an invalid number: kept, as invalid",
			recs: []SourceRecord{rec(1, "hl7v2:pas", "H1", 2, func(p *Person) { p.NHSNumber, p.NHSNumberStatus = invalid, NHSInvalid })},
			want: Person{ID: 1, NHSNumber: invalid, NHSNumberStatus: NHSInvalid, Sex: Unknown, Source: "hl7v2:pas", ReceivedAt: day(2025, 1, 2)},
		},
		{
			name: "conflicting NHS numbers of one class: the more trusted, then the newer",
			recs: []SourceRecord{
				rec(1, "hl7v2:pas", "H1", 25, func(p *Person) { p.NHSNumber, p.NHSNumberStatus = valid2, NHSVerified }),
				rec(1, "fhir:gp-emis", "G1", 5, func(p *Person) { p.NHSNumber, p.NHSNumberStatus = valid1, NHSVerified }),
			},
			want: Person{ID: 1, NHSNumber: valid2, NHSNumberStatus: NHSVerified, Sex: Unknown, Source: "hl7v2:pas", ReceivedAt: day(2025, 1, 25)},
			from: map[Field]fieldWant{FieldNHSNumber: {"hl7v2:pas", "H1", "spine-verified"}},
		},
		{
			name: "a known sex or ethnicity beats a newer 'unknown' or 'not stated'",
			recs: []SourceRecord{
				rec(1, "hl7v2:pas", "H1", 25, func(p *Person) { p.Sex, p.Ethnicity = Unknown, "Z" }),
				rec(1, "csv:community", "C1", 5, func(p *Person) { p.Sex, p.Ethnicity = Male, "" }),
				rec(1, "csv:social", "S1", 3, func(p *Person) { p.Ethnicity = "M" }),
			},
			want: Person{ID: 1, NHSNumberStatus: NHSAbsent, Sex: Male, Ethnicity: "M", Source: "hl7v2:pas", ReceivedAt: day(2025, 1, 25)},
			from: map[Field]fieldWant{FieldSex: {"csv:community", "C1", ""}, FieldEthnicity: {"csv:social", "S1", ""}},
		},
		{
			name: "'not stated' when nothing better is known",
			recs: []SourceRecord{rec(1, "hl7v2:pas", "H1", 25, func(p *Person) { p.Ethnicity = "Z" })},
			want: Person{ID: 1, NHSNumberStatus: NHSAbsent, Sex: Unknown, Ethnicity: "Z", Source: "hl7v2:pas", ReceivedAt: day(2025, 1, 25)},
			from: map[Field]fieldWant{FieldEthnicity: {"hl7v2:pas", "H1", ""}, FieldSex: {"hl7v2:pas", "H1", ""}},
		},
		{
			name: "a date of death from any source survives a newer record without one",
			recs: []SourceRecord{
				rec(1, "hl7v2:pas", "H1", 4, func(p *Person) { p.DateOfDeath = day(2025, 1, 3) }),
				rec(1, "csv:community", "C1", 20, nil),
			},
			want: Person{ID: 1, NHSNumberStatus: NHSAbsent, Sex: Unknown, DateOfDeath: day(2025, 1, 3), Source: "csv:community", ReceivedAt: day(2025, 1, 20)},
			from: map[Field]fieldWant{FieldDateOfDeath: {"hl7v2:pas", "H1", ""}},
		},
		{
			name: "conflicting dates of death: the GP's",
			recs: []SourceRecord{
				rec(1, "hl7v2:pas", "H1", 24, func(p *Person) { p.DateOfDeath = day(2025, 1, 3) }),
				rec(1, "gp:tpp", "T1", 10, func(p *Person) { p.DateOfDeath = day(2025, 1, 2) }),
			},
			want: Person{ID: 1, NHSNumberStatus: NHSAbsent, Sex: Unknown, DateOfDeath: day(2025, 1, 2), Source: "gp:tpp", ReceivedAt: day(2025, 1, 24)},
			from: map[Field]fieldWant{FieldDateOfDeath: {"gp:tpp", "T1", "gp"}},
		},
		{
			name: "records of a merged cluster: provenance names the member each value came from",
			recs: []SourceRecord{
				rec(7, "hl7v2:pas", "H1", 4, func(p *Person) { p.GivenName = "Ann" }),
				rec(9, "hl7v2:pas", "H2", 6, func(p *Person) { p.FamilyName = "Lee" }),
			},
			want: Person{ID: 3, NHSNumberStatus: NHSAbsent, GivenName: "Ann", FamilyName: "Lee", Sex: Unknown, Source: "hl7v2:pas", ReceivedAt: day(2025, 1, 6)},
			from: map[Field]fieldWant{FieldGivenName: {"hl7v2:pas", "H1", ""}, FieldFamilyName: {"hl7v2:pas", "H2", ""}},
		},
		{
			name: "equal rank and time: decided by source and local id, not input order",
			recs: []SourceRecord{
				rec(1, "b:sys", "2", 4, func(p *Person) { p.GivenName = "Second" }),
				rec(1, "a:sys", "9", 4, func(p *Person) { p.GivenName = "First" }),
			},
			want: Person{ID: 1, NHSNumberStatus: NHSAbsent, GivenName: "First", Sex: Unknown, Source: "a:sys", ReceivedAt: day(2025, 1, 4)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := tt.want.ID
			for _, order := range [][]SourceRecord{tt.recs, reversed(tt.recs)} {
				g, ok := ComputeGolden(id, order, DefaultTrust)
				if ok != (len(tt.recs) > 0) {
					t.Errorf("ok = %v with %d records", ok, len(tt.recs))
				}
				if diff := cmp.Diff(tt.want, g.Person); diff != "" {
					t.Errorf("golden person (-want +got):\n%s", diff)
				}
				for f, w := range tt.from {
					got, ok := g.Provenance[f]
					if !ok {
						t.Errorf("%s has no provenance", f)
						continue
					}
					if got.Source != w.source || got.LocalID != w.local || got.Tier != w.tier {
						t.Errorf("%s from %s/%s (tier %q), want %s/%s (tier %q)", f, got.Source, got.LocalID, got.Tier, w.source, w.local, w.tier)
					}
				}
				for _, f := range tt.none {
					if fs, ok := g.Provenance[f]; ok {
						t.Errorf("%s has provenance %+v, want none", f, fs)
					}
				}
			}
		})
	}
}

func reversed(rs []SourceRecord) []SourceRecord {
	out := make([]SourceRecord, len(rs))
	for i, r := range rs {
		out[len(rs)-1-i] = r
	}
	return out
}

func TestProvenanceCarriesTheRecordsIdentity(t *testing.T) {
	r := rec(9, "hl7v2:pas", "H2", 6, func(p *Person) { p.FamilyName = "Lee" })
	g, _ := ComputeGolden(3, []SourceRecord{r}, DefaultTrust)
	want := FieldSource{PersonID: 9, Source: "hl7v2:pas", LocalID: "H2", ReceivedAt: day(2025, 1, 6)}
	if diff := cmp.Diff(want, g.Provenance[FieldFamilyName]); diff != "" {
		t.Errorf("provenance (-want +got):\n%s", diff)
	}
}

func TestCheckMerge(t *testing.T) {
	tests := []struct {
		name              string
		survivor, retired MergeState
		want              string // "" for allowed
	}{
		{"two survivors", MergeState{ID: 1}, MergeState{ID: 2}, ""},
		{"self", MergeState{ID: 1}, MergeState{ID: 1}, "into themselves"},
		{"into a retired person", MergeState{ID: 1, MergedInto: 5}, MergeState{ID: 2}, "merge into 5 instead"},
		{"the same pair again", MergeState{ID: 1}, MergeState{ID: 2, MergedInto: 1}, "already merged into person 1"},
		{"retired elsewhere", MergeState{ID: 1}, MergeState{ID: 2, MergedInto: 3}, "unmerge that first"},
		{"back the other way (a cycle)", MergeState{ID: 2, MergedInto: 1}, MergeState{ID: 1}, "merge into 1 instead"},
	}
	for _, tt := range tests {
		err := CheckMerge(tt.survivor, tt.retired)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.want)
		}
	}
	if err := CheckMergeReason("because"); err == nil {
		t.Error("CheckMergeReason accepted an unknown reason")
	}
	for _, r := range []MergeReason{MergeLinkageConfirmed, MergeSource, MergeManual} {
		if err := CheckMergeReason(r); err != nil {
			t.Errorf("CheckMergeReason(%q): %v", r, err)
		}
	}
}

func TestSameDemographics(t *testing.T) {
	base := Person{ID: 1, NHSNumber: "9434765919", NHSNumberStatus: NHSVerified, GivenName: "Ann", FamilyName: "Lee",
		BirthDate: day(1950, 5, 6), Sex: Female, Postcode: "LS1 4AP", IMDDecile: 3, Ethnicity: "A", PracticeID: "B86001",
		Source: "hl7v2:pas", ReceivedAt: day(2025, 1, 6)}
	tests := []struct {
		name   string
		change func(p *Person)
		want   bool
	}{
		{"identical", func(p *Person) {}, true},
		{"another person, source and time", func(p *Person) { p.ID, p.Source, p.ReceivedAt = 2, "fhir:gp", day(2025, 2, 1) }, true},
		{"the same birth date in another zone", func(p *Person) { p.BirthDate = p.BirthDate.In(time.FixedZone("X", 3600)) }, true},
		{"NHS number", func(p *Person) { p.NHSNumber = "4010232137" }, false},
		{"NHS number status", func(p *Person) { p.NHSNumberStatus = NHSUnverified }, false},
		{"given name", func(p *Person) { p.GivenName = "Anne" }, false},
		{"family name", func(p *Person) { p.FamilyName = "Leigh" }, false},
		{"birth date", func(p *Person) { p.BirthDate = day(1950, 5, 7) }, false},
		{"sex", func(p *Person) { p.Sex = Unknown }, false},
		{"postcode", func(p *Person) { p.Postcode = "LS6 2AB" }, false},
		{"IMD decile", func(p *Person) { p.IMDDecile = 4 }, false},
		{"ethnicity", func(p *Person) { p.Ethnicity = "Z" }, false},
		{"practice", func(p *Person) { p.PracticeID = "" }, false},
		{"date of death", func(p *Person) { p.DateOfDeath = day(2025, 1, 1) }, false},
	}
	for _, tt := range tests {
		p := base
		tt.change(&p)
		if got := SameDemographics(&base, &p); got != tt.want {
			t.Errorf("%s: SameDemographics = %v, want %v", tt.name, got, tt.want)
		}
	}
}
