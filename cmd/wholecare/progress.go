package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// progressBar draws long work on a terminal as a bar with a rate, and as a
// line every ten per cent when the output is not a terminal (CI, a log).
type progressBar struct {
	mu       sync.Mutex
	w        io.Writer
	label    string
	unit     string
	tty      bool
	start    time.Time
	now      func() time.Time
	lastDraw time.Time
	lastTen  int
	done     int
	total    int
	// With a count unit, done and total are bytes and the rate is of
	// counted things (resources/s): see newByteProgress.
	countUnit string
	count     int
}

// newByteProgress shows progress through bytes of input, with the rate of
// the things counted with Count.
func newByteProgress(w io.Writer, label, countUnit string, now func() time.Time) *progressBar {
	p := newProgressBar(w, label, "bytes", now)
	p.countUnit = countUnit
	return p
}

// Count records how many things are done so far.
func (p *progressBar) Count(n int) {
	p.mu.Lock()
	p.count = n
	p.mu.Unlock()
}

func newProgressBar(w io.Writer, label, unit string, now func() time.Time) *progressBar {
	tty := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	return &progressBar{w: w, label: label, unit: unit, tty: tty, now: now, start: now(), lastTen: -1}
}

// Set records progress; safe to call from any goroutine.
func (p *progressBar) Set(done, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done, p.total = done, total
	t := p.now()
	if p.tty {
		if done < total && t.Sub(p.lastDraw) < 100*time.Millisecond {
			return
		}
		p.lastDraw = t
		fmt.Fprintf(p.w, "\r%s", p.line(t))
		return
	}
	tenth := 0
	if total > 0 {
		tenth = done * 10 / total
	}
	if tenth != p.lastTen {
		p.lastTen = tenth
		fmt.Fprintln(p.w, p.line(t))
	}
}

// Finish ends the bar's line.
func (p *progressBar) Finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		fmt.Fprintf(p.w, "\r%s\n", p.line(p.now()))
	}
}

func (p *progressBar) line(t time.Time) string {
	const width = 30
	frac := 0.0
	if p.total > 0 {
		frac = float64(p.done) / float64(p.total)
	}
	filled := int(frac * width)
	bar := strings.Repeat("=", filled)
	if filled < width {
		bar += ">" + strings.Repeat(" ", width-filled-1)
	}
	elapsed := t.Sub(p.start).Seconds()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(p.done) / elapsed
	}
	if p.countUnit != "" {
		crate := 0.0
		if elapsed > 0 {
			crate = float64(p.count) / elapsed
		}
		return fmt.Sprintf("%s [%s] %3.0f%% %s/%s MB  %s %s  %s %s/s  %s", p.label, bar, frac*100,
			thousands(p.done>>20), thousands(p.total>>20), thousands(p.count), p.countUnit, thousands(int(crate)), p.countUnit,
			(time.Duration(elapsed) * time.Second).Round(time.Second))
	}
	return fmt.Sprintf("%s [%s] %3.0f%% %s/%s %s  %s %s/s  %s", p.label, bar, frac*100,
		thousands(p.done), thousands(p.total), p.unit, thousands(int(rate)), p.unit,
		(time.Duration(elapsed) * time.Second).Round(time.Second))
}

// thousands writes n with comma separators: 1,000,000.
func thousands(n int) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
