package fhir

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"slices"
	"strconv"

	"github.com/wholecare/wholecare/internal/apperr"
)

// MaxBundleSize is the largest bundle ReadBundle accepts, in bytes.
const MaxBundleSize = 256 << 20

// Bundle is a bundle as ReadBundle gives it: its type and its entries, each
// decoded on its own, so that one bad entry does not hide the others.
type Bundle struct {
	ID      string
	Type    string // transaction, batch, collection, searchset, message, document, history, ...
	Entries []BundleEntry
}

// BundleEntry is one Bundle.entry.
type BundleEntry struct {
	Index    int       // position in Bundle.entry, from 0
	FullURL  string    // "" when absent
	Method   string    // request.method, "" when the entry has no request
	URL      string    // request.url
	Resource *Resource // nil when the entry has no resource (a DELETE) or failed
	// Err is the entry's decode error, "name entry N: path: msg", kind
	// apperr.Invalid; Resource is then nil and the other fields are empty.
	Err error

	IfNoneExist string // request.ifNoneExist: the query of a conditional create
}

// ReadBundle reads and decodes a Bundle. Problems inside one entry are that
// entry's Err; only problems outside the entries (the bundle's own
// elements, broken JSON, a document that is not a Bundle) fail the whole
// read, with kind apperr.Invalid and a message starting with name. Whether
// a transaction with a bad entry may proceed is the caller's decision: it
// must not, as FHIR transactions are all-or-nothing.
func ReadBundle(r io.Reader, name string) (*Bundle, error) {
	src, err := io.ReadAll(io.LimitReader(r, MaxBundleSize+1))
	if err != nil {
		return nil, apperr.Wrap(apperr.Internal, err, "fhir: reading "+name)
	}
	if len(src) > MaxBundleSize {
		return nil, apperr.Ef(apperr.Invalid, "%s: bundle larger than %d bytes", name, MaxBundleSize)
	}
	d := getDecoder(src, true)
	defer putDecoder(d)
	if err := d.top(); err != nil {
		return nil, &apperr.Error{Kind: apperr.Invalid, Msg: name, Err: err}
	}
	doc := &document{src: src, nodes: slices.Clone(d.nodes)}
	root := Value{doc, 0}
	if t := root.Type(); t != "Bundle" {
		return nil, &apperr.Error{Kind: apperr.Invalid, Msg: name, Err: &ElementError{Path: "resourceType", Msg: "expected a Bundle, got " + t}}
	}
	b := &Bundle{ID: root.Member("id").Str(), Type: root.Member("type").Str()}
	for _, e := range d.entries {
		pos := name + " entry " + strconv.Itoa(e.index)
		if e.node < 0 {
			b.Entries = append(b.Entries, BundleEntry{Index: e.index, Err: &apperr.Error{Kind: apperr.Invalid, Msg: pos, Err: e.err}})
			continue
		}
		v := Value{doc, e.node}
		be := BundleEntry{
			Index:   e.index,
			FullURL: v.Member("fullUrl").Str(),
			Method:  v.Get("request.method").Str(),
			URL:     v.Get("request.url").Str(),

			IfNoneExist: v.Get("request.ifNoneExist").Str(),
		}
		if res := v.Member("resource").Resource(); res != nil {
			res.pos = pos
			be.Resource = res
		}
		b.Entries = append(b.Entries, be)
	}
	return b, nil
}

// DefaultMaxLine is the longest NDJSON line NewNDJSONReader accepts when
// given no limit.
const DefaultMaxLine = 16 << 20

// NDJSONReader reads FHIR Bulk Data NDJSON: one resource per line. A line
// that fails to decode is an error for that line (kind apperr.Invalid,
// "name:LINE: path: msg") and reading goes on with the next. Blank lines,
// and a final newline, are skipped; a CR before the LF is allowed.
type NDJSONReader struct {
	name    string
	r       *bufio.Reader
	line    int
	maxLine int
	err     error // a read error: sticky
}

// NewNDJSONReader reads from r, naming positions after name. maxLine bounds
// a line's length in bytes (DefaultMaxLine when 0 or less).
func NewNDJSONReader(r io.Reader, name string, maxLine int) *NDJSONReader {
	if maxLine <= 0 {
		maxLine = DefaultMaxLine
	}
	return &NDJSONReader{name: name, r: bufio.NewReaderSize(r, 64<<10), maxLine: maxLine}
}

// Line is the number of the line Next last read, from 1.
func (n *NDJSONReader) Line() int { return n.line }

// Next returns the next resource. At the end it returns io.EOF. An error of
// kind apperr.Invalid is about one line and the reader may be called
// again; any other error (reading failed) is returned from then on.
func (n *NDJSONReader) Next() (*Resource, error) {
	for n.err == nil {
		line, tooLong, err := n.readLine()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				err = apperr.Wrap(apperr.Internal, err, "fhir: reading "+n.name)
			}
			n.err = err
			break
		}
		n.line++
		pos := n.name + ":" + strconv.Itoa(n.line)
		if tooLong {
			return nil, apperr.Ef(apperr.Invalid, "%s: line longer than %d bytes", pos, n.maxLine)
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		res, err := decodeOwned(line, pos)
		if err != nil {
			var de *ElementError
			errors.As(err, &de)
			return nil, &apperr.Error{Kind: apperr.Invalid, Msg: pos, Err: de}
		}
		return res, nil
	}
	return nil, n.err
}

// readLine returns the next line without its LF (or CRLF), in a fresh
// slice the resource can keep. A line over the limit is read to its end
// and dropped. err is io.EOF only when no line is left.
func (n *NDJSONReader) readLine() (line []byte, tooLong bool, err error) {
	for {
		chunk, err := n.r.ReadSlice('\n')
		if len(line)+len(chunk) > n.maxLine+2 {
			tooLong = true
		}
		if !tooLong {
			line = append(line, chunk...)
		}
		switch {
		case err == nil:
			line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
			if len(line) > n.maxLine {
				tooLong = true
			}
			return line, tooLong, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if len(line) == 0 && !tooLong && len(chunk) == 0 {
				return nil, false, io.EOF
			}
			line = bytes.TrimSuffix(line, []byte("\r"))
			if len(line) > n.maxLine {
				tooLong = true
			}
			return line, tooLong, nil
		default:
			return nil, false, err
		}
	}
}
