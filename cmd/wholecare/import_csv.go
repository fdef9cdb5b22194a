package main

import (
	"bufio"
	"context"
	"errors"
	"io"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/csvfeed"
)

// csvRows is how the import summary names what a CSV file holds.
const csvRows = "community CSV rows"

// csvFile imports a community person list. A bad header fails the file, a
// bad row fails that row; both are counted as errors, so the command ends
// non-zero, and every good row is applied.
func (im *importer) csvFile(ctx context.Context, path string, r io.Reader) error {
	rd, err := csvfeed.NewReader(bufio.NewReaderSize(r, 64<<10), path, im.csvSource, im.now)
	if err != nil {
		im.resources++
		im.fail(err)
		return nil
	}
	for {
		items, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		im.resources++
		im.read[csvRows]++
		if err != nil {
			im.fail(err)
			var re *csvfeed.RowError
			if errors.As(err, &re) {
				continue
			}
			if apperr.KindOf(err) != apperr.Invalid {
				return err
			}
			break // the rest of the file is not CSV
		}
		im.pending = append(im.pending, items...)
		if len(im.pending) >= importBatch {
			if err := im.flushBehind(ctx); err != nil {
				return err
			}
		}
	}
	return im.flush(ctx, false)
}
