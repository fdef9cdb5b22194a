package linkage

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "refit default_model.json")

// defaultModelRecords is the data DefaultModel is fitted to: generated
// people, a fifth of them recorded two to four times with errors.
func defaultModelRecords() []Record {
	recs, _ := genRecords(50_000, 0.2, 20260101)
	return recs
}

// TestDefaultModelIsReproducible refits the shipped model from the
// generator and checks it is the one embedded, so a change to the
// comparisons or to EM cannot leave a stale model behind.
func TestDefaultModelIsReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("fits a model to 50,000 records")
	}
	l, err := NewDedupe(defaultModelRecords(), Config{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	m, err := l.Train(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if *update {
		if err := os.WriteFile("default_model.json", got, 0o644); err != nil {
			t.Fatal(err)
		}
		return // the binary embeds the file as it was before
	}
	if !bytes.Equal(got, defaultModelJSON) {
		t.Fatal("default_model.json is not what the generator's records fit: run go test -run TestDefaultModelIsReproducible -update")
	}
	if _, err := DefaultModel(); err != nil {
		t.Fatal(err)
	}
}

func TestParseModelRefusesAForeignModel(t *testing.T) {
	m, err := DefaultModel()
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]func(m *Model){
		"missing field": func(m *Model) { m.Fields = m.Fields[1:] },
		"renamed level": func(m *Model) { m.Fields[0].Levels[0].Name = "identical" },
		"lambda of one": func(m *Model) { m.Lambda = 1 },
		"u of zero":     func(m *Model) { m.Fields[1].Levels[0].U = 0 },
	}
	for name, spoil := range tests {
		t.Run(name, func(t *testing.T) {
			c := *m
			c.Fields = nil
			for _, f := range m.Fields {
				f.Levels = append([]LevelModel(nil), f.Levels...)
				c.Fields = append(c.Fields, f)
			}
			spoil(&c)
			data, _ := json.Marshal(&c)
			if _, err := ParseModel(data); err == nil {
				t.Error("accepted")
			}
		})
	}
	if _, err := ParseModel([]byte("{")); err == nil {
		t.Error("accepted broken JSON")
	}
}
