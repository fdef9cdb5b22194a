package fhir

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/directory"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/registry"
)

// NDJSONWriter writes FHIR Bulk Data NDJSON: one file per resource type,
// "<Type>.ndjson", one resource per line.
//
// Every file is written under a temporary name ("<Type>.ndjson.*.partial")
// and renamed to its final name only by Close, after it has been flushed and
// fsynced, so an interrupted export never leaves a file that looks complete.
// Call Abort (safe after Close) to remove the partial files of an export
// that is given up. Every type's file is written, empty when there was
// nothing of that type, so that an export over an earlier one never leaves
// a stale file behind. Files are created readable by the owner only: they
// hold person-identifiable data.
//
// An NDJSONWriter is not safe for concurrent use.
type NDJSONWriter struct {
	dir    string
	files  map[string]*ndjsonFile
	closed bool
	err    error // the first write error; every later call returns it
}

type ndjsonFile struct {
	typ   string
	temp  string
	f     *os.File
	buf   *bufio.Writer
	enc   *json.Encoder
	count int
}

// WriterOption changes how NewNDJSONWriter opens its directory.
type WriterOption func(*writerOptions)

type writerOptions struct{ overwrite bool }

// Overwrite lets the writer replace .ndjson files already in the directory.
// Without it, a directory that holds any .ndjson file is refused, so that an
// export never silently mixes with, or clobbers, an earlier one.
func Overwrite() WriterOption { return func(o *writerOptions) { o.overwrite = true } }

// bufferSize is per file: eleven files of 256 KiB keep writes large without
// holding much memory.
const bufferSize = 256 << 10

// NewNDJSONWriter creates dir if needed and opens a partial file for every
// export type. It fails with apperr.Conflict when dir already holds .ndjson
// files, unless Overwrite is given.
func NewNDJSONWriter(dir string, opts ...WriterOption) (*NDJSONWriter, error) {
	var o writerOptions
	for _, opt := range opts {
		opt(&o)
	}
	if dir == "" {
		return nil, apperr.E(apperr.Invalid, "fhir: no NDJSON output directory given")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, apperr.Wrap(apperr.Invalid, err, "fhir: cannot create NDJSON output directory")
	}
	if !o.overwrite {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, apperr.Wrap(apperr.Invalid, err, "fhir: cannot read NDJSON output directory")
		}
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".ndjson") {
				return nil, apperr.Ef(apperr.Conflict, "fhir: %s already holds NDJSON files (%s); use an empty directory or overwrite", dir, e.Name())
			}
		}
	}
	w := &NDJSONWriter{dir: dir, files: make(map[string]*ndjsonFile)}
	for _, typ := range ExportTypes() {
		f, err := os.CreateTemp(dir, typ+".ndjson.*.partial")
		if err != nil {
			w.Abort()
			return nil, apperr.Wrap(apperr.Internal, err, "fhir: cannot create NDJSON file")
		}
		buf := bufio.NewWriterSize(f, bufferSize)
		enc := json.NewEncoder(buf)
		// FHIR JSON needs no HTML escaping, and "<" stays readable as "<".
		enc.SetEscapeHTML(false)
		w.files[typ] = &ndjsonFile{typ: typ, temp: f.Name(), f: f, buf: buf, enc: enc}
	}
	return w, nil
}

// Dir is the output directory.
func (w *NDJSONWriter) Dir() string { return w.dir }

// write encodes one resource as one line. v must be a pointer to one of
// this package's resource structs, so no interface conversion copies it.
func (w *NDJSONWriter) write(typ string, v any) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return apperr.E(apperr.Internal, "fhir: write to a closed NDJSON writer")
	}
	f := w.files[typ]
	if err := f.enc.Encode(v); err != nil {
		// The message names the file, never the resource: it holds person data.
		w.err = apperr.Wrap(apperr.Internal, err, "fhir: writing "+typ+".ndjson")
		return w.err
	}
	f.count++
	return nil
}

// WriteDirectory writes organisations, practitioners (each with one
// PractitionerRole) and care teams with their members.
func (w *NDJSONWriter) WriteDirectory(d *directory.Directory) error {
	for _, o := range d.Organisations {
		r := OrganizationFrom(o)
		if err := w.write(TypeOrganization, &r); err != nil {
			return err
		}
	}
	for _, p := range d.Professionals {
		r := PractitionerFrom(p)
		if err := w.write(TypePractitioner, &r); err != nil {
			return err
		}
		role := PractitionerRoleFrom(p)
		if err := w.write(TypePractitionerRole, &role); err != nil {
			return err
		}
	}
	byTeam := make(map[int64][]directory.CareTeamMember)
	for _, m := range d.Members {
		byTeam[m.TeamID] = append(byTeam[m.TeamID], m)
	}
	for _, t := range d.Teams {
		r := CareTeamFrom(t, byTeam[t.ID])
		if err := w.write(TypeCareTeam, &r); err != nil {
			return err
		}
	}
	return nil
}

// WriteBatch writes every person in b with their rows. Activity costs and
// social care packages are left out: costs are not part of a clinical bulk
// export (a later issue may export them as Claim/ChargeItem).
func (w *NDJSONWriter) WriteBatch(b *record.Batch) error {
	return BatchResources(b, func(typ, _ string, _ int64, r any) error { return w.write(typ, r) })
}

// BatchResources maps every person in b and their rows to resources, in
// export order (Patients, then CareTeam placements, Encounters, Conditions,
// Observations, MedicationRequests, Immunizations, Procedures; each kind in
// the batch's order), calling fn with each resource's type, id, person and
// a pointer to it. Activity costs and social care packages have no
// resource (see WriteBatch). An error from fn stops the walk.
func BatchResources(b *record.Batch, fn func(typ, id string, person int64, r any) error) error {
	ids := make(map[int64][]registry.SourceIdentity, len(b.People))
	for _, si := range b.Identities {
		ids[si.PersonID] = append(ids[si.PersonID], si)
	}
	for _, p := range b.People {
		r := PatientFrom(p, ids[p.ID])
		if err := fn(TypePatient, r.ID, p.ID, &r); err != nil {
			return err
		}
	}
	type personTeam struct{ person, team int64 }
	seen := make(map[personTeam]int)
	for _, l := range b.TeamLinks {
		k := personTeam{l.PersonID, l.TeamID}
		n := seen[k]
		seen[k] = n + 1
		r := CareTeamFromLink(l, n)
		if err := fn(TypeCareTeam, r.ID, l.PersonID, &r); err != nil {
			return err
		}
	}
	for _, e := range b.Encounters {
		r := EncounterFrom(e)
		if err := fn(TypeEncounter, r.ID, e.PersonID, &r); err != nil {
			return err
		}
	}
	for _, c := range b.Conditions {
		r := ConditionFrom(c)
		if err := fn(TypeCondition, r.ID, c.PersonID, &r); err != nil {
			return err
		}
	}
	for _, o := range b.Observations {
		r := ObservationFrom(o)
		if err := fn(TypeObservation, r.ID, o.PersonID, &r); err != nil {
			return err
		}
	}
	for _, m := range b.Medications {
		r := MedicationRequestFrom(m)
		if err := fn(TypeMedicationRequest, r.ID, m.PersonID, &r); err != nil {
			return err
		}
	}
	for _, i := range b.Immunisations {
		r := ImmunizationFrom(i)
		if err := fn(TypeImmunization, r.ID, i.PersonID, &r); err != nil {
			return err
		}
	}
	for _, p := range b.Procedures {
		r := ProcedureFrom(p)
		if err := fn(TypeProcedure, r.ID, p.PersonID, &r); err != nil {
			return err
		}
	}
	return nil
}

// Counts is the number of resources written, by resource type, every
// export type present.
func (w *NDJSONWriter) Counts() map[string]int {
	c := make(map[string]int, len(w.files))
	for typ, f := range w.files {
		c[typ] = f.count
	}
	return c
}

// Close flushes and fsyncs every file, renames each to its final name and
// fsyncs the directory. After a write error it removes the partial files
// and returns that error: a failed export leaves no .ndjson file of its own.
// Close after Close does nothing; Close after Abort reports the abort.
func (w *NDJSONWriter) Close() error {
	if w.closed {
		return w.err
	}
	if w.err != nil {
		w.Abort()
		return w.err
	}
	for _, typ := range ExportTypes() {
		f := w.files[typ]
		if err := f.finish(); err != nil {
			w.Abort()
			return apperr.Wrap(apperr.Internal, err, "fhir: finishing "+typ+".ndjson")
		}
	}
	w.closed = true
	var renamed []string
	for _, typ := range ExportTypes() {
		f := w.files[typ]
		final := filepath.Join(w.dir, typ+".ndjson")
		if err := os.Rename(f.temp, final); err != nil {
			// Take back the files already renamed: a half set of final files
			// would look like a complete export.
			for _, r := range renamed {
				os.Remove(r)
			}
			w.removeTemps()
			return apperr.Wrap(apperr.Internal, err, "fhir: renaming "+typ+".ndjson")
		}
		f.temp = ""
		renamed = append(renamed, final)
	}
	return syncDir(w.dir)
}

func (f *ndjsonFile) finish() error {
	if f.f == nil {
		return nil
	}
	err := f.buf.Flush()
	if err == nil {
		err = f.f.Sync()
	}
	if cerr := f.f.Close(); err == nil {
		err = cerr
	}
	f.f = nil
	return err
}

// Abort closes and removes the partial files; no .ndjson file is left by
// this writer. It is a no-op after a successful Close, so callers may defer
// it.
func (w *NDJSONWriter) Abort() {
	if w.closed {
		return
	}
	w.closed = true
	for _, f := range w.files {
		if f.f != nil {
			f.f.Close()
			f.f = nil
		}
	}
	w.removeTemps()
	if w.err == nil {
		w.err = apperr.E(apperr.Internal, "fhir: NDJSON export aborted")
	}
}

func (w *NDJSONWriter) removeTemps() {
	for _, f := range w.files {
		if f.temp != "" {
			os.Remove(f.temp)
			f.temp = ""
		}
	}
}

// syncDir makes the renames durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return apperr.Wrap(apperr.Internal, err, "fhir: syncing NDJSON directory")
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return apperr.Wrap(apperr.Internal, err, "fhir: syncing NDJSON directory")
	}
	return nil
}
