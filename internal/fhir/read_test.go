package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"github.com/wholecare/wholecare/internal/apperr"
)

func TestReadBundleSynthea(t *testing.T) {
	for _, f := range sharedFiles(t, "synthea/smart-generated-sample-data-r4/bundles/*.json") {
		raw := mustRead(t, f)
		var want struct {
			Type  string
			Entry []struct {
				FullURL  string `json:"fullUrl"`
				Resource struct{ ResourceType, ID string }
				Request  struct{ Method, URL string }
			}
		}
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(f)
		b, err := ReadBundle(bytes.NewReader(raw), name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if b.Type != want.Type || len(b.Entries) != len(want.Entry) {
			t.Fatalf("%s: type %q with %d entries, want %q with %d", name, b.Type, len(b.Entries), want.Type, len(want.Entry))
		}
		for i, e := range b.Entries {
			w := want.Entry[i]
			if e.Err != nil || e.Resource == nil {
				t.Errorf("%s entry %d: %v", name, i, e.Err)
				continue
			}
			if e.Index != i || e.FullURL != w.FullURL || e.Method != w.Request.Method || e.URL != w.Request.URL ||
				e.Resource.Type() != w.Resource.ResourceType || e.Resource.ID() != w.Resource.ID {
				t.Errorf("%s entry %d: got %d %q %q %q %s/%s", name, i, e.Index, e.FullURL, e.Method, e.URL, e.Resource.Type(), e.Resource.ID())
			}
			if want := name + " entry " + strconv.Itoa(i); e.Resource.Pos() != want {
				t.Errorf("Pos() = %q, want %q", e.Resource.Pos(), want)
			}
		}
	}
}

func TestReadBundleKeepsGoingPastBadEntries(t *testing.T) {
	in := `{"resourceType":"Bundle","type":"transaction","entry":[
	{"fullUrl":"urn:uuid:c757873d-ec9a-4326-a141-556f43239520","resource":{"resourceType":"Patient","id":"p1"},"request":{"method":"PUT","url":"Patient/p1"}},
	{"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":"7"}},"request":{"method":"POST","url":"Observation"}},
	{"resource":{"resourceType":"Account","id":"a"},"request":{"method":"POST","url":"Account"}},
	{"resource":{"resourceType":"Patient","id":"p2"},"request":{"method":"FETCH","url":"Patient"}},
	{"request":{"method":"DELETE","url":"Patient/p3"}},
	{"resource":{"resourceType":"Patient","id":"p4","gender":"female"}}]}`
	b, err := ReadBundle(strings.NewReader(in), "b.json")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range b.Entries {
		switch {
		case e.Err != nil:
			if !apperr.Is(e.Err, apperr.Invalid) {
				t.Errorf("entry %d: kind %v", e.Index, apperr.KindOf(e.Err))
			}
			got = append(got, e.Err.Error())
		case e.Resource != nil:
			got = append(got, e.Method+" "+e.Resource.Type()+"/"+e.Resource.ID()+" at "+e.Resource.Pos())
		default:
			got = append(got, e.Method+" "+e.URL)
		}
	}
	want := []string{
		"PUT Patient/p1 at b.json entry 0",
		"b.json entry 1: Observation.valueQuantity.value: expected a number, got a string",
		`b.json entry 2: Bundle.entry[2].resource.resourceType: "Account" is not a supported resource type`,
		"b.json entry 3: Bundle.entry[3].request.method: expected a code from the required value set",
		"DELETE Patient/p3",
		" Patient/p4 at b.json entry 5",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	if b.Type != "transaction" {
		t.Errorf("type %q", b.Type)
	}
}

func TestReadBundleFailures(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"broken JSON inside an entry", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient"]}]}`,
			"b.json: Bundle.entry[0]: invalid JSON at byte 91: expected ',' or '}'"},
		{"not a bundle", `{"resourceType":"Patient"}`, "b.json: resourceType: expected a Bundle, got Patient"},
		{"bad bundle element", `{"resourceType":"Bundle","type":"pile"}`, "b.json: Bundle.type: expected a code from the required value set"},
		{"trailing data", `{"resourceType":"Bundle","type":"collection"}x`, "b.json: trailing data after the resource at byte 45"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadBundle(strings.NewReader(tt.in), "b.json")
			if err == nil || err.Error() != tt.want || !apperr.Is(err, apperr.Invalid) {
				t.Errorf("err = %v, want %q (invalid)", err, tt.want)
			}
		})
	}
	if _, err := ReadBundle(iotest.ErrReader(errors.New("disk gone")), "b.json"); apperr.KindOf(err) != apperr.Internal {
		t.Errorf("read failure: %v", err)
	}
}

func TestNDJSONReader(t *testing.T) {
	long := `{"resourceType":"Patient","id":"` + strings.Repeat("a", 60) + `"}`
	in := strings.Join([]string{
		`{"resourceType":"Patient","id":"p1"}`,
		`{"resourceType":"Patient","id":"p2","gender":"M"}`,
		``,
		`{"resourceType":"Patient","id":"p3"}` + "\r",
		long,
		`{"resourceType":"Patient","id":"p4"} {"resourceType":"Patient"}`,
		`{"resourceType":"Patient","id":"p5"}`,
	}, "\n") + "\r\n"
	rd := NewNDJSONReader(strings.NewReader(in), "Patient.ndjson", 80)
	var got []string
	for {
		r, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if !apperr.Is(err, apperr.Invalid) {
				t.Fatalf("line %d: %v", rd.Line(), err)
			}
			got = append(got, err.Error())
			continue
		}
		got = append(got, r.ID()+" at "+r.Pos())
	}
	want := []string{
		"p1 at Patient.ndjson:1",
		"Patient.ndjson:2: Patient.gender: expected a code from the required value set",
		"p3 at Patient.ndjson:4",
		"Patient.ndjson:5: line longer than 80 bytes",
		"Patient.ndjson:6: trailing data after the resource at byte 37",
		"p5 at Patient.ndjson:7",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if _, err := rd.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("after the end: %v", err)
	}
}

func TestNDJSONReaderLongLinesAcrossBuffers(t *testing.T) {
	// Lines longer than the reader's buffer, and one over the limit, still
	// come out whole and in step.
	big := `{"resourceType":"Patient","id":"big","name":[{"family":"` + strings.Repeat("x", 200<<10) + `"}]}`
	in := big + "\n" + big + "x\n" + `{"resourceType":"Patient","id":"after"}`
	rd := NewNDJSONReader(strings.NewReader(in), "f", len(big))
	r, err := rd.Next()
	if err != nil || r.ID() != "big" {
		t.Fatalf("line 1: %v", err)
	}
	if _, err := rd.Next(); err == nil || !strings.Contains(err.Error(), "f:2: line longer than") {
		t.Fatalf("line 2: %v", err)
	}
	if r, err := rd.Next(); err != nil || r.ID() != "after" || r.Pos() != "f:3" {
		t.Fatalf("line 3: %v", err)
	}
}

func TestNDJSONReaderReadError(t *testing.T) {
	rd := NewNDJSONReader(io.MultiReader(strings.NewReader(`{"resourceType":"Patient"}`+"\n"), iotest.ErrReader(errors.New("disk gone"))), "f", 0)
	if _, err := rd.Next(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := rd.Next(); apperr.KindOf(err) != apperr.Internal || errors.Is(err, io.EOF) {
			t.Fatalf("read failure: %v", err)
		}
	}
}

func TestNDJSONReaderSynthea(t *testing.T) {
	for _, f := range sharedFiles(t, "synthea/smart-bulk-fhir/*/*.000.ndjson") {
		raw := mustRead(t, f)
		lines := bytes.Count(raw, []byte("\n"))
		if len(raw) > 0 && raw[len(raw)-1] != '\n' {
			lines++
		}
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		rd := NewNDJSONReader(fh, filepath.Base(f), 0)
		typ := strings.SplitN(filepath.Base(f), ".", 2)[0]
		n := 0
		for {
			r, err := rd.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%v", err)
			}
			if r.Type() != typ {
				t.Fatalf("%s: a %s", r.Pos(), r.Type())
			}
			n++
		}
		fh.Close()
		if n != lines {
			t.Errorf("%s: %d resources, %d lines", f, n, lines)
		}
	}
}

func TestNDJSONReaderLastLineWithoutNewline(t *testing.T) {
	rd := NewNDJSONReader(strings.NewReader(`{"resourceType":"Patient","id":"a"}`+"\r\n"+`{"resourceType":"Patient","id":"b"}`+"\r"), "f", 0)
	for _, want := range []string{"a", "b"} {
		r, err := rd.Next()
		if err != nil || r.ID() != want {
			t.Fatalf("got %v, %v; want %s", r, err, want)
		}
	}
	if _, err := rd.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("at the end: %v", err)
	}
}

// TestUnsupportedTypeIsMarked checks the signal an importer uses to count a
// resource of a type out of scope as skipped, not failed.
func TestUnsupportedTypeIsMarked(t *testing.T) {
	unsupported := func(err error) string {
		var ee *ElementError
		if !errors.As(err, &ee) {
			t.Fatalf("%v is not an *ElementError", err)
		}
		return ee.Unsupported
	}
	for in, want := range map[string]string{
		`{"resourceType":"Account","id":"a"}`:                                                             "Account",
		`{"resourceType":"Jane Smith"}`:                                                                   "",
		`{"resourceType":"Patient","contained":[{"resourceType":"Group","id":"g"}]}`:                      "",
		`{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Account"}}]}`: "",
	} {
		if _, err := Decode([]byte(in)); err == nil || unsupported(err) != want {
			t.Errorf("%s: err %v, Unsupported %q, want %q", in, err, unsupported(err), want)
		}
	}
	b, err := ReadBundle(strings.NewReader(`{"resourceType":"Bundle","type":"collection","entry":[
		{"resource":{"resourceType":"Account"}},
		{"resource":{"resourceType":"Patient","contained":[{"resourceType":"Group"}]}}]}`), "b")
	if err != nil {
		t.Fatal(err)
	}
	if got := unsupported(b.Entries[0].Err); got != "Account" {
		t.Errorf("entry 0: Unsupported %q", got)
	}
	if got := unsupported(b.Entries[1].Err); got != "" {
		t.Errorf("entry 1: Unsupported %q", got)
	}
}
