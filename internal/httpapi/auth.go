package httpapi

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/audit"
	"github.com/wholecare/wholecare/internal/auth"
)

// The session cookie. Over TLS it takes the __Host- prefix, which browsers
// accept only when Secure, on path / and without a domain, so no sibling
// host can plant or read it.
const (
	cookieName    = "wholecare_session"
	hostCookieKey = "__Host-" + cookieName
	csrfHeader    = "X-CSRF-Token"
	csrfField     = "csrf_token"
)

func (s *Server) cookieName() string {
	if s.deps.TLS {
		return hostCookieKey
	}
	return cookieName
}

type sessionKey struct{}

// authenticate finds who is asking: a bearer token in Authorization or a
// session cookie. A request with neither goes on without a principal (the
// route decides whether that is enough); a request with a bad one is
// refused, so a client learns at once that its credential is dead. A
// state-changing request on a session must carry the session's CSRF token.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (*http.Request, error) {
	if s.deps.Auth == nil {
		return r, nil
	}
	ctx := r.Context()
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") {
			return r, apperr.E(apperr.Unauthenticated, "use Authorization: Bearer TOKEN")
		}
		p, err := s.deps.Auth.Bearer(ctx, strings.TrimSpace(tok))
		if err != nil {
			return r, err
		}
		return r.WithContext(access.WithDecisions(auth.WithPrincipal(ctx, p))), nil
	}
	c, err := r.Cookie(s.cookieName())
	if err != nil || c.Value == "" {
		return r, nil
	}
	sess, p, err := s.deps.Auth.Session(ctx, c.Value)
	if apperr.Is(err, apperr.Unauthenticated) {
		// A stale cookie: forget it and carry on signed out, so the
		// sign-in page itself still works.
		s.clearCookie(w)
		return r, nil
	}
	if err != nil {
		return r, err
	}
	ctx = access.WithDecisions(auth.WithPrincipal(ctx, p))
	ctx = context.WithValue(ctx, sessionKey{}, sess)
	r = r.WithContext(ctx)
	// Signing in (again) carries no token: it is checked for its origin
	// instead, and ends the session it arrives on.
	signingIn := r.Method == http.MethodPost && (r.URL.Path == "/api/v1/session" || r.URL.Path == "/sign-in")
	if unsafeMethod(r.Method) && !signingIn {
		sent := r.Header.Get(csrfHeader)
		if sent == "" && isForm(r) {
			sent = r.PostFormValue(csrfField)
		}
		if err := auth.CheckCSRF(sess, sent); err != nil {
			return r, err
		}
	}
	return r, nil
}

func unsafeMethod(m string) bool {
	return m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions
}

func isForm(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	return strings.HasPrefix(ct, "application/x-www-form-urlencoded") || strings.HasPrefix(ct, "multipart/form-data")
}

func sessionFrom(ctx context.Context) (auth.Session, bool) {
	s, ok := ctx.Value(sessionKey{}).(auth.Session)
	return s, ok
}

// setCookie sets the session cookie. It has no expiry, so the browser
// forgets it when it closes; the server ends it at the idle and absolute
// timeouts whatever the browser keeps.
func (s *Server) setCookie(w http.ResponseWriter, secret string) {
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(), Value: secret, Path: "/", HttpOnly: true, Secure: s.deps.TLS,
		SameSite: http.SameSiteLaxMode})
}

func (s *Server) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(), Value: "", Path: "/", HttpOnly: true, Secure: s.deps.TLS,
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// sameOrigin refuses a cross-site sign-in (login CSRF): a browser says
// where a request came from in Sec-Fetch-Site and Origin.
func sameOrigin(r *http.Request) error {
	if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" {
		return apperr.E(apperr.Forbidden, "sign in from Wholecare's own page")
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return apperr.E(apperr.Forbidden, "sign in from Wholecare's own page")
		}
	}
	return nil
}

type signInRequest struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

func (q signInRequest) Valid(context.Context) map[string]string {
	problems := map[string]string{}
	if strings.TrimSpace(q.Name) == "" {
		problems["name"] = "give your sign-in name"
	}
	if q.Password == "" {
		problems["password"] = "give your password"
	}
	return problems
}

type sessionView struct {
	User      userView  `json:"user"`
	CSRFToken string    `json:"csrf_token"`
	ExpiresAt time.Time `json:"expires_at"`
}

type userView struct {
	ID          int64               `json:"id"`
	Name        string              `json:"name"`
	Role        auth.Role           `json:"role"`
	OrgID       string              `json:"org_id,omitempty"`
	PersonID    int64               `json:"person_id,omitempty"`
	Permissions []access.Permission `json:"permissions"`
}

func viewOf(p *auth.Principal) userView {
	return userView{ID: p.UserID, Name: p.Name, Role: p.Role, OrgID: p.OrgID, PersonID: p.PersonID, Permissions: access.Permissions(p.Role)}
}

func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// handleSignIn checks a name and password (JSON or a form) and opens a new
// session.
func (s *Server) handleSignIn() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := sameOrigin(r); err != nil {
			return err
		}
		var q signInRequest
		if isForm(r) {
			q = signInRequest{Name: r.PostFormValue("name"), Password: r.PostFormValue("password")}
			if p := q.Valid(r.Context()); len(p) > 0 {
				return invalid(p)
			}
		} else if err := decode(r, &q); err != nil {
			return err
		}
		p, sess, err := s.startSession(w, r, "password", strings.ToLower(strings.TrimSpace(q.Name)),
			func() (string, auth.Session, *auth.Principal, error) {
				return s.deps.Auth.SignIn(r.Context(), q.Name, q.Password, clientAddress(r))
			})
		if err != nil {
			return err
		}
		return encode(w, http.StatusCreated, sessionView{User: viewOf(p), CSRFToken: sess.CSRF, ExpiresAt: sess.ExpiresAt})
	}
}

// startSession is the end of every sign-in: it ends any session the
// browser already had (so a session planted before sign-in never becomes a
// signed-in one), opens the new one with signIn, audits the attempt
// (allowed or refused; a sign-in names no person) and sets the cookie.
// name is who tried, for a refused attempt; how says by what means.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, how, name string,
	signIn func() (string, auth.Session, *auth.Principal, error)) (*auth.Principal, auth.Session, error) {
	if old, ok := sessionFrom(r.Context()); ok {
		if err := s.deps.Auth.SignOut(r.Context(), old); err != nil {
			return nil, auth.Session{}, err
		}
	}
	secret, sess, p, err := signIn()
	ev := audit.Event{At: s.deps.Now(), UserName: name, Action: "sign-in", Outcome: "allowed", Purpose: "administration",
		Basis: "none", Detail: how}
	if err != nil {
		ev.Outcome = "denied"
	}
	if p != nil {
		ev.UserID, ev.UserName, ev.Role, ev.OrgID = p.UserID, p.Name, string(p.Role), p.OrgID
	}
	if rerr := s.deps.Policy.Record(r.Context(), ev); rerr != nil {
		return nil, auth.Session{}, rerr
	}
	if err != nil {
		return nil, auth.Session{}, err
	}
	s.setCookie(w, secret)
	return p, sess, nil
}

// handleSession describes the caller's session, with the CSRF token a
// script must send back on changes.
func (s *Server) handleSession() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, _ := auth.FromContext(r.Context())
		sess, ok := sessionFrom(r.Context())
		if !ok {
			return apperr.E(apperr.Unauthenticated, "this request is not on a session (a bearer token has no session)")
		}
		return encode(w, http.StatusOK, sessionView{User: viewOf(p), CSRFToken: sess.CSRF, ExpiresAt: sess.ExpiresAt})
	}
}

func (s *Server) handleSignOut() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		sess, ok := sessionFrom(r.Context())
		if !ok {
			return apperr.E(apperr.Unauthenticated, "this request is not on a session")
		}
		if err := s.deps.Auth.SignOut(r.Context(), sess); err != nil {
			return err
		}
		s.clearCookie(w)
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

func (s *Server) handleSignOutEverywhere() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, _ := auth.FromContext(r.Context())
		n, err := s.deps.Auth.SignOutEverywhere(r.Context(), p.UserID)
		if err != nil {
			return err
		}
		s.clearCookie(w)
		return encode(w, http.StatusOK, map[string]int{"sessions_ended": n})
	}
}

func (s *Server) handleMe() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, _ := auth.FromContext(r.Context())
		return encode(w, http.StatusOK, viewOf(p))
	}
}
