package hl7v2

// Encode writes the message back in ER7 form with its own delimiters, each
// segment ended by a CR. Values are written exactly as they were received,
// so Parse(m.Encode()) reads the same message.
func (m *Message) Encode() []byte {
	if m == nil || len(m.segs) == 0 {
		return nil
	}
	n := 0
	for i := range m.segs {
		for _, f := range m.segs[i].fields {
			n += len(f) + 1
		}
	}
	out := make([]byte, 0, n)
	fs := m.sx.d.Field
	for i := range m.segs {
		fields := m.segs[i].fields
		out = append(out, fields[0]...)
		rest := fields[1:]
		if fields[0] == "MSH" && i == 0 && len(rest) > 0 {
			rest = rest[1:] // MSH-1 is the separator written before MSH-2
		}
		for _, f := range rest {
			out = append(out, fs)
			out = append(out, f...)
		}
		out = append(out, '\r')
	}
	return out
}
