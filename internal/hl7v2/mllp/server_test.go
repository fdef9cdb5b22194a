package mllp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/hl7v2"
)

// secret is in every test message's patient segment: it must never reach
// a log.
const secret = "SECRETPATIENT"

func testMessage(id string) []byte {
	return []byte("MSH|^~\\&|PAS|RXR01|WC|ICS|20240301101500||ADT^A01^ADT_A01|" + id + "|P|2.5\rPID|1||H1^^^RXR^MR||" + secret + "^TEST\r")
}

var testNow = time.Date(2024, 3, 1, 10, 15, 0, 0, time.UTC)

// ackHandler acknowledges every message it can parse with an AA.
func ackHandler(_ context.Context, msg []byte) []byte {
	m, err := hl7v2.Parse(msg)
	if err != nil {
		return hl7v2.AckUnparseable(msg, "unreadable", testNow)
	}
	return hl7v2.Ack(m, hl7v2.AckAccept, "", testNow)
}

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// counts records hook calls.
type counts struct {
	mu       sync.Mutex
	problems map[string]int
	messages int
	maxOpen  int
}

func (c *counts) hooks() Hooks {
	return Hooks{
		Conns: func(open int) { c.mu.Lock(); c.maxOpen = max(c.maxOpen, open); c.mu.Unlock() },
		Message: func(int, time.Duration) {
			c.mu.Lock()
			c.messages++
			c.mu.Unlock()
		},
		Problem: func(kind string) { c.mu.Lock(); c.problems[kind]++; c.mu.Unlock() },
	}
}

func (c *counts) problem(kind string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.problems[kind]
}

type running struct {
	addr   string
	cancel context.CancelFunc
	done   chan struct{} // closed when Serve has returned
	err    error         // what Serve returned
	log    *syncBuffer
	counts *counts
}

// stop cancels the server and waits for Serve to return.
func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	select {
	case <-r.done:
		if r.err != nil {
			t.Errorf("Serve: %v", r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
}

// startServer serves s on a loopback port until the test ends.
func startServer(t *testing.T, s *Server) *running {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &running{addr: ln.Addr().String(), done: make(chan struct{}), log: &syncBuffer{}, counts: &counts{problems: map[string]int{}}}
	s.Log = slog.New(slog.NewTextHandler(r.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s.Hooks = r.counts.hooks()
	var ctx context.Context
	ctx, r.cancel = context.WithCancel(t.Context())
	go func() {
		r.err = s.Serve(ctx, ln)
		close(r.done)
	}()
	t.Cleanup(func() {
		r.cancel()
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return at cleanup")
		}
		if strings.Contains(r.log.String(), secret) {
			t.Errorf("message content reached the log:\n%s", r.log.String())
		}
	})
	return r
}

type client struct {
	t  *testing.T
	nc net.Conn
	r  *Reader
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &client{t: t, nc: nc, r: NewReader(nc, 0)}
}

func (c *client) send(msg []byte) {
	c.t.Helper()
	if err := WriteFrame(c.nc, msg); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

func (c *client) write(b string) {
	c.t.Helper()
	if _, err := c.nc.Write([]byte(b)); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// ack reads one ACK and returns MSA-1 and MSA-2.
func (c *client) ack() (code, control string) {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	f, err := c.r.ReadFrame()
	if err != nil {
		c.t.Fatalf("reading ACK: %v", err)
	}
	m, err := hl7v2.Parse(f)
	if err != nil {
		c.t.Fatalf("ACK does not parse: %v", err)
	}
	return m.Get("MSA-1"), m.Get("MSA-2")
}

// closed reports whether the server closed the connection within d.
func (c *client) closed(d time.Duration) bool {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(d))
	_, err := c.r.ReadFrame()
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || isReset(err)
}

func isReset(err error) bool {
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

// exchange sends n messages on a new connection, one at a time, and checks
// each ACK; it is safe to call from any goroutine.
func exchange(addr, prefix string, n int) error {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer nc.Close()
	r := NewReader(nc, 0)
	for j := range n {
		id := fmt.Sprintf("%sM%d", prefix, j)
		if err := WriteFrame(nc, testMessage(id)); err != nil {
			return err
		}
		nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		f, err := r.ReadFrame()
		if err != nil {
			return fmt.Errorf("reading ACK for %s: %w", id, err)
		}
		m, err := hl7v2.Parse(f)
		if err != nil {
			return err
		}
		if m.Get("MSA-1") != "AA" || m.Get("MSA-2") != id {
			return fmt.Errorf("ACK %s %s, want AA %s", m.Get("MSA-1"), m.Get("MSA-2"), id)
		}
	}
	return nil
}

func TestServerManyConnections(t *testing.T) {
	srv := &Server{Handler: ackHandler, MaxConns: 32}
	r := startServer(t, srv)
	const conns, perConn = 16, 25
	var wg sync.WaitGroup
	for i := range conns {
		wg.Go(func() {
			if err := exchange(r.addr, fmt.Sprint("C", i), perConn); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	r.stop(t)
	if r.counts.messages != conns*perConn {
		t.Errorf("Message hook saw %d messages, want %d", r.counts.messages, conns*perConn)
	}
	if r.counts.maxOpen < 2 {
		t.Errorf("at most %d connections open at once", r.counts.maxOpen)
	}
}

func TestServerSplitAndCoalescedFrames(t *testing.T) {
	r := startServer(t, &Server{Handler: ackHandler})
	c := dial(t, r.addr)

	// One frame in pieces, with pauses between them.
	whole := "\x0b" + string(testMessage("SPLIT")) + "\x1c\r"
	for _, part := range []string{whole[:1], whole[1:20], whole[20 : len(whole)-1], whole[len(whole)-1:]} {
		c.write(part)
		time.Sleep(20 * time.Millisecond)
	}
	if code, id := c.ack(); code != "AA" || id != "SPLIT" {
		t.Errorf("split frame ACK %s %s", code, id)
	}

	// Five frames in one write: five ACKs, in order.
	var b strings.Builder
	for i := range 5 {
		b.WriteString("\x0b" + string(testMessage(fmt.Sprint("CO", i))) + "\x1c\r")
	}
	c.write(b.String())
	for i := range 5 {
		if code, id := c.ack(); code != "AA" || id != fmt.Sprint("CO", i) {
			t.Errorf("coalesced ACK %d: %s %s", i, code, id)
		}
	}
}

func TestServerOversizeFrame(t *testing.T) {
	r := startServer(t, &Server{Handler: ackHandler, MaxFrame: 1000})
	c := dial(t, r.addr)
	big := append(testMessage("BIG1"), []byte("OBX|1|TX|||"+strings.Repeat("x", 5000)+"\r")...)
	c.send(big)
	if code, id := c.ack(); code != "AR" || id != "BIG1" {
		t.Errorf("oversize ACK %s %s, want AR BIG1", code, id)
	}
	c.send(testMessage("AFTER"))
	if code, id := c.ack(); code != "AA" || id != "AFTER" {
		t.Errorf("ACK after oversize %s %s", code, id)
	}
	if r.counts.problem("oversize") != 1 {
		t.Errorf("oversize problems = %d", r.counts.problem("oversize"))
	}
}

func TestServerGarbageBetweenFrames(t *testing.T) {
	r := startServer(t, &Server{Handler: ackHandler})
	c := dial(t, r.addr)
	c.write("noise before\r\n")
	c.send(testMessage("G1"))
	if code, id := c.ack(); code != "AA" || id != "G1" {
		t.Errorf("ACK %s %s", code, id)
	}
	c.write("\x00\xff stray")
	c.write("\x0bhalf a frame, then a new start")
	c.send(testMessage("G2"))
	if code, id := c.ack(); code != "AA" || id != "G2" {
		t.Errorf("ACK %s %s", code, id)
	}
	// Not HL7 at all inside a frame: rejected, and the connection lives on.
	c.send([]byte("hello"))
	if code, id := c.ack(); code != "AR" || id != "" {
		t.Errorf("ACK of garbage %s %s", code, id)
	}
	c.send(testMessage("G3"))
	if code, id := c.ack(); code != "AA" || id != "G3" {
		t.Errorf("ACK %s %s", code, id)
	}
	if r.counts.problem("garbage") < 2 {
		t.Errorf("garbage problems = %d", r.counts.problem("garbage"))
	}
}

func TestServerSlowClient(t *testing.T) {
	r := startServer(t, &Server{Handler: ackHandler, ReadTimeout: 200 * time.Millisecond})
	c := dial(t, r.addr)
	c.write("\x0bMSH|^~\\&|started but never finished")
	start := time.Now()
	if !c.closed(5 * time.Second) {
		t.Fatal("a client stalling inside a frame was not disconnected")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("disconnected after %v", d)
	}
	// A trickle of bytes does not extend the frame's deadline.
	c = dial(t, r.addr)
	c.write("\x0b")
	start = time.Now()
	go func() {
		for range 40 {
			if _, err := c.nc.Write([]byte("x")); err != nil {
				return
			}
			time.Sleep(25 * time.Millisecond)
		}
	}()
	if !c.closed(5 * time.Second) {
		t.Fatal("a trickling client was not disconnected")
	}
	if d := time.Since(start); d > 900*time.Millisecond {
		t.Errorf("trickling client disconnected after %v", d)
	}
	r.stop(t)
	if r.counts.problem("timeout") != 2 {
		t.Errorf("timeouts = %d", r.counts.problem("timeout"))
	}
}

func TestServerIdleTimeout(t *testing.T) {
	r := startServer(t, &Server{Handler: ackHandler, IdleTimeout: 200 * time.Millisecond})
	c := dial(t, r.addr)
	c.send(testMessage("I1"))
	c.ack()
	if !c.closed(5 * time.Second) {
		t.Fatal("an idle connection was not closed")
	}
}

func TestServerConnectionLimit(t *testing.T) {
	r := startServer(t, &Server{Handler: ackHandler, MaxConns: 2})
	c1, c2 := dial(t, r.addr), dial(t, r.addr)
	for _, c := range []*client{c1, c2} {
		c.send(testMessage("L"))
		c.ack()
	}
	c3 := dial(t, r.addr)
	if !c3.closed(5 * time.Second) {
		t.Fatal("a connection over the limit was not closed")
	}
	c1.nc.Close()
	var ok bool
	for range 50 { // the server notices c1 has gone shortly
		c4 := dial(t, r.addr)
		c4.send(testMessage("L4"))
		c4.nc.SetReadDeadline(time.Now().Add(2 * time.Second))
		if f, err := c4.r.ReadFrame(); err == nil && bytes.Contains(f, []byte("MSA|AA|L4")) {
			ok = true
			break
		}
		c4.nc.Close()
		time.Sleep(20 * time.Millisecond)
	}
	if !ok {
		t.Error("a connection was refused after one closed")
	}
	if r.counts.problem("limit") < 1 {
		t.Errorf("limit problems = %d", r.counts.problem("limit"))
	}
}

func TestServerOrderAndAckAfterHandler(t *testing.T) {
	var mu sync.Mutex
	var order []string
	var finished atomic.Int32
	handler := func(ctx context.Context, msg []byte) []byte {
		m, _ := hl7v2.Parse(msg)
		if m.ControlID() == "O0" {
			time.Sleep(100 * time.Millisecond)
		}
		mu.Lock()
		order = append(order, m.ControlID())
		mu.Unlock()
		finished.Add(1)
		return hl7v2.Ack(m, hl7v2.AckAccept, "", testNow)
	}
	r := startServer(t, &Server{Handler: handler})
	c := dial(t, r.addr)
	for i := range 3 {
		c.send(testMessage(fmt.Sprint("O", i)))
	}
	for i := range 3 {
		_, id := c.ack()
		if id != fmt.Sprint("O", i) {
			t.Errorf("ACK %d for %s", i, id)
		}
		if int(finished.Load()) < i+1 {
			t.Errorf("ACK %d arrived before its handler finished", i)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(order, ",") != "O0,O1,O2" {
		t.Errorf("handled in order %v", order)
	}
}

func TestServerHandlerPanicsAndNilAck(t *testing.T) {
	handler := func(ctx context.Context, msg []byte) []byte {
		m, _ := hl7v2.Parse(msg)
		switch m.ControlID() {
		case "PANIC":
			panic("boom " + secret)
		case "SILENT":
			return nil
		}
		return hl7v2.Ack(m, hl7v2.AckAccept, "", testNow)
	}
	r := startServer(t, &Server{Handler: handler})
	c := dial(t, r.addr)
	c.send(testMessage("PANIC"))
	if code, id := c.ack(); code != "AE" || id != "PANIC" {
		t.Errorf("ACK after panic %s %s, want AE PANIC", code, id)
	}
	c.send(testMessage("SILENT"))
	c.send(testMessage("NEXT"))
	if code, id := c.ack(); code != "AA" || id != "NEXT" {
		t.Errorf("ACK after a nil ACK %s %s", code, id)
	}
	if r.counts.problem("panic") != 1 {
		t.Errorf("panics = %d", r.counts.problem("panic"))
	}
}

func TestServerGracefulShutdown(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	var handlerCtxErr atomic.Value
	handler := func(ctx context.Context, msg []byte) []byte {
		m, _ := hl7v2.Parse(msg)
		if m.ControlID() == "SLOW" {
			close(entered)
			<-release
			handlerCtxErr.Store(fmt.Sprint(ctx.Err()))
		}
		return hl7v2.Ack(m, hl7v2.AckAccept, "", testNow)
	}
	r := startServer(t, &Server{Handler: handler, ShutdownTimeout: 5 * time.Second})
	busy := dial(t, r.addr)
	idle := dial(t, r.addr)
	idle.send(testMessage("IDLE"))
	idle.ack()
	partial := dial(t, r.addr)
	partial.write("\x0bMSH|^~\\&|half")

	busy.send(testMessage("SLOW"))
	<-entered
	r.cancel()
	if !idle.closed(5 * time.Second) {
		t.Error("an idle connection stayed open after shutdown began")
	}
	if !partial.closed(5 * time.Second) {
		t.Error("a connection part-way through a frame stayed open after shutdown began")
	}
	select {
	case <-r.done:
		t.Fatalf("Serve returned (%v) while a handler was running", r.err)
	case <-time.After(100 * time.Millisecond):
	}
	if _, err := net.DialTimeout("tcp", r.addr, time.Second); err == nil {
		// The listener is closed; a dial may still succeed briefly on some
		// systems, but nothing will answer it.
		t.Log("dial after shutdown succeeded")
	}
	close(release)
	if code, id := busy.ack(); code != "AA" || id != "SLOW" {
		t.Errorf("in-flight ACK %s %s", code, id)
	}
	if !busy.closed(5 * time.Second) {
		t.Error("the busy connection stayed open after its ACK")
	}
	r.stop(t)
	if got := handlerCtxErr.Load(); got != "<nil>" {
		t.Errorf("in-flight handler's context was %v within the shutdown timeout", got)
	}
}

func TestServerShutdownCancelsStuckHandler(t *testing.T) {
	entered := make(chan struct{})
	handler := func(ctx context.Context, msg []byte) []byte {
		close(entered)
		<-ctx.Done()
		return nil
	}
	r := startServer(t, &Server{Handler: handler, ShutdownTimeout: 100 * time.Millisecond})
	c := dial(t, r.addr)
	c.send(testMessage("STUCK"))
	<-entered
	start := time.Now()
	r.stop(t)
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("shutdown took %v with a stuck handler", d)
	}
}

func TestServeNeedsHandler(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := (&Server{}).Serve(t.Context(), ln); err == nil {
		t.Error("Serve without a handler did not fail")
	}
}

func TestServeReturnsAcceptError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close() // Accept now fails for good
	if err := (&Server{Handler: ackHandler}).Serve(t.Context(), ln); err == nil {
		t.Error("Serve on a closed listener returned nil")
	}
}
