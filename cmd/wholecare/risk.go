package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/population"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/risk"
	"github.com/wholecare/wholecare/internal/riskmodel"
	"github.com/wholecare/wholecare/internal/sqlstore"
)

// runRisk trains, evaluates and applies the 12-month emergency admission
// risk model.
func runRisk(ctx context.Context, e *env, args []string) error {
	const usage = "risk: want a subcommand: train, evaluate or score (see wholecare risk SUBCOMMAND --help)"
	if len(args) == 0 {
		return &usageError{usage}
	}
	switch args[0] {
	case "train":
		return runRiskTrain(ctx, e, args[1:])
	case "evaluate":
		return runRiskEvaluate(ctx, e, args[1:])
	case "score":
		return runRiskScore(ctx, e, args[1:])
	case "-h", "--help", "help":
		fmt.Fprintln(e.stdout, "Usage: wholecare risk train|evaluate|score [flags]")
		fmt.Fprintln(e.stdout, "  train     fit both models on a cut-off, validate on the year after, save the better")
		fmt.Fprintln(e.stdout, "  evaluate  measure a saved model on another cut-off")
		fmt.Fprintln(e.stdout, "  score     score everyone with a saved model and print the distribution (--store keeps the scores)")
		return flag.ErrHelp
	}
	return &usageError{fmt.Sprintf("risk: unknown subcommand %q; %s", args[0], usage)}
}

func parseDay(flagName, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, &usageError{fmt.Sprintf("--%s is required: write the day as YYYY-MM-DD", flagName)}
	}
	d, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, &usageError{fmt.Sprintf("--%s %q: write the day as YYYY-MM-DD", flagName, v)}
	}
	return d, nil
}

// riskEnv is what every risk subcommand opens.
type riskEnv struct {
	db *sqlstore.DB
	b  *riskmodel.Builder
}

func openRisk(ctx context.Context, e *env, cfg config) (*riskEnv, error) {
	log, err := newLogger(e.stderr, cfg.logFormat, cfg.logLevel)
	if err != nil {
		return nil, err
	}
	db, err := openMigrated(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	set, err := codes.Load()
	if err != nil {
		db.Close()
		return nil, err
	}
	scorer, err := risk.New(set)
	if err != nil {
		db.Close()
		return nil, err
	}
	b, err := riskmodel.NewBuilder(set, scorer)
	if err != nil {
		db.Close()
		return nil, err
	}
	return &riskEnv{db: db, b: b}, nil
}

// features walks the whole store once and builds, for each cut-off, the
// feature matrix of the people eligible at it with their labels. It also
// returns the start of the latest encounter, so that callers can tell
// whether the year after a cut-off is in the data at all.
func (r *riskEnv) features(ctx context.Context, e *env, cutoffs []time.Time) ([]*riskmodel.Dataset, time.Time, error) {
	out := make([]*riskmodel.Dataset, len(cutoffs))
	for i := range out {
		out[i] = &riskmodel.Dataset{P: r.b.Width()}
	}
	counts, err := r.db.Counts(ctx)
	if err != nil {
		return nil, time.Time{}, err
	}
	total := int(counts["people"])
	bar := newProgressBar(e.stderr, "reading records", "people", time.Now)
	defer bar.Finish()
	// One goroutine reads the next batch while this one builds the
	// features of the last: the store and the features each take about
	// half the time.
	type batchPkgs struct {
		b    *record.Batch
		pkgs []record.SocialCarePackage
		err  error
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan batchPkgs, 1)
	go func() {
		defer close(batches)
		var after int64
		for {
			// A merged person is one person: their records come folded
			// into the survivor's (care packages are read by the
			// survivors' id range, so a merged record's packages outside
			// it are not counted).
			b, err := r.db.ClusterBatch(ctx, after, population.BuildBatch)
			var pkgs []record.SocialCarePackage
			if err == nil && len(b.People) > 0 {
				pkgs, err = r.db.SocialCarePackages(ctx, b.People[0].ID, b.People[len(b.People)-1].ID)
			}
			if err == nil && len(b.People) == 0 {
				return
			}
			select {
			case batches <- batchPkgs{b, pkgs, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
			after = b.People[len(b.People)-1].ID
		}
	}()
	var latest time.Time
	row := make([]float32, r.b.Width())
	seen := 0
	for bp := range batches {
		if bp.err != nil {
			return nil, time.Time{}, bp.err
		}
		batch := bp.b
		for _, enc := range batch.Encounters {
			if enc.Start.After(latest) {
				latest = enc.Start
			}
		}
		byPerson := map[int64][]record.SocialCarePackage{}
		for _, p := range bp.pkgs {
			byPerson[p.PersonID] = append(byPerson[p.PersonID], p)
		}
		for _, rec := range risk.Records(batch) {
			p := riskmodel.Person{Record: &rec, Packages: byPerson[rec.Person.ID]}
			for i, c := range cutoffs {
				if !riskmodel.Eligible(rec.Person, c) {
					continue
				}
				if err := r.b.Row(p, c, row); err != nil {
					return nil, time.Time{}, err
				}
				out[i].Add(rec.Person.ID, row, riskmodel.Label(&rec, c))
			}
		}
		seen += len(batch.People)
		bar.Set(seen, max(total, seen))
	}
	if err := ctx.Err(); err != nil {
		return nil, time.Time{}, err
	}
	return out, latest, nil
}

// checkFollowUp refuses a cut-off whose year of follow-up runs past the
// data: every label would read "no admission" for want of records.
func checkFollowUp(cutoff, latest time.Time) error {
	end := cutoff.AddDate(0, riskmodel.Horizon, 0)
	if latest.IsZero() {
		return fmt.Errorf("the store holds no encounters: nothing to learn emergency admissions from")
	}
	if latest.Before(end.AddDate(0, -1, 0)) {
		return &usageError{fmt.Sprintf("the year after cut-off %s runs to %s, but the latest encounter in the store starts %s: choose a cut-off at least a year before the end of the data",
			cutoff.Format(time.DateOnly), end.Format(time.DateOnly), latest.Format(time.DateOnly))}
	}
	return nil
}

func runRiskTrain(ctx context.Context, e *env, args []string) error {
	cfg := defaultConfig(e.getenv)
	fs := flag.NewFlagSet("risk train", flag.ContinueOnError)
	cfg.dbFlag(fs)
	cfg.logFlags(fs)
	cut := fs.String("cutoff", "", "the training cut-off T0, YYYY-MM-DD: features before it, labels from the year after; validation uses T0 + 1 year")
	out := fs.String("out", "riskmodel.json", "where to save the chosen model")
	export := fs.String("export-features", "", "also write the feature matrices as CSV into this directory (for scripts/compare_sklearn.py)")
	if err := parseFlags(fs, e, args, "--cutoff YYYY-MM-DD [--db DSN] [--out model.json] [--export-features DIR]"); err != nil {
		return err
	}
	t0, err := parseDay("cutoff", *cut)
	if err != nil {
		return err
	}
	t1 := t0.AddDate(1, 0, 0)
	r, err := openRisk(ctx, e, cfg)
	if err != nil {
		return err
	}
	defer r.db.Close()
	start := time.Now()
	sets, latest, err := r.features(ctx, e, []time.Time{t0, t1})
	if err != nil {
		return err
	}
	if err := checkFollowUp(t1, latest); err != nil {
		return err
	}
	train, valid := sets[0], sets[1]
	fmt.Fprintf(e.stdout, "Features: %d people at %s (%d admitted in the year after), %d at %s (%d); read in %s\n",
		train.Len(), t0.Format(time.DateOnly), train.Positives(), valid.Len(), t1.Format(time.DateOnly), valid.Positives(),
		time.Since(start).Round(time.Millisecond))
	spec := riskmodel.TrainSpec{TrainCutoff: t0, ValidCutoff: t1, Logistic: riskmodel.DefaultLogisticSpec, GBT: riskmodel.DefaultGBTSpec}
	res, err := riskmodel.Train(ctx, r.b, train, valid, spec, time.Now)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\nTrained on cut-off %s, validated on %s (labels: an emergency admission in the next 12 months)\n\n",
		t0.Format(time.DateOnly), t1.Format(time.DateOnly))
	printCandidates(e.stdout, res)
	fmt.Fprintf(e.stdout, "\nChosen: %s (higher validation AUROC), version %s\n\n", res.Chosen.Kind, res.Chosen.Version)
	printDeciles(e.stdout, res.Chosen.Validation)
	if *export != "" {
		if err := exportFeatures(*export, r.b.Names(), train, valid, res); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "\nFeature matrices written to %s (train.csv, valid.csv, wholecare.json)\n", *export)
	}
	if err := writeModel(*out, res.Chosen); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\nSaved %s to %s\n", res.Chosen.Version, *out)
	return nil
}

// writeModel writes the model next to its final name and renames it, so a
// failed write never leaves half a model where the old one was.
func writeModel(path string, m *riskmodel.Model) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".riskmodel-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriter(tmp)
	if err := m.Save(w); err != nil {
		tmp.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func printCandidates(w io.Writer, res *riskmodel.Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "model\tfit\ttrain AUROC\tAUROC\tavg precision\tcal. slope\tcal. intercept\tBrier\ttrees\t")
	for _, c := range []riskmodel.Candidate{res.Logistic, res.GBT} {
		v := c.Model.Validation
		trees := "-"
		if c.Model.GBT != nil {
			trees = strconv.Itoa(len(c.Model.GBT.Trees))
		}
		fmt.Fprintf(tw, "%s\t%s\t%.4f\t%.4f\t%.4f\t%.3f\t%.3f\t%.4f\t%s\t\n", c.Model.Kind, c.Fit.Round(time.Millisecond),
			c.Train.AUROC, v.AUROC, v.AveragePrecision, v.CalibrationSlope, v.CalibrationIntercept, v.Brier, trees)
	}
	tw.Flush()
	fmt.Fprintln(w, "(all but train AUROC on the validation cut-off)")
}

func printDeciles(w io.Writer, m riskmodel.Metrics) {
	fmt.Fprintf(w, "Calibration by decile of predicted risk (%d people, %d admitted)\n", m.N, m.Positives)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "decile\tpeople\trisk from\tto\tpredicted\tobserved\t")
	for i, d := range m.Deciles {
		fmt.Fprintf(tw, "%d\t%d\t%.1f %%\t%.1f %%\t%.1f %%\t%.1f %%\t\n", i+1, d.N, 100*d.MinRisk, 100*d.MaxRisk, 100*d.Predicted, 100*d.Observed)
	}
	tw.Flush()
}

// exportFeatures writes the matrices for the scikit-learn comparison, and
// our own figures for it to print beside its own.
func exportFeatures(dir string, names []string, train, valid *riskmodel.Dataset, res *riskmodel.Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, d := range map[string]*riskmodel.Dataset{"train.csv": train, "valid.csv": valid} {
		if err := writeMatrix(filepath.Join(dir, name), names, d); err != nil {
			return err
		}
	}
	ours := map[string]any{}
	for _, c := range []riskmodel.Candidate{res.Logistic, res.GBT} {
		ours[c.Model.Kind] = map[string]any{"auroc": c.Model.Validation.AUROC, "fit_seconds": c.Fit.Seconds(), "version": c.Model.Version}
	}
	b, err := json.MarshalIndent(ours, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "wholecare.json"), append(b, '\n'), 0o644)
}

func writeMatrix(path string, names []string, d *riskmodel.Dataset) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintf(w, "person_id,label,%s\n", strings.Join(names, ","))
	var buf []byte
	for i := range d.Len() {
		buf = strconv.AppendInt(buf[:0], d.IDs[i], 10)
		if d.Y[i] {
			buf = append(buf, ",1"...)
		} else {
			buf = append(buf, ",0"...)
		}
		for _, v := range d.Row(i) {
			buf = append(buf, ',')
			buf = strconv.AppendFloat(buf, float64(v), 'g', -1, 32)
		}
		buf = append(buf, '\n')
		w.Write(buf)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func readModel(path string, b *riskmodel.Builder) (*riskmodel.Model, error) {
	if path == "" {
		return nil, &usageError{"--model is required: the file `wholecare risk train` saved"}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return riskmodel.Load(bufio.NewReader(f), b)
}

func runRiskEvaluate(ctx context.Context, e *env, args []string) error {
	cfg := defaultConfig(e.getenv)
	fs := flag.NewFlagSet("risk evaluate", flag.ContinueOnError)
	cfg.dbFlag(fs)
	cfg.logFlags(fs)
	modelPath := fs.String("model", "", "the saved model")
	cut := fs.String("cutoff", "", "the cut-off to evaluate on, YYYY-MM-DD: features before it, labels from the year after")
	if err := parseFlags(fs, e, args, "--model F --cutoff YYYY-MM-DD [--db DSN]"); err != nil {
		return err
	}
	day, err := parseDay("cutoff", *cut)
	if err != nil {
		return err
	}
	r, err := openRisk(ctx, e, cfg)
	if err != nil {
		return err
	}
	defer r.db.Close()
	m, err := readModel(*modelPath, r.b)
	if err != nil {
		return err
	}
	sets, latest, err := r.features(ctx, e, []time.Time{day})
	if err != nil {
		return err
	}
	if err := checkFollowUp(day, latest); err != nil {
		return err
	}
	met, err := riskmodel.Evaluate(m.Predict(sets[0]), sets[0].Y)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Model %s (trained on cut-off %s) evaluated on cut-off %s\n\n", m.Version,
		m.Spec.TrainCutoff.Format(time.DateOnly), day.Format(time.DateOnly))
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "people\tadmitted\tAUROC\tavg precision\tcal. slope\tcal. intercept\tBrier\t")
	fmt.Fprintf(tw, "%d\t%d\t%.4f\t%.4f\t%.3f\t%.3f\t%.4f\t\n", met.N, met.Positives, met.AUROC, met.AveragePrecision,
		met.CalibrationSlope, met.CalibrationIntercept, met.Brier)
	tw.Flush()
	fmt.Fprintln(e.stdout)
	printDeciles(e.stdout, met)
	return nil
}

// riskBands are the bands the score distribution is printed in.
var riskBands = []float64{0.05, 0.10, 0.20, 0.40}

func runRiskScore(ctx context.Context, e *env, args []string) error {
	cfg := defaultConfig(e.getenv)
	fs := flag.NewFlagSet("risk score", flag.ContinueOnError)
	cfg.dbFlag(fs)
	cfg.logFlags(fs)
	modelPath := fs.String("model", "", "the saved model")
	asOf := fs.String("as-of", "", "score as of this day, YYYY-MM-DD, from what was recorded before it (default today, UTC)")
	top := fs.Int("top", 5, "list this many people with the highest risk and why")
	store := fs.Bool("store", false, "also store everyone's score, band and top factors with the model version (a repeated run for the same day and model adds nothing; history is kept)")
	if err := parseFlags(fs, e, args, "--model F [--as-of YYYY-MM-DD] [--top N] [--store] [--db DSN]"); err != nil {
		return err
	}
	day := time.Now().UTC().Truncate(24 * time.Hour)
	if *asOf != "" {
		d, err := parseDay("as-of", *asOf)
		if err != nil {
			return err
		}
		day = d
	}
	if *top < 0 {
		return &usageError{fmt.Sprintf("--top %d: want zero or more", *top)}
	}
	r, err := openRisk(ctx, e, cfg)
	if err != nil {
		return err
	}
	defer r.db.Close()
	m, err := readModel(*modelPath, r.b)
	if err != nil {
		return err
	}
	sets, _, err := r.features(ctx, e, []time.Time{day})
	if err != nil {
		return err
	}
	d := sets[0]
	if d.Len() == 0 {
		return fmt.Errorf("nobody alive on %s to score", day.Format(time.DateOnly))
	}
	p := m.Predict(d)
	fmt.Fprintf(e.stdout, "Scored %d people as of %s with model %s (%s)\n\n", d.Len(), day.Format(time.DateOnly), m.Version, m.Kind)
	counts := make([]int, len(riskBands)+1)
	sum := 0.0
	for _, v := range p {
		sum += v
		i := 0
		for i < len(riskBands) && v >= riskBands[i] {
			i++
		}
		counts[i]++
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "12-month risk\tpeople\tshare\t")
	for i, n := range counts {
		var label string
		switch {
		case i == 0:
			label = fmt.Sprintf("under %g %%", 100*riskBands[0])
		case i == len(riskBands):
			label = fmt.Sprintf("%g %% or more", 100*riskBands[i-1])
		default:
			label = fmt.Sprintf("%g–%g %%", 100*riskBands[i-1], 100*riskBands[i])
		}
		fmt.Fprintf(tw, "%s\t%d\t%.1f %%\t\n", label, n, 100*float64(n)/float64(len(p)))
	}
	tw.Flush()
	sorted := slices.Clone(p)
	slices.Sort(sorted)
	q := func(f float64) float64 { return 100 * sorted[min(len(sorted)-1, int(f*float64(len(sorted))))] }
	fmt.Fprintf(e.stdout, "\nMean %.1f %% (expected admissions %.0f); median %.1f %%, 90th centile %.1f %%, 99th %.1f %%\n",
		100*sum/float64(len(p)), sum, q(0.5), q(0.9), q(0.99))
	if *top > 0 {
		idx := riskmodel.Order(p)
		fmt.Fprintf(e.stdout, "\nHighest risk (person id, risk, what raises it most):\n")
		for _, i := range idx[:min(*top, len(idx))] {
			var why []string
			for _, f := range m.Explain(d.Row(i), 3) {
				why = append(why, f.Words)
			}
			fmt.Fprintf(e.stdout, "  %d  %.1f %%  %s\n", d.IDs[i], 100*p[i], strings.Join(why, "; "))
		}
	}
	if *store {
		added, err := storeScores(ctx, r.db, m, d, day, time.Now().UTC())
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "\nStored %d new scores with model %s as of %s (%d were already stored)\n",
			added, m.Version, day.Format(time.DateOnly), d.Len()-added)
	}
	return nil
}

// scoreFactors is how many factors a stored score explains itself with.
const scoreFactors = 3

// storeBatch is how many scores one store transaction writes.
const storeBatch = 5000

// storeScores stores everyone's score as of day, a batch at a time, each
// with its band and the factors that raise it most; it returns how many
// were new. All carry the same computed-at time: one run, one moment.
func storeScores(ctx context.Context, db *sqlstore.DB, m *riskmodel.Model, d *riskmodel.Dataset, day, now time.Time) (int, error) {
	band := func(p float64) uint8 { return population.RiskBandOf(float32(p)) }
	added := 0
	batch := make([]riskmodel.Score, 0, storeBatch)
	for lo := 0; lo < d.Len(); lo += storeBatch {
		batch = batch[:0]
		for i := lo; i < min(d.Len(), lo+storeBatch); i++ {
			batch = append(batch, m.Score(d.IDs[i], d.Row(i), day, now, scoreFactors, band))
		}
		n, err := db.SaveRiskScores(ctx, batch)
		if err != nil {
			return added, err
		}
		added += n
	}
	return added, nil
}
