package httpapi

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/auth/oidc"
)

// OIDC is an organisation's identity provider, for sign-in with the
// authorization code flow (oidc.Provider).
type OIDC interface {
	Issuer() string
	AuthCodeURL(f oidc.Flow) string
	Exchange(ctx context.Context, code string, f oidc.Flow, now time.Time) (oidc.Claims, error)
}

// OIDCUsers finds the local user an identity provider account signs in as.
type OIDCUsers interface {
	UserByOIDC(ctx context.Context, subject string) (auth.User, error)
}

const oidcCookie = "wholecare_oidc"

// flowStore keeps sign-in flows in progress for ten minutes, keyed by
// their state. It is bounded: a flood of unfinished sign-ins evicts the
// oldest rather than growing without end.
type flowStore struct {
	mu sync.Mutex
	m  map[string]pendingFlow
}

type pendingFlow struct {
	f     oidc.Flow
	until time.Time
}

const (
	flowTTL  = 10 * time.Minute
	maxFlows = 10_000
)

func newFlowStore() *flowStore { return &flowStore{m: map[string]pendingFlow{}} }

func (s *flowStore) put(f oidc.Flow, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= maxFlows {
		for k, p := range s.m {
			if now.After(p.until) || len(s.m) >= maxFlows {
				delete(s.m, k)
			}
		}
	}
	s.m[f.State] = pendingFlow{f: f, until: now.Add(flowTTL)}
}

// take returns and forgets the flow with this state: each is used once.
func (s *flowStore) take(state string, now time.Time) (oidc.Flow, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.m[state]
	delete(s.m, state)
	if !ok || now.After(p.until) {
		return oidc.Flow{}, false
	}
	return p.f, true
}

// handleOIDCLogin starts a sign-in at the identity provider. The flow's
// state is kept on the server and in a short-lived cookie, so the callback
// must come back to the same browser that started it.
func (s *Server) handleOIDCLogin() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		f, err := oidc.NewFlow()
		if err != nil {
			return err
		}
		s.flows.put(f, s.deps.Now())
		http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: f.State, Path: "/auth/oidc/", HttpOnly: true,
			Secure: s.deps.TLS, SameSite: http.SameSiteLaxMode, MaxAge: int(flowTTL.Seconds())})
		http.Redirect(w, r, s.deps.OIDC.AuthCodeURL(f), http.StatusFound)
		return nil
	}
}

var errOIDCFlow = apperr.E(apperr.Unauthenticated, "the sign-in did not complete or took too long: start again")

// handleOIDCCallback finishes a sign-in: it checks the state, exchanges
// the code, verifies the ID token, finds the linked local user and opens a
// session exactly as a password sign-in does.
func (s *Server) handleOIDCCallback() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		q := r.URL.Query()
		state := q.Get("state")
		c, err := r.Cookie(oidcCookie)
		http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: "", Path: "/auth/oidc/", HttpOnly: true, Secure: s.deps.TLS, MaxAge: -1})
		if err != nil || state == "" || c.Value != state {
			return errOIDCFlow
		}
		f, ok := s.flows.take(state, s.deps.Now())
		if !ok {
			return errOIDCFlow
		}
		if e := q.Get("error"); e != "" {
			return apperr.E(apperr.Unauthenticated, "the identity provider did not sign you in: start again")
		}
		claims, err := s.deps.OIDC.Exchange(r.Context(), q.Get("code"), f, s.deps.Now())
		if err != nil {
			return err
		}
		u, err := s.deps.OIDCUsers.UserByOIDC(r.Context(), s.deps.OIDC.Issuer()+"|"+claims.Subject)
		if apperr.Is(err, apperr.NotFound) {
			return apperr.E(apperr.Forbidden, "your organisation's account is not linked to a Wholecare sign-in: ask an administrator")
		}
		if err != nil {
			return err
		}
		p, _, err := s.startSession(w, r, "oidc", u.Name, func() (string, auth.Session, *auth.Principal, error) {
			return s.deps.Auth.SignInUser(r.Context(), u)
		})
		if err != nil {
			return err
		}
		w.Header().Set("Location", "/")
		return encode(w, http.StatusSeeOther, viewOf(p))
	}
}
