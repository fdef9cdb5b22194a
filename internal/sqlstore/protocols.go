package sqlstore

import (
	"context"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/careplan/protocols"
)

// ProtocolVersions returns every stored version of every care protocol,
// by protocol id and version.
func (db *DB) ProtocolVersions(ctx context.Context) ([]protocols.Stored, error) {
	if err := db.ready(); err != nil {
		return nil, err
	}
	rows, err := db.sql.QueryContext(ctx, `SELECT protocol_id, version, document, author, created_at FROM protocol_versions ORDER BY protocol_id, version`)
	if err != nil {
		return nil, classify(err, "reading protocols")
	}
	defer rows.Close()
	var out []protocols.Stored
	for rows.Next() {
		var s protocols.Stored
		var doc string
		if err := rows.Scan(&s.ID, &s.Version, &doc, &s.Author, timeDest{&s.CreatedAt}); err != nil {
			return nil, classify(err, "reading protocols")
		}
		s.Document = []byte(doc)
		out = append(out, s)
	}
	return out, classify(rows.Err(), "reading protocols")
}

// AddProtocolVersions stores protocol versions in one transaction. A
// version already stored is Conflict, unless ifAbsent is set, when it is
// left as it is (seeding the shipped library on every start). It returns
// how many were added.
func (db *DB) AddProtocolVersions(ctx context.Context, vs []protocols.Stored, ifAbsent bool) (int, error) {
	if err := db.ready(); err != nil {
		return 0, err
	}
	for _, v := range vs {
		if v.ID == "" || v.Version < 1 || len(v.Document) == 0 || v.Author == "" {
			return 0, apperr.Ef(apperr.Invalid, "protocol %s@%d: id, version, document and author are required", v.ID, v.Version)
		}
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return 0, classify(err, "storing protocols")
	}
	defer tx.Rollback()
	q := `INSERT INTO protocol_versions (protocol_id, version, document, author, created_at) VALUES (?, ?, ?, ?, ?)`
	if ifAbsent {
		q += ` ON CONFLICT (protocol_id, version) DO NOTHING`
	}
	q = db.d.rebind(q)
	added := 0
	for _, v := range vs {
		at := v.CreatedAt
		if at.IsZero() {
			at = time.Now()
		}
		res, err := tx.ExecContext(ctx, q, v.ID, v.Version, string(v.Document), v.Author, db.d.instant(at))
		if err != nil {
			if apperr.Is(classify(err, ""), apperr.Conflict) {
				return 0, apperr.Ef(apperr.Conflict, "protocol %s version %d is already stored: a revision needs the next version number", v.ID, v.Version)
			}
			return 0, classify(err, "storing protocols")
		}
		if n, err := res.RowsAffected(); err == nil {
			added += int(n)
		}
	}
	return added, classify(tx.Commit(), "storing protocols")
}
