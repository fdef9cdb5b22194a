package auth

import (
	"strings"

	"github.com/wholecare/wholecare/internal/apperr"
)

// Scope is a SMART on FHIR style scope: context/Type.access, such as
// system/Patient.read, system/*.read or user/Observation.write. SMART v2
// access letters are accepted too: r and s read, c, u and d write
// (system/Observation.rs is system/Observation.read).
type Scope struct {
	Context string // "system" for system clients, "user" for a user's own token
	Type    string // a FHIR resource type, or "*"
	Read    bool
	Write   bool
}

// Scopes is what a token may do.
type Scopes []Scope

// ParseScope parses one scope.
func ParseScope(s string) (Scope, error) {
	ctx, rest, ok := strings.Cut(s, "/")
	if !ok || (ctx != "system" && ctx != "user") {
		return Scope{}, apperr.Ef(apperr.Invalid, "scope %q: want system/Type.read, system/Type.write or user/Type.read", s)
	}
	typ, access, ok := strings.Cut(rest, ".")
	if !ok || typ == "" || !validScopeType(typ) {
		return Scope{}, apperr.Ef(apperr.Invalid, "scope %q: want a resource type or * before the dot", s)
	}
	sc := Scope{Context: ctx, Type: typ}
	switch access {
	case "read":
		sc.Read = true
	case "write":
		sc.Write = true
	case "*":
		sc.Read, sc.Write = true, true
	default:
		if access == "" {
			return Scope{}, apperr.Ef(apperr.Invalid, "scope %q: want read, write or * after the dot", s)
		}
		for _, c := range access {
			switch c {
			case 'r', 's':
				sc.Read = true
			case 'c', 'u', 'd':
				sc.Write = true
			default:
				return Scope{}, apperr.Ef(apperr.Invalid, "scope %q: want read, write, * or SMART v2 letters cruds after the dot", s)
			}
		}
	}
	return sc, nil
}

func validScopeType(t string) bool {
	if t == "*" {
		return true
	}
	if t[0] < 'A' || t[0] > 'Z' {
		return false
	}
	for _, c := range t {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

// ParseScopes parses a space- or comma-separated list of scopes.
func ParseScopes(s string) (Scopes, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' })
	if len(fields) == 0 {
		return nil, apperr.E(apperr.Invalid, "no scopes given")
	}
	out := make(Scopes, 0, len(fields))
	for _, f := range fields {
		sc, err := ParseScope(f)
		if err != nil {
			return nil, err
		}
		out = append(out, sc)
	}
	return out, nil
}

// String gives the scope in its v1 form.
func (s Scope) String() string {
	access := "read"
	switch {
	case s.Read && s.Write:
		access = "*"
	case s.Write:
		access = "write"
	}
	return s.Context + "/" + s.Type + "." + access
}

// String joins the scopes with spaces.
func (ss Scopes) String() string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = s.String()
	}
	return strings.Join(parts, " ")
}

// Allows reports whether the scopes grant reading (write=false) or writing
// resourceType.
func (ss Scopes) Allows(resourceType string, write bool) bool {
	for _, s := range ss {
		if s.Type != "*" && s.Type != resourceType {
			continue
		}
		if write && s.Write || !write && s.Read {
			return true
		}
	}
	return false
}

// System reports whether any scope is a system scope.
func (ss Scopes) System() bool {
	for _, s := range ss {
		if s.Context == "system" {
			return true
		}
	}
	return false
}
