package hl7v2

import (
	"testing"
	"time"
)

// benchADT is the shared ADT samples (Simulated Hospital's admissions and
// the converter's ADT files), skipping when the data is absent.
func benchADT(b *testing.B) [][]byte {
	var out [][]byte
	for _, sm := range mustSharedMessages(b) {
		if m, err := Parse(sm.data); err == nil {
			if code, _, _ := m.Type(); code == "ADT" {
				out = append(out, sm.data)
			}
		}
	}
	if len(out) == 0 {
		b.Skip("no shared ADT messages")
	}
	return out
}

func reportRate(b *testing.B, what string) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(b.N)/s, what+"/s")
	}
}

// BenchmarkParse parses the shared ADT samples in turn, one per op.
func BenchmarkParse(b *testing.B) {
	msgs := benchADT(b)
	size := 0
	for _, m := range msgs {
		size += len(m)
	}
	b.SetBytes(int64(size / len(msgs)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := Parse(msgs[i]); err != nil {
			b.Fatal(err)
		}
		i = (i + 1) % len(msgs)
	}
	reportRate(b, "msgs")
}

// BenchmarkADTItems is the whole receive path short of storage: parse,
// read the ADT, map it to ingest items and build the ACK.
func BenchmarkADTItems(b *testing.B) {
	var msgs [][]byte
	for _, m := range benchADT(b) {
		pm, _ := Parse(m)
		if a, err := ParseADT(pm); err == nil {
			if _, _, err := a.Items("", time.Time{}); err == nil {
				msgs = append(msgs, m)
			}
		}
	}
	now := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		m, err := Parse(msgs[i])
		if err != nil {
			b.Fatal(err)
		}
		a, err := ParseADT(m)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := a.Items("", now); err != nil {
			b.Fatal(err)
		}
		_ = AckFor(m, nil, now)
		i = (i + 1) % len(msgs)
	}
	reportRate(b, "msgs")
}
