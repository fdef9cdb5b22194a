package mllp

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"github.com/wholecare/wholecare/internal/apperr"
)

func frame(s string) string { return "\x0b" + s + "\x1c\r" }

// readAll reads frames until the stream ends, returning the frames, the
// errors other than io.EOF, and the bytes skipped.
func readAll(r *Reader) (frames []string, errs []error) {
	for {
		f, err := r.ReadFrame()
		if errors.Is(err, io.EOF) {
			return frames, errs
		}
		if err != nil {
			errs = append(errs, err)
			if !errors.Is(err, ErrFrameTooLarge) {
				return frames, errs
			}
			continue
		}
		frames = append(frames, string(f))
	}
}

func TestReader(t *testing.T) {
	big := strings.Repeat("x", 200_000) // larger than the read buffer
	tests := []struct {
		name    string
		in      string
		max     int
		frames  []string
		errs    int
		skipped int64
	}{
		{"one", frame("MSH|a"), 0, []string{"MSH|a"}, 0, 0},
		{"coalesced", frame("a") + frame("b") + frame("c"), 0, []string{"a", "b", "c"}, 0, 0},
		{"empty frame", frame(""), 0, []string{""}, 0, 0},
		{"garbage between", "junk" + frame("a") + "\r\n\x00" + frame("b") + "tail", 0, []string{"a", "b"}, 0, 4 + 1 + 4},
		{"restart inside a frame", "\x0bpartial" + frame("whole"), 0, []string{"whole"}, 0, 8},
		{"restart after a long partial frame", "\x0b" + big + frame("whole"), 0, []string{"whole"}, 0, 200_000 + 1},
		{"end without CR", "\x0ba\x1c\x0bb\x1c", 0, []string{"a", "b"}, 0, 0},
		{"large", frame(big), 0, []string{big}, 0, 0},
		{"oversize then resync", frame(strings.Repeat("y", 50)) + frame("ok"), 10, []string{"ok"}, 1, 40},
		{"oversize large then resync", frame(big) + "z" + frame("ok"), 1000, []string{"ok"}, 1, 199_000 + 2},
		{"oversize at limit", frame(strings.Repeat("y", 10)), 10, []string{strings.Repeat("y", 10)}, 0, 0},
		{"truncated", frame("a") + "\x0bcut off", 0, []string{"a"}, 1, 7},
		{"nothing", "", 0, nil, 0, 0},
		{"only garbage", "GET / HTTP/1.0\r\n\r\n", 0, nil, 0, 14},
		{"CRLF after frames is not garbage", frame("a") + "\n" + frame("b") + "\r\n", 0, []string{"a", "b"}, 0, 0},
	}
	for _, tt := range tests {
		for _, oneByte := range []bool{false, true} {
			name := tt.name
			var src io.Reader = strings.NewReader(tt.in)
			if oneByte {
				name += " byte by byte"
				src = iotest.OneByteReader(src)
			}
			t.Run(name, func(t *testing.T) {
				r := NewReader(src, tt.max)
				frames, errs := readAll(r)
				if diff := cmp.Diff(tt.frames, frames); diff != "" {
					t.Errorf("frames (-want +got):\n%s", diff)
				}
				if len(errs) != tt.errs {
					t.Errorf("errors %v, want %d", errs, tt.errs)
				}
				if r.Skipped() != tt.skipped {
					t.Errorf("skipped %d, want %d", r.Skipped(), tt.skipped)
				}
			})
		}
	}
}

func TestReaderOversizeReturnsPrefix(t *testing.T) {
	r := NewReader(strings.NewReader(frame("MSH|^~\\&|A|B|C|D|20240101||ADT^A01|BIG1|P|2.5\r"+strings.Repeat("Z", 500))), 100)
	prefix, err := r.ReadFrame()
	if !errors.Is(err, ErrFrameTooLarge) || !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("error %v, want ErrFrameTooLarge of kind Invalid", err)
	}
	if len(prefix) != 100 || !bytes.HasPrefix(prefix, []byte("MSH|")) {
		t.Errorf("prefix %q", prefix)
	}
	if _, err := r.ReadFrame(); !errors.Is(err, io.EOF) {
		t.Errorf("after the oversize frame: %v, want EOF", err)
	}
}

func TestReaderTruncatedIsUnexpectedEOF(t *testing.T) {
	r := NewReader(strings.NewReader("\x0bMSH|cut"), 0)
	if _, err := r.ReadFrame(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("error %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestReaderOnStart(t *testing.T) {
	r := NewReader(strings.NewReader("xx"+frame("a")+frame("b")), 0)
	starts := 0
	r.OnStart = func() { starts++ }
	if _, err := r.ReadFrame(); err != nil || starts != 1 {
		t.Fatalf("first frame: %v, %d starts", err, starts)
	}
	if _, err := r.ReadFrame(); err != nil || starts != 2 {
		t.Fatalf("second frame: %v, %d starts", err, starts)
	}
}

func TestWriteFrame(t *testing.T) {
	var b bytes.Buffer
	if err := WriteFrame(&b, []byte("MSH|x\r")); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != "\x0bMSH|x\r\x1c\r" {
		t.Errorf("frame = %q", got)
	}
	for _, bad := range []string{"a\x0bb", "a\x1cb"} {
		if err := WriteFrame(&b, []byte(bad)); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("WriteFrame(%q) = %v, want Invalid", bad, err)
		}
	}
	r := NewReader(&b, 0)
	if f, err := r.ReadFrame(); err != nil || string(f) != "MSH|x\r" {
		t.Errorf("read back %q, %v", f, err)
	}
}
