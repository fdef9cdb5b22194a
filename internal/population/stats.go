package population

import (
	"time"
	"unsafe"

	"github.com/wholecare/wholecare/internal/risk"
)

// Stats describes the engine's size. Bytes are what the engine's own
// arrays hold (capacity, not length); IndexBytes is an estimate of the
// person id map (Go maps do not report their size).
type Stats struct {
	BuiltAt      time.Time
	People       int // live people
	Rows         int // rows, removed people included
	Events       int // events referenced by a person
	WastedEvents int // events left behind by updates
	Concepts     int
	Practices    int

	ColumnBytes int64
	BitmapBytes int64
	EventBytes  int64
	IndexBytes  int64

	Marks     int   // marks referenced by a person (see Recompute)
	MarkBytes int64 // what the marks hold
}

// Bytes is the engine's estimated total size.
func (s Stats) Bytes() int64 {
	return s.ColumnBytes + s.BitmapBytes + s.EventBytes + s.IndexBytes + s.MarkBytes
}

// Stats reports the engine's size.
func (e *Engine) Stats() Stats {
	e.mu.RLock()
	defer e.mu.RUnlock()
	s := Stats{
		BuiltAt:      e.builtAt,
		People:       e.live.Count(),
		Rows:         len(e.id),
		WastedEvents: e.wasted,
		Concepts:     len(e.cat.names),
		Practices:    len(e.practices) - 1,
	}
	s.Events = e.base.len() + e.extra.len() - e.wasted
	s.ColumnBytes = int64(cap(e.id))*8 + int64(cap(e.birth)+cap(e.death)+cap(e.start)+cap(e.end)+cap(e.mstart)+cap(e.mend))*4 +
		int64(cap(e.practice))*2 + int64(cap(e.sex)+cap(e.imd)+cap(e.kaiser)+cap(e.bridges)+cap(e.nwl)+cap(e.risk)) +
		int64(cap(e.krule)+cap(e.brule)+cap(e.grule)+cap(e.efi)+cap(e.cci)) + int64(cap(e.score)+cap(e.prev))*4
	s.Marks = len(e.marks.base) + len(e.marks.extra) - e.mwasted
	s.MarkBytes = int64(cap(e.marks.base)+cap(e.marks.extra)) * int64(unsafe.Sizeof(risk.Mark{}))
	s.BitmapBytes = int64(cap(e.live)) * 8
	for i := range e.present {
		s.BitmapBytes += int64(cap(e.present[i])+cap(e.any[i])) * 8
	}
	for _, seg := range []*events{&e.base, &e.extra} {
		s.EventBytes += int64(cap(seg.concept))*int64(unsafe.Sizeof(uint16(0))) + int64(cap(seg.day)+cap(seg.val))*4
	}
	// A map[int64]int32 costs about 12 bytes a slot plus one control
	// byte, at a load of 7/8 at most and 7/16 just after growing.
	s.IndexBytes = int64(len(e.rows)) * 13 * 16 / 10
	return s
}
