// Package jobs runs long pieces of work in the background of the server
// (recomputing the population, importing a file) and keeps what people
// need to follow them: how far each has got, how fast, about how long is
// left, and how it ended. It is in-process and in-memory: a restart
// forgets the history, which is a record of progress, not of outcomes
// (those are in the store and the audit log).
package jobs

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"time"
)

// State is where a job is in its life.
type State string

const (
	Queued    State = "queued"
	Running   State = "running"
	Done      State = "done"
	Failed    State = "failed"
	Cancelled State = "cancelled"
)

// Finished reports whether the job has ended, one way or another.
func (s State) Finished() bool { return s == Done || s == Failed || s == Cancelled }

// ID names a job: a number, unique for the life of the runner.
type ID int64

func (id ID) String() string { return strconv.FormatInt(int64(id), 10) }

// Reporter is how work tells the runner how far it has got. Every method
// is safe to call from any goroutine.
type Reporter interface {
	// Progress says done of total units are finished (total 0: unknown).
	Progress(done, total int64)
	// Phase names the step the work is in, in plain words.
	Phase(text string)
	// Summary sets lines that describe the outcome, kept after the job
	// ends (counts by type, say).
	Summary(lines []Line)
	// Problem records one error that did not stop the work; at most
	// MaxProblems are kept, all are counted.
	Problem(text string)
}

// Line is one labelled figure of a summary.
type Line struct {
	Label string
	Value string
}

// MaxProblems is how many problems a job keeps to show.
const MaxProblems = 200

// Job is a snapshot of one job.
type Job struct {
	ID       ID
	Kind     string // what the work is, in plain words: "Recompute the population"
	Owner    string // who started it
	Unit     string // what done and total count: "people", "resources"
	State    State
	Phase    string
	Done     int64
	Total    int64
	Created  time.Time
	Started  time.Time
	Ended    time.Time
	Err      string // why it failed
	Summary  []Line
	Problems []string
	Problemn int // problems counted, including those not kept

	// Rate is units per second since the job started; Left is the
	// estimated time to finish at that rate (0 when it cannot be told).
	Rate float64
	Left time.Duration
}

// Percent is how much is done, 0 to 100 (0 when the total is unknown).
func (j Job) Percent() int {
	if j.Total <= 0 {
		return 0
	}
	return int(min(100, j.Done*100/j.Total))
}

// Func is a job's work. It must stop soon after ctx is cancelled.
type Func func(ctx context.Context, progress Reporter) error

// Runner runs jobs, a bounded number at a time, and keeps the most recent
// ones. It is safe for concurrent use.
type Runner struct {
	mu      sync.Mutex
	now     func() time.Time
	next    ID
	jobs    map[ID]*entry
	order   []ID // oldest first
	keep    int
	slots   chan struct{}
	base    context.Context
	stop    context.CancelFunc
	running sync.WaitGroup
}

type entry struct {
	job    Job
	cancel context.CancelFunc
}

// Options configure a Runner.
type Options struct {
	// Keep is how many jobs the history holds (default 50); the oldest
	// finished ones are forgotten first. Running jobs are never dropped.
	Keep int
	// Parallel is how many jobs run at once (default 1: long work shares
	// the machine with everyone using it); the rest wait, queued.
	Parallel int
	Now      func() time.Time
}

// New returns a runner. Close it to cancel whatever is still running.
func New(o Options) *Runner {
	if o.Keep <= 0 {
		o.Keep = 50
	}
	if o.Parallel <= 0 {
		o.Parallel = 1
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	ctx, stop := context.WithCancel(context.Background())
	return &Runner{now: o.Now, jobs: map[ID]*entry{}, keep: o.Keep, slots: make(chan struct{}, o.Parallel), base: ctx, stop: stop}
}

// Close cancels every job and waits for them to end.
func (r *Runner) Close() {
	r.stop()
	r.running.Wait()
}

// Start queues work and returns its id at once; the work runs when a slot
// is free.
func (r *Runner) Start(kind, owner, unit string, f Func) ID {
	ctx, cancel := context.WithCancel(r.base)
	r.mu.Lock()
	r.next++
	id := r.next
	r.jobs[id] = &entry{job: Job{ID: id, Kind: kind, Owner: owner, Unit: unit, State: Queued, Created: r.now()}, cancel: cancel}
	r.order = append(r.order, id)
	r.trim()
	r.running.Add(1)
	r.mu.Unlock()
	go r.run(ctx, id, f)
	return id
}

func (r *Runner) run(ctx context.Context, id ID, f Func) {
	defer r.running.Done()
	select {
	case r.slots <- struct{}{}:
	case <-ctx.Done():
		r.finish(id, ctx.Err())
		return
	}
	defer func() { <-r.slots }()
	r.mu.Lock()
	e := r.jobs[id]
	e.job.State, e.job.Started = Running, r.now()
	r.mu.Unlock()
	var err error
	func() {
		defer func() {
			if v := recover(); v != nil {
				err = errors.New("the work stopped on an internal error")
			}
		}()
		err = f(ctx, reporter{r, id})
	}()
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	r.finish(id, err)
}

func (r *Runner) finish(id ID, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.jobs[id]
	e.cancel()
	e.job.Ended = r.now()
	switch {
	case err == nil:
		e.job.State = Done
		if e.job.Total > 0 {
			e.job.Done = e.job.Total
		}
	case errors.Is(err, context.Canceled):
		e.job.State = Cancelled
	default:
		e.job.State, e.job.Err = Failed, err.Error()
	}
	r.trim()
}

// trim forgets the oldest finished jobs beyond keep. Call with r.mu held.
func (r *Runner) trim() {
	for over := len(r.order) - r.keep; over > 0; over-- {
		i := slices.IndexFunc(r.order, func(id ID) bool { return r.jobs[id].job.State.Finished() })
		if i < 0 {
			return
		}
		delete(r.jobs, r.order[i])
		r.order = slices.Delete(r.order, i, i+1)
	}
}

// Cancel asks a job to stop; false when there is no such job or it has
// already ended.
func (r *Runner) Cancel(id ID) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.jobs[id]
	if !ok || e.job.State.Finished() {
		return false
	}
	e.cancel()
	return true
}

// Get returns a snapshot of one job.
func (r *Runner) Get(id ID) (Job, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.jobs[id]
	if !ok {
		return Job{}, false
	}
	return r.snapshot(e), true
}

// List returns snapshots of the jobs held, newest first.
func (r *Runner) List() []Job {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Job, 0, len(r.order))
	for i := len(r.order) - 1; i >= 0; i-- {
		out = append(out, r.snapshot(r.jobs[r.order[i]]))
	}
	return out
}

// snapshot copies a job and works out its rate and time left. Call with
// r.mu held.
func (r *Runner) snapshot(e *entry) Job {
	j := e.job
	j.Summary = slices.Clone(j.Summary)
	j.Problems = slices.Clone(j.Problems)
	if j.Started.IsZero() {
		return j
	}
	end := j.Ended
	if end.IsZero() {
		end = r.now()
	}
	if took := end.Sub(j.Started).Seconds(); took > 0 && j.Done > 0 {
		j.Rate = float64(j.Done) / took
		if j.State == Running && j.Total > j.Done {
			j.Left = time.Duration(float64(j.Total-j.Done) / j.Rate * float64(time.Second))
		}
	}
	return j
}

type reporter struct {
	r  *Runner
	id ID
}

func (p reporter) update(f func(j *Job)) {
	p.r.mu.Lock()
	defer p.r.mu.Unlock()
	if e, ok := p.r.jobs[p.id]; ok {
		f(&e.job)
	}
}

func (p reporter) Progress(done, total int64) {
	p.update(func(j *Job) { j.Done, j.Total = done, total })
}

func (p reporter) Phase(text string) { p.update(func(j *Job) { j.Phase = text }) }

func (p reporter) Summary(lines []Line) {
	lines = slices.Clone(lines)
	p.update(func(j *Job) { j.Summary = lines })
}

func (p reporter) Problem(text string) {
	p.update(func(j *Job) {
		j.Problemn++
		if len(j.Problems) < MaxProblems {
			j.Problems = append(j.Problems, text)
		}
	})
}
