package fhir

import (
	"bytes"
	"testing"
)

// syntheaLines loads every line of the Synthea bulk NDJSON files: 18,000
// resources of twelve types, 23 MB, about a third of it base64 attachments
// in DocumentReference.
func syntheaLines(b *testing.B) (lines [][]byte, size int64) {
	b.Helper()
	for _, f := range sharedFiles(b, "synthea/smart-bulk-fhir/*/*.000.ndjson") {
		for l := range bytes.Lines(mustRead(b, f)) {
			if l = bytes.TrimSpace(l); len(l) > 0 {
				lines = append(lines, l)
				size += int64(len(l))
			}
		}
	}
	return lines, size
}

// BenchmarkDecodeSyntheaNDJSON decodes every Synthea bulk resource and
// reports bytes and resources per second.
func BenchmarkDecodeSyntheaNDJSON(b *testing.B) {
	lines, size := syntheaLines(b)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range lines {
			if _, err := Decode(l); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(len(lines)*b.N)/b.Elapsed().Seconds(), "resources/s")
}

// BenchmarkDecodeAndMapSyntheaNDJSON adds the mapping to ingest items.
func BenchmarkDecodeAndMapSyntheaNDJSON(b *testing.B) {
	lines, size := syntheaLines(b)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range lines {
			r, err := Decode(l)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = ToItem(r, "bench", received)
		}
	}
	b.ReportMetric(float64(len(lines)*b.N)/b.Elapsed().Seconds(), "resources/s")
}

// BenchmarkReadSyntheaBundles reads the 49 Synthea transaction bundles.
func BenchmarkReadSyntheaBundles(b *testing.B) {
	var bundles [][]byte
	var size int64
	for _, f := range sharedFiles(b, "synthea/smart-generated-sample-data-r4/bundles/*.json") {
		raw := mustRead(b, f)
		bundles = append(bundles, raw)
		size += int64(len(raw))
	}
	b.SetBytes(size)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for _, raw := range bundles {
			bu, err := ReadBundle(bytes.NewReader(raw), "bench")
			if err != nil {
				b.Fatal(err)
			}
			n += len(bu.Entries)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "resources/s")
}
