package main

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/wholecare/wholecare/internal/registry"
	"github.com/wholecare/wholecare/internal/sqlstore"
)

// TestImportLinksASecondSource imports the same people from a second
// system, which knows them by its own ids: record linkage finds every one
// of them (no NHS numbers to go on), so the registry holds each person
// once with two identities. With --no-linkage each is a new person.
func TestImportLinksASecondSource(t *testing.T) {
	bundles := filepath.Join(sharedData(t), "synthea", "smart-generated-sample-data-r4", "bundles")
	for _, tc := range []struct {
		name    string
		flags   []string
		doubled bool
	}{{"linkage", nil, false}, {"no linkage", []string{"--no-linkage"}, true}} {
		t.Run(tc.name, func(t *testing.T) {
			db := "sqlite:" + filepath.Join(t.TempDir(), "link.db")
			e := envOf(map[string]string{"WHOLECARE_DB": db})
			for _, source := range []string{"fhir:gp", "fhir:hospital"} {
				args := append([]string{"import", "--source", source}, tc.flags...)
				if out, stderr, err := runCmd(t, e, append(args, bundles)...); err != nil {
					t.Fatalf("import as %s: %v\n%s\n%s", source, err, out, stderr)
				}
			}
			got := counts(t, db)
			people, identities := got["people"], got["source_identities"]
			if want := int64(len(sourceCounts(t, bundles)["Patient"])); people != want*map[bool]int64{false: 1, true: 2}[tc.doubled] || identities != 2*want {
				t.Errorf("%d people with %d identities from %d patients sent twice", people, identities, want)
			}
			if tc.doubled {
				return
			}
			store, err := sqlstore.Open(t.Context(), db, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			// Each person has one identity from each system: nobody was
			// linked to the wrong person.
			var ids []int64
			if err := store.EachPerson(t.Context(), func(p registry.Person) error { ids = append(ids, p.ID); return nil }); err != nil {
				t.Fatal(err)
			}
			_, idents, err := store.Patients(t.Context(), ids)
			if err != nil {
				t.Fatal(err)
			}
			bySystem := map[[2]string]int{}
			for _, si := range idents {
				bySystem[[2]string{fmt.Sprint(si.PersonID), si.Source}]++
				if si.Source == "fhir:hospital" && si.Provenance != "linkage" {
					t.Errorf("hospital identity of person %d has provenance %q", si.PersonID, si.Provenance)
				}
			}
			for k, c := range bySystem {
				if c != 1 {
					t.Errorf("person %s has %d identities from %s", k[0], c, k[1])
				}
			}
			_, n, err := store.PendingReviews(t.Context(), 10, 0)
			if err != nil || n.Pending != 0 {
				t.Errorf("pending reviews %+v, %v; want none", n, err)
			}
		})
	}
}
