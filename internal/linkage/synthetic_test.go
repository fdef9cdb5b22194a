package linkage

import (
	"slices"
	"testing"
)

func TestSyntheticIsDeterministicAndItsTruthHolds(t *testing.T) {
	recs, pairs := Synthetic(2000, 0.3, 9)
	again, pairsAgain := Synthetic(2000, 0.3, 9)
	if !slices.Equal(recs, again) || !slices.Equal(pairs, pairsAgain) {
		t.Fatal("the same seed gave different records")
	}
	other, _ := Synthetic(2000, 0.3, 10)
	if slices.Equal(recs, other) {
		t.Fatal("another seed gave the same records")
	}
	_, truth := genRecords(2000, 0.3, 9)
	if len(truth) != len(pairs) || len(recs) != 2000 {
		t.Fatalf("%d records, %d pairs, %d in the truth map", len(recs), len(pairs), len(truth))
	}
	for _, p := range pairs {
		if p[0] >= p[1] || !truth[key(p[0], p[1])] {
			t.Errorf("pair %v is not in order or not true", p)
		}
	}
}
