package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/careplan"
	"github.com/wholecare/wholecare/internal/directory"
)

// EventCarePlanChanged is the outbox event of every new care plan version.
const EventCarePlanChanged = "careplan.changed"

type carePlanEvent struct {
	PersonID int64           `json:"person_id"`
	PlanID   int64           `json:"plan_id"`
	Version  int             `json:"version"`
	Status   careplan.Status `json:"status"`
}

// Professional returns a professional from the directory; NotFound when
// there is none.
func (db *DB) Professional(ctx context.Context, id int64) (directory.Professional, error) {
	var p directory.Professional
	if err := db.ready(); err != nil {
		return p, err
	}
	err := db.sql.QueryRowContext(ctx, db.d.rebind(`SELECT id, given_name, family_name, profession, org_id, registration_id
		FROM professionals WHERE id = ?`), id).Scan(&p.ID, &p.GivenName, &p.FamilyName, &p.Profession, &p.OrgID, &p.RegistrationID)
	if errors.Is(err, sql.ErrNoRows) {
		return p, apperr.Ef(apperr.NotFound, "no professional %d", id)
	}
	return p, classify(err, "reading a professional")
}

// CreatePlan stores version 1 of a new care plan with a new plan id, in one
// transaction with its outbox event.
func (db *DB) CreatePlan(ctx context.Context, v careplan.Version) (careplan.Version, error) {
	if err := db.ready(); err != nil {
		return v, err
	}
	if v.Number != 1 {
		return v, apperr.E(apperr.Internal, "sqlstore: a new plan starts at version 1")
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return v, classify(err, "creating a care plan")
	}
	defer tx.Rollback()
	var one int
	err = tx.QueryRowContext(ctx, db.d.rebind(`SELECT 1 FROM people WHERE person_id = ?`), v.PersonID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return v, apperr.Ef(apperr.NotFound, "no person %d", v.PersonID)
	}
	if err != nil {
		return v, classify(err, "creating a care plan")
	}
	var next int64
	if err := tx.QueryRowContext(ctx, `UPDATE id_counters SET next = next + 1 WHERE name = 'careplan' RETURNING next`).Scan(&next); err != nil {
		return v, classify(err, "numbering a care plan")
	}
	v.PlanID = next - 1
	v.Change.At = v.Change.At.UTC().Truncate(time.Microsecond)
	coord, err := json.Marshal(v.Plan.Coordinator)
	if err != nil {
		return v, apperr.Wrap(apperr.Internal, err, "encoding a care plan")
	}
	if _, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO careplans
		(person_id, plan_id, status, title, coordinator_id, coordinator, next_review, current_version, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?)`),
		v.PersonID, v.PlanID, string(v.Plan.Status), v.Plan.Title, v.Plan.Coordinator.ProfessionalID, string(coord),
		db.d.date(v.Plan.Review.Next.Time()), db.d.instant(v.Change.At), db.d.instant(v.Change.At)); err != nil {
		return v, classify(err, "creating a care plan")
	}
	if err := db.insertPlanVersion(ctx, tx, v); err != nil {
		return v, err
	}
	return v, classify(tx.Commit(), "creating a care plan")
}

// AppendPlanVersion stores v as the next version of its plan, provided the
// plan is still at v.Number-1: the compare-and-set on careplans is the
// lock, so of two writers based on the same version one commits and the
// other gets a Conflict wrapping careplan.ErrStale and writes nothing.
func (db *DB) AppendPlanVersion(ctx context.Context, v careplan.Version) (careplan.Version, error) {
	if err := db.ready(); err != nil {
		return v, err
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return v, classify(err, "changing a care plan")
	}
	defer tx.Rollback()
	v.Change.At = v.Change.At.UTC().Truncate(time.Microsecond)
	coord, err := json.Marshal(v.Plan.Coordinator)
	if err != nil {
		return v, apperr.Wrap(apperr.Internal, err, "encoding a care plan")
	}
	res, err := tx.ExecContext(ctx, db.d.rebind(`UPDATE careplans
		SET status = ?, title = ?, coordinator_id = ?, coordinator = ?, next_review = ?, current_version = ?, updated_at = ?
		WHERE plan_id = ? AND person_id = ? AND current_version = ?`),
		string(v.Plan.Status), v.Plan.Title, v.Plan.Coordinator.ProfessionalID, string(coord), db.d.date(v.Plan.Review.Next.Time()),
		v.Number, db.d.instant(v.Change.At), v.PlanID, v.PersonID, v.Number-1)
	if err != nil {
		return v, classify(err, "changing a care plan")
	}
	if n, err := res.RowsAffected(); err != nil {
		return v, classify(err, "changing a care plan")
	} else if n == 0 {
		var cur int
		err := tx.QueryRowContext(ctx, db.d.rebind(`SELECT current_version FROM careplans WHERE plan_id = ? AND person_id = ?`),
			v.PlanID, v.PersonID).Scan(&cur)
		if errors.Is(err, sql.ErrNoRows) {
			return v, apperr.Ef(apperr.NotFound, "no care plan %d", v.PlanID)
		}
		if err != nil {
			return v, classify(err, "changing a care plan")
		}
		return v, careplan.Stale(v.Number-1, cur)
	}
	if err := db.insertPlanVersion(ctx, tx, v); err != nil {
		return v, err
	}
	return v, classify(tx.Commit(), "changing a care plan")
}

func (db *DB) insertPlanVersion(ctx context.Context, tx *sql.Tx, v careplan.Version) error {
	doc, err := json.Marshal(v.Plan)
	if err != nil {
		return apperr.Wrap(apperr.Internal, err, "encoding a care plan")
	}
	c := v.Change
	if _, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO careplan_versions
		(person_id, plan_id, version, status, coordinator_id, next_review, kind, reason,
		 changed_by, changed_by_name, changed_by_role, changed_by_professional, changed_at, document)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		v.PersonID, v.PlanID, v.Number, string(v.Plan.Status), v.Plan.Coordinator.ProfessionalID, db.d.date(v.Plan.Review.Next.Time()),
		string(c.Kind), c.Reason, c.By.UserID, c.By.Name, c.By.Role, c.By.ProfessionalID, db.d.instant(c.At), string(doc)); err != nil {
		return classify(err, "storing a care plan version")
	}
	return db.outbox(ctx, tx, EventCarePlanChanged, carePlanEvent{PersonID: v.PersonID, PlanID: v.PlanID, Version: v.Number, Status: v.Plan.Status}, c.At)
}

const planVersionColumns = `v.person_id, v.plan_id, v.version, v.kind, v.reason,
	v.changed_by, v.changed_by_name, v.changed_by_role, v.changed_by_professional, v.changed_at, v.document`

// PlanVersion returns version n of a plan, the current one for n = 0.
func (db *DB) PlanVersion(ctx context.Context, planID int64, n int) (careplan.Version, error) {
	var v careplan.Version
	if err := db.ready(); err != nil {
		return v, err
	}
	q := `SELECT ` + planVersionColumns + ` FROM careplans c JOIN careplan_versions v
		ON v.person_id = c.person_id AND v.plan_id = c.plan_id AND v.version = c.current_version WHERE c.plan_id = ?`
	args := []any{planID}
	if n != 0 {
		q = `SELECT ` + planVersionColumns + ` FROM careplans c JOIN careplan_versions v
		ON v.person_id = c.person_id AND v.plan_id = c.plan_id WHERE c.plan_id = ? AND v.version = ?`
		args = append(args, n)
	}
	var kind, doc string
	err := db.queryRow(ctx, db.d.rebind(q), args...).Scan(&v.PersonID, &v.PlanID, &v.Number, &kind, &v.Change.Reason,
		&v.Change.By.UserID, &v.Change.By.Name, &v.Change.By.Role, &v.Change.By.ProfessionalID, timeDest{&v.Change.At}, &doc)
	if errors.Is(err, sql.ErrNoRows) {
		if n != 0 {
			return v, apperr.Ef(apperr.NotFound, "no version %d of care plan %d", n, planID)
		}
		return v, apperr.Ef(apperr.NotFound, "no care plan %d", planID)
	}
	if err != nil {
		return v, classify(err, "reading a care plan")
	}
	v.Change.Kind = careplan.ChangeKind(kind)
	if err := json.Unmarshal([]byte(doc), &v.Plan); err != nil {
		return v, apperr.Wrap(apperr.Internal, err, "reading a care plan document")
	}
	return v, nil
}

// PlanHistory lists every version of a plan, oldest first, without the
// documents.
func (db *DB) PlanHistory(ctx context.Context, planID int64) ([]careplan.VersionInfo, error) {
	if err := db.ready(); err != nil {
		return nil, err
	}
	rows, err := db.sql.QueryContext(ctx, db.d.rebind(`SELECT v.version, v.status, v.kind, v.reason,
		v.changed_by, v.changed_by_name, v.changed_by_role, v.changed_by_professional, v.changed_at
		FROM careplans c JOIN careplan_versions v ON v.person_id = c.person_id AND v.plan_id = c.plan_id
		WHERE c.plan_id = ? ORDER BY v.version`), planID)
	if err != nil {
		return nil, classify(err, "listing care plan versions")
	}
	defer rows.Close()
	var out []careplan.VersionInfo
	for rows.Next() {
		var vi careplan.VersionInfo
		var status, kind string
		if err := rows.Scan(&vi.Number, &status, &kind, &vi.Change.Reason, &vi.Change.By.UserID, &vi.Change.By.Name,
			&vi.Change.By.Role, &vi.Change.By.ProfessionalID, timeDest{&vi.Change.At}); err != nil {
			return nil, classify(err, "listing care plan versions")
		}
		vi.Status, vi.Change.Kind = careplan.Status(status), careplan.ChangeKind(kind)
		out = append(out, vi)
	}
	if err := rows.Err(); err != nil {
		return nil, classify(err, "listing care plan versions")
	}
	if len(out) == 0 {
		return nil, apperr.Ef(apperr.NotFound, "no care plan %d", planID)
	}
	return out, nil
}

const planHeaderColumns = `c.plan_id, c.person_id, c.title, c.status, c.current_version, c.coordinator, c.next_review, c.created_at, c.updated_at`

func scanPlanHeader(s interface{ Scan(...any) error }) (careplan.Header, error) {
	var h careplan.Header
	var status, coord string
	var next time.Time
	if err := s.Scan(&h.PlanID, &h.PersonID, &h.Title, &status, &h.Version, &coord, timeDest{&next}, timeDest{&h.CreatedAt}, timeDest{&h.UpdatedAt}); err != nil {
		return h, err
	}
	h.Status = careplan.Status(status)
	if !next.IsZero() {
		h.NextReview = careplan.DateOf(next)
	}
	if err := json.Unmarshal([]byte(coord), &h.Coordinator); err != nil {
		return h, apperr.Wrap(apperr.Internal, err, "reading a care plan's coordinator")
	}
	return h, nil
}

// PlanHeader returns what may be known of a plan without its content.
func (db *DB) PlanHeader(ctx context.Context, planID int64) (careplan.Header, error) {
	if err := db.ready(); err != nil {
		return careplan.Header{}, err
	}
	h, err := scanPlanHeader(db.queryRow(ctx, db.d.rebind(`SELECT `+planHeaderColumns+` FROM careplans c WHERE c.plan_id = ?`), planID))
	if errors.Is(err, sql.ErrNoRows) {
		return h, apperr.Ef(apperr.NotFound, "no care plan %d", planID)
	}
	return h, classify(err, "reading a care plan")
}

func (db *DB) planHeaders(ctx context.Context, q string, args ...any) ([]careplan.Header, error) {
	rows, err := db.sql.QueryContext(ctx, db.d.rebind(q), args...)
	if err != nil {
		return nil, classify(err, "listing care plans")
	}
	defer rows.Close()
	out := []careplan.Header{}
	for rows.Next() {
		h, err := scanPlanHeader(rows)
		if err != nil {
			return nil, classify(err, "listing care plans")
		}
		out = append(out, h)
	}
	return out, classify(rows.Err(), "listing care plans")
}

// PersonPlans lists a person's plans, newest first.
func (db *DB) PersonPlans(ctx context.Context, personID int64) ([]careplan.Header, error) {
	if err := db.ready(); err != nil {
		return nil, err
	}
	return db.planHeaders(ctx, `SELECT `+planHeaderColumns+` FROM careplans c WHERE c.person_id = ? ORDER BY c.plan_id DESC`, personID)
}

// OverdueReviews lists plans in use whose next review is before q.Before,
// of the people q.ProfessionalID works with (see careplan.OverdueQuery),
// the most overdue first.
func (db *DB) OverdueReviews(ctx context.Context, q careplan.OverdueQuery) ([]careplan.Header, error) {
	if err := db.ready(); err != nil {
		return nil, err
	}
	if q.ProfessionalID == 0 {
		return []careplan.Header{}, nil
	}
	if q.Limit <= 0 || q.Limit > 1000 {
		return nil, apperr.E(apperr.Invalid, "overdue reviews: list 1 to 1000 plans")
	}
	before := q.Before.Time()
	if before.IsZero() {
		return nil, apperr.E(apperr.Invalid, "overdue reviews: give the day they are overdue at")
	}
	day := db.d.date(before)
	// The people of the professional's current teams (or of one of them).
	teams := `EXISTS (SELECT 1 FROM person_care_teams t JOIN care_team_members m ON m.team_id = t.team_id
		WHERE t.person_id = c.person_id AND m.professional_id = ?
		AND (m.start_date IS NULL OR m.start_date <= ?) AND (m.end_date IS NULL OR m.end_date > ?)
		AND t.start_date <= ? AND (t.end_date IS NULL OR t.end_date > ?)`
	args := []any{day}
	var who string
	if q.TeamID != 0 {
		who = teams + ` AND t.team_id = ?)`
		args = append(args, q.ProfessionalID, day, day, day, day, q.TeamID)
	} else {
		who = `(c.coordinator_id = ? OR ` + teams + `))`
		args = append(args, q.ProfessionalID, q.ProfessionalID, day, day, day, day)
	}
	args = append(args, q.Limit)
	return db.planHeaders(ctx, `SELECT `+planHeaderColumns+` FROM careplans c
		WHERE c.status IN ('agreed', 'active', 'under-review') AND c.next_review < ? AND `+who+`
		ORDER BY c.next_review, c.plan_id LIMIT ?`, args...)
}
