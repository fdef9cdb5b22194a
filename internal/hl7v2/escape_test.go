package hl7v2

import (
	"testing"
)

func TestDecode(t *testing.T) {
	sx := syntax{d: standard}
	trunc := syntax{d: Delimiters{Field: '|', Component: '^', Repetition: '~', Escape: '\\', Subcomponent: '&', Truncation: '#'}}
	tests := []struct {
		name string
		sx   syntax
		in   string
		want string
	}{
		{"plain", sx, "plain text", "plain text"},
		{"delimiters", sx, `\F\\S\\T\\R\\E\`, `|^&~\`},
		{"in text", sx, `A\T\E ward`, "A&E ward"},
		{"truncation", trunc, `x\P\y`, "x#y"},
		{"truncation undeclared", sx, `x\P\y`, `x\P\y`},
		{"hex", sx, `\X41424344\`, "ABCD"},
		{"hex lower case", sx, `\X6a\`, "j"},
		{"hex UTF-8", sx, `caf\XC3A9\`, "café"},
		{"odd hex kept", sx, `\X414\`, `\X414\`},
		{"bad hex kept", sx, `\XZZ\`, `\XZZ\`},
		{"empty hex kept", sx, `\X\`, `\X\`},
		{"line break", sx, `one\.br\two`, "one\ntwo"},
		{"space", sx, `a\.sp\b`, "a\nb"},
		{"space n", sx, `a\.sp 3\b`, "a\n\n\nb"},
		{"space capped", sx, `a\.sp 99999\b`, "a" + string(make([]byte, 0)) + repeat("\n", maxSpace) + "b"},
		{"bad space kept", sx, `a\.sp x\b`, `a\.sp x\b`},
		{"formatting dropped", sx, `\H\bold\N\ \.fi\\.nf\\.ce\\.in +4\\.ti -2\x`, "bold x"},
		{"charset switch dropped", sx, `\C2842\x\M2442\y\M244244\`, "xy"},
		{"local escape kept", sx, `\Zabc\`, `\Zabc\`},
		{"unknown kept", sx, `\Q\`, `\Q\`},
		{"unterminated kept", sx, `a\F`, `a\F`},
		{"lone escape", sx, `a\`, `a\`},
		{"empty sequence", sx, `a\\b`, `a\\b`},
		{"no escape declared", syntax{d: Delimiters{Field: '|', Component: '^'}}, `\F\`, `\F\`},
	}
	for _, tt := range tests {
		if got := tt.sx.decode(tt.in); got != tt.want {
			t.Errorf("%s: decode(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}

func repeat(s string, n int) string {
	out := ""
	for range n {
		out += s
	}
	return out
}

func TestEscapeTextRoundTrip(t *testing.T) {
	ds := []Delimiters{
		standard,
		{Field: '#', Component: '*', Repetition: '!', Escape: '$', Subcomponent: '%', Truncation: '@'},
	}
	for _, d := range ds {
		for _, in := range []string{"", "plain", `a|b^c~d\e&f#g`, "line\r\nbreak", "#*!$%@", "café"} {
			esc := d.EscapeText(in)
			for _, c := range []byte{d.Field, d.Component, d.Repetition, d.Subcomponent, '\r', '\n'} {
				for i := 0; i < len(esc); i++ {
					if esc[i] == c {
						t.Errorf("EscapeText(%q) = %q still holds %q", in, esc, c)
					}
				}
			}
			if got := (syntax{d: d}).decode(esc); got != in {
				t.Errorf("decode(EscapeText(%q)) = %q", in, got)
			}
		}
	}
	if got := (Delimiters{Field: '|', Component: '^'}).EscapeText("a|b^c\nd"); got != "a b c d" {
		t.Errorf("EscapeText without an escape character = %q", got)
	}
}
