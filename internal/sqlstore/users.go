package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/auth"
)

const userColumns = `id, name, display_name, role, org_id, person_id, professional_id, oidc_subject, password_hash, disabled, created_at`

func scanUser(s interface{ Scan(...any) error }) (auth.User, error) {
	var u auth.User
	var role string
	err := s.Scan(userDests(&u, &role)...)
	u.Role = auth.Role(role)
	return u, err
}

// userDests are the scan destinations of userColumns, for queries that
// read a user beside something else.
func userDests(u *auth.User, role *string) []any {
	return []any{&u.ID, &u.Name, &u.DisplayName, role, &u.OrgID, &u.PersonID, &u.ProfessionalID, &u.OIDCSubject,
		&u.PasswordHash, &u.Disabled, timeDest{&u.CreatedAt}}
}

// PutUser stores a user, creating it or, when a user of that name exists,
// replacing its display name, role, organisation, person, password hash and
// disabled flag. It returns the stored user with its id.
func (db *DB) PutUser(ctx context.Context, u auth.User) (auth.User, error) {
	if err := db.ready(); err != nil {
		return auth.User{}, err
	}
	if err := u.Valid(); err != nil {
		return auth.User{}, err
	}
	now := time.Now()
	row := db.sql.QueryRowContext(ctx, db.d.rebind(`
		INSERT INTO users (name, display_name, role, org_id, person_id, professional_id, oidc_subject, password_hash, disabled, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET
			display_name = excluded.display_name, role = excluded.role, org_id = excluded.org_id,
			person_id = excluded.person_id, professional_id = excluded.professional_id,
			oidc_subject = excluded.oidc_subject, password_hash = excluded.password_hash,
			disabled = excluded.disabled, updated_at = excluded.updated_at
		RETURNING `+userColumns),
		u.Name, u.DisplayName, string(u.Role), u.OrgID, u.PersonID, u.ProfessionalID, u.OIDCSubject, u.PasswordHash, u.Disabled,
		db.d.instant(now), db.d.instant(now))
	stored, err := scanUser(row)
	if err != nil {
		return auth.User{}, classify(err, "storing user "+u.Name)
	}
	return stored, nil
}

// UserByName finds a user by sign-in name; NotFound if there is none.
func (db *DB) UserByName(ctx context.Context, name string) (auth.User, error) {
	if err := db.ready(); err != nil {
		return auth.User{}, err
	}
	u, err := scanUser(db.sql.QueryRowContext(ctx, db.d.rebind(`SELECT `+userColumns+` FROM users WHERE name = ?`), name))
	if errors.Is(err, sql.ErrNoRows) {
		return auth.User{}, apperr.Ef(apperr.NotFound, "no user named %q", name)
	}
	if err != nil {
		return auth.User{}, classify(err, "reading user "+name)
	}
	return u, nil
}

// UserByOIDC finds the user an identity provider account may sign in as;
// NotFound if there is none.
func (db *DB) UserByOIDC(ctx context.Context, subject string) (auth.User, error) {
	if err := db.ready(); err != nil {
		return auth.User{}, err
	}
	u, err := scanUser(db.sql.QueryRowContext(ctx, db.d.rebind(`SELECT `+userColumns+` FROM users WHERE oidc_subject = ? AND oidc_subject <> ''`), subject))
	if errors.Is(err, sql.ErrNoRows) {
		return auth.User{}, apperr.E(apperr.NotFound, "no user is linked to that identity provider account")
	}
	if err != nil {
		return auth.User{}, classify(err, "reading user")
	}
	return u, nil
}

// SetUserDisabled disables or re-enables a user. Disabling also ends every
// session at once; tokens stop working because authentication checks the
// flag.
func (db *DB) SetUserDisabled(ctx context.Context, name string, disabled bool) (auth.User, error) {
	if err := db.ready(); err != nil {
		return auth.User{}, err
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return auth.User{}, classify(err, "disabling user")
	}
	defer tx.Rollback()
	now := time.Now()
	u, err := scanUser(tx.QueryRowContext(ctx, db.d.rebind(`UPDATE users SET disabled = ?, updated_at = ? WHERE name = ? RETURNING `+userColumns),
		disabled, db.d.instant(now), name))
	if errors.Is(err, sql.ErrNoRows) {
		return auth.User{}, apperr.Ef(apperr.NotFound, "no user named %q", name)
	}
	if err != nil {
		return auth.User{}, classify(err, "disabling user")
	}
	if disabled {
		if _, err := tx.ExecContext(ctx, db.d.rebind(`UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`),
			db.d.instant(now), u.ID); err != nil {
			return auth.User{}, classify(err, "ending sessions")
		}
	}
	return u, classify(tx.Commit(), "disabling user")
}

// Users lists every user by name.
func (db *DB) Users(ctx context.Context) ([]auth.User, error) {
	if err := db.ready(); err != nil {
		return nil, err
	}
	rows, err := db.sql.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY name`)
	if err != nil {
		return nil, classify(err, "listing users")
	}
	defer rows.Close()
	var us []auth.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, classify(err, "listing users")
		}
		us = append(us, u)
	}
	return us, classify(rows.Err(), "listing users")
}
