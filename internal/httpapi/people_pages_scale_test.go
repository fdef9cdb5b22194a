package httpapi

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/audit"
	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/careplan"
	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/directory"
	"github.com/wholecare/wholecare/internal/sqlstore"
	"github.com/wholecare/wholecare/internal/summary"
)

// TestPeoplePagesAtScale measures the people pages over a large SQLite
// store made by `wholecare generate` (WHOLECARE_PEOPLE_DB names a copy:
// the test adds users and audit entries to it). Skipped without it.
func TestPeoplePagesAtScale(t *testing.T) {
	path := os.Getenv("WHOLECARE_PEOPLE_DB")
	if path == "" {
		t.Skip("set WHOLECARE_PEOPLE_DB to a copy of a generated SQLite store")
	}
	ctx := t.Context()
	db, err := sqlstore.Open(ctx, "sqlite:"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	w := &trustWorld{t: t, db: db, clock: &fakeClock{t: time.Now().UTC()}, hasher: auth.NewHasher(2)}
	dir, err := db.Directory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var practice string
	for _, o := range dir.Organisations {
		if o.Kind == directory.GPPractice {
			practice = o.ID
			break
		}
	}
	var team int64
	for _, tm := range dir.Teams {
		if tm.OrgID == practice && tm.Kind == "gp-practice" {
			team = tm.ID
		}
	}
	for _, m := range dir.Members {
		if m.TeamID == team && m.Role == "coordinator" {
			w.prof = m.ProfessionalID
		}
	}
	ids, err := db.PeopleAtPractice(ctx, practice, 50)
	if err != nil || len(ids) == 0 {
		t.Fatal(err, len(ids))
	}
	// The longest record of the practice's first people: the summary's
	// worst case among them.
	most := -1
	for _, id := range ids {
		b, err := db.PersonRecord(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if n := b.Rows(); n > most {
			most, w.related = n, id
		}
	}
	t.Logf("person %d has %d rows in their record", w.related, most)
	w.authn = auth.NewService(db, auth.Config{}, w.clock.now)
	rec := audit.NewWriter(db, slog.New(slog.DiscardHandler), w.clock.now)
	defer rec.Close()
	pol := access.New(db, rec, access.Config{}, slog.New(slog.DiscardHandler), w.clock.now)
	set, err := codes.Load()
	if err != nil {
		t.Fatal(err)
	}
	summaries, err := summary.NewService(db, set)
	if err != nil {
		t.Fatal(err)
	}
	w.srv = New(Deps{Log: slog.New(slog.DiscardHandler), Store: db, Metrics: newMetrics(), Version: "test", Auth: w.authn, Policy: pol,
		Data: db, Audit: db, Registry: db, Now: w.clock.now, Summaries: summaries, Records: db, Codes: set,
		CarePlans: careplan.NewService(db, w.clock.now), Scores: db, Alerts: db, Web: mustRenderer(t)})
	w.ts = httptest.NewServer(w.srv)
	defer w.ts.Close()
	stamp := time.Now().UnixNano()
	coord, self := fmt.Sprint("scale.coord.", stamp), fmt.Sprint("scale.self.", stamp)
	w.addUser(coord, auth.CareCoordinator)
	w.addUser(self, auth.ServiceUser)
	c, me := w.signIn(coord), w.signIn(self)
	p, err := db.Person(ctx, w.related)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		c    *client
		path string
	}{
		{"summary", c, fmt.Sprintf("/people/%d", w.related)},
		{"search NHS", c, "/people?q=" + p.NHSNumber},
		{"search family", c, "/people?q=" + url.QueryEscape(p.FamilyName)},
		{"search given+family", c, "/people?q=" + url.QueryEscape(p.GivenName+" "+p.FamilyName)},
		{"search name+DOB", c, "/people?q=" + url.QueryEscape(p.GivenName+" "+p.FamilyName+" "+p.BirthDate.Format("02/01/2006"))},
		{"search DOB", c, "/people?q=" + p.BirthDate.Format("2006-01-02")},
		{"me", me, "/me"},
		{"me access log", me, "/me/access-log"},
	} {
		var ds []time.Duration
		for range 15 {
			start := time.Now()
			if status, body, _ := tc.c.page(tc.path); status != http.StatusOK {
				t.Fatalf("%s: %d %.300s", tc.name, status, body)
			}
			ds = append(ds, time.Since(start))
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		t.Logf("%-16s median %6.1f ms, p90 %6.1f ms (loopback HTTP)", tc.name, ms(ds[len(ds)/2]), ms(ds[len(ds)*9/10]))
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
