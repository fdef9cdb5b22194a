package sqlstore

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSearchPeopleSQLite(t *testing.T) {
	db := openSQLiteTemp(t)
	runSearchPeople(t, db)
	// Each criterion is served by its index, with the values bound as the
	// query binds them, never by reading the whole registry.
	for _, tc := range []struct {
		cond  string
		arg   any
		index string
	}{
		{`nhs_number = ? AND nhs_number <> ''`, "9434765919", "people_nhs_number"},
		{`family_name LIKE ? ESCAPE '\'`, "smi%", "people_family_name"},
		{`birth_date = ?`, "1948-03-12", "people_birth_date"},
	} {
		var plan []string
		rows, err := db.sql.QueryContext(t.Context(), `EXPLAIN QUERY PLAN SELECT person_id FROM people WHERE merged_into IS NULL AND `+tc.cond, tc.arg)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		if !strings.Contains(strings.Join(plan, "; "), "USING INDEX "+tc.index) {
			t.Errorf("%s: plan %q does not use %s", tc.cond, plan, tc.index)
		}
	}
}

func TestSearchPeoplePostgres(t *testing.T) {
	if os.Getenv("WHOLECARE_TEST_POSTGRES") == "" {
		t.Skip("WHOLECARE_TEST_POSTGRES is not set")
	}
	runSearchPeople(t, openPostgresSchema(t))
}

func runSearchPeople(t *testing.T, db *DB) {
	mustMigrate(t, db)
	ctx := t.Context()
	born := time.Date(1948, 3, 12, 0, 0, 0, 0, time.UTC)
	for _, p := range []struct {
		id         int64
		nhs, given string
		family     string
		birth      time.Time
		mergedInto int64
	}{
		{1, "9434765919", "Jane Mary", "Smith", born, 0},
		{2, "", "Mary", "Smithson", born.AddDate(1, 0, 0), 0},
		{3, "", "John", "SMITH", born, 0},
		{4, "9434765919", "Jane", "Smith", born, 1}, // merged into 1
		{5, "", "Anna", "Jones_x", born, 0},
		{6, "", "Smith", "Jane", born, 0},
	} {
		var merged any
		if p.mergedInto != 0 {
			merged = p.mergedInto
		}
		_, err := db.sql.ExecContext(ctx, db.d.rebind(`INSERT INTO people (person_id, nhs_number, nhs_number_status, given_name, family_name,
			birth_date, sex, postcode, imd_decile, ethnicity, practice_id, source, merged_into) VALUES (?, ?, ?, ?, ?, ?, 'female', '', 0, '', 'A1', 'test', ?)`),
			p.id, p.nhs, map[bool]string{true: "verified", false: "absent"}[p.nhs != ""], p.given, p.family, db.d.date(p.birth), merged)
		if err != nil {
			t.Fatal(err)
		}
	}
	ids := func(nhs, family string, given []string, birth time.Time, limit int) []int64 {
		t.Helper()
		ps, err := db.SearchPeople(ctx, nhs, family, given, birth, limit)
		if err != nil {
			t.Fatalf("SearchPeople(%q, %q, %q, %v): %v", nhs, family, given, birth, err)
		}
		var out []int64
		for _, p := range ps {
			out = append(out, p.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		nhs    string
		family string
		given  []string
		birth  time.Time
		want   []int64
	}{
		{"NHS number, merged record left out", "9434765919", "", nil, time.Time{}, []int64{1}},
		{"family prefix, any case, in name order", "", "smith", nil, time.Time{}, []int64{3, 1, 2}},
		{"family and given", "", "Smith", []string{"jane"}, time.Time{}, []int64{1}},
		{"a second given name", "", "smith", []string{"mary"}, time.Time{}, []int64{1, 2}},
		{"family and date of birth", "", "smith", nil, born, []int64{3, 1}},
		{"date of birth alone", "", "", nil, born.AddDate(1, 0, 0), []int64{2}},
		{"wildcards are letters", "", "jones_", nil, time.Time{}, []int64{5}},
		{"a wildcard is not a wildcard", "", "%", nil, time.Time{}, nil},
	} {
		// Compared as sets: SQLite and PostgreSQL order "SMITH" and
		// "Smith" differently; the order is checked below where they agree.
		got := ids(tc.nhs, tc.family, tc.given, tc.birth, 10)
		a, b := slices.Clone(got), slices.Clone(tc.want)
		slices.Sort(a)
		slices.Sort(b)
		if !slices.Equal(a, b) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	if got := ids("", "smith", []string{"mary"}, time.Time{}, 10); !slices.Equal(got, []int64{1, 2}) {
		t.Errorf("not in name order: %v, want Smith before Smithson", got)
	}
	if got := ids("", "smith", nil, time.Time{}, 2); len(got) != 2 {
		t.Errorf("limit 2: %v", got)
	}
	if _, err := db.SearchPeople(ctx, "", "", []string{"jane"}, time.Time{}, 10); err == nil {
		t.Errorf("a given name alone was searched (it has no index)")
	}
}
