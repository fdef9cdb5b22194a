package main

import (
	"bufio"
	"context"
	"flag"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes buffer safe for a running command and a test.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func env0(map[string]string) func(string) string { return func(string) string { return "" } }

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// mustRun runs the program to completion and returns stdout, stderr and the error.
func runCmd(t testing.TB, getenv func(string) string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut syncBuffer
	err := run(t.Context(), append([]string{"wholecare"}, args...), getenv, strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestHelpForEveryCommand(t *testing.T) {
	for _, c := range commands() {
		t.Run(c.name, func(t *testing.T) {
			out, _, err := runCmd(t, env0(nil), c.name, "--help")
			if err != nil {
				t.Fatalf("%s --help: %v", c.name, err)
			}
			if !strings.Contains(out, "Usage: wholecare "+c.name) {
				t.Errorf("%s --help printed %q", c.name, out)
			}
		})
	}
	out, _, err := runCmd(t, env0(nil), "--help")
	if err != nil || !strings.Contains(out, "Commands:") {
		t.Errorf("--help = %q, %v", out, err)
	}
}

func TestMistakesGiveOneLineAndNonZeroExit(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantMsg  string
	}{
		{"unknown command", []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"unknown flag", []string{"serve", "--colour", "blue"}, 2, "flag provided but not defined: -colour"},
		{"stray argument", []string{"migrate", "now"}, 2, `unexpected argument "now"`},
		{"malformed db", []string{"migrate", "--db", "mysql://x"}, 2, "use sqlite:PATH or a postgres:// URL"},
		{"bad addr", []string{"serve", "--addr", "8080"}, 2, "use HOST:PORT"},
		{"bad people", []string{"generate", "--people", "0"}, 2, "--people 0"},
		{"bad now", []string{"generate", "--now", "31/12/2025"}, 2, "use YYYY-MM-DD"},
		{"unreachable postgres", []string{"migrate", "--db", "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=2"}, 1, "cannot reach PostgreSQL"},
		{"sqlite under a file", []string{"migrate", "--db", "sqlite:" + filepath.Join(blocker, "x.db")}, 1, filepath.Join(blocker, "x.db")},
		{"port in use", []string{"serve", "--db", "sqlite:" + filepath.Join(dir, "s.db"), "--addr", ln.Addr().String()}, 1, "already in use"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, err := runCmd(t, env0(nil), tt.args...)
			if err == nil {
				t.Fatal("no error")
			}
			if got := exitCode(err); got != tt.wantCode {
				t.Errorf("exit code %d, want %d", got, tt.wantCode)
			}
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			last := lines[len(lines)-1]
			if !strings.HasPrefix(last, "wholecare: ") || !strings.Contains(last, tt.wantMsg) {
				t.Errorf("stderr last line %q, want one line containing %q", last, tt.wantMsg)
			}
			if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic") {
				t.Errorf("stack trace on stderr:\n%s", stderr)
			}
		})
	}
}

// startServing runs args (a serving command) until the test ends and
// returns the base URL it announced.
func startServing(t testing.TB, getenv func(string) string, args ...string) (string, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var out, errOut syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"wholecare"}, args...), getenv, strings.NewReader(""), io.MultiWriter(pw, &out), &errOut)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("shutdown: %v\n%s", err, errOut.String())
			}
		case <-time.After(30 * time.Second):
			t.Error("server did not stop within 30s of cancellation")
		}
	})
	re := regexp.MustCompile(`serving on (http://\S+)`)
	sc := bufio.NewScanner(pr)
	urlc := make(chan string, 1)
	go func() {
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				urlc <- m[1]
			}
		}
		io.Copy(io.Discard, pr)
	}()
	select {
	case u := <-urlc:
		waitHealthy(t, u)
		return u, &out
	case err := <-done:
		t.Fatalf("command ended before serving: %v\nstdout: %s\nstderr: %s", err, out.String(), errOut.String())
	case <-time.After(120 * time.Second):
		t.Fatalf("not serving after 120s\nstderr: %s", errOut.String())
	}
	return "", nil
}

func waitHealthy(t testing.TB, base string) {
	t.Helper()
	for range 100 {
		res, err := http.Get(base + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s/healthz never answered 200", base)
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestServeEndToEnd(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "serve.db")
	base, _ := startServing(t, envOf(map[string]string{"WHOLECARE_DB": db}), "serve", "--addr", "127.0.0.1:0")
	for path, want := range map[string]string{
		"/healthz": "ok",
		"/readyz":  "ready",
		"/metrics": "wholecare_http_requests_total",
	} {
		if status, body := get(t, base+path); status != 200 || !strings.Contains(body, want) {
			t.Errorf("GET %s = %d %q, want 200 containing %q", path, status, body, want)
		}
	}
}

func TestFlagsMayFollowArguments(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string
		n    int
	}{
		{[]string{"a.csv", "--n", "3", "b.csv"}, []string{"a.csv", "b.csv"}, 3},
		{[]string{"--n", "2", "a.csv"}, []string{"a.csv"}, 2},
		{[]string{"a.csv", "-", "--n=4"}, []string{"a.csv", "-"}, 4},
		{[]string{"a.csv", "--", "--n", "5"}, []string{"a.csv", "--n", "5"}, 0},
		{nil, nil, 0},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		n := fs.Int("n", 0, "")
		if err := parseInterspersed(fs, c.args); err != nil {
			t.Fatalf("%q: %v", c.args, err)
		}
		if got := fs.Args(); !slices.Equal(got, c.want) || *n != c.n {
			t.Errorf("%q: args %q, n %d; want %q, %d", c.args, got, *n, c.want, c.n)
		}
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := parseInterspersed(fs, []string{"a.csv", "--nope"}); err == nil {
		t.Error("an unknown flag after an argument was accepted")
	}
}
