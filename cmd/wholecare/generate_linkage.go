package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/wholecare/wholecare/internal/linkage"
)

// linkageSpec is what generate --linkage-records asks for.
type linkageSpec struct {
	records    int
	duplicates float64
	seed       int64
	out, truth string
	replace    bool
}

func (s linkageSpec) valid() error {
	switch {
	case s.records < 2 || s.records > 20_000_000:
		return &usageError{fmt.Sprintf("--linkage-records %d: choose from 2 to 20,000,000", s.records)}
	case s.duplicates < 0 || s.duplicates > 1:
		return &usageError{fmt.Sprintf("--duplicates %g: give the share of people recorded more than once, from 0 to 1", s.duplicates)}
	case s.out == "":
		return &usageError{"--linkage-records: name the CSV of person records with --out FILE"}
	case s.truth != "" && filepath.Clean(s.truth) == filepath.Clean(s.out):
		return &usageError{"--truth and --out must be different files"}
	}
	return nil
}

// linkageHeader is the header `wholecare link` reads.
var linkageHeader = []string{"rec_id", "given_name", "surname", "date_of_birth", "sex", "postcode", "address", "nhs_number"}

// generateLinkage writes synthetic person records, a share of them
// duplicated with realistic errors, and the true duplicate pairs: the
// input and the answer key of `wholecare link`.
func generateLinkage(ctx context.Context, e *env, s linkageSpec) error {
	start := time.Now()
	for _, p := range []string{s.out, s.truth} {
		if p == "" || s.replace {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return &usageError{fmt.Sprintf("%s exists: choose another file or give --replace", p)}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("generate: %w", err)
		}
	}
	recs, pairs := linkage.Synthetic(s.records, s.duplicates, uint64(s.seed))
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("interrupted: nothing was written")
	}
	err := writeCSVFile(s.out, func(w *csv.Writer) error {
		if err := w.Write(linkageHeader); err != nil {
			return err
		}
		row := make([]string, len(linkageHeader))
		for _, r := range recs {
			birth := ""
			if !r.BirthDate.IsZero() {
				birth = r.BirthDate.String()
			}
			row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7] =
				r.ID, r.GivenName, r.FamilyName, birth, string(r.Sex), r.Postcode, r.Address, r.NHSNumber
			if err := w.Write(row); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if s.truth != "" {
		err := writeCSVFile(s.truth, func(w *csv.Writer) error {
			if err := w.Write([]string{"rec_id_1", "rec_id_2"}); err != nil {
				return err
			}
			for _, p := range pairs {
				if err := w.Write(p[:]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stdout, "%s synthetic person records (seed %d, %s%% of people duplicated, %s true pairs) written to %s",
		thousands(len(recs)), s.seed, strconv.FormatFloat(s.duplicates*100, 'f', -1, 64), thousands(len(pairs)), s.out)
	if s.truth != "" {
		fmt.Fprintf(e.stdout, ", the true pairs to %s", s.truth)
	}
	fmt.Fprintf(e.stdout, "; took %s\n", time.Since(start).Round(time.Millisecond))
	return nil
}

// writeCSVFile writes a file whole or not at all: into a temporary file
// beside it, renamed over it at the end.
func writeCSVFile(path string, write func(w *csv.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("generate: cannot write %s: %w", path, errors.Unwrap(err))
	}
	defer os.Remove(f.Name()) // after the rename, a no-op
	bw := bufio.NewWriterSize(f, 1<<20)
	w := csv.NewWriter(bw)
	err = write(w)
	w.Flush()
	err = errors.Join(err, w.Error(), bw.Flush(), f.Close())
	if err != nil {
		return fmt.Errorf("generate: writing %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	return nil
}
