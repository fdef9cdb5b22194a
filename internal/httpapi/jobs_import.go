package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/fhir"
	"github.com/wholecare/wholecare/internal/ingest"
	"github.com/wholecare/wholecare/internal/jobs"
	"github.com/wholecare/wholecare/internal/web"
)

// importJobBatch is how many items one store transaction applies, as the
// command-line import does.
const importJobBatch = 2000

// pageImport imports one uploaded FHIR file (Bulk Data NDJSON, or a JSON
// Bundle or single resource) the way `wholecare import` does: resources
// are decoded and mapped with package fhir and applied in batches through
// ingest.Service; items whose person arrives later in the file are tried
// once more at the end. It counts what it read by type and what it stored
// by table, and reports each problem with its file, line and element path.
type pageImport struct {
	svc    *ingest.Service
	p      jobs.Reporter
	name   string // the uploaded file's name, for positions in errors
	source string
	now    time.Time

	total, resources int64
	read             map[string]int
	stored           map[string][2]int
	people           [2]int
	skipped, failed  int
	pending          []ingest.Item
	deferred         []ingest.Item
	final            bool
}

// importJob is the work of an import job over the file at path, which it
// removes when done.
func (s *Server) importJob(path, name, source string) jobs.Func {
	return func(ctx context.Context, p jobs.Reporter) error {
		defer os.Remove(path)
		im := &pageImport{svc: s.deps.Ingest, p: p, name: name, source: source, now: s.deps.Now(),
			read: map[string]int{}, stored: map[string][2]int{}}
		err := im.run(ctx, path)
		im.summarise()
		if err != nil {
			return err
		}
		if im.failed > 0 {
			return fmt.Errorf("%s of %s resources could not be imported: see the problems below", web.Thousands(int64(im.failed)), web.Thousands(im.resources))
		}
		return nil
	}
}

func (im *pageImport) run(ctx context.Context, path string) error {
	ndjson := strings.HasSuffix(strings.ToLower(im.name), ".ndjson")
	if ndjson {
		p := im.p
		p.Phase("Counting the resources in the file")
		n, err := countLines(path)
		if err != nil {
			return err
		}
		im.total = n
	}
	im.p.Phase("Importing")
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if ndjson {
		err = im.ndjson(ctx, f)
	} else {
		err = im.json(ctx, f)
	}
	if err != nil {
		return err
	}
	im.p.Phase("Trying again the records whose person came later in the file")
	im.pending, im.deferred, im.final = im.deferred, nil, true
	if err := im.flush(ctx, false); err != nil {
		return err
	}
	im.p.Phase("")
	im.p.Progress(im.resources, max(im.total, im.resources))
	return nil
}

// countLines counts the non-empty lines of an NDJSON file: the resources
// it holds, so progress can say "of how many".
func countLines(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var n int64
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), fhir.DefaultMaxLine+2)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) > 0 {
			n++
		}
	}
	if errors.Is(sc.Err(), bufio.ErrTooLong) {
		return n, nil // the reader reports the long line itself
	}
	return n, sc.Err()
}

func (im *pageImport) fail(err error) {
	im.failed++
	im.p.Problem(apperr.Message(err))
}

func (im *pageImport) mapped(it ingest.Item, err error) {
	switch {
	case errors.Is(err, fhir.ErrNotStored):
		im.skipped++
	case err != nil:
		im.fail(err)
	default:
		im.pending = append(im.pending, it)
	}
}

func (im *pageImport) ndjson(ctx context.Context, f io.Reader) error {
	rd := fhir.NewNDJSONReader(f, im.name, 0)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		r, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		im.resources++
		if err != nil {
			if apperr.KindOf(err) != apperr.Invalid {
				return err
			}
			im.fail(err)
			continue
		}
		im.read[r.Type()]++
		im.mapped(fhir.ToItem(r, im.source, im.now))
		if len(im.pending) >= importJobBatch {
			if err := im.flush(ctx, false); err != nil {
				return err
			}
			im.p.Progress(im.resources, im.total)
		}
	}
	return im.flush(ctx, false)
}

func (im *pageImport) json(ctx context.Context, f io.Reader) error {
	data, err := io.ReadAll(f)
	if err != nil {
		return err
	}
	var head struct {
		ResourceType string `json:"resourceType"`
	}
	if err := json.Unmarshal(data, &head); err != nil || head.ResourceType == "" {
		im.resources++
		im.fail(apperr.Ef(apperr.Invalid, "%s: not a FHIR resource (no resourceType in a JSON object)", im.name))
		return nil
	}
	if head.ResourceType != "Bundle" {
		im.resources, im.total = 1, 1
		r, err := fhir.Decode(data)
		if err != nil {
			im.fail(apperr.Ef(apperr.Invalid, "%s: %s", im.name, apperr.Message(err)))
			return nil
		}
		im.read[r.Type()]++
		im.mapped(fhir.ToItem(r, im.source, im.now))
		return im.flush(ctx, false)
	}
	b, err := fhir.ReadBundle(bytes.NewReader(data), im.name)
	if err != nil {
		im.resources++
		im.fail(err)
		return nil
	}
	im.total = int64(len(b.Entries))
	for _, e := range b.Entries {
		if e.Resource != nil {
			im.read[e.Resource.Type()]++
		}
	}
	items, errs := b.Items(im.source, im.now)
	im.resources = im.total
	if b.Type == "transaction" {
		var bad []error
		for _, err := range errs {
			if errors.Is(err, fhir.ErrNotStored) {
				im.skipped++
				continue
			}
			bad = append(bad, err)
		}
		if len(bad) > 0 {
			for _, err := range bad {
				im.fail(err)
			}
			im.p.Problem("The bundle is a transaction, all or nothing: none of it was imported.")
			return nil
		}
		im.pending = items
		return im.flush(ctx, true)
	}
	for _, err := range errs {
		im.mapped(ingest.Item{}, err)
	}
	im.pending = append(im.pending, items...)
	return im.flush(ctx, false)
}

// flush applies the pending items in batches.
func (im *pageImport) flush(ctx context.Context, atomic bool) error {
	items := im.pending
	im.pending = nil
	for len(items) > 0 {
		n := min(len(items), importJobBatch)
		if atomic {
			n = len(items)
		}
		res, err := im.svc.Apply(ctx, items[:n], atomic, im.now)
		if err != nil {
			if atomic && isItemErr(err) {
				im.fail(apperr.Ef(apperr.Invalid, "%s: transaction bundle not applied (all or nothing): %s", im.name, apperr.Message(err)))
				im.failed += n - 1
				return nil
			}
			return err
		}
		for i, o := range res.Outcomes {
			switch {
			case o.Err != nil && apperr.KindOf(o.Err) == apperr.NotFound && !atomic && !im.final:
				im.deferred = append(im.deferred, items[i])
			case o.Err != nil:
				im.fail(o.Err)
			default:
				im.count(items[i], o)
			}
		}
		items = items[n:]
	}
	return nil
}

func isItemErr(err error) bool {
	k := apperr.KindOf(err)
	return k == apperr.Invalid || k == apperr.NotFound || k == apperr.Conflict
}

var importTables = []string{"conditions", "observations", "encounters", "medications", "immunisations", "procedures"}

func (im *pageImport) count(it ingest.Item, o ingest.Outcome) {
	if it.Person != nil {
		if o.PersonCreated {
			im.people[0]++
		} else {
			im.people[1]++
		}
	}
	b := &it.Rows
	for i, n := range []int{len(b.Conditions), len(b.Observations), len(b.Encounters), len(b.Medications), len(b.Immunisations), len(b.Procedures)} {
		if n > 0 {
			c := im.stored[importTables[i]]
			c[0] += o.Inserted
			c[1] += o.Replaced
			im.stored[importTables[i]] = c
			break
		}
	}
}

// summarise sets the job's summary: resources read by type, then what was
// stored, skipped and refused.
func (im *pageImport) summarise() {
	var lines []jobs.Line
	types := make([]string, 0, len(im.read))
	for t := range im.read {
		types = append(types, t)
	}
	sort.Strings(types)
	for _, t := range types {
		lines = append(lines, jobs.Line{Label: "Read: " + t, Value: web.Thousands(int64(im.read[t]))})
	}
	newUpd := func(c [2]int) string {
		return web.Thousands(int64(c[0])) + " new, " + web.Thousands(int64(c[1])) + " updated"
	}
	lines = append(lines, jobs.Line{Label: "Stored: people", Value: newUpd(im.people)})
	for _, t := range importTables {
		if c, ok := im.stored[t]; ok {
			lines = append(lines, jobs.Line{Label: "Stored: " + t, Value: newUpd(c)})
		}
	}
	lines = append(lines,
		jobs.Line{Label: "Skipped (kinds Wholecare does not store)", Value: web.Thousands(int64(im.skipped))},
		jobs.Line{Label: "Could not be imported", Value: strconv.Itoa(im.failed)})
	im.p.Summary(lines)
}
