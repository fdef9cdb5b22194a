package synth

import (
	"context"
	"time"

	"github.com/wholecare/wholecare/internal/directory"
	"github.com/wholecare/wholecare/internal/record"
)

// Spec says which population to generate. The same Spec always generates the
// same population, chunk by chunk, so an interrupted run can be resumed.
type Spec struct {
	Seed      int64
	People    int
	ChunkSize int       // people per chunk (one store transaction each)
	Now       time.Time // the day the history ends (UTC midnight); part of the identity of a run
	Version   string    // generator version; a run by another version is a different population
}

// Chunks is the number of chunks the spec is cut into.
func (s Spec) Chunks() int {
	if s.ChunkSize <= 0 {
		return 0
	}
	return (s.People + s.ChunkSize - 1) / s.ChunkSize
}

// Run is a generation run as the store records it.
type Run struct {
	ID           int64
	Spec         Spec
	BasePersonID int64 // person IDs of this run are BasePersonID .. BasePersonID+People-1
	ChunksDone   int   // chunks 0..ChunksDone-1 are committed
	Complete     bool
	StartedAt    time.Time
	FinishedAt   time.Time
}

// Store is what the generator needs of the store. sqlstore.DB implements it.
//
// BeginGeneration returns the run to continue: the finished run for an equal
// spec (Complete true, nothing to do), the unfinished run for an equal spec
// (resume from ChunksDone), or a new run with a freshly reserved block of
// person IDs. When the store holds a run for a different spec it returns an
// apperr.Conflict error unless replace is true, in which case it first
// removes that run and every row it wrote, in one transaction.
//
// SaveChunk writes one whole chunk and advances ChunksDone in the same
// transaction: a crash leaves either all of the chunk or none of it. Chunks
// are saved in order; saving chunk k when ChunksDone != k is an
// apperr.Conflict error.
type Store interface {
	BeginGeneration(ctx context.Context, spec Spec, replace bool) (Run, error)
	SaveDirectory(ctx context.Context, runID int64, d *directory.Directory) error
	SaveChunk(ctx context.Context, runID int64, chunk int, b *record.Batch) error
	FinishGeneration(ctx context.Context, runID int64) error
}
