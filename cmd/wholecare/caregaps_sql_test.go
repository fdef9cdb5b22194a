package main

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/caregaps"
	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/population"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/sqlstore"

	_ "modernc.org/sqlite"
)

// TestCareGapCountsAgreeWithSQL checks the engine's care-gap counts for a
// generated population against the same indicators written independently
// in SQL over the stored rows, the way a practice's searches would count
// them: registers from active, unabated conditions; the latest reading in
// the 12 months to the day; exceptions from personalised care adjustment
// codes in the year.
func TestCareGapCountsAgreeWithSQL(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gaps.db")
	e := envOf(map[string]string{"WHOLECARE_DB": "sqlite:" + path})
	asOf := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	if _, _, err := runCmd(t, e, "generate", "--people", "3000", "--seed", "21", "--now", asOf.Format(time.DateOnly)); err != nil {
		t.Fatal(err)
	}
	set, err := codes.Load()
	if err != nil {
		t.Fatal(err)
	}
	// The engine's answer.
	store, err := sqlstore.Open(t.Context(), "sqlite:"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := population.Build(t.Context(), clusters{store}, set, asOf, nil)
	store.Close()
	if err != nil {
		t.Fatal(err)
	}
	gaps, err := caregaps.Compile(caregaps.Indicators, func(text string) (population.Expr, error) { return population.Parse(text, set) }, set)
	if err != nil {
		t.Fatal(err)
	}
	reps, err := gaps.Population(eng, asOf, 0)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]caregaps.Counts{}
	for _, r := range reps {
		byID[r.ID] = r.Counts
	}

	// The same in SQL.
	db, err := sql.Open("sqlite", path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	in := func(concept string) string {
		var ors []string
		var sct []string
		for _, c := range set.Codes(codes.Concept(concept)) {
			switch c.System {
			case record.SNOMED:
				sct = append(sct, "'"+c.Code+"'")
			case record.ICD10:
				ors = append(ors, "(code_system = 'icd10' AND replace(code, '.', '') LIKE '"+strings.ReplaceAll(c.Code, ".", "")+"%')")
			case record.LOINC:
				ors = append(ors, "(code_system = 'loinc' AND code = '"+c.Code+"')")
			}
		}
		if len(sct) > 0 {
			ors = append(ors, "(code_system = 'sct' AND code IN ("+strings.Join(sct, ",")+"))")
		}
		if len(ors) == 0 {
			return "0"
		}
		return "(" + strings.Join(ors, " OR ") + ")"
	}
	day := asOf.Format(time.DateOnly)
	yearAgo := asOf.AddDate(0, -12, 0).Format(time.DateOnly)
	register := func(concept string) string {
		return fmt.Sprintf(`EXISTS (SELECT 1 FROM conditions c WHERE c.person_id = p.person_id AND c.status = 'active' AND c.abatement IS NULL AND %s)`, in(concept))
	}
	latest := func(concept string) string {
		return fmt.Sprintf(`(SELECT o.value FROM observations o WHERE o.person_id = p.person_id AND %s AND o.value IS NOT NULL
			AND substr(o.effective_at, 1, 10) BETWEEN '%s' AND '%s' ORDER BY substr(o.effective_at, 1, 10) DESC, o.value DESC LIMIT 1)`, in(concept), yearAgo, day)
	}
	recorded := func(table, dateCol, concept string) string {
		return fmt.Sprintf(`(SELECT COUNT(*) FROM %s x WHERE x.person_id = p.person_id AND %s AND substr(x.%s, 1, 10) BETWEEN '%s' AND '%s')`, table, in(concept), dateCol, yearAgo, day)
	}
	alive := fmt.Sprintf(`(p.date_of_death IS NULL OR substr(p.date_of_death, 1, 10) > '%s')`, day)
	pca := fmt.Sprintf(`(%s >= 1 OR %s >= 1 OR %s >= 2)`, recorded("procedures", "event_date", "pca.declined"),
		recorded("procedures", "event_date", "pca.unsuitable"), recorded("procedures", "event_date", "pca.invite"))
	age := fmt.Sprintf(`(CAST(strftime('%%Y', '%s') AS INTEGER) - CAST(strftime('%%Y', p.birth_date) AS INTEGER)
		- (strftime('%%m-%%d', '%s') < strftime('%%m-%%d', p.birth_date)))`, day, day)
	count := func(den, num string) caregaps.Counts {
		t.Helper()
		var c caregaps.Counts
		q := fmt.Sprintf(`SELECT COUNT(*), COALESCE(SUM(met), 0), COALESCE(SUM(NOT met AND exc), 0) FROM
			(SELECT (%s) AS met, (%s) AS exc FROM people p WHERE %s AND %s)`, num, pca, alive, den)
		if err := db.QueryRowContext(t.Context(), q).Scan(&c.Eligible, &c.Met, &c.Excepted); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
		c.Gaps = c.Eligible - c.Met - c.Excepted
		return c
	}
	frail := "(" + register("frailty_moderate") + " OR " + register("frailty_severe") + ")"
	for id, want := range map[string]caregaps.Counts{
		"DM020":   count(register("diabetes")+" AND NOT "+frail, latest("obs.hba1c")+" <= 58"),
		"DM021":   count(register("diabetes")+" AND "+frail, latest("obs.hba1c")+" <= 75"),
		"HYP008":  count(register("hypertension")+" AND "+age+" <= 79", latest("obs.systolic_bp")+" <= 140 AND "+latest("obs.diastolic_bp")+" <= 90"),
		"HYP009":  count(register("hypertension")+" AND "+age+" >= 80", latest("obs.systolic_bp")+" <= 150 AND "+latest("obs.diastolic_bp")+" <= 90"),
		"AST007":  count(register("asthma")+" AND "+age+" >= 6", recorded("procedures", "event_date", "proc.asthma_review")+" >= 1"),
		"CKD-MON": count(register("ckd")+" AND "+age+" >= 18", recorded("observations", "effective_at", "obs.egfr")+" >= 1 AND "+recorded("observations", "effective_at", "obs.acr")+" >= 1"),
	} {
		got := byID[id]
		if got != want {
			t.Errorf("%s: engine %+v, SQL %+v", id, got, want)
		}
		if want.Eligible < 20 {
			t.Errorf("%s: only %d eligible: the check needs a population that exercises it", id, want.Eligible)
		}
	}
}
