package protocols

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
)

// Stored is one protocol version as the store keeps it: the document
// exactly as it was given, who added it and when.
type Stored struct {
	ID        string    `json:"id"`
	Version   int       `json:"version"`
	Document  []byte    `json:"-"`
	Author    string    `json:"author"`
	CreatedAt time.Time `json:"created_at"`
}

// ShippedAuthor is the author of the versions built into the binary.
const ShippedAuthor = "shipped with Wholecare"

// Store keeps protocol versions (sqlstore.DB implements it).
type Store interface {
	ProtocolVersions(ctx context.Context) ([]Stored, error)
	AddProtocolVersions(ctx context.Context, vs []Stored, ifAbsent bool) (int, error)
}

// Catalog is the library as the store holds it: the shipped versions,
// seeded on open, and every revision administrators have added. Reads
// take no lock; revisions are serialised.
type Catalog struct {
	store   Store
	cohort  CohortChecker
	concept ConceptChecker
	lib     atomic.Pointer[Library]
	meta    atomic.Pointer[map[string]Stored] // by Key, without documents
	mu      sync.Mutex
}

// OpenCatalog stores any shipped version the store lacks, then loads every
// stored version. A version is checked against cohort and concept when it
// is added; stored versions are loaded as they are, so that a plan can
// always read the version it applied.
func OpenCatalog(ctx context.Context, store Store, cohort CohortChecker, concept ConceptChecker) (*Catalog, error) {
	seed, err := shippedDocs(cohort, concept)
	if err != nil {
		return nil, err
	}
	if _, err := store.AddProtocolVersions(ctx, seed, true); err != nil {
		return nil, err
	}
	c := &Catalog{store: store, cohort: cohort, concept: concept}
	if err := c.reload(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

func shippedDocs(cohort CohortChecker, concept ConceptChecker) ([]Stored, error) {
	ps, docs, err := readDir(shipped, "library", cohort, concept)
	if err != nil {
		return nil, fmt.Errorf("shipped protocol %w", err)
	}
	out := make([]Stored, len(ps))
	for i, p := range ps {
		out[i] = Stored{ID: p.ID, Version: p.Version, Document: docs[i], Author: ShippedAuthor}
	}
	return out, nil
}

func (c *Catalog) reload(ctx context.Context) error {
	vs, err := c.store.ProtocolVersions(ctx)
	if err != nil {
		return err
	}
	ps := make([]*Protocol, 0, len(vs))
	meta := make(map[string]Stored, len(vs))
	for _, v := range vs {
		p, err := Decode(v.Document)
		if err != nil {
			return apperr.Wrap(apperr.Internal, err, fmt.Sprintf("stored protocol %s@%d", v.ID, v.Version))
		}
		if p.ID != v.ID || p.Version != v.Version {
			return apperr.Ef(apperr.Internal, "stored protocol %s@%d holds the document of %s", v.ID, v.Version, p.Key())
		}
		ps = append(ps, p)
		v.Document = nil
		meta[p.Key()] = v
	}
	lib, err := build(ps)
	if err != nil {
		return err
	}
	c.lib.Store(lib)
	c.meta.Store(&meta)
	return nil
}

// Library returns the library as it stands.
func (c *Catalog) Library() *Library { return c.lib.Load() }

// About returns who added a version and when.
func (c *Catalog) About(p *Protocol) Stored { return (*c.meta.Load())[p.Key()] }

// Add checks a protocol document and stores it as the next version of its
// protocol (version 1 of a new one). A document whose version is not the
// next one is Conflict (someone else revised it first) or Invalid.
func (c *Catalog) Add(ctx context.Context, doc []byte, author string) (*Protocol, error) {
	if author == "" {
		return nil, apperr.E(apperr.Invalid, "protocols: a version needs an author")
	}
	p, err := Decode(doc)
	if err != nil {
		return nil, err
	}
	if err := p.Validate(c.cohort, c.concept); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.Library().With(p); err != nil {
		return nil, err
	}
	if _, err := c.store.AddProtocolVersions(ctx, []Stored{{ID: p.ID, Version: p.Version, Document: doc, Author: author, CreatedAt: time.Now()}}, false); err != nil {
		return nil, err
	}
	// Reload rather than With: another process may have added versions of
	// other protocols to the same store.
	if err := c.reload(ctx); err != nil {
		return nil, err
	}
	return p, nil
}
