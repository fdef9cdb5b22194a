package auth

import (
	"sync"
	"time"
)

// throttle counts failed sign-ins per key (an account name or an address)
// in a fixed window and refuses further attempts once a key reaches its
// limit, until the window that started with its first failure ends. It is
// per process: a deployment with several processes gets a limit per process,
// which still turns an online guessing attack from millions of tries into a
// handful. Memory is bounded: beyond maxKeys, expired entries are dropped,
// and if every entry is live a random tenth are.
type throttle struct {
	mu      sync.Mutex
	limit   int
	window  time.Duration
	maxKeys int
	m       map[string]*failures
}

type failures struct {
	n     int
	since time.Time
}

func newThrottle(limit int, window time.Duration) *throttle {
	return &throttle{limit: limit, window: window, maxKeys: 100_000, m: map[string]*failures{}}
}

// blocked reports whether key may not try now, and until when.
func (t *throttle) blocked(key string, now time.Time) (time.Time, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f, ok := t.m[key]
	if !ok {
		return time.Time{}, false
	}
	until := f.since.Add(t.window)
	if !now.Before(until) {
		delete(t.m, key)
		return time.Time{}, false
	}
	return until, f.n >= t.limit
}

// fail records a failed attempt for key.
func (t *throttle) fail(key string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f, ok := t.m[key]
	if ok && !now.Before(f.since.Add(t.window)) {
		ok = false
	}
	if !ok {
		if len(t.m) >= t.maxKeys {
			t.prune(now)
		}
		f = &failures{since: now}
		t.m[key] = f
	}
	f.n++
}

// succeed clears key after a successful sign-in.
func (t *throttle) succeed(key string) {
	t.mu.Lock()
	delete(t.m, key)
	t.mu.Unlock()
}

func (t *throttle) prune(now time.Time) {
	for k, f := range t.m {
		if !now.Before(f.since.Add(t.window)) {
			delete(t.m, k)
		}
	}
	// Still full of live entries: drop a tenth, chosen by Go's random map
	// order, so that each insert stays cheap under a flood of new keys.
	drop := len(t.m) - t.maxKeys*9/10
	for k := range t.m {
		if drop <= 0 {
			break
		}
		delete(t.m, k)
		drop--
	}
}
