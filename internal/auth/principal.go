package auth

import (
	"context"
	"log/slog"
)

// Principal is who is asking: a signed-in user (through a session) or a
// system client (through a bearer token). It is put in a request's context
// by the HTTP edge after authentication and read only through FromContext.
type Principal struct {
	UserID         int64
	Name           string
	DisplayName    string // how pages name the user; "" for none
	Role           Role
	OrgID          string // the organisation the user acts for; "" for none
	PersonID       int64  // a service user's own record, or the person a carer cares for
	ProfessionalID int64  // the directory professional the user is, 0 for none
	Via            Via
	SessionID      string // the session's public id (never the cookie secret); "" for tokens
	TokenID        int64  // the token's id; 0 for sessions
	Scopes         Scopes // what a token may do; nil for a session
}

// Via is how a principal authenticated.
type Via string

const (
	ViaSession Via = "session"
	ViaToken   Via = "token"
)

// LogValue logs a principal by user id, role and how it signed in only.
func (p Principal) LogValue() slog.Value {
	return slog.GroupValue(slog.Int64("user", p.UserID), slog.String("role", string(p.Role)), slog.String("via", string(p.Via)))
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal of ctx, if there is one.
func FromContext(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok && p != nil
}
