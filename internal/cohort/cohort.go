// Package cohort keeps saved cohorts: a named cohort expression, written
// in the population engine's cohort language, that people can come back
// to (a case-finding list, a FHIR Group). A saved cohort holds the
// definition only; who is in it is worked out by the population engine
// whenever it is asked, so it is always current.
//
// It is a domain package: it must never import database, HTTP or UI
// packages.
package cohort

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wholecare/wholecare/internal/apperr"
)

// Limits on what a saved cohort may hold.
const (
	MaxName        = 120
	MaxDescription = 2000
	MaxExpression  = 4096 // population.MaxCohortText
)

// Saved is a saved cohort.
type Saved struct {
	ID          int64
	Name        string
	Expression  string // in the cohort language, e.g. "has(copd) and age >= 65"
	Description string
	CreatedBy   int64  // the user who saved it
	CreatedName string // their sign-in name, kept so the record outlives the account's name
	CreatedAt   time.Time
}

// Problems says, field by field, what is wrong with a cohort before it is
// saved. It does not parse the expression: that needs the population
// engine's concepts (see population.Parse).
func (s Saved) Problems() map[string]string {
	p := map[string]string{}
	name := strings.TrimSpace(s.Name)
	switch {
	case name == "":
		p["name"] = "give the cohort a name"
	case utf8.RuneCountInString(name) > MaxName:
		p["name"] = "at most 120 characters"
	case name != s.Name:
		p["name"] = "no spaces at the start or end"
	}
	switch {
	case strings.TrimSpace(s.Expression) == "":
		p["expression"] = "give the cohort in the cohort language, e.g. has(copd) and age >= 65"
	case len(s.Expression) > MaxExpression:
		p["expression"] = "at most 4096 bytes"
	}
	if utf8.RuneCountInString(s.Description) > MaxDescription {
		p["description"] = "at most 2000 characters"
	}
	for k, v := range map[string]string{"name": s.Name, "expression": s.Expression, "description": s.Description} {
		if !utf8.ValidString(v) {
			p[k] = "not valid UTF-8"
		}
	}
	return p
}

// Valid is Problems as one Invalid error, nil when there are none.
func (s Saved) Valid() error {
	p := s.Problems()
	if len(p) == 0 {
		return nil
	}
	var parts []string
	for _, k := range []string{"name", "expression", "description"} {
		if v, ok := p[k]; ok {
			parts = append(parts, k+": "+v)
		}
	}
	return apperr.E(apperr.Invalid, "cohort: "+strings.Join(parts, "; "))
}
