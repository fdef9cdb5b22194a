package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/wholecare/wholecare/internal/hl7v2"
	"github.com/wholecare/wholecare/internal/hl7v2/mllp"
	"github.com/wholecare/wholecare/internal/metrics"
	"github.com/wholecare/wholecare/internal/sqlstore"
)

// benchADT measures what a hospital's interface engine sees: ADT messages
// acknowledged per second over concurrent MLLP connections, each sending its
// next message only after the ACK of the last, through the real listener,
// feed and store (a fresh SQLite file unless --db names a database).
func benchADT(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("bench adt", flag.ContinueOnError)
	n := fs.Int("messages", 20000, "number of ADT messages to send")
	conns := fs.Int("conns", 8, "concurrent MLLP connections")
	dsn := fs.String("db", "", "database to receive into: sqlite:PATH or a postgres:// URL, migrated if needed (default: a fresh SQLite file in a temporary directory)")
	seed := fs.Uint64("seed", 1, "random seed for the synthetic patients")
	logLevel := fs.String("log-level", "warn", "log level of the feed and listener: debug, info, warn or error")
	if err := parseFlags(fs, e, args, "[--messages N] [--conns C] [--db DSN]"); err != nil {
		return err
	}
	if *n < 1 || *n > 10_000_000 {
		return &usageError{fmt.Sprintf("--messages %d: choose from 1 to 10,000,000", *n)}
	}
	if *conns < 1 || *conns > mllp.DefaultMaxConns {
		return &usageError{fmt.Sprintf("--conns %d: choose from 1 to %d", *conns, mllp.DefaultMaxConns)}
	}
	log, err := newLogger(e.stderr, "text", *logLevel)
	if err != nil {
		return err
	}
	cfg := config{db: *dsn}
	store := "sqlite (fresh file)"
	if cfg.db == "" {
		dir, err := os.MkdirTemp("", "wholecare-bench-adt-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		cfg.db = "sqlite:" + filepath.Join(dir, "adt.db")
	} else {
		store = redactDSN(cfg.db)
	}
	db, err := openMigrated(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	if *dsn != "" {
		store = db.Dialect() + " (" + store + ")"
	}

	// The tag keeps control ids and patient ids apart from any earlier run
	// into the same database, so that nothing is answered from the log.
	tag := strconv.FormatInt(time.Now().UnixMilli()%(36*36*36*36*36*36), 36)
	traffic := synthADT(*n, *conns, tag, *seed)
	fmt.Fprintf(e.stdout, "Machine: %s/%s, %d CPUs, %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel())
	fmt.Fprintf(e.stdout, "Store: %s. Sending %s ADT messages over %d connections, each waiting for its ACK.\n\n",
		store, thousands(*n), *conns)
	res, err := runADTBench(ctx, db, log, traffic)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "| store | messages | conns | time | msg/s | ACK p50 | ACK p95 | ACK p99 | msgs/commit | CPU/msg |")
	fmt.Fprintln(e.stdout, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	fmt.Fprintf(e.stdout, "| %s | %s | %d | %s | %s | %s | %s | %s | %.1f | %d µs |\n", db.Dialect(), thousands(res.messages), *conns,
		res.elapsed.Round(10*time.Millisecond), thousands(int(res.rate())),
		ms(res.quantile(0.50)), ms(res.quantile(0.95)), ms(res.quantile(0.99)), res.batch, res.cpu.Microseconds()/int64(max(res.messages, 1)))
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

// adtBenchResult is one run: every message was acknowledged AA.
type adtBenchResult struct {
	messages  int
	elapsed   time.Duration
	latencies []time.Duration // from writing a message to reading its ACK, sorted
	cpu       time.Duration   // user and system time of this process (server and senders)
	batch     float64         // messages per commit, on average
}

// cpuTime is the user and system time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (r adtBenchResult) rate() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.messages) / r.elapsed.Seconds()
}

// quantile is the q-quantile of the ACK latencies (nearest rank).
func (r adtBenchResult) quantile(q float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	i := int(q*float64(len(r.latencies))+0.5) - 1
	return r.latencies[min(max(i, 0), len(r.latencies)-1)]
}

// runADTBench serves MLLP on a loopback port with the feed over db, as
// serve does, and sends traffic[c] over connection c. Any ACK other than
// AA for the message sent is an error.
func runADTBench(ctx context.Context, db *sqlstore.DB, log *slog.Logger, traffic [][][]byte) (adtBenchResult, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return adtBenchResult{}, err
	}
	f := newFeed(db, log)
	srv := newMLLPServer(f, metrics.New(time.Now()), log)
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sctx, ln) }()

	cs := make([]net.Conn, len(traffic))
	for i := range cs {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			stop()
			<-served
			return adtBenchResult{}, err
		}
		defer c.Close()
		cs[i] = c
	}
	lat := make([][]time.Duration, len(traffic))
	errs := make([]error, len(traffic))
	var wg sync.WaitGroup
	start, cpu0 := time.Now(), cpuTime()
	for i, c := range cs {
		wg.Go(func() {
			lat[i], errs[i] = sendADT(ctx, c, traffic[i])
			if errs[i] != nil {
				c.Close() // the others carry on; the run fails at the end
			}
		})
	}
	wg.Wait()
	res := adtBenchResult{elapsed: time.Since(start), cpu: cpuTime() - cpu0}
	st := f.Stats()
	if st.Commits > 0 {
		res.batch = float64(st.Messages) / float64(st.Commits)
	}
	stop()
	if err := <-served; err != nil {
		return res, err
	}
	if err := errors.Join(errs...); err != nil {
		return res, err
	}
	for _, l := range lat {
		res.latencies = append(res.latencies, l...)
	}
	slices.Sort(res.latencies)
	res.messages = len(res.latencies)
	return res, nil
}

// sendADT sends msgs in order on c, each after the ACK of the one before,
// and returns each round trip's time.
func sendADT(ctx context.Context, c net.Conn, msgs [][]byte) ([]time.Duration, error) {
	r := mllp.NewReader(c, 0)
	lat := make([]time.Duration, 0, len(msgs))
	for _, msg := range msgs {
		if ctx.Err() != nil {
			return lat, ctx.Err()
		}
		c.SetDeadline(time.Now().Add(time.Minute))
		begun := time.Now()
		if err := mllp.WriteFrame(c, msg); err != nil {
			return lat, fmt.Errorf("sending: %w", err)
		}
		raw, err := r.ReadFrame()
		if err != nil {
			return lat, fmt.Errorf("reading an ACK: %w", err)
		}
		lat = append(lat, time.Since(begun))
		if err := checkAA(msg, raw); err != nil {
			return lat, err
		}
	}
	return lat, nil
}

// checkAA checks that ack accepts msg.
func checkAA(msg, raw []byte) error {
	// MSH-10 of a bench message, without parsing it: the senders' work
	// should not weigh on the figures.
	header, _, _ := bytes.Cut(msg, []byte{'\r'})
	control := ""
	if fields := bytes.Split(header, []byte{'|'}); len(fields) > 9 {
		control = string(fields[9])
	}
	ack, err := hl7v2.Parse(raw)
	if err != nil {
		return fmt.Errorf("message %s: the ACK does not parse: %w", control, err)
	}
	if code, ref := ack.Get("MSA-1"), ack.Get("MSA-2"); code != hl7v2.AckAccept || ref != control {
		why := ack.Get("ERR-8")
		if why == "" {
			why = ack.Get("MSA-3")
		}
		return fmt.Errorf("message %s answered %s for %q: %s", control, code, ref, why)
	}
	return nil
}

// Synthetic names; the NHS numbers are in the 999 test range.
var (
	benchGiven  = []string{"Alex", "Sam", "Jo", "Priya", "Tomasz", "Aisha", "Morgan", "Rhys", "Niamh", "Kwame", "Mei", "Oliver"}
	benchFamily = []string{"Testperson", "Synthetic", "Example", "Sample", "Fictional", "Madeup", "Placeholder", "Dummy"}
)

// synthADT makes n ADT messages for conns connections. Each synthetic
// patient has an episode whose messages go in order on one connection, as
// a PAS sends them, interleaved with a few other patients' episodes:
//
//	admission             A01 A02 A08 A03
//	outpatient visit      A04 A08 A03
//	A&E attendance        A04 A03
//
// Control ids and patient ids start with tag.
func synthADT(n, conns int, tag string, seed uint64) [][][]byte {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	out := make([][][]byte, conns)
	const window = 4 // patients in progress on a connection at once
	active := make([][][][]byte, conns)
	base := time.Date(2025, 4, 1, 8, 0, 0, 0, time.UTC)
	nhs := 999_000_000
	seq, patient, made := 0, 0, 0
	for c := 0; made < n; c = (c + 1) % conns {
		for len(active[c]) < window {
			patient++
			nhs = nextTestNHS(nhs)
			active[c] = append(active[c], synthEpisode(rng, tag, patient, nhs, base.Add(time.Duration(patient)*time.Minute), &seq))
		}
		k := rng.IntN(len(active[c]))
		ep := active[c][k]
		out[c] = append(out[c], ep[0])
		made++
		if len(ep) == 1 {
			active[c] = slices.Delete(active[c], k, k+1)
		} else {
			active[c][k] = ep[1:]
		}
	}
	return out
}

// nextTestNHS is the next number after from whose check digit is valid,
// as nine digits; the NHS number is it and its check digit.
func nextTestNHS(from int) int {
	for n := from + 1; ; n++ {
		if _, ok := nhsCheck(n); ok {
			return n
		}
	}
}

// nhsCheck is the modulus 11 check digit of nine digits; false when there
// is none (the remainder gives 10).
func nhsCheck(nine int) (int, bool) {
	s := fmt.Sprintf("%09d", nine)
	sum := 0
	for i := range 9 {
		sum += int(s[i]-'0') * (10 - i)
	}
	c := 11 - sum%11
	if c == 11 {
		c = 0
	}
	return c, c != 10
}

func synthEpisode(rng *rand.Rand, tag string, patient, nine int, at time.Time, seq *int) [][]byte {
	check, _ := nhsCheck(nine)
	mrn := fmt.Sprintf("%s%06d", tag, patient)
	visit := "V" + mrn
	sex := "F"
	if rng.IntN(2) == 0 {
		sex = "M"
	}
	born := time.Date(1930+rng.IntN(90), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 0, 0, 0, 0, time.UTC)
	pidFields := make([]string, 33)
	pidFields[0], pidFields[1] = "PID", "1"
	pidFields[3] = mrn + "^^^RBENCH^MR~" + fmt.Sprintf("%09d%d", nine, check) + "^^^NHS^NH"
	pidFields[5] = benchFamily[rng.IntN(len(benchFamily))] + "^" + benchGiven[rng.IntN(len(benchGiven))]
	pidFields[7], pidFields[8] = born.Format("20060102"), sex
	pidFields[11] = fmt.Sprintf("%d Synthetic Street^^Leeds^^LS%d %dZZ", 1+rng.IntN(200), 1+rng.IntN(29), rng.IntN(10))
	pidFields[32] = "01" // NHS number verified
	pid := strings.Join(pidFields, "|")
	msg := func(trigger string, when time.Time, pv1 map[int]string) []byte {
		*seq++
		ts := when.Format("20060102150405")
		fields := make([]string, 46)
		fields[0] = "PV1"
		for k, v := range pv1 {
			fields[k] = v
		}
		return []byte(strings.Join([]string{
			"MSH|^~\\&|BENCHPAS|RBENCH|WHOLECARE|ICS|" + ts + "||ADT^" + trigger + "^ADT_A01|" + tag + strconv.Itoa(*seq) + "|P|2.4",
			"EVN|" + trigger + "|" + ts,
			pid,
			strings.Join(fields, "|"),
		}, "\r") + "\r")
	}
	admitted := at.Format("20060102150405")
	switch patient % 3 {
	case 0: // an admission
		typ := "EL"
		if rng.IntN(3) > 0 {
			typ = "EM"
		}
		out := at.Add(time.Duration(24+rng.IntN(24*7)) * time.Hour)
		return [][]byte{
			msg("A01", at, map[int]string{1: "1", 2: "I", 3: "AMU^^^RBENCH", 4: typ, 19: visit, 44: admitted}),
			msg("A02", at.Add(3*time.Hour), map[int]string{1: "1", 2: "I", 3: "WARD" + strconv.Itoa(1+rng.IntN(20)) + "^^^RBENCH", 4: typ, 6: "AMU^^^RBENCH", 19: visit, 44: admitted}),
			msg("A08", at.Add(5*time.Hour), map[int]string{1: "1", 2: "I", 3: "WARD1^^^RBENCH", 4: typ, 19: visit, 44: admitted}),
			msg("A03", out, map[int]string{1: "1", 2: "I", 3: "WARD1^^^RBENCH", 4: typ, 19: visit, 36: "19", 44: admitted, 45: out.Format("20060102150405")}),
		}
	case 1: // an outpatient appointment
		out := at.Add(40 * time.Minute)
		return [][]byte{
			msg("A04", at, map[int]string{1: "1", 2: "O", 3: "OPD^^^RBENCH", 19: visit, 44: admitted}),
			msg("A08", at.Add(10*time.Minute), map[int]string{1: "1", 2: "O", 3: "OPD^^^RBENCH", 19: visit, 44: admitted}),
			msg("A03", out, map[int]string{1: "1", 2: "O", 3: "OPD^^^RBENCH", 19: visit, 44: admitted, 45: out.Format("20060102150405")}),
		}
	default: // an A&E attendance
		out := at.Add(time.Duration(1+rng.IntN(6)) * time.Hour)
		return [][]byte{
			msg("A04", at, map[int]string{1: "1", 2: "E", 3: "ED^^^RBENCH", 19: visit, 44: admitted}),
			msg("A03", out, map[int]string{1: "1", 2: "E", 3: "ED^^^RBENCH", 19: visit, 44: admitted, 45: out.Format("20060102150405")}),
		}
	}
}
