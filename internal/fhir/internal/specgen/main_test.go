package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func schemaPath(t *testing.T) []byte {
	t.Helper()
	dir := os.Getenv("WHOLECARE_SHARED_DATA")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "..", "..", "shared", "data")
	}
	raw, err := os.ReadFile(filepath.Join(dir, "fhir-r4", "schema", "fhir.schema.json"))
	if err != nil {
		t.Skipf("no FHIR schema (set WHOLECARE_SHARED_DATA): %v", err)
	}
	return raw
}

// TestGeneratedFileIsCurrent fails when spec_gen.go is not what the
// generator makes of the schema: run go generate ./internal/fhir.
func TestGeneratedFileIsCurrent(t *testing.T) {
	src, err := generate(schemaPath(t), append(append([]string(nil), coreTypes...), feedTypes...))
	if err != nil {
		t.Fatal(err)
	}
	have, err := os.ReadFile(filepath.Join("..", "..", "spec_gen.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(src, have) {
		t.Error("spec_gen.go is stale: run go generate ./internal/fhir")
	}
}

func TestGenerateRefusesUnknownTypes(t *testing.T) {
	raw := schemaPath(t)
	if _, err := generate(raw, []string{"Patient", "NotAResource"}); err == nil || !strings.Contains(err.Error(), "NotAResource") {
		t.Errorf("err = %v", err)
	}
	// A smaller scope gives a smaller table that still compiles the
	// resource and what it reaches.
	src, err := generate(raw, []string{"Patient"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(src, []byte("tPatient: {name: \"Patient\"")) || bytes.Contains(src, []byte("tObservation:")) {
		t.Error("Patient-only table is wrong")
	}
	if !bytes.HasPrefix(src, []byte("// Code generated ")) || !bytes.Contains(src, []byte("DO NOT EDIT.")) {
		t.Error("missing generated-code header")
	}
}
