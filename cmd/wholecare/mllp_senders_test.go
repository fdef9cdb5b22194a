package main

import (
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wholecare/wholecare/internal/auth"
)

func TestMLLPSendersAreIdentifiedPerConnection(t *testing.T) {
	db := openForTest(t, "sqlite:"+filepath.Join(t.TempDir(), "senders.db"))
	defer db.Close()
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, u := range []auth.User{
		{Name: "pas.rxx", DisplayName: "RXX PAS", Role: auth.SystemClient},
		{Name: "pas.old", DisplayName: "Old PAS", Role: auth.SystemClient, Disabled: true},
		{Name: "a.person", DisplayName: "A Clinician", Role: auth.Clinician, PasswordHash: "$argon2id$x"},
	} {
		if _, err := db.PutUser(t.Context(), u); err != nil {
			t.Fatal(err)
		}
	}
	senders, err := parseMLLPSenders("pas.rxx=10.1.2.0/24,pas.old=10.9.9.9,a.person=10.7.0.0/16")
	if err != nil {
		t.Fatal(err)
	}
	addr := func(s string) net.Addr { a, _ := net.ResolveTCPAddr("tcp", s); return a }
	tests := []struct {
		name    string
		senders []mllpSender
		remote  string
		want    string
		refusal string
	}{
		{"loopback with nothing registered", nil, "127.0.0.1:4000", "", ""},
		{"network with nothing registered", nil, "10.1.2.3:4000", "", "only loopback"},
		{"a registered range", senders, "10.1.2.3:4000", "pas.rxx", ""},
		{"an unregistered address", senders, "10.3.3.3:4000", "", "not registered"},
		{"a disabled client", senders, "10.9.9.9:4000", "", "disabled"},
		{"not a system client", senders, "10.7.1.1:4000", "", "not a system client"},
		{"loopback once senders are registered", senders, "127.0.0.1:4000", "", "not registered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := identifySenders(db, tt.senders)(addr(tt.remote))
			if tt.refusal != "" {
				if err == nil || !strings.Contains(err.Error(), tt.refusal) {
					t.Fatalf("got %q, %v; want a refusal containing %q", got, err, tt.refusal)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	for _, bad := range []string{"pas", "pas=", "=10.0.0.1", "pas=10.0.0.300", "pas=banana"} {
		if _, err := parseMLLPSenders(bad); err == nil {
			t.Errorf("parseMLLPSenders(%q): no error", bad)
		}
	}
}
