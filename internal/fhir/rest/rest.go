// Package rest is Wholecare's FHIR R4 REST API (application/fhir+json): the
// CapabilityStatement, read and search of Patient and the record's resource
// types, of people's Consent records and of the audit log as AuditEvents,
// of stored risk scores as RiskAssessments and of saved cohorts as Groups,
// Patient/$everything, transaction and batch bundles, and the system-level
// Bulk Data $export.
//
// Every response that carries person data goes through the Guard first
// (CanRead, Visible or ReadsAll) and is recorded with Guard.Accessed, with
// exactly the people whose data it holds, before a byte of it is written;
// searches count only what the caller may see. The audit log is the
// exception: Guard.CanReadAudit both decides and records the reading.
// Errors are OperationOutcomes with the status their kind says, made in one
// place (outcome.go).
//
// The package must never log person data (names, NHS numbers, codes,
// values, search parameter values): log lines carry the route pattern,
// resource types, ids and error kinds only.
package rest

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/audit"
	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/caregaps"
	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/directory"
	"github.com/wholecare/wholecare/internal/fhir"
	"github.com/wholecare/wholecare/internal/fhir/query"
	"github.com/wholecare/wholecare/internal/ingest"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/registry"
)

// Guard decides what the caller in ctx (auth.FromContext) may see and do, and records it in the audit log.
type Guard interface {
	// CanRead returns nil when the caller may read resourceType data of the person; otherwise an apperr error:
	// Forbidden (the caller knows the person exists but may not see them) or NotFound (hide existence).
	CanRead(ctx context.Context, personID int64, resourceType string) error
	// Visible keeps, in order, the people whose resourceType data the caller may read.
	Visible(ctx context.Context, personIDs []int64, resourceType string) ([]int64, error)
	// ReadsAll reports whether the caller may read resourceType for every person (a system/*.read token),
	// so a population-wide search needs no per-person filter.
	ReadsAll(ctx context.Context, resourceType string) bool
	// CanWrite returns nil when the caller may create/update resourceType through the API (system/X.write).
	CanWrite(ctx context.Context, resourceType string) error
	// CanExport returns nil when the caller may run a system-level bulk export.
	CanExport(ctx context.Context) error
	// Accessed records in the audit log that the caller performed action ("read", "search", "everything",
	// "create", "update", "export") on resourceType data of these people (nil = population-wide, e.g. an export).
	// Call it before writing the response; if it fails, answer 500 and do not send the data.
	Accessed(ctx context.Context, action, resourceType string, personIDs []int64) error
	// CanReadAudit returns nil when the caller may read the audit entries about the person (personID 0: about
	// anyone, which only a privacy officer may), and records the reading in the audit log itself, so no
	// Accessed call follows it. Otherwise an apperr error: Forbidden or NotFound, as for CanRead.
	CanReadAudit(ctx context.Context, personID int64) error
}

// Store is what the API reads; sqlstore.DB implements it.
type Store interface {
	// Patients returns the people among ids that exist, in id order, with their source identities.
	Patients(ctx context.Context, ids []int64) ([]registry.Person, []registry.SourceIdentity, error)
	// FindPeople returns the ids of the people matching q, in id order.
	FindPeople(ctx context.Context, q query.People) ([]int64, error)
	// CountPeople counts the people matching q.
	CountPeople(ctx context.Context, q query.People) (int, error)
	// SearchRows returns the rows matching q, in (person, id) order.
	SearchRows(ctx context.Context, q query.Rows) (*record.Batch, error)
	// CountRows counts the rows matching q.
	CountRows(ctx context.Context, q query.Rows) (int, error)
	// Row returns one row of the kind that exports as typ; NotFound when there is none.
	Row(ctx context.Context, typ string, person, id int64) (*record.Batch, error)
	// PersonRecord returns a person with every row of their record; NotFound when there is none.
	PersonRecord(ctx context.Context, id int64) (*record.Batch, error)
	// RowBySource finds the row of typ a source sent under ref.
	RowBySource(ctx context.Context, typ, source, ref string) (person, id int64, found bool, err error)
	// LinkIdentity records that source's local id names the person (NotFound, Conflict).
	LinkIdentity(ctx context.Context, person int64, source, local string, now time.Time) error
	// RecordBatch returns the next (at most n) people with ids above after, with their records.
	RecordBatch(ctx context.Context, after int64, n int) (*record.Batch, error)
	// Directory returns the whole directory.
	Directory(ctx context.Context) (*directory.Directory, error)
	// Consents lists a person's consent records, oldest first; none for a person who does not exist.
	Consents(ctx context.Context, personID int64) ([]access.Consent, error)
	// AuditEvents lists the audit log entries matching f, newest first.
	AuditEvents(ctx context.Context, f audit.Filter) ([]audit.Event, error)
	// UserByName finds a user by sign-in name (an AuditEvent search's agent); NotFound when there is none.
	UserByName(ctx context.Context, name string) (auth.User, error)
}

// Ingester applies items; (*ingest.Service).Apply is one.
type Ingester interface {
	Apply(ctx context.Context, items []ingest.Item, atomic bool, now time.Time) (ingest.Result, error)
}

// Deps are the handler's dependencies, wired in run.
type Deps struct {
	Store  Store
	Guard  Guard
	Ingest Ingester
	Log    *slog.Logger
	Now    func() time.Time
	// Base is the absolute base URL ("https://host/fhir/R4") or the path
	// prefix ("/fhir/R4") that links in responses start with; with a path,
	// links are made absolute from the request's host.
	Base string
	// ExportDir holds the bulk export jobs' files, one directory per job.
	ExportDir string
	// MaxBody bounds a request body in bytes (DefaultMaxBody when 0).
	MaxBody int64
	// Matcher is record linkage's index of the registry, for
	// Patient/$match; nil answers 501.
	Matcher Matcher
	// Protocols is the care protocol library, served as PlanDefinition
	// with $apply (which reads the record with the code lists in Codes);
	// nil for none.
	Protocols Protocols
	Codes     *codes.Set
	// CareGaps are the care-gap indicators, served as Measure
	// $evaluate-measure and $care-gaps on the engine from Population; nil
	// for none.
	CareGaps *caregaps.Set
	// CarePlans reads personalised care and support plans, served as
	// CarePlan and Goal; nil for none.
	CarePlans Plans
	// PlanWriter, with CarePlans, takes CarePlan creates and Goal updates
	// from system clients with write scopes; nil: read only.
	PlanWriter PlanWriter
	// Alerts serves alerts as Task (and open urgent and high ones as
	// Flag); nil for none.
	Alerts AlertStore
	// Scores serves stored risk scores as RiskAssessment; nil: the type
	// is not offered.
	Scores ScoreStore
	// Cohorts and Population serve saved cohorts as Group; the type is
	// offered only with both.
	Cohorts    CohortStore
	Population Population
}

// Limits.
const (
	// Prefix is where the handler's routes live; the lead mounts it there.
	Prefix = "/fhir/R4"
	// DefaultMaxBody is the default bound on a request body.
	DefaultMaxBody = 32 << 20
	// DefaultCount and MaxCount bound a search page.
	DefaultCount = 50
	MaxCount     = 500
	// MaxCandidates is how many people a Patient search may find before
	// visibility is checked; a caller who does not read the whole population
	// must narrow a search that finds more.
	MaxCandidates = 1000
	// maxReferences bounds the patients one search may name.
	maxReferences = 100
)

// Handler serves the API. Its zero value is not usable; call New.
type Handler struct {
	deps  Deps
	mux   *http.ServeMux
	types map[string]*typeDef // what each resource type offers
	cap   []byte              // the CapabilityStatement, encoded once
	// maxCandidates is MaxCandidates; tests lower it.
	maxCandidates int

	exportMu sync.Mutex
	jobs     map[string]*exportJob
	jobsWG   sync.WaitGroup
}

// New builds the handler.
func New(d Deps) *Handler {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.MaxBody <= 0 {
		d.MaxBody = DefaultMaxBody
	}
	if d.Base == "" {
		d.Base = Prefix
	}
	for len(d.Base) > 1 && d.Base[len(d.Base)-1] == '/' {
		d.Base = d.Base[:len(d.Base)-1]
	}
	h := &Handler{deps: d, mux: http.NewServeMux(), types: typeDefs(), maxCandidates: MaxCandidates, jobs: make(map[string]*exportJob)}
	if d.Scores != nil {
		h.types[fhir.TypeRiskAssessment] = riskAssessmentType()
	}
	if d.Cohorts != nil && d.Population != nil {
		h.types[fhir.TypeGroup] = groupType()
	}

	extra := []CapResource{careTeamCap}
	if d.Protocols != nil && d.Codes != nil {
		extra = append(extra, planDefinitionCap)
	}
	if d.CarePlans != nil {
		caps := slices.Clone(planCaps)
		if d.PlanWriter != nil {
			caps[0].Interaction = append(slices.Clone(caps[0].Interaction), CapInteraction{Code: "create"}, CapInteraction{Code: "update"})
			caps[1].Interaction = append(slices.Clone(caps[1].Interaction), CapInteraction{Code: "create"}, CapInteraction{Code: "update"})
		}
		extra = append(extra, caps...)
	}
	if d.Alerts != nil {
		extra = append(extra, alertCaps...)
	}
	if d.CareGaps != nil && d.Population != nil {
		extra = append(extra, CapResource{Type: "Measure", Operation: measureOps})
	}
	h.cap = capabilityJSON(h.types, d.Now(), d.Base, extra...)
	h.routes()
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// Close cancels running export jobs and waits for them to stop; their
// partial files are removed. Finished jobs' files stay until deleted or
// reaped.
func (h *Handler) Close() {
	h.exportMu.Lock()
	for _, j := range h.jobs {
		if j.cancel != nil {
			j.cancel()
		}
	}
	h.exportMu.Unlock()
	h.jobsWG.Wait()
}
