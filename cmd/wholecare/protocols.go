package main

import (
	"context"

	"github.com/wholecare/wholecare/internal/careplan/protocols"
	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/population"
)

// openProtocols opens the care protocol library over the store, seeding
// the versions shipped in the binary that the store does not hold yet.
// Protocols are checked against the same code lists and cohort language
// the population engine uses.
func openProtocols(ctx context.Context, store protocols.Store, set *codes.Set) (*protocols.Catalog, error) {
	cohort := func(text string) error { _, err := population.Parse(text, set); return err }
	concept := func(c string) bool { _, ok := set.Info(codes.Concept(c)); return ok }
	return protocols.OpenCatalog(ctx, store, cohort, concept)
}
