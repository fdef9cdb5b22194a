package hl7v2

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sharedDataDir finds the shared external test data: WHOLECARE_SHARED_DATA,
// or ../../../shared/data from this package (the workspace layout).
func sharedDataDir() string {
	if d := os.Getenv("WHOLECARE_SHARED_DATA"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "..", "shared", "data")
}

// sharedFile is one file of the shared HL7 v2 samples.
type sharedFile struct {
	name string // relative to the hl7v2 data directory
	data []byte
}

// sharedMessage is one message cut from a shared file.
type sharedMessage struct {
	name string // file#n
	data []byte
}

// sharedFiles reads every sample file (the .hl7 files and Simulated
// Hospital's messages.out), or nil when the data is absent.
func sharedFiles(tb testing.TB) []sharedFile {
	tb.Helper()
	root := filepath.Join(sharedDataDir(), "hl7v2")
	var out []sharedFile
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !(strings.HasSuffix(path, ".hl7") || strings.HasSuffix(path, ".out")) {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		out = append(out, sharedFile{name: rel, data: data})
		return nil
	})
	if err != nil {
		return nil
	}
	return out
}

// mustSharedMessages is every message in the shared samples, skipping the
// test when the data is absent.
func mustSharedMessages(tb testing.TB) []sharedMessage {
	tb.Helper()
	files := sharedFiles(tb)
	if len(files) == 0 {
		tb.Skipf("shared HL7 v2 samples not found under %s (set WHOLECARE_SHARED_DATA to the shared data directory)", sharedDataDir())
	}
	var out []sharedMessage
	for _, f := range files {
		for i, m := range Split(f.data) {
			out = append(out, sharedMessage{name: fmt.Sprintf("%s#%d", f.name, i+1), data: m})
		}
	}
	return out
}
