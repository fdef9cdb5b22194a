package linkage

import (
	_ "embed"
	"encoding/json"

	"github.com/wholecare/wholecare/internal/apperr"
)

// defaultModelJSON is a model fitted by EM, without labels, to generated
// UK-shaped records with the errors registrations have (see
// TestDefaultModelIsReproducible, which refits it with -update).
//
//go:embed default_model.json
var defaultModelJSON []byte

// DefaultModel is the model an Index scores with when no other is given.
// Each call returns a fresh copy.
func DefaultModel() (*Model, error) { return ParseModel(defaultModelJSON) }

// ParseModel reads a model stored as JSON (as encoding/json writes a
// Model) and checks that it fits this version's comparisons.
func ParseModel(data []byte) (*Model, error) {
	var m Model
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, apperr.Wrap(apperr.Invalid, err, "linkage: reading a model")
	}
	if _, err := m.params(); err != nil {
		return nil, err
	}
	return &m, nil
}
