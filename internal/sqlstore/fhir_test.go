package sqlstore

import (
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/fhir/query"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/registry"
)

func TestFHIRReadsSQLite(t *testing.T) { runFHIRContract(t, openSQLiteTemp) }

func TestFHIRReadsPostgres(t *testing.T) {
	if os.Getenv("WHOLECARE_TEST_POSTGRES") == "" {
		t.Skip("WHOLECARE_TEST_POSTGRES is not set")
	}
	runFHIRContract(t, func(t *testing.T) *DB { return openPostgresSchema(t) })
}

// fhirPopulation saves six people of testBatch with names, births and
// sexes that tell them apart, and returns the first id.
func fhirPopulation(t *testing.T, db *DB) int64 {
	t.Helper()
	mustMigrate(t, db)
	run := mustBegin(t, db, testSpec(), false)
	if err := db.SaveDirectory(t.Context(), run.ID, testDirectory()); err != nil {
		t.Fatal(err)
	}
	names := [][2]string{{"Mary Ann", "O'Brien"}, {"", ""}, {"ann", "smith"}, {"Zoë", "Élan"}, {"Bob", "100%_Smith"}, {"Annabel", "Smithers"}}
	sexes := []registry.Sex{registry.Female, registry.Unknown, registry.Female, registry.Other, registry.Male, registry.Female}
	for chunk := range 2 {
		first := run.BasePersonID + int64(chunk*3)
		b := testBatch(first, 3)
		for i := range b.People {
			k := chunk*3 + i
			b.People[i].GivenName, b.People[i].FamilyName, b.People[i].Sex = names[k][0], names[k][1], sexes[k]
			if k == 1 {
				continue
			}
			b.People[i].BirthDate = day(1950+k, time.Month(k+1), 10)
			if k == 4 {
				b.People[i].NHSNumber, b.People[i].NHSNumberStatus = "1234567890", registry.NHSInvalid
			}
		}
		mustSaveChunk(t, db, run.ID, chunk, b)
	}
	return run.BasePersonID
}

func runFHIRContract(t *testing.T, open func(t *testing.T) *DB) {
	db := open(t)
	p := fhirPopulation(t, db)
	ctx := t.Context()
	ids := func(ks ...int) []int64 {
		out := []int64{}
		for _, k := range ks {
			out = append(out, p+int64(k))
		}
		return out
	}
	date := func(prefix query.Prefix, from, to time.Time) query.DateRange {
		return query.DateRange{Prefix: prefix, From: from, To: to}
	}
	one := func(f query.Filter) []query.Clause { return []query.Clause{{f}} }

	t.Run("patients with their identities", func(t *testing.T) {
		people, idents, err := db.Patients(ctx, []int64{p + 2, p, 999999})
		if err != nil {
			t.Fatal(err)
		}
		if len(people) != 2 || people[0].ID != p || people[1].ID != p+2 || people[0].FamilyName != "O'Brien" {
			t.Errorf("people %+v", people)
		}
		if len(idents) != 2 || idents[0].PersonID != p || idents[1].PersonID != p+2 {
			t.Errorf("identities %+v", idents)
		}
	})

	people := []struct {
		name  string
		where []query.Clause
		want  []int64
	}{
		{"family prefix ignores case", one(query.Filter{Field: query.Family, Value: "SMI"}), ids(2, 5)},
		{"family prefix escapes % and _", one(query.Filter{Field: query.Family, Value: "100%_"}), ids(4)},
		{"% is no wildcard", one(query.Filter{Field: query.Family, Value: "%"}), ids()},
		{"given matches any given name", one(query.Filter{Field: query.Given, Value: "ann"}), ids(0, 2, 5)},
		{"name matches given or family", one(query.Filter{Field: query.Name, Value: "o'b"}), ids(0)},
		{"name, two values", []query.Clause{{{Field: query.Name, Value: "bob"}, {Field: query.Name, Value: "zo"}}}, ids(3, 4)},
		{"name and gender", []query.Clause{{{Field: query.Name, Value: "ann"}}, {{Field: query.Gender, Value: "female"}}}, ids(0, 2, 5)},
		{"gender", one(query.Filter{Field: query.Gender, Value: "male"}), ids(4)},
		{"birth year", one(query.Filter{Field: query.BirthDate, Date: date(query.Eq, day(1952, 1, 1), day(1953, 1, 1))}), ids(2)},
		{"born on or after", one(query.Filter{Field: query.BirthDate, Date: date(query.Ge, day(1954, 5, 10), day(1954, 5, 11))}), ids(4, 5)},
		{"born after", one(query.Filter{Field: query.BirthDate, Date: date(query.Gt, day(1954, 5, 10), day(1954, 5, 11))}), ids(5)},
		{"born on or before", one(query.Filter{Field: query.BirthDate, Date: date(query.Le, day(1953, 1, 1), day(1954, 1, 1))}), ids(0, 2, 3)},
		{"born before", one(query.Filter{Field: query.BirthDate, Date: date(query.Lt, day(1953, 1, 1), day(1954, 1, 1))}), ids(0, 2)},
		{"NHS number", one(query.Filter{Field: query.Identifier, System: query.IdentifierNHS, Value: "9434765919"}), ids(0, 2, 3, 5)},
		{"invalid NHS number", one(query.Filter{Field: query.Identifier, System: query.IdentifierInvalidNHS, Value: "1234567890"}), ids(4)},
		{"source identity", one(query.Filter{Field: query.Identifier, System: "synth", Value: "L" + string("0123456789abcdef"[(p+3)>>4&15]) + string("0123456789abcdef"[(p+3)&15])}), ids(3)},
		{"any identifier", one(query.Filter{Field: query.Identifier, AnySystem: true, Value: "1234567890"}), ids(4)},
		{"everyone", nil, ids(0, 1, 2, 3, 4, 5)},
	}
	for _, tt := range people {
		t.Run("people: "+tt.name, func(t *testing.T) {
			got, err := db.FindPeople(ctx, query.People{Where: tt.where})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, append([]int64{}, got...)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			n, err := db.CountPeople(ctx, query.People{Where: tt.where, Limit: 1})
			if err != nil || n != len(tt.want) {
				t.Errorf("CountPeople = %d, %v; want %d", n, err, len(tt.want))
			}
		})
	}
	t.Run("people paged", func(t *testing.T) {
		got, err := db.FindPeople(ctx, query.People{Offset: 2, Limit: 3})
		if err != nil || !cmp.Equal(got, ids(2, 3, 4)) {
			t.Errorf("page = %v, %v", got, err)
		}
		got, err = db.FindPeople(ctx, query.People{Offset: 4})
		if err != nil || !cmp.Equal(got, ids(4, 5)) {
			t.Errorf("offset without limit = %v, %v", got, err)
		}
	})

	type rowKey struct{ Person, ID int64 }
	keys := func(b *record.Batch) []rowKey {
		out := []rowKey{}
		add := func(person, id int64) { out = append(out, rowKey{person - p, id}) }
		for _, r := range b.Conditions {
			add(r.PersonID, r.ID)
		}
		for _, r := range b.Observations {
			add(r.PersonID, r.ID)
		}
		for _, r := range b.Encounters {
			add(r.PersonID, r.ID)
		}
		for _, r := range b.Medications {
			add(r.PersonID, r.ID)
		}
		for _, r := range b.Immunisations {
			add(r.PersonID, r.ID)
		}
		for _, r := range b.Procedures {
			add(r.PersonID, r.ID)
		}
		return out
	}
	each := func(rows ...int64) []rowKey {
		out := []rowKey{}
		for k := range int64(6) {
			for _, r := range rows {
				out = append(out, rowKey{k, r})
			}
		}
		return out
	}
	rows := []struct {
		name string
		q    query.Rows
		want []rowKey
	}{
		{"conditions of two people", query.Rows{Type: "Condition", People: ids(1, 3)}, []rowKey{{1, 1}, {1, 2}, {3, 1}, {3, 2}}},
		{"of no one", query.Rows{Type: "Condition", People: []int64{}}, []rowKey{}},
		{"code in a system", query.Rows{Type: "Condition", Where: one(query.Filter{Field: query.Code, System: record.SNOMED, Value: "13645005"})}, each(1)},
		{"code in any system", query.Rows{Type: "Condition", Where: one(query.Filter{Field: query.Code, AnySystem: true, Value: "E11"})}, each(2)},
		{"any code of a system", query.Rows{Type: "Condition", Where: one(query.Filter{Field: query.Code, System: record.ICD10})}, each(2)},
		{"code in another system", query.Rows{Type: "Condition", Where: one(query.Filter{Field: query.Code, System: record.ICD10, Value: "13645005"})}, []rowKey{}},
		{"active", query.Rows{Type: "Condition", Where: one(query.Filter{Field: query.Status, Value: "active"})}, each(1)},
		{"resolved", query.Rows{Type: "Condition", Where: one(query.Filter{Field: query.Status, Value: "resolved"})}, each(2)},
		{"onset from 2016", query.Rows{Type: "Condition", Where: one(query.Filter{Field: query.Date, Date: date(query.Ge, day(2016, 1, 1), day(2017, 1, 1))})}, each(2)},
		{"observed on a day", query.Rows{Type: "Observation", People: ids(0), Where: one(query.Filter{Field: query.Date, Date: date(query.Eq, day(2024, 2, 1), day(2024, 2, 2))})},
			[]rowKey{{0, 1}, {0, 2}}},
		{"observed before a minute", query.Rows{Type: "Observation", People: ids(0), Where: one(query.Filter{Field: query.Date,
			Date: date(query.Lt, time.Date(2024, 2, 1, 9, 11, 0, 0, time.UTC), time.Date(2024, 2, 1, 9, 12, 0, 0, time.UTC))})}, []rowKey{{0, 1}}},
		{"encounters within January", query.Rows{Type: "Encounter", People: ids(0), Where: one(query.Filter{Field: query.Date, Date: date(query.Eq, day(2024, 1, 1), day(2024, 2, 1))})}, []rowKey{{0, 1}}},
		{"encounters going on from 10 January", query.Rows{Type: "Encounter", People: ids(0), Where: one(query.Filter{Field: query.Date, Date: date(query.Ge, day(2024, 1, 10), day(2024, 1, 11))})}, []rowKey{{0, 2}}},
		{"encounters under way by 3 January", query.Rows{Type: "Encounter", People: ids(0), Where: one(query.Filter{Field: query.Date, Date: date(query.Le, day(2024, 1, 3), day(2024, 1, 4))})}, []rowKey{{0, 1}}},
		{"in progress", query.Rows{Type: "Encounter", People: ids(0), Where: one(query.Filter{Field: query.Status, Value: "in-progress"})}, []rowKey{{0, 2}}},
		{"class", query.Rows{Type: "Encounter", People: ids(0), Where: one(query.Filter{Field: query.Class, Value: string(record.EmergencyAdmission)})}, []rowKey{{0, 1}}},
		{"medication completed", query.Rows{Type: "MedicationRequest", People: ids(0), Where: one(query.Filter{Field: query.Status, Value: "completed"})}, []rowKey{{0, 2}}},
		{"medication unknown", query.Rows{Type: "MedicationRequest", Where: one(query.Filter{Field: query.Status, Value: "unknown"})}, []rowKey{}},
		{"immunisation not done", query.Rows{Type: "Immunization", People: ids(5), Where: one(query.Filter{Field: query.Status, Value: "not-done"})}, []rowKey{{5, 2}}},
		{"procedures, two clauses", query.Rows{Type: "Procedure", People: ids(0, 1), Where: []query.Clause{
			{{Field: query.Code, System: record.OPCS4, Value: "K40.1"}}, {{Field: query.Date, Date: date(query.Gt, day(2024, 1, 2), day(2024, 1, 3))}}}}, []rowKey{{0, 1}, {1, 1}}},
		{"paged", query.Rows{Type: "Observation", Offset: 4, Limit: 3}, []rowKey{{1, 2}, {1, 3}, {2, 1}}},
	}
	for _, tt := range rows {
		t.Run("rows: "+tt.name, func(t *testing.T) {
			b, err := db.SearchRows(ctx, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, keys(b)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			n, err := db.CountRows(ctx, tt.q)
			want := len(tt.want)
			if tt.q.Limit > 0 {
				want = 12 * 3 / 2 // every observation
			}
			if err != nil || n != want {
				t.Errorf("CountRows = %d, %v; want %d", n, err, want)
			}
		})
	}

	t.Run("one row", func(t *testing.T) {
		b, err := db.Row(ctx, "Encounter", p+3, 2)
		if err != nil || len(b.Encounters) != 1 || b.Encounters[0].Class != record.PrimaryCare {
			t.Errorf("Row = %+v, %v", b, err)
		}
		_, err = db.Row(ctx, "Encounter", p+3, 3)
		wantKind(t, err, apperr.NotFound, "no Encounter 3")
		_, err = db.Row(ctx, "Organization", p, 1)
		wantKind(t, err, apperr.Invalid, "not a row type")
	})
	t.Run("row by source", func(t *testing.T) {
		person, id, found, err := db.RowBySource(ctx, "Condition", "synth", "r"+itoa(p+4)+".2")
		if err != nil || !found || person != p+4 || id != 2 {
			t.Errorf("RowBySource = %d, %d, %v, %v", person, id, found, err)
		}
		_, _, found, err = db.RowBySource(ctx, "Condition", "other", "r"+itoa(p+4)+".2")
		if err != nil || found {
			t.Errorf("another source's reference found: %v, %v", found, err)
		}
	})
	t.Run("link identity", func(t *testing.T) {
		now := testNow
		if err := db.LinkIdentity(ctx, p+1, "api:client", "p"+itoa(p+1), now); err != nil {
			t.Fatal(err)
		}
		if err := db.LinkIdentity(ctx, p+1, "api:client", "p"+itoa(p+1), now); err != nil {
			t.Errorf("linking again: %v", err)
		}
		wantKind(t, db.LinkIdentity(ctx, p+2, "api:client", "p"+itoa(p+1), now), apperr.Conflict, "another person")
		wantKind(t, db.LinkIdentity(ctx, 999999, "api:client", "p999999", now), apperr.NotFound, "no person")
		_, idents, err := db.Patients(ctx, ids(1))
		if err != nil || len(idents) != 2 || idents[0].Source != "api:client" {
			t.Errorf("identities after linking: %+v, %v", idents, err)
		}
	})
	t.Run("record batches walk everyone", func(t *testing.T) {
		var after int64
		var got []int64
		for {
			b, err := db.RecordBatch(ctx, after, 4)
			if err != nil {
				t.Fatal(err)
			}
			if len(b.People) == 0 {
				break
			}
			for _, person := range b.People {
				got = append(got, person.ID)
				want, err := db.PersonRecord(ctx, person.ID)
				if err != nil {
					t.Fatal(err)
				}
				mine := onePerson(b, person.ID)
				want.Costs, want.Packages = nil, nil
				if diff := cmp.Diff(want, mine, utc); diff != "" {
					t.Errorf("person %d in a batch differs from PersonRecord (-want +got):\n%s", person.ID, diff)
				}
			}
			after = b.People[len(b.People)-1].ID
		}
		if diff := cmp.Diff(ids(0, 1, 2, 3, 4, 5), got); diff != "" {
			t.Errorf("people walked (-want +got):\n%s", diff)
		}
	})
}
