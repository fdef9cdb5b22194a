package registry

// ValidNHSNumber reports whether s is ten digits whose last is the
// modulus 11 check digit of the first nine (weights 10 down to 2; a
// remainder giving 10 is never issued).
func ValidNHSNumber(s string) bool {
	if len(s) != 10 {
		return false
	}
	sum := 0
	for i := 0; i < 10; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return false
		}
		if i < 9 {
			sum += int(c-'0') * (10 - i)
		}
	}
	check := 11 - sum%11
	if check == 11 {
		check = 0
	}
	return check != 10 && check == int(s[9]-'0')
}

// NormaliseNHSNumber removes the spaces and hyphens people write NHS
// numbers with ("943 476 5919"), leaving other characters for
// ValidNHSNumber to refuse.
func NormaliseNHSNumber(s string) string {
	b := make([]byte, 0, 10)
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != ' ' && c != '-' {
			b = append(b, c)
		}
	}
	return string(b)
}

// FormatNHSNumber writes a valid number in the 3-3-4 form people read;
// anything else is returned unchanged.
func FormatNHSNumber(s string) string {
	if !ValidNHSNumber(s) {
		return s
	}
	return s[:3] + " " + s[3:6] + " " + s[6:]
}
