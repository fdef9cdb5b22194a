package registry

import "testing"

func TestValidNHSNumber(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"9434765919", true},  // the NHS Digital worked example
		{"9434765918", false}, // wrong check digit
		{"4010232137", true},
		{"943476591", false},   // nine digits
		{"94347659190", false}, // eleven
		{"94347659a9", false},
		{"1000000010", false}, // check digit would be 10: never issued
		{"", false},
	}
	for _, tt := range tests {
		if got := ValidNHSNumber(tt.in); got != tt.want {
			t.Errorf("ValidNHSNumber(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
	if got := NormaliseNHSNumber("943 476-5919"); got != "9434765919" {
		t.Errorf("NormaliseNHSNumber = %q", got)
	}
	if got := FormatNHSNumber("9434765919"); got != "943 476 5919" {
		t.Errorf("FormatNHSNumber = %q", got)
	}
}
