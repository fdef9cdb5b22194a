package sqlstore

import (
	"context"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/directory"
)

// The worklist and huddle pages name teams and the people in them (who an
// alert is assigned to, who a task can go to) and find a person to put on
// an agenda by NHS number. These reads are small and indexed, so a page
// need not load the whole directory to name a handful of teams.

// TeamRosters returns the named teams and, for each, its current members
// (as ProfessionalTeams decides membership: started, not yet ended), by
// family name.
func (db *DB) TeamRosters(ctx context.Context, ids []int64, now time.Time) ([]directory.CareTeam, map[int64][]directory.Professional, error) {
	if err := db.ready(); err != nil {
		return nil, nil, err
	}
	members := map[int64][]directory.Professional{}
	if len(ids) == 0 {
		return nil, members, nil
	}
	in := "(" + strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",") + ")"
	args := make([]any, 0, len(ids)+2)
	for _, id := range ids {
		args = append(args, id)
	}
	rows, err := db.sql.QueryContext(ctx, db.d.rebind(`SELECT id, name, org_id, kind FROM care_teams WHERE id IN `+in+` ORDER BY name, id`), args...)
	if err != nil {
		return nil, nil, classify(err, "reading care teams")
	}
	defer rows.Close()
	var teams []directory.CareTeam
	for rows.Next() {
		var t directory.CareTeam
		if err := rows.Scan(&t.ID, &t.Name, &t.OrgID, &t.Kind); err != nil {
			return nil, nil, classify(err, "reading care teams")
		}
		teams = append(teams, t)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, classify(err, "reading care teams")
	}
	rows.Close()
	today := db.d.date(now.UTC().Truncate(24 * time.Hour))
	mrows, err := db.sql.QueryContext(ctx, db.d.rebind(`SELECT m.team_id, p.id, p.given_name, p.family_name, p.profession, p.org_id, p.registration_id
		FROM care_team_members m JOIN professionals p ON p.id = m.professional_id
		WHERE m.team_id IN `+in+` AND (m.start_date IS NULL OR m.start_date <= ?) AND (m.end_date IS NULL OR m.end_date > ?)
		ORDER BY m.team_id, p.family_name, p.given_name, p.id`), append(args, today, today)...)
	if err != nil {
		return nil, nil, classify(err, "reading team members")
	}
	defer mrows.Close()
	for mrows.Next() {
		var team int64
		var p directory.Professional
		if err := mrows.Scan(&team, &p.ID, &p.GivenName, &p.FamilyName, &p.Profession, &p.OrgID, &p.RegistrationID); err != nil {
			return nil, nil, classify(err, "reading team members")
		}
		members[team] = append(members[team], p)
	}
	return teams, members, classify(mrows.Err(), "reading team members")
}

// PeopleWithNHSNumber returns the people holding an NHS number (more than
// one only while duplicates wait to be merged), in id order.
func (db *DB) PeopleWithNHSNumber(ctx context.Context, nhs string) ([]int64, error) {
	if err := db.ready(); err != nil {
		return nil, err
	}
	if nhs == "" {
		return nil, nil
	}
	rows, err := db.sql.QueryContext(ctx, db.d.rebind(`SELECT person_id FROM people WHERE nhs_number = ? AND nhs_number <> '' ORDER BY person_id LIMIT 10`), nhs)
	if err != nil {
		return nil, classify(err, "finding a person by NHS number")
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, classify(err, "finding a person by NHS number")
		}
		ids = append(ids, id)
	}
	return ids, classify(rows.Err(), "finding a person by NHS number")
}
