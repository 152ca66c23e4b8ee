package issuer

import (
	"context"
	"errors"
	"sync"
	"time"
)

// The jti records of private_key_jwt are written in batches on PostgreSQL:
// concurrent token requests share one INSERT and one commit (group commit),
// so a replica pays a round trip and a WAL flush per batch rather than per
// request, and every record is still durable (synchronous commit) before
// its token is issued. A request never waits for a batch to fill: a writer
// takes whatever is queued the moment a connection is free, so alone it is
// a batch of one.

// maxAssertionBatch bounds the records written by one statement.
const maxAssertionBatch = 256

// assertionWriters is how many batches may be in flight at once (each
// holds a pool connection).
const assertionWriters = 2

// batchTimeout bounds one batch's statement, whoever is waiting for it.
const batchTimeout = 10 * time.Second

// assertionUse is one request's jti to record, and where its answer goes.
type assertionUse struct {
	client, jti string
	until, now  time.Time
	done        chan assertionResult // buffered: a writer never blocks on it
}

type assertionResult struct {
	fresh bool
	err   error
}

// assertionBatcher queues jti records and runs the writers.
type assertionBatcher struct {
	write func(ctx context.Context, batch []*assertionUse) // answers every record

	mu      sync.Mutex
	queue   []*assertionUse
	writers int  // writers running
	closed  bool // no new records
	idle    sync.WaitGroup
}

var errStoreClosed = errors.New("store closed")

// use records one jti and reports whether it was fresh.
func (b *assertionBatcher) use(ctx context.Context, u *assertionUse) (bool, error) {
	u.done = make(chan assertionResult, 1)
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return false, errStoreClosed
	}
	b.queue = append(b.queue, u)
	if b.writers < assertionWriters {
		b.writers++
		b.idle.Add(1)
		go b.run()
	}
	b.mu.Unlock()
	select {
	case r := <-u.done:
		return r.fresh, r.err
	case <-ctx.Done():
		// The record may still be written: the jti is then spent, which
		// refuses nothing a client could legitimately retry.
		return false, ctx.Err()
	}
}

// run writes batches until the queue is empty.
func (b *assertionBatcher) run() {
	defer b.idle.Done()
	for {
		b.mu.Lock()
		n := min(len(b.queue), maxAssertionBatch)
		if n == 0 {
			b.writers--
			b.mu.Unlock()
			return
		}
		batch := b.queue[:n:n]
		b.queue = b.queue[n:]
		b.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
		b.write(ctx, batch)
		cancel()
	}
}

// close refuses new records and waits for the batches in flight.
func (b *assertionBatcher) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.idle.Wait()
}

// dedupe answers the repeats of a (client, jti) pair within batch as
// replays and returns the first of each pair: one statement cannot upsert
// the same row twice, and of two identical assertions only one may pass.
func dedupe(batch []*assertionUse) []*assertionUse {
	seen := make(map[[2]string]bool, len(batch))
	out := batch[:0:0]
	for _, u := range batch {
		k := [2]string{u.client, u.jti}
		if seen[k] {
			u.done <- assertionResult{fresh: false}
			continue
		}
		seen[k] = true
		out = append(out, u)
	}
	return out
}
