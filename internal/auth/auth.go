// Package auth holds who may sign in to Wholecare: user accounts, their
// roles, and password hashing (argon2id). Sessions, tokens and sign-in
// throttling build on it. It must never store or log a password, and never
// import database, HTTP or UI packages.
package auth

import (
	"log/slog"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
)

// Role is what a user is in the care economy; permissions follow from it.
type Role string

const (
	ServiceUser     Role = "service_user"
	Carer           Role = "carer"
	CareCoordinator Role = "care_coordinator"
	Clinician       Role = "clinician"
	SocialCare      Role = "social_care_practitioner"
	TeamLead        Role = "team_lead"
	ProviderManager Role = "provider_manager"
	Commissioner    Role = "commissioner"
	Analyst         Role = "analyst"
	Administrator   Role = "administrator"
	SystemClient    Role = "system"
)

// Roles lists every role in a stable order.
var Roles = []Role{ServiceUser, Carer, CareCoordinator, Clinician, SocialCare, TeamLead,
	ProviderManager, Commissioner, Analyst, Administrator, SystemClient}

// ParseRole checks a role name.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", apperr.Ef(apperr.Invalid, "unknown role %q", s)
}

// User is a sign-in.
type User struct {
	ID          int64
	Name        string // the sign-in name
	DisplayName string
	Role        Role
	OrgID       string // ODS code of the user's organisation, "" for none
	PersonID    int64  // for a service user or carer: the person they are or care for; 0 otherwise
	// ProfessionalID links a member of staff to the directory professional
	// they are, whose care-team memberships give them relationships to
	// people; 0 for none.
	ProfessionalID int64
	// OIDCSubject is "issuer|sub" of the identity provider account that may
	// sign in as this user; "" for none.
	OIDCSubject  string
	PasswordHash string // PHC string from HashPassword; never a password; "" for system clients
	Disabled     bool
	CreatedAt    time.Time
}

// LogValue logs a user by ID and role only.
func (u User) LogValue() slog.Value {
	return slog.GroupValue(slog.Int64("id", u.ID), slog.String("role", string(u.Role)))
}

// Valid checks a user before it is stored.
func (u User) Valid() error {
	switch {
	case len(u.Name) < 3 || len(u.Name) > 64:
		return apperr.E(apperr.Invalid, "user name must be 3 to 64 characters")
	case u.DisplayName == "":
		return apperr.E(apperr.Invalid, "user needs a display name")
	case u.PasswordHash == "" && u.Role != SystemClient && u.OIDCSubject == "":
		return apperr.E(apperr.Invalid, "user needs a password")
	case (u.Role == ServiceUser || u.Role == Carer) && u.PersonID == 0:
		return apperr.Ef(apperr.Invalid, "a %s account needs the person it is for", u.Role)
	}
	if _, err := ParseRole(string(u.Role)); err != nil {
		return err
	}
	for _, r := range u.Name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return apperr.E(apperr.Invalid, "user name may hold only a-z, 0-9, '.', '-' and '_'")
		}
	}
	return nil
}
