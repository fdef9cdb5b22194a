package access

import (
	"context"
	"sync"
	"time"
)

// teamCache remembers which care teams a professional is in for a short
// while: it is asked on every request for person data, and team
// membership changes a few times a year. A professional removed from a
// team keeps the relationship for at most ttl; a person removed from a
// team loses it at once (their side is read from the store every time).
type teamCache struct {
	mu      sync.Mutex
	ttl     time.Duration
	maxSize int
	m       map[int64]teamEntry
}

type teamEntry struct {
	teams []int64
	until time.Time
}

func newTeamCache(ttl time.Duration, maxSize int) *teamCache {
	return &teamCache{ttl: ttl, maxSize: maxSize, m: map[int64]teamEntry{}}
}

func (c *teamCache) get(ctx context.Context, store Store, prof int64, now time.Time) ([]int64, error) {
	c.mu.Lock()
	e, ok := c.m[prof]
	c.mu.Unlock()
	if ok && now.Before(e.until) && !now.Before(e.until.Add(-c.ttl)) {
		return e.teams, nil
	}
	teams, err := store.ProfessionalTeams(ctx, prof, now)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.m) >= c.maxSize {
		clear(c.m)
	}
	c.m[prof] = teamEntry{teams: teams, until: now.Add(c.ttl)}
	c.mu.Unlock()
	return teams, nil
}
