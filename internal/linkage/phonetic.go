package linkage

import "strings"

// asciiUpper keeps the ASCII letters of s, upper-cased. Phonetic codes are
// defined on English spelling; other letters carry no sound rule.
func asciiUpper(s string) []byte {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z':
			b = append(b, c-'a'+'A')
		case c >= 'A' && c <= 'Z':
			b = append(b, c)
		}
	}
	return b
}

func isVowel(c byte) bool {
	switch c {
	case 'A', 'E', 'I', 'O', 'U':
		return true
	}
	return false
}

// NYSIIS is the New York State Identification and Intelligence System
// phonetic code of a name (Taft 1970), untruncated: names that sound alike
// in English share a code ("Brian", "Brown" and "Brun" are all BRAN). The
// empty string has the empty code.
func NYSIIS(name string) string {
	s := asciiUpper(name)
	if len(s) == 0 {
		return ""
	}
	// 1. The first letters.
	switch {
	case hasPrefix(s, "MAC"):
		copy(s, "MCC")
	case hasPrefix(s, "KN"):
		copy(s, "NN")
	case s[0] == 'K':
		s[0] = 'C'
	case hasPrefix(s, "PH"), hasPrefix(s, "PF"):
		copy(s, "FF")
	case hasPrefix(s, "SCH"):
		copy(s, "SSS")
	}
	// 2. The last letters.
	switch {
	case hasSuffix(s, "EE"), hasSuffix(s, "IE"):
		s = append(s[:len(s)-2], 'Y')
	case hasSuffix(s, "DT"), hasSuffix(s, "RT"), hasSuffix(s, "RD"), hasSuffix(s, "NT"), hasSuffix(s, "ND"):
		s = append(s[:len(s)-2], 'D')
	}
	// 3–4. Keep the first letter; transcode the rest one position at a
	// time, writing the result back so that later rules see it, and add a
	// letter to the key only when it differs from the one before.
	key := []byte{s[0]}
	for i := 1; i < len(s); i++ {
		prev, cur := s[i-1], s[i]
		var next, after byte = ' ', ' '
		if i+1 < len(s) {
			next = s[i+1]
		}
		if i+2 < len(s) {
			after = s[i+2]
		}
		var rep string
		switch {
		case cur == 'E' && next == 'V':
			rep = "AF"
		case isVowel(cur):
			rep = "A"
		case cur == 'Q':
			rep = "G"
		case cur == 'Z':
			rep = "S"
		case cur == 'M':
			rep = "N"
		case cur == 'K' && next == 'N':
			rep = "NN"
		case cur == 'K':
			rep = "C"
		case cur == 'S' && next == 'C' && after == 'H':
			rep = "SSS"
		case cur == 'P' && next == 'H':
			rep = "FF"
		case cur == 'H' && (!isVowel(prev) || !isVowel(next)):
			rep = string(prev)
		case cur == 'W' && isVowel(prev):
			rep = string(prev)
		default:
			rep = string(cur)
		}
		copy(s[i:], rep)
		if s[i] != s[i-1] {
			key = append(key, s[i])
		}
	}
	// 5–7. Trailing S, AY and A.
	if len(key) > 1 {
		if key[len(key)-1] == 'S' {
			key = key[:len(key)-1]
		}
		if len(key) > 2 && key[len(key)-2] == 'A' && key[len(key)-1] == 'Y' {
			key = append(key[:len(key)-2], 'Y')
		}
		if len(key) > 1 && key[len(key)-1] == 'A' {
			key = key[:len(key)-1]
		}
	}
	return string(key)
}

func hasPrefix(b []byte, p string) bool { return len(b) >= len(p) && string(b[:len(p)]) == p }
func hasSuffix(b []byte, p string) bool { return len(b) >= len(p) && string(b[len(b)-len(p):]) == p }

// soundexCodes maps A–Z to American Soundex digits; '0' for vowels and Y,
// '-' for H and W (which do not separate letters with the same code).
const soundexCodes = "0123012-02245501262301-202"

// Soundex is the American Soundex code of a name: its first letter and
// three digits ("Robert" and "Rupert" are R163). It is coarser than NYSIIS
// and is used only to form blocks. The empty string has the empty code.
func Soundex(name string) string {
	s := asciiUpper(name)
	if len(s) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteByte(s[0])
	last := soundexCodes[s[0]-'A']
	for _, c := range s[1:] {
		code := soundexCodes[c-'A']
		switch code {
		case '-':
			continue // H and W: the previous code carries over
		case '0':
			last = '0' // a vowel separates equal codes
			continue
		}
		if code != last {
			b.WriteByte(code)
			if b.Len() == 4 {
				break
			}
		}
		last = code
	}
	for b.Len() < 4 {
		b.WriteByte('0')
	}
	return b.String()
}
