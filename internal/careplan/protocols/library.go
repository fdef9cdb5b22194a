package protocols

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/wholecare/wholecare/internal/apperr"
)

//go:embed library/*.json
var shipped embed.FS

// Library holds every version of every protocol it was given. A Library
// is not changed after it is made: With returns a new one, so readers
// never need a lock.
type Library struct {
	byID map[string][]*Protocol // ascending version
}

// Shipped returns the library built into the binary, checked with cohort
// and concept.
func Shipped(cohort CohortChecker, concept ConceptChecker) (*Library, error) {
	return LoadFS(shipped, "library", cohort, concept)
}

// LoadFS reads every *.json file in dir of fsys, one protocol version a
// file, and checks each. A mistake names the file.
func LoadFS(fsys fs.FS, dir string, cohort CohortChecker, concept ConceptChecker) (*Library, error) {
	ps, _, err := readDir(fsys, dir, cohort, concept)
	if err != nil {
		return nil, err
	}
	return build(ps)
}

// readDir reads and checks every *.json file in dir of fsys, returning
// each protocol with its document as it was written.
func readDir(fsys fs.FS, dir string, cohort CohortChecker, concept ConceptChecker) ([]*Protocol, [][]byte, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, nil, apperr.Wrap(apperr.Internal, err, "protocols: read library")
	}
	var ps []*Protocol
	var docs [][]byte
	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".json" {
			continue
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, nil, apperr.Wrap(apperr.Internal, err, "protocols: read "+e.Name())
		}
		p, err := Decode(b)
		if err == nil {
			err = p.Validate(cohort, concept)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
		ps, docs = append(ps, p), append(docs, b)
	}
	return ps, docs, nil
}

// Decode reads one protocol document strictly: an unknown field, a wrong
// type or trailing data is an error naming where it is. It does not
// Validate.
func Decode(b []byte) (*Protocol, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var p Protocol
	if err := dec.Decode(&p); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return nil, apperr.Ef(apperr.Invalid, "protocol: not JSON at byte %d: %v", se.Offset, err)
		case errors.As(err, &te):
			return nil, apperr.Ef(apperr.Invalid, "protocol: %s: want %s, got JSON %s", te.Field, te.Type, te.Value)
		case errors.Is(err, io.EOF):
			return nil, apperr.E(apperr.Invalid, "protocol: empty document")
		}
		return nil, apperr.Ef(apperr.Invalid, "protocol: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, apperr.E(apperr.Invalid, "protocol: data after the document")
	}
	return &p, nil
}

func build(ps []*Protocol) (*Library, error) {
	l := &Library{byID: map[string][]*Protocol{}}
	for _, p := range ps {
		l.byID[p.ID] = append(l.byID[p.ID], p)
	}
	for id, vs := range l.byID {
		slices.SortFunc(vs, func(a, b *Protocol) int { return a.Version - b.Version })
		for i, p := range vs {
			if p.Version != i+1 {
				return nil, apperr.Ef(apperr.Invalid, "protocol %s: versions must run 1, 2, 3 … without gaps or repeats; found version %d where %d was expected", id, p.Version, i+1)
			}
		}
	}
	return l, nil
}

// With returns a library that also holds p, the next version of its
// protocol (or version 1 of a new one). p must already be valid.
func (l *Library) With(p *Protocol) (*Library, error) {
	vs := l.byID[p.ID]
	if want := len(vs) + 1; p.Version != want {
		if len(vs) == 0 {
			return nil, apperr.Ef(apperr.Invalid, "protocol %s is new: its first version is 1, not %d", p.ID, p.Version)
		}
		return nil, apperr.Ef(apperr.Conflict, "protocol %s is at version %d: a revision must be version %d, not %d", p.ID, len(vs), want, p.Version)
	}
	n := &Library{byID: make(map[string][]*Protocol, len(l.byID)+1)}
	for id, v := range l.byID {
		n.byID[id] = v
	}
	n.byID[p.ID] = append(slices.Clip(vs), p)
	return n, nil
}

// Latest returns the newest version of the protocol id.
func (l *Library) Latest(id string) (*Protocol, bool) {
	vs := l.byID[id]
	if len(vs) == 0 {
		return nil, false
	}
	return vs[len(vs)-1], true
}

// Version returns one version of a protocol.
func (l *Library) Version(id string, v int) (*Protocol, bool) {
	vs := l.byID[id]
	if v < 1 || v > len(vs) {
		return nil, false
	}
	return vs[v-1], true
}

// Get finds a protocol by id ("copd", the newest version) or by key
// ("copd@1").
func (l *Library) Get(ref string) (*Protocol, error) {
	id, ver, hasVer := strings.Cut(ref, "@")
	if !hasVer {
		if p, ok := l.Latest(id); ok {
			return p, nil
		}
		return nil, apperr.Ef(apperr.NotFound, "no protocol %q", id)
	}
	var v int
	if _, err := fmt.Sscanf(ver, "%d", &v); err != nil || fmt.Sprint(v) != ver {
		return nil, apperr.Ef(apperr.Invalid, "protocol %q: the version after @ must be a number", ref)
	}
	if p, ok := l.Version(id, v); ok {
		return p, nil
	}
	return nil, apperr.Ef(apperr.NotFound, "no protocol %q", ref)
}

// Versions returns every version of a protocol, oldest first.
func (l *Library) Versions(id string) []*Protocol { return slices.Clone(l.byID[id]) }

// Current returns the newest version of every protocol, by id.
func (l *Library) Current() []*Protocol {
	out := make([]*Protocol, 0, len(l.byID))
	for _, vs := range l.byID {
		out = append(out, vs[len(vs)-1])
	}
	slices.SortFunc(out, func(a, b *Protocol) int { return strings.Compare(a.ID, b.ID) })
	return out
}
