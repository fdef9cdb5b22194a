package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/auth"
)

// Sessions, tokens, relationships, consents and break-glass grants: the
// store side of auth and access.

var (
	_ auth.Store        = (*DB)(nil)
	_ access.Store      = (*DB)(nil)
	_ access.BatchStore = (*DB)(nil)
)

// CreateSession stores a new session.
func (db *DB) CreateSession(ctx context.Context, s auth.Session) error {
	if err := db.ready(); err != nil {
		return err
	}
	_, err := db.sql.ExecContext(ctx, db.d.rebind(`
		INSERT INTO sessions (hash, user_id, csrf, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`),
		s.Hash, s.UserID, s.CSRF, db.d.instant(s.CreatedAt), db.d.instant(s.LastSeen), db.d.instant(s.ExpiresAt))
	return classify(err, "storing session")
}

// SessionByHash returns a session and its user.
func (db *DB) SessionByHash(ctx context.Context, hash string) (auth.Session, auth.User, error) {
	if err := db.ready(); err != nil {
		return auth.Session{}, auth.User{}, err
	}
	row := db.sql.QueryRowContext(ctx, db.d.rebind(`
		SELECT s.hash, s.user_id, s.csrf, s.created_at, s.last_seen_at, s.expires_at, s.revoked_at,
		       u.`+prefixed("u.", userColumns)+`
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.hash = ?`), hash)
	var s auth.Session
	var u auth.User
	var role string
	err := row.Scan(append([]any{&s.Hash, &s.UserID, &s.CSRF, timeDest{&s.CreatedAt}, timeDest{&s.LastSeen}, timeDest{&s.ExpiresAt},
		timeDest{&s.RevokedAt}}, userDests(&u, &role)...)...)
	u.Role = auth.Role(role)
	if errors.Is(err, sql.ErrNoRows) {
		return auth.Session{}, auth.User{}, apperr.E(apperr.NotFound, "no such session")
	}
	if err != nil {
		return auth.Session{}, auth.User{}, classify(err, "reading session")
	}
	return s, u, nil
}

// prefixed qualifies every column of a comma-separated list but the first
// (which the caller has qualified).
func prefixed(p, cols string) string {
	out := make([]byte, 0, len(cols)+64)
	for i := 0; i < len(cols); i++ {
		out = append(out, cols[i])
		if cols[i] == ',' {
			out = append(out, ' ')
			out = append(out, p...)
			for i+1 < len(cols) && cols[i+1] == ' ' {
				i++
			}
		}
	}
	return string(out)
}

// TouchSession renews a session's idle timer.
func (db *DB) TouchSession(ctx context.Context, hash string, at time.Time) error {
	if err := db.ready(); err != nil {
		return err
	}
	_, err := db.sql.ExecContext(ctx, db.d.rebind(`UPDATE sessions SET last_seen_at = ? WHERE hash = ?`), db.d.instant(at), hash)
	return classify(err, "renewing session")
}

// RevokeSession ends a session.
func (db *DB) RevokeSession(ctx context.Context, hash string, at time.Time) error {
	if err := db.ready(); err != nil {
		return err
	}
	_, err := db.sql.ExecContext(ctx, db.d.rebind(`UPDATE sessions SET revoked_at = ? WHERE hash = ? AND revoked_at IS NULL`), db.d.instant(at), hash)
	return classify(err, "ending session")
}

// RevokeUserSessions ends every live session of a user.
func (db *DB) RevokeUserSessions(ctx context.Context, userID int64, at time.Time) (int, error) {
	if err := db.ready(); err != nil {
		return 0, err
	}
	res, err := db.sql.ExecContext(ctx, db.d.rebind(`UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`), db.d.instant(at), userID)
	if err != nil {
		return 0, classify(err, "ending sessions")
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// CreateToken stores a new API token.
func (db *DB) CreateToken(ctx context.Context, t auth.Token) (auth.Token, error) {
	if err := db.ready(); err != nil {
		return auth.Token{}, err
	}
	err := db.sql.QueryRowContext(ctx, db.d.rebind(`
		INSERT INTO api_tokens (user_id, hash, scopes, label, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`),
		t.UserID, t.Hash, t.Scopes.String(), t.Label, db.d.instant(t.CreatedAt), db.d.instant(t.ExpiresAt)).Scan(&t.ID)
	return t, classify(err, "storing token")
}

// TokenByHash returns a token and its user.
func (db *DB) TokenByHash(ctx context.Context, hash string) (auth.Token, auth.User, error) {
	if err := db.ready(); err != nil {
		return auth.Token{}, auth.User{}, err
	}
	row := db.queryRow(ctx, db.d.rebind(`
		SELECT t.id, t.user_id, t.hash, t.scopes, t.label, t.created_at, t.expires_at, t.revoked_at,
		       u.`+prefixed("u.", userColumns)+`
		FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = ?`), hash)
	var t auth.Token
	var u auth.User
	var role, scopes string
	err := row.Scan(append([]any{&t.ID, &t.UserID, &t.Hash, &scopes, &t.Label, timeDest{&t.CreatedAt}, timeDest{&t.ExpiresAt},
		timeDest{&t.RevokedAt}}, userDests(&u, &role)...)...)
	u.Role = auth.Role(role)
	if errors.Is(err, sql.ErrNoRows) {
		return auth.Token{}, auth.User{}, apperr.E(apperr.NotFound, "no such token")
	}
	if err != nil {
		return auth.Token{}, auth.User{}, classify(err, "reading token")
	}
	if t.Scopes, err = auth.ParseScopes(scopes); err != nil {
		return auth.Token{}, auth.User{}, apperr.Wrap(apperr.Internal, err, "stored token scopes")
	}
	return t, u, nil
}

// PersonFacts returns what decides access to a person: their practice,
// the care teams they are with now, and their consents. It is on the path
// of every request for person data, so the common case (no consent
// records) is one query.
func (db *DB) PersonFacts(ctx context.Context, personID int64, now time.Time) (access.Facts, error) {
	if err := db.ready(); err != nil {
		return access.Facts{}, err
	}
	agg := "group_concat(DISTINCT team_id)"
	coordAgg := "group_concat(DISTINCT coordinator_id)"
	if db.d.postgres {
		agg = "string_agg(DISTINCT team_id::text, ',')"
		coordAgg = "string_agg(DISTINCT coordinator_id::text, ',')"
	}
	today := db.d.date(now.UTC().Truncate(24 * time.Hour))
	var f access.Facts
	var teams, coordinators sql.NullString
	var consents int
	err := db.queryRow(ctx, db.d.rebind(`
		SELECT p.practice_id,
		       (SELECT `+agg+` FROM person_care_teams t
		        WHERE t.person_id = p.person_id AND t.start_date <= ? AND (t.end_date IS NULL OR t.end_date > ?)),
		       (SELECT `+coordAgg+` FROM careplans cp WHERE cp.person_id = p.person_id AND cp.status <> 'closed' AND cp.coordinator_id <> 0),
		       (SELECT COUNT(*) FROM consents c WHERE c.person_id = p.person_id)
		FROM people p WHERE p.person_id = ?`), today, today, personID).Scan(&f.PracticeID, &teams, &coordinators, &consents)
	if errors.Is(err, sql.ErrNoRows) {
		return access.Facts{}, apperr.Ef(apperr.NotFound, "no person %d", personID)
	}
	if err != nil {
		return access.Facts{}, classify(err, "reading person")
	}
	if f.TeamIDs, err = idList(teams); err != nil {
		return access.Facts{}, err
	}
	if f.Coordinators, err = idList(coordinators); err != nil {
		return access.Facts{}, err
	}
	if consents > 0 {
		if f.Consents, err = db.consents(ctx, personID); err != nil {
			return access.Facts{}, err
		}
	}
	return f, nil
}

// PeopleFacts returns what PersonFacts returns for each of many people,
// reading them a chunk at a time (one query for the chunk, and one more
// for the consents of those in it who have any) instead of one or two
// queries a person: deciding who of a ranked list of thousands the caller
// may see was one round trip per person. A person who does not exist is
// absent from the map.
func (db *DB) PeopleFacts(ctx context.Context, personIDs []int64, now time.Time) (map[int64]access.Facts, error) {
	if err := db.ready(); err != nil {
		return nil, err
	}
	agg := "group_concat(DISTINCT team_id)"
	coordAgg := "group_concat(DISTINCT coordinator_id)"
	if db.d.postgres {
		agg = "string_agg(DISTINCT team_id::text, ',')"
		coordAgg = "string_agg(DISTINCT coordinator_id::text, ',')"
	}
	today := db.d.date(now.UTC().Truncate(24 * time.Hour))
	out := make(map[int64]access.Facts, len(personIDs))
	var withConsents []int64
	err := db.lookupIDs(ctx, `
		SELECT p.person_id, p.practice_id,
		       (SELECT `+agg+` FROM person_care_teams t
		        WHERE t.person_id = p.person_id AND t.start_date <= ? AND (t.end_date IS NULL OR t.end_date > ?)),
		       (SELECT `+coordAgg+` FROM careplans cp WHERE cp.person_id = p.person_id AND cp.status <> 'closed' AND cp.coordinator_id <> 0),
		       (SELECT COUNT(*) FROM consents c WHERE c.person_id = p.person_id)
		FROM people p WHERE %s`, "p.person_id", []any{today, today}, personIDs, func(s scanner) error {
		var id int64
		var f access.Facts
		var teams, coordinators sql.NullString
		var consents int
		if err := s.Scan(&id, &f.PracticeID, &teams, &coordinators, &consents); err != nil {
			return err
		}
		var err error
		if f.TeamIDs, err = idList(teams); err != nil {
			return err
		}
		if f.Coordinators, err = idList(coordinators); err != nil {
			return err
		}
		if consents > 0 {
			withConsents = append(withConsents, id)
		}
		out[id] = f
		return nil
	})
	if err != nil {
		return nil, classify(err, "reading people")
	}
	if len(withConsents) == 0 {
		return out, nil
	}
	// Consents are few (most people have none), so they are read only for
	// the people the count above found, in the order db.consents gives.
	err = db.lookupIDs(ctx, `SELECT `+consentColumns+` FROM consents WHERE %s ORDER BY person_id, id`, "person_id", nil, withConsents,
		func(s scanner) error {
			c, err := scanConsent(s)
			if err != nil {
				return err
			}
			f := out[c.PersonID]
			f.Consents = append(f.Consents, c)
			out[c.PersonID] = f
			return nil
		})
	if err != nil {
		return nil, classify(err, "reading consents")
	}
	return out, nil
}

// idList reads a comma-separated list of ids, as group_concat and
// string_agg give it; NULL or empty is none.
func idList(s sql.NullString) ([]int64, error) {
	if !s.Valid || s.String == "" {
		return nil, nil
	}
	var out []int64
	for _, t := range strings.Split(s.String, ",") {
		id, err := strconv.ParseInt(t, 10, 64)
		if err != nil {
			return nil, apperr.Wrap(apperr.Internal, err, "reading care teams and plan coordinators")
		}
		out = append(out, id)
	}
	return out, nil
}

// lookupIDs runs query (whose one %s is replaced by "col is one of the
// ids", see inKeys) for ids a chunk at a time, after the leading
// arguments lead, and calls scan on every row. The statement text varies
// with the chunk's length on SQLite, so it does not go through the
// statement cache.
func (db *DB) lookupIDs(ctx context.Context, query, col string, lead []any, ids []int64, scan func(scanner) error) error {
	for len(ids) > 0 {
		n := min(len(ids), db.d.lookupChunk())
		cond, args := inKeys(db.d, col, ids[:n])
		ids = ids[n:]
		rows, err := db.sql.QueryContext(ctx, db.d.rebind(strings.Replace(query, "%s", cond, 1)), append(lead[:len(lead):len(lead)], args...)...)
		if err != nil {
			return err
		}
		for rows.Next() {
			if err := scan(rows); err != nil {
				rows.Close()
				return err
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// ProfessionalTeams returns the teams a professional is a current member of.
func (db *DB) ProfessionalTeams(ctx context.Context, professionalID int64, now time.Time) ([]int64, error) {
	if err := db.ready(); err != nil {
		return nil, err
	}
	today := db.d.date(now.UTC().Truncate(24 * time.Hour))
	rows, err := db.sql.QueryContext(ctx, db.d.rebind(`
		SELECT team_id FROM care_team_members
		WHERE professional_id = ? AND (start_date IS NULL OR start_date <= ?) AND (end_date IS NULL OR end_date > ?)`),
		professionalID, today, today)
	if err != nil {
		return nil, classify(err, "reading team memberships")
	}
	defer rows.Close()
	var ts []int64
	for rows.Next() {
		var t int64
		if err := rows.Scan(&t); err != nil {
			return nil, classify(err, "reading team memberships")
		}
		ts = append(ts, t)
	}
	return ts, classify(rows.Err(), "reading team memberships")
}

const consentColumns = `person_id, id, decision, purpose, org_id, start_date, end_date, recorded_by, recorded_at, note,
	withdrawn_at, withdrawn_by, withdrawn_reason`

func scanConsent(s interface{ Scan(...any) error }) (access.Consent, error) {
	var c access.Consent
	var decision, purpose string
	err := s.Scan(&c.PersonID, &c.ID, &decision, &purpose, &c.OrgID, timeDest{&c.Start}, timeDest{&c.End}, &c.RecordedBy,
		timeDest{&c.RecordedAt}, &c.Note, timeDest{&c.WithdrawnAt}, &c.WithdrawnBy, &c.WithdrawnReason)
	c.Decision, c.Purpose = access.ConsentDecision(decision), access.Purpose(purpose)
	return c, err
}

func (db *DB) consents(ctx context.Context, personID int64) ([]access.Consent, error) {
	rows, err := db.sql.QueryContext(ctx, db.d.rebind(`SELECT `+consentColumns+` FROM consents WHERE person_id = ? ORDER BY id`), personID)
	if err != nil {
		return nil, classify(err, "reading consents")
	}
	defer rows.Close()
	var cs []access.Consent
	for rows.Next() {
		c, err := scanConsent(rows)
		if err != nil {
			return nil, classify(err, "reading consents")
		}
		cs = append(cs, c)
	}
	return cs, classify(rows.Err(), "reading consents")
}

// Consents lists a person's consent records, oldest first.
func (db *DB) Consents(ctx context.Context, personID int64) ([]access.Consent, error) {
	if err := db.ready(); err != nil {
		return nil, err
	}
	return db.consents(ctx, personID)
}

// AddConsent stores a new consent record for a person who exists.
func (db *DB) AddConsent(ctx context.Context, c access.Consent) (access.Consent, error) {
	if err := db.ready(); err != nil {
		return access.Consent{}, err
	}
	if err := c.Valid(); err != nil {
		return access.Consent{}, err
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return access.Consent{}, classify(err, "storing consent")
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, db.d.rebind(`SELECT COUNT(*) FROM people WHERE person_id = ?`), c.PersonID).Scan(&n); err != nil {
		return access.Consent{}, classify(err, "storing consent")
	}
	if n == 0 {
		return access.Consent{}, apperr.Ef(apperr.NotFound, "no person %d", c.PersonID)
	}
	if err := tx.QueryRowContext(ctx, db.d.rebind(`SELECT COALESCE(MAX(id), 0) + 1 FROM consents WHERE person_id = ?`), c.PersonID).Scan(&c.ID); err != nil {
		return access.Consent{}, classify(err, "storing consent")
	}
	if _, err := tx.ExecContext(ctx, db.d.rebind(`
		INSERT INTO consents (person_id, id, decision, purpose, org_id, start_date, end_date, recorded_by, recorded_at, note)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		c.PersonID, c.ID, string(c.Decision), string(c.Purpose), c.OrgID, db.d.date(c.Start), db.d.date(c.End),
		c.RecordedBy, db.d.instant(c.RecordedAt), c.Note); err != nil {
		return access.Consent{}, classify(err, "storing consent")
	}
	if err := db.outbox(ctx, tx, "consent.recorded", map[string]int64{"person_id": c.PersonID, "consent_id": c.ID}, c.RecordedAt); err != nil {
		return access.Consent{}, err
	}
	return c, classify(tx.Commit(), "storing consent")
}

// WithdrawConsent records the withdrawal of a consent; the record stays.
func (db *DB) WithdrawConsent(ctx context.Context, personID, id, by int64, reason string, at time.Time) (access.Consent, error) {
	if err := db.ready(); err != nil {
		return access.Consent{}, err
	}
	if len(reason) > 500 {
		return access.Consent{}, apperr.E(apperr.Invalid, "reason must be at most 500 characters")
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return access.Consent{}, classify(err, "withdrawing consent")
	}
	defer tx.Rollback()
	c, err := scanConsent(tx.QueryRowContext(ctx, db.d.rebind(`SELECT `+consentColumns+` FROM consents WHERE person_id = ? AND id = ?`), personID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return access.Consent{}, apperr.Ef(apperr.NotFound, "no consent %d for person %d", id, personID)
	}
	if err != nil {
		return access.Consent{}, classify(err, "withdrawing consent")
	}
	if c.Withdrawn() {
		return access.Consent{}, apperr.E(apperr.Conflict, "that consent has already been withdrawn")
	}
	if _, err := tx.ExecContext(ctx, db.d.rebind(`
		UPDATE consents SET withdrawn_at = ?, withdrawn_by = ?, withdrawn_reason = ? WHERE person_id = ? AND id = ?`),
		db.d.instant(at), by, reason, personID, id); err != nil {
		return access.Consent{}, classify(err, "withdrawing consent")
	}
	if err := db.outbox(ctx, tx, "consent.withdrawn", map[string]int64{"person_id": personID, "consent_id": id}, at); err != nil {
		return access.Consent{}, err
	}
	c.WithdrawnAt, c.WithdrawnBy, c.WithdrawnReason = at.UTC().Truncate(time.Microsecond), by, reason
	return c, classify(tx.Commit(), "withdrawing consent")
}

const grantColumns = `id, user_id, person_id, reason, created_at, expires_at, reviewed_at, reviewed_by, review_note`

func scanGrant(s interface{ Scan(...any) error }) (access.Grant, error) {
	var g access.Grant
	err := s.Scan(&g.ID, &g.UserID, &g.PersonID, &g.Reason, timeDest{&g.CreatedAt}, timeDest{&g.ExpiresAt},
		timeDest{&g.ReviewedAt}, &g.ReviewedBy, &g.ReviewNote)
	return g, err
}

// CreateGrant stores a break-glass grant.
func (db *DB) CreateGrant(ctx context.Context, g access.Grant) (access.Grant, error) {
	if err := db.ready(); err != nil {
		return access.Grant{}, err
	}
	err := db.sql.QueryRowContext(ctx, db.d.rebind(`
		INSERT INTO break_glass (user_id, person_id, reason, created_at, expires_at) VALUES (?, ?, ?, ?, ?) RETURNING id`),
		g.UserID, g.PersonID, g.Reason, db.d.instant(g.CreatedAt), db.d.instant(g.ExpiresAt)).Scan(&g.ID)
	return g, classify(err, "storing break-glass")
}

// ActiveGrant returns the user's unexpired grant for a person, if any.
func (db *DB) ActiveGrant(ctx context.Context, userID, personID int64, now time.Time) (access.Grant, bool, error) {
	if err := db.ready(); err != nil {
		return access.Grant{}, false, err
	}
	g, err := scanGrant(db.sql.QueryRowContext(ctx, db.d.rebind(`
		SELECT `+grantColumns+` FROM break_glass WHERE user_id = ? AND person_id = ? AND expires_at > ?
		ORDER BY expires_at DESC LIMIT 1`), userID, personID, db.d.instant(now)))
	if errors.Is(err, sql.ErrNoRows) {
		return access.Grant{}, false, nil
	}
	if err != nil {
		return access.Grant{}, false, classify(err, "reading break-glass")
	}
	return g, true, nil
}

// ActiveGrants returns, for each of the people the user has an unexpired
// grant for, what ActiveGrant returns (the one that expires last), a
// chunk of people per query.
func (db *DB) ActiveGrants(ctx context.Context, userID int64, personIDs []int64, now time.Time) (map[int64]access.Grant, error) {
	if err := db.ready(); err != nil {
		return nil, err
	}
	out := map[int64]access.Grant{}
	err := db.lookupIDs(ctx, `
		SELECT `+grantColumns+` FROM break_glass WHERE user_id = ? AND expires_at > ? AND %s
		ORDER BY person_id, expires_at DESC`, "person_id", []any{userID, db.d.instant(now)}, personIDs, func(s scanner) error {
		g, err := scanGrant(s)
		if err != nil {
			return err
		}
		if _, ok := out[g.PersonID]; !ok {
			out[g.PersonID] = g
		}
		return nil
	})
	if err != nil {
		return nil, classify(err, "reading break-glass")
	}
	return out, nil
}

// Grants lists break-glass grants, newest first: only those awaiting
// review when unreviewed is set.
func (db *DB) Grants(ctx context.Context, unreviewed bool, limit int) ([]access.Grant, error) {
	if err := db.ready(); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	q := `SELECT ` + grantColumns + ` FROM break_glass`
	if unreviewed {
		q += ` WHERE reviewed_at IS NULL`
	}
	q += ` ORDER BY created_at DESC, id DESC LIMIT ?`
	rows, err := db.sql.QueryContext(ctx, db.d.rebind(q), limit)
	if err != nil {
		return nil, classify(err, "listing break-glass")
	}
	defer rows.Close()
	var gs []access.Grant
	for rows.Next() {
		g, err := scanGrant(rows)
		if err != nil {
			return nil, classify(err, "listing break-glass")
		}
		gs = append(gs, g)
	}
	return gs, classify(rows.Err(), "listing break-glass")
}

// ReviewGrant records a privacy officer's review of a grant.
func (db *DB) ReviewGrant(ctx context.Context, id, by int64, note string, at time.Time) (access.Grant, error) {
	if err := db.ready(); err != nil {
		return access.Grant{}, err
	}
	if len(note) > 1000 {
		return access.Grant{}, apperr.E(apperr.Invalid, "review note must be at most 1000 characters")
	}
	g, err := scanGrant(db.sql.QueryRowContext(ctx, db.d.rebind(`
		UPDATE break_glass SET reviewed_at = ?, reviewed_by = ?, review_note = ? WHERE id = ? AND reviewed_at IS NULL
		RETURNING `+grantColumns), db.d.instant(at), by, note, id))
	if errors.Is(err, sql.ErrNoRows) {
		return access.Grant{}, apperr.Ef(apperr.NotFound, "no break-glass %d awaiting review", id)
	}
	return g, classify(err, "reviewing break-glass")
}

// PeopleByPractice counts living registered people per practice.
func (db *DB) PeopleByPractice(ctx context.Context) (map[string]int64, error) {
	if err := db.ready(); err != nil {
		return nil, err
	}
	rows, err := db.sql.QueryContext(ctx, `SELECT practice_id, COUNT(*) FROM people WHERE practice_id <> '' AND date_of_death IS NULL GROUP BY practice_id`)
	if err != nil {
		return nil, classify(err, "counting people")
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var id string
		var n int64
		if err := rows.Scan(&id, &n); err != nil {
			return nil, classify(err, "counting people")
		}
		out[id] = n
	}
	return out, classify(rows.Err(), "counting people")
}

// PeopleAtPractice returns up to n living people registered at a practice,
// lowest id first.
func (db *DB) PeopleAtPractice(ctx context.Context, practiceID string, n int) ([]int64, error) {
	if err := db.ready(); err != nil {
		return nil, err
	}
	rows, err := db.sql.QueryContext(ctx, db.d.rebind(`
		SELECT person_id FROM people WHERE practice_id = ? AND date_of_death IS NULL ORDER BY person_id LIMIT ?`), practiceID, n)
	if err != nil {
		return nil, classify(err, "finding people")
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, classify(err, "finding people")
		}
		ids = append(ids, id)
	}
	return ids, classify(rows.Err(), "finding people")
}
