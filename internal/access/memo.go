package access

import (
	"context"
	"sync"
)

// A request often asks the same question twice: a search filters people
// with Visible, then Accessed records the basis of each read. The answer
// cannot change within one request, so it is remembered for the request's
// life instead of going back to the store.
type decisionMemo struct {
	mu sync.Mutex
	m  map[memoKey]Decision
}

type memoKey struct {
	user, token int64
	req         Request
}

type memoCtxKey struct{}

// WithDecisions returns ctx carrying an empty memo of decisions, for one
// request.
func WithDecisions(ctx context.Context) context.Context {
	return context.WithValue(ctx, memoCtxKey{}, &decisionMemo{m: map[memoKey]Decision{}})
}

func memoFrom(ctx context.Context) *decisionMemo {
	m, _ := ctx.Value(memoCtxKey{}).(*decisionMemo)
	return m
}

func (m *decisionMemo) get(k memoKey) (Decision, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.m[k]
	return d, ok
}

func (m *decisionMemo) put(k memoKey, d Decision) {
	m.mu.Lock()
	m.m[k] = d
	m.mu.Unlock()
}
