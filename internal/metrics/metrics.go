// Package metrics keeps counters, gauges and histograms and writes them in the
// Prometheus text exposition format (version 0.0.4). It is deliberately small:
// Wholecare exposes a handful of series and needs no client library for that.
// Labels must never carry person data (no NHS numbers, names or free text).
package metrics

import (
	"fmt"
	"io"
	"math"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Registry holds every series of one process. The zero value is not usable;
// call New.
type Registry struct {
	mu       sync.Mutex
	families map[string]*family
	gauges   []gaugeFunc
	start    time.Time
}

type gaugeFunc struct {
	name, help string
	fn         func() float64
}

type family struct {
	name, help, typ string
	labels          []string
	buckets         []float64
	series          map[string]*series
}

type series struct {
	labelValues []string
	value       float64  // counter or gauge
	counts      []uint64 // histogram bucket counts (non-cumulative)
	sum         float64  // histogram sum
	count       uint64   // histogram count
}

// New makes an empty registry; start is the process start time exposed as
// process_start_time_seconds.
func New(start time.Time) *Registry {
	return &Registry{families: map[string]*family{}, start: start}
}

// Counter is a monotonically increasing series family.
type Counter struct {
	r *Registry
	f *family
}

// Histogram observes values into fixed buckets.
type Histogram struct {
	r *Registry
	f *family
}

// NewCounter registers a counter family with the given label names.
func (r *Registry) NewCounter(name, help string, labels ...string) *Counter {
	return &Counter{r: r, f: r.register(name, help, "counter", labels, nil)}
}

// NewHistogram registers a histogram family; buckets are upper bounds in
// increasing order (+Inf is implied).
func (r *Registry) NewHistogram(name, help string, buckets []float64, labels ...string) *Histogram {
	b := append([]float64(nil), buckets...)
	sort.Float64s(b)
	return &Histogram{r: r, f: r.register(name, help, "histogram", labels, b)}
}

// GaugeFunc registers a gauge whose value is read at scrape time. fn must be
// cheap or cache its own result.
func (r *Registry) GaugeFunc(name, help string, fn func() float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gauges = append(r.gauges, gaugeFunc{name, help, fn})
}

func (r *Registry) register(name, help, typ string, labels []string, buckets []float64) *family {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.families[name]; dup {
		panic("metrics: " + name + " registered twice") // a programming error caught at start-up
	}
	f := &family{name: name, help: help, typ: typ, labels: labels, buckets: buckets, series: map[string]*series{}}
	r.families[name] = f
	return f
}

func (f *family) get(values []string) *series {
	if len(values) != len(f.labels) {
		panic(fmt.Sprintf("metrics: %s wants %d label values, got %d", f.name, len(f.labels), len(values)))
	}
	key := strings.Join(values, "\xff")
	s, ok := f.series[key]
	if !ok {
		s = &series{labelValues: append([]string(nil), values...)}
		if f.typ == "histogram" {
			s.counts = make([]uint64, len(f.buckets)+1)
		}
		f.series[key] = s
	}
	return s
}

// Add adds v (which must not be negative) to the series with these label values.
func (c *Counter) Add(v float64, labelValues ...string) {
	if v < 0 {
		return
	}
	c.r.mu.Lock()
	c.f.get(labelValues).value += v
	c.r.mu.Unlock()
}

// Inc adds one.
func (c *Counter) Inc(labelValues ...string) { c.Add(1, labelValues...) }

// Observe records one value.
func (h *Histogram) Observe(v float64, labelValues ...string) {
	h.r.mu.Lock()
	defer h.r.mu.Unlock()
	s := h.f.get(labelValues)
	i := sort.SearchFloat64s(h.f.buckets, v) // first bucket with bound >= v
	s.counts[i]++
	s.sum += v
	s.count++
}

// WriteText writes every series in the Prometheus text format, families in
// name order, plus Go runtime gauges.
func (r *Registry) WriteText(w io.Writer) error {
	var b strings.Builder
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	writeGauge(&b, "go_goroutines", "Number of goroutines.", float64(runtime.NumGoroutine()))
	writeGauge(&b, "go_memstats_heap_inuse_bytes", "Heap bytes in use.", float64(ms.HeapInuse))
	writeGauge(&b, "go_memstats_sys_bytes", "Bytes obtained from the OS.", float64(ms.Sys))
	writeGauge(&b, "process_start_time_seconds", "Start time of the process since the Unix epoch in seconds.", float64(r.start.Unix()))

	r.mu.Lock()
	gauges := append([]gaugeFunc(nil), r.gauges...)
	names := make([]string, 0, len(r.families))
	for n := range r.families {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		f := r.families[n]
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", f.name, escapeHelp(f.help), f.name, f.typ)
		keys := make([]string, 0, len(f.series))
		for k := range f.series {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			s := f.series[k]
			switch f.typ {
			case "histogram":
				var cum uint64
				for i, bound := range f.buckets {
					cum += s.counts[i]
					fmt.Fprintf(&b, "%s_bucket%s %d\n", f.name, labelText(f.labels, s.labelValues, "le", formatFloat(bound)), cum)
				}
				cum += s.counts[len(f.buckets)]
				fmt.Fprintf(&b, "%s_bucket%s %d\n", f.name, labelText(f.labels, s.labelValues, "le", "+Inf"), cum)
				fmt.Fprintf(&b, "%s_sum%s %s\n", f.name, labelText(f.labels, s.labelValues, "", ""), formatFloat(s.sum))
				fmt.Fprintf(&b, "%s_count%s %d\n", f.name, labelText(f.labels, s.labelValues, "", ""), s.count)
			default:
				fmt.Fprintf(&b, "%s%s %s\n", f.name, labelText(f.labels, s.labelValues, "", ""), formatFloat(s.value))
			}
		}
	}
	r.mu.Unlock()

	// Gauge functions may touch the store: call them outside the lock.
	for _, g := range gauges {
		writeGauge(&b, g.name, g.help, g.fn())
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeGauge(b *strings.Builder, name, help string, v float64) {
	fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s gauge\n%s %s\n", name, escapeHelp(help), name, name, formatFloat(v))
}

func labelText(names, values []string, extraName, extraValue string) string {
	if len(names) == 0 && extraName == "" {
		return ""
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(n)
		b.WriteString(`="`)
		b.WriteString(escapeLabel(values[i]))
		b.WriteByte('"')
	}
	if extraName != "" {
		if len(names) > 0 {
			b.WriteByte(',')
		}
		b.WriteString(extraName)
		b.WriteString(`="`)
		b.WriteString(extraValue)
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
var helpEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }
func escapeHelp(s string) string  { return helpEscaper.Replace(s) }

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, +1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
