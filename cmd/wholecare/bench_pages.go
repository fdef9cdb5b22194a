package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wholecare/wholecare/internal/auth"
)

// benchPages measures what someone at a browser waits for: the time to
// the last byte of every page each demo role can reach from its start
// page, served by the real server on the population a store holds. The
// targets (issue 9): every page under 100 ms at the 95th percentile on
// 100,000 people, the person summary and the worklist under 50 ms. Times
// are taken on loopback, so they include the server's whole work and a
// fraction of a millisecond of HTTP.
func benchPages(ctx context.Context, e *env, args []string) error {
	cfg := defaultConfig(e.getenv)
	fs := flag.NewFlagSet("bench pages", flag.ContinueOnError)
	cfg.dbFlag(fs)
	cfg.riskModelFlag(fs)
	requests := fs.Int("requests", 30, "timed requests of each page (after one untimed warm-up)")
	maxPages := fs.Int("pages", 25, "most distinct pages to time for each role, found by following links from its start page")
	only := fs.String("roles", "", "comma-separated demo account names (default: every demo account)")
	also := fs.String("also", "/case-finding?search=1;/case-finding?search=1&q=has(copd) and age >= 65;/admin/teams;/admin/audit",
		"semicolon-separated pages no link reaches (forms' results) to time as well, for every account that may open them")
	if err := parseFlags(fs, e, args, "[--db DSN] [--requests N] [--pages N] [--roles demo.coordinator,...]"); err != nil {
		return err
	}
	if *requests < 1 || *requests > 10000 || *maxPages < 1 || *maxPages > 500 {
		return &usageError{"bench pages: --requests from 1 to 10,000 and --pages from 1 to 500"}
	}
	log, err := newLogger(io.Discard, "text", "error")
	if err != nil {
		return err
	}
	db, err := openMigrated(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	run, ok, err := db.LatestRun(ctx)
	if err != nil {
		return err
	}
	if !ok || !run.Complete {
		return &usageError{"bench pages: the database holds no complete synthetic population: run wholecare generate (or demo) first"}
	}
	accounts, err := resetDemoSignIns(ctx, db)
	if err != nil {
		return err
	}
	if err := seedDemoCarePlan(ctx, db, time.Now); err != nil {
		return err
	}

	// The real server, in this process, on a port the kernel picks.
	sctx, stop := context.WithCancel(ctx)
	addr := &addrCatcher{found: make(chan string, 1)}
	cfg.addr, cfg.mllpAddr = "127.0.0.1:0", ""
	var wg sync.WaitGroup
	var serveErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		serveErr = serveHTTP(sctx, &env{getenv: e.getenv, stdin: e.stdin, stdout: addr, stderr: io.Discard}, cfg, db, log)
		close(addr.found)
	}()
	defer func() { stop(); wg.Wait() }()
	base, ok := <-addr.found
	if !ok {
		return fmt.Errorf("bench pages: the server did not start: %w", serveErr)
	}
	if err := waitReady(ctx, base); err != nil {
		return err
	}

	// Time pages only after start-up work is done: the population engine
	// builds in the background (the dashboard answers 503 until it has),
	// and the rules' first run follows it.
	for _, a := range accounts {
		if a.role != auth.Commissioner {
			continue
		}
		c, err := signInClient(ctx, base, a.name, a.password)
		if err != nil {
			return fmt.Errorf("bench pages: %s: %w", a.name, err)
		}
		req, err := http.NewRequestWithContext(ctx, "GET", base+"/dashboard", nil)
		if err != nil {
			return err
		}
		if _, _, err := getWhenReady(ctx, c, req); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Second):
		}
	}
	fmt.Fprintf(e.stdout, "Machine: %s/%s, %d CPUs, %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel())
	fmt.Fprintf(e.stdout, "Store: %s, %s people. Timed after the population engine is built and 10 s more. Each page: 1 warm-up, then %d sequential requests; time to the last byte on loopback.\n\n",
		db.Dialect(), thousands(run.Spec.People), *requests)
	fmt.Fprintln(e.stdout, "| account | page | example | p50 | p95 | max | size | target |")
	fmt.Fprintln(e.stdout, "|---|---|---|---:|---:|---:|---:|---|")
	var over []string
	timed := 0
	for _, a := range accounts {
		if *only != "" && !slices.Contains(strings.Split(*only, ","), a.name) {
			continue
		}
		c, err := signInClient(ctx, base, a.name, a.password)
		if err != nil {
			return fmt.Errorf("bench pages: %s: %w", a.name, err)
		}
		pages, err := crawlPages(ctx, c, base, *maxPages)
		if err != nil {
			return fmt.Errorf("bench pages: %s: %w", a.name, err)
		}
		for _, extra := range strings.Split(*also, ";") {
			u, err := url.Parse(strings.TrimSpace(extra))
			if err != nil || u.Path == "" {
				continue
			}
			u.RawQuery = u.Query().Encode()
			req, err := http.NewRequestWithContext(ctx, "GET", base+u.RequestURI(), nil)
			if err != nil {
				return err
			}
			if res, _, err := getWhenReady(ctx, c, req); err == nil && res.StatusCode == http.StatusOK {
				pages = append(pages, benchPage{pattern: pagePattern(u) + " (form)", path: u.RequestURI()})
			}
		}
		for _, pg := range pages {
			times, size, err := timePage(ctx, c, base+pg.path, *requests)
			if err != nil {
				return fmt.Errorf("bench pages: %s %s: %w", a.name, pg.path, err)
			}
			timed++
			target := pageTarget(pg.pattern)
			p95 := quantileOf(times, 0.95)
			verdict := "met"
			if p95 > target {
				verdict = "**over**"
				over = append(over, a.name+" "+pg.pattern)
			}
			fmt.Fprintf(e.stdout, "| %s | %s | %s | %s | %s | %s | %.1f KB | < %d ms: %s |\n", a.name, pg.pattern, pg.path,
				ms(quantileOf(times, 0.5)), ms(p95), ms(times[len(times)-1]), float64(size)/1024, target.Milliseconds(), verdict)
		}
	}
	switch {
	case timed == 0:
		return errors.New("bench pages: no page was reached from any start page")
	case len(over) > 0:
		fmt.Fprintf(e.stdout, "\n%d page(s) over target: %s\n", len(over), strings.Join(over, "; "))
	default:
		fmt.Fprintf(e.stdout, "\nAll %d pages met their targets.\n", timed)
	}
	return nil
}

// addrCatcher is the server's stdout: it hands over the address serve
// prints when it is listening.
type addrCatcher struct {
	mu    sync.Mutex
	buf   strings.Builder
	found chan string
	done  bool
}

var servingOn = regexp.MustCompile(`serving on (https?://\S+)`)

func (a *addrCatcher) Write(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.done {
		a.buf.Write(p)
		if m := servingOn.FindStringSubmatch(a.buf.String()); m != nil {
			a.done = true
			a.found <- m[1]
		}
	}
	return len(p), nil
}

func waitReady(ctx context.Context, base string) error {
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/readyz", nil)
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return errors.New("bench pages: the server was not ready within 5 minutes")
}

// signInClient signs in through the sign-in form, as a browser does.
func signInClient(ctx context.Context, base, name, password string) (*http.Client, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	c := &http.Client{Jar: jar, Timeout: time.Minute}
	form := url.Values{"name": {name}, "password": {password}}
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/sign-in", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if strings.HasPrefix(res.Request.URL.Path, "/sign-in") {
		return nil, fmt.Errorf("signing in ended at %s with %d", res.Request.URL.Path, res.StatusCode)
	}
	return c, nil
}

type benchPage struct{ pattern, path string }

var (
	hrefs  = regexp.MustCompile(`href="(/[^"#]*)"`)
	digits = regexp.MustCompile(`\d+`)
)

// crawlPages follows links breadth-first from the start page and returns
// one example of each distinct page (paths differing only in numbers are
// one page), skipping what is not a page: the stylesheet, the API, FHIR,
// signing out and plain-text variants.
func crawlPages(ctx context.Context, c *http.Client, base string, max int) ([]benchPage, error) {
	seen := map[string]bool{}
	family := map[string]int{} // pages of one parent path: /admin/protocols/copd, /admin/protocols/ckd ...
	var out []benchPage
	queue := []string{"/"}
	for len(queue) > 0 && len(out) < max {
		path := queue[0]
		queue = queue[1:]
		req, err := http.NewRequestWithContext(ctx, "GET", base+path, nil)
		if err != nil {
			return nil, err
		}
		res, body, err := getWhenReady(ctx, c, req)
		if err != nil {
			return nil, err
		}
		final := res.Request.URL.RequestURI()
		pattern := pagePattern(res.Request.URL)
		fam := pattern // only deep pages form families: /admin/protocols/{slug}, not /admin/{area}
		if i := strings.LastIndex(fam, "/"); i > 0 && strings.Count(fam[:i], "/") >= 2 {
			fam = fam[:i]
		}
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") || seen[pattern] || family[fam] >= 3 {
			continue
		}
		seen[pattern] = true
		family[fam]++
		out = append(out, benchPage{pattern: pattern, path: final})
		for _, m := range hrefs.FindAllStringSubmatch(string(body), -1) {
			link := html.UnescapeString(m[1])
			u, err := url.Parse(link)
			if err != nil || skipLink(u) || seen[pagePattern(u)] {
				continue
			}
			queue = append(queue, link)
		}
	}
	return out, nil
}

// getWhenReady GETs a page, waiting while the server says it is not
// ready (503: the population engine still loading) for up to 2 minutes.
func getWhenReady(ctx context.Context, c *http.Client, req *http.Request) (*http.Response, []byte, error) {
	for tries := 0; ; tries++ {
		res, err := c.Do(req)
		if err != nil {
			return nil, nil, err
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil || res.StatusCode != http.StatusServiceUnavailable || tries >= 120 {
			return res, body, err
		}
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func skipLink(u *url.URL) bool {
	for _, pre := range []string{"/assets/", "/api/", "/fhir/", "/sign-out", "/sign-in", "/auth/", "/metrics", "/healthz", "/readyz"} {
		if strings.HasPrefix(u.Path, pre) {
			return true
		}
	}
	return u.Query().Get("format") == "text"
}

// pagePattern names a page by its path with every number replaced, and
// the names (not values) of its query parameters.
func pagePattern(u *url.URL) string {
	p := digits.ReplaceAllString(u.Path, "{n}")
	var keys []string
	for k := range u.Query() {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if len(keys) > 0 {
		p += "?" + strings.Join(keys, "&")
	}
	return p
}

// pageTarget is issue 9's target for a page: 50 ms for the person summary
// and the worklists, 100 ms for every other page.
func pageTarget(pattern string) time.Duration {
	path, _, _ := strings.Cut(pattern, "?")
	if path == "/people/{n}" || path == "/me" || strings.HasSuffix(path, "/worklist") {
		return 50 * time.Millisecond
	}
	return 100 * time.Millisecond
}

// timePage requests a page n+1 times and returns the last n times, sorted,
// and the page's size.
func timePage(ctx context.Context, c *http.Client, u string, n int) ([]time.Duration, int, error) {
	var times []time.Duration
	size := 0
	for i := 0; i <= n; i++ {
		req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
		if err != nil {
			return nil, 0, err
		}
		start := time.Now()
		res, err := c.Do(req)
		if err != nil {
			return nil, 0, err
		}
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		d := time.Since(start)
		if err != nil {
			return nil, 0, err
		}
		if res.StatusCode != http.StatusOK {
			return nil, 0, fmt.Errorf("status %d", res.StatusCode)
		}
		size = len(b)
		if i > 0 {
			times = append(times, d)
		}
	}
	slices.Sort(times)
	return times, size, nil
}

// quantileOf reads quantile q of sorted durations (nearest rank).
func quantileOf(sorted []time.Duration, q float64) time.Duration {
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
