package auth

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestHashVerify(t *testing.T) {
	h := NewHasher(2)
	hash, err := h.Hash(t.Context(), "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=65536,t=3,p=2$") {
		t.Errorf("hash %q is not PHC argon2id", hash)
	}
	tests := []struct {
		password string
		want     bool
	}{
		{"correct horse battery", true},
		{"correct horse batterY", false},
		{"", false},
	}
	for _, tt := range tests {
		got, err := h.Verify(t.Context(), hash, tt.password)
		if err != nil || got != tt.want {
			t.Errorf("Verify(%q) = %v, %v; want %v", tt.password, got, err, tt.want)
		}
	}
	if _, err := h.Verify(t.Context(), "$2a$10$bcrypt", "x"); err == nil {
		t.Error("a non-argon2id hash verified")
	}
	if _, err := h.Hash(t.Context(), "short"); err == nil {
		t.Error("a short password was accepted")
	}
}

func TestHasherBoundsConcurrency(t *testing.T) {
	h := NewHasher(1)
	h.slots <- struct{}{} // the one slot is taken
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := h.Hash(ctx, "correct horse battery"); err == nil {
		t.Error("hash ran although every slot was busy")
	}
}

func TestNewPasswordIsRandom(t *testing.T) {
	a, _ := NewPassword()
	b, _ := NewPassword()
	if len(a) != 20 || a == b {
		t.Errorf("passwords %q and %q", a, b)
	}
}

func TestUserValid(t *testing.T) {
	ok := User{Name: "coordinator", DisplayName: "Demo coordinator", Role: CareCoordinator, PasswordHash: "x"}
	if err := ok.Valid(); err != nil {
		t.Fatal(err)
	}
	bad := ok
	bad.Role = "wizard"
	if bad.Valid() == nil {
		t.Error("unknown role accepted")
	}
	bad = ok
	bad.Name = "Bad Name"
	if bad.Valid() == nil {
		t.Error("name with spaces accepted")
	}
}
