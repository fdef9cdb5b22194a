// Package mllp carries HL7 v2 messages over TCP with the Minimal Lower
// Layer Protocol: each message framed by a start byte (0x0B) and an end
// pair (0x1C 0x0D), answered on the same connection by its ACK.
//
// The Reader bounds frame size and resynchronises on the next start byte
// after an oversize frame or stray bytes; the Server reads each
// connection's messages strictly in order, writes a message's ACK only
// after its handler has returned (so a handler that stores the message
// before answering never acknowledges what it has not kept), bounds
// connections and time, and stops gracefully.
//
// The package moves bytes and must never log or inspect message content:
// logs carry remote addresses, sizes and errors only.
package mllp

import (
	"bufio"
	"bytes"
	"errors"
	"io"

	"github.com/wholecare/wholecare/internal/apperr"
)

// Framing bytes.
const (
	StartBlock = 0x0B // VT, before a message
	EndBlock   = 0x1C // FS, after a message
	CR         = 0x0D // after EndBlock
)

// ErrFrameTooLarge is returned (wrapped) by ReadFrame for a frame longer
// than the reader's maximum.
var ErrFrameTooLarge = errors.New("mllp: frame larger than the limit")

// Reader reads MLLP frames from a stream.
type Reader struct {
	br      *bufio.Reader
	max     int
	skipped int64

	// OnStart, when set, is called as a frame's start byte is read, once
	// per ReadFrame: the server sets the frame's read deadline there.
	OnStart func()
}

// NewReader reads frames of at most maxFrame content bytes from r.
func NewReader(r io.Reader, maxFrame int) *Reader {
	if maxFrame <= 0 {
		maxFrame = DefaultMaxFrame
	}
	return &Reader{br: bufio.NewReaderSize(r, 64<<10), max: maxFrame}
}

// Skipped is the number of bytes read outside frames so far: stray bytes
// between frames and the discarded part of broken or oversize frames. CR
// and LF between frames (the end pair's CR, a CRLF some senders add) are
// not counted.
func (r *Reader) Skipped() int64 { return r.skipped }

// ReadFrame returns the content of the next frame, without its framing
// bytes, in a new slice the caller owns.
//
// Bytes before a start byte are skipped. A start byte inside a frame means
// the sender abandoned the frame it was in: the partial frame is dropped
// and reading goes on with the new one. A frame ends at the end byte; the
// CR that should follow it is skipped with whatever else comes before the
// next start byte, so a sender that omits it is not waited for. A frame over the maximum returns its
// first maximum bytes (enough to salvage a header for a reject) and an
// error wrapping ErrFrameTooLarge; the next ReadFrame skips the rest of it.
// The error is io.EOF at a clean end of stream and io.ErrUnexpectedEOF
// inside a frame.
func (r *Reader) ReadFrame() ([]byte, error) {
	for {
		b, err := r.br.ReadByte()
		if err != nil {
			return nil, err
		}
		if b == StartBlock {
			break
		}
		if b != CR && b != '\n' {
			r.skipped++
		}
	}
	if r.OnStart != nil {
		r.OnStart()
	}
	var buf []byte
	for {
		chunk, err := r.br.ReadSlice(EndBlock)
		if i := bytes.LastIndexByte(chunk, StartBlock); i >= 0 {
			r.skipped += int64(len(buf) + i + 1)
			buf = buf[:0]
			chunk = chunk[i+1:]
		}
		done := err == nil
		if done {
			chunk = chunk[:len(chunk)-1] // the end byte
		}
		if len(buf)+len(chunk) > r.max {
			keep := r.max - len(buf)
			buf = append(buf, chunk[:keep]...)
			r.skipped += int64(len(chunk) - keep)
			return buf, apperr.Wrap(apperr.Invalid, ErrFrameTooLarge, "mllp: frame over the limit")
		}
		buf = append(buf, chunk...)
		switch {
		case done:
			if buf == nil {
				buf = []byte{}
			}
			return buf, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			r.skipped += int64(len(buf))
			return nil, io.ErrUnexpectedEOF
		default:
			return nil, err
		}
	}
}

// WriteFrame writes msg as one frame in a single write. A message holding a
// framing byte cannot be framed and is refused.
func WriteFrame(w io.Writer, msg []byte) error {
	if bytes.IndexByte(msg, StartBlock) >= 0 || bytes.IndexByte(msg, EndBlock) >= 0 {
		return apperr.E(apperr.Invalid, "mllp: message holds a framing byte")
	}
	buf := make([]byte, 0, len(msg)+3)
	buf = append(buf, StartBlock)
	buf = append(buf, msg...)
	buf = append(buf, EndBlock, CR)
	_, err := w.Write(buf)
	return err
}
