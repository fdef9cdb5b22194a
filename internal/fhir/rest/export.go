package rest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/fhir"
	"github.com/wholecare/wholecare/internal/fhir/query"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/registry"
)

// The system-level Bulk Data export ($export), asynchronous as the Bulk
// Data spec (v2) says: the kick-off answers 202 with a status URL; the job
// runs in a goroutine writing NDJSON with fhir.NDJSONWriter into
// ExportDir/<job>/; the status URL answers 202 with X-Progress while it
// runs and the manifest when it is done; DELETE cancels it and removes its
// files; the files are served to the client that started it.
//
// Jobs live in memory: a restart forgets them (their directories stay on
// disk until removed by hand; they are readable by the owner only). A job
// older than jobTTL is reaped, files and all, when the next export request
// comes. One job runs at a time; another kick-off meanwhile is 429.

const (
	jobTTL = 24 * time.Hour
	// exportBatch is how many people one store read brings.
	exportBatch = 500
)

type jobState int

const (
	jobRunning jobState = iota
	jobDone
	jobFailed
)

type exportJob struct {
	id      string
	owner   string // the principal's name: only they see the job
	dir     string
	request string    // the kick-off URL
	started time.Time // the manifest's transactionTime
	types   []string
	since   time.Time
	cancel  context.CancelFunc

	// Guarded by Handler.exportMu.
	state    jobState
	done     int // people written
	total    int // people to write
	counts   map[string]int
	err      error
	finished time.Time
	deleted  bool // DELETE came while it ran: remove the files when it stops
}

func newJobID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", apperr.Wrap(apperr.Internal, err, "making an export job id")
	}
	return hex.EncodeToString(b[:]), nil
}

// preferAsync reports whether the request says Prefer: respond-async.
func preferAsync(r *http.Request) bool {
	for _, v := range r.Header.Values("Prefer") {
		for _, p := range strings.Split(v, ",") {
			if strings.TrimSpace(p) == "respond-async" {
				return true
			}
		}
	}
	return false
}

// handleExport is the kick-off: GET [base]/$export.
func (h *Handler) handleExport(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if h.deps.ExportDir == "" {
		return apperr.E(apperr.Unavailable, "bulk export is not configured on this server")
	}
	if !preferAsync(r) {
		return apperr.E(apperr.Invalid, "$export runs asynchronously: send Prefer: respond-async")
	}
	values := r.URL.Query()
	types, since, err := exportParams(values, lenient(r))
	if err != nil {
		return err
	}
	if err := h.deps.Guard.CanExport(ctx); err != nil {
		return err
	}
	p, ok := auth.FromContext(ctx)
	if !ok || p.Name == "" {
		return apperr.E(apperr.Forbidden, "no signed-in client: an export needs a principal")
	}
	id, err := newJobID()
	if err != nil {
		return err
	}
	now := h.deps.Now()
	h.reap(now)
	job := &exportJob{
		id: id, owner: p.Name, dir: filepath.Join(h.deps.ExportDir, id),
		request: h.base(r) + "/$export", started: now, types: types, since: since,
	}
	if enc := values.Encode(); enc != "" {
		job.request += "?" + enc
	}
	h.exportMu.Lock()
	for _, j := range h.jobs {
		if j.state == jobRunning {
			h.exportMu.Unlock()
			return &statusError{status: http.StatusTooManyRequests, code: "throttled", msg: "an export is already running: try again when it has finished"}
		}
	}
	h.jobs[id] = job // reserves the one running slot
	h.exportMu.Unlock()

	abandon := func(err error) error {
		h.exportMu.Lock()
		delete(h.jobs, id)
		h.exportMu.Unlock()
		return err
	}
	for _, typ := range types {
		if err := h.accessed(r, "export", typ, nil); err != nil {
			return abandon(err)
		}
	}
	if err := os.MkdirAll(h.deps.ExportDir, 0o700); err != nil {
		return abandon(apperr.Wrap(apperr.Internal, err, "creating the export directory"))
	}
	if err := os.Mkdir(job.dir, 0o700); err != nil {
		return abandon(apperr.Wrap(apperr.Internal, err, "creating the export job's directory"))
	}
	// The job outlives the request but keeps its values (the principal).
	jctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	h.exportMu.Lock()
	job.cancel = cancel
	h.exportMu.Unlock()
	h.jobsWG.Add(1)
	go h.runExport(jctx, job)
	h.deps.Log.Info("export started", "job", id, "types", len(types))
	w.Header().Set("Content-Location", h.base(r)+"/$export-status/"+id)
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// exportParams reads _type, _since and _outputFormat.
func exportParams(values map[string][]string, lax bool) (types []string, since time.Time, err error) {
	for name, vals := range values {
		switch name {
		case "_type":
			for _, v := range vals {
				for _, t := range strings.Split(v, ",") {
					t = strings.TrimSpace(t)
					if !slices.Contains(fhir.ExportTypes(), t) {
						return nil, since, apperr.Ef(apperr.Invalid, "_type: %s is not exported (the types are %s)", safeToken(t), strings.Join(fhir.ExportTypes(), ", "))
					}
					if !slices.Contains(types, t) {
						types = append(types, t)
					}
				}
			}
		case "_since":
			t, perr := time.Parse(time.RFC3339Nano, vals[0])
			if perr != nil || len(vals) > 1 {
				return nil, since, apperr.E(apperr.Invalid, "_since: give one FHIR instant, e.g. 2024-01-01T00:00:00Z")
			}
			since = t.UTC()
		case "_outputFormat":
			switch vals[0] {
			case "application/fhir+ndjson", "application/ndjson", "ndjson":
			default:
				return nil, since, apperr.E(apperr.Invalid, "_outputFormat: only application/fhir+ndjson is offered")
			}
		default:
			if !lax {
				return nil, since, apperr.Ef(apperr.Invalid, "$export parameter %q is not supported (send Prefer: handling=lenient to ignore it)", safeParam(name))
			}
		}
	}
	if len(types) == 0 {
		types = fhir.ExportTypes()
	}
	// The order a loader reads them in.
	slices.SortFunc(types, func(a, b string) int {
		return slices.Index(fhir.ExportTypes(), a) - slices.Index(fhir.ExportTypes(), b)
	})
	return types, since, nil
}

func (h *Handler) runExport(ctx context.Context, job *exportJob) {
	defer h.jobsWG.Done()
	counts, err := h.export(ctx, job)
	h.exportMu.Lock()
	defer h.exportMu.Unlock()
	job.cancel()
	job.finished = h.deps.Now()
	job.counts = counts
	switch {
	case job.deleted:
		os.RemoveAll(job.dir)
		return
	case err != nil:
		job.state, job.err = jobFailed, err
		if apperr.KindOf(err) == apperr.Internal {
			h.deps.Log.Error("export failed", "job", job.id, "err", err)
		}
	default:
		job.state = jobDone
		h.deps.Log.Info("export finished", "job", job.id, "people", job.done)
	}
}

// export writes the job's files and returns the count of each type.
func (h *Handler) export(ctx context.Context, job *exportJob) (map[string]int, error) {
	total, err := h.deps.Store.CountPeople(ctx, query.People{})
	if err != nil {
		return nil, err
	}
	h.exportMu.Lock()
	job.total = total
	h.exportMu.Unlock()
	w, err := fhir.NewNDJSONWriter(job.dir)
	if err != nil {
		return nil, err
	}
	defer w.Abort()
	want := map[string]bool{}
	for _, t := range job.types {
		want[t] = true
	}
	if want[fhir.TypeOrganization] || want[fhir.TypePractitioner] || want[fhir.TypePractitionerRole] || want[fhir.TypeCareTeam] {
		d, err := h.deps.Store.Directory(ctx)
		if err != nil {
			return nil, err
		}
		// The directory has no update times: with _since it is sent whole.
		if !want[fhir.TypeOrganization] {
			d.Organisations = nil
		}
		if !want[fhir.TypePractitioner] && !want[fhir.TypePractitionerRole] {
			d.Professionals = nil
		}
		if !want[fhir.TypeCareTeam] {
			d.Teams, d.Members = nil, nil
		}
		if err := w.WriteDirectory(d); err != nil {
			return nil, err
		}
	}
	var after int64
	for {
		if err := ctx.Err(); err != nil {
			return nil, apperr.Wrap(apperr.Unavailable, err, "export cancelled")
		}
		b, err := h.deps.Store.RecordBatch(ctx, after, exportBatch)
		if err != nil {
			return nil, err
		}
		if len(b.People) == 0 {
			break
		}
		after = b.People[len(b.People)-1].ID
		n := len(b.People)
		keepExported(b, want, job.since)
		if err := w.WriteBatch(b); err != nil {
			return nil, err
		}
		h.exportMu.Lock()
		job.done += n
		h.exportMu.Unlock()
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return w.Counts(), nil
}

// keepExported drops from b the types not asked for and, with since, the
// rows received at or before it.
func keepExported(b *record.Batch, want map[string]bool, since time.Time) {
	if !want[fhir.TypePatient] {
		b.People, b.Identities = nil, nil
	}
	if !want[fhir.TypeCareTeam] {
		b.TeamLinks = nil
	}
	if !want[fhir.TypeEncounter] {
		b.Encounters = nil
	}
	if !want[fhir.TypeCondition] {
		b.Conditions = nil
	}
	if !want[fhir.TypeObservation] {
		b.Observations = nil
	}
	if !want[fhir.TypeMedicationRequest] {
		b.Medications = nil
	}
	if !want[fhir.TypeImmunization] {
		b.Immunisations = nil
	}
	if !want[fhir.TypeProcedure] {
		b.Procedures = nil
	}
	if since.IsZero() {
		return
	}
	old := func(t time.Time) bool { return !t.After(since) }
	b.People = slices.DeleteFunc(b.People, func(x registry.Person) bool { return old(x.ReceivedAt) })
	b.TeamLinks = slices.DeleteFunc(b.TeamLinks, func(x registry.CareTeamLink) bool { return old(x.ReceivedAt) })
	b.Encounters = slices.DeleteFunc(b.Encounters, func(x record.Encounter) bool { return old(x.ReceivedAt) })
	b.Conditions = slices.DeleteFunc(b.Conditions, func(x record.Condition) bool { return old(x.ReceivedAt) })
	b.Observations = slices.DeleteFunc(b.Observations, func(x record.Observation) bool { return old(x.ReceivedAt) })
	b.Medications = slices.DeleteFunc(b.Medications, func(x record.Medication) bool { return old(x.ReceivedAt) })
	b.Immunisations = slices.DeleteFunc(b.Immunisations, func(x record.Immunisation) bool { return old(x.ReceivedAt) })
	b.Procedures = slices.DeleteFunc(b.Procedures, func(x record.Procedure) bool { return old(x.ReceivedAt) })
}

// reap removes jobs older than jobTTL, cancelling one still running.
func (h *Handler) reap(now time.Time) {
	h.exportMu.Lock()
	defer h.exportMu.Unlock()
	for id, j := range h.jobs {
		if now.Sub(j.started) < jobTTL {
			continue
		}
		delete(h.jobs, id)
		if j.state == jobRunning {
			j.deleted = true
			if j.cancel != nil {
				j.cancel()
			}
			continue
		}
		os.RemoveAll(j.dir)
	}
}

// jobFor finds the request's job: the caller must still pass CanExport
// and be the client that started it; anyone else is told it does not
// exist.
func (h *Handler) jobFor(r *http.Request) (*exportJob, error) {
	ctx := r.Context()
	if err := h.deps.Guard.CanExport(ctx); err != nil {
		return nil, err
	}
	h.reap(h.deps.Now())
	p, ok := auth.FromContext(ctx)
	h.exportMu.Lock()
	job := h.jobs[r.PathValue("job")]
	h.exportMu.Unlock()
	if job == nil || !ok || p.Name != job.owner {
		return nil, apperr.E(apperr.NotFound, "no such export job (it may have been deleted or expired)")
	}
	return job, nil
}

// manifest is the Bulk Data complete-status body.
type manifest struct {
	TransactionTime     string           `json:"transactionTime"`
	Request             string           `json:"request"`
	RequiresAccessToken bool             `json:"requiresAccessToken"`
	Output              []manifestOutput `json:"output"`
	Error               []manifestOutput `json:"error"`
}

type manifestOutput struct {
	Type  string `json:"type"`
	URL   string `json:"url"`
	Count int    `json:"count"`
}

// outputs lists the job's non-empty files of the types asked for.
func (j *exportJob) outputs() []string {
	var out []string
	for _, t := range j.types {
		if j.counts[t] > 0 {
			out = append(out, t)
		}
	}
	return out
}

// handleExportStatus: GET [base]/$export-status/[job].
func (h *Handler) handleExportStatus(w http.ResponseWriter, r *http.Request) error {
	job, err := h.jobFor(r)
	if err != nil {
		return err
	}
	h.exportMu.Lock()
	state, done, total, jerr := job.state, job.done, job.total, job.err
	h.exportMu.Unlock()
	switch state {
	case jobRunning:
		progress := "writing"
		if total > 0 {
			progress = strconv.Itoa(done*100/total) + "% (" + strconv.Itoa(done) + " of " + strconv.Itoa(total) + " people)"
		}
		w.Header().Set("X-Progress", progress)
		w.Header().Set("Retry-After", "5")
		w.WriteHeader(http.StatusAccepted)
		return nil
	case jobFailed:
		if apperr.KindOf(jerr) == apperr.Internal {
			return apperr.Wrap(apperr.Internal, jerr, "export failed")
		}
		return &statusError{status: http.StatusInternalServerError, code: "exception", msg: "export failed: " + apperr.Message(jerr), err: jerr}
	}
	base := h.base(r)
	m := manifest{TransactionTime: fhir.Instant(job.started), Request: job.request, RequiresAccessToken: true,
		Output: []manifestOutput{}, Error: []manifestOutput{}}
	for _, t := range job.outputs() {
		m.Output = append(m.Output, manifestOutput{Type: t, URL: base + "/$export-file/" + job.id + "/" + t + ".ndjson", Count: job.counts[t]})
	}
	b, err := json.Marshal(m)
	if err != nil {
		return apperr.Wrap(apperr.Internal, err, "encoding the export manifest")
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Expires", job.started.Add(jobTTL).UTC().Format(http.TimeFormat))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	return nil
}

// handleExportDelete: DELETE [base]/$export-status/[job] cancels the job
// and removes its files.
func (h *Handler) handleExportDelete(w http.ResponseWriter, r *http.Request) error {
	job, err := h.jobFor(r)
	if err != nil {
		return err
	}
	h.exportMu.Lock()
	delete(h.jobs, job.id)
	running := job.state == jobRunning
	if running {
		job.deleted = true
		if job.cancel != nil {
			job.cancel()
		}
	}
	h.exportMu.Unlock()
	if !running {
		if err := os.RemoveAll(job.dir); err != nil {
			return apperr.Wrap(apperr.Internal, err, "removing an export's files")
		}
	}
	h.deps.Log.Info("export deleted", "job", job.id)
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// handleExportFile: GET [base]/$export-file/[job]/[Type].ndjson.
func (h *Handler) handleExportFile(w http.ResponseWriter, r *http.Request) error {
	job, err := h.jobFor(r)
	if err != nil {
		return err
	}
	h.exportMu.Lock()
	state := job.state
	var outputs []string
	if state == jobDone {
		outputs = job.outputs()
	}
	h.exportMu.Unlock()
	name := r.PathValue("file")
	typ, ok := strings.CutSuffix(name, ".ndjson")
	if !ok || !slices.Contains(outputs, typ) {
		return apperr.E(apperr.NotFound, "no such file in this export")
	}
	f, err := os.Open(filepath.Join(job.dir, typ+".ndjson"))
	if err != nil {
		return apperr.Wrap(apperr.NotFound, err, "the export's file is gone")
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return apperr.Wrap(apperr.Internal, err, "reading an export file")
	}
	w.Header().Set("Content-Type", "application/fhir+ndjson")
	w.Header().Set("Cache-Control", "no-store")
	http.ServeContent(w, r, "", st.ModTime(), f)
	return nil
}
