package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/population"
	"github.com/wholecare/wholecare/internal/segment"
	"github.com/wholecare/wholecare/internal/sqlstore"
)

// runSegment places every person in the Kaiser pyramid, Bridges to Health
// and the North West London groups as of a day, records the transitions
// (unless --dry-run) and prints the share of the population in each
// segment.
func runSegment(ctx context.Context, e *env, args []string) error {
	cfg := defaultConfig(e.getenv)
	fs := flag.NewFlagSet("segment", flag.ContinueOnError)
	cfg.dbFlag(fs)
	cfg.logFlags(fs)
	asOf := fs.String("as-of", "", "the day to segment on, YYYY-MM-DD (default today, UTC)")
	dryRun := fs.Bool("dry-run", false, "print the shares without recording anyone's segment")
	if err := parseFlags(fs, e, args, "[--db DSN] [--as-of YYYY-MM-DD] [--dry-run]"); err != nil {
		return err
	}
	day := time.Now().UTC().Truncate(24 * time.Hour)
	if *asOf != "" {
		d, err := time.Parse(time.DateOnly, *asOf)
		if err != nil {
			return &usageError{fmt.Sprintf("--as-of %q: write the day as YYYY-MM-DD", *asOf)}
		}
		day = d
	}
	log, err := newLogger(e.stderr, cfg.logFormat, cfg.logLevel)
	if err != nil {
		return err
	}
	db, err := openMigrated(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	set, err := codes.Load()
	if err != nil {
		return err
	}
	counts, err := db.Counts(ctx)
	if err != nil {
		return err
	}
	total := int(counts["people"])

	// Everyone is read into a population engine once (merged records as
	// part of their survivor: one person, one placement), which places
	// them from its in-memory marks on all cores as of noon on the day
	// (population.Engine.Recompute); reading the store is most of the
	// time.
	start := time.Now()
	now := day.Add(12 * time.Hour)
	bar := newProgressBar(e.stderr, "reading", "people", time.Now)
	eng, err := population.Build(ctx, clusters{db}, set, now, func(done int) { bar.Set(done, max(total, done)) })
	bar.Finish()
	if err != nil {
		return err
	}
	read := time.Since(start)

	t0 := time.Now()
	people := eng.Stats().People
	t := newSegmentTally()
	var changes sqlstore.SegmentChanges
	bar = newProgressBar(e.stderr, "recording", "people", time.Now)
	err = eng.Placements(day, population.BuildBatch, func(ps []segment.Placement) error {
		for i := 0; i+3 <= len(ps); i += 3 {
			t.add(ps[i : i+3])
		}
		if *dryRun || len(ps) == 0 {
			return nil
		}
		ch, err := db.RecordSegments(ctx, day, ps)
		if err != nil {
			return fmt.Errorf("%w (segments recorded for everyone before person %d are kept)", err, ps[0].PersonID)
		}
		changes.Placed += ch.Placed
		changes.Moved += ch.Moved
		changes.Unchanged += ch.Unchanged
		bar.Set(t.living, people)
		return nil
	})
	bar.Finish()
	if err != nil {
		return err
	}
	t.seen = people
	t.print(e.stdout, day)
	took := fmt.Sprintf("Took %s: reading and placing %s, recording %s.", time.Since(start).Round(time.Millisecond),
		read.Round(time.Millisecond), time.Since(t0).Round(time.Millisecond))
	if *dryRun {
		fmt.Fprintf(e.stdout, "\nNothing recorded (--dry-run). %s\n", took)
		return nil
	}
	fmt.Fprintf(e.stdout, "\nRecorded as of %s: %d first placements, %d moves, %d unchanged. %s\n",
		day.Format(time.DateOnly), changes.Placed, changes.Moved, changes.Unchanged, took)
	return nil
}

// segmentTally counts the living people in each segment of each scheme.
type segmentTally struct {
	seen    int // people read, alive or not
	living  int
	pyramid int // living people on the Kaiser pyramid (level 1 or above)
	n       map[segment.Scheme]map[uint8]int
}

func newSegmentTally() *segmentTally {
	t := &segmentTally{n: map[segment.Scheme]map[uint8]int{}}
	for _, s := range segment.Schemes {
		t.n[s] = map[uint8]int{}
	}
	return t
}

func (t *segmentTally) add(ps []segment.Placement) {
	t.living++
	for _, p := range ps {
		t.n[p.Scheme][p.Segment]++
		if p.Scheme == segment.KaiserScheme && p.Segment > 0 {
			t.pyramid++
		}
	}
}

func (t *segmentTally) print(w io.Writer, day time.Time) {
	fmt.Fprintf(w, "Segments of %d living people as of %s (%d on the Kaiser pyramid)\n", t.living, day.Format(time.DateOnly), t.pyramid)
	pct := func(n, of int) string {
		if of == 0 {
			return "-"
		}
		return fmt.Sprintf("%.1f %%", 100*float64(n)/float64(of))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	section := func(title string, s segment.Scheme, segs []uint8, ltcShare bool) {
		fmt.Fprintf(tw, "\n%s\tpeople\tshare\t", title)
		if ltcShare {
			fmt.Fprint(tw, "of the pyramid\t")
		}
		fmt.Fprintln(tw)
		for _, g := range segs {
			n := t.n[s][g]
			fmt.Fprintf(tw, "%s\t%d\t%s\t", s.Label(g), n, pct(n, t.living))
			if ltcShare {
				if g == 0 {
					fmt.Fprint(tw, "\t")
				} else {
					fmt.Fprintf(tw, "%s\t", pct(n, t.pyramid))
				}
			}
			fmt.Fprintln(tw)
		}
	}
	section("Kaiser pyramid", segment.KaiserScheme, numbers(segment.Levels), true)
	section("Bridges to Health", segment.BridgesScheme, numbers(segment.BridgesSegments), false)
	section("North West London groups", segment.NWLScheme, numbers(segment.Groups), false)
	tw.Flush()
}

func numbers[S ~uint8](ss []S) []uint8 {
	out := make([]uint8, len(ss))
	for i, s := range ss {
		out[i] = uint8(s)
	}
	return out
}
