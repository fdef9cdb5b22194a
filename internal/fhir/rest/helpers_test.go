package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/fhir/fhirschema"
	"github.com/wholecare/wholecare/internal/ingest"
	"github.com/wholecare/wholecare/internal/sqlstore"
	"github.com/wholecare/wholecare/internal/synth"
)

var _ Store = (*sqlstore.DB)(nil)
var _ Ingester = (*ingest.Service)(nil)

// testNow is the clock of every test: the generated population's history
// ends on it.
var testNow = time.Date(2025, 4, 1, 10, 0, 0, 0, time.UTC)

// testPeople is the size of the generated population: enough for paging
// and every resource type, small enough for a shared 2-core machine.
const testPeople = 300

// sharedDataDir finds the shared external test data: WHOLECARE_SHARED_DATA,
// or ../../../../shared/data from this package (the workspace layout).
func sharedDataDir() string {
	if d := os.Getenv("WHOLECARE_SHARED_DATA"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "..", "..", "shared", "data")
}

var loadSchema = sync.OnceValues(func() (*fhirschema.Validator, error) {
	return fhirschema.LoadFile(filepath.Join(sharedDataDir(), "fhir-r4", "schema", "fhir.schema.json"))
})

// schemaOrNil is the R4 schema validator, nil when the shared data is not
// there (responses are then not validated; TestResponsesValidate skips).
func schemaOrNil(t testing.TB) *fhirschema.Validator {
	t.Helper()
	v, err := loadSchema()
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatalf("loading FHIR schema: %v", err)
	}
	return v
}

// validated counts the responses checked against the schema, by
// resourceType (and bundle type), for TestResponsesValidate.
var validated sync.Map // string → *atomic.Int64

func countValidated(kind string) {
	c, _ := validated.LoadOrStore(kind, new(atomic.Int64))
	c.(*atomic.Int64).Add(1)
}

// template is a migrated SQLite file with the generated population, made
// once per test binary; each fixture works on a copy of it.
var template = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "wholecare-rest-test-")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "template.db")
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, "sqlite:"+path, nil)
	if err != nil {
		return "", err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return "", err
	}
	spec := synth.Spec{Seed: 11, People: testPeople, ChunkSize: 150, Now: time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC), Version: synth.Version}
	if _, err := synth.Load(ctx, db, spec, false, nil); err != nil {
		return "", err
	}
	return path, nil
})

func TestMain(m *testing.M) {
	code := m.Run()
	if path, err := template(); err == nil {
		os.RemoveAll(filepath.Dir(path))
	}
	os.Exit(code)
}

// mustStore opens a private copy of the populated template.
func mustStore(t testing.TB) *sqlstore.DB {
	t.Helper()
	src, err := template()
	if err != nil {
		t.Fatalf("building the test population: %v", err)
	}
	raw, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "test.db")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := sqlstore.Open(context.Background(), "sqlite:"+path, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// accessCall is one Guard.Accessed call.
type accessCall struct {
	Action, Type string
	People       []int64 // nil: population-wide
}

// fakeGuard allows the people in allow (every person when allow is nil);
// others are NotFound, or Forbidden when listed in forbid. Audit entries
// are readable as the people they are about are, and all of them by a
// privacy officer (auditAll).
type fakeGuard struct {
	mu           sync.Mutex
	allow        map[int64]bool
	forbid       map[int64]bool
	readsAll     bool
	canWrite     bool
	canExport    bool
	auditAll     bool
	failAccessed bool
	calls        []accessCall
	auditReads   []int64 // CanReadAudit's people, allowed or not
}

func (g *fakeGuard) may(person int64) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.allow == nil || g.allow[person]
}

func (g *fakeGuard) CanRead(ctx context.Context, person int64, typ string) error {
	if g.may(person) {
		return nil
	}
	if g.forbid[person] {
		return apperr.E(apperr.Forbidden, "you may not see this person's record")
	}
	return apperr.Ef(apperr.NotFound, "no %s data for this person", typ)
}

func (g *fakeGuard) Visible(ctx context.Context, people []int64, typ string) ([]int64, error) {
	var out []int64
	for _, p := range people {
		if g.may(p) {
			out = append(out, p)
		}
	}
	return out, nil
}

func (g *fakeGuard) ReadsAll(ctx context.Context, typ string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.readsAll
}

func (g *fakeGuard) CanWrite(ctx context.Context, typ string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.canWrite {
		return apperr.Ef(apperr.Forbidden, "this client may not write %s", typ)
	}
	return nil
}

func (g *fakeGuard) CanExport(ctx context.Context) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.canExport {
		return apperr.E(apperr.Forbidden, "this client may not export")
	}
	return nil
}

func (g *fakeGuard) Accessed(ctx context.Context, action, typ string, people []int64) error {
	if _, ok := auth.FromContext(ctx); !ok {
		return fmt.Errorf("Accessed without a principal")
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.failAccessed {
		return fmt.Errorf("audit log unavailable")
	}
	g.calls = append(g.calls, accessCall{action, typ, slices.Clone(people)})
	return nil
}

func (g *fakeGuard) CanReadAudit(ctx context.Context, person int64) error {
	if _, ok := auth.FromContext(ctx); !ok {
		return fmt.Errorf("CanReadAudit without a principal")
	}
	g.mu.Lock()
	all := g.auditAll
	g.auditReads = append(g.auditReads, person)
	g.mu.Unlock()
	switch {
	case all:
		return nil
	case person == 0:
		return apperr.E(apperr.Forbidden, "only a privacy officer may read the audit log")
	}
	return g.CanRead(ctx, person, "AuditEvent")
}

// takeAuditReads returns and forgets the CanReadAudit people so far.
func (g *fakeGuard) takeAuditReads() []int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	c := g.auditReads
	g.auditReads = nil
	return c
}

// takeCalls returns and forgets the Accessed calls so far.
func (g *fakeGuard) takeCalls() []accessCall {
	g.mu.Lock()
	defer g.mu.Unlock()
	c := g.calls
	g.calls = nil
	return c
}

func (g *fakeGuard) set(f func(g *fakeGuard)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	f(g)
}

// fixture is a handler over a private populated store, served on
// loopback, with a principal put in every request's context.
type fixture struct {
	db     *sqlstore.DB
	guard  *fakeGuard
	h      *Handler
	srv    *httptest.Server
	schema *fhirschema.Validator
}

// principalHeader names the test principal of a request ("client-a" when
// absent); the real edge authenticates instead.
const principalHeader = "X-Test-Principal"

// roleHeader and scopeHeader give the test principal a role and, for a
// system client, token scopes.
const (
	roleHeader  = "X-Test-Role"
	scopeHeader = "X-Test-Scope"
)

func newFixture(t testing.TB, g *fakeGuard, tweak ...func(d *Deps)) *fixture {
	t.Helper()
	db := mustStore(t)
	if g == nil {
		g = &fakeGuard{}
	}
	d := Deps{
		Store: db, Guard: g, Ingest: ingest.New(db), Log: slog.New(slog.DiscardHandler),
		Now: func() time.Time { return testNow }, Base: Prefix, ExportDir: filepath.Join(t.TempDir(), "exports"),
	}
	for _, f := range tweak {
		f(&d)
	}
	h := New(d)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.Header.Get(principalHeader)
		if name == "" {
			name = "client-a"
		}
		p := &auth.Principal{Name: name, Via: auth.ViaToken}
		// Routes that are not about one person (the protocol library) ask
		// the principal's role and scopes themselves.
		if role := r.Header.Get(roleHeader); role != "" {
			p.Role = auth.Role(role)
			if role != string(auth.SystemClient) {
				p.Via = auth.ViaSession
			}
		}
		if sc := r.Header.Get(scopeHeader); sc != "" {
			p.Scopes, _ = auth.ParseScopes(sc)
		}
		h.ServeHTTP(w, r.WithContext(auth.WithPrincipal(r.Context(), p)))
	}))
	t.Cleanup(func() {
		srv.Close()
		h.Close()
	})
	return &fixture{db: db, guard: g, h: h, srv: srv, schema: schemaOrNil(t)}
}

// response is what a request got.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response is not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

// bundle decodes a Bundle response.
func (r response) bundle(t testing.TB) testBundle {
	t.Helper()
	var b testBundle
	if err := json.Unmarshal(r.body, &b); err != nil {
		t.Fatalf("response is not a Bundle: %v\n%s", err, r.body)
	}
	if b.ResourceType != "Bundle" {
		t.Fatalf("response is a %s, not a Bundle: %s", b.ResourceType, r.body)
	}
	return b
}

type testBundle struct {
	ResourceType string `json:"resourceType"`
	Type         string `json:"type"`
	Total        *int   `json:"total"`
	Link         []struct {
		Relation string `json:"relation"`
		URL      string `json:"url"`
	} `json:"link"`
	Entry []struct {
		FullURL  string          `json:"fullUrl"`
		Resource json.RawMessage `json:"resource"`
		Search   *struct {
			Mode string `json:"mode"`
		} `json:"search"`
		Response *struct {
			Status   string          `json:"status"`
			Location string          `json:"location"`
			Outcome  json.RawMessage `json:"outcome"`
		} `json:"response"`
	} `json:"entry"`
}

func (b testBundle) link(rel string) string {
	for _, l := range b.Link {
		if l.Relation == rel {
			return l.URL
		}
	}
	return ""
}

// ids lists "Type/id" of the entries with search mode mode ("" for all).
func (b testBundle) ids(t testing.TB, mode string) []string {
	t.Helper()
	var out []string
	for _, e := range b.Entry {
		if mode != "" && (e.Search == nil || e.Search.Mode != mode) {
			continue
		}
		var r struct {
			ResourceType string `json:"resourceType"`
			ID           string `json:"id"`
		}
		if err := json.Unmarshal(e.Resource, &r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r.ResourceType+"/"+r.ID)
	}
	return out
}

// do sends a request and checks every FHIR JSON response against the R4
// schema and the FHIR JSON rules.
func (f *fixture) do(t testing.TB, method, path string, body []byte, header ...string) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	u := path
	if !strings.HasPrefix(u, "http") {
		u = f.srv.URL + path
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := response{status: res.StatusCode, header: res.Header, body: b}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/fhir+json") {
		f.validate(t, method+" "+path, b)
	}
	return r
}

func (f *fixture) get(t testing.TB, path string, header ...string) response {
	t.Helper()
	return f.do(t, http.MethodGet, path, nil, header...)
}

func (f *fixture) validate(t testing.TB, what string, raw []byte) {
	t.Helper()
	if f.schema == nil {
		return
	}
	errs := f.schema.Validate(raw)
	errs = append(errs, fhirschema.JSONRules(raw)...)
	if len(errs) > 0 {
		n := min(len(errs), 5)
		t.Errorf("%s: response breaks the R4 schema (%d problems): %s", what, len(errs), strings.Join(errs[:n], "; "))
		return
	}
	var head struct {
		ResourceType string `json:"resourceType"`
		Type         string `json:"type"`
	}
	_ = json.Unmarshal(raw, &head)
	kind := head.ResourceType
	if head.Type != "" && kind == "Bundle" {
		kind += ":" + head.Type
	}
	countValidated(kind)
}

// wantStatus fails unless r has the status; for an error it checks the
// OperationOutcome's code.
func wantStatus(t testing.TB, r response, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if status >= 400 {
		m := r.json(t)
		if m["resourceType"] != "OperationOutcome" {
			t.Fatalf("error body is not an OperationOutcome: %s", r.body)
		}
	}
}

// issue is the first issue of an OperationOutcome response.
func issue(t testing.TB, r response) Issue {
	t.Helper()
	var oo OperationOutcome
	if err := json.Unmarshal(r.body, &oo); err != nil || len(oo.Issue) == 0 {
		t.Fatalf("not an OperationOutcome with issues: %s", r.body)
	}
	return oo.Issue[0]
}
