package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/fhir/query"
	"github.com/wholecare/wholecare/internal/riskmodel"
)

// Stored risk scores: one row per person, model version and as-of day,
// never rewritten, so a person's history of scores stays.

const scoreColumns = `person_id, model_version, as_of, model_kind, probability, band, computed_at, factors`

// scoreRows is how many scores one INSERT carries: 8 parameters each,
// well inside both databases' limits.
const scoreRows = 500

// SaveRiskScores stores scores, a multi-row INSERT per few hundred, in one
// transaction. A score already stored for the same person, model version
// and as-of day is left as it is (the first computation stands), so a run
// that is repeated adds nothing. It returns how many scores were added.
func (db *DB) SaveRiskScores(ctx context.Context, scores []riskmodel.Score) (int, error) {
	if err := db.ready(); err != nil {
		return 0, err
	}
	for _, s := range scores {
		if err := s.Valid(); err != nil {
			return 0, err
		}
	}
	if len(scores) == 0 {
		return 0, nil
	}
	sqlTx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return 0, classify(err, "storing risk scores")
	}
	defer sqlTx.Rollback()
	tx := db.cached(sqlTx)
	added := 0
	args := make([]any, 0, 8*scoreRows)
	for lo := 0; lo < len(scores); lo += scoreRows {
		chunk := scores[lo:min(len(scores), lo+scoreRows)]
		args = args[:0]
		for _, s := range chunk {
			factors := s.Factors
			if factors == nil {
				factors = []riskmodel.Factor{}
			}
			raw, err := json.Marshal(factors)
			if err != nil {
				return 0, apperr.Wrap(apperr.Internal, err, "encoding risk factors")
			}
			args = append(args, s.PersonID, s.ModelVersion, db.d.date(s.AsOf), s.ModelKind, s.Probability, int(s.Band),
				db.d.instant(s.ComputedAt), string(raw))
		}
		q := `INSERT INTO risk_scores (` + scoreColumns + `) VALUES ` +
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?), ", len(chunk)), ", ") +
			` ON CONFLICT (person_id, model_version, as_of) DO NOTHING`
		res, err := tx.ExecContext(ctx, db.d.rebind(q), args...)
		if err != nil {
			return 0, classify(err, "storing risk scores")
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, classify(err, "storing risk scores")
		}
		added += int(n)
	}
	if err := tx.Commit(); err != nil {
		return 0, classify(err, "storing risk scores")
	}
	return added, nil
}

func scanScores(rows *sql.Rows) ([]riskmodel.Score, error) {
	defer rows.Close()
	var out []riskmodel.Score
	for rows.Next() {
		var s riskmodel.Score
		var band int
		var factors string
		if err := rows.Scan(&s.PersonID, &s.ModelVersion, timeDest{&s.AsOf}, &s.ModelKind, &s.Probability, &band,
			timeDest{&s.ComputedAt}, &factors); err != nil {
			return nil, classify(err, "reading risk scores")
		}
		s.Band = uint8(band)
		if err := json.Unmarshal([]byte(factors), &s.Factors); err != nil {
			return nil, apperr.Wrap(apperr.Internal, err, "reading risk factors")
		}
		if len(s.Factors) == 0 {
			s.Factors = nil
		}
		out = append(out, s)
	}
	return out, classify(rows.Err(), "reading risk scores")
}

// RiskScore returns one stored score; NotFound when there is none.
func (db *DB) RiskScore(ctx context.Context, person int64, version string, asOf time.Time) (riskmodel.Score, error) {
	if err := db.ready(); err != nil {
		return riskmodel.Score{}, err
	}
	rows, err := db.sql.QueryContext(ctx, db.d.rebind(`SELECT `+scoreColumns+` FROM risk_scores
		WHERE person_id = ? AND model_version = ? AND as_of = ?`), person, version, db.d.date(asOf.UTC().Truncate(24*time.Hour)))
	if err != nil {
		return riskmodel.Score{}, classify(err, "reading risk scores")
	}
	ss, err := scanScores(rows)
	if err != nil {
		return riskmodel.Score{}, err
	}
	if len(ss) == 0 {
		return riskmodel.Score{}, apperr.E(apperr.NotFound, "no such risk score")
	}
	return ss[0], nil
}

// RiskScoreHistory returns every stored score of one person, newest as-of
// day first (then the latest computed first).
func (db *DB) RiskScoreHistory(ctx context.Context, person int64) ([]riskmodel.Score, error) {
	if err := db.ready(); err != nil {
		return nil, err
	}
	rows, err := db.sql.QueryContext(ctx, db.d.rebind(`SELECT `+scoreColumns+` FROM risk_scores
		WHERE person_id = ? ORDER BY as_of DESC, computed_at DESC, model_version`), person)
	if err != nil {
		return nil, classify(err, "reading risk scores")
	}
	return scanScores(rows)
}

// LatestRiskScores returns, for each of people who has one, their latest
// stored score (the newest as-of day; of those, the latest computed), in
// person id order.
func (db *DB) LatestRiskScores(ctx context.Context, people []int64) ([]riskmodel.Score, error) {
	if err := db.ready(); err != nil {
		return nil, err
	}
	var out []riskmodel.Score
	for lo := 0; lo < len(people); lo += scoreRows {
		in, args := inList(people[lo:min(len(people), lo+scoreRows)])
		rows, err := db.sql.QueryContext(ctx, db.d.rebind(`SELECT `+scoreColumns+` FROM (
			SELECT `+scoreColumns+`, ROW_NUMBER() OVER (PARTITION BY person_id ORDER BY as_of DESC, computed_at DESC, model_version) AS n
			FROM risk_scores WHERE person_id `+in+`) latest WHERE n = 1 ORDER BY person_id`), args...)
		if err != nil {
			return nil, classify(err, "reading risk scores")
		}
		ss, err := scanScores(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, ss...)
	}
	return out, nil
}

// scoresWhere is the WHERE clause of q: its people and its as-of clauses.
func (db *DB) scoresWhere(q query.Scores) (string, []any, error) {
	var conds []string
	var args []any
	if q.People != nil {
		in, a := inList(q.People)
		conds = append(conds, "person_id "+in)
		args = append(args, a...)
	}
	for _, cl := range q.Where {
		var alts []string
		for _, f := range cl {
			if f.Field != query.Date {
				return "", nil, apperr.E(apperr.Internal, "sqlstore: risk scores are searched by date only")
			}
			c, a := dateCond("as_of", f.Date, db.d.date)
			alts = append(alts, c)
			args = append(args, a...)
		}
		if len(alts) == 0 {
			alts = append(alts, "1 = 0")
		}
		conds = append(conds, "("+strings.Join(alts, " OR ")+")")
	}
	if len(conds) == 0 {
		return "", nil, nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args, nil
}

// SearchRiskScores returns the stored scores matching q, by person, then
// newest as-of day first, then model version.
func (db *DB) SearchRiskScores(ctx context.Context, q query.Scores) ([]riskmodel.Score, error) {
	if err := db.ready(); err != nil {
		return nil, err
	}
	if q.People != nil && len(q.People) == 0 {
		return nil, nil
	}
	where, args, err := db.scoresWhere(q)
	if err != nil {
		return nil, err
	}
	s := `SELECT ` + scoreColumns + ` FROM risk_scores` + where + ` ORDER BY person_id, as_of DESC, model_version`
	if q.Limit > 0 {
		s += ` LIMIT ? OFFSET ?`
		args = append(args, q.Limit, q.Offset)
	} else if q.Offset > 0 {
		return nil, apperr.E(apperr.Internal, "sqlstore: an offset needs a limit")
	}
	rows, err := db.sql.QueryContext(ctx, db.d.rebind(s), args...)
	if err != nil {
		return nil, classify(err, "reading risk scores")
	}
	return scanScores(rows)
}

// CountRiskScores counts the stored scores matching q.
func (db *DB) CountRiskScores(ctx context.Context, q query.Scores) (int, error) {
	if err := db.ready(); err != nil {
		return 0, err
	}
	if q.People != nil && len(q.People) == 0 {
		return 0, nil
	}
	where, args, err := db.scoresWhere(q)
	if err != nil {
		return 0, err
	}
	var n int
	if err := db.sql.QueryRowContext(ctx, db.d.rebind(`SELECT count(*) FROM risk_scores`+where), args...).Scan(&n); err != nil {
		return 0, classify(err, "counting risk scores")
	}
	return n, nil
}
