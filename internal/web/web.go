// Package web renders Wholecare's pages: the professional application and
// the person's own portal. It owns the frame every page shares (layout,
// navigation by role, breadcrumbs, the stylesheet) and one template set per
// page, parsed once at start from embedded files. Handlers in httpapi decide
// who may see what (through access.Policy) and hand this package the view
// to draw; web never reads a store, never decides access, and never writes
// a script or an inline style, so the pages keep working without
// JavaScript and under a strict Content-Security-Policy.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync"
)

//go:embed templates/*.html assets/*
var files embed.FS

// Crumb is one step of a page's breadcrumbs; the last has no link.
type Crumb struct {
	Label string
	Href  string
}

// User is who is signed in, as the frame shows them.
type User struct {
	Name string
	Role string // a plain-English role label
}

// Page is what every page template receives: the frame's parts and the
// page's own view in Data.
type Page struct {
	Title  string // the page's h1 and the start of its <title>
	Crumbs []Crumb
	User   *User // nil when signed out
	Nav    []NavItem
	CSRF   string // the session's token, for forms
	// Notice confirms what the last action did; Error says what went
	// wrong and what to do. Both are fixed texts chosen by the handler,
	// never request text.
	Notice string
	Error  string
	Data   any
	// Refresh, when not 0, asks the browser to load the page again after
	// that many seconds: how a page follows work in progress without a
	// script.
	Refresh int

	css string // the stylesheet's versioned path
}

// CSS is the versioned stylesheet path, for the layout.
func (p *Page) CSS() string { return p.css }

// Renderer holds one template set per page, parsed at start (or, in
// development, from disk at every render so templates can be edited live).
type Renderer struct {
	mu     sync.RWMutex
	pages  map[string]*template.Template
	src    fs.FS
	dev    bool
	css    []byte
	cssVer string
}

// Options configure a Renderer.
type Options struct {
	// DevDir, when set, is the internal/web directory on disk: templates
	// and the stylesheet are re-read on every request (the -dev flag).
	DevDir string
}

// New parses every page template against the layout.
func New(o Options) (*Renderer, error) {
	r := &Renderer{src: files}
	if o.DevDir != "" {
		r.src, r.dev = os.DirFS(o.DevDir), true
	}
	if err := r.load(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Renderer) load() error {
	css, err := fs.ReadFile(r.src, "assets/app.css")
	if err != nil {
		return fmt.Errorf("web: reading the stylesheet: %w", err)
	}
	sum := sha256.Sum256(css)
	layout, err := fs.ReadFile(r.src, "templates/layout.html")
	if err != nil {
		return fmt.Errorf("web: reading the layout: %w", err)
	}
	names, err := fs.Glob(r.src, "templates/*.html")
	if err != nil {
		return err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" {
			continue
		}
		body, err := fs.ReadFile(r.src, n)
		if err != nil {
			return err
		}
		t, err := template.New("layout").Funcs(funcs).Parse(string(layout))
		if err != nil {
			return fmt.Errorf("web: parsing the layout: %w", err)
		}
		if _, err := t.New(name).Parse(string(body)); err != nil {
			return fmt.Errorf("web: parsing page %s: %w", name, err)
		}
		pages[name] = t
	}
	r.mu.Lock()
	r.pages, r.css, r.cssVer = pages, css, hex.EncodeToString(sum[:6])
	r.mu.Unlock()
	return nil
}

// Pages lists the page templates, for the test that executes every one.
func (r *Renderer) Pages() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []string
	for n := range r.pages {
		out = append(out, n)
	}
	return out
}

// CSSPath is the stylesheet's address, versioned by its content so it can
// be cached for a year.
func (r *Renderer) CSSPath() string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return "/assets/app.css?v=" + r.cssVer
}

// Stylesheet returns the stylesheet and its version.
func (r *Renderer) Stylesheet() ([]byte, string) {
	if r.dev {
		_ = r.load()
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.css, r.cssVer
}

// Render executes page name into w. It renders into a buffer first, so a
// template error never leaves half a page: the caller gets the error and
// can send an error page instead.
func (r *Renderer) Render(w io.Writer, name string, p *Page) error {
	if r.dev {
		if err := r.load(); err != nil {
			return err
		}
	}
	r.mu.RLock()
	t, ok := r.pages[name]
	p.css = "/assets/app.css?v=" + r.cssVer
	r.mu.RUnlock()
	if !ok {
		return fmt.Errorf("web: no page template %q", name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		return fmt.Errorf("web: rendering %s: %w", name, err)
	}
	_, err := buf.WriteTo(w)
	return err
}
