package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/linkage"
	"github.com/wholecare/wholecare/internal/registry"
)

func runLink(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("link", flag.ContinueOnError)
	out := fs.String("out", "", "write the scored pairs to this file (default standard output)")
	truthPath := fs.String("truth", "", "CSV of true pairs (two columns of record ids, first row a header): end with precision=P recall=R f1=F, counting link outcomes as predicted matches and review pairs as not linked")
	linkP := fs.Float64("link", 0.9, "link a pair whose match probability is at least this")
	reviewP := fs.Float64("review", 0.5, "put a pair up for review when its match probability is at least this (and below --link)")
	show := fs.String("print", "review", "which pairs to print: link, review (review and link) or all (every candidate pair)")
	evidence := fs.Bool("evidence", false, "add a column explaining each pair field by field: level and weight in bits")
	clusters := fs.String("clusters", "", "deduplication only: write each record's entity (record id, entity number) to this file")
	showModel := fs.Bool("show-model", false, "print the blocking statistics and the fitted model (m, u and weight of every level)")
	blocking := fs.String("blocking", strings.Join(linkage.DefaultBlocking(), ","), "comma-separated blocking rules, whose union gives the candidate pairs")
	maxErrors := fs.Int("show-errors", 20, "print at most this many input problems (all are counted)")
	maxRecords := fs.Int("max-records", 5_000_000, "refuse a file with more records than this")
	seed := fs.Uint64("seed", 1, "random seed for the random pairs that seed u: the same seed gives the same result")
	noTF := fs.Bool("no-term-frequency", false, "do not adjust exact agreement on a name or postcode by how common the value is")
	linkTwins := fs.Bool("link-twins", false, "let the model link pairs that look like twins (given names differ, same family name and date of birth) instead of putting them up for review; FEBRL's generator makes such duplicates")
	const synopsis = "[flags] A.csv [B.csv]\n\n" +
		"Finds the records of the same person: within A.csv (deduplication) or between A.csv and B.csv (link).\n" +
		"A CSV needs a header with a record id, given name, family name and date of birth column (rec_id, given_name,\n" +
		"surname, date_of_birth and their usual other names); sex, postcode, address columns, nhs_number and a shared\n" +
		"local identifier (soc_sec_id, local_id, hospital_number, mrn) are used when present. It prints\n" +
		"id_a,id_b,weight,probability,outcome for each pair; the summary (and with --truth the precision line)\n" +
		"goes to standard output with --out, else to standard error. Input problems are reported by line and column,\n" +
		"never by value.\n\nFlags:"
	if err := parseFlagsArgs(fs, e, args, synopsis, 2); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return &usageError{"link: name one CSV file to deduplicate, or two to link (see wholecare link --help)"}
	}
	if !(*reviewP > 0 && *reviewP <= *linkP && *linkP < 1) {
		return &usageError{fmt.Sprintf("link: --review %g and --link %g: need 0 < review ≤ link < 1", *reviewP, *linkP)}
	}
	printing := map[string]linkage.Outcome{"link": linkage.Link, "review": linkage.Review, "all": linkage.NoLink}
	least, ok := printing[*show]
	if !ok {
		return &usageError{fmt.Sprintf("link: --print %q: use link, review or all", *show)}
	}
	if *clusters != "" && fs.NArg() == 2 {
		return &usageError{"link: --clusters is for deduplicating one file"}
	}
	if *maxErrors < 0 || *maxRecords < 1 {
		return &usageError{"link: --show-errors and --max-records must be positive"}
	}
	rules := strings.Split(*blocking, ",")
	for i := range rules {
		rules[i] = strings.TrimSpace(rules[i])
	}

	start := time.Now()
	probs := &inputProblems{w: e.stderr, max: *maxErrors}
	var lists [][]linkage.Record
	for _, path := range fs.Args() {
		recs, err := readPeopleCSV(path, probs, *maxRecords)
		if err != nil {
			return err
		}
		lists = append(lists, recs)
	}
	probs.finish()

	// The report goes where the pairs do not.
	report := e.stderr
	var w io.Writer = e.stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return apperr.Ef(apperr.Invalid, "link: cannot write %s: %v", *out, errors.Unwrap(err))
		}
		defer f.Close()
		w, report = f, e.stdout
	}

	var bar *progressBar
	showProgress := false
	cfg := linkage.Config{
		LinkProbability:   *linkP,
		ReviewProbability: *reviewP,
		Blocking:          rules,
		Seed:              *seed,
		NoTermFrequency:   *noTF,
		LinkTwins:         *linkTwins,
		Progress: func(stage string, done, total int64) {
			if !showProgress {
				return
			}
			if bar == nil || bar.label != stage {
				if bar != nil {
					bar.Finish()
				}
				bar = newProgressBar(e.stderr, stage, "pairs", time.Now)
			}
			bar.Set(int(done), int(total))
		},
	}
	var l *linkage.Linker
	var err error
	a, b := lists[0], lists[0]
	if len(lists) == 2 {
		b = lists[1]
		l, err = linkage.NewLink(a, b, cfg)
	} else {
		l, err = linkage.NewDedupe(a, cfg)
	}
	if err != nil {
		return err
	}
	var bound int64
	for _, st := range l.Stats().Rules {
		bound += st.Pairs
	}
	showProgress = bound >= 1_000_000 || len(a)+len(b) >= 100_000

	model, err := l.Train(ctx)
	if bar != nil {
		bar.Finish()
		bar = nil
	}
	if err != nil {
		return err
	}

	var truth map[[2]string]bool
	if *truthPath != "" {
		if truth, err = readTruth(*truthPath); err != nil {
			return err
		}
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	cw := csv.NewWriter(bw)
	header := []string{"id_a", "id_b", "weight", "probability", "outcome"}
	if *evidence {
		header = append(header, "evidence")
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	var counts [3]int
	var tp, reviewTrue, cautioned int
	var links []linkage.Pair
	row := make([]string, 0, 6)
	err = l.Pairs(ctx, func(p linkage.Pair) error {
		counts[p.Outcome]++
		if p.Caution != "" {
			cautioned++
		}
		idA, idB := a[p.A].ID, b[p.B].ID
		if truth != nil && truth[pairOf(idA, idB)] {
			switch p.Outcome {
			case linkage.Link:
				tp++
			case linkage.Review:
				reviewTrue++
			}
		}
		if p.Outcome == linkage.Link && *clusters != "" {
			links = append(links, p)
		}
		if p.Outcome < least {
			return nil
		}
		row = append(row[:0], idA, idB, strconv.FormatFloat(p.Weight, 'f', 2, 64),
			strconv.FormatFloat(p.Probability, 'f', 6, 64), p.Outcome.String())
		if *evidence {
			row = append(row, explain(p, l.Evidence(p)))
		}
		return cw.Write(row)
	})
	if bar != nil {
		bar.Finish()
	}
	if err != nil {
		return err
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("link: writing pairs: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("link: writing pairs: %w", err)
	}

	var entities []int
	if *clusters != "" {
		if entities, err = l.Cluster(links, linkage.ClusterOptions{}); err != nil {
			return err
		}
		if err := writeClusters(*clusters, a, entities); err != nil {
			return err
		}
	}

	st := l.Stats()
	what := fmt.Sprintf("deduplicated %s records", thousands(len(a)))
	if len(lists) == 2 {
		what = fmt.Sprintf("linked %s with %s records", thousands(len(a)), thousands(len(b)))
	}
	held := ""
	if cautioned > 0 {
		held = fmt.Sprintf(" (%s of them probable enough to link but held back: possible twins or different NHS numbers)", thousands(cautioned))
	}
	fmt.Fprintf(report, "%s in %s: %s candidate pairs from %d blocking rules; %s links, %s for review%s\n",
		what, time.Since(start).Round(time.Millisecond), thousands(int(st.Candidates)), len(st.Rules),
		thousands(counts[linkage.Link]), thousands(counts[linkage.Review]), held)
	fmt.Fprintf(report, "model: %.2f%% of candidate pairs are matches; link at p ≥ %g (weight ≥ %.1f bits), review at p ≥ %g (≥ %.1f bits); EM %d iterations\n",
		100*model.Lambda, model.LinkProbability, model.LinkWeight(), model.ReviewProbability, model.ReviewWeight(), model.Iterations)
	if entities != nil {
		n := 0
		for _, id := range entities {
			n = max(n, id+1)
		}
		fmt.Fprintf(report, "entities: %s records in %s entities, written to %s\n", thousands(len(a)), thousands(n), *clusters)
	}
	if *showModel {
		printModel(report, st, model)
	}
	if truth != nil {
		known := map[string]bool{}
		for _, list := range lists {
			for _, r := range list {
				known[r.ID] = true
			}
		}
		unknown := 0
		for p := range truth {
			if !known[p[0]] || !known[p[1]] {
				unknown++
			}
		}
		if unknown > 0 {
			fmt.Fprintf(report, "truth: %s of %s true pairs name a record not in the input (skipped or absent); they count as missed\n", thousands(unknown), thousands(len(truth)))
		}
		fmt.Fprintf(report, "review: %s pairs, %s of them true matches, counted as not linked below\n", thousands(counts[linkage.Review]), thousands(reviewTrue))
		if entities != nil {
			ep, er := entityScores(a, entities, truth)
			fmt.Fprintf(report, "entities: precision=%.4f recall=%.4f f1=%.4f\n", ep, er, f1(ep, er))
		}
		precision := float64(tp) / float64(max(counts[linkage.Link], 1))
		recall := float64(tp) / float64(max(len(truth), 1))
		fmt.Fprintf(report, "precision=%.4f recall=%.4f f1=%.4f\n", precision, recall, f1(precision, recall))
	}
	return nil
}

func f1(p, r float64) float64 {
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

// pairOf is an unordered pair of record ids.
func pairOf(a, b string) [2]string {
	if a > b {
		a, b = b, a
	}
	return [2]string{a, b}
}

// explain writes a pair's evidence as field=level:weight words, after the
// caution that held it back from a link, if any.
func explain(p linkage.Pair, ev []linkage.FieldEvidence) string {
	var sb strings.Builder
	if p.Caution != "" {
		sb.WriteString("caution: ")
		sb.WriteString(p.Caution)
		sb.WriteString("; ")
	}
	for i, f := range ev {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(f.Field)
		sb.WriteByte('=')
		sb.WriteString(f.Level)
		if f.Level != "null" {
			fmt.Fprintf(&sb, ":%+.1f", f.Weight)
		}
	}
	return sb.String()
}

func printModel(w io.Writer, st linkage.BlockingStats, m *linkage.Model) {
	fmt.Fprintf(w, "%-44s %8s %8s %12s %12s\n", "blocking rule", "blocks", "largest", "pairs", "new pairs")
	for _, r := range st.Rules {
		skipped := ""
		if r.SkippedBlocks > 0 {
			skipped = fmt.Sprintf("  (%d blocks over the size limit skipped)", r.SkippedBlocks)
		}
		fmt.Fprintf(w, "%-44s %8s %8s %12s %12s%s\n", r.Name, thousands(r.Blocks), thousands(r.Largest), thousands(int(r.Pairs)), thousands(int(r.NewPairs)), skipped)
	}
	fmt.Fprintf(w, "%-12s %-22s %8s %10s %8s\n", "field", "level", "m", "u", "bits")
	for _, f := range m.Fields {
		if !f.Used {
			continue
		}
		for _, lv := range f.Levels {
			fmt.Fprintf(w, "%-12s %-22s %8.4f %10.6f %+8.2f\n", f.Name, lv.Name, lv.M, lv.U, lv.Weight)
		}
	}
}

func writeClusters(path string, recs []linkage.Record, entities []int) error {
	f, err := os.Create(path)
	if err != nil {
		return apperr.Ef(apperr.Invalid, "link: cannot write %s: %v", path, errors.Unwrap(err))
	}
	bw := bufio.NewWriter(f)
	cw := csv.NewWriter(bw)
	cw.Write([]string{"id", "entity"})
	for i, r := range recs {
		cw.Write([]string{r.ID, strconv.Itoa(entities[i])})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		f.Close()
		return fmt.Errorf("link: writing %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("link: writing %s: %w", path, err)
	}
	return f.Close()
}

// entityScores scores the pairs of records that share an entity.
func entityScores(recs []linkage.Record, entities []int, truth map[[2]string]bool) (precision, recall float64) {
	byEntity := map[int][]string{}
	for i, id := range entities {
		byEntity[id] = append(byEntity[id], recs[i].ID)
	}
	tp, n := 0, 0
	for _, ids := range byEntity {
		for x := range ids {
			for _, y := range ids[x+1:] {
				n++
				if truth[pairOf(ids[x], y)] {
					tp++
				}
			}
		}
	}
	return float64(tp) / float64(max(n, 1)), float64(tp) / float64(max(len(truth), 1))
}

// inputProblems reports bad input by file, line and column, never by
// value: the values are person data.
type inputProblems struct {
	w     io.Writer
	max   int
	count int
}

func (p *inputProblems) add(path string, line int, format string, args ...any) {
	p.count++
	if p.count <= p.max {
		fmt.Fprintf(p.w, "%s line %d: %s\n", path, line, fmt.Sprintf(format, args...))
	}
}

func (p *inputProblems) finish() {
	if p.count > p.max {
		fmt.Fprintf(p.w, "… and %s more input problems (--show-errors N shows more)\n", thousands(p.count-p.max))
	}
}

// personColumn is one thing a person CSV may say, and the header names it
// goes by.
type personColumn struct {
	role     string
	names    []string
	required bool
}

// personColumns lists the columns link understands: FEBRL's names first,
// then the usual others.
func personColumns() []personColumn {
	return []personColumn{
		{"id", []string{"rec_id", "record_id", "id", "person_id", "patient_id"}, true},
		{"given", []string{"given_name", "given", "first_name", "firstname", "forename", "forenames"}, true},
		{"family", []string{"surname", "family_name", "last_name", "lastname"}, true},
		{"birth", []string{"date_of_birth", "dob", "birth_date", "birthdate"}, true},
		{"sex", []string{"sex", "gender"}, false},
		{"postcode", []string{"postcode", "post_code", "postal_code", "zip"}, false},
		{"nhs", []string{"nhs_number", "nhs_no", "nhsnumber", "nhs"}, false},
		{"local", []string{"soc_sec_id", "local_id", "hospital_number", "mrn", "medical_record_number"}, false},
		// Every address column, joined in the order of the header.
		{"address", []string{"street_number", "house_number", "address", "address_1", "address_2", "address_3",
			"address_line_1", "address_line_2", "address_line_3", "street", "suburb", "locality", "town", "city",
			"county", "state"}, false},
	}
}

// normaliseHeader makes "Date of Birth" and "date-of-birth" date_of_birth.
func normaliseHeader(h string) string {
	h = strings.TrimPrefix(h, "\ufeff")
	h = strings.ToLower(strings.TrimSpace(h))
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '.' {
			return '_'
		}
		return r
	}, h)
}

// maxField is the longest value kept; longer ones are not names.
const maxField = 256

// readPeopleCSV reads person records from a CSV with a header. Rows that
// cannot be records are reported and skipped; values that cannot be used
// (not UTF-8, too long, not a date) are reported and left empty, which
// makes them no evidence either way; the rest of the record still links.
func readPeopleCSV(path string, probs *inputProblems, maxRecords int) ([]linkage.Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, apperr.Ef(apperr.Invalid, "link: cannot read %s: %v", path, errors.Unwrap(err))
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReaderSize(f, 64<<10))
	r.TrimLeadingSpace = true // FEBRL writes ", " between fields
	r.LazyQuotes = true
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, apperr.Ef(apperr.Invalid, "link: %s is empty: it needs a header row", path)
		}
		return nil, apperr.Ef(apperr.Invalid, "link: %s: the header is not CSV: %v", path, err)
	}
	names := make([]string, len(header))
	for i, h := range header {
		names[i] = normaliseHeader(h)
	}
	col := map[string][]int{}
	for _, c := range personColumns() {
		for i, n := range names {
			if slices.Contains(c.names, n) {
				col[c.role] = append(col[c.role], i)
				if c.role != "address" {
					break
				}
			}
		}
		if c.required && len(col[c.role]) == 0 {
			return nil, apperr.Ef(apperr.Invalid, "link: %s has no %s column: name one %s (the header has %s)",
				path, c.names[0], strings.Join(c.names, ", "), strings.Join(names, ", "))
		}
	}
	slices.Sort(col["address"])
	one := func(role string) int {
		if cs := col[role]; len(cs) > 0 {
			return cs[0]
		}
		return -1
	}
	idCol, givenCol, familyCol, birthCol := one("id"), one("given"), one("family"), one("birth")
	sexCol, postcodeCol, nhsCol, localCol := one("sex"), one("postcode"), one("nhs"), one("local")

	var recs []linkage.Record
	seen := map[string]int{} // record id → line
	for {
		row, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := r.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, apperr.Ef(apperr.Invalid, "link: %s line %d: not CSV (%v); fix the file and run again", path, pe.Line, pe.Err)
			}
			return nil, fmt.Errorf("link: reading %s: %w", path, err)
		}
		if len(row) != len(header) {
			probs.add(path, line, "%d fields where the header has %d; skipped", len(row), len(header))
			continue
		}
		value := func(c int) string {
			if c < 0 {
				return ""
			}
			v := strings.TrimSpace(row[c])
			switch {
			case !utf8.ValidString(v):
				probs.add(path, line, "%s is not UTF-8 text; left empty", names[c])
				return ""
			case len(v) > maxField:
				probs.add(path, line, "%s is longer than %d bytes; left empty", names[c], maxField)
				return ""
			}
			return v
		}
		id := value(idCol)
		if id == "" {
			probs.add(path, line, "no usable %s; skipped", names[idCol])
			continue
		}
		if first, dup := seen[id]; dup {
			probs.add(path, line, "%s repeats the record id of line %d; skipped", names[idCol], first)
			continue
		}
		if len(recs) >= maxRecords {
			return nil, apperr.Ef(apperr.Invalid, "link: %s has more than %s records (--max-records)", path, thousands(maxRecords))
		}
		seen[id] = line
		rec := linkage.Record{
			ID:         id,
			GivenName:  value(givenCol),
			FamilyName: value(familyCol),
			Postcode:   value(postcodeCol),
			NHSNumber:  value(nhsCol),
			LocalID:    value(localCol),
		}
		rec.Sex = registry.Sex(value(sexCol))
		var addr []string
		for _, c := range col["address"] {
			if v := value(c); v != "" {
				addr = append(addr, v)
			}
		}
		rec.Address = strings.Join(addr, ", ")
		if s := value(birthCol); s != "" {
			d, err := linkage.ParseDate(s)
			switch {
			case err != nil:
				probs.add(path, line, "%s is not a date (%s); left empty", names[birthCol], apperr.Message(err))
			case !d.Real():
				probs.add(path, line, "%s is not a calendar date; compared digit by digit only", names[birthCol])
				rec.BirthDate = d
			default:
				rec.BirthDate = d
			}
		}
		recs = append(recs, rec)
	}
	return recs, nil
}

// readTruth reads true pairs: the first two columns of each row are record
// ids; the first row is a header.
func readTruth(path string) (map[[2]string]bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, apperr.Ef(apperr.Invalid, "link: cannot read %s: %v", path, errors.Unwrap(err))
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReader(f))
	r.TrimLeadingSpace = true
	r.FieldsPerRecord = -1
	truth := map[[2]string]bool{}
	for n := 0; ; n++ {
		row, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, apperr.Ef(apperr.Invalid, "link: %s: not CSV: %v", path, err)
		}
		if n == 0 {
			continue // the header
		}
		if len(row) < 2 || row[0] == "" || row[1] == "" {
			line, _ := r.FieldPos(0)
			return nil, apperr.Ef(apperr.Invalid, "link: %s line %d: a true pair needs two record ids", path, line)
		}
		truth[pairOf(strings.TrimSpace(row[0]), strings.TrimSpace(row[1]))] = true
	}
	return truth, nil
}
