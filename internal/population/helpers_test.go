package population

import (
	"context"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/registry"
	"github.com/wholecare/wholecare/internal/synth"
)

var testNow = time.Date(2025, time.April, 1, 0, 0, 0, 0, time.UTC)

var (
	setOnce sync.Once
	testSet *codes.Set
	setErr  error
)

func mustSet(t testing.TB) *codes.Set {
	t.Helper()
	setOnce.Do(func() { testSet, setErr = codes.Load() })
	if setErr != nil {
		t.Fatalf("codes.Load: %v", setErr)
	}
	return testSet
}

// fakeSource serves whole people by ascending id, like sqlstore's
// RecordBatch.
type fakeSource struct {
	ids    []int64
	people map[int64]*record.Batch
}

func newFakeSource() *fakeSource { return &fakeSource{people: map[int64]*record.Batch{}} }

// add splits b into one batch per person.
func (s *fakeSource) add(b *record.Batch) {
	get := func(id int64) *record.Batch { return s.people[id] }
	for _, p := range b.People {
		s.people[p.ID] = &record.Batch{People: []registry.Person{p}}
		s.ids = append(s.ids, p.ID)
	}
	for _, r := range b.Conditions {
		get(r.PersonID).Conditions = append(get(r.PersonID).Conditions, r)
	}
	for _, r := range b.Observations {
		get(r.PersonID).Observations = append(get(r.PersonID).Observations, r)
	}
	for _, r := range b.Encounters {
		get(r.PersonID).Encounters = append(get(r.PersonID).Encounters, r)
	}
	for _, r := range b.Medications {
		get(r.PersonID).Medications = append(get(r.PersonID).Medications, r)
	}
	for _, r := range b.Immunisations {
		get(r.PersonID).Immunisations = append(get(r.PersonID).Immunisations, r)
	}
	for _, r := range b.Procedures {
		get(r.PersonID).Procedures = append(get(r.PersonID).Procedures, r)
	}
	slices.Sort(s.ids)
	s.ids = slices.Compact(s.ids)
}

func (s *fakeSource) RecordBatch(_ context.Context, after int64, n int) (*record.Batch, error) {
	i := sort.Search(len(s.ids), func(i int) bool { return s.ids[i] > after })
	out := &record.Batch{}
	for ; i < len(s.ids) && len(out.People) < n; i++ {
		p := s.people[s.ids[i]]
		out.People = append(out.People, p.People...)
		out.Conditions = append(out.Conditions, p.Conditions...)
		out.Observations = append(out.Observations, p.Observations...)
		out.Encounters = append(out.Encounters, p.Encounters...)
		out.Medications = append(out.Medications, p.Medications...)
		out.Immunisations = append(out.Immunisations, p.Immunisations...)
		out.Procedures = append(out.Procedures, p.Procedures...)
	}
	return out, nil
}

// mustSynth generates people synthetic people into a fake source.
func mustSynth(t testing.TB, people int) *fakeSource {
	t.Helper()
	g, err := synth.NewGenerator(synth.Spec{Seed: 7, People: people, ChunkSize: min(people, 1000), Now: testNow, Version: synth.Version})
	if err != nil {
		t.Fatal(err)
	}
	src := newFakeSource()
	var b record.Batch
	for k := range g.Spec().Chunks() {
		g.Chunk(k, 1, &b)
		src.add(&b)
	}
	return src
}

func mustBuild(t testing.TB, src Source) *Engine {
	t.Helper()
	e, err := Build(t.Context(), src, mustSet(t), testNow, nil)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return e
}

func mustParse(t testing.TB, e *Engine, text string) Expr {
	t.Helper()
	x, err := e.Parse(text)
	if err != nil {
		t.Fatalf("Parse(%q): %v", text, err)
	}
	return x
}
