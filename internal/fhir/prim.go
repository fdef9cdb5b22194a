package fhir

// Lexical checks for the R4 primitive types, written by hand for speed and
// tested against the schema's regular expressions (specPatterns). Each
// returns "" when s is valid, else what was expected: never s itself.
//
// Two rules go beyond the schema's patterns, both from the R4 spec text:
// strings hold no control characters but tab, CR and LF (the pattern lets
// \u0001 through), and integers are 32-bit.

// checkString validates a string-valued primitive (s unescaped).
func checkString(p primKind, s []byte) string {
	if len(s) == 0 {
		return "expected a non-empty string (FHIR leaves out empty elements)"
	}
	switch p {
	case primString, primMarkdown:
		for _, c := range s {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return "expected a string without control characters"
			}
		}
	case primXHTML:
		// Narrative.div: its XHTML rules are not checked here.
	case primURI, primURL, primCanonical:
		for _, c := range s {
			if isSpace(c) {
				return "expected a " + primName(p) + " without whitespace"
			}
		}
	case primCode:
		if !validCode(s) {
			return "expected a code (no leading, trailing or repeated whitespace)"
		}
	case primID:
		if !validIDBytes(s) {
			return "expected an id (1 to 64 of A-Z a-z 0-9 - .)"
		}
	case primOID:
		if !validOID(s) {
			return "expected an oid (urn:oid:0-2 followed by .numbers)"
		}
	case primUUID:
		if !validUUID(s) {
			return "expected a uuid (urn:uuid: and lower-case hex 8-4-4-4-12)"
		}
	case primBase64Binary:
		if !validBase64(s) {
			return "expected base64 data"
		}
	case primDate:
		if n := scanDate(s); n != len(s) {
			return "expected a date (YYYY, YYYY-MM or YYYY-MM-DD)"
		}
	case primDateTime:
		if !validDateTime(s) {
			return "expected a dateTime (YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss[.f] with a time zone)"
		}
	case primInstant:
		if !validInstant(s) {
			return "expected an instant (YYYY-MM-DDThh:mm:ss[.f] with a time zone)"
		}
	case primTime:
		if n := scanTime(s); n != len(s) {
			return "expected a time (hh:mm:ss[.f])"
		}
	}
	return ""
}

// checkNumber validates a number-valued primitive; lit is already a valid
// JSON number, which is exactly the FHIR decimal grammar.
func checkNumber(p primKind, lit []byte) string {
	switch p {
	case primInteger, primUnsignedInt, primPositiveInt:
		neg := lit[0] == '-'
		digits := lit
		if neg {
			digits = lit[1:]
		}
		for _, c := range digits {
			if c < '0' || c > '9' {
				return "expected " + intExpectation(p)
			}
		}
		// A JSON number has no leading zeros, so length bounds the value.
		var v int64
		if len(digits) > 10 {
			return intExpectation(p) + " out of range"
		}
		for _, c := range digits {
			v = v*10 + int64(c-'0')
		}
		if neg {
			v = -v
		}
		switch {
		case v > 1<<31-1 || v < -1<<31:
			return intExpectation(p) + " out of range"
		case p != primInteger && neg, p == primPositiveInt && v < 1:
			return "expected " + intExpectation(p)
		}
	}
	return ""
}

func intExpectation(p primKind) string {
	switch p {
	case primUnsignedInt:
		return "an unsigned integer"
	case primPositiveInt:
		return "a positive integer"
	}
	return "an integer"
}

func primName(p primKind) string { return specTypes[p].name }

// isSpace is RE2's \s, which the schema's patterns use.
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

func validIDBytes(s []byte) bool {
	if len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func validCode(s []byte) bool {
	if isSpace(s[0]) || isSpace(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if isSpace(s[i]) && isSpace(s[i-1]) {
			return false
		}
	}
	return true
}

func validOID(s []byte) bool {
	const prefix = "urn:oid:"
	if len(s) < len(prefix)+3 || string(s[:len(prefix)]) != prefix {
		return false
	}
	s = s[len(prefix):]
	if s[0] < '0' || s[0] > '2' {
		return false
	}
	s = s[1:]
	if len(s) == 0 {
		return false
	}
	for len(s) > 0 {
		if s[0] != '.' || len(s) < 2 {
			return false
		}
		s = s[1:]
		n := 0
		for n < len(s) && s[n] >= '0' && s[n] <= '9' {
			n++
		}
		if n == 0 || (n > 1 && s[0] == '0') {
			return false
		}
		s = s[n:]
	}
	return true
}

func validUUID(s []byte) bool {
	const prefix = "urn:uuid:"
	if len(s) != len(prefix)+36 || string(s[:len(prefix)]) != prefix {
		return false
	}
	for i, c := range s[len(prefix):] {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// validBase64 follows the schema's (\s*([0-9a-zA-Z\+/=]){4}\s*)+: runs of
// base64 characters, each a multiple of four long, separated by whitespace.
func validBase64(s []byte) bool {
	groups, run := 0, 0
	for _, c := range s {
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/', c == '=':
			run++
		case isSpace(c):
			if run%4 != 0 {
				return false
			}
			groups += run / 4
			run = 0
		default:
			return false
		}
	}
	if run%4 != 0 {
		return false
	}
	return groups+run/4 > 0
}

func digit(c byte) bool { return c >= '0' && c <= '9' }

// scanDate reads YYYY, YYYY-MM or YYYY-MM-DD (year 0001-9999, month 01-12,
// day 01-31) from the start of s and returns its length, -1 if s does not
// start with one.
func scanDate(s []byte) int {
	if len(s) < 4 || !digit(s[0]) || !digit(s[1]) || !digit(s[2]) || !digit(s[3]) || string(s[:4]) == "0000" {
		return -1
	}
	if len(s) == 4 || s[4] != '-' {
		return 4
	}
	if len(s) < 7 || !digit(s[5]) || !digit(s[6]) {
		return -1
	}
	if m := (s[5]-'0')*10 + s[6] - '0'; m < 1 || m > 12 {
		return -1
	}
	if len(s) == 7 || s[7] != '-' {
		return 7
	}
	if len(s) < 10 || !digit(s[8]) || !digit(s[9]) {
		return -1
	}
	if d := (s[8]-'0')*10 + s[9] - '0'; d < 1 || d > 31 {
		return -1
	}
	return 10
}

// scanTime reads hh:mm:ss[.f+] (00-23, 00-59, 00-60) and returns its
// length, -1 if s does not start with one.
func scanTime(s []byte) int {
	if len(s) < 8 || !digit(s[0]) || !digit(s[1]) || s[2] != ':' || !digit(s[3]) || !digit(s[4]) || s[5] != ':' || !digit(s[6]) || !digit(s[7]) {
		return -1
	}
	h, m, sec := (s[0]-'0')*10+s[1]-'0', (s[3]-'0')*10+s[4]-'0', (s[6]-'0')*10+s[7]-'0'
	if h > 23 || m > 59 || sec > 60 {
		return -1
	}
	n := 8
	if n < len(s) && s[n] == '.' {
		n++
		start := n
		for n < len(s) && digit(s[n]) {
			n++
		}
		if n == start {
			return -1
		}
	}
	return n
}

// validZone accepts Z or ±hh:mm with hh 00-13 (any minutes) or 14:00.
func validZone(s []byte) bool {
	if len(s) == 1 {
		return s[0] == 'Z'
	}
	if len(s) != 6 || (s[0] != '+' && s[0] != '-') || !digit(s[1]) || !digit(s[2]) || s[3] != ':' || !digit(s[4]) || !digit(s[5]) {
		return false
	}
	h, m := (s[1]-'0')*10+s[2]-'0', (s[4]-'0')*10+s[5]-'0'
	return (h <= 13 && m <= 59) || (h == 14 && m == 0)
}

func validDateTime(s []byte) bool {
	n := scanDate(s)
	if n < 0 {
		return false
	}
	if n == len(s) {
		return true
	}
	if n != 10 || s[10] != 'T' {
		return false
	}
	t := scanTime(s[11:])
	return t > 0 && validZone(s[11+t:])
}

func validInstant(s []byte) bool {
	return len(s) > 10 && scanDate(s) == 10 && validDateTime(s)
}
