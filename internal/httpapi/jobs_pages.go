package httpapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/jobs"
	"github.com/wholecare/wholecare/internal/web"
)

// Long work (recomputing the population, importing a file) runs as a job
// in s.deps.Jobs and these pages follow it. Who may do what:
//
//   - see the jobs and their progress: anyone who looks after data or the
//     population as a whole (administrators: ManageUsers; team leads,
//     provider managers, commissioners and analysts: ReadAggregates). A
//     job shows counts and error positions, never person data.
//   - recompute the population: administrators, team leads and
//     commissioners, who answer for the figures it refreshes.
//   - import a FHIR file: administrators only; they look after data
//     sources, and an import writes people's records.
//   - cancel: whoever started the job, or an administrator.

// importMaxBytes is the largest file an import job takes through the page
// (bodyLimit allows it for POST /jobs/import only).
const importMaxBytes = 256 << 20

func jobsMayView(r auth.Role) bool {
	return access.Has(r, access.ManageUsers) || access.Has(r, access.ReadAggregates)
}

func jobsMayRecompute(r auth.Role) bool {
	return r == auth.Administrator || r == auth.TeamLead || r == auth.Commissioner
}

func jobsMayImport(r auth.Role) bool { return r == auth.Administrator }

// jobsCaller is the signed-in caller when may allows their role.
func jobsCaller(r *http.Request, may func(auth.Role) bool) (*auth.Principal, error) {
	p, ok := auth.FromContext(r.Context())
	if !ok {
		return nil, apperr.E(apperr.Unauthenticated, "sign in first")
	}
	if !may(p.Role) {
		return nil, apperr.Ef(apperr.Forbidden, "your role (%s) may not do this", web.RoleLabel(p.Role))
	}
	return p, nil
}

func (s *Server) jobsPageRoutes() {
	s.page("GET /jobs", permitted, s.handleJobsPage())
	s.page("GET /jobs/{id}", permitted, s.handleJobPage())
	s.page("POST /jobs/{id}/cancel", permitted, s.handleCancelJob())
	if s.deps.Population != nil {
		s.page("POST /jobs/recompute", permitted, s.handleStartRecompute())
	}
	if s.deps.Ingest != nil {
		s.page("POST /jobs/import", permitted, s.handleStartImport())
	}
}

var jobNotices = map[string]string{
	"cancelled": "Asked the job to stop. It stops at its next step; what it finished stays done.",
}

var jobErrors = map[string]string{
	"finished":  "That job has already ended, so there is nothing to cancel.",
	"no-file":   "Choose a file to import: Bulk Data NDJSON (.ndjson) or a FHIR Bundle (.json).",
	"file-type": "The file must end .ndjson (one resource a line) or .json (a Bundle or one resource).",
	"too-big":   "The file is over 256 MB. Split it, or use the command line: wholecare import.",
	"source":    "The source name must look like fhir:NAME, for example fhir:gp-emis, with letters, digits, '.', '-' or '_'.",
}

// jobView is one job as the pages show it.
type jobView struct {
	jobs.Job
	Href      string
	StateText string
	Tag       string // the tag colour of the state
	Progress  string // "12,345 of 100,000 people (12%) — about 40 s left"
	Took      string
	CanCancel bool
}

// jobStates are each state's words and tag colour.
var jobStates = map[jobs.State][2]string{
	jobs.Queued: {"Waiting to start", "grey"}, jobs.Running: {"Running", "blue"}, jobs.Done: {"Done", "green"},
	jobs.Failed: {"Failed", "red"}, jobs.Cancelled: {"Cancelled", "amber"},
}

func jobViewOf(j jobs.Job, p *auth.Principal) jobView {
	v := jobView{Job: j, Href: "/jobs/" + j.ID.String()}
	st := jobStates[j.State]
	v.StateText, v.Tag = st[0], st[1]
	v.Progress = progressText(j)
	if !j.Started.IsZero() && !j.Ended.IsZero() {
		v.Took = roughDuration(j.Ended.Sub(j.Started))
	}
	v.CanCancel = !j.State.Finished() && p != nil && (p.Name == j.Owner || p.Role == auth.Administrator)
	return v
}

// progressText says how far a job has got in words.
func progressText(j jobs.Job) string {
	unit := j.Unit
	if unit == "" {
		unit = "steps"
	}
	var b strings.Builder
	switch {
	case j.Total > 0:
		b.WriteString(web.Thousands(j.Done) + " of " + web.Thousands(j.Total) + " " + unit + " (" + strconv.Itoa(j.Percent()) + "%)")
	case j.Done > 0:
		b.WriteString(web.Thousands(j.Done) + " " + unit)
	case j.State == jobs.Queued:
		return "Not started yet: it waits for the job before it to finish."
	default:
		return ""
	}
	if j.State == jobs.Running && j.Left > 0 {
		b.WriteString(" — about " + roughDuration(j.Left) + " left")
	}
	if j.Rate > 0 {
		b.WriteString(", " + web.Thousands(int64(j.Rate+0.5)) + " " + unit + " a second")
	}
	return b.String()
}

// roughDuration is a duration as people say it: "40 s", "3 min", "1 h 5 min".
func roughDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return "under a second"
	case d < time.Minute:
		return strconv.Itoa(int(d.Round(time.Second)/time.Second)) + " s"
	case d < time.Hour:
		return strconv.Itoa(int(d.Round(time.Minute)/time.Minute)) + " min"
	}
	d = d.Round(time.Minute)
	return strconv.Itoa(int(d/time.Hour)) + " h " + strconv.Itoa(int(d%time.Hour/time.Minute)) + " min"
}

type jobsListView struct {
	Jobs                   []jobView
	Running                bool
	CanRecompute           bool
	CanImport              bool
	MaxMB                  int
	PopulationOK, IngestOK bool
}

func (s *Server) handleJobsPage() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := jobsCaller(r, jobsMayView)
		if err != nil {
			return err
		}
		v := jobsListView{CanRecompute: jobsMayRecompute(p.Role) && s.deps.Population != nil,
			CanImport: jobsMayImport(p.Role) && s.deps.Ingest != nil, MaxMB: importMaxBytes >> 20}
		for _, j := range s.deps.Jobs.List() {
			v.Jobs = append(v.Jobs, jobViewOf(j, p))
			v.Running = v.Running || !j.State.Finished()
		}
		pg := s.frame(r, "Jobs", web.SecJobs, web.Crumb{Label: "Jobs"})
		pg.Notice, pg.Error = jobNotices[r.URL.Query().Get("done")], jobErrors[r.URL.Query().Get("error")]
		if v.Running {
			pg.Refresh = 5
		}
		pg.Data = v
		s.render(w, r, http.StatusOK, "jobs-list", pg)
		return nil
	}
}

func (s *Server) jobOf(r *http.Request) (jobs.Job, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return jobs.Job{}, err
	}
	j, ok := s.deps.Jobs.Get(jobs.ID(id))
	if !ok {
		return jobs.Job{}, apperr.E(apperr.NotFound, "no such job: the list keeps the most recent 50, and none after a restart")
	}
	return j, nil
}

func (s *Server) handleJobPage() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := jobsCaller(r, jobsMayView)
		if err != nil {
			return err
		}
		j, err := s.jobOf(r)
		if err != nil {
			return err
		}
		v := jobViewOf(j, p)
		pg := s.frame(r, j.Kind, web.SecJobs, web.Crumb{Label: "Jobs", Href: "/jobs"}, web.Crumb{Label: "Job " + j.ID.String()})
		pg.Notice, pg.Error = jobNotices[r.URL.Query().Get("done")], jobErrors[r.URL.Query().Get("error")]
		if !j.State.Finished() {
			pg.Refresh = 2
		}
		pg.Data = v
		s.render(w, r, http.StatusOK, "jobs-job", pg)
		return nil
	}
}

func (s *Server) handleCancelJob() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := jobsCaller(r, jobsMayView)
		if err != nil {
			return err
		}
		j, err := s.jobOf(r)
		if err != nil {
			return err
		}
		if p.Name != j.Owner && p.Role != auth.Administrator {
			return apperr.E(apperr.Forbidden, "only whoever started a job, or an administrator, may cancel it")
		}
		to := "/jobs/" + j.ID.String()
		if !s.deps.Jobs.Cancel(j.ID) {
			http.Redirect(w, r, to+"?error=finished", http.StatusSeeOther)
			return nil
		}
		http.Redirect(w, r, to+"?done=cancelled", http.StatusSeeOther)
		return nil
	}
}

// handleStartRecompute recomputes everyone's indices, segments and risk
// as of now in the population engine (population.Engine.Recompute), which
// reports people done as it goes.
func (s *Server) handleStartRecompute() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := jobsCaller(r, jobsMayRecompute)
		if err != nil {
			return err
		}
		if err := s.deps.Policy.Record(r.Context(), access.AdminEvent(p, "job-recompute", "", 0, s.deps.Now())); err != nil {
			return err
		}
		pop, now := s.deps.Population, s.deps.Now
		id := s.deps.Jobs.Start("Recompute the population", p.Name, "people", func(ctx context.Context, rep jobs.Reporter) error {
			rep.Phase("Waiting for the population to be loaded")
			eng, err := pop.Engine()
			if err != nil {
				return err
			}
			// Rows counts everyone the engine has placed, including
			// records removed since it was built: Recompute steps over
			// the same rows, so done reaches total.
			st := eng.Stats()
			total := int64(st.Rows)
			rep.Phase("Placing everyone in segments and scoring them as of today")
			rep.Progress(0, total)
			err = eng.Recompute(ctx, now(), func(done int) { rep.Progress(int64(done), total) })
			if err != nil {
				return err
			}
			after := eng.Stats()
			rep.Phase("")
			rep.Summary([]jobs.Line{{Label: "People placed", Value: web.Thousands(int64(after.People))},
				{Label: "As of", Value: now().Format("2 Jan 2006 15:04")}})
			return nil
		})
		http.Redirect(w, r, "/jobs/"+id.String(), http.StatusSeeOther)
		return nil
	}
}

// handleStartImport takes an uploaded FHIR file, keeps it in a temporary
// file (the request's own is gone when it ends) and imports it as a job.
func (s *Server) handleStartImport() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := jobsCaller(r, jobsMayImport)
		if err != nil {
			return err
		}
		back := func(code string) error {
			http.Redirect(w, r, "/jobs?error="+code, http.StatusSeeOther)
			return nil
		}
		if err := r.ParseMultipartForm(32 << 20); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return back("too-big")
			}
			return back("no-file")
		}
		source := strings.TrimSpace(r.PostFormValue("source"))
		if source == "" {
			source = "fhir:import"
		}
		if !validSource(source) {
			return back("source")
		}
		f, h, err := r.FormFile("file")
		if err != nil {
			return back("no-file")
		}
		defer f.Close()
		name := filepath.Base(h.Filename)
		if l := strings.ToLower(name); !strings.HasSuffix(l, ".ndjson") && !strings.HasSuffix(l, ".json") {
			return back("file-type")
		}
		tmp, err := os.CreateTemp("", "wholecare-import-*")
		if err != nil {
			return err
		}
		if _, err := io.Copy(tmp, io.LimitReader(f, importMaxBytes+1)); err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			return err
		}
		if err := tmp.Close(); err != nil {
			os.Remove(tmp.Name())
			return err
		}
		ev := access.AdminEvent(p, "job-import", "", 0, s.deps.Now())
		ev.Detail = "source " + source
		if err := s.deps.Policy.Record(r.Context(), ev); err != nil {
			os.Remove(tmp.Name())
			return err
		}
		id := s.deps.Jobs.Start("Import "+name, p.Name, "resources", s.importJob(tmp.Name(), name, source))
		http.Redirect(w, r, "/jobs/"+id.String(), http.StatusSeeOther)
		return nil
	}
}

// validSource accepts fhir:NAME with a plain name, as the command line does.
func validSource(s string) bool {
	name, ok := strings.CutPrefix(s, "fhir:")
	if !ok || name == "" || len(name) > 64 {
		return false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
