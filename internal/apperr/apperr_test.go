package apperr

import (
	"errors"
	"fmt"
	"testing"
)

func TestKindOf(t *testing.T) {
	cause := errors.New("disk full")
	tests := []struct {
		name string
		err  error
		want Kind
		msg  string
	}{
		{"plain", errors.New("x"), Internal, "internal error"},
		{"invalid", E(Invalid, "careplan: goal ends before it starts"), Invalid, "careplan: goal ends before it starts"},
		{"wrapped by fmt", fmt.Errorf("saving: %w", E(NotFound, "no such person")), NotFound, "no such person"},
		{"wrap", Wrap(Unavailable, cause, "store busy"), Unavailable, "store busy: disk full"},
		{"formatted", Ef(Conflict, "person %d already merged", 7), Conflict, "person 7 already merged"},
		{"internal hides cause", Wrap(Internal, cause, "saving"), Internal, "internal error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := KindOf(tt.err); got != tt.want {
				t.Errorf("KindOf = %v, want %v", got, tt.want)
			}
			if got := Message(tt.err); got != tt.msg {
				t.Errorf("Message = %q, want %q", got, tt.msg)
			}
		})
	}
	if !errors.Is(Wrap(Internal, cause, "x"), cause) {
		t.Error("Wrap lost its cause")
	}
	if Wrap(Invalid, nil, "x") != nil {
		t.Error("Wrap(nil) is not nil")
	}
}
