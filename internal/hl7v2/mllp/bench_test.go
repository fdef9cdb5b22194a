package mllp

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"
)

// BenchmarkRoundTrip sends messages over 8 loopback connections, each
// waiting for its ACK before sending the next, to a server whose handler
// returns a fixed ACK at once: the cost of the transport alone.
func BenchmarkRoundTrip(b *testing.B) {
	const conns = 8
	ack := []byte("MSH|^~\\&|WC|ICS|PAS|RXR01|20240301101500||ACK^A01^ACK|1|P|2.5\rMSA|AA|X\r")
	srv := &Server{Handler: func(context.Context, []byte) []byte { return ack }}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(b.Context())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	}()

	type conn struct {
		nc net.Conn
		r  *Reader
	}
	cs := make([]conn, conns)
	for i := range cs {
		nc, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		defer nc.Close()
		cs[i] = conn{nc, NewReader(nc, 0)}
	}
	msg := testMessage("BENCH")
	b.SetBytes(int64(len(msg)))
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i, c := range cs {
		n := b.N / conns
		if i < b.N%conns {
			n++
		}
		wg.Go(func() {
			for range n {
				if err := WriteFrame(c.nc, msg); err != nil {
					errs <- err
					return
				}
				if _, err := c.r.ReadFrame(); err != nil {
					errs <- fmt.Errorf("reading ACK: %w", err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}
