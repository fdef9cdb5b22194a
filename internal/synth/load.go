package synth

import (
	"context"
	"fmt"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/record"
)

// Load generates spec's population into store, resuming an unfinished run
// of the same spec where it stopped. Generation of chunk k+1 overlaps with
// the save of chunk k; at most two batches exist at once, so memory stays
// at about two chunks. ctx is checked between chunks: a cancelled load
// returns an error wrapping ctx.Err() and can be resumed by calling Load
// again. progress, when not nil, is called after each saved chunk with
// the people saved so far and the total.
func Load(ctx context.Context, store Store, spec Spec, replace bool, progress func(done, total int)) (Run, error) {
	g, err := NewGenerator(spec)
	if err != nil {
		return Run{}, err
	}
	run, err := store.BeginGeneration(ctx, spec, replace)
	if err != nil {
		return Run{}, err
	}
	if run.Complete {
		return run, nil
	}
	if err := store.SaveDirectory(ctx, run.ID, g.Directory()); err != nil {
		return run, err
	}
	total := spec.Chunks()

	type job struct {
		k int
		b *record.Batch
	}
	genCtx, cancel := context.WithCancel(ctx)
	free := make(chan *record.Batch, 2)
	free <- new(record.Batch)
	free <- new(record.Batch)
	ready := make(chan job)
	go func() {
		defer close(ready)
		for k := run.ChunksDone; k < total; k++ {
			var b *record.Batch
			select {
			case b = <-free:
			case <-genCtx.Done():
				return
			}
			g.Chunk(k, run.BasePersonID, b)
			select {
			case ready <- job{k, b}:
			case <-genCtx.Done():
				return
			}
		}
	}()
	// stop ends the generator and waits for it, so no batch is touched
	// after Load returns.
	stop := func() {
		cancel()
		for range ready {
		}
	}
	defer stop()

	for k := run.ChunksDone; k < total; k++ {
		if err := ctx.Err(); err != nil {
			return run, apperr.Wrap(apperr.Unavailable, err, fmt.Sprintf("synth: load stopped after %d of %d chunks", run.ChunksDone, total))
		}
		j, ok := <-ready
		if !ok {
			return run, apperr.Wrap(apperr.Unavailable, ctx.Err(), fmt.Sprintf("synth: load stopped after %d of %d chunks", run.ChunksDone, total))
		}
		if err := store.SaveChunk(ctx, run.ID, j.k, j.b); err != nil {
			return run, err
		}
		run.ChunksDone = j.k + 1
		free <- j.b
		if progress != nil {
			progress(min(run.ChunksDone*spec.ChunkSize, spec.People), spec.People)
		}
	}
	if err := store.FinishGeneration(ctx, run.ID); err != nil {
		return run, err
	}
	run.Complete = true
	return run, nil
}
