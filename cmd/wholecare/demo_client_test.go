package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"testing"
	"time"
)

// demoClient is a browser session against a served demo, signed in with
// one of the sign-ins the demo printed; it sends the session's CSRF token
// on every request that changes something.
type demoClient struct {
	t    testing.TB
	base string
	hc   *http.Client
}

// signInDemo signs in as name with the password the demo printed in out.
func signInDemo(t testing.TB, base, out, name string) *demoClient {
	t.Helper()
	m := regexp.MustCompile(`(?m)^\s+\S+\s+` + regexp.QuoteMeta(name) + `\s+(\S+)\s`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no sign-in for %s in:\n%s", name, out)
	}
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	body, _ := json.Marshal(map[string]string{"name": name, "password": m[1]})
	res, err := hc.Post(base+"/api/v1/session", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var s struct {
		CSRF string `json:"csrf_token"`
	}
	json.NewDecoder(res.Body).Decode(&s)
	hc.Transport = csrfTransport{token: s.CSRF}
	return &demoClient{t: t, base: base, hc: hc}
}

// do sends a request with body as JSON (none when nil).
func (c *demoClient) do(method, path string, body any) (int, []byte) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func (c *demoClient) get(path string) (int, []byte) {
	c.t.Helper()
	return c.do("GET", path, nil)
}

// getReady is get, retried while the server answers 503 (the population
// engine loads in the background).
func (c *demoClient) getReady(path string) (int, []byte) {
	c.t.Helper()
	for range 300 {
		if status, b := c.get(path); status != http.StatusServiceUnavailable {
			return status, b
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.t.Fatalf("%s: still unavailable after 30 s", path)
	return 0, nil
}

// csrfTransport sends a session's CSRF token on every request that
// changes something.
type csrfTransport struct{ token string }

func (c csrfTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodGet && c.token != "" {
		r = r.Clone(r.Context())
		r.Header.Set("X-CSRF-Token", c.token)
	}
	return http.DefaultTransport.RoundTrip(r)
}
