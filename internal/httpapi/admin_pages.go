package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/audit"
	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/careplan/protocols"
	"github.com/wholecare/wholecare/internal/directory"
	"github.com/wholecare/wholecare/internal/web"
)

// UserAdmin is what the administration pages change of sign-ins
// (sqlstore.DB).
type UserAdmin interface {
	UserByName(ctx context.Context, name string) (auth.User, error)
	PutUser(ctx context.Context, u auth.User) (auth.User, error)
	SetUserDisabled(ctx context.Context, name string, disabled bool) (auth.User, error)
}

// adminPageRoutes registers the administration, record-linkage and jobs
// pages, each part only when the server has what it needs.
func (s *Server) adminPageRoutes() {
	if s.deps.Policy != nil && s.deps.Data != nil {
		s.page("GET /admin", permitted, s.handleAdminIndex())
		s.page("GET /admin/users", permitted, s.handleAdminUsers())
		if s.deps.Users != nil && s.deps.Auth != nil {
			s.page("POST /admin/users", permitted, s.handleAdminAddUser())
			s.page("POST /admin/users/status", permitted, s.handleAdminUserStatus())
		}
		s.page("GET /admin/break-glass", permitted, s.handleAdminGrants())
		s.page("POST /admin/break-glass/{id}/review", permitted, s.handleAdminReviewGrant())
		if s.deps.Audit != nil {
			s.page("GET /admin/audit", permitted, s.handleAdminAudit())
		}
		if s.deps.Directory != nil {
			s.page("GET /admin/organisations", permitted, s.handleAdminOrganisations())
			s.page("GET /admin/teams", permitted, s.handleAdminTeams())
		}
		if s.deps.Protocols != nil {
			s.page("GET /admin/protocols", permitted, s.handleAdminProtocols())
			s.page("POST /admin/protocols", permitted, s.handleAdminAddProtocol())
			s.page("GET /admin/protocols/{id}", permitted, s.handleAdminProtocol())
		}
		if s.deps.Reviews != nil {
			s.linkagePageRoutes()
		}
	}
	if s.deps.Jobs != nil && s.deps.Policy != nil {
		s.jobsPageRoutes()
	}
}

var adminCrumb = web.Crumb{Label: "Administration", Href: "/admin"}

// adminFrame starts an administration page with its notice and error from
// the fixed texts.
func (s *Server) adminFrame(r *http.Request, title string) *web.Page {
	p := s.frame(r, title, web.SecAdmin, adminCrumb, web.Crumb{Label: title})
	p.Notice, p.Error = adminNotices[r.URL.Query().Get("done")], adminErrors[r.URL.Query().Get("error")]
	return p
}

var adminNotices = map[string]string{
	"disabled": "The sign-in is disabled: its sessions have ended and its tokens no longer work.",
	"enabled":  "The sign-in is enabled again. Its old sessions stay ended.",
	"reviewed": "The review is recorded.",
	"added":    "The protocol version is stored and is now the current one.",
}

var adminErrors = map[string]string{
	"self":       "You cannot disable your own sign-in: ask another administrator.",
	"no-user":    "There is no sign-in of that name.",
	"note":       "Record what the review found before marking it reviewed.",
	"reviewed":   "That break-glass access has already been reviewed.",
	"no-grant":   "There is no break-glass access with that number.",
	"bad-person": "Person and user numbers are whole numbers.",
}

type adminArea struct {
	Href, Title, What string
}

func (s *Server) handleAdminIndex() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := access.Allow(r.Context(), access.ManageUsers)
		if err != nil {
			return err
		}
		var areas []adminArea
		add := func(ok bool, href, title, what string) {
			if ok {
				areas = append(areas, adminArea{href, title, what})
			}
		}
		has := func(perm access.Permission) bool { return access.Has(p.Role, perm) }
		add(true, "/admin/users", "Users", "Who can sign in, with what role and for which organisation; add, disable and enable sign-ins.")
		add(s.deps.Directory != nil, "/admin/organisations", "Organisations", "The practices, trusts and other organisations in the directory.")
		add(s.deps.Directory != nil, "/admin/teams", "Teams", "Care teams and how many professionals are in each.")
		add(s.deps.Protocols != nil && has(access.ManageProtocols), "/admin/protocols", "Care protocols", "The protocol library, with every version; add a revision.")
		add(has(access.ReviewBreakGlass), "/admin/break-glass", "Break-glass reviews", "Emergency accesses waiting for a review.")
		add(s.deps.Audit != nil && has(access.ReadAudit), "/admin/audit", "Audit log", "Who did what to whose record, and when.")
		add(s.deps.Reviews != nil && has(access.ReviewLinkage), "/linkage", "Record linkage", "Pairs of records that may be one person, waiting for a decision.")
		add(s.deps.Jobs != nil, "/jobs", "Jobs", "Long work with its progress: recompute the population, import FHIR data.")
		pg := s.frame(r, "Administration", web.SecAdmin, web.Crumb{Label: "Administration"})
		pg.Data = areas
		s.render(w, r, http.StatusOK, "admin-index", pg)
		return nil
	}
}

// Users.

type adminUserRow struct {
	auth.User
	RoleLabel string
	Linked    string // the professional or person the sign-in is
}

type adminUsersView struct {
	Users     []adminUserRow
	Roles     []adminRole
	CanChange bool
	Me        string
	// New is a just-made sign-in and its one-time password, shown once.
	New      *adminUserRow
	Password string
	Form     url.Values // what was entered, when the form is shown again
	Problems map[string]string
}

type adminRole struct {
	Value, Label string
	Selected     bool
}

func (s *Server) usersView(r *http.Request, p *auth.Principal) (adminUsersView, error) {
	us, err := s.deps.Data.Users(r.Context())
	if err != nil {
		return adminUsersView{}, err
	}
	v := adminUsersView{CanChange: s.deps.Users != nil && s.deps.Auth != nil, Me: p.Name}
	for _, u := range us {
		v.Users = append(v.Users, adminUserRowOf(u))
	}
	return v, nil
}

func adminUserRowOf(u auth.User) adminUserRow {
	u.PasswordHash = "" // never leaves the store's side
	row := adminUserRow{User: u, RoleLabel: web.RoleLabel(u.Role)}
	switch {
	case u.ProfessionalID != 0:
		row.Linked = "Professional " + strconv.FormatInt(u.ProfessionalID, 10)
	case u.PersonID != 0:
		row.Linked = "Person " + strconv.FormatInt(u.PersonID, 10)
	}
	return row
}

func adminRoles(selected string) []adminRole {
	var out []adminRole
	for _, r := range auth.Roles {
		if r == auth.SystemClient {
			continue // a system client has a token, made on the command line
		}
		out = append(out, adminRole{Value: string(r), Label: web.RoleLabel(r), Selected: string(r) == selected})
	}
	return out
}

func (s *Server) handleAdminUsers() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := access.Allow(r.Context(), access.ManageUsers)
		if err != nil {
			return err
		}
		v, err := s.usersView(r, p)
		if err != nil {
			return err
		}
		v.Roles = adminRoles("")
		pg := s.adminFrame(r, "Users")
		pg.Data = v
		s.render(w, r, http.StatusOK, "admin-users", pg)
		return nil
	}
}

// validUserName is the sign-in name rule of the command line: a-z, 0-9,
// '.', '-', '_'.
func validUserName(n string) bool {
	if n == "" || len(n) > 64 {
		return false
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// handleAdminAddUser makes a sign-in with a new random password, shown
// once on the page that answers the form (it is not kept anywhere to show
// again: only its hash is stored). A name already in use is refused
// rather than overwritten.
func (s *Server) handleAdminAddUser() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := access.Allow(r.Context(), access.ManageUsers)
		if err != nil {
			return err
		}
		f := url.Values{}
		for _, k := range []string{"name", "display_name", "role", "org", "professional", "person"} {
			f.Set(k, strings.TrimSpace(r.PostFormValue(k)))
		}
		f.Set("name", strings.ToLower(f.Get("name")))
		problems := map[string]string{}
		u := auth.User{Name: f.Get("name"), DisplayName: f.Get("display_name"), OrgID: strings.ToUpper(f.Get("org"))}
		if !validUserName(u.Name) {
			problems["name"] = "Enter a sign-in name of letters a to z, digits, '.', '-' or '_'."
		} else if _, err := s.deps.Users.UserByName(r.Context(), u.Name); err == nil {
			problems["name"] = "There is already a sign-in with this name. Choose another."
		} else if !apperr.Is(err, apperr.NotFound) {
			return err
		}
		role, err := auth.ParseRole(f.Get("role"))
		if err != nil || role == auth.SystemClient {
			problems["role"] = "Choose a role."
		}
		u.Role = role
		if u.DisplayName == "" {
			u.DisplayName = u.Name
		}
		if len(u.DisplayName) > 200 {
			problems["display_name"] = "Keep the display name under 200 characters."
		}
		for _, k := range []string{"professional", "person"} {
			if v := f.Get(k); v != "" {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil || n <= 0 {
					problems[k] = "Enter the number from the directory or the registry, or leave it empty."
					continue
				}
				if k == "professional" {
					u.ProfessionalID = n
				} else {
					u.PersonID = n
				}
			}
		}
		if (role == auth.ServiceUser || role == auth.Carer) && u.PersonID == 0 && problems["person"] == "" {
			problems["person"] = "A service user or carer sign-in needs the number of the person they are, or care for."
		}
		if u.PersonID != 0 && problems["person"] == "" {
			if _, err := s.deps.Data.Person(r.Context(), u.PersonID); apperr.Is(err, apperr.NotFound) {
				problems["person"] = "There is no person with this number."
			} else if err != nil {
				return err
			}
		}
		var pw string
		if len(problems) == 0 {
			if pw, err = auth.NewPassword(); err != nil {
				return err
			}
			if u.PasswordHash, err = s.deps.Auth.Hasher().Hash(r.Context(), pw); err != nil {
				return err
			}
			if err := u.Valid(); err != nil {
				problems["name"] = apperr.Message(err)
			}
		}
		v, err := s.usersView(r, p)
		if err != nil {
			return err
		}
		pg := s.adminFrame(r, "Users")
		if len(problems) > 0 {
			v.Form, v.Problems, v.Roles = f, problems, adminRoles(f.Get("role"))
			pg.Error = "The sign-in was not made: correct what is marked below."
			pg.Data = v
			s.render(w, r, http.StatusBadRequest, "admin-users", pg)
			return nil
		}
		stored, err := s.deps.Users.PutUser(r.Context(), u)
		if err != nil {
			return err
		}
		ev := access.AdminEvent(p, "user-add", "", 0, s.deps.Now())
		ev.Detail = "user " + stored.Name + " role " + string(stored.Role)
		if err := s.deps.Policy.Record(r.Context(), ev); err != nil {
			return err
		}
		// Not a redirect: the password must be shown once and never
		// again, so it cannot be carried to a page that can be reloaded.
		if v, err = s.usersView(r, p); err != nil {
			return err
		}
		row := adminUserRowOf(stored)
		v.New, v.Password, v.Roles = &row, pw, adminRoles("")
		pg.Notice = "The sign-in is made. Give the password to its owner in person or by a secure channel: it is shown only now."
		pg.Data = v
		w.Header().Set("Cache-Control", "no-store")
		s.render(w, r, http.StatusOK, "admin-users", pg)
		return nil
	}
}

func (s *Server) handleAdminUserStatus() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := access.Allow(r.Context(), access.ManageUsers)
		if err != nil {
			return err
		}
		name := r.PostFormValue("name")
		disable := r.PostFormValue("disabled") == "true"
		if disable && name == p.Name {
			http.Redirect(w, r, "/admin/users?error=self", http.StatusSeeOther)
			return nil
		}
		u, err := s.deps.Users.SetUserDisabled(r.Context(), name, disable)
		if apperr.Is(err, apperr.NotFound) {
			http.Redirect(w, r, "/admin/users?error=no-user", http.StatusSeeOther)
			return nil
		}
		if err != nil {
			return err
		}
		done := map[bool]string{true: "disabled", false: "enabled"}[disable]
		ev := access.AdminEvent(p, "user-"+strings.TrimSuffix(done, "d"), "", 0, s.deps.Now())
		ev.Detail = "user " + u.Name
		if err := s.deps.Policy.Record(r.Context(), ev); err != nil {
			return err
		}
		http.Redirect(w, r, "/admin/users?done="+done, http.StatusSeeOther)
		return nil
	}
}

// The directory.

const adminPageSize = 50

// pageOf is the page'th slice of n items (from 1) and the pager's links.
type pager struct {
	Page, Pages, Total int
	Prev, Next         string
}

func pageOf(r *http.Request, n int, base url.Values, path string) (lo, hi int, p pager) {
	p.Total = n
	p.Pages = max(1, (n+adminPageSize-1)/adminPageSize)
	p.Page, _ = strconv.Atoi(r.URL.Query().Get("page"))
	p.Page = min(max(p.Page, 1), p.Pages)
	link := func(pg int) string {
		q := url.Values{}
		for k, v := range base {
			q[k] = v
		}
		q.Set("page", strconv.Itoa(pg))
		return path + "?" + q.Encode()
	}
	if p.Page > 1 {
		p.Prev = link(p.Page - 1)
	}
	if p.Page < p.Pages {
		p.Next = link(p.Page + 1)
	}
	lo = (p.Page - 1) * adminPageSize
	return lo, min(lo+adminPageSize, n), p
}

type adminOrgRow struct {
	directory.Organisation
	KindLabel, Parent string
	Teams             int
}

func orgKindLabel(k directory.OrgKind) string {
	s := strings.ReplaceAll(string(k), "_", " ")
	switch k {
	case directory.ICB:
		return "Integrated care board"
	case directory.PCN:
		return "Primary care network"
	case directory.GPPractice:
		return "GP practice"
	}
	if s == "" {
		return ""
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func (s *Server) handleAdminOrganisations() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if _, err := access.Allow(r.Context(), access.ManageUsers); err != nil {
			return err
		}
		dir, err := s.deps.Directory.Directory(r.Context())
		if err != nil {
			return err
		}
		names := map[string]string{}
		teams := map[string]int{}
		for _, o := range dir.Organisations {
			names[o.ID] = o.Name
		}
		for _, t := range dir.Teams {
			teams[t.OrgID]++
		}
		orgs := append([]directory.Organisation(nil), dir.Organisations...)
		sort.Slice(orgs, func(i, j int) bool {
			if orgs[i].Kind != orgs[j].Kind {
				return orgs[i].Kind < orgs[j].Kind
			}
			return orgs[i].Name < orgs[j].Name
		})
		lo, hi, pg := pageOf(r, len(orgs), nil, "/admin/organisations")
		rows := make([]adminOrgRow, 0, hi-lo)
		for _, o := range orgs[lo:hi] {
			rows = append(rows, adminOrgRow{Organisation: o, KindLabel: orgKindLabel(o.Kind), Parent: names[o.ParentID], Teams: teams[o.ID]})
		}
		p := s.adminFrame(r, "Organisations")
		p.Data = struct {
			Orgs  []adminOrgRow
			Pager pager
		}{rows, pg}
		s.render(w, r, http.StatusOK, "admin-organisations", p)
		return nil
	}
}

type adminTeamRow struct {
	directory.CareTeam
	Org     string
	Members int
	Leads   []string
}

func (s *Server) handleAdminTeams() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if _, err := access.Allow(r.Context(), access.ManageUsers); err != nil {
			return err
		}
		dir, err := s.deps.Directory.Directory(r.Context())
		if err != nil {
			return err
		}
		now := s.deps.Now()
		orgs := map[string]string{}
		for _, o := range dir.Organisations {
			orgs[o.ID] = o.Name
		}
		profs := map[int64]string{}
		for _, pr := range dir.Professionals {
			profs[pr.ID] = strings.TrimSpace(pr.GivenName + " " + pr.FamilyName)
		}
		members := map[int64]int{}
		leads := map[int64][]string{}
		for _, m := range dir.Members {
			if !m.End.IsZero() && !m.End.After(now) {
				continue
			}
			members[m.TeamID]++
			if m.Role == "lead" || m.Role == "coordinator" {
				leads[m.TeamID] = append(leads[m.TeamID], profs[m.ProfessionalID]+" ("+m.Role+")")
			}
		}
		teams := append([]directory.CareTeam(nil), dir.Teams...)
		sort.Slice(teams, func(i, j int) bool { return teams[i].Name < teams[j].Name })
		lo, hi, pg := pageOf(r, len(teams), nil, "/admin/teams")
		rows := make([]adminTeamRow, 0, hi-lo)
		for _, t := range teams[lo:hi] {
			rows = append(rows, adminTeamRow{CareTeam: t, Org: orgs[t.OrgID], Members: members[t.ID], Leads: leads[t.ID]})
		}
		p := s.adminFrame(r, "Teams")
		p.Data = struct {
			Teams []adminTeamRow
			Pager pager
		}{rows, pg}
		s.render(w, r, http.StatusOK, "admin-teams", p)
		return nil
	}
}

// Protocols.

type adminProtocolRow struct {
	protocolSummary
	Versions int
}

type adminProtocolsView struct {
	Protocols []adminProtocolRow
	Document  string // what was pasted, when the form is shown again
}

func (s *Server) protocolsView() adminProtocolsView {
	lib := s.deps.Protocols.Library()
	var v adminProtocolsView
	for _, p := range lib.Current() {
		v.Protocols = append(v.Protocols, adminProtocolRow{protocolSummary: s.protocolSummary(p), Versions: len(lib.Versions(p.ID))})
	}
	return v
}

func (s *Server) handleAdminProtocols() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if _, err := access.Allow(r.Context(), access.ManageProtocols); err != nil {
			return err
		}
		p := s.adminFrame(r, "Care protocols")
		p.Data = s.protocolsView()
		s.render(w, r, http.StatusOK, "admin-protocols", p)
		return nil
	}
}

// handleAdminAddProtocol stores a protocol document pasted or uploaded in
// the form, through the same catalog Add as POST /api/v1/protocols, which
// validates it strictly. A refused document is shown again with the
// problem and its element path, and nothing is stored.
func (s *Server) handleAdminAddProtocol() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := access.Allow(r.Context(), access.ManageProtocols)
		if err != nil {
			return err
		}
		doc := r.PostFormValue("document")
		if f, _, err := r.FormFile("file"); err == nil {
			b, err := io.ReadAll(io.LimitReader(f, 1<<20))
			f.Close()
			if err != nil {
				return err
			}
			if len(strings.TrimSpace(string(b))) > 0 {
				doc = string(b)
			}
		}
		again := func(msg string) error {
			pg := s.adminFrame(r, "Care protocols")
			pg.Error = msg
			v := s.protocolsView()
			v.Document = doc
			pg.Data = v
			s.render(w, r, http.StatusBadRequest, "admin-protocols", pg)
			return nil
		}
		if strings.TrimSpace(doc) == "" {
			return again("Paste the protocol document (JSON) or choose a file.")
		}
		added, err := s.deps.Protocols.Add(r.Context(), []byte(doc), "user:"+p.Name)
		if apperr.Is(err, apperr.Invalid) || apperr.Is(err, apperr.Conflict) {
			return again("The protocol was not stored: " + apperr.Message(err))
		}
		if err != nil {
			return err
		}
		ev := access.AdminEvent(p, "protocol-add", "", 0, s.deps.Now())
		ev.Detail = added.Key()
		if err := s.deps.Policy.Record(r.Context(), ev); err != nil {
			return err
		}
		http.Redirect(w, r, "/admin/protocols/"+url.PathEscape(added.ID)+"?version="+strconv.Itoa(added.Version)+"&done=added", http.StatusSeeOther)
		return nil
	}
}

type adminProtocolView struct {
	*protocols.Protocol
	Author    string
	CreatedAt time.Time
	Versions  []protocolSummary
	Current   int
	Doc       string // the document as JSON, for copying into a revision
}

func (s *Server) handleAdminProtocol() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if _, err := access.Allow(r.Context(), access.ManageProtocols); err != nil {
			return err
		}
		lib := s.deps.Protocols.Library()
		ref := r.PathValue("id")
		if v := r.URL.Query().Get("version"); v != "" {
			ref += "@" + v
		}
		pr, err := lib.Get(ref)
		if err != nil {
			return err
		}
		a := s.deps.Protocols.About(pr)
		v := adminProtocolView{Protocol: pr, Author: a.Author, CreatedAt: a.CreatedAt}
		for _, x := range lib.Versions(pr.ID) {
			v.Versions = append(v.Versions, s.protocolSummary(x))
			v.Current = max(v.Current, x.Version)
		}
		if b, err := jsonIndent(pr); err == nil {
			v.Doc = b
		}
		p := s.frame(r, pr.Title, web.SecAdmin, adminCrumb, web.Crumb{Label: "Care protocols", Href: "/admin/protocols"}, web.Crumb{Label: pr.Title})
		p.Notice = adminNotices[r.URL.Query().Get("done")]
		p.Data = v
		s.render(w, r, http.StatusOK, "admin-protocol", p)
		return nil
	}
}

// Break-glass reviews.

func (s *Server) handleAdminGrants() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if _, err := access.Allow(r.Context(), access.ReviewBreakGlass); err != nil {
			return err
		}
		gs, err := s.deps.Data.Grants(r.Context(), true, 100)
		if err != nil {
			return err
		}
		names := map[int64]string{}
		if us, err := s.deps.Data.Users(r.Context()); err == nil {
			for _, u := range us {
				names[u.ID] = u.DisplayName
			}
		}
		type row struct {
			access.Grant
			By string
		}
		rows := make([]row, len(gs))
		for i, g := range gs {
			rows[i] = row{g, names[g.UserID]}
		}
		p := s.adminFrame(r, "Break-glass reviews")
		p.Data = rows
		s.render(w, r, http.StatusOK, "admin-break-glass", p)
		return nil
	}
}

func (s *Server) handleAdminReviewGrant() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := access.Allow(r.Context(), access.ReviewBreakGlass)
		if err != nil {
			return err
		}
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		note := strings.TrimSpace(r.PostFormValue("note"))
		if note == "" {
			http.Redirect(w, r, "/admin/break-glass?error=note", http.StatusSeeOther)
			return nil
		}
		g, err := s.deps.Data.ReviewGrant(r.Context(), id, p.UserID, note, s.deps.Now())
		switch {
		case apperr.Is(err, apperr.NotFound):
			http.Redirect(w, r, "/admin/break-glass?error=no-grant", http.StatusSeeOther)
			return nil
		case apperr.Is(err, apperr.Conflict):
			http.Redirect(w, r, "/admin/break-glass?error=reviewed", http.StatusSeeOther)
			return nil
		case err != nil:
			return err
		}
		ev := access.AdminEvent(p, "break-glass-review", "", g.PersonID, s.deps.Now())
		ev.Detail = "grant " + strconv.FormatInt(g.ID, 10)
		if err := s.deps.Policy.Record(r.Context(), ev); err != nil {
			return err
		}
		http.Redirect(w, r, "/admin/break-glass?done=reviewed", http.StatusSeeOther)
		return nil
	}
}

// The audit log.

type adminAuditView struct {
	Events               []audit.Event
	User, Person, Action string
	Older, Newest        string
}

// handleAdminAudit shows the audit log newest first, 50 at a time,
// filtered by user, person and action; reading it is itself audited, as
// through the API.
func (s *Server) handleAdminAudit() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := access.Allow(r.Context(), access.ReadAudit)
		if err != nil {
			return err
		}
		q := r.URL.Query()
		v := adminAuditView{User: strings.TrimSpace(q.Get("user")), Person: strings.TrimSpace(q.Get("person")), Action: strings.TrimSpace(q.Get("action"))}
		f := audit.Filter{Action: v.Action, Limit: adminPageSize}
		var bad bool
		num := func(s string) int64 {
			if s == "" {
				return 0
			}
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n <= 0 {
				bad = true
				return 0
			}
			return n
		}
		f.UserID, f.PersonID, f.BeforeSeq = num(v.User), num(v.Person), num(q.Get("before"))
		pg := s.adminFrame(r, "Audit log")
		if bad {
			pg.Error = adminErrors["bad-person"]
			f.UserID, f.PersonID, f.BeforeSeq = 0, 0, 0
		}
		if err := s.deps.Policy.Record(r.Context(), access.AdminEvent(p, "audit-read", "AuditEvent", f.PersonID, s.deps.Now())); err != nil {
			return err
		}
		evs, err := s.deps.Audit.AuditEvents(r.Context(), f)
		if err != nil {
			return err
		}
		v.Events = evs
		base := url.Values{}
		for k, val := range map[string]string{"user": v.User, "person": v.Person, "action": v.Action} {
			if val != "" {
				base.Set(k, val)
			}
		}
		if len(evs) == adminPageSize {
			older := url.Values{}
			for k, val := range base {
				older[k] = val
			}
			older.Set("before", strconv.FormatInt(evs[len(evs)-1].Seq, 10))
			v.Older = "/admin/audit?" + older.Encode()
		}
		if f.BeforeSeq != 0 {
			v.Newest = "/admin/audit?" + base.Encode()
		}
		pg.Data = v
		s.render(w, r, http.StatusOK, "admin-audit", pg)
		return nil
	}
}

// jsonIndent is v as indented JSON.
func jsonIndent(v any) (string, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	return string(b), err
}
