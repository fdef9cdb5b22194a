package mllp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/hl7v2"
)

// Defaults for a Server's zero fields.
const (
	DefaultMaxFrame        = 1 << 20
	DefaultReadTimeout     = 30 * time.Second
	DefaultIdleTimeout     = 10 * time.Minute
	DefaultWriteTimeout    = 30 * time.Second
	DefaultShutdownTimeout = 10 * time.Second
	DefaultMaxConns        = 64
)

// Server answers MLLP connections. The zero value of every field but
// Handler is a sensible default.
type Server struct {
	// Handler handles one message and returns its ACK, which is written
	// when it returns; nil writes nothing. It is called for one message of
	// a connection at a time, in the order they arrived; its ctx is
	// cancelled ShutdownTimeout after Serve's ctx is.
	Handler func(ctx context.Context, msg []byte) (ack []byte)

	MaxFrame        int           // largest message accepted, in bytes; larger ones are answered with an AR
	ReadTimeout     time.Duration // to receive a whole frame once its start byte arrived
	IdleTimeout     time.Duration // to wait for the next frame; then the connection is closed
	WriteTimeout    time.Duration // to write one ACK
	ShutdownTimeout time.Duration // how long in-flight handlers may run after shutdown begins before their ctx is cancelled
	MaxConns        int           // connections beyond this are accepted and closed at once

	// Identify names the sender of a new connection from its address (a
	// system client registered for it), or refuses the connection with an
	// error. nil accepts every connection unnamed. A named connection's
	// Peer is "NAME@ADDRESS".
	Identify func(remote net.Addr) (sender string, err error)

	Log   *slog.Logger
	Hooks Hooks

	// Now is the clock for the ACKs the server writes itself (an AR for
	// an oversize frame or a handler that panicked); nil is time.Now.
	Now func() time.Time
}

// Hooks let a caller count what the server does, for metrics. Every
// function is optional and must be quick and safe for concurrent use.
type Hooks struct {
	Conns   func(open int)                        // after a connection opens or closes: how many are open
	Message func(size int, elapsed time.Duration) // after a message's ACK is written: its size, and the time from reading it to writing the ACK
	Problem func(kind string)                     // "limit", "refused", "oversize", "garbage", "timeout", "read", "write", "panic"
}

// Serve accepts connections on ln until ctx is cancelled or accepting
// fails for good, and closes ln. On cancellation it stops accepting, closes
// idle connections and connections part-way through receiving a frame (the
// sender, having no ACK, will send it again), lets each message whose
// handler is running finish and have its ACK written, then returns nil.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if s.Handler == nil {
		ln.Close()
		return apperr.E(apperr.Invalid, "mllp: server has no handler")
	}
	log := s.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	sctx, stopServing := context.WithCancel(ctx)
	defer stopServing()
	hctx, cancelHandlers := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelHandlers()

	st := &state{srv: s, log: log, hctx: hctx, conns: map[*conn]struct{}{}}
	stopAfter := context.AfterFunc(sctx, func() {
		ln.Close()
		st.shutdown()
		time.AfterFunc(or(s.ShutdownTimeout, DefaultShutdownTimeout), cancelHandlers)
	})
	defer stopAfter()

	var acceptErr error
	delay := time.Duration(0)
	for {
		nc, err := ln.Accept()
		if err != nil {
			if sctx.Err() != nil {
				break
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				log.Warn("mllp: accept failed; retrying", "err", err, "delay", delay)
				select {
				case <-time.After(delay):
				case <-sctx.Done():
				}
				continue
			}
			acceptErr = err
			stopServing()
			break
		}
		delay = 0
		st.start(nc)
	}
	st.wg.Wait()
	if acceptErr != nil {
		return fmt.Errorf("mllp: accepting connections: %w", acceptErr)
	}
	return nil
}

// isTemporary reports errors worth retrying Accept on: running out of file
// descriptors or kernel buffers, or a connection aborted before accept.
func isTemporary(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ECONNABORTED)
}

func or(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// state is one Serve call's connections.
type state struct {
	srv     *Server
	log     *slog.Logger
	hctx    context.Context
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   map[*conn]struct{}
	closing bool
}

// conn is one connection. Its mutex orders setting read deadlines against
// shutdown, which sets a deadline in the past to wake a blocked read: a
// later deadline must never overwrite it.
type conn struct {
	nc      net.Conn
	sender  string // who Identify said the connection is; "" when unnamed
	mu      sync.Mutex
	closing bool
}

func (c *conn) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closing = true
	c.nc.SetReadDeadline(time.Unix(1, 0))
}

// readBy sets the read deadline unless the connection is closing.
func (c *conn) readBy(t time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return false
	}
	c.nc.SetReadDeadline(t)
	return true
}

func (c *conn) isClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing
}

func (st *state) shutdown() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.closing = true
	for c := range st.conns {
		c.stop()
	}
}

func (st *state) start(nc net.Conn) {
	var sender string
	if st.srv.Identify != nil {
		var err error
		if sender, err = st.srv.Identify(nc.RemoteAddr()); err != nil {
			nc.Close()
			st.log.Warn("mllp: connection refused: sender not identified", "remote", nc.RemoteAddr().String(), "err", err)
			st.problem("refused")
			return
		}
	}
	st.mu.Lock()
	maxConns := st.srv.MaxConns
	if maxConns <= 0 {
		maxConns = DefaultMaxConns
	}
	if st.closing || len(st.conns) >= maxConns {
		closing := st.closing
		st.mu.Unlock()
		nc.Close()
		if !closing {
			st.log.Warn("mllp: connection refused: limit reached", "remote", nc.RemoteAddr().String(), "limit", maxConns)
			st.problem("limit")
		}
		return
	}
	c := &conn{nc: nc, sender: sender}
	st.conns[c] = struct{}{}
	open := len(st.conns)
	st.wg.Add(1)
	st.mu.Unlock()
	if st.srv.Hooks.Conns != nil {
		st.srv.Hooks.Conns(open)
	}
	go func() {
		defer st.wg.Done()
		defer st.finish(c)
		st.serveConn(c)
	}()
}

func (st *state) finish(c *conn) {
	c.nc.Close()
	st.mu.Lock()
	delete(st.conns, c)
	open := len(st.conns)
	st.mu.Unlock()
	if st.srv.Hooks.Conns != nil {
		st.srv.Hooks.Conns(open)
	}
}

func (st *state) problem(kind string) {
	if st.srv.Hooks.Problem != nil {
		st.srv.Hooks.Problem(kind)
	}
}

func (st *state) now() time.Time {
	if st.srv.Now != nil {
		return st.srv.Now()
	}
	return time.Now()
}

// serveConn reads, handles and answers one connection's messages in order.
func (st *state) serveConn(c *conn) {
	s := st.srv
	remote := c.nc.RemoteAddr().String()
	if c.sender != "" {
		remote = c.sender + "@" + remote
	}
	maxFrame := s.MaxFrame
	if maxFrame <= 0 {
		maxFrame = DefaultMaxFrame
	}
	readTimeout := or(s.ReadTimeout, DefaultReadTimeout)
	idleTimeout := or(s.IdleTimeout, DefaultIdleTimeout)
	writeTimeout := or(s.WriteTimeout, DefaultWriteTimeout)

	r := NewReader(c.nc, maxFrame)
	r.OnStart = func() { c.readBy(time.Now().Add(readTimeout)) }
	var skipped int64
	for {
		if !c.readBy(time.Now().Add(idleTimeout)) {
			return
		}
		msg, err := r.ReadFrame()
		if n := r.Skipped(); n > skipped {
			st.log.Warn("mllp: bytes outside frames skipped", "remote", remote, "bytes", n-skipped)
			st.problem("garbage")
			skipped = n
		}
		var ack []byte
		begun := time.Now()
		switch {
		case err == nil:
			ack = st.handle(msg, remote)
		case errors.Is(err, ErrFrameTooLarge):
			st.log.Warn("mllp: frame over the limit rejected", "remote", remote, "limit", maxFrame)
			st.problem("oversize")
			ack = hl7v2.AckUnparseable(msg, fmt.Sprintf("message larger than %d bytes", maxFrame), st.now())
		case errors.Is(err, io.EOF):
			return
		case errors.Is(err, os.ErrDeadlineExceeded):
			if !c.isClosing() {
				st.log.Info("mllp: connection timed out", "remote", remote)
				st.problem("timeout")
			}
			return
		default:
			if !c.isClosing() {
				st.log.Info("mllp: read failed", "remote", remote, "err", err)
				st.problem("read")
			}
			return
		}
		if ack == nil {
			continue
		}
		c.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
		if err := WriteFrame(c.nc, ack); err != nil {
			st.log.Info("mllp: writing ACK failed", "remote", remote, "err", err)
			st.problem("write")
			return
		}
		if s.Hooks.Message != nil {
			s.Hooks.Message(len(msg), time.Since(begun))
		}
	}
}

// handle calls the handler, turning a panic into an AE so that one bad
// message cannot take the process down.
func (st *state) handle(msg []byte, remote string) (ack []byte) {
	defer func() {
		if p := recover(); p != nil {
			st.log.Error("mllp: handler panicked", "remote", remote, "panic", fmt.Sprintf("%T", p))
			st.problem("panic")
			err := apperr.E(apperr.Internal, "handler panicked")
			if m, perr := hl7v2.Parse(msg); perr == nil {
				ack = hl7v2.AckFor(m, err, st.now())
			} else {
				ack = hl7v2.AckUnparseable(msg, "internal error", st.now())
			}
		}
	}()
	return st.srv.Handler(context.WithValue(st.hctx, peerKey{}, remote), msg)
}

type peerKey struct{}

// Peer is the remote address of the connection a Handler's message came
// from, prefixed with "NAME@" when Identify named its sender ("" outside a
// handler).
func Peer(ctx context.Context) string {
	s, _ := ctx.Value(peerKey{}).(string)
	return s
}
