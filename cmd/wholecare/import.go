package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/fhir"
	"github.com/wholecare/wholecare/internal/ingest"
	"github.com/wholecare/wholecare/internal/sqlstore"
)

// importBatch is how many items one store transaction applies.
const importBatch = 2000

func runImport(ctx context.Context, e *env, args []string) error {
	cfg := defaultConfig(e.getenv)
	fset := flag.NewFlagSet("import", flag.ContinueOnError)
	cfg.dbFlag(fset)
	cfg.logFlags(fset)
	cfg.linkageFlag(fset)
	source := fset.String("source", "", "name of the sending system: with each record's id, what makes a re-import an update, not a duplicate\n(fhir:NAME for FHIR files, default fhir:import; community:NAME for CSV person lists, default community:import)")
	maxErrors := fset.Int("show-errors", 50, "print at most this many errors (all are counted)")
	if err := parseFlagsArgs(fset, e, args, "[--db DSN] [--source NAME] PATH...", -1); err != nil {
		return err
	}
	if fset.NArg() == 0 {
		return &usageError{"import: name at least one file or directory of FHIR bundles (.json), Bulk Data NDJSON (.ndjson) or community CSV (.csv)"}
	}
	files, total, err := importFiles(fset.Args())
	if err != nil {
		return err
	}
	fhirSource, csvSource, err := importSources(*source, files)
	if err != nil {
		return err
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
	if _, err := buildLinkIndex(ctx, e, cfg, db, log); err != nil {
		return err
	}

	im := &importer{e: e, svc: ingest.New(db), source: fhirSource, csvSource: csvSource, now: time.Now(), maxErrors: *maxErrors,
		read: map[string]int{}, stored: map[string][2]int{}}
	im.bar = newByteProgress(e.stderr, "importing", "resources", time.Now)
	im.bar.Set(0, int(total))
	start := time.Now()
	// Batches commit without waiting for the disk (see sqlstore.WithBulk);
	// the flush before the summary makes them durable.
	ctx = sqlstore.WithBulk(ctx)
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			im.bar.Finish()
			db.Flush(context.WithoutCancel(ctx))
			return fmt.Errorf("interrupted: every batch applied so far is complete; importing again finishes the rest")
		}
		if err := im.file(ctx, f, total); err != nil {
			im.bar.Finish()
			return err
		}
	}
	if err := im.retryDeferred(ctx); err != nil {
		im.bar.Finish()
		return err
	}
	if err := db.Flush(ctx); err != nil {
		im.bar.Finish()
		return err
	}
	im.bar.Set(int(total), int(total))
	im.bar.Finish()
	im.summary(time.Since(start))
	if im.failed > 0 {
		return &reported{fmt.Errorf("%s of %s resources could not be imported", thousands(im.failed), thousands(im.resources))}
	}
	return nil
}

// importFile is one input file.
type importFile struct {
	path   string
	ndjson bool
	size   int64
	csv    bool // a community person list (internal/csvfeed)
}

// importSources decides the source name of the FHIR files and of the CSV
// files: --source names the one kind given, each kind has a default, and
// one name cannot serve both (a source is one system speaking one format).
func importSources(source string, files []importFile) (fhirSource, csvSource string, err error) {
	var hasFHIR, hasCSV bool
	for _, f := range files {
		hasCSV = hasCSV || f.csv
		hasFHIR = hasFHIR || !f.csv
	}
	fhirSource, csvSource = "fhir:import", "community:import"
	switch {
	case source == "":
	case hasFHIR && hasCSV:
		return "", "", &usageError{"--source names one sending system: import its FHIR files and its CSV files in separate runs"}
	case hasCSV:
		if !strings.HasPrefix(source, "community:") || len(source) < len("community:")+1 {
			return "", "", &usageError{fmt.Sprintf("--source %q: a CSV person list comes from community:NAME, e.g. community:rio", source)}
		}
		csvSource = source
	default:
		if !strings.HasPrefix(source, "fhir:") || len(source) < 6 {
			return "", "", &usageError{fmt.Sprintf("--source %q: use fhir:NAME, e.g. fhir:gp-emis", source)}
		}
		fhirSource = source
	}
	return fhirSource, csvSource, nil
}

// importFiles expands paths into files: directories recursively, Patient
// NDJSON first (so that other resources find their person), then the rest
// in name order.
func importFiles(paths []string) ([]importFile, int64, error) {
	var out []importFile
	var total int64
	add := func(path string, size int64, explicit bool) error {
		switch {
		case strings.HasSuffix(path, ".ndjson"):
			out = append(out, importFile{path: path, ndjson: true, size: size})
		case strings.HasSuffix(path, ".json"):
			out = append(out, importFile{path: path, size: size})
		case strings.HasSuffix(path, ".csv"):
			out = append(out, importFile{path: path, size: size, csv: true})
		case explicit:
			return &usageError{fmt.Sprintf("import: %s is not .json (a bundle or resource), .ndjson or .csv (a community person list)", path)}
		default:
			return nil
		}
		total += size
		return nil
	}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, 0, &usageError{fmt.Sprintf("import: %s: %v", p, errors.Unwrap(err))}
		}
		if !st.IsDir() {
			if err := add(p, st.Size(), true); err != nil {
				return nil, 0, err
			}
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			return add(path, info.Size(), false)
		})
		if err != nil {
			return nil, 0, fmt.Errorf("import: reading %s: %w", p, err)
		}
	}
	patientFirst := func(f importFile) int {
		if f.ndjson && strings.HasPrefix(filepath.Base(f.path), "Patient") {
			return 0
		}
		return 1
	}
	sort.SliceStable(out, func(i, j int) bool {
		if a, b := patientFirst(out[i]), patientFirst(out[j]); a != b {
			return a < b
		}
		return out[i].path < out[j].path
	})
	if len(out) == 0 {
		return nil, 0, &usageError{"import: no .json, .ndjson or .csv files found"}
	}
	return out, total, nil
}

type importer struct {
	e         *env
	svc       *ingest.Service
	source    string // of FHIR files
	csvSource string // of CSV person lists
	now       time.Time
	bar       *progressBar
	maxErrors int

	bytesDone int64
	resources int
	read      map[string]int    // resources read, by type
	stored    map[string][2]int // rows by table: new, replaced
	people    [2]int            // people created, updated
	skipped   int               // resources Wholecare does not store
	failed    int
	shown     int
	deferred  []ingest.Item // items whose person was not known yet
	final     bool          // retrying deferred items: an unknown person is now an error
	pending   []ingest.Item
	inflight  *applied // the batch being applied in the background, if any
}

func (im *importer) fail(err error) {
	im.failed++
	if im.shown < im.maxErrors {
		im.shown++
		im.bar.mu.Lock()
		fmt.Fprintf(im.e.stderr, "\rerror: %s\n", apperr.Message(err))
		im.bar.mu.Unlock()
	}
}

// mapped handles what mapping one resource gave.
func (im *importer) mapped(it ingest.Item, err error) {
	switch {
	case errors.Is(err, fhir.ErrNotStored):
		im.skipped++
	case err != nil:
		im.fail(err)
	default:
		im.pending = append(im.pending, it)
	}
}

func (im *importer) file(ctx context.Context, f importFile, total int64) error {
	fh, err := os.Open(f.path)
	if err != nil {
		im.fail(apperr.Ef(apperr.Invalid, "%s: cannot open: %v", f.path, errors.Unwrap(err)))
		return nil
	}
	defer fh.Close()
	cr := &countingReader{r: fh}
	progress := func() {
		im.bar.Count(im.resources)
		im.bar.Set(int(im.bytesDone+cr.n.Load()), int(total))
	}
	defer func() { im.bytesDone += f.size }()
	if f.csv {
		err := im.csvFile(ctx, f.path, cr)
		progress()
		return err
	}
	if f.ndjson {
		br := bufio.NewReaderSize(cr, 64<<10)
		if first, _ := br.Peek(4096); len(bytes.TrimSpace(first)) > 0 && !bytes.Contains(first, []byte(`"resourceType"`)) {
			// A Bulk Data export directory may hold a log or other files
			// that are not resources.
			im.bar.mu.Lock()
			fmt.Fprintf(im.e.stderr, "\rskipped %s: not FHIR NDJSON (its first line has no resourceType)\n", f.path)
			im.bar.mu.Unlock()
			return nil
		}
		rd := fhir.NewNDJSONReader(br, f.path, 0)
		for {
			r, err := rd.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			im.resources++
			if err != nil {
				if apperr.KindOf(err) != apperr.Invalid {
					return err
				}
				if t, ok := unsupportedType(err); ok {
					im.read[t]++
					im.skipped++
					continue
				}
				im.fail(err)
				continue
			}
			im.read[r.Type()]++
			im.mapped(fhir.ToItem(r, im.source, im.now))
			if len(im.pending) >= importBatch {
				if err := im.flushBehind(ctx); err != nil {
					return err
				}
				progress()
			}
		}
		err := im.flush(ctx, false)
		progress()
		return err
	}
	data, err := io.ReadAll(cr)
	if err != nil {
		return fmt.Errorf("import: reading %s: %w", f.path, err)
	}
	var head struct {
		ResourceType string `json:"resourceType"`
	}
	if err := json.Unmarshal(data, &head); err != nil || head.ResourceType == "" {
		im.resources++
		im.fail(apperr.Ef(apperr.Invalid, "%s: not a FHIR resource (no resourceType in a JSON object)", f.path))
		return nil
	}
	if head.ResourceType != "Bundle" {
		im.resources++
		if !fhir.Supported(head.ResourceType) {
			im.read[head.ResourceType]++
			im.skipped++
			return nil
		}
		r, err := fhir.Decode(data)
		if err != nil {
			im.fail(apperr.Ef(apperr.Invalid, "%s: %s", f.path, apperr.Message(err)))
			return nil
		}
		im.read[r.Type()]++
		it, err := fhir.ToItem(r, im.source, im.now)
		if err != nil && !errors.Is(err, fhir.ErrNotStored) {
			err = apperr.Ef(apperr.Invalid, "%s: %s", f.path, apperr.Message(err))
		}
		im.mapped(it, err)
		err = im.flush(ctx, false)
		progress()
		return err
	}
	b, err := fhir.ReadBundle(bytes.NewReader(data), f.path)
	if err != nil {
		im.resources++
		im.fail(err)
		return nil
	}
	for _, e := range b.Entries {
		im.resources++
		if e.Resource != nil {
			im.read[e.Resource.Type()]++
		}
	}
	items, errs := b.Items(im.source, im.now)
	if b.Type == "transaction" {
		var bad []error
		for _, err := range errs {
			if _, ok := unsupportedType(err); ok || errors.Is(err, fhir.ErrNotStored) {
				im.skipped++
				continue
			}
			bad = append(bad, err)
		}
		if len(bad) > 0 {
			im.fail(apperr.Ef(apperr.Invalid, "%s: transaction bundle not applied (all or nothing): %s", f.path, apperr.Message(bad[0])))
			im.failed += len(b.Entries) - 1 - im.skippedIn(errs)
			return nil
		}
		im.pending = items
		err := im.flush(ctx, true)
		progress()
		return err
	}
	for _, err := range errs {
		if _, ok := unsupportedType(err); ok {
			im.skipped++
			continue
		}
		im.mapped(ingest.Item{}, err)
	}
	im.pending = append(im.pending, items...)
	err = im.flush(ctx, false)
	progress()
	return err
}

// unsupportedType recognises the decoder's refusal of a whole resource of
// a type outside Wholecare's scope, which an import counts as skipped.
func unsupportedType(err error) (string, bool) {
	msg := apperr.Message(err)
	const tail = " is not a supported resource type"
	i := strings.LastIndex(msg, "resourceType: ")
	if i < 0 || !strings.HasSuffix(msg, tail) {
		return "", false
	}
	// Only a whole resource or bundle entry, never a contained one.
	if before := msg[:i]; !strings.HasSuffix(before, ": ") && !(strings.HasSuffix(before, ".resource.") && strings.Contains(before, "Bundle.entry[")) {
		return "", false
	}
	t := strings.Trim(msg[i+len("resourceType: "):len(msg)-len(tail)], `"`)
	return t, t != "" && !strings.ContainsAny(t, " .[")
}

func (im *importer) skippedIn(errs []error) int {
	n := 0
	for _, err := range errs {
		if errors.Is(err, fhir.ErrNotStored) {
			n++
		}
	}
	return n
}

// flush applies the pending items. Items whose person is not known yet are
// kept for one more try at the end (NDJSON files may come in any order).
func (im *importer) flush(ctx context.Context, atomic bool) error {
	if err := im.wait(); err != nil {
		return err
	}
	items := im.pending
	im.pending = im.pending[:0:0]
	for len(items) > 0 {
		n := min(len(items), importBatch)
		if atomic {
			n = len(items)
		}
		res, err := im.svc.Apply(ctx, items[:n], atomic, im.now)
		if err != nil {
			if atomic && isItemErr(err) {
				im.fail(apperr.Ef(apperr.Invalid, "transaction bundle not applied (all or nothing): %s", apperr.Message(err)))
				im.failed += n - 1
				return nil
			}
			return err
		}
		im.outcomes(items[:n], res, atomic)
		items = items[n:]
	}
	return nil
}

// applied is a batch being applied while the next one is decoded.
type applied struct {
	items []ingest.Item
	done  chan appliedResult
}

type appliedResult struct {
	res ingest.Result
	err error
}

// flushBehind applies the pending items in the background, so that
// decoding the next batch (one core) overlaps with storing this one (the
// other). One batch is in flight at most, and it is finished before any
// other is applied, so batches still commit in the order they were read:
// a file's people are stored before the rows that refer to them.
func (im *importer) flushBehind(ctx context.Context) error {
	if err := im.wait(); err != nil {
		return err
	}
	items := im.pending
	im.pending = nil
	if len(items) == 0 {
		return nil
	}
	a := &applied{items: items, done: make(chan appliedResult, 1)}
	go func() {
		res, err := im.svc.Apply(ctx, items, false, im.now)
		a.done <- appliedResult{res, err}
	}()
	im.inflight = a
	return nil
}

// wait finishes the batch in flight, if any.
func (im *importer) wait() error {
	a := im.inflight
	if a == nil {
		return nil
	}
	im.inflight = nil
	r := <-a.done
	if r.err != nil {
		return r.err
	}
	im.outcomes(a.items, r.res, false)
	return nil
}

// outcomes counts what applying items gave, deferring items whose person
// is not known yet (a later file may bring them) until the final retry.
func (im *importer) outcomes(items []ingest.Item, res ingest.Result, atomic bool) {
	for i, o := range res.Outcomes {
		if o.Err != nil {
			if apperr.KindOf(o.Err) == apperr.NotFound && !atomic && !im.final {
				im.deferred = append(im.deferred, items[i])
				continue
			}
			im.fail(o.Err)
			continue
		}
		im.count(items[i], o)
	}
}

func isItemErr(err error) bool {
	k := apperr.KindOf(err)
	return k == apperr.Invalid || k == apperr.NotFound || k == apperr.Conflict
}

// retryDeferred applies, once more, the items whose person was unknown
// when they were first met; now an unknown person is an error.
func (im *importer) retryDeferred(ctx context.Context) error {
	im.pending, im.deferred = im.deferred, nil
	im.final = true
	return im.flush(ctx, false)
}

func (im *importer) count(it ingest.Item, o ingest.Outcome) {
	if it.Person != nil {
		if o.PersonCreated {
			im.people[0]++
		} else {
			im.people[1]++
		}
	}
	b := &it.Rows
	tables := []struct {
		name string
		n    int
	}{{"conditions", len(b.Conditions)}, {"observations", len(b.Observations)}, {"encounters", len(b.Encounters)},
		{"medications", len(b.Medications)}, {"immunisations", len(b.Immunisations)}, {"procedures", len(b.Procedures)}}
	// An item's rows are all of one table (one resource); split its
	// inserted and replaced counts onto that table.
	for _, t := range tables {
		if t.n > 0 {
			c := im.stored[t.name]
			c[0] += o.Inserted
			c[1] += o.Replaced
			im.stored[t.name] = c
			break
		}
	}
}

func (im *importer) summary(took time.Duration) {
	w := im.e.stdout
	rate := float64(im.resources) / max(took.Seconds(), 1e-9)
	fmt.Fprintf(w, "Read %s resources in %s (%s resources/s):\n", thousands(im.resources), took.Round(time.Millisecond), thousands(int(rate)))
	types := make([]string, 0, len(im.read))
	for t := range im.read {
		types = append(types, t)
	}
	sort.Strings(types)
	for _, t := range types {
		fmt.Fprintf(w, "  %-24s %12s\n", t, thousands(im.read[t]))
	}
	fmt.Fprintf(w, "Stored:\n  %-24s %12s new %12s updated\n", "people", thousands(im.people[0]), thousands(im.people[1]))
	for _, t := range []string{"conditions", "observations", "encounters", "medications", "immunisations", "procedures"} {
		c := im.stored[t]
		fmt.Fprintf(w, "  %-24s %12s new %12s updated\n", t, thousands(c[0]), thousands(c[1]))
	}
	fmt.Fprintf(w, "Skipped %s resources of kinds Wholecare does not store yet; %s errors.\n", thousands(im.skipped), thousands(im.failed))
}

// countingReader counts bytes read, for progress.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
