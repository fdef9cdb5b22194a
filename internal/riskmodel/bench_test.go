package riskmodel

import (
	"bufio"
	"flag"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
)

//	go test -bench Fit -run XX ./internal/riskmodel \
//	  -features /tmp/rm/f100k/train.csv -rows 1000000
//
// With -features, the rows are drawn with replacement from a matrix that
// `wholecare risk train --export-features` wrote, so the trees see the
// population's real feature distributions at any size; without it, from
// the synthetic logistic set.
var (
	benchFeatures = flag.String("features", "", "a train.csv from `wholecare risk train --export-features`")
	benchRows     = flag.Int("rows", 100_000, "rows to fit on")
)

func benchData(b *testing.B) *Dataset {
	b.Helper()
	src := logisticData(20_000, 1, -2.5, [3]float64{1, -0.5, 0.8})
	if *benchFeatures != "" {
		var err error
		if src, err = readMatrix(*benchFeatures); err != nil {
			b.Fatal(err)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	d := &Dataset{P: src.P}
	for i := range *benchRows {
		k := r.IntN(src.Len())
		d.Add(int64(i), src.Row(k), src.Y[k])
	}
	return d
}

func readMatrix(path string) (*Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	sc.Scan()
	d := &Dataset{P: len(strings.Split(sc.Text(), ",")) - 2}
	row := make([]float32, d.P)
	for sc.Scan() {
		fs := strings.Split(sc.Text(), ",")
		id, _ := strconv.ParseInt(fs[0], 10, 64)
		for j := range row {
			v, err := strconv.ParseFloat(fs[j+2], 32)
			if err != nil {
				return nil, err
			}
			row[j] = float32(v)
		}
		d.Add(id, row, fs[1] == "1")
	}
	return d, sc.Err()
}

func BenchmarkFitGBT(b *testing.B) {
	d := benchData(b)
	b.ResetTimer()
	for b.Loop() {
		m, err := FitGBT(b.Context(), d, DefaultGBTSpec)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(len(m.Trees)), "trees")
	}
}

func BenchmarkFitLogistic(b *testing.B) {
	d := benchData(b)
	b.ResetTimer()
	for b.Loop() {
		if _, err := FitLogistic(b.Context(), d, DefaultLogisticSpec); err != nil {
			b.Fatal(err)
		}
	}
}
