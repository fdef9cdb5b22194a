package httpapi

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/web"
)

// Pages are the web application's routes: HTML for people in browsers,
// drawn by package web from views built here, behind the same guards and
// the same access policy as the JSON API. A page's route differs from an
// API route in how it fails: a caller who has not signed in is sent to
// the sign-in page, and an error is a page that says what to do.

// isPagePath reports whether a path is a page (HTML) rather than the API,
// FHIR or an operational endpoint.
func isPagePath(p string) bool {
	for _, pre := range []string{"/api/", "/fhir/", "/healthz", "/readyz", "/metrics", "/auth/"} {
		if strings.HasPrefix(p, pre) {
			return false
		}
	}
	return true
}

// page registers a page route: like add, but a caller who has not signed
// in is redirected to sign in (GET) rather than answered 401 as JSON.
func (s *Server) page(pattern string, g guard, h handler) {
	s.add(pattern, g, s.servePage(h))
}

// servePage adapts a page handler: a returned error becomes an error page
// with the status its kind maps to. Internal errors are logged, never
// shown.
func (s *Server) servePage(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			if apperr.KindOf(err) == apperr.Internal {
				s.deps.Log.Error("page failed", "route", r.Pattern, "err", err)
			}
			s.errorPage(w, r, err)
		}
	})
}

// errorTexts say, for each kind of failure, what it means and what the
// person can do next, in plain English.
var errorTexts = map[apperr.Kind][2]string{
	apperr.Invalid:         {"Something in the request could not be used", "Go back, check what you entered and try again."},
	apperr.NotFound:        {"Page not found", "Check the address, or use the menu to find what you need. If you followed a link in Wholecare, the record may have been merged or removed."},
	apperr.Conflict:        {"Someone else changed this first", "Nothing you sent was saved. Open the page again to see the latest version, then make your change again."},
	apperr.Forbidden:       {"You cannot see this", "Wholecare shows a person's record only to people with a care relationship and, where needed, the person's consent. If this person is in your care, ask your team lead to add you to their care team. In an emergency, a clinician can use break-glass access from the person's page, with a reason that is reviewed."},
	apperr.Unauthenticated: {"Sign in to continue", "Your session may have ended. Sign in again."},
	apperr.TooMany:         {"Too many attempts", "Wait a few minutes and try again."},
	apperr.Unavailable:     {"Wholecare is busy or part of it is not running", "Try again in a minute. If it keeps happening, tell your system administrator."},
	apperr.Internal:        {"Sorry, something went wrong", "Nothing was lost. Try again; if it keeps happening, tell your system administrator and say what you were doing and when."},
}

// errorPage answers err as a page. A caller who is not signed in is sent
// to sign in and brought back here afterwards.
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, err error) {
	kind := apperr.KindOf(err)
	if kind == apperr.Unauthenticated && r.Method == http.MethodGet {
		if _, ok := auth.FromContext(r.Context()); !ok {
			http.Redirect(w, r, "/sign-in?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
	}
	if s.deps.Web == nil {
		writeProblem(w, r, err)
		return
	}
	txt, ok := errorTexts[kind]
	if !ok {
		txt = errorTexts[apperr.Internal]
	}
	msg := txt[0]
	if kind != apperr.Internal {
		if m := apperr.Message(err); m != "" {
			msg = sentence(m)
		}
	}
	p := s.frame(r, txt[0], "")
	p.Data = struct{ Message, WhatToDo, Back string }{msg, txt[1], localReferrer(r)}
	if kind == apperr.Unavailable && r.Method == http.MethodGet {
		// Usually the population engine still loading: the page tries
		// again by itself, so no one has to keep pressing reload.
		p.Refresh = 5
	}
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, Status(kind), "error", p)
}

// localReferrer is never known: the referrer policy sends none. A form's
// own page is its referrer for a failed POST, so offer the path it came
// from when that is a page of ours.
func localReferrer(r *http.Request) string {
	if r.Method == http.MethodGet {
		return ""
	}
	if back := r.PostFormValue("back"); safeNext(back) {
		return back
	}
	return ""
}

// frame starts a page's view: who is signed in, their navigation, the
// session's CSRF token and the breadcrumbs.
func (s *Server) frame(r *http.Request, title string, sec web.Section, crumbs ...web.Crumb) *web.Page {
	p := &web.Page{Title: title, Crumbs: crumbs}
	if pr, ok := auth.FromContext(r.Context()); ok {
		name := pr.DisplayName
		if name == "" {
			name = pr.Name
		}
		p.User = &web.User{Name: name, Role: web.RoleLabel(pr.Role)}
		p.Nav = web.Nav(pr.Role, sec)
	}
	if sess, ok := sessionFrom(r.Context()); ok {
		p.CSRF = sess.CSRF
	}
	return p
}

// render draws page name with status. A template that fails is a bug: it
// is logged and the browser gets a plain error, never half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p *web.Page) {
	var buf strings.Builder
	if err := s.deps.Web.Render(&buf, name, p); err != nil {
		s.deps.Log.Error("rendering a page", "route", r.Pattern, "page", name, "err", err)
		http.Error(w, "Sorry, this page could not be shown. Nothing was lost; try again.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(buf.String()))
}

// safeNext accepts only a path on this site as a place to go after
// signing in, never another site (an open redirect).
func safeNext(next string) bool {
	return strings.HasPrefix(next, "/") && !strings.HasPrefix(next, "//") && !strings.HasPrefix(next, "/\\") &&
		!strings.ContainsAny(next, "\r\n")
}

// pageRoutes are the frame's own routes: the stylesheet, the start page,
// signing in and out.
func (s *Server) pageRoutes() {
	s.add("GET /assets/app.css", public, s.serve(s.handleStylesheet()))
	s.add("GET /{$}", public, s.servePage(s.handleStart()))
	if s.deps.Auth != nil {
		s.add("GET /sign-in", public, s.servePage(s.handleSignInPage()))
		s.add("POST /sign-in", public, s.servePage(s.handleSignInForm()))
		s.page("POST /sign-out", signedIn, s.handleSignOutForm())
	}
	s.dashboardPageRoutes()
	s.adminPageRoutes() // administration, record linkage and jobs: each part checks its own deps
	if s.deps.CarePlans != nil && s.deps.Policy != nil {
		s.carePlanPageRoutes()
	}
	s.peoplePageRoutes()
	s.worklistPageRoutes()
}

func (s *Server) handleStylesheet() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		css, ver := s.deps.Web.Stylesheet()
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		if r.URL.Query().Get("v") == ver {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		_, err := w.Write(css)
		return err
	}
}

// handleStart sends a signed-in caller to their role's start page and
// anyone else to sign in.
func (s *Server) handleStart() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, ok := auth.FromContext(r.Context())
		if !ok {
			http.Redirect(w, r, "/sign-in", http.StatusSeeOther)
			return nil
		}
		http.Redirect(w, r, web.Home(p.Role), http.StatusSeeOther)
		return nil
	}
}

type signInView struct {
	Next, Name string
	OIDC       bool
}

func (s *Server) handleSignInPage() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		next := r.URL.Query().Get("next")
		if !safeNext(next) {
			next = ""
		}
		if p, ok := auth.FromContext(r.Context()); ok && r.URL.Query().Get("switch") == "" {
			if next == "" {
				next = web.Home(p.Role)
			}
			http.Redirect(w, r, next, http.StatusSeeOther)
			return nil
		}
		p := s.frame(r, "Sign in", "")
		p.User, p.Nav = nil, nil
		p.Data = signInView{Next: next, OIDC: s.deps.OIDC != nil && s.deps.OIDCUsers != nil}
		s.render(w, r, http.StatusOK, "sign-in", p)
		return nil
	}
}

// handleSignInForm signs in from the page's form and goes to where the
// person was going, or to their start page. A refusal shows the form
// again with one message that does not say which part was wrong.
func (s *Server) handleSignInForm() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := sameOrigin(r); err != nil {
			return err
		}
		name := strings.ToLower(strings.TrimSpace(r.PostFormValue("name")))
		password := r.PostFormValue("password")
		next := r.PostFormValue("next")
		if !safeNext(next) {
			next = ""
		}
		again := func(status int, msg string) error {
			p := s.frame(r, "Sign in", "")
			p.User, p.Nav, p.CSRF = nil, nil, ""
			p.Error = msg
			p.Data = signInView{Next: next, Name: name, OIDC: s.deps.OIDC != nil && s.deps.OIDCUsers != nil}
			s.render(w, r, status, "sign-in", p)
			return nil
		}
		if name == "" || password == "" {
			return again(http.StatusBadRequest, "Enter your account name and your password.")
		}
		pr, _, err := s.startSession(w, r, "password", name, func() (string, auth.Session, *auth.Principal, error) {
			return s.deps.Auth.SignIn(r.Context(), name, password, clientAddress(r))
		})
		switch {
		case apperr.Is(err, apperr.TooMany):
			return again(http.StatusTooManyRequests, "Too many attempts to sign in to this account. Wait a few minutes and try again.")
		case apperr.Is(err, apperr.Unauthenticated):
			return again(http.StatusUnauthorized, "The account name or password is not right. Check them and try again.")
		case err != nil:
			return err
		}
		if next == "" {
			next = web.Home(pr.Role)
		}
		http.Redirect(w, r, next, http.StatusSeeOther)
		return nil
	}
}

func (s *Server) handleSignOutForm() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		sess, ok := sessionFrom(r.Context())
		if !ok {
			return errors.New("sign-out: no session on a signed-in route")
		}
		if err := s.deps.Auth.SignOut(r.Context(), sess); err != nil {
			return err
		}
		s.clearCookie(w)
		http.Redirect(w, r, "/sign-in", http.StatusSeeOther)
		return nil
	}
}
