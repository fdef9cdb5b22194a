package jobs

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

func TestProgressRateAndTimeLeft(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := New(Options{})
		defer r.Close()
		step := make(chan struct{})
		id := r.Start("Count", "ann", "people", func(ctx context.Context, p Reporter) error {
			p.Phase("counting")
			for i := int64(1); i <= 4; i++ {
				<-step
				p.Progress(i*25, 100)
			}
			p.Summary([]Line{{"People", "100"}})
			return nil
		})
		time.Sleep(10 * time.Second)
		step <- struct{}{}
		synctest.Wait()
		j, _ := r.Get(id)
		if j.State != Running || j.Done != 25 || j.Total != 100 || j.Percent() != 25 || j.Phase != "counting" {
			t.Fatalf("after one step: %+v", j)
		}
		// 25 in 10 s is 2.5 a second: 75 left take 30 s.
		if j.Rate != 2.5 || j.Left != 30*time.Second {
			t.Fatalf("rate %v left %v, want 2.5/s and 30s", j.Rate, j.Left)
		}
		for range 3 {
			step <- struct{}{}
		}
		synctest.Wait()
		j, _ = r.Get(id)
		if j.State != Done || j.Done != 100 || j.Left != 0 || len(j.Summary) != 1 || j.Ended.IsZero() {
			t.Fatalf("finished: %+v", j)
		}
	})
}

func TestFailureAndProblems(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := New(Options{})
		defer r.Close()
		id := r.Start("Import", "ann", "resources", func(ctx context.Context, p Reporter) error {
			for range MaxProblems + 5 {
				p.Problem("line 3: Patient.birthDate: not a date")
			}
			return errors.New("the store went away")
		})
		synctest.Wait()
		j, _ := r.Get(id)
		if j.State != Failed || j.Err != "the store went away" || len(j.Problems) != MaxProblems || j.Problemn != MaxProblems+5 {
			t.Fatalf("failed job: state %s err %q problems %d of %d", j.State, j.Err, len(j.Problems), j.Problemn)
		}
		panicky := r.Start("Boom", "ann", "", func(context.Context, Reporter) error { panic("bug") })
		synctest.Wait()
		if j, _ := r.Get(panicky); j.State != Failed {
			t.Fatalf("a panicking job: %+v", j)
		}
	})
}

func TestCancelRunningAndQueued(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := New(Options{Parallel: 1})
		defer r.Close()
		wait := func(ctx context.Context, p Reporter) error { <-ctx.Done(); return ctx.Err() }
		first := r.Start("Long", "ann", "", wait)
		synctest.Wait()
		second := r.Start("Next", "ann", "", wait)
		synctest.Wait()
		if j, _ := r.Get(second); j.State != Queued {
			t.Fatalf("second with one slot: %s, want queued", j.State)
		}
		if !r.Cancel(second) {
			t.Fatal("cancelling a queued job refused")
		}
		synctest.Wait()
		if j, _ := r.Get(second); j.State != Cancelled || !j.Started.IsZero() {
			t.Fatalf("cancelled while queued: %+v", j)
		}
		if !r.Cancel(first) {
			t.Fatal("cancelling a running job refused")
		}
		synctest.Wait()
		if j, _ := r.Get(first); j.State != Cancelled {
			t.Fatalf("cancelled while running: %s", j.State)
		}
		if r.Cancel(first) || r.Cancel(999) {
			t.Fatal("cancelling an ended or unknown job accepted")
		}
	})
}

func TestHistoryIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := New(Options{Keep: 3, Parallel: 2})
		defer r.Close()
		block := make(chan struct{})
		held := r.Start("Held", "ann", "", func(ctx context.Context, p Reporter) error { <-block; return nil })
		var last ID
		for range 6 {
			last = r.Start("Quick", "ann", "", func(context.Context, Reporter) error { return nil })
			synctest.Wait()
		}
		js := r.List()
		if len(js) != 3 || js[0].ID != last {
			t.Fatalf("history %d jobs, newest %v; want 3, newest %v", len(js), js[0].ID, last)
		}
		if _, ok := r.Get(held); !ok {
			t.Fatal("a running job was dropped from the history")
		}
		close(block)
		synctest.Wait()
		r.Start("One more", "ann", "", func(context.Context, Reporter) error { return nil })
		synctest.Wait()
		if _, ok := r.Get(held); ok {
			t.Fatal("the oldest finished job was kept beyond the bound")
		}
	})
}
