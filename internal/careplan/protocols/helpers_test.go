package protocols_test

import (
	"encoding/json"
	"testing"

	"github.com/wholecare/wholecare/internal/careplan/protocols"
)

func mustJSON(t *testing.T, p *protocols.Protocol) []byte {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
