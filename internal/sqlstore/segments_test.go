package sqlstore

import (
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/segment"
)

func TestSegmentsSQLite(t *testing.T) { runSegmentsContract(t, openSQLiteTemp) }

func TestSegmentsPostgres(t *testing.T) {
	if os.Getenv("WHOLECARE_TEST_POSTGRES") == "" {
		t.Skip("WHOLECARE_TEST_POSTGRES is not set")
	}
	runSegmentsContract(t, func(t *testing.T) *DB { return openPostgresSchema(t) })
}

func runSegmentsContract(t *testing.T, open func(t *testing.T) *DB) {
	db := open(t)
	mustMigrate(t, db)
	ctx := t.Context()
	d1, d2, d3 := day(2026, 1, 1), day(2026, 2, 1), day(2026, 3, 1)
	place := func(pid int64, s segment.Scheme, seg uint8, reason string) segment.Placement {
		return segment.Placement{PersonID: pid, Scheme: s, Segment: seg, Reason: reason}
	}
	record := func(d time.Time, want SegmentChanges, ps ...segment.Placement) {
		t.Helper()
		got, err := db.RecordSegments(ctx, d, ps)
		if err != nil {
			t.Fatalf("RecordSegments(%s): %v", d.Format(time.DateOnly), err)
		}
		if got != want {
			t.Errorf("RecordSegments(%s) = %+v, want %+v", d.Format(time.DateOnly), got, want)
		}
	}
	record(d1, SegmentChanges{Placed: 3},
		place(1, segment.KaiserScheme, 1, "one or more long-term conditions"),
		place(1, segment.BridgesScheme, 4, "one or more long-term conditions"),
		place(2, segment.KaiserScheme, 0, "no long-term condition"))
	// Person 1 moves up the pyramid; person 2 stays; a new reason for the
	// same segment is not a transition.
	record(d2, SegmentChanges{Moved: 1, Unchanged: 2},
		place(1, segment.KaiserScheme, 2, "three or more long-term conditions"),
		place(1, segment.BridgesScheme, 4, "one or more long-term conditions"),
		place(2, segment.KaiserScheme, 0, "no long-term condition (checked)"))
	// Recording d2 again replaces that day's placement.
	record(d2, SegmentChanges{Moved: 1},
		place(1, segment.KaiserScheme, 3, "two or more emergency admissions in the last 12 months"))
	record(d3, SegmentChanges{Moved: 1},
		place(1, segment.KaiserScheme, 1, "one or more long-term conditions"))

	got, err := db.SegmentHistory(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := []segment.Placement{
		{PersonID: 1, Scheme: segment.BridgesScheme, Segment: 4, Reason: "one or more long-term conditions", Since: d1},
		{PersonID: 1, Scheme: segment.KaiserScheme, Segment: 1, Reason: "one or more long-term conditions", Since: d1, Until: d2},
		{PersonID: 1, Scheme: segment.KaiserScheme, Segment: 3, Reason: "two or more emergency admissions in the last 12 months", Since: d2, Until: d3},
		{PersonID: 1, Scheme: segment.KaiserScheme, Segment: 1, Reason: "one or more long-term conditions", Since: d3},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
	h2, err := db.SegmentHistory(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(h2) != 1 || h2[0].Reason != "no long-term condition (checked)" || !h2[0].Until.IsZero() {
		t.Errorf("person 2 history = %+v", h2)
	}

	// History is written forwards only, and nothing is half-written.
	_, err = db.RecordSegments(ctx, d1, []segment.Placement{
		place(2, segment.KaiserScheme, 1, "x"),
		place(1, segment.KaiserScheme, 2, "y"),
	})
	wantKind(t, err, apperr.Invalid, "cannot record 2026-01-01")
	if h, _ := db.SegmentHistory(ctx, 2); len(h) != 1 {
		t.Errorf("a refused call changed person 2: %+v", h)
	}
	_, err = db.RecordSegments(ctx, d3, []segment.Placement{place(1, "pyramid", 1, "x")})
	wantKind(t, err, apperr.Invalid, "unknown scheme")
	_, err = db.RecordSegments(ctx, d3.Add(time.Hour), []segment.Placement{place(1, segment.KaiserScheme, 1, "x")})
	wantKind(t, err, apperr.Invalid, "UTC midnight")
}
