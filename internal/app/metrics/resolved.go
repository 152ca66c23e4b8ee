package metrics

import (
	"maps"
	"sync"
	"sync/atomic"
)

// resolved maps label values to series resolved once, so the request path
// reads a map instead of hashing label values into a vector on every call.
// Reads take no lock; a new key copies the map, which suits key sets that
// are small and settle early (methods, auth outcomes by known client).
type resolved[K comparable, V any] struct {
	mu sync.Mutex // serialises writers
	m  atomic.Pointer[map[K]V]
}

// get returns the value of k, making it with mk the first time.
func (r *resolved[K, V]) get(k K, mk func() V) V {
	if m := r.m.Load(); m != nil {
		if v, ok := (*m)[k]; ok {
			return v
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var next map[K]V
	if m := r.m.Load(); m != nil {
		if v, ok := (*m)[k]; ok {
			return v
		}
		next = maps.Clone(*m)
	} else {
		next = map[K]V{}
	}
	v := mk()
	next[k] = v
	r.m.Store(&next)
	return v
}
