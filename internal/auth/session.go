package auth

import (
	"context"
	"crypto/subtle"
	"strings"
	"sync"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
)

// Session is a signed-in browser. The cookie holds a 256-bit secret; the
// store holds only its hash, so a copy of the database signs no one in.
type Session struct {
	Hash      string // HashSecret of the cookie secret
	UserID    int64
	CSRF      string // the synchronizer token forms and scripts send back
	CreatedAt time.Time
	LastSeen  time.Time
	ExpiresAt time.Time // absolute: the session ends then however active it is
	RevokedAt time.Time // zero while live
}

// PublicID names a session in logs and the audit log without revealing
// anything that could be replayed.
func (s Session) PublicID() string { return s.Hash[:12] }

// Token is a bearer token for a system client (or a user's script): scoped,
// expiring, stored only as a hash.
type Token struct {
	ID        int64
	UserID    int64
	Hash      string
	Scopes    Scopes
	Label     string
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt time.Time
}

// Store is what the auth service needs of the database.
type Store interface {
	UserByName(ctx context.Context, name string) (User, error)
	CreateSession(ctx context.Context, s Session) error
	// SessionByHash returns the session and its user; NotFound if there is none.
	SessionByHash(ctx context.Context, hash string) (Session, User, error)
	TouchSession(ctx context.Context, hash string, at time.Time) error
	RevokeSession(ctx context.Context, hash string, at time.Time) error
	RevokeUserSessions(ctx context.Context, userID int64, at time.Time) (int, error)
	CreateToken(ctx context.Context, t Token) (Token, error)
	// TokenByHash returns the token and its user; NotFound if there is none.
	TokenByHash(ctx context.Context, hash string) (Token, User, error)
}

// Config holds the knobs of sign-in; zero values take the defaults.
type Config struct {
	IdleTimeout     time.Duration // default 30 minutes without a request
	AbsoluteTimeout time.Duration // default 12 hours from sign-in
	AccountFailures int           // failed sign-ins per account per window, default 5
	AddressFailures int           // failed sign-ins per address per window, default 20
	FailureWindow   time.Duration // default 15 minutes
	MaxTokenTTL     time.Duration // default one year
	ConcurrentHash  int           // argon2id hashes at once, default 2 (64 MiB each)
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.IdleTimeout, 30*time.Minute)
	def(&c.AbsoluteTimeout, 12*time.Hour)
	def(&c.FailureWindow, 15*time.Minute)
	def(&c.MaxTokenTTL, 365*24*time.Hour)
	if c.AccountFailures <= 0 {
		c.AccountFailures = 5
	}
	if c.AddressFailures <= 0 {
		c.AddressFailures = 20
	}
	if c.ConcurrentHash <= 0 {
		c.ConcurrentHash = 2
	}
	return c
}

// Service signs people in and out and turns cookies and bearer tokens
// back into principals.
type Service struct {
	store     Store
	hasher    *Hasher
	cfg       Config
	now       func() time.Time
	byAccount *throttle
	byAddress *throttle
	dummyOnce sync.Once
	dummyHash string // verified against when the account does not exist
	dummyErr  error
}

// NewService returns a sign-in service.
func NewService(store Store, cfg Config, now func() time.Time) *Service {
	cfg = cfg.withDefaults()
	s := &Service{
		store: store, cfg: cfg, now: now,
		hasher:    NewHasher(cfg.ConcurrentHash),
		byAccount: newThrottle(cfg.AccountFailures, cfg.FailureWindow),
		byAddress: newThrottle(cfg.AddressFailures, cfg.FailureWindow),
	}
	return s
}

// dummy is a hash of a random password, checked when the account does not
// exist so that the answer takes as long as for one that does.
func (s *Service) dummy(ctx context.Context) (string, error) {
	s.dummyOnce.Do(func() {
		pw, err := NewPassword()
		if err == nil {
			s.dummyHash, err = s.hasher.Hash(ctx, pw)
		}
		s.dummyErr = err
	})
	return s.dummyHash, s.dummyErr
}

// Hasher is the service's bounded password hasher.
func (s *Service) Hasher() *Hasher { return s.hasher }

// Config is the service's effective configuration.
func (s *Service) Config() Config { return s.cfg }

// errBadSignIn is the same for an unknown name, a wrong password and a
// disabled account, so sign-in tells an attacker nothing about accounts.
var errBadSignIn = apperr.E(apperr.Unauthenticated, "the name or password is not right")

var errNoAccount = apperr.E(apperr.NotFound, "no such account")

// SignIn checks a name and password from address and opens a new session.
// It returns the cookie secret (shown to no one but the browser), the
// session and the principal. A session that the browser already held is
// never reused (the caller revokes it), so a planted session id gains an
// attacker nothing.
func (s *Service) SignIn(ctx context.Context, name, password, address string) (string, Session, *Principal, error) {
	now := s.now()
	name = strings.ToLower(strings.TrimSpace(name))
	if until, ok := s.byAddress.blocked("addr:"+address, now); ok {
		return "", Session{}, nil, tooMany(until, now)
	}
	if until, ok := s.byAccount.blocked("user:"+name, now); ok {
		return "", Session{}, nil, tooMany(until, now)
	}
	u, err := s.store.UserByName(ctx, name)
	if err != nil && !apperr.Is(err, apperr.NotFound) {
		return "", Session{}, nil, err
	}
	hash := u.PasswordHash
	if err != nil || hash == "" {
		// Spend the same time, so timing does not reveal the account.
		if hash, err = s.dummy(ctx); err != nil {
			return "", Session{}, nil, err
		}
		err = errNoAccount
	}
	ok, verr := s.hasher.Verify(ctx, hash, password)
	if verr != nil {
		return "", Session{}, nil, verr
	}
	if err != nil || !ok || u.Disabled || u.Role == SystemClient {
		s.byAccount.fail("user:"+name, now)
		s.byAddress.fail("addr:"+address, now)
		return "", Session{}, nil, errBadSignIn
	}
	s.byAccount.succeed("user:" + name)
	return s.openSession(ctx, u, now)
}

// SignInUser opens a session for a user who proved who they are another
// way (OpenID Connect).
func (s *Service) SignInUser(ctx context.Context, u User) (string, Session, *Principal, error) {
	if u.Disabled || u.Role == SystemClient {
		return "", Session{}, nil, errBadSignIn
	}
	return s.openSession(ctx, u, s.now())
}

func (s *Service) openSession(ctx context.Context, u User, now time.Time) (string, Session, *Principal, error) {
	secret, err := newSecret("wcs_")
	if err != nil {
		return "", Session{}, nil, err
	}
	csrf, err := newSecret("")
	if err != nil {
		return "", Session{}, nil, err
	}
	sess := Session{Hash: HashSecret(secret), UserID: u.ID, CSRF: csrf, CreatedAt: now, LastSeen: now,
		ExpiresAt: now.Add(s.cfg.AbsoluteTimeout)}
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return "", Session{}, nil, err
	}
	return secret, sess, principalOf(u, sess), nil
}

func tooMany(until, now time.Time) error {
	mins := int(until.Sub(now).Minutes()) + 1
	return apperr.Ef(apperr.TooMany, "too many failed sign-ins: try again in %d minutes", mins)
}

func principalOf(u User, sess Session) *Principal {
	p := userPrincipal(u, ViaSession)
	p.SessionID = sess.PublicID()
	return p
}

func userPrincipal(u User, via Via) *Principal {
	return &Principal{UserID: u.ID, Name: u.Name, DisplayName: u.DisplayName, Role: u.Role, OrgID: u.OrgID, PersonID: u.PersonID,
		ProfessionalID: u.ProfessionalID, Via: via}
}

var errNoSession = apperr.E(apperr.Unauthenticated, "not signed in, or the session has ended: sign in again")

// Session turns a cookie secret into its session and principal, ending
// sessions that have been idle too long or reached their absolute limit,
// or whose user has been disabled. Activity renews the idle timer.
func (s *Service) Session(ctx context.Context, secret string) (Session, *Principal, error) {
	if !strings.HasPrefix(secret, "wcs_") || len(secret) > 100 {
		return Session{}, nil, errNoSession
	}
	hash := HashSecret(secret)
	sess, u, err := s.store.SessionByHash(ctx, hash)
	if apperr.Is(err, apperr.NotFound) {
		return Session{}, nil, errNoSession
	}
	if err != nil {
		return Session{}, nil, err
	}
	now := s.now()
	switch {
	case !sess.RevokedAt.IsZero(), u.Disabled, !now.Before(sess.ExpiresAt), now.Sub(sess.LastSeen) >= s.cfg.IdleTimeout:
		return Session{}, nil, errNoSession
	}
	// Renew the idle timer at most once a minute: a write per request
	// would cost more than the minute of idle time it could add.
	if now.Sub(sess.LastSeen) >= time.Minute {
		if err := s.store.TouchSession(ctx, hash, now); err != nil {
			return Session{}, nil, err
		}
		sess.LastSeen = now
	}
	return sess, principalOf(u, sess), nil
}

// CheckCSRF compares the token a request sent with its session's.
func CheckCSRF(sess Session, sent string) error {
	if sent == "" || subtle.ConstantTimeCompare([]byte(sent), []byte(sess.CSRF)) != 1 {
		return apperr.E(apperr.Forbidden, "the form has expired or did not come from Wholecare: reload the page and try again")
	}
	return nil
}

// SignOut ends one session.
func (s *Service) SignOut(ctx context.Context, sess Session) error {
	return s.store.RevokeSession(ctx, sess.Hash, s.now())
}

// SignOutEverywhere ends every session of a user.
func (s *Service) SignOutEverywhere(ctx context.Context, userID int64) (int, error) {
	return s.store.RevokeUserSessions(ctx, userID, s.now())
}

// IssueToken creates a bearer token for the user with the given scopes
// and lifetime, returning the secret (shown once) and the stored token.
// System clients get system/ scopes; people get user/ scopes, which never
// widen what their role and relationships allow.
func (s *Service) IssueToken(ctx context.Context, u User, scopes Scopes, ttl time.Duration, label string) (string, Token, error) {
	switch {
	case u.Disabled:
		return "", Token{}, apperr.Ef(apperr.Conflict, "user %s is disabled", u.Name)
	case len(scopes) == 0:
		return "", Token{}, apperr.E(apperr.Invalid, "a token needs at least one scope")
	case ttl <= 0:
		return "", Token{}, apperr.E(apperr.Invalid, "a token needs a lifetime above zero")
	case ttl > s.cfg.MaxTokenTTL:
		return "", Token{}, apperr.Ef(apperr.Invalid, "a token may live at most %s", s.cfg.MaxTokenTTL)
	}
	for _, sc := range scopes {
		if (sc.Context == "system") != (u.Role == SystemClient) {
			if u.Role == SystemClient {
				return "", Token{}, apperr.Ef(apperr.Invalid, "scope %s: a system client's scopes start with system/", sc)
			}
			return "", Token{}, apperr.Ef(apperr.Invalid, "scope %s: only system clients (--role system) get system/ scopes; use user/", sc)
		}
	}
	secret, err := newSecret("wct_")
	if err != nil {
		return "", Token{}, err
	}
	now := s.now()
	t, err := s.store.CreateToken(ctx, Token{UserID: u.ID, Hash: HashSecret(secret), Scopes: scopes, Label: label,
		CreatedAt: now, ExpiresAt: now.Add(ttl)})
	if err != nil {
		return "", Token{}, err
	}
	return secret, t, nil
}

var errBadToken = apperr.E(apperr.Unauthenticated, "the bearer token is not valid, has expired or has been revoked")

// Bearer turns a bearer token into its principal.
func (s *Service) Bearer(ctx context.Context, secret string) (*Principal, error) {
	if !strings.HasPrefix(secret, "wct_") || len(secret) > 100 {
		return nil, errBadToken
	}
	t, u, err := s.store.TokenByHash(ctx, HashSecret(secret))
	if apperr.Is(err, apperr.NotFound) {
		return nil, errBadToken
	}
	if err != nil {
		return nil, err
	}
	if !t.RevokedAt.IsZero() || u.Disabled || !s.now().Before(t.ExpiresAt) {
		return nil, errBadToken
	}
	p := userPrincipal(u, ViaToken)
	p.TokenID, p.Scopes = t.ID, t.Scopes
	return p, nil
}
